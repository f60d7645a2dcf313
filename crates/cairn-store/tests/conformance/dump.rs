//! `Dump` across the backends at the store's level: an open `PgStore` restored from a SQLite
//! store and a SQLite store from it give the same digest, the restored store goes on numbering
//! after the restored rows, and a store holding records refuses a restore and keeps them. Not a
//! case of `suite!` (it needs both backends at once), but on the suite's PostgreSQL setup. The
//! command line's migration is tested in `crates/cairn/tests/migrate_pg.rs`.

use cairn_store::StoreError;
use cairn_store::dump::{Digest, Dump};

use super::*;

#[test]
fn an_open_postgres_store_restores_from_sqlite_and_back_and_refuses_when_it_holds_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open(&dir.path().join("a.db"), OpenMode::Create).unwrap();
    for (i, id) in ["HA-000001", "HA-000002"].iter().enumerate() {
        let mut tx = sqlite.begin(meta("test", "survey")).unwrap();
        tx.put_area(&area(id, Status::Suspected, 30.0 + i as f64))
            .unwrap();
        tx.commit().unwrap();
    }
    let mut tx = sqlite.begin(meta("test", "resurvey")).unwrap();
    let a = area("HA-000001", Status::Confirmed, 30.0);
    tx.put_area(&a).unwrap();
    tx.commit().unwrap();
    sqlite.add_organisation("Operator A").unwrap();
    sqlite
        .add_user("Olena", "officer", Some("Operator A"))
        .unwrap();
    sqlite.create_user_token("Olena", None).unwrap();
    let want = Digest::of(&sqlite).unwrap();

    let url = fresh_database();
    let mut pg = PgStore::open(&url, OpenMode::Create).unwrap();
    assert_eq!(pg.restore_from(&sqlite).unwrap(), want);
    assert_eq!(Digest::of(&pg).unwrap(), want, "read back after the commit");

    let mut back = SqliteStore::open(&dir.path().join("b.db"), OpenMode::Create).unwrap();
    assert_eq!(back.restore_from(&pg).unwrap(), want);
    assert_eq!(Digest::of(&back).unwrap(), want);

    // Writes go on after the restored ones.
    let last = pg.last_change().unwrap();
    let mut tx = pg.begin(meta("test", "after")).unwrap();
    tx.put_area(&area("HA-000003", Status::Suspected, 33.0))
        .unwrap();
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
    drop_scratch();
}
