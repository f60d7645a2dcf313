//! Zones and accidents in the store: history on re-import, atomic refusal, attribution, and
//! the emplacement index of migration 006.

use cairn_core::accident::{AccidentFacts, ActivityAtTime, AgeGroup, Casualty, Outcome, Role, Sex};
use cairn_core::zone::{Zone, ZoneFacts, ZoneKind};
use cairn_core::{Catalogue, Category};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::sqlite::release::ReleaseError;
use cairn_store::{ChangeMeta, SqliteStore};
use geo_types::{MultiPolygon, Point, polygon};

fn zone(id: &str, x0: f64) -> Zone {
    Zone {
        id: id.into(),
        facts: ZoneFacts {
            name: format!("Zone {id}"),
            kind: ZoneKind::Permitted,
            source: None,
            description: None,
        },
        geometry: MultiPolygon(vec![
            polygon![(x: x0, y: 48.0), (x: x0 + 1.0, y: 48.0), (x: x0 + 1.0, y: 49.0), (x: x0, y: 49.0), (x: x0, y: 48.0)],
        ]),
    }
}

fn meta(who: &str) -> ChangeMeta {
    ChangeMeta {
        author: who.into(),
        reason: "zones of the policy".into(),
        source: Some("zones.geojson".into()),
    }
}

#[test]
fn zones_keep_history_and_a_bad_one_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("z.db"), OpenMode::Create).unwrap();
    let sum = s
        .put_zones(&[zone("Z-a", 36.0), zone("Z-b", 37.0)], meta("ana"))
        .unwrap();
    assert_eq!((sum.created, sum.updated, sum.unchanged), (2, 0, 0));
    let sum = s
        .put_zones(&[zone("Z-a", 36.0), zone("Z-b", 37.5)], meta("bo"))
        .unwrap();
    assert_eq!((sum.created, sum.updated, sum.unchanged), (0, 1, 1));
    let h = s.record_history("zone", "Z-b").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].author.as_str(), h[1].author.as_str()), ("ana", "bo"));
    assert_eq!(s.get_zone("Z-b").unwrap().unwrap(), zone("Z-b", 37.5));

    // A self-crossing outline in the second zone refuses the whole batch, naming it.
    let mut bad = zone("Z-c", 38.0);
    bad.geometry = MultiPolygon(vec![
        polygon![(x: 38.0, y: 48.0), (x: 39.0, y: 49.0), (x: 39.0, y: 48.0), (x: 38.0, y: 49.0), (x: 38.0, y: 48.0)],
    ]);
    let err = s
        .put_zones(&[zone("Z-d", 40.0), bad], meta("cy"))
        .unwrap_err();
    let ReleaseError::Invalid(p) = err else {
        panic!("{err:?}")
    };
    assert!(p[0].field.starts_with("zones[1] (Z-c).geometry"), "{p:?}");
    assert_eq!(
        s.zones().unwrap().len(),
        2,
        "nothing of the refused batch was written"
    );
}

#[test]
fn accidents_are_attributed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("a.db"), OpenMode::Create).unwrap();
    let c = Catalogue::builtin();
    let mut facts = AccidentFacts {
        occurred_at: "2026-05-02T07:00:00Z".parse().unwrap(),
        device_category: Category::ApMine,
        device_type: None,
        activity: ActivityAtTime::Herding,
        area_id: None,
        description: None,
        source: Some("police".into()),
        casualties: vec![Casualty {
            outcome: Outcome::Killed,
            sex: Sex::Male,
            age_group: AgeGroup::Child,
            role: Role::Civilian,
            name: Some("A. Person".into()),
            notes: None,
        }],
    };
    let a = s
        .add_accident(&facts, Point::new(36.2, 49.9), &c, "officer-1")
        .unwrap();
    assert_eq!(a.id, "AC-000001");
    assert_eq!(s.accidents().unwrap(), vec![a.clone()]);
    let h = s.record_history("accident", &a.id).unwrap();
    assert_eq!(h[0].author, "officer-1");
    assert!(
        h[0].reason.contains("1 killed, 0 injured"),
        "{}",
        h[0].reason
    );

    facts.area_id = Some("HA-404".into());
    let err = s
        .add_accident(&facts, Point::new(36.2, 49.9), &c, "officer-1")
        .unwrap_err();
    assert!(err.to_string().contains("HA-404"), "{err}");
    assert_eq!(
        s.accidents().unwrap().len(),
        1,
        "the refused accident left no trace"
    );
    // Its number was not used up either: the transaction rolled back.
    facts.area_id = None;
    let b = s
        .add_accident(&facts, Point::new(36.3, 49.9), &c, "officer-1")
        .unwrap();
    assert_eq!(b.id, "AC-000002");
}

#[test]
fn emplacement_records_round_trip_and_carry_their_timeline() {
    use cairn_core::{
        AreaProperties, Classification, Emplacement, EmplacingMethod, HazardArea, Marking, Shape,
        Status,
    };
    use cairn_store::{Store, Writer};
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("e.db"), OpenMode::Create).unwrap();
    let mut a = HazardArea {
        id: "HA-1".into(),
        shape: Shape::Polygon(
            polygon![(x: 36.0, y: 48.0), (x: 36.1, y: 48.0), (x: 36.1, y: 48.1), (x: 36.0, y: 48.0)],
        ),
        props: AreaProperties {
            name: None,
            status: Status::Reported,
            classification: Classification::Restricted,
            evidence: None,
            devices: vec![],
            reference_points: vec![],
            marking: Some(Marking::Unmarked),
            organisation: None,
            reported_at: None,
            emplacement: Some(Box::new(Emplacement {
                method: Some(EmplacingMethod::RemotelyDelivered),
                anti_handling: Some(true),
                fuze: None,
                fuze_lifetime_hours: Some(48.0),
                laid_by: None,
            })),
            extra: Default::default(),
        },
    };
    let put = |s: &mut SqliteStore, a: &HazardArea| {
        let mut w = s.begin(meta("ana")).unwrap();
        w.put_area(a).unwrap();
        w.commit().unwrap();
    };
    put(&mut s, &a);
    let mut plain = a.clone();
    plain.id = "HA-2".into();
    plain.props.emplacement = None;
    put(&mut s, &plain);
    a.props.status = Status::Confirmed;
    put(&mut s, &a);
    a.props.marking = Some(Marking::Fenced);
    put(&mut s, &a);
    assert_eq!(s.get_area("HA-1", None).unwrap().unwrap().area, a);
    let subjects = s.audit_subjects().unwrap();
    assert_eq!(subjects.len(), 1, "only the emplacement record");
    let (got, t) = &subjects[0];
    assert_eq!(got, &a);
    let h = s.history("HA-1").unwrap();
    assert_eq!(t.first_recorded, h[0].revision.recorded_at);
    // Reported areas warn the public too: the first revision is the first warning.
    assert_eq!(t.first_public, Some(h[0].revision.recorded_at));
    assert_eq!(t.first_marked, Some(h[2].revision.recorded_at));
    assert_eq!(t.first_released, None);
    // The other hazards: HA-2, reported, is an open hazard (a known danger warns); once
    // confirmed it still is, with the time it was first shown to the public.
    let others = s.audit_other_hazards().unwrap();
    assert_eq!(
        (others[0].id.as_str(), others[0].status),
        ("HA-2", Status::Reported)
    );
    plain.props.status = Status::Confirmed;
    put(&mut s, &plain);
    let others = s.audit_other_hazards().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(
        (others[0].id.as_str(), others[0].status),
        ("HA-2", Status::Confirmed)
    );
    let h2 = s.history("HA-2").unwrap();
    assert_eq!(
        others[0].timeline.first_recorded,
        h2[0].revision.recorded_at
    );
    assert_eq!(
        others[0].timeline.first_public,
        Some(h2[0].revision.recorded_at)
    );
    assert_eq!(others[0].timeline.first_marked, None);
}
