//! The store conformance suite: the one suite every backend runs. Each case is a function of
//! `&mut dyn Backend` (a fresh, empty store) in a submodule of `conformance/`, written only
//! against the boundary's traits (`Store`, `Writer`, `ReportStore`, `ReleaseStore`, `ZoneStore`,
//! `UserStore`, `TokenStore`, `AuditStore`, `PeriodStore`, `CatalogueStore`, `Backend`), so
//! that every backend is held to the same behaviour, method by method.
//!
//! How a backend joins:
//! 1. write a factory `fn(&Path) -> Box<dyn Backend>` that opens a fresh, empty store of that
//!    backend (the path is a new temporary directory it may use or ignore; a server backend
//!    makes a new database or schema per call);
//! 2. add one line `suite!(name, factory);` below, beside `suite!(sqlite, sqlite_backend);`:
//!    it makes one `#[test]` per case, named `name::case`;
//! 3. put checks that only make sense for that backend (raw SQL, files) in a section of its own
//!    at the end of this file, like the SQLite-only section.
//!
//! A new case is a `pub fn case(s: &mut dyn Backend)` in a submodule (`conformance/*.rs`, named
//! with `#[path]` because this file is a crate root), listed once in `suite!`.

#[path = "conformance/areas.rs"]
mod areas;
#[path = "conformance/catalogue.rs"]
mod catalogue;
#[path = "conformance/records.rs"]
mod records;
#[path = "conformance/release.rs"]
mod release;
#[path = "conformance/reports.rs"]
mod reports;
#[path = "conformance/users.rs"]
mod users;

use std::path::Path;

use cairn_core::{
    AreaProperties, Classification, Evidence, EvidenceKind, HazardArea, Shape, Status,
};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::sqlite::release::ReleaseError;
use cairn_store::{ChangeMeta, ChangeSummary, SqliteStore};
use geo_types::{MultiPolygon, polygon};

/// A fresh SQLite store in `dir`.
fn sqlite_backend(dir: &Path) -> Box<dyn Backend> {
    Box::new(SqliteStore::open(&dir.join("conformance.db"), OpenMode::Create).unwrap())
}

/// One `#[test]` per case for the backend that `$factory` opens, in a module `$name`.
macro_rules! suite {
    ($name:ident, $factory:expr) => {
        mod $name {
            suite!(@cases $factory;
                areas::areas_are_versioned_attributed_and_readable_in_the_past,
                areas::write_area_checks_the_rules_records_the_command_and_a_refusal_writes_nothing,
                areas::the_change_feed_counts_committed_changesets_and_lists_their_areas,
                areas::a_reopened_connection_sees_commits_and_read_only_refuses_writes,
                reports::reports_are_stored_listed_and_triaged_once,
                release::activities_releases_finds_and_status_changes_are_checked_and_attributed,
                release::period_readers_and_the_transparency_report_see_every_record,
                records::zones_keep_history_and_a_bad_batch_writes_nothing,
                records::accidents_are_attributed_and_checked,
                records::the_audit_reads_emplacement_records_and_other_hazards_with_timelines,
                users::organisations_and_users_follow_their_rules,
                users::tokens_belong_to_users_and_stop_when_revoked_disabled_or_expired,
                users::the_older_token_form_makes_or_reuses_a_user,
                catalogue::a_new_store_holds_the_shipped_catalogue_as_version_1,
                catalogue::catalogue_versions_are_attributed_and_found_by_recorded_time,
                catalogue::a_catalogue_import_that_is_equal_bad_or_drops_a_used_type_writes_nothing,
            );
        }
    };
    (@cases $factory:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let dir = tempfile::tempdir().unwrap();
                let mut store: Box<dyn cairn_store::Backend> = ($factory)(dir.path());
                crate::$module::$case(&mut *store);
            }
        )*
    };
}

suite!(sqlite, super::sqlite_backend);

// ---------------------------------------------------------------------------------------------
// Inputs: one small helper per record kind.

fn meta(author: &str, reason: &str) -> ChangeMeta {
    ChangeMeta {
        author: author.into(),
        reason: reason.into(),
        source: None,
    }
}

/// A small public triangle at longitude `x`, without evidence.
fn area(id: &str, status: Status, x: f64) -> HazardArea {
    HazardArea {
        id: id.into(),
        shape: Shape::Polygon(
            polygon![(x: x, y: 49.0), (x: x + 0.1, y: 49.0), (x: x + 0.1, y: 49.1), (x: x, y: 49.0)],
        ),
        props: AreaProperties {
            name: Some(format!("area {id}")),
            status,
            classification: Classification::Public,
            evidence: None,
            devices: vec![],
            reference_points: vec![],
            marking: None,
            organisation: None,
            reported_at: None,
            extra: Default::default(),
            emplacement: None,
        },
    }
}

/// A suspected square of land (0.01° a side from `x0`, 50°N) on indirect evidence: releasable.
fn land(id: &str, x0: f64) -> HazardArea {
    let mut a = area(id, Status::Suspected, x0);
    a.shape = Shape::MultiPolygon(square(x0, 50.0, x0 + 0.01, 50.01));
    a.props.evidence = Some(evidence(EvidenceKind::Indirect, "farmers avoid it"));
    a
}

fn evidence(kind: EvidenceKind, description: &str) -> Evidence {
    Evidence {
        kind,
        description: Some(description.into()),
        source: None,
    }
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)],
    ])
}

/// Puts `areas` without the domain's checks, in one committed changeset by `author`.
fn put(s: &mut dyn Backend, author: &str, areas: &[HazardArea]) -> ChangeSummary {
    let mut w = s.begin(meta(author, "fixture")).unwrap();
    for a in areas {
        w.put_area(a).unwrap();
    }
    w.commit().unwrap()
}

/// What a refused or failed store command says: its kind and the (first) field it names.
fn refusal<T: std::fmt::Debug>(r: Result<T, ReleaseError>) -> (&'static str, String) {
    match r.unwrap_err() {
        ReleaseError::NotFound(p) => ("not found", p.field),
        ReleaseError::Invalid(p) => ("invalid", p[0].field.clone()),
        ReleaseError::Refused(p) => ("refused", p.field),
        ReleaseError::Store(e) => panic!("store error: {e}"),
    }
}

/// A fixed instant, for inputs that carry one.
fn at(rfc3339: &str) -> cairn_core::Timestamp {
    rfc3339.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// SQLite only: the file, its refusal of foreign files, and its triggers.

#[test]
fn sqlite_store_persists_and_refuses_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    {
        let mut s = SqliteStore::open(&path, OpenMode::Create).unwrap();
        let s: &mut dyn Backend = &mut s;
        put(s, "a", &[area("HA-9", Status::Confirmed, 35.0)]);
    }
    let s = SqliteStore::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(
        s.get_area("HA-9", None).unwrap().unwrap().area.props.status,
        Status::Confirmed
    );
    assert_eq!(s.integrity_check().unwrap(), "ok");

    let missing = SqliteStore::open(&dir.path().join("none.db"), OpenMode::Existing)
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("none.db") && missing.contains("cairn init"),
        "{missing}"
    );
    let text = dir.path().join("notes.txt");
    let content = "hello, this is not a database at all, it is long enough to be a header";
    std::fs::write(&text, content).unwrap();
    let err = SqliteStore::open(&text, OpenMode::Create)
        .unwrap_err()
        .to_string();
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(std::fs::read_to_string(&text).unwrap(), content);
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t(x)")
        .unwrap();
    let err = SqliteStore::open(&other, OpenMode::Create)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a Cairn store"), "{err}");
}

#[test]
fn sqlite_revisions_cannot_be_rewritten_even_with_raw_sql() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = sqlite_backend(dir.path());
        put(&mut *s, "a", &[area("HA-1", Status::Confirmed, 35.0)]);
    }
    let c = rusqlite::Connection::open(dir.path().join("conformance.db")).unwrap();
    for sql in [
        "UPDATE revisions SET props = '{}'",
        "DELETE FROM revisions",
        "DELETE FROM changesets",
        "UPDATE changesets SET author = 'x'",
    ] {
        let e = c.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
}
