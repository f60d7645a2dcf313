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

/// `cairn migrate` of the demo store (a year of history: releases, finds, zones, reports, users)
/// to a new store and back: the same rows (the SHA-256 of both dumps is printed and equal), the
/// same exports at several past times, the same history, and the append-only rules still hold.
#[test]
fn a_migration_there_and_back_keeps_the_whole_history() {
    let env = Env::new();
    let demo = env.p("demo.db");
    on_store(&demo, &["demo", "--areas", "300", "--no-serve"], true);
    let (there, back) = (env.p("there.db"), env.p("back.db"));
    let sha = |out: &str| -> String {
        let v: Value = serde_json::from_str(out).expect("json");
        assert!(v["counts"]["revisions"].as_u64().unwrap() > 300, "{v}");
        v["sha256"].as_str().unwrap().to_string()
    };
    let first = sha(&on_store(
        "",
        &[
            "migrate",
            "--from",
            &demo,
            "--to",
            &format!("sqlite:{there}"),
            "--json",
        ],
        true,
    ));
    let second = sha(&on_store(
        "",
        &["migrate", "--from", &there, "--to", &back, "--json"],
        true,
    ));
    assert_eq!(first, second, "the same rows there and back");
    let year_ago = (chrono::Utc::now() - chrono::Duration::days(300))
        .format("%Y-%m-%d")
        .to_string();
    let month_ago = (chrono::Utc::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    for as_of in [None, Some(year_ago.as_str()), Some(month_ago.as_str())] {
        let export = |db: &str, name: &str| -> Value {
            let out = env.p(name);
            let mut args = vec!["export", "-o", out.as_str()];
            if let Some(t) = as_of {
                args.extend(["--as-of", t]);
            }
            on_store(db, &args, true);
            let mut v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
            v.as_object_mut().unwrap().remove("cairn");
            v
        };
        assert_eq!(
            export(&back, "back.geojson"),
            export(&demo, "demo.geojson"),
            "the same export as of {as_of:?}"
        );
    }
    for args in [
        vec!["history", "HA-000001", "--json"],
        vec!["history", "HA-000150", "--json"],
        vec!["reports", "list"],
        vec!["user", "list"],
        vec!["catalogue", "versions"],
        vec!["zone", "list"],
    ] {
        assert_eq!(
            on_store(&back, &args, true),
            on_store(&demo, &args, true),
            "`cairn {}` answers the same after the round trip",
            args.join(" ")
        );
    }
    // History stays append-only in the new store.
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE revisions SET props = '{}' WHERE rev = 1\")",
            &back,
        ])
        .output()
        .expect("python3");
    assert!(
        !py.status.success() && String::from_utf8_lossy(&py.stderr).contains("append-only"),
        "revisions refuse an update after the migration: {py:?}"
    );
}

#[test]
fn a_migration_writes_only_a_new_store_and_leaves_nothing_half_made() {
    let env = world();
    let store = env.p("store.db");
    std::fs::write(env.path("taken.db"), b"someone's file").unwrap();
    let err = on_store(
        "",
        &["migrate", "--from", &store, "--to", &env.p("taken.db")],
        false,
    );
    assert!(err.contains("--to") && err.contains("exists"), "{err}");
    assert_eq!(
        std::fs::read(env.path("taken.db")).unwrap(),
        b"someone's file"
    );
    let err = on_store(
        "",
        &[
            "migrate",
            "--from",
            &env.p("missing.db"),
            "--to",
            &env.p("new.db"),
        ],
        false,
    );
    assert!(
        err.contains("--from") && err.contains("missing.db"),
        "{err}"
    );
    assert!(
        !env.path("new.db").exists(),
        "nothing made for a bad source"
    );
    let err = on_store(
        "",
        &[
            "migrate",
            "--from",
            &store,
            "--to",
            "postgres://cairn:s3cret-pw@127.0.0.1:1/cairn",
        ],
        false,
    );
    assert!(
        err.contains("--to") && err.contains("cannot connect"),
        "{err}"
    );
    assert!(!err.contains("s3cret-pw"), "no password in messages: {err}");
}

/// An export to a pipe or device is written through it (renaming a file over it would replace
/// the device: `-o /dev/null` once turned /dev/null into a file); a full export, holding
/// restricted records, is readable by its owner only, a public one as usual.
#[test]
fn exports_write_through_pipes_and_full_exports_are_private() {
    use std::os::unix::fs::FileTypeExt;
    let env = world();
    let fifo = env.path("pipe.geojson");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    env.ok(&["export", "-o", &env.p("pipe.geojson")]);
    let got: Value = serde_json::from_slice(&reader.join().unwrap()).unwrap();
    assert_eq!(got["features"].as_array().map(Vec::len), Some(2));
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the pipe is still a pipe"
    );
    env.ok(&["export", "-o", &env.p("full.geojson")]);
    let mode = |name: &str| {
        std::fs::metadata(env.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("full.geojson"), 0o600);
    env.ok(&["export", "--public", "-o", &env.p("public.geojson")]);
    assert_ne!(
        mode("public.geojson") & 0o044,
        0,
        "a public export is readable"
    );
}
