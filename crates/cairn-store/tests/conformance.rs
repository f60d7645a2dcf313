//! The store conformance suite: written once against the `Store` trait and run for every backend.

use cairn_core::{AreaProperties, Classification, HazardArea, Shape, Status};
use cairn_store::sqlite::OpenMode;
use cairn_store::{ChangeMeta, Op, PutOutcome, SqliteStore, Store, Writer};
use geo_types::polygon;

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

fn meta(author: &str, reason: &str) -> ChangeMeta {
    ChangeMeta {
        author: author.into(),
        reason: reason.into(),
        source: None,
    }
}

/// Every backend must pass this.
fn conformance<S: Store>(store: &mut S) {
    // An empty store.
    assert_eq!(store.stats().unwrap().areas, 0);
    assert!(store.get_area("HA-1", None).unwrap().is_none());

    // A create, visible after commit, attributed.
    let mut tx = store.begin(meta("alice", "first survey")).unwrap();
    assert_eq!(
        tx.put_area(&area("HA-1", Status::Suspected, 30.0)).unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        tx.put_area(&area("HA-2", Status::Suspected, 31.0)).unwrap(),
        PutOutcome::Created
    );
    assert!(tx.area_exists("HA-1").unwrap());
    let s1 = tx.commit().unwrap();
    assert_eq!((s1.created, s1.updated), (2, 0));
    let got = store.get_area("HA-1", None).unwrap().unwrap();
    assert_eq!(got.area, area("HA-1", Status::Suspected, 30.0));
    assert_eq!(
        (
            got.revision.seq,
            got.revision.op,
            got.revision.author.as_str()
        ),
        (1, Op::Create, "alice")
    );
    let t1 = got.revision.recorded_at;

    // A rolled-back change leaves nothing behind.
    {
        let mut tx = store.begin(meta("mallory", "never committed")).unwrap();
        tx.put_area(&area("HA-1", Status::Closed, 30.0)).unwrap();
        tx.put_area(&area("HA-3", Status::Closed, 32.0)).unwrap();
    }
    assert_eq!(
        store
            .get_area("HA-1", None)
            .unwrap()
            .unwrap()
            .area
            .props
            .status,
        Status::Suspected
    );
    assert!(store.get_area("HA-3", None).unwrap().is_none());

    // An update adds a revision; an identical put adds none.
    let mut tx = store.begin(meta("bob", "confirmed by TS")).unwrap();
    assert_eq!(
        tx.put_area(&area("HA-1", Status::Confirmed, 30.0)).unwrap(),
        PutOutcome::Updated
    );
    assert_eq!(
        tx.put_area(&area("HA-2", Status::Suspected, 31.0)).unwrap(),
        PutOutcome::Unchanged
    );
    let s2 = tx.commit().unwrap();
    assert!(s2.changeset > s1.changeset);
    let now = store.get_area("HA-1", None).unwrap().unwrap();
    assert_eq!(
        (now.revision.seq, now.revision.op, now.area.props.status),
        (2, Op::Update, Status::Confirmed)
    );
    assert!(now.revision.recorded_at > t1);

    // History and past states.
    let h = store.history("HA-1").unwrap();
    assert_eq!(
        h.iter()
            .map(|r| r.revision.reason.as_str())
            .collect::<Vec<_>>(),
        ["first survey", "confirmed by TS"]
    );
    assert_eq!(
        store
            .get_area("HA-1", Some(t1))
            .unwrap()
            .unwrap()
            .area
            .props
            .status,
        Status::Suspected
    );
    let before = t1 - chrono::Duration::microseconds(1);
    assert!(store.get_area("HA-1", Some(before)).unwrap().is_none());
    let mut past = Vec::new();
    assert_eq!(
        store
            .for_each_area(Some(t1), &mut |s| {
                past.push(s.area);
                Ok(())
            })
            .unwrap(),
        2
    );
    assert_eq!(
        past,
        vec![
            area("HA-1", Status::Suspected, 30.0),
            area("HA-2", Status::Suspected, 31.0)
        ]
    );
    let mut current = Vec::new();
    store
        .for_each_area(None, &mut |s| {
            current.push(s.area.props.status);
            Ok(())
        })
        .unwrap();
    assert_eq!(current, vec![Status::Confirmed, Status::Suspected]);
    assert_eq!(
        store.for_each_area(Some(before), &mut |_| Ok(())).unwrap(),
        0
    );

    // Fresh ids skip every id in use, including ones given in this transaction.
    let mut tx = store.begin(meta("carol", "new areas")).unwrap();
    tx.put_area(&area("HA-000007", Status::Reported, 33.0))
        .unwrap();
    let a = tx.new_area_id().unwrap();
    let b = tx.new_area_id().unwrap();
    assert_ne!(a, b);
    assert_eq!(a, "HA-000008");
    tx.commit().unwrap();
    let stats = store.stats().unwrap();
    // Three changesets of areas, and the one that recorded the shipped device catalogue.
    assert_eq!((stats.areas, stats.revisions, stats.changesets), (3, 4, 4));
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::open(&dir.path().join("c.db"), OpenMode::Create).unwrap();
    conformance(&mut s);
}

#[test]
fn sqlite_store_persists_and_refuses_foreign_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    {
        let mut s = SqliteStore::open(&path, OpenMode::Create).unwrap();
        let mut tx = s.begin(meta("a", "b")).unwrap();
        tx.put_area(&area("HA-9", Status::Confirmed, 35.0)).unwrap();
        tx.commit().unwrap();
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
fn revisions_cannot_be_rewritten_even_with_raw_sql() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    {
        let mut s = SqliteStore::open(&path, OpenMode::Create).unwrap();
        let mut tx = s.begin(meta("a", "b")).unwrap();
        tx.put_area(&area("HA-1", Status::Confirmed, 35.0)).unwrap();
        tx.commit().unwrap();
    }
    let c = rusqlite::Connection::open(&path).unwrap();
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
