//! The device catalogue in the store: version 1 shipped and attributed, new versions append-only
//! and attributed, an equal import writing nothing, a type that areas use kept, the version in
//! force at a recorded time, and each type's history.

use cairn_core::catalogue::BUILTIN_TOML;
use cairn_core::residual::Profile;
use cairn_core::{
    AreaProperties, Catalogue, Classification, DeviceGroup, HazardArea, Shape, Status,
};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::sqlite::catalogue::{CatalogueImport, CatalogueImportError, TypeChangeKind};
use cairn_store::{ChangeMeta, SqliteStore, Store, Writer};
use geo_types::polygon;

fn meta(author: &str, reason: &str) -> ChangeMeta {
    ChangeMeta {
        author: author.into(),
        reason: reason.into(),
        source: Some("catalogue.toml".into()),
    }
}

fn area(id: &str, device_type: &str) -> HazardArea {
    HazardArea {
        id: id.into(),
        shape: Shape::Polygon(
            polygon![(x: 36.0, y: 49.0), (x: 36.1, y: 49.0), (x: 36.1, y: 49.1), (x: 36.0, y: 49.0)],
        ),
        props: AreaProperties {
            name: None,
            status: Status::Confirmed,
            classification: Classification::Public,
            evidence: None,
            devices: vec![DeviceGroup {
                device_type: device_type.into(),
                quantity: Some(3),
                emplaced_from: None,
                emplaced_to: None,
                how_known: None,
            }],
            reference_points: vec![],
            marking: None,
            organisation: None,
            reported_at: None,
            extra: Default::default(),
            emplacement: None,
        },
    }
}

/// The shipped catalogue with the 15-day AP type made persistent.
fn made_persistent() -> String {
    BUILTIN_TOML.replace(
        "id = \"ap-mine-nonpersistent-15d\"\nname = \"Anti-personnel mine, non-persistent, self-destruct within 15 days\"\ncategory = \"ap-mine\"\npersistence = \"non-persistent\"\nsd_max_hours = 360\nsd_fail = 0.10\nsda_max_days = 120\nresidual = 0.001\n",
        "id = \"ap-mine-nonpersistent-15d\"\nname = \"Anti-personnel mine, non-persistent, self-destruct within 15 days\"\ncategory = \"ap-mine\"\npersistence = \"persistent\"\n",
    )
}

/// The shipped catalogue without the `booby-trap` type.
fn without_booby_trap() -> String {
    BUILTIN_TOML.replace(
        "[[device_type]]\nid = \"booby-trap\"\nname = \"Booby-trap\"\ncategory = \"other\"\npersistence = \"persistent\"\n",
        "",
    )
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("c.db"), OpenMode::Create).unwrap()
}

#[test]
fn a_new_store_holds_the_shipped_catalogue_as_version_1_attributed_to_cairn() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let v = s.catalogue(None).unwrap();
    assert_eq!(v.version, 1);
    assert_eq!(v.catalogue, Catalogue::builtin());
    let versions = s.catalogue_versions().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        (
            versions[0].version,
            versions[0].author.as_str(),
            versions[0].reason.as_str()
        ),
        (1, "cairn", "the device catalogue shipped with Cairn")
    );
    assert_eq!(s.catalogue_text(1).unwrap().as_deref(), Some(BUILTIN_TOML));
    drop(s);
    // Opening again (for writing, then read-only) writes no second version.
    let s = open(&dir);
    assert_eq!(s.catalogue_versions().unwrap().len(), 1);
    assert_eq!(s.stats().unwrap().changesets, 1);
    drop(s);
    let r = SqliteStore::open(&dir.path().join("c.db"), OpenMode::ReadOnly).unwrap();
    assert_eq!(r.catalogue(None).unwrap().version, 1);
}

#[test]
fn versions_are_attributed_and_found_by_recorded_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let v1_at = s.catalogue_versions().unwrap()[0].recorded_at;
    let between = chrono::Utc::now();
    let out = s
        .import_catalogue(
            &made_persistent(),
            meta("olena", "15-day type failed in the field"),
        )
        .unwrap();
    let CatalogueImport::Written(v2) = out else {
        panic!("nothing written: {out:?}");
    };
    assert_eq!(v2.version, 2);
    assert_eq!(
        (v2.author.as_str(), v2.reason.as_str(), v2.source.as_deref()),
        (
            "olena",
            "15-day type failed in the field",
            Some("catalogue.toml")
        )
    );
    assert!(v2.recorded_at > v1_at);
    assert_eq!(s.catalogue_versions().unwrap().len(), 2);

    // Now: version 2, the type persistent.
    let now = s.catalogue(None).unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(
        now.catalogue
            .get("ap-mine-nonpersistent-15d")
            .unwrap()
            .profile,
        Profile::Persistent
    );
    // At a time between the two: version 1, unchanged.
    let then = s.catalogue(Some(between)).unwrap();
    assert_eq!(then.version, 1);
    assert_eq!(then.catalogue, Catalogue::builtin());
    // At the second's own recorded time: version 2; one microsecond before: version 1.
    assert_eq!(s.catalogue(Some(v2.recorded_at)).unwrap().version, 2);
    assert_eq!(
        s.catalogue(Some(v2.recorded_at - chrono::Duration::microseconds(1)))
            .unwrap()
            .version,
        1
    );
    // Before the store existed: version 1, the first there is.
    let long_ago = chrono::DateTime::parse_from_rfc3339("2001-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(s.catalogue(Some(long_ago)).unwrap().version, 1);

    // The type's history: added in 1, changed in 2 by olena; others only added.
    let h = s.device_type_history("ap-mine-nonpersistent-15d").unwrap();
    assert_eq!(
        h.iter()
            .map(|c| (c.version.version, c.kind, c.version.author.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (1, TypeChangeKind::Added, "cairn"),
            (2, TypeChangeKind::Changed, "olena")
        ]
    );
    assert!(h[1].before.as_ref().unwrap().is_non_persistent());
    assert!(!h[1].after.as_ref().unwrap().is_non_persistent());
    assert_eq!(s.device_type_history("ied").unwrap().len(), 1);
    assert!(s.device_type_history("no-such-type").unwrap().is_empty());
}

#[test]
fn an_equal_catalogue_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let before = s.content_digest().unwrap();
    // The same types with other comments and spacing are the same catalogue.
    let same = format!("# a copy\n\n{}", BUILTIN_TOML.replace(" = ", "="));
    assert_eq!(
        s.import_catalogue(&same, meta("olena", "again")).unwrap(),
        CatalogueImport::Unchanged(1)
    );
    assert_eq!(s.content_digest().unwrap(), before);
}

#[test]
fn a_bad_catalogue_is_refused_naming_the_entry_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let before = s.content_digest().unwrap();
    let bad = BUILTIN_TOML.replace("sd_fail = 0.10\nsda_max_days = 120\nresidual = 0.001\nclaimed_sd_fail = 0.0001\n\n[[device_type]]\nid = \"ap-mine-nonpersistent-48h\"", "sd_fail = 1.5\nsda_max_days = 120\nresidual = 0.001\nclaimed_sd_fail = 0.0001\n\n[[device_type]]\nid = \"ap-mine-nonpersistent-48h\"");
    assert_ne!(bad, BUILTIN_TOML);
    let e = s.import_catalogue(&bad, meta("olena", "typo")).unwrap_err();
    assert!(matches!(e, CatalogueImportError::Invalid(_)), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains("entry 2 (ap-mine-nonpersistent-4h)") && m.contains("sd_fail"),
        "{m}"
    );
    assert_eq!(s.content_digest().unwrap(), before);
}

#[test]
fn removing_a_type_an_area_uses_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let mut tx = s.begin(meta("ana", "survey")).unwrap();
    tx.put_area(&area("HA-000002", "booby-trap")).unwrap();
    tx.put_area(&area("HA-000001", "ied")).unwrap();
    tx.commit().unwrap();
    let before = s.content_digest().unwrap();
    let e = s
        .import_catalogue(&without_booby_trap(), meta("olena", "tidy"))
        .unwrap_err();
    let CatalogueImportError::InUse {
        device_type,
        area: user,
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(
        (device_type.as_str(), user.as_str()),
        ("booby-trap", "HA-000002")
    );
    assert!(e.to_string().contains("booby-trap") && e.to_string().contains("HA-000002"));
    assert_eq!(s.content_digest().unwrap(), before);

    // Once no current area uses it, the type may go (its removal is in its history).
    let mut tx = s.begin(meta("ana", "corrected")).unwrap();
    tx.put_area(&area("HA-000002", "ied")).unwrap();
    tx.commit().unwrap();
    let out = s
        .import_catalogue(&without_booby_trap(), meta("olena", "tidy"))
        .unwrap();
    assert!(
        matches!(out, CatalogueImport::Written(ref v) if v.version == 2),
        "{out:?}"
    );
    let h = s.device_type_history("booby-trap").unwrap();
    assert_eq!(h.last().unwrap().kind, TypeChangeKind::Removed);
    assert!(
        s.catalogue(None)
            .unwrap()
            .catalogue
            .get("booby-trap")
            .is_none()
    );
}

#[test]
fn catalogue_versions_cannot_be_updated_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let mut s = SqliteStore::open(&path, OpenMode::Create).unwrap();
    s.import_catalogue(&made_persistent(), meta("olena", "field reports"))
        .unwrap();
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE catalogue_versions SET toml = ''",
        "UPDATE catalogue_versions SET version = 9 WHERE version = 2",
        "DELETE FROM catalogue_versions",
        "DELETE FROM catalogue_versions WHERE version = 2",
    ] {
        let e = c.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    // A version without a changeset cannot be committed either.
    c.pragma_update(None, "foreign_keys", "ON").unwrap();
    c.execute_batch("BEGIN")
        .and_then(|_| {
            c.execute(
                "INSERT INTO catalogue_versions (version, changeset, toml) VALUES (3, 99, '')",
                [],
            )
        })
        .unwrap();
    assert!(c.execute_batch("COMMIT").is_err());
    let _ = c.execute_batch("ROLLBACK");
    let s = SqliteStore::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(s.catalogue_versions().unwrap().len(), 2);
}
