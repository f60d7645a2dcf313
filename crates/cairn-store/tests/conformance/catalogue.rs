//! The device catalogue, versioned like records (`CatalogueStore`).

use cairn_core::catalogue::BUILTIN_TOML;
use cairn_core::residual::Profile;
use cairn_core::{Catalogue, DeviceGroup};
use cairn_store::sqlite::catalogue::{CatalogueImport, CatalogueImportError, TypeChangeKind};

use super::*;

fn cmeta(author: &str, reason: &str) -> ChangeMeta {
    ChangeMeta {
        source: Some("catalogue.toml".into()),
        ..meta(author, reason)
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

/// An area with devices of one type.
fn using(id: &str, device_type: &str) -> HazardArea {
    let mut a = area(id, Status::Suspected, 36.0);
    a.props.devices = vec![DeviceGroup {
        device_type: device_type.into(),
        quantity: Some(3),
        emplaced_from: None,
        emplaced_to: None,
        how_known: None,
    }];
    a
}

/// `catalogue`, `catalogue_text`, `catalogue_versions`, `catalogue_changes` of a new store.
pub fn a_new_store_holds_the_shipped_catalogue_as_version_1(s: &mut dyn Backend) {
    assert_ne!(made_persistent(), BUILTIN_TOML);
    assert_ne!(without_booby_trap(), BUILTIN_TOML);
    let v = s.catalogue(None).unwrap();
    assert_eq!((v.version, v.catalogue), (1, Catalogue::builtin()));
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
    assert_eq!(versions[0].changeset, s.last_change().unwrap());
    assert_eq!(s.catalogue_text(1).unwrap().as_deref(), Some(BUILTIN_TOML));
    assert_eq!(s.catalogue_text(2).unwrap(), None);
    // Every type of version 1 is added, by type id.
    let changes = s.catalogue_changes().unwrap();
    let builtin = Catalogue::builtin();
    let mut ids: Vec<&str> = builtin.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    assert_eq!(
        changes
            .iter()
            .map(|c| c.after.as_ref().unwrap().id.as_str())
            .collect::<Vec<_>>(),
        ids
    );
    assert!(changes.iter().all(|c| c.kind == TypeChangeKind::Added
        && c.before.is_none()
        && c.version == versions[0]));
    // Another connection, even read-only, sees the same and writes no second version.
    let r = s.reopen(true).unwrap();
    assert_eq!(r.catalogue_versions().unwrap(), versions);
    assert_eq!(s.stats().unwrap().changesets, 1);
}

/// `import_catalogue` writing a version; `catalogue` as of a recorded time;
/// `device_type_history`.
pub fn catalogue_versions_are_attributed_and_found_by_recorded_time(s: &mut dyn Backend) {
    let v1_at = s.catalogue_versions().unwrap()[0].recorded_at;
    let between = chrono::Utc::now();
    let out = s
        .import_catalogue(
            &made_persistent(),
            cmeta("olena", "15-day type failed in the field"),
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
    assert_eq!(v2.changeset, s.last_change().unwrap());
    assert_eq!(s.catalogue_versions().unwrap().len(), 2);
    assert_eq!(s.catalogue_versions().unwrap()[1], v2);
    assert_eq!(
        s.catalogue_text(2).unwrap().as_deref(),
        Some(made_persistent().as_str())
    );
    assert!(s.changed_areas(0, v2.changeset).unwrap().is_empty());

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
    assert_eq!((then.version, then.catalogue), (1, Catalogue::builtin()));
    // At the second's own recorded time: version 2; one microsecond before: version 1.
    assert_eq!(s.catalogue(Some(v2.recorded_at)).unwrap().version, 2);
    assert_eq!(
        s.catalogue(Some(v2.recorded_at - chrono::Duration::microseconds(1)))
            .unwrap()
            .version,
        1
    );
    // Before the store existed: version 1, the first there is.
    assert_eq!(
        s.catalogue(Some(at("2001-01-01T00:00:00Z")))
            .unwrap()
            .version,
        1
    );

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
    let v2_changes: Vec<_> = s
        .catalogue_changes()
        .unwrap()
        .into_iter()
        .filter(|c| c.version.version == 2)
        .collect();
    assert_eq!(v2_changes, h[1..]);
}

/// `import_catalogue` writing nothing: equal, invalid, or dropping a type an area uses.
pub fn a_catalogue_import_that_is_equal_bad_or_drops_a_used_type_writes_nothing(
    s: &mut dyn Backend,
) {
    let before = s.content_digest().unwrap();
    let head = s.last_change().unwrap();
    // The same types with other comments and spacing are the same catalogue.
    let same = format!("# a copy\n\n{}", BUILTIN_TOML.replace(" = ", "="));
    assert_eq!(
        s.import_catalogue(&same, cmeta("olena", "again")).unwrap(),
        CatalogueImport::Unchanged(1)
    );
    let bad = BUILTIN_TOML.replace("sd_fail = 0.10\nsda_max_days = 120\nresidual = 0.001\nclaimed_sd_fail = 0.0001\n\n[[device_type]]\nid = \"ap-mine-nonpersistent-48h\"", "sd_fail = 1.5\nsda_max_days = 120\nresidual = 0.001\nclaimed_sd_fail = 0.0001\n\n[[device_type]]\nid = \"ap-mine-nonpersistent-48h\"");
    assert_ne!(bad, BUILTIN_TOML);
    let e = s
        .import_catalogue(&bad, cmeta("olena", "typo"))
        .unwrap_err();
    assert!(matches!(e, CatalogueImportError::Invalid(_)), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains("entry 2 (ap-mine-nonpersistent-4h)") && m.contains("sd_fail"),
        "{m}"
    );
    assert!(matches!(
        s.import_catalogue("not toml [", cmeta("olena", "junk")),
        Err(CatalogueImportError::Invalid(_))
    ));
    assert_eq!(s.content_digest().unwrap(), before);
    assert_eq!(s.last_change().unwrap(), head);

    // A type a current area uses stays, naming both.
    put(
        s,
        "ana",
        &[using("HA-000002", "booby-trap"), using("HA-000001", "ied")],
    );
    let before = s.content_digest().unwrap();
    let e = s
        .import_catalogue(&without_booby_trap(), cmeta("olena", "tidy"))
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
    assert_eq!(s.catalogue_versions().unwrap().len(), 1);

    // Once no current area uses it, the type may go (its removal is in its history).
    put(s, "ana", &[using("HA-000002", "ied")]);
    let out = s
        .import_catalogue(&without_booby_trap(), cmeta("olena", "tidy"))
        .unwrap();
    assert!(
        matches!(out, CatalogueImport::Written(ref v) if v.version == 2),
        "{out:?}"
    );
    let h = s.device_type_history("booby-trap").unwrap();
    assert_eq!(
        h.iter().map(|c| c.kind).collect::<Vec<_>>(),
        [TypeChangeKind::Added, TypeChangeKind::Removed]
    );
    assert!(h[1].after.is_none());
    assert!(
        s.catalogue(None)
            .unwrap()
            .catalogue
            .get("booby-trap")
            .is_none()
    );
}
