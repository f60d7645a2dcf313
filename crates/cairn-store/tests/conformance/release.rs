//! Activities, land release, post-release finds and status changes (`ReleaseStore`), and what
//! reports over a period read (`PeriodStore`).

use cairn_core::Catalogue;
use cairn_core::release::{
    ActivityFacts, ActivityKind, DeviceAction, DeviceRecord, FIND_RADIUS_M, ReleaseMethod, area_m2,
    shape_polygons,
};
use cairn_core::transparency::{Edition, Period};
use cairn_store::sqlite::release::{FindRequest, NewActivity, ReleaseRequest};
use chrono::NaiveDate;
use geo_types::Point;

use super::*;

fn day(d: &str) -> NaiveDate {
    d.parse().unwrap()
}

/// An activity of `kind` on `area_id` over `geometry`, ended on 2 March 2026.
pub fn activity(kind: ActivityKind, area_id: &str, geometry: MultiPolygon<f64>) -> NewActivity {
    NewActivity {
        facts: ActivityFacts {
            kind,
            area_id: area_id.into(),
            organisation: "Operator A".into(),
            team: Some("Team 7".into()),
            started: day("2026-03-01"),
            ended: day("2026-03-02"),
            devices: vec![],
            outcome: Some("done".into()),
            participants: None,
        },
        geometry,
    }
}

fn release(
    area_id: &str,
    method: ReleaseMethod,
    activity_id: &str,
    g: MultiPolygon<f64>,
) -> ReleaseRequest {
    ReleaseRequest {
        area_id: area_id.into(),
        method,
        activity_id: activity_id.into(),
        geometry: g,
        reason: Some("surveyed".into()),
    }
}

fn find(release_id: &str, lon: f64, lat: f64, device_type: &str) -> FindRequest {
    FindRequest {
        release_id: release_id.into(),
        at: Point::new(lon, lat),
        device_type: device_type.into(),
        count: 2,
        depth_cm: Some(10.0),
        description: Some("under the path".into()),
    }
}

/// Every `ReleaseStore` method.
pub fn activities_releases_finds_and_status_changes_are_checked_and_attributed(
    s: &mut dyn Backend,
) {
    let c = Catalogue::builtin();
    let whole = square(30.0, 50.0, 30.01, 50.01);
    let north = square(30.0, 50.005, 30.01, 50.01);
    let south = square(30.0, 50.0, 30.01, 50.005);
    put(
        s,
        "fixture",
        &[
            land("HA-000001", 30.0),
            area("HA-000002", Status::Reported, 31.0),
        ],
    );

    // Activities: refused ones write nothing and use up no number.
    let digest = s.content_digest().unwrap();
    let mut bad = activity(ActivityKind::NonTechnicalSurvey, "HA-000001", whole.clone());
    bad.facts.started = day("2026-03-03");
    assert_eq!(
        refusal(s.add_activity(&bad, &c, "Team 7")),
        ("invalid", "started".into())
    );
    let nowhere = activity(ActivityKind::NonTechnicalSurvey, "HA-404", whole.clone());
    assert_eq!(
        refusal(s.add_activity(&nowhere, &c, "Team 7")),
        ("not found", "area_id".into())
    );
    assert_eq!(s.content_digest().unwrap(), digest);
    let nts = s
        .add_activity(
            &activity(ActivityKind::NonTechnicalSurvey, "HA-000001", whole.clone()),
            &c,
            "Team 7",
        )
        .unwrap();
    assert_eq!(nts.id, "ACT-000001");
    assert_eq!(nts.facts.area_id, "HA-000001");
    assert_eq!(s.get_activity("ACT-000001").unwrap(), Some(nts.clone()));
    assert!(s.get_activity("ACT-000404").unwrap().is_none());
    assert_eq!(
        s.activities_for_area("HA-000001").unwrap(),
        std::slice::from_ref(&nts)
    );
    assert!(s.activities_for_area("HA-000002").unwrap().is_empty());
    let h = s.record_history("activity", &nts.id).unwrap();
    assert_eq!((h.len(), h[0].author.as_str()), (1, "Team 7"));

    // A release the activity does not support writes nothing.
    let digest = s.content_digest().unwrap();
    for (req, expected) in [
        (
            release("HA-000001", ReleaseMethod::Clear, &nts.id, whole.clone()),
            ("refused", "activity_id"),
        ),
        (
            release(
                "HA-000001",
                ReleaseMethod::Cancel,
                "ACT-000404",
                whole.clone(),
            ),
            ("not found", "activity_id"),
        ),
        (
            release("HA-404", ReleaseMethod::Cancel, &nts.id, whole.clone()),
            ("not found", "area_id"),
        ),
        (
            release(
                "HA-000001",
                ReleaseMethod::Cancel,
                &nts.id,
                square(30.0, 50.0, 30.02, 50.01),
            ),
            ("refused", "geometry"),
        ),
    ] {
        assert_eq!(
            refusal(s.release_land(&req, "Olena")),
            (expected.0, expected.1.to_string())
        );
    }
    assert_eq!(s.content_digest().unwrap(), digest);
    assert!(s.releases_for_area("HA-000001").unwrap().is_empty());

    // A partial release: what remains keeps its status; one changeset, attributed.
    let first = s
        .release_land(
            &release("HA-000001", ReleaseMethod::Cancel, &nts.id, north.clone()),
            "Olena",
        )
        .unwrap();
    assert_eq!(first.release.id, "LR-000001");
    assert_eq!(first.changeset, s.last_change().unwrap());
    let f = &first.release.facts;
    assert_eq!(
        (
            f.area_id.as_str(),
            f.activity_id.as_str(),
            f.by.as_str(),
            f.status_before,
            f.status_after
        ),
        (
            "HA-000001",
            "ACT-000001",
            "Olena",
            Status::Suspected,
            Status::Suspected
        )
    );
    assert!(
        (f.released_m2 * 2.0 - f.before_m2).abs() < 0.01 * f.before_m2,
        "{f:?}"
    );
    assert!(
        (f.released_m2 + f.remaining_m2 - f.before_m2).abs() < 1.0,
        "{f:?}"
    );
    assert_eq!(first.area.props.status, Status::Suspected);
    let now = s.get_area("HA-000001", None).unwrap().unwrap();
    assert_eq!(now.area, first.area);
    assert_eq!(
        (
            now.revision.seq,
            now.revision.author.as_str(),
            now.revision.changeset,
            now.revision.command.as_deref()
        ),
        (2, "Olena", first.changeset, Some("release"))
    );
    assert!(now.revision.reason.contains("cancel") && now.revision.reason.contains("surveyed"));
    assert_eq!(
        s.get_release("LR-000001").unwrap(),
        Some(first.release.clone())
    );
    assert!(s.get_release("LR-000404").unwrap().is_none());

    // Releasing the rest closes the area: its outline is the land released over its life.
    let second = s
        .release_land(
            &release("HA-000001", ReleaseMethod::Cancel, &nts.id, south),
            "Olena",
        )
        .unwrap();
    assert_eq!(second.release.id, "LR-000002");
    assert_eq!(
        (
            second.release.facts.status_after,
            second.release.facts.remaining_m2
        ),
        (Status::Closed, 0.0)
    );
    let closed = s.get_area("HA-000001", None).unwrap().unwrap().area;
    assert_eq!(closed, second.area);
    assert_eq!(closed.props.status, Status::Closed);
    assert!((area_m2(&shape_polygons(&closed.shape)) - f.before_m2).abs() < 1.0);
    assert_eq!(
        s.releases_for_area("HA-000001").unwrap(),
        [first.release.clone(), second.release.clone()]
    );
    assert!(s.releases_for_area("HA-000002").unwrap().is_empty());
    assert_eq!(
        refusal(s.release_land(
            &release("HA-000001", ReleaseMethod::Cancel, &nts.id, north.clone()),
            "Olena"
        )),
        ("refused", "area_id".into())
    );

    // A post-release find opens a confirmed area around it; a bad one writes nothing.
    let digest = s.content_digest().unwrap();
    for (req, expected) in [
        (
            find("LR-000001", 31.0, 51.0, "ap-mine-persistent"),
            ("invalid", "lon"),
        ),
        (
            find("LR-000001", 30.005, 50.0075, "no-such-type"),
            ("invalid", "type"),
        ),
        (
            find("LR-000404", 30.005, 50.0075, "ap-mine-persistent"),
            ("not found", "release_id"),
        ),
    ] {
        assert_eq!(
            refusal(s.record_find(&req, &c, "Team 7")),
            (expected.0, expected.1.to_string())
        );
    }
    assert_eq!(s.content_digest().unwrap(), digest);
    let found = s
        .record_find(
            &find("LR-000001", 30.005, 50.0075, "ap-mine-persistent"),
            &c,
            "Team 7",
        )
        .unwrap();
    assert_eq!(found.find.id, "PRF-000001");
    assert_eq!(found.changeset, s.last_change().unwrap());
    let ff = &found.find.facts;
    assert_eq!(
        (
            ff.release_id.as_str(),
            ff.area_id.as_str(),
            ff.count,
            ff.by.as_str(),
            ff.opened_area.as_str(),
            ff.radius_m
        ),
        (
            "LR-000001",
            "HA-000001",
            2,
            "Team 7",
            "HA-000003",
            FIND_RADIUS_M
        )
    );
    assert_eq!(
        found.area.shape,
        Shape::Spot {
            at: Point::new(30.005, 50.0075),
            radius_m: FIND_RADIUS_M
        }
    );
    assert_eq!(found.area.props.status, Status::Confirmed);
    let opened = s.get_area("HA-000003", None).unwrap().unwrap();
    assert_eq!(opened.area, found.area);
    assert_eq!(
        (
            opened.revision.author.as_str(),
            opened.revision.changeset,
            opened.revision.command.as_deref()
        ),
        ("Team 7", found.changeset, Some("find"))
    );
    assert_eq!(
        s.finds_for_release("LR-000001").unwrap(),
        std::slice::from_ref(&found.find)
    );
    assert!(s.finds_for_release("LR-000002").unwrap().is_empty());

    // Status changes: allowed on evidence, refused without it, never out of release.
    let suspected = s
        .change_status(
            "HA-000002",
            Status::Suspected,
            Some(&evidence(EvidenceKind::Indirect, "farmers avoid the field")),
            "farmers' accounts",
            "olena",
        )
        .unwrap();
    assert_eq!(
        (suspected.props.status, suspected.props.evidence.clone()),
        (
            Status::Suspected,
            Some(evidence(EvidenceKind::Indirect, "farmers avoid the field"))
        )
    );
    let now = s.get_area("HA-000002", None).unwrap().unwrap();
    assert_eq!(now.area, suspected);
    assert_eq!(
        (
            now.revision.author.as_str(),
            now.revision.command.as_deref()
        ),
        ("olena", Some("status"))
    );
    assert!(now.revision.reason.contains("farmers' accounts"));
    let digest = s.content_digest().unwrap();
    for (id, to, expected) in [
        ("HA-000002", Status::Confirmed, ("refused", "evidence")),
        ("HA-000002", Status::Suspected, ("refused", "status")),
        ("HA-000002", Status::Cleared, ("refused", "status")),
        ("HA-000001", Status::Suspected, ("refused", "status")),
        ("HA-404", Status::Suspected, ("not found", "area_id")),
    ] {
        assert_eq!(
            refusal(s.change_status(id, to, None, "try", "olena")),
            (expected.0, expected.1.to_string()),
            "{id} to {to:?}"
        );
    }
    assert_eq!(s.content_digest().unwrap(), digest);
    // A survey that found devices on the area is the direct evidence that confirms it.
    let mut ts = activity(
        ActivityKind::TechnicalSurvey,
        "HA-000002",
        square(31.0, 49.0, 31.1, 49.1),
    );
    ts.facts.devices = vec![DeviceRecord {
        device_type: "ap-mine-persistent".into(),
        count: 3,
        depth_cm: None,
        action: DeviceAction::Found,
    }];
    let ts = s.add_activity(&ts, &c, "Team 7").unwrap();
    assert_eq!(ts.id, "ACT-000002");
    let confirmed = s
        .change_status(
            "HA-000002",
            Status::Confirmed,
            None,
            "TS found mines",
            "olena",
        )
        .unwrap();
    let e = confirmed.props.evidence.clone().unwrap();
    assert_eq!(
        (confirmed.props.status, e.kind, e.source.as_deref()),
        (
            Status::Confirmed,
            EvidenceKind::Direct,
            Some("activity ACT-000002")
        )
    );
    assert_eq!(
        s.get_area("HA-000002", None).unwrap().unwrap().area,
        confirmed
    );
    assert_eq!(s.history("HA-000002").unwrap().len(), 3);
}

/// Every `PeriodStore` method.
pub fn period_readers_and_the_transparency_report_see_every_record(s: &mut dyn Backend) {
    let c = Catalogue::builtin();
    let mut mined = land("HA-000001", 30.0);
    mined.props.devices = vec![cairn_core::DeviceGroup {
        device_type: "ap-mine-persistent".into(),
        quantity: Some(3),
        emplaced_from: None,
        emplaced_to: None,
        how_known: None,
    }];
    put(
        s,
        "fixture",
        &[mined, area("HA-000002", Status::Closed, 40.0)],
    );
    let mut oblast = records::zone("Z-oblast", 29.0);
    oblast.facts.kind = cairn_core::zone::ZoneKind::Oblast;
    oblast.facts.name = "Test Oblast".into();
    s.put_zones(&[oblast], meta("ana", "oblasts")).unwrap();
    assert!(s.all_activities().unwrap().is_empty());
    assert!(s.all_releases().unwrap().is_empty());
    assert!(s.all_finds().unwrap().is_empty());

    let nts = s
        .add_activity(
            &activity(
                ActivityKind::NonTechnicalSurvey,
                "HA-000001",
                square(30.0, 50.0, 30.01, 50.01),
            ),
            &c,
            "Team 7",
        )
        .unwrap();
    let mut eore = activity(
        ActivityKind::RiskEducation,
        "HA-000001",
        square(30.0, 50.0, 30.01, 50.01),
    );
    eore.facts.participants = Some(40);
    let eore = s.add_activity(&eore, &c, "Team 7").unwrap();
    let rel = s
        .release_land(
            &release(
                "HA-000001",
                ReleaseMethod::Cancel,
                &nts.id,
                square(30.0, 50.005, 30.01, 50.01),
            ),
            "Olena",
        )
        .unwrap()
        .release;
    let fnd = s
        .record_find(
            &find(&rel.id, 30.005, 50.0075, "ap-mine-persistent"),
            &c,
            "Team 7",
        )
        .unwrap()
        .find;
    let accident = s
        .add_accident(
            &records::accident(None, "2026-03-05T07:00:00Z"),
            Point::new(30.005, 50.002),
            &c,
            "officer",
        )
        .unwrap();
    assert_eq!(s.all_activities().unwrap(), [nts.clone(), eore.clone()]);
    assert_eq!(s.all_releases().unwrap(), std::slice::from_ref(&rel));
    assert_eq!(s.all_finds().unwrap(), std::slice::from_ref(&fnd));
    assert_eq!(s.accidents().unwrap(), [accident]);

    let today = chrono::Utc::now().date_naive();
    let year = Period::new(day("2026-01-01"), today).unwrap();
    let generated = chrono::Utc::now();
    let r = s
        .transparency_report(&c, year, Edition::Restricted, generated)
        .unwrap();
    assert_eq!(
        (r.period, r.edition, r.generated_at),
        (year, Edition::Restricted, generated)
    );
    assert_eq!(r.months.len(), year.months().len());
    assert_eq!(
        r.activities.get(&ActivityKind::NonTechnicalSurvey),
        Some(&1)
    );
    assert_eq!(r.activities.get(&ActivityKind::RiskEducation), Some(&1));
    assert_eq!(r.warning.eore_participants.values().sum::<u64>(), 40);
    let (m2, n) = r.released_total(ReleaseMethod::Cancel);
    assert_eq!(n, 1);
    assert!((m2 - rel.facts.released_m2).abs() < 1e-6);
    assert_eq!(r.casualty_totals(), (1, 0));
    assert_eq!(
        r.finds.values().fold((0, 0), |t, f| (t.0 + f.0, t.1 + f.1)),
        (1, 2)
    );
    // Section (c) from the current areas: what remains of HA-000001 and the find's area; the
    // closed HA-000002 is no hazard.
    let ids: Vec<&str> = r.mined_areas.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["HA-000001", "HA-000003"]);
    assert_eq!((r.mined_total.areas, r.mined_known_devices), (2, 5));
    assert_eq!(r.mined_areas[0].oblasts, ["Test Oblast"]);
    assert_eq!(
        r.open_by_oblast.get("Test Oblast").map(|o| o.areas),
        Some(2)
    );
    // The public edition neither lists nor sums device counts.
    let public = s
        .transparency_report(&c, year, Edition::Public, generated)
        .unwrap();
    assert_eq!(
        (public.mined_total.areas, public.mined_known_devices),
        (2, 0)
    );
    // A period before all of it counts none of the events, but the hazard as it is now.
    let before = Period::new(day("2025-01-01"), day("2025-01-31")).unwrap();
    let r = s
        .transparency_report(&c, before, Edition::Restricted, generated)
        .unwrap();
    assert!(r.activities.is_empty());
    assert_eq!(r.released_total(ReleaseMethod::Cancel), (0.0, 0));
    assert_eq!(r.casualty_totals(), (0, 0));
    assert_eq!(r.mined_total.areas, 2);
}
