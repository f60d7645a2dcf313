//! `Dump` across the backends at the store's level: an open `PgStore` restored from a SQLite
//! store and a SQLite store from it give the same digest, the restored store goes on numbering
//! after the restored rows, and a store holding records refuses a restore and keeps them.
//! PostgreSQL is the cluster of `CAIRN_TEST_PG` (never skipped: without it the test fails saying
//! how to get one). The command line's migration is tested in `crates/cairn/tests/migrate_pg.rs`.

use cairn_core::{AreaProperties, Classification, HazardArea, Shape, Status};
use cairn_store::dump::{Digest, Dump};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, PgStore, SqliteStore, StoreError};
use geo_types::polygon;

/// A new database with PostGIS in the test cluster; its URL and its name.
fn fresh_database() -> (String, String) {
    let admin = match std::env::var("CAIRN_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "CAIRN_TEST_PG is not set: the PostgreSQL tests need a cluster. Run them through \
             scripts/test (which starts a throwaway one), or start one with \
             `scripts/pg-cluster start DIR` and set CAIRN_TEST_PG=$(cat DIR/url)"
        ),
    };
    let name = format!("cairn_dump_{}", std::process::id());
    let mut c = ::postgres::Client::connect(&admin, ::postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the test cluster at CAIRN_TEST_PG: {e}"));
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    (format!("{base}/{name}"), name)
}

fn meta(reason: &str) -> ChangeMeta {
    ChangeMeta {
        author: "test".into(),
        reason: reason.into(),
        source: None,
    }
}

fn area(id: &str, x: f64) -> HazardArea {
    HazardArea {
        id: id.into(),
        shape: Shape::Polygon(
            polygon![(x: x, y: 49.0), (x: x + 0.1, y: 49.0), (x: x + 0.1, y: 49.1), (x: x, y: 49.0)],
        ),
        props: AreaProperties {
            name: Some(format!("area {id}")),
            status: Status::Suspected,
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

#[test]
fn an_open_postgres_store_restores_from_sqlite_and_back_and_refuses_when_it_holds_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("a.db"), OpenMode::Create).unwrap();
    for (i, id) in ["HA-000001", "HA-000002"].iter().enumerate() {
        let mut tx = sqlite.begin(meta("survey")).unwrap();
        tx.put_area(&area(id, 30.0 + i as f64)).unwrap();
        tx.commit().unwrap();
    }
    let mut tx = sqlite.begin(meta("resurvey")).unwrap();
    let mut a = area("HA-000001", 30.0);
    a.props.status = Status::Confirmed;
    tx.put_area(&a).unwrap();
    tx.commit().unwrap();
    sqlite.add_organisation("Operator A").unwrap();
    sqlite
        .add_user("Olena", "officer", Some("Operator A"))
        .unwrap();
    sqlite.create_user_token("Olena", None).unwrap();
    let want = Digest::of(&sqlite).unwrap();

    let (url, name) = fresh_database();
    let mut pg = PgStore::open(&url, OpenMode::Create).unwrap();
    assert_eq!(pg.restore_from(&sqlite).unwrap(), want);
    assert_eq!(Digest::of(&pg).unwrap(), want, "read back after the commit");

    let mut back = SqliteStore::open(&dir.path().join("b.db"), OpenMode::Create).unwrap();
    assert_eq!(back.restore_from(&pg).unwrap(), want);
    assert_eq!(Digest::of(&back).unwrap(), want);

    // Writes go on after the restored ones.
    let last = pg.last_change().unwrap();
    let mut tx = pg.begin(meta("after")).unwrap();
    tx.put_area(&area("HA-000003", 33.0)).unwrap();
    assert_eq!(tx.commit().unwrap().changeset, last + 1);
    pg.add_user("Petro", "auditor", None).unwrap();
    pg.create_user_token("Petro", None).unwrap();

    // Holding records, it refuses, and keeps them.
    let held = Digest::of(&pg).unwrap();
    match pg.restore_from(&sqlite) {
        Err(StoreError::Open { message, .. }) => {
            assert!(message.contains("already holds records"), "{message}")
        }
        other => panic!("a restore into a store holding records: {other:?}"),
    }
    assert_eq!(Digest::of(&pg).unwrap(), held);

    drop(pg);
    let admin = std::env::var("CAIRN_TEST_PG").unwrap();
    let mut c = ::postgres::Client::connect(&admin, ::postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}
