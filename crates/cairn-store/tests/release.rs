//! The store side of land release: migrations 004 to 007 on a store of schema 3,
//! activities and releases as attributed revisions, and a refused release leaving no trace.

use cairn_core::release::{ActivityFacts, ActivityKind, ReleaseMethod};
use cairn_core::{
    AreaProperties, Catalogue, Classification, Evidence, EvidenceKind, HazardArea, Shape, Status,
};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::sqlite::release::{NewActivity, ReleaseError, ReleaseRequest};
use cairn_store::{ChangeMeta, SqliteStore, Store, Writer};
use geo_types::{MultiPolygon, polygon};

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)],
    ])
}

#[test]
fn a_schema_3_store_is_migrated_through_4_and_5() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../src/sqlite/migrations/001_init.sql"),
            include_str!("../src/sqlite/migrations/002_tokens.sql"),
            include_str!("../src/sqlite/migrations/003_reports.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 3).unwrap();
    }
    drop(SqliteStore::open(&path, OpenMode::Existing).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 8);
    let applied: Vec<i64> = c
        .prepare("SELECT number FROM schema_migrations ORDER BY number")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(applied, [1, 2, 3, 4, 5, 6, 7, 8]);
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM counters WHERE name IN ('activity_id', 'release_id', 'find_id')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 3);
    // Migration 007 gave the store the shipped device catalogue as version 1, attributed.
    let (version, author): (i64, String) = c
        .query_row(
            "SELECT v.version, c.author FROM catalogue_versions v JOIN changesets c ON c.id = v.changeset",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, author.as_str()), (1, "cairn"));
    // Opening again runs nothing; a read-only open works.
    drop(c);
    drop(SqliteStore::open(&path, OpenMode::Existing).unwrap());
    let s = SqliteStore::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(s.catalogue_versions().unwrap().len(), 1);
}

#[test]
fn releases_are_attributed_revisions_and_a_refusal_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("s.db"), OpenMode::Create).unwrap();
    let g = square(30.0, 50.0, 30.01, 50.01);
    let mut w = s
        .begin(ChangeMeta {
            author: "fixture".into(),
            reason: "fixture".into(),
            source: None,
        })
        .unwrap();
    w.put_area(&HazardArea {
        id: "HA-000001".into(),
        shape: Shape::MultiPolygon(g.clone()),
        props: AreaProperties {
            name: None,
            status: Status::Suspected,
            classification: Classification::Public,
            evidence: Some(Evidence {
                kind: EvidenceKind::Indirect,
                description: Some("farmers avoid it".into()),
                source: None,
            }),
            devices: vec![],
            reference_points: vec![],
            marking: None,
            organisation: None,
            reported_at: None,
            emplacement: None,
            extra: Default::default(),
        },
    })
    .unwrap();
    w.commit().unwrap();
    let nts = s
        .add_activity(
            &NewActivity {
                facts: ActivityFacts {
                    kind: ActivityKind::NonTechnicalSurvey,
                    area_id: "HA-000001".into(),
                    organisation: "Org".into(),
                    team: None,
                    started: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    ended: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
                    devices: vec![],
                    outcome: Some("no evidence of mines in the north".into()),
                    participants: None,
                },
                geometry: g.clone(),
            },
            &Catalogue::builtin(),
            "Team 7",
        )
        .unwrap();
    assert_eq!(nts.id, "ACT-000001");
    let before = s.content_digest().unwrap();
    let refused = s.release_land(
        &ReleaseRequest {
            area_id: "HA-000001".into(),
            method: ReleaseMethod::Clear,
            activity_id: nts.id.clone(),
            geometry: g.clone(),
            reason: None,
        },
        "Olena",
    );
    assert!(matches!(refused, Err(ReleaseError::Refused(ref p)) if p.field == "activity_id"));
    assert_eq!(s.content_digest().unwrap(), before);
    let out = s
        .release_land(
            &ReleaseRequest {
                area_id: "HA-000001".into(),
                method: ReleaseMethod::Cancel,
                activity_id: nts.id.clone(),
                geometry: square(30.0, 50.005, 30.01, 50.01),
                reason: Some("north half".into()),
            },
            "Olena",
        )
        .unwrap();
    assert_eq!(out.release.id, "LR-000001");
    // What remains keeps its evidence status (suspected), beside what was released.
    assert_eq!(out.area.props.status, Status::Suspected);
    let h = s.history("HA-000001").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].revision.author, "Olena");
    assert!(h[1].revision.reason.contains("cancel") && h[1].revision.reason.contains("north half"));
    assert_eq!(h[1].revision.changeset, out.changeset);
    let rs = s.releases_for_area("HA-000001").unwrap();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0], out.release);
    assert_eq!(s.get_activity(&nts.id).unwrap().unwrap(), nts);
    assert_eq!(s.activities_for_area("HA-000001").unwrap(), vec![nts]);
}
