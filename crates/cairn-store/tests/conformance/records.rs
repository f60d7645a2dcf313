//! Zones, accidents and the history of records that are not areas (`ZoneStore`), and what the
//! compliance audit reads (`AuditStore`).

use cairn_core::accident::{AccidentFacts, ActivityAtTime, AgeGroup, Casualty, Outcome, Role, Sex};
use cairn_core::release::ActivityKind;
use cairn_core::zone::{Zone, ZoneFacts, ZoneKind};
use cairn_core::{Catalogue, Category, Emplacement, EmplacingMethod, Marking};
use geo_types::Point;

use super::*;

/// A permitted zone three degrees wide from longitude `x0`, 48°N to 51°N.
pub fn zone(id: &str, x0: f64) -> Zone {
    Zone {
        id: id.into(),
        facts: ZoneFacts {
            name: format!("Zone {id}"),
            kind: ZoneKind::Permitted,
            source: None,
            description: None,
        },
        geometry: square(x0, 48.0, x0 + 3.0, 51.0),
    }
}

/// An accident that killed one child, in an area when `area_id` is given.
pub fn accident(area_id: Option<&str>, occurred_at: &str) -> AccidentFacts {
    AccidentFacts {
        occurred_at: at(occurred_at),
        device_category: Category::ApMine,
        device_type: None,
        activity: ActivityAtTime::Herding,
        area_id: area_id.map(Into::into),
        description: None,
        source: Some("police".into()),
        casualties: vec![Casualty {
            outcome: Outcome::Killed,
            sex: Sex::Male,
            age_group: AgeGroup::Child,
            role: Role::Civilian,
            name: Some("A. Person".into()),
            notes: None,
        }],
    }
}

/// `put_zones`, `zones`, `get_zone`, `record_history`.
pub fn zones_keep_history_and_a_bad_batch_writes_nothing(s: &mut dyn Backend) {
    assert!(s.zones().unwrap().is_empty());
    let zmeta = |who: &str| ChangeMeta {
        author: who.into(),
        reason: "zones of the policy".into(),
        source: Some("zones.geojson".into()),
    };
    let sum = s
        .put_zones(&[zone("Z-b", 37.0), zone("Z-a", 36.0)], zmeta("ana"))
        .unwrap();
    assert_eq!((sum.created, sum.updated, sum.unchanged), (2, 0, 0));
    assert_eq!(sum.changeset, s.last_change().unwrap());
    assert_eq!(s.zones().unwrap(), [zone("Z-a", 36.0), zone("Z-b", 37.0)]);
    let sum = s
        .put_zones(&[zone("Z-a", 36.0), zone("Z-b", 37.5)], zmeta("bo"))
        .unwrap();
    assert_eq!((sum.created, sum.updated, sum.unchanged), (0, 1, 1));
    assert_eq!(s.get_zone("Z-b").unwrap(), Some(zone("Z-b", 37.5)));
    assert!(s.get_zone("Z-x").unwrap().is_none());
    let h = s.record_history("zone", "Z-b").unwrap();
    assert_eq!(
        h.iter()
            .map(|r| (r.seq, r.author.as_str(), r.reason.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, "ana", "zones of the policy"),
            (2, "bo", "zones of the policy")
        ]
    );
    assert!(h[0].recorded_at < h[1].recorded_at);
    assert_eq!(
        h[0].geometry,
        geo_types::Geometry::MultiPolygon(zone("Z-b", 37.0).geometry)
    );
    assert_eq!(h[1].props["name"], "Zone Z-b");
    assert_eq!(s.record_history("zone", "Z-a").unwrap().len(), 1);
    assert!(s.record_history("zone", "Z-x").unwrap().is_empty());
    assert!(s.record_history("accident", "Z-a").unwrap().is_empty());

    // Equal zones write no changeset.
    let head = s.last_change().unwrap();
    let sum = s
        .put_zones(&[zone("Z-a", 36.0), zone("Z-b", 37.5)], zmeta("cy"))
        .unwrap();
    assert_eq!((sum.changeset, sum.unchanged), (0, 2));
    assert_eq!(s.last_change().unwrap(), head);

    // A self-crossing outline, or an id twice, refuses the whole batch, naming each.
    let digest = s.content_digest().unwrap();
    let mut crossing = zone("Z-c", 38.0);
    crossing.geometry = MultiPolygon(vec![
        polygon![(x: 38.0, y: 48.0), (x: 39.0, y: 49.0), (x: 39.0, y: 48.0), (x: 38.0, y: 49.0), (x: 38.0, y: 48.0)],
    ]);
    let err = s
        .put_zones(&[zone("Z-d", 40.0), crossing], zmeta("cy"))
        .unwrap_err();
    let ReleaseError::Invalid(p) = err else {
        panic!("{err:?}")
    };
    assert!(p[0].field.starts_with("zones[1] (Z-c).geometry"), "{p:?}");
    let err = s
        .put_zones(&[zone("Z-e", 40.0), zone("Z-e", 41.0)], zmeta("cy"))
        .unwrap_err();
    let ReleaseError::Invalid(p) = err else {
        panic!("{err:?}")
    };
    assert_eq!(p[0].field, "zones[1] (Z-e).id");
    assert_eq!(s.zones().unwrap().len(), 2, "nothing of a refused batch");
    assert_eq!(s.content_digest().unwrap(), digest);
}

/// `add_accident`, `accidents`, `get_accident`, `record_history` of an accident.
pub fn accidents_are_attributed_and_checked(s: &mut dyn Backend) {
    let c = Catalogue::builtin();
    assert!(s.accidents().unwrap().is_empty());
    let place = Point::new(36.2, 49.9);
    let a = s
        .add_accident(
            &accident(None, "2026-05-02T07:00:00Z"),
            place,
            &c,
            "officer-1",
        )
        .unwrap();
    assert_eq!(a.id, "AC-000001");
    assert_eq!(
        (a.facts.clone(), a.place),
        (accident(None, "2026-05-02T07:00:00Z"), place)
    );
    assert_eq!(s.accidents().unwrap(), std::slice::from_ref(&a));
    assert_eq!(s.get_accident("AC-000001").unwrap(), Some(a.clone()));
    assert!(s.get_accident("AC-000404").unwrap().is_none());
    let h = s.record_history("accident", &a.id).unwrap();
    assert_eq!((h.len(), h[0].author.as_str()), (1, "officer-1"));
    assert!(
        h[0].reason.contains("1 killed, 0 injured"),
        "{}",
        h[0].reason
    );
    assert_eq!(h[0].geometry, geo_types::Geometry::Point(place));

    // Refused: an unknown area, an accident in the future, one that hurt nobody. Nothing is
    // written, and no number is used up.
    let digest = s.content_digest().unwrap();
    let err = s
        .add_accident(
            &accident(Some("HA-404"), "2026-05-02T07:00:00Z"),
            place,
            &c,
            "officer-1",
        )
        .unwrap_err();
    assert!(err.to_string().contains("HA-404"), "{err}");
    assert_eq!(
        refusal(s.add_accident(
            &accident(Some("HA-404"), "2026-05-02T07:00:00Z"),
            place,
            &c,
            "o"
        )),
        ("not found", "area_id".into())
    );
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    assert_eq!(
        refusal(s.add_accident(&accident(None, &future), place, &c, "o")),
        ("invalid", "occurred_at".into())
    );
    let mut nobody = accident(None, "2026-05-02T07:00:00Z");
    nobody.casualties.clear();
    assert_eq!(
        refusal(s.add_accident(&nobody, place, &c, "o")),
        ("invalid", "casualties".into())
    );
    assert_eq!(s.content_digest().unwrap(), digest);
    assert_eq!(s.accidents().unwrap().len(), 1);

    put(s, "fixture", &[area("HA-1", Status::Confirmed, 36.0)]);
    let b = s
        .add_accident(
            &accident(Some("HA-1"), "2026-05-03T07:00:00Z"),
            place,
            &c,
            "officer-2",
        )
        .unwrap();
    assert_eq!(
        (b.id.as_str(), b.facts.area_id.as_deref()),
        ("AC-000002", Some("HA-1"))
    );
    assert_eq!(s.accidents().unwrap(), [a, b]);
}

/// `audit_subjects` and `audit_other_hazards`, with timelines from revisions and from marking
/// activities.
pub fn the_audit_reads_emplacement_records_and_other_hazards_with_timelines(s: &mut dyn Backend) {
    let mut a = area("HA-1", Status::Reported, 36.0);
    a.props.classification = Classification::Restricted;
    a.props.marking = Some(Marking::Unmarked);
    a.props.emplacement = Some(Box::new(Emplacement {
        method: Some(EmplacingMethod::RemotelyDelivered),
        anti_handling: Some(true),
        fuze: None,
        fuze_lifetime_hours: Some(48.0),
        laid_by: None,
    }));
    assert!(s.audit_subjects().unwrap().is_empty());
    assert!(s.audit_other_hazards().unwrap().is_empty());
    put(s, "ana", std::slice::from_ref(&a));
    let mut plain = a.clone();
    plain.id = "HA-2".into();
    plain.props.emplacement = None;
    put(s, "ana", std::slice::from_ref(&plain));
    a.props.status = Status::Confirmed;
    put(s, "ana", std::slice::from_ref(&a));
    a.props.marking = Some(Marking::Fenced);
    put(s, "ana", std::slice::from_ref(&a));
    // HA-3 was an open hazard and is closed; HA-4 came in closed and never warned anyone.
    let mut gone = area("HA-3", Status::Suspected, 37.0);
    put(
        s,
        "ana",
        &[gone.clone(), area("HA-4", Status::Closed, 38.0)],
    );
    gone.props.status = Status::Closed;
    put(s, "ana", &[gone]);

    let subjects = s.audit_subjects().unwrap();
    assert_eq!(subjects.len(), 1, "only the emplacement record");
    let (got, t) = &subjects[0];
    assert_eq!(got, &a);
    let h = s.history("HA-1").unwrap();
    assert_eq!(t.first_recorded, h[0].revision.recorded_at);
    // Reported areas warn the public too: the first revision is the first warning.
    assert_eq!(t.first_public, Some(h[0].revision.recorded_at));
    assert_eq!(t.first_marked, Some(h[2].revision.recorded_at));
    assert_eq!(t.first_released, None);

    let others = s.audit_other_hazards().unwrap();
    assert_eq!(
        others
            .iter()
            .map(|o| (o.id.as_str(), o.status))
            .collect::<Vec<_>>(),
        [("HA-2", Status::Reported), ("HA-3", Status::Closed)]
    );
    let h2 = s.history("HA-2").unwrap();
    assert_eq!(
        others[0].timeline.first_recorded,
        h2[0].revision.recorded_at
    );
    assert_eq!(
        others[0].timeline.first_public,
        Some(h2[0].revision.recorded_at)
    );
    assert_eq!(others[0].timeline.first_marked, None);
    let h3 = s.history("HA-3").unwrap();
    assert_eq!(
        others[1].timeline.first_public,
        Some(h3[0].revision.recorded_at)
    );
    assert_eq!(
        others[1].timeline.first_released,
        Some(h3[1].revision.recorded_at)
    );

    // A marking activity marks the area from when it was recorded.
    let marking = release::activity(
        ActivityKind::Marking,
        "HA-2",
        square(36.0, 49.0, 36.1, 49.1),
    );
    let m = s
        .add_activity(&marking, &Catalogue::builtin(), "Team 7")
        .unwrap();
    let marked_at = s.record_history("activity", &m.id).unwrap()[0].recorded_at;
    // Once confirmed, HA-2 is still an open hazard, first shown when first recorded.
    plain.props.status = Status::Confirmed;
    plain.props.evidence = Some(evidence(EvidenceKind::Direct, "mines seen"));
    put(s, "ana", &[plain]);
    let others = s.audit_other_hazards().unwrap();
    assert_eq!(
        (others[0].id.as_str(), others[0].status),
        ("HA-2", Status::Confirmed)
    );
    assert_eq!(
        others[0].timeline.first_recorded,
        h2[0].revision.recorded_at
    );
    assert_eq!(
        others[0].timeline.first_public,
        Some(h2[0].revision.recorded_at)
    );
    assert_eq!(others[0].timeline.first_marked, Some(marked_at));
    assert_eq!(s.audit_subjects().unwrap().len(), 1);
}
