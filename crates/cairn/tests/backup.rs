//! `cairn backup FILE`: an online, checked copy of a SQLite store, readable only by its owner; a
//! PostgreSQL store is pointed to pg_dump without its password being printed.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::env::Env;
use common::server::{Server, cairn, http};
use serde_json::{Value, json};

fn world() -> Env {
    let env = Env::with_store();
    let square = |lon: f64| json!({"type": "Polygon", "coordinates": [[[lon, 49.9], [lon + 0.01, 49.9], [lon + 0.01, 49.91], [lon, 49.91], [lon, 49.9]]]});
    env.write(
        "records.geojson",
        &json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "HA-000001", "geometry": square(36.0), "properties": {
                "status": "confirmed", "classification": "public",
                "evidence": {"kind": "direct", "description": "as recorded"}}},
            {"type": "Feature", "id": "HA-000002", "geometry": square(36.1), "properties": {
                "status": "suspected", "classification": "restricted",
                "evidence": {"kind": "indirect", "description": "a farmer's account"}}}]}),
    );
    env.ok(&["import", &env.p("records.geojson"), "--reason", "migration"]);
    env.ok(&["user", "add", "Olena", "--role", "officer"]);
    env.ok(&["token", "create", "--user", "Olena"]);
    env
}

/// `cairn` on another store of the same environment; returns its stdout, or its stderr when it
/// must fail (`ok` false, exit 2).
fn on_store(db: &str, args: &[&str], ok: bool) -> String {
    let out = cairn(std::path::Path::new(db))
        .args(args)
        .output()
        .expect("run cairn");
    if ok {
        assert!(out.status.success(), "cairn {args:?} on {db}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        assert_eq!(
            out.status.code(),
            Some(2),
            "cairn {args:?} on {db}: {out:?}"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

fn on(_env: &Env, db: &str, args: &[&str]) -> String {
    on_store(db, args, true)
}

#[test]
fn a_backup_is_a_whole_private_copy_with_the_same_history() {
    let env = world();
    let copy = env.p("copy.db");
    let out = env.ok(&["backup", &copy]);
    assert!(
        out.contains("integrity ok") && out.contains("history identical"),
        "{out}"
    );
    let mode = std::fs::metadata(env.path("copy.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the copy is readable by its owner only"
    );
    for args in [
        vec!["history", "HA-000001", "--json"],
        vec!["history", "HA-000002", "--json"],
        vec!["user", "list"],
        vec!["token", "list"],
        vec!["catalogue", "versions"],
    ] {
        assert_eq!(
            on(&env, &copy, &args),
            env.ok(&args),
            "`cairn {}` answers the same on the copy",
            args.join(" ")
        );
    }
    env.ok(&["export", "-o", &env.p("store.geojson")]);
    on(&env, &copy, &["export", "-o", &env.p("copy.geojson")]);
    let read = |name: &str| -> Value {
        let mut v: Value = serde_json::from_slice(&std::fs::read(env.path(name)).unwrap()).unwrap();
        // The export's own metadata names the time it was made.
        v.as_object_mut().unwrap().remove("cairn");
        v
    };
    assert_eq!(read("copy.geojson"), read("store.geojson"));
}

#[test]
fn a_backup_never_overwrites_and_a_postgres_store_is_pointed_to_pg_dump() {
    let env = world();
    std::fs::write(env.path("taken.db"), b"someone's file").unwrap();
    let err = env.bad(&["backup", &env.p("taken.db")]);
    assert!(err.contains("taken.db") && err.contains("exists"), "{err}");
    assert_eq!(
        std::fs::read(env.path("taken.db")).unwrap(),
        b"someone's file",
        "the existing file is untouched"
    );
    let err = on_store(
        "postgres://cairn:s3cret-pw@db.example/cairn",
        &["backup", &env.p("pg.db")],
        false,
    );
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!err.contains("s3cret-pw"), "no password in messages: {err}");
    assert!(!env.path("pg.db").exists());
}

#[test]
fn a_backup_taken_while_the_service_writes_is_consistent() {
    let env = world();
    let server = Server::start(&env.path("store.db"), None);
    let token = env
        .ok(&["token", "create", "--user", "Olena"])
        .trim()
        .to_string();
    let addr = server.addr.clone();
    let writer = std::thread::spawn(move || {
        let mut created = 0;
        for i in 0..40 {
            let lon = 30.0 + f64::from(i) * 0.02;
            let f = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[lon, 48.0], [lon + 0.01, 48.0], [lon + 0.01, 48.01], [lon, 48.01], [lon, 48.0]]]},
                "properties": {"status": "suspected", "classification": "public",
                    "evidence": {"kind": "indirect", "description": "reported by a shepherd"}}});
            let (status, body) = http(
                &addr,
                "POST",
                "/ogc/collections/hazardous-areas/items",
                Some(&token),
                &f.to_string(),
            );
            assert_eq!(status, 201, "{body}");
            created += 1;
        }
        created
    });
    std::thread::sleep(std::time::Duration::from_millis(50));
    let out = env.ok(&["backup", &env.p("online.db")]);
    assert!(out.contains("integrity ok"), "{out}");
    assert_eq!(writer.join().unwrap(), 40);
    // The copy is one consistent moment: its areas are the two imported and a prefix of the
    // service's creations, and every one of them has its whole history.
    let listed = on(
        &env,
        &env.p("online.db"),
        &["export", "-o", &env.p("online.geojson")],
    );
    assert!(!listed.is_empty());
    let v: Value =
        serde_json::from_slice(&std::fs::read(env.path("online.geojson")).unwrap()).unwrap();
    let n = v["features"].as_array().unwrap().len();
    assert!((2..=42).contains(&n), "{n} areas in the copy");
    let ids: Vec<&str> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = (1..=n).map(|i| format!("HA-{i:06}")).collect();
    expected.sort();
    let mut got: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    got.sort();
    assert_eq!(got, expected, "the copy holds a prefix of the writes");
}
