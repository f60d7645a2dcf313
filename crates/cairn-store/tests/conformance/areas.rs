//! Areas through `Store` and `Writer`: revisions, history and past states, the one door
//! (`write_area`), the change feed, and other connections (`Backend::reopen`).

use cairn_core::command::{Actor, Command, RefusalKind, Role};
use cairn_store::{Op, PutOutcome, WriteError};

use super::*;

/// `begin`, `put_area`, `area_exists`, `new_area_id`, `commit`, `get_area` (now and as of),
/// `for_each_area`, `history`, `stats`, `content_digest`, `integrity_check`.
pub fn areas_are_versioned_attributed_and_readable_in_the_past(store: &mut dyn Backend) {
    // An empty store.
    assert_eq!(store.stats().unwrap().areas, 0);
    assert!(store.get_area("HA-1", None).unwrap().is_none());
    assert!(store.history("HA-1").unwrap().is_empty());
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let empty = store.content_digest().unwrap();

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
    assert!(!tx.area_exists("HA-3").unwrap());
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
    assert_eq!(
        (
            got.revision.changeset,
            got.revision.reason.as_str(),
            got.revision.command.as_deref()
        ),
        (s1.changeset, "first survey", None),
        "put_area writes no command"
    );
    let t1 = got.revision.recorded_at;
    let d1 = store.content_digest().unwrap();
    assert_ne!(d1, empty);

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
    assert_eq!(store.content_digest().unwrap(), d1);

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
    assert_eq!((s2.created, s2.updated, s2.unchanged), (0, 1, 1));
    assert_ne!(store.content_digest().unwrap(), d1);
    let now = store.get_area("HA-1", None).unwrap().unwrap();
    assert_eq!(
        (now.revision.seq, now.revision.op, now.area.props.status),
        (2, Op::Update, Status::Confirmed)
    );
    assert!(now.revision.recorded_at > t1);
    assert!(now.revision.rev > got.revision.rev);

    // History and past states.
    let h = store.history("HA-1").unwrap();
    assert_eq!(
        h.iter()
            .map(|r| r.revision.reason.as_str())
            .collect::<Vec<_>>(),
        ["first survey", "confirmed by TS"]
    );
    assert_eq!(h[1], now);
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
    assert!(!tx.area_exists(&a).unwrap());
    tx.commit().unwrap();
    let stats = store.stats().unwrap();
    // Three changesets of areas, and the one that recorded the shipped device catalogue.
    assert_eq!((stats.areas, stats.revisions, stats.changesets), (3, 4, 4));
    assert_eq!(
        stats.last_recorded_at,
        Some(store.history("HA-000007").unwrap()[0].revision.recorded_at)
    );
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// The rule a write was refused by, and how.
fn refused(r: Result<PutOutcome, WriteError>) -> (&'static str, RefusalKind) {
    match r {
        Err(WriteError::Refused(r)) => (r.rule, r.kind),
        other => panic!("not refused: {other:?}"),
    }
}

/// `write_area` and `current_area`: the domain's rules under the transaction's lock, the command
/// in the revision, and nothing of a refused write.
pub fn write_area_checks_the_rules_records_the_command_and_a_refusal_writes_nothing(
    s: &mut dyn Backend,
) {
    let admin = Actor::ADMIN;
    let officer = Actor {
        role: Role::Officer,
        organisation: None,
    };
    let field = Actor {
        role: Role::Field,
        organisation: Some("Operator A"),
    };
    let mut w = s.begin(meta("ana", "national data")).unwrap();
    assert_eq!(
        w.write_area(
            Command::Migrate,
            admin,
            &area("HA-1", Status::Suspected, 30.0)
        )
        .unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        w.write_area(
            Command::Create,
            admin,
            &area("HA-2", Status::Reported, 31.0)
        )
        .unwrap(),
        PutOutcome::Created
    );
    // Refused new records: confirmed without direct evidence, an id in the zones' namespace.
    assert_eq!(
        refused(w.write_area(
            Command::Create,
            admin,
            &area("HA-3", Status::Confirmed, 32.0)
        )),
        ("confirmed-needs-direct-evidence", RefusalKind::Invalid)
    );
    assert_eq!(
        refused(w.write_area(
            Command::Create,
            admin,
            &area("zone-1", Status::Reported, 33.0)
        )),
        ("id-namespace", RefusalKind::Invalid)
    );
    assert!(w.current_area("HA-3").unwrap().is_none());
    assert!(!w.area_exists("zone-1").unwrap());
    assert!(w.area_exists("HA-1").unwrap());
    // A record put earlier in the same transaction is the one a later write is checked against:
    // no second creation, no weakening edit.
    assert_eq!(
        w.current_area("HA-1").unwrap().map(|a| a.area.props.status),
        Some(Status::Suspected)
    );
    assert_eq!(
        refused(w.write_area(
            Command::Create,
            admin,
            &area("HA-1", Status::Suspected, 30.0)
        )),
        ("id-exists", RefusalKind::Conflict)
    );
    assert_eq!(
        refused(w.write_area(
            Command::Edit,
            officer,
            &area("HA-1", Status::Reported, 30.0)
        )),
        ("weakening-needs-correction", RefusalKind::Conflict)
    );
    let c1 = w.commit().unwrap();
    assert_eq!((c1.created, c1.updated), (2, 0));
    let commands = |s: &dyn Backend, id: &str| -> Vec<Option<String>> {
        s.history(id)
            .unwrap()
            .into_iter()
            .map(|r| r.revision.command)
            .collect()
    };
    assert_eq!(commands(s, "HA-1"), [Some("migrate".to_string())]);
    assert_eq!(commands(s, "HA-2"), [Some("create".to_string())]);
    assert!(s.get_area("HA-3", None).unwrap().is_none());

    // Every refusal leaves the record as it was, in the transaction and after it.
    let digest = s.content_digest().unwrap();
    let head = s.last_change().unwrap();
    let mut weaker = area("HA-2", Status::Reported, 31.0);
    weaker.props.classification = Classification::Restricted;
    let mut w = s.begin(meta("bo", "all refused")).unwrap();
    for (command, actor, a, expected) in [
        (
            Command::Create,
            admin,
            area("HA-1", Status::Suspected, 30.0),
            ("id-exists", RefusalKind::Conflict),
        ),
        (
            Command::Edit,
            admin,
            area("HA-1", Status::Reported, 30.0),
            ("weakening-needs-correction", RefusalKind::Conflict),
        ),
        (
            // An import over an existing record is checked as an edit.
            Command::Migrate,
            admin,
            area("HA-1", Status::Reported, 30.0),
            ("weakening-needs-correction", RefusalKind::Conflict),
        ),
        (
            Command::Edit,
            admin,
            weaker.clone(),
            ("weakening-needs-correction", RefusalKind::Conflict),
        ),
        (
            Command::Edit,
            admin,
            area("HA-2", Status::Cleared, 31.0),
            ("release-by-activity", RefusalKind::Conflict),
        ),
        (
            Command::Edit,
            field,
            area("HA-2", Status::Suspected, 31.0),
            ("field-organisation", RefusalKind::Forbidden),
        ),
        (
            Command::Correct,
            field,
            weaker.clone(),
            ("correction-by-officer", RefusalKind::Forbidden),
        ),
    ] {
        let id = a.id.clone();
        let was = w.current_area(&id).unwrap().unwrap();
        assert_eq!(
            refused(w.write_area(command, actor, &a)),
            expected,
            "{command:?} {id}"
        );
        assert_eq!(w.current_area(&id).unwrap().unwrap(), was);
    }
    let c2 = w.commit().unwrap();
    assert_eq!((c2.changeset, c2.created, c2.updated), (0, 0, 0));
    assert_eq!(s.content_digest().unwrap(), digest);
    assert_eq!(s.last_change().unwrap(), head);
    assert_eq!(s.history("HA-1").unwrap().len(), 1);
    assert_eq!(s.history("HA-2").unwrap().len(), 1);

    // Allowed changes, each with its command: an import over a record (an edit), an officer's
    // correction that weakens; an identical write is unchanged.
    let mut renamed = area("HA-1", Status::Suspected, 30.0);
    renamed.props.name = Some("north field".into());
    let mut w = s.begin(meta("olena", "corrections")).unwrap();
    assert_eq!(
        w.write_area(Command::Migrate, admin, &renamed).unwrap(),
        PutOutcome::Updated
    );
    assert_eq!(
        w.write_area(Command::Correct, officer, &weaker).unwrap(),
        PutOutcome::Updated
    );
    assert_eq!(
        w.write_area(Command::Edit, officer, &weaker).unwrap(),
        PutOutcome::Unchanged
    );
    let c3 = w.commit().unwrap();
    assert_eq!((c3.created, c3.updated, c3.unchanged), (0, 2, 1));
    assert_eq!(
        commands(s, "HA-1"),
        [Some("migrate".to_string()), Some("edit".to_string())]
    );
    assert_eq!(
        commands(s, "HA-2"),
        [Some("create".to_string()), Some("correct".to_string())]
    );
    let now = s.get_area("HA-2", None).unwrap().unwrap();
    assert_eq!(now.area, weaker);
    assert_eq!(
        (now.revision.author.as_str(), now.revision.changeset),
        ("olena", c3.changeset)
    );
}

/// `last_change` and `changed_areas`.
pub fn the_change_feed_counts_committed_changesets_and_lists_their_areas(s: &mut dyn Backend) {
    let h0 = s.last_change().unwrap();
    // The shipped catalogue's changeset wrote no area.
    assert!(s.changed_areas(0, h0).unwrap().is_empty());

    let c1 = put(
        s,
        "a",
        &[
            area("HA-3", Status::Suspected, 32.0),
            area("HA-1", Status::Suspected, 30.0),
        ],
    );
    let h1 = s.last_change().unwrap();
    assert!(h1 > h0);
    assert_eq!(c1.changeset, h1);

    // A rolled-back transaction, an empty one and one that changes nothing move nothing.
    {
        let mut w = s.begin(meta("a", "dropped")).unwrap();
        w.put_area(&area("HA-9", Status::Suspected, 39.0)).unwrap();
    }
    assert_eq!(s.last_change().unwrap(), h1);
    let empty = s.begin(meta("a", "nothing")).unwrap().commit().unwrap();
    assert_eq!((empty.changeset, empty.created, empty.updated), (0, 0, 0));
    assert_eq!(s.last_change().unwrap(), h1);
    let same = put(s, "a", &[area("HA-1", Status::Suspected, 30.0)]);
    assert_eq!((same.changeset, same.unchanged), (0, 1));
    assert_eq!(s.last_change().unwrap(), h1);
    assert_eq!(s.stats().unwrap().changesets, 2);

    // HA-1 twice in one changeset, and again in the next: listed once.
    let mut w = s.begin(meta("b", "two writes")).unwrap();
    w.put_area(&area("HA-2", Status::Suspected, 31.0)).unwrap();
    w.put_area(&area("HA-1", Status::Confirmed, 30.0)).unwrap();
    w.put_area(&area("HA-1", Status::Reported, 30.0)).unwrap();
    let c2 = w.commit().unwrap();
    let h2 = s.last_change().unwrap();
    assert!(h2 > h1);
    assert_eq!(c2.changeset, h2);
    put(s, "c", &[area("HA-4", Status::Suspected, 34.0)]);
    let h3 = s.last_change().unwrap();
    assert!(h3 > h2);
    // A changeset of other records counts, and lists no area.
    let zs = s
        .put_zones(&[records::zone("Z-a", 36.0)], meta("d", "zones"))
        .unwrap();
    let h4 = s.last_change().unwrap();
    assert!(h4 > h3);
    assert_eq!(zs.changeset, h4);

    let ids = |after, upto| s.changed_areas(after, upto).unwrap();
    assert_eq!(ids(h0, h1), ["HA-1", "HA-3"]);
    assert_eq!(ids(h1, h2), ["HA-1", "HA-2"]);
    assert_eq!(ids(h0, h2), ["HA-1", "HA-2", "HA-3"]);
    assert_eq!(ids(h1, h3), ["HA-1", "HA-2", "HA-4"]);
    assert_eq!(ids(h2, h4), ["HA-4"]);
    assert_eq!(ids(h0, h4), ["HA-1", "HA-2", "HA-3", "HA-4"]);
    assert!(ids(h3, h4).is_empty());
    assert!(ids(h4, h4).is_empty());
    assert_eq!(s.history("HA-1").unwrap().len(), 3);

    // A reader on another connection sees the same feed.
    let reader = s.reopen(true).unwrap();
    assert_eq!(reader.last_change().unwrap(), h4);
    assert_eq!(
        reader.changed_areas(h1, h3).unwrap(),
        ["HA-1", "HA-2", "HA-4"]
    );
}

/// `Backend::reopen`, read-only and for writing.
pub fn a_reopened_connection_sees_commits_and_read_only_refuses_writes(s: &mut dyn Backend) {
    put(s, "a", &[area("HA-1", Status::Suspected, 30.0)]);
    let reader = s.reopen(true).unwrap();
    assert_eq!(
        reader.get_area("HA-1", None).unwrap().unwrap().area,
        area("HA-1", Status::Suspected, 30.0)
    );
    // Commits after the reopen are seen too.
    put(s, "a", &[area("HA-2", Status::Confirmed, 31.0)]);
    assert!(reader.get_area("HA-2", None).unwrap().is_some());
    assert_eq!(reader.last_change().unwrap(), s.last_change().unwrap());
    assert_eq!(reader.stats().unwrap(), s.stats().unwrap());
    assert_eq!(
        reader.content_digest().unwrap(),
        s.content_digest().unwrap()
    );
    assert_eq!(reader.integrity_check().unwrap(), "ok");

    // The read-only connection refuses every kind of write.
    let mut reader = reader;
    let digest = s.content_digest().unwrap();
    let wrote = reader.begin(meta("m", "read only")).and_then(|mut w| {
        w.put_area(&area("HA-3", Status::Suspected, 32.0))?;
        w.commit()
    });
    assert!(wrote.is_err(), "{wrote:?}");
    assert!(reader.add_organisation("Operator A").is_err());
    assert!(
        reader
            .add_reports(&[reports::report("a mine", None)])
            .is_err()
    );
    assert!(
        reader
            .put_zones(&[records::zone("Z-a", 36.0)], meta("m", "zones"))
            .is_err()
    );
    assert!(s.get_area("HA-3", None).unwrap().is_none());
    assert!(s.list_organisations().unwrap().is_empty());
    assert!(s.zones().unwrap().is_empty());
    assert_eq!(s.content_digest().unwrap(), digest);

    // A writable connection's commits are seen by the first.
    let mut other = s.reopen(false).unwrap();
    put(&mut *other, "b", &[area("HA-4", Status::Suspected, 34.0)]);
    other.add_organisation("Operator A").unwrap();
    assert_eq!(
        s.get_area("HA-4", None).unwrap().unwrap().revision.author,
        "b"
    );
    assert_eq!(s.list_organisations().unwrap()[0].name, "Operator A");
    assert_eq!(reader.last_change().unwrap(), s.last_change().unwrap());
}

/// `territory`, `set_territory`: the default is Ukraine's; a territory set is kept with its
/// history, and `write_area` checks new positions against the one in force.
pub fn the_territory_is_kept_with_history_and_checked_by_write_area(s: &mut dyn Backend) {
    use cairn_core::territory::Territory;
    assert_eq!(s.territory().unwrap(), Territory::ukraine());
    let mut w = s.begin(meta("ana", "national data")).unwrap();
    let far = area("HA-1", Status::Suspected, 10.0);
    let Err(WriteError::Refused(r)) = w.write_area(Command::Migrate, Actor::ADMIN, &far) else {
        panic!("a position in Germany is refused")
    };
    assert_eq!((r.rule, r.field.as_str()), ("territory", "geometry"));
    drop(w);
    let last = s.last_change().unwrap();
    let elsewhere = Territory::new("Test square", square(5.0, 45.0, 15.0, 55.0)).unwrap();
    let sum = s
        .set_territory(&elsewhere, meta("bo", "a test territory"))
        .unwrap();
    assert_eq!(sum.changeset, last + 1);
    assert_eq!(*s.territory().unwrap(), elsewhere);
    let again = s
        .set_territory(&elsewhere, meta("bo", "the same again"))
        .unwrap();
    assert_eq!((again.changeset, s.last_change().unwrap()), (0, last + 1));
    let h = s.record_history("territory", "territory").unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].author, "bo");
    let mut w = s.begin(meta("ana", "national data")).unwrap();
    w.write_area(Command::Migrate, Actor::ADMIN, &far).unwrap();
    let Err(WriteError::Refused(r)) = w.write_area(
        Command::Migrate,
        Actor::ADMIN,
        &area("HA-2", Status::Suspected, 36.0),
    ) else {
        panic!("Ukraine is outside the test square")
    };
    assert!(r.message.contains("(Test square)"), "{}", r.message);
    w.commit().unwrap();
}
