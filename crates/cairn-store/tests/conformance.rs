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
//!    at the end of this file, like the SQLite-only and PostgreSQL-only sections.
//!
//! PostgreSQL: the cases run against the cluster named by `CAIRN_TEST_PG` (an administrator's
//! URL; `scripts/test` starts a throwaway cluster and sets it, `scripts/pg-cluster start DIR`
//! starts one by hand and writes the URL to `DIR/url`). Each case gets a database of its own,
//! `cairn_conf_<unique>`, with PostGIS. Without `CAIRN_TEST_PG` the PostgreSQL tests fail, saying
//! so: they are never skipped.
//!
//! A new case is a `pub fn case(s: &mut dyn Backend)` in a submodule (`conformance/*.rs`, named
//! with `#[path]` because this file is a crate root), listed once in `suite!`.

#[path = "conformance/areas.rs"]
mod areas;
#[path = "conformance/catalogue.rs"]
mod catalogue;
#[path = "conformance/dump.rs"]
mod dump;
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
use cairn_store::{ChangeMeta, ChangeSummary, PgStore, SqliteStore};
use geo_types::{MultiPolygon, polygon};

/// A fresh SQLite store in `dir`.
fn sqlite_backend(dir: &Path) -> Box<dyn Backend> {
    Box::new(SqliteStore::open(&dir.join("conformance.db"), OpenMode::Create).unwrap())
}

/// A fresh PostgreSQL store: a new database with PostGIS in the cluster of `CAIRN_TEST_PG`.
fn postgres_backend(_dir: &Path) -> Box<dyn Backend> {
    Box::new(PgStore::open(&fresh_database(), OpenMode::Create).unwrap())
}

/// The administrator's URL of the test cluster, or a failure saying how to get one.
fn admin_url() -> String {
    match std::env::var("CAIRN_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "CAIRN_TEST_PG is not set: the PostgreSQL tests need a cluster. Run them through \
             scripts/test (which starts a throwaway one), or start one with \
             `scripts/pg-cluster start DIR` and set CAIRN_TEST_PG=$(cat DIR/url)"
        ),
    }
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{db}{query}", &base[..host_end])
}

thread_local! {
    /// The databases this test thread made, for `drop_scratch`.
    static SCRATCH: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Drops the databases this test made, at its end, so that a long-lived cluster does not fill
/// up with them (each is some 20 MB with PostGIS). A failed test leaves its database to look at.
fn drop_scratch() {
    let names = SCRATCH.with(|s| s.take());
    if names.is_empty() {
        return;
    }
    let mut c = ::postgres::Client::connect(&admin_url(), ::postgres::NoTls).unwrap();
    for name in names {
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
    }
}

/// Creates an empty database with PostGIS and returns its URL.
fn fresh_database() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = admin_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "cairn_conf_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut c = ::postgres::Client::connect(&admin, ::postgres::NoTls).unwrap_or_else(|e| {
        panic!("cannot reach the test cluster at CAIRN_TEST_PG ({admin}): {e}")
    });
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    SCRATCH.with(|s| s.borrow_mut().push(name.clone()));
    let url = with_database(&admin, &name);
    ::postgres::Client::connect(&url, ::postgres::NoTls)
        .unwrap()
        .batch_execute("CREATE EXTENSION postgis")
        .unwrap();
    url
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
                areas::the_territory_is_kept_with_history_and_checked_by_write_area,
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
                drop(store);
                crate::drop_scratch();
            }
        )*
    };
}

suite!(sqlite, super::sqlite_backend);
suite!(postgres, super::postgres_backend);

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
fn sqlite_a_large_store_is_read_on_two_threads_as_on_one() {
    // From 20,000 current areas on, `for_each_area` reads the two halves of the ids on two
    // connections; the reading of a past state (`as_of`) is one query on one. Both must give
    // every record once, in id order, at its current revision.
    let dir = tempfile::tempdir().unwrap();
    let mut s = sqlite_backend(dir.path());
    let many: Vec<HazardArea> = (0..24_000)
        .map(|i| {
            let mut a = area(
                &format!("HA-{i:05}"),
                Status::Suspected,
                30.0 + f64::from(i) * 1e-4,
            );
            a.props.name = Some(format!("area {i} \u{2014} \"quoted\""));
            a
        })
        .collect();
    put(&mut *s, "first", &many);
    // A second changeset changes every seventh, so current revisions are not all first ones.
    let changed: Vec<HazardArea> = many
        .iter()
        .step_by(7)
        .map(|a| {
            let mut a = a.clone();
            a.props.status = Status::Confirmed;
            a
        })
        .collect();
    put(&mut *s, "second", &changed);
    let read = |as_of| {
        let mut v = Vec::new();
        let n = s
            .for_each_area(as_of, &mut |a| {
                v.push(a);
                Ok(())
            })
            .unwrap();
        assert_eq!(n as usize, v.len());
        v
    };
    let split = read(None);
    let one = read(Some(chrono::Utc::now()));
    assert_eq!(split.len(), many.len());
    assert!(split.windows(2).all(|w| w[0].area.id < w[1].area.id));
    assert_eq!(split, one);
    assert_eq!(
        split
            .iter()
            .filter(|a| a.revision.author == "second")
            .count(),
        changed.len()
    );
    assert_eq!(split[7].area.props.status, Status::Confirmed);
    assert_eq!(split[8].area, many[8]);
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

// ---------------------------------------------------------------------------------------------
// PostgreSQL only: raw SQL against the tables, PostGIS, concurrent openers and writers, and
// opening by URL.

/// A plain client on the database at `url`, as psql or QGIS would be.
fn raw(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(url, ::postgres::NoTls).unwrap()
}

#[test]
fn postgres_history_cannot_be_rewritten_even_with_raw_sql() {
    let url = fresh_database();
    {
        let mut s = PgStore::open(&url, OpenMode::Create).unwrap();
        put(&mut s, "a", &[area("HA-1", Status::Confirmed, 35.0)]);
        s.add_reports(&[reports::report("a mine", None)]).unwrap();
    }
    let mut c = raw(&url);
    for sql in [
        "UPDATE revisions SET props = '{}'",
        "DELETE FROM revisions",
        "TRUNCATE revisions CASCADE",
        "UPDATE changesets SET author = 'x'",
        "DELETE FROM changesets",
        "TRUNCATE changesets CASCADE",
        "UPDATE reports SET description = 'x'",
        "DELETE FROM reports",
        "UPDATE catalogue_versions SET toml = ''",
        "DELETE FROM catalogue_versions",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        let message = e.as_db_error().map(|d| d.message().to_string());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("append-only")),
            "{sql}: {e:?}"
        );
    }
    let s = PgStore::open(&url, OpenMode::ReadOnly).unwrap();
    assert_eq!(s.history("HA-1").unwrap().len(), 1);
    assert_eq!(s.integrity_check().unwrap(), "ok");
    drop_scratch();
}

#[test]
fn postgres_geometry_is_postgis_valid_indexed_and_found_by_st_intersects() {
    let url = fresh_database();
    let mut s = PgStore::open(&url, OpenMode::Create).unwrap();
    let mut spot = area("HA-3", Status::Suspected, 33.0);
    spot.shape = Shape::Spot {
        at: geo_types::Point::new(33.5, 49.5),
        radius_m: 50.0,
    };
    put(
        &mut s,
        "a",
        &[
            area("HA-1", Status::Confirmed, 30.0),
            area("HA-2", Status::Suspected, 31.0),
            spot,
        ],
    );
    let mut c = raw(&url);
    let r = c
        .query_one(
            "SELECT type, srid FROM geometry_columns WHERE f_table_name = 'revisions' AND f_geometry_column = 'geom'",
            &[],
        )
        .unwrap();
    assert_eq!(
        (r.get::<_, String>(0), r.get::<_, i32>(1)),
        ("GEOMETRY".to_string(), 4326)
    );
    let gist: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'revisions' AND indexdef ILIKE '%USING gist (geom)%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(gist, 1);
    let (n, valid): (i64, bool) = {
        let r = c
            .query_one(
                "SELECT count(*), bool_and(ST_IsValid(geom)) FROM revisions WHERE kind = 'area'",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((n, valid), (3, true));
    // A GIS officer's question in SQL: which current areas cover this place?
    let hits: Vec<String> = c
        .query(
            "SELECT id FROM current_areas WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY id",
            &[&30.08f64, &49.02f64],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(hits, ["HA-1"]);
    let hits: i64 = c
        .query_one(
            "SELECT count(*) FROM heads h JOIN revisions r ON r.rev = h.rev \
             WHERE h.kind = 'area' AND ST_Intersects(r.geom, ST_MakeEnvelope(30.5, 48.5, 31.5, 49.5, 4326))",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(hits, 1);
    // The bytes come back as written: the same put is unchanged, and reads equal what was put.
    let again = put(&mut s, "b", &[area("HA-1", Status::Confirmed, 30.0)]);
    assert_eq!((again.changeset, again.unchanged), (0, 1));
    assert_eq!(
        s.get_area("HA-1", None).unwrap().unwrap().area,
        area("HA-1", Status::Confirmed, 30.0)
    );
    drop_scratch();
}

#[test]
fn postgres_servers_opening_a_new_database_at_once_migrate_it_once() {
    let url = fresh_database();
    let openers: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::open(&url, OpenMode::Create).map(|_| ()))
        })
        .collect();
    for o in openers {
        o.join().unwrap().unwrap();
    }
    let mut c = raw(&url);
    let migrations: i64 = c
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .unwrap()
        .get(0);
    assert!(migrations >= 4, "{migrations}");
    let s = PgStore::open(&url, OpenMode::ReadOnly).unwrap();
    assert_eq!(s.catalogue_versions().unwrap().len(), 1);
    assert_eq!(s.stats().unwrap().changesets, 1);
    drop_scratch();
}

#[test]
fn postgres_change_feed_misses_nothing_with_writers_on_other_connections() {
    let url = fresh_database();
    let mut s = PgStore::open(&url, OpenMode::Create).unwrap();
    let start = s.last_change().unwrap();
    const WRITERS: usize = 4;
    const COMMITS: usize = 12;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut s = PgStore::open(&url, OpenMode::Existing).unwrap();
                for i in 0..COMMITS {
                    let id = format!("HA-{w}-{i:02}");
                    put(
                        &mut s,
                        "w",
                        &[area(&id, Status::Suspected, 30.0 + w as f64)],
                    );
                }
            })
        })
        .collect();
    // A follower on its own connection: each head it reads has every changeset up to it visible.
    let reader = s.reopen(true).unwrap();
    let mut check = raw(&url);
    let mut seen = std::collections::BTreeMap::<String, u32>::new();
    let mut at = start;
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        let head = reader.last_change().unwrap();
        let visible: i64 = check
            .query_one("SELECT count(*) FROM changesets WHERE id <= $1", &[&head])
            .unwrap()
            .get(0);
        assert_eq!(visible, head, "a gap below the head the feed gave");
        for id in reader.changed_areas(at, head).unwrap() {
            *seen.entry(id).or_default() += 1;
        }
        at = head;
    }
    for w in writers {
        w.join().unwrap();
    }
    for id in reader
        .changed_areas(at, reader.last_change().unwrap())
        .unwrap()
    {
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), WRITERS * COMMITS);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    assert_eq!(s.last_change().unwrap(), start + (WRITERS * COMMITS) as i64);
    // Recorded times strictly increase with the changeset numbers.
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let _ = s.begin(meta("x", "nothing")).unwrap();
    drop_scratch();
}

#[test]
fn postgres_open_by_url_and_its_refusals_are_clear() {
    // `cairn_store::open` takes a URL to PostgreSQL and anything else to SQLite.
    let url = fresh_database();
    {
        let mut s = cairn_store::open(&url, OpenMode::Create).unwrap();
        put(&mut *s, "a", &[area("HA-1", Status::Confirmed, 35.0)]);
    }
    let seen: i64 = raw(&url)
        .query_one("SELECT count(*) FROM current_areas WHERE id = 'HA-1'", &[])
        .unwrap()
        .get(0);
    assert_eq!(seen, 1);
    let upper = url.replacen("postgres://", "PostgreSQL://", 1);
    assert!(cairn_store::is_postgres_url(&upper));
    assert_eq!(
        cairn_store::open(&upper, OpenMode::ReadOnly)
            .unwrap()
            .stats()
            .unwrap()
            .areas,
        1
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.db");
    cairn_store::open(file.to_str().unwrap(), OpenMode::Create).unwrap();
    assert!(file.exists());

    // A database without Cairn's schema is not opened for reading; one with tables of its own
    // named like ours is refused; a newer schema is refused; bad URLs say what is wrong, without
    // the password.
    let empty = fresh_database();
    let err = PgStore::open(&empty, OpenMode::Existing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cairn init"), "{err}");
    raw(&empty)
        .batch_execute("CREATE TABLE revisions (x int)")
        .unwrap();
    let err = PgStore::open(&empty, OpenMode::Create)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a Cairn store"), "{err}");
    raw(&url)
        .batch_execute("INSERT INTO schema_migrations (number) VALUES (999)")
        .unwrap();
    let err = PgStore::open(&url, OpenMode::Existing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer Cairn") && err.contains("999"), "{err}");
    let err = PgStore::open("postgres://u:s3cret@127.0.0.1:1/none", OpenMode::Existing)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot connect") && !err.contains("s3cret") && err.contains("u:***@"),
        "{err}"
    );
    let err = PgStore::open("postgres://127.0.0.1:notaport/x", OpenMode::Existing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a PostgreSQL URL"), "{err}");
    drop_scratch();
}
