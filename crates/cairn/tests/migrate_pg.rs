//! `cairn migrate` between SQLite and PostgreSQL/PostGIS (the test cluster of `CAIRN_TEST_PG`;
//! without it these tests fail saying how to get one): the demo store there and back keeps every
//! row (equal digests), answers the same exports at past times and the same histories, and later
//! writes continue after the migrated ones; a migration that fails changes nothing and says why.
#![cfg(unix)]

mod common;

use std::path::Path;

use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::postgres::Database;
use common::server::{Server, cairn, http};
use serde_json::{Value, json};

/// `cairn --db DB ARGS`: its stdout; it must succeed.
fn ok(db: &str, args: &[&str]) -> String {
    let out = cairn(Path::new(db)).args(args).output().expect("run cairn");
    assert!(
        out.status.success(),
        "cairn --db {db} {args:?}: {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cairn ARGS` that must fail with exit 2 (bad input): its stderr.
fn bad(args: &[&str]) -> String {
    let out = cairn(Path::new("unused.db"))
        .args(args)
        .output()
        .expect("run cairn");
    assert_eq!(
        out.status.code(),
        Some(2),
        "cairn {args:?} should exit 2\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `cairn migrate --from FROM --to TO --json`: its report.
fn migrate(from: &str, to: &str) -> Value {
    serde_json::from_str(&ok(
        "unused.db",
        &["migrate", "--from", from, "--to", to, "--json"],
    ))
    .expect("json")
}

/// A small PNG, as a reporter's phone would send it.
fn photo() -> String {
    let mut png = Vec::new();
    image::RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 90]))
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut png))
        .unwrap();
    base64::engine::general_purpose::STANDARD.encode(png)
}

/// Writes through the command line and the service so that every table of the demo store holds
/// rows the demo alone does not write: an organisation, users, tokens, reports (one with a
/// photo) and their triage (one opening an area), a catalogue version.
/// Returns the reports' references and the id of the area one of them opened.
fn more_writes(dir: &Path, db: &str) -> (Vec<String>, String) {
    ok(db, &["org", "add", "Operator A"]);
    ok(
        db,
        &[
            "user",
            "add",
            "Olena",
            "--role",
            "officer",
            "--org",
            "Operator A",
        ],
    );
    ok(
        db,
        &[
            "user",
            "add",
            "Petro",
            "--role",
            "field",
            "--org",
            "Operator A",
        ],
    );
    ok(db, &["token", "create", "--user", "Olena"]);
    ok(db, &["token", "create", "--user", "Petro"]);
    let server = Server::start(Path::new(db), None);
    let mut refs = Vec::new();
    for (i, cat) in ["mine", "shell-or-bomb", "tripwire"].iter().enumerate() {
        let mut body = json!({"lon": 36.1 + i as f64 * 0.01, "lat": 49.95, "category": cat,
            "description": format!("seen a {cat} by the road"), "accuracy_m": 12.5});
        if i == 0 {
            body["photo"] = Value::from(photo());
        }
        let (status, text) = http(
            &server.addr,
            "POST",
            "/api/reports",
            None,
            &body.to_string(),
        );
        assert_eq!(status, 201, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        refs.push(v["reference"].as_str().unwrap().to_string());
    }
    drop(server);
    let said = ok(
        db,
        &["reports", "triage", &refs[0], "--open", "--by", "Olena"],
    );
    let opened = said
        .split("opened as reported area ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the opened area in {said}"))
        .to_string();
    ok(
        db,
        &[
            "reports",
            "triage",
            &refs[1],
            "--dismiss",
            "a duplicate",
            "--by",
            "Olena",
        ],
    );
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cairn-core/data/device-types.toml"),
    )
    .unwrap();
    let edited = shipped.replacen(
        "name = \"Anti-personnel mine, persistent",
        "name = \"AP mine, persistent",
        1,
    );
    assert_ne!(edited, shipped);
    let file = dir.join("catalogue.toml");
    std::fs::write(&file, edited).unwrap();
    ok(
        db,
        &[
            "catalogue",
            "import",
            file.to_str().unwrap(),
            "--reason",
            "shorter names",
        ],
    );
    (refs, opened)
}

/// The export of `db` as of `at` (now when `None`), without the line naming when it was made.
fn export(db: &str, out: &Path, at: Option<&str>) -> Value {
    let o = out.to_str().unwrap();
    let mut args = vec!["export", "-o", o];
    if let Some(t) = at {
        args.extend(["--as-of", t]);
    }
    ok(db, &args);
    let mut v: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("cairn");
    v
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[test]
fn the_demo_store_goes_to_postgresql_and_back_with_its_whole_history() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.db").to_string_lossy().into_owned();
    ok(&demo, &["demo", "--areas", "300", "--no-serve"]);
    let (refs, opened) = more_writes(dir.path(), &demo);
    let pg = Database::fresh();
    let back = dir.path().join("back.db").to_string_lossy().into_owned();

    let there = migrate(&format!("sqlite:{demo}"), &pg.url);
    for (table, n) in there["counts"].as_object().unwrap() {
        assert!(n.as_u64().unwrap() > 0, "{table} moved no rows: {there}");
    }
    assert!(
        there["counts"]["revisions"].as_u64().unwrap() > 300,
        "{there}"
    );
    let again = migrate(&pg.url, &back);
    assert_eq!(
        again["sha256"], there["sha256"],
        "the same rows there and back"
    );
    assert_eq!(again["counts"], there["counts"]);
    assert_eq!(again["change"], there["change"]);

    // Times to look back at: each a changeset's recorded time exactly, a microsecond before it,
    // and half-way from the one before — so that a time moved by a microsecond would show.
    let times: Vec<DateTime<Utc>> = {
        let c = rusqlite::Connection::open(&demo).unwrap();
        let mut st = c
            .prepare(
                "SELECT DISTINCT c.recorded_at FROM changesets c JOIN revisions r ON r.changeset = c.id \
                 WHERE r.kind = 'area' ORDER BY 1",
            )
            .unwrap();
        st.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|us| DateTime::from_timestamp_micros(us.unwrap()).unwrap())
            .collect()
    };
    assert!(times.len() >= 6, "{times:?}");
    let mut at = vec![None];
    for i in [1, times.len() / 3, times.len() / 2, times.len() - 1] {
        let (t, before) = (times[i], times[i - 1]);
        at.push(Some(rfc3339(t)));
        at.push(Some(rfc3339(t - Duration::microseconds(1))));
        at.push(Some(rfc3339(before + (t - before) / 2)));
    }
    let mut exports = Vec::new();
    for t in &at {
        let want = export(&demo, &dir.path().join("demo.geojson"), t.as_deref());
        for (name, db) in [("PostgreSQL", pg.url.as_str()), ("back", back.as_str())] {
            assert_eq!(
                export(db, &dir.path().join("other.geojson"), t.as_deref()),
                want,
                "the export as of {t:?} from {name}"
            );
        }
        exports.push(want);
    }
    // A changeset's own time shows it, a microsecond earlier does not: the times compared are
    // ones where a microsecond matters.
    for k in 0..4 {
        assert_ne!(
            exports[1 + 3 * k],
            exports[2 + 3 * k],
            "as of {:?} and a microsecond before",
            at[1 + 3 * k]
        );
    }

    for args in [
        vec!["history", "HA-000001", "--json"],
        vec!["history", "HA-000150", "--json"],
        vec!["history", "HA-000299", "--json"],
        vec!["history", opened.as_str(), "--json"],
        vec!["reports", "list", "--json"],
        vec!["reports", "show", refs[0].as_str()],
        vec!["user", "list", "--json"],
        vec!["org", "list", "--json"],
        vec!["token", "list"],
        vec!["catalogue", "versions"],
        vec!["zone", "list"],
        vec!["releases", "HA-000150", "--json"],
    ] {
        let want = ok(&demo, &args);
        assert_eq!(
            ok(&pg.url, &args),
            want,
            "`cairn {}` on PostgreSQL",
            args.join(" ")
        );
        assert_eq!(
            ok(&back, &args),
            want,
            "`cairn {}` back on SQLite",
            args.join(" ")
        );
    }
    // The photo, byte for byte.
    let photo_of = |db: &str, name: &str| -> Vec<u8> {
        let out = dir.path().join(name);
        ok(
            db,
            &[
                "reports",
                "show",
                &refs[0],
                "--photo",
                out.to_str().unwrap(),
            ],
        );
        std::fs::read(out).unwrap()
    };
    let want = photo_of(&demo, "demo.png");
    assert!(want.starts_with(b"\x89PNG"));
    assert_eq!(photo_of(&pg.url, "pg.png"), want);
    assert_eq!(photo_of(&back, "back.png"), want);

    // Later writes on PostgreSQL continue after the migrated ones: the next changeset number,
    // the next area id, and new ids for users, tokens and reports.
    let last = there["change"].as_i64().unwrap();
    let areas = |db: &str| -> usize {
        export(db, &dir.path().join("count.geojson"), None)["features"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = areas(&pg.url);
    let records = dir.path().join("new.geojson");
    std::fs::write(
        &records,
        json!({"type": "FeatureCollection", "features": [{"type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[30.0, 45.0], [30.01, 45.0], [30.01, 45.01], [30.0, 45.0]]]},
            "properties": {"status": "suspected", "classification": "public",
                "evidence": {"kind": "indirect", "description": "a shepherd's account"}}}]})
        .to_string(),
    )
    .unwrap();
    ok(
        &pg.url,
        &[
            "import",
            records.to_str().unwrap(),
            "--reason",
            "after the migration",
        ],
    );
    assert_eq!(areas(&pg.url), before + 1);
    let (new_id, changeset): (String, i64) = {
        let mut c = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
        let row = c
            .query_one(
                "SELECT record_id, changeset FROM revisions ORDER BY rev DESC LIMIT 1",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(changeset, last + 1, "the next changeset number");
    let shown = cairn(Path::new(&demo))
        .args(["show", &new_id])
        .output()
        .unwrap();
    assert!(
        !shown.status.success(),
        "the new area {new_id} has an id the migrated store never gave: {shown:?}"
    );
    ok(&pg.url, &["user", "add", "Mykola", "--role", "auditor"]);
    ok(&pg.url, &["token", "create", "--user", "Mykola"]);
    let server = Server::start(Path::new(&pg.url), None);
    let (status, text) = http(
        &server.addr,
        "POST",
        "/api/reports",
        None,
        &json!({"lon": 36.3, "lat": 49.9, "category": "mine", "description": "after"}).to_string(),
    );
    assert_eq!(status, 201, "{text}");
    drop(server);

    // History stays append-only in PostgreSQL: the triggers lifted for the restore are back.
    let mut c = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE revisions SET props = '{}' WHERE rev = 1",
        "DELETE FROM changesets WHERE id = 1",
        "TRUNCATE reports CASCADE",
        "DELETE FROM catalogue_versions",
    ] {
        let e = c.batch_execute(sql).expect_err(sql);
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{sql}: {e:?}"
        );
    }
}

/// A small SQLite store: two areas, a user with a token.
fn small_store(dir: &Path) -> String {
    let db = dir.join("small.db").to_string_lossy().into_owned();
    ok(&db, &["init"]);
    let square = |lon: f64| json!({"type": "Polygon", "coordinates": [[[lon, 49.9], [lon + 0.01, 49.9], [lon + 0.01, 49.91], [lon, 49.91], [lon, 49.9]]]});
    let file = dir.join("records.geojson");
    std::fs::write(
        &file,
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "HA-000001", "geometry": square(36.0), "properties": {
                "status": "confirmed", "classification": "public",
                "evidence": {"kind": "direct", "description": "as recorded"}}},
            {"type": "Feature", "id": "HA-000002", "geometry": square(36.1), "properties": {
                "status": "suspected", "classification": "restricted",
                "evidence": {"kind": "indirect", "description": "a farmer's account"}}}]})
        .to_string(),
    )
    .unwrap();
    ok(
        &db,
        &["import", file.to_str().unwrap(), "--reason", "migration"],
    );
    ok(&db, &["user", "add", "Olena", "--role", "officer"]);
    ok(&db, &["token", "create", "--user", "Olena"]);
    db
}

/// Everything a PostgreSQL database holds in Cairn's tables, and whether the append-only
/// triggers are all enabled: to prove a failed migration touched nothing.
fn pg_state(url: &str) -> (Vec<String>, bool) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let tables: Vec<String> = c
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut state = Vec::new();
    for t in &tables {
        if t == "spatial_ref_sys" {
            continue;
        }
        let rows: Vec<String> = c
            .query(&format!("SELECT t::text FROM {t} t ORDER BY 1"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        state.push(format!("{t}: {rows:?}"));
    }
    let disabled: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'",
            &[],
        )
        .unwrap()
        .get(0);
    (state, disabled == 0)
}

#[test]
fn a_failing_migration_changes_nothing_and_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let small = small_store(dir.path());

    // A PostgreSQL store that holds records already.
    let taken = Database::fresh();
    ok(&taken.url, &["init"]);
    ok(&taken.url, &["user", "add", "Someone", "--role", "admin"]);
    let before = pg_state(&taken.url);
    assert!(before.1 && !before.0.is_empty());
    let err = bad(&["migrate", "--from", &small, "--to", &taken.url]);
    assert!(
        err.contains("--to") && err.contains("already holds records") && err.contains("users: 1"),
        "{err}"
    );
    assert_eq!(
        pg_state(&taken.url),
        before,
        "the store that was not empty is untouched"
    );

    // A server that does not answer; its password is never printed.
    let err = bad(&[
        "migrate",
        "--from",
        &small,
        "--to",
        "postgres://cairn:s3cret-pw@127.0.0.1:1/cairn",
    ]);
    assert!(
        err.contains("--to") && err.contains("127.0.0.1:1") && err.contains("cannot connect"),
        "{err}"
    );
    assert!(!err.contains("s3cret-pw"), "no password in messages: {err}");
    let err = bad(&[
        "migrate",
        "--from",
        "postgres://cairn:s3cret-pw@127.0.0.1:1/cairn",
        "--to",
        &dir.path().join("new.db").to_string_lossy(),
    ]);
    assert!(
        err.contains("--from") && err.contains("cannot connect"),
        "{err}"
    );
    assert!(!err.contains("s3cret-pw"), "no password in messages: {err}");
    assert!(
        !dir.path().join("new.db").exists(),
        "nothing made for a bad source"
    );

    // One store named twice.
    let err = bad(&["migrate", "--from", &taken.url, "--to", &taken.url]);
    assert!(err.contains("--from and --to"), "{err}");
    assert_eq!(pg_state(&taken.url), before);

    // A failure half-way (a damaged source: a revision whose geometry is not WKB, which PostGIS
    // refuses after the schema and many rows are written) into a database without a Cairn store
    // leaves it without one: the schema is created in the restoring transaction.
    let damaged = dir.path().join("damaged.db");
    std::fs::copy(&small, &damaged).unwrap();
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             c.execute(\"INSERT INTO revisions (kind, record_id, seq, changeset, op, geom, props) \
             SELECT 'accident', 'AC-000009', 1, max(id), 'create', X'0102', '{}' FROM changesets\"); \
             c.commit()",
            damaged.to_str().unwrap(),
        ])
        .output()
        .expect("python3");
    assert!(py.status.success(), "{py:?}");
    let blank = Database::fresh();
    let before = pg_state(&blank.url);
    let out = cairn(Path::new("unused.db"))
        .args([
            "migrate",
            "--from",
            damaged.to_str().unwrap(),
            "--to",
            &blank.url,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(err.contains("--to") && err.contains("WKB"), "{err}");
    assert_eq!(
        pg_state(&blank.url),
        before,
        "the database is as it was, without a schema"
    );
    // It failed for the damage alone: the intact store goes into the same database.
    let moved = migrate(&small, &blank.url);
    assert_eq!(moved["counts"]["revisions"], 2, "{moved}");
}
