//! Reports from the public and their triage (`ReportStore`).

use cairn_core::WireEnum;
use cairn_core::report::{
    PhotoType, ReportCategory, ReportFacts, ReportState, parse_reference, reported_area,
};
use cairn_store::sqlite::reports::{Decision, NewReport, PhotoInfo, TriageError};

use super::*;

/// A report of a mine at a fixed place, 120 m accurate.
pub fn report(description: &str, photo: Option<Vec<u8>>) -> NewReport {
    NewReport {
        lon: 36.2,
        lat: 49.9,
        accuracy_m: Some(120.0),
        category: ReportCategory::Mine,
        description: description.into(),
        seen_at: Some(at("2026-05-01T10:00:00Z")),
        photo: photo.map(|b| (PhotoType::Png, b)),
    }
}

/// Every `ReportStore` method.
pub fn reports_are_stored_listed_and_triaged_once(s: &mut dyn Backend) {
    assert!(s.add_reports(&[]).unwrap().is_empty());
    let png = b"\x89PNG\r\n\x1a\nnot really an image".to_vec();
    let batch = [
        report("a round thing by the path", Some(png.clone())),
        report("wires in the grass", None),
        report("an old shell", None),
        report("a mine near the well", None),
    ];
    let receipts = s.add_reports(&batch).unwrap();
    assert_eq!(receipts.len(), 4);
    let refs: Vec<String> = receipts.iter().map(|r| r.reference.clone()).collect();
    for r in &refs {
        assert_eq!(parse_reference(r).as_ref(), Ok(r), "a canonical reference");
    }
    let distinct: std::collections::BTreeSet<&String> = refs.iter().collect();
    assert_eq!(distinct.len(), 4);

    // As stored, without the photo's bytes; the photo on its own.
    let got = s.get_report(&refs[0]).unwrap().unwrap();
    assert_eq!(
        (got.reference.as_str(), got.state.as_str(), got.received_at),
        (refs[0].as_str(), "new", receipts[0].received_at)
    );
    assert_eq!(
        (got.lon, got.lat, got.accuracy_m, got.category.as_str()),
        (36.2, 49.9, Some(120.0), "mine")
    );
    assert_eq!(
        (got.description.as_str(), got.seen_at),
        (
            "a round thing by the path",
            Some(at("2026-05-01T10:00:00Z"))
        )
    );
    assert_eq!(
        got.photo,
        Some(PhotoInfo {
            media_type: "image/png".into(),
            bytes: png.len() as u64
        })
    );
    assert_eq!(got.triage, None);
    assert_eq!(
        s.report_photo(&refs[0]).unwrap(),
        Some(("image/png".to_string(), png))
    );
    assert_eq!(s.report_photo(&refs[1]).unwrap(), None);
    assert_eq!(s.get_report(&refs[1]).unwrap().unwrap().photo, None);
    assert!(s.get_report("R-2222-2222").unwrap().is_none());
    assert!(s.report_photo("R-2222-2222").unwrap().is_none());

    // Oldest first, paged, with the count of all.
    let listed = |s: &dyn Backend, state, limit, offset| {
        let (v, n) = s.list_reports(state, limit, offset).unwrap();
        (v.into_iter().map(|r| r.reference).collect::<Vec<_>>(), n)
    };
    assert_eq!(listed(s, None, 10, 0), (refs.clone(), 4));
    assert_eq!(listed(s, None, 2, 1), (refs[1..3].to_vec(), 4));
    assert_eq!(listed(s, None, 10, 4), (vec![], 4));
    assert_eq!(
        listed(s, Some(ReportState::New), 1, 0),
        (refs[..1].to_vec(), 4)
    );
    assert_eq!(listed(s, Some(ReportState::Opened), 10, 0), (vec![], 0));
    assert_eq!(
        s.report_counts().unwrap(),
        [("new", 4), ("linked", 0), ("opened", 0), ("dismissed", 0)]
    );

    // Decisions that cannot be taken write nothing.
    put(s, "fixture", &[area("HA-000001", Status::Suspected, 36.0)]);
    let head = s.last_change().unwrap();
    let link = |id: &str| Decision::Link { area_id: id.into() };
    assert!(matches!(
        s.triage_report(&refs[1], &link("HA-404"), "olena"),
        Err(TriageError::NoArea(a)) if a == "HA-404"
    ));
    assert!(matches!(
        s.triage_report("R-2222-2222", &Decision::Open, "olena"),
        Err(TriageError::NoReport(_))
    ));
    assert_eq!(s.get_report(&refs[1]).unwrap().unwrap().state, "new");

    // Link, dismiss and open.
    let linked = s
        .triage_report(&refs[1], &link("HA-000001"), "olena")
        .unwrap();
    assert_eq!(
        (
            linked.action.as_str(),
            linked.area_id.as_deref(),
            linked.by.as_str(),
            linked.changeset
        ),
        ("link", Some("HA-000001"), "olena", None)
    );
    let dismissed = s
        .triage_report(
            &refs[2],
            &Decision::Dismiss {
                reason: "a piece of pipe".into(),
            },
            "olena",
        )
        .unwrap();
    assert_eq!(
        (
            dismissed.action.as_str(),
            dismissed.area_id.as_deref(),
            dismissed.reason.as_deref()
        ),
        ("dismiss", None, Some("a piece of pipe"))
    );
    assert_eq!(
        s.last_change().unwrap(),
        head,
        "link and dismiss write no area"
    );
    let opened = s.triage_report(&refs[3], &Decision::Open, "petro").unwrap();
    let id = opened.area_id.clone().unwrap();
    assert_eq!(
        (opened.action.as_str(), id.as_str(), opened.by.as_str()),
        ("open", "HA-000002", "petro")
    );
    let c = opened.changeset.unwrap();
    assert_eq!(s.last_change().unwrap(), c);
    assert!(c > head);
    assert_eq!(s.changed_areas(head, c).unwrap(), std::slice::from_ref(&id));
    // The reported area, attributed to whoever decided, in the decision's changeset.
    let stored = s.get_area(&id, None).unwrap().unwrap();
    assert_eq!(
        stored.area,
        reported_area(
            id.clone(),
            &ReportFacts {
                reference: &refs[3],
                lon: 36.2,
                lat: 49.9,
                accuracy_m: Some(120.0),
                category: ReportCategory::Mine,
                description: "a mine near the well",
                received_at: receipts[3].received_at,
            }
        )
    );
    assert_eq!(
        (
            stored.revision.author.as_str(),
            stored.revision.changeset,
            stored.revision.command.as_deref()
        ),
        ("petro", c, Some("triage"))
    );
    assert!(stored.revision.reason.contains(&refs[3]));
    assert_eq!(
        s.get_report(&refs[3]).unwrap().unwrap().triage,
        Some(opened.clone())
    );

    // A decision is final: a second one is refused and writes nothing.
    let digest = s.content_digest().unwrap();
    for (r, first, second) in [
        (&refs[1], "link", Decision::Open),
        (&refs[2], "dismiss", link("HA-000001")),
        (&refs[3], "open", Decision::Open),
        (
            &refs[3],
            "open",
            Decision::Dismiss {
                reason: "changed my mind".into(),
            },
        ),
    ] {
        match s.triage_report(r, &second, "mallory") {
            Err(TriageError::AlreadyTriaged { reference, record }) => {
                assert_eq!(
                    (reference.as_str(), record.action.as_str()),
                    (r.as_str(), first)
                );
            }
            other => panic!("{r} {second:?}: {other:?}"),
        }
    }
    assert_eq!(s.content_digest().unwrap(), digest);
    assert_eq!(s.stats().unwrap().areas, 2);
    assert_eq!(
        s.get_report(&refs[1]).unwrap().unwrap().triage,
        Some(linked)
    );
    assert_eq!(
        s.get_report(&refs[2]).unwrap().unwrap().triage,
        Some(dismissed)
    );

    for (state, expected) in [
        (ReportState::New, 0),
        (ReportState::Linked, 1),
        (ReportState::Dismissed, 2),
        (ReportState::Opened, 3),
    ] {
        assert_eq!(
            listed(s, Some(state), 10, 0),
            (vec![refs[expected].clone()], 1)
        );
        assert_eq!(
            s.get_report(&refs[expected]).unwrap().unwrap().state,
            state.as_str()
        );
    }
    assert_eq!(listed(s, Some(ReportState::Linked), 10, 1), (vec![], 1));
    assert_eq!(
        s.report_counts().unwrap(),
        [("new", 1), ("linked", 1), ("opened", 1), ("dismissed", 1)]
    );
}
