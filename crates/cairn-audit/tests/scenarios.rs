//! The audit's scenario suite: for every rule, records that comply and records that violate it
//! in each way, with the exact violations expected, and the boundary cases (an area touching a
//! zone's border, a lifetime exactly at the limit, a time exactly at the deadline).

use cairn_audit::{Context, Policy, Settlement, Subject, Violation, audit};
use cairn_core::release::area_m2;
use cairn_core::zone::{Zone, ZoneFacts, ZoneKind};
use cairn_core::{
    AreaProperties, Catalogue, Classification, DeviceGroup, Emplacement, EmplacingMethod,
    HazardArea, Marking, Shape, Status, Timeline, Timestamp, TrackedArea,
};
use chrono::Duration;
use geo_types::{MultiPolygon, Point, Polygon, polygon};
use geographiclib_rs::{DirectGeodesic, Geodesic};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)]
}

const RECORDED: &str = "2026-10-01T12:00:00Z";

/// A complete AP emplacement record with a compliant 15-day type.
fn record(id: &str, shape: Shape) -> HazardArea {
    HazardArea {
        id: id.into(),
        shape,
        props: AreaProperties {
            name: None,
            status: Status::Confirmed,
            classification: Classification::Restricted,
            evidence: None,
            devices: vec![DeviceGroup {
                device_type: "ap-mine-nonpersistent-15d".into(),
                quantity: Some(24),
                emplaced_from: Some(t("2026-10-01T06:00:00Z")),
                emplaced_to: Some(t("2026-10-01T08:00:00Z")),
                how_known: None,
            }],
            reference_points: vec![[36.0, 48.0], [36.01, 48.0]],
            marking: Some(Marking::Marked),
            organisation: None,
            reported_at: None,
            emplacement: Some(Box::new(Emplacement {
                method: Some(EmplacingMethod::HandEmplaced),
                anti_handling: Some(false),
                fuze: Some("electronic, battery timer".into()),
                fuze_lifetime_hours: Some(360.0),
                laid_by: Some("fictional unit".into()),
            })),
            extra: Default::default(),
        },
    }
}

fn square(id: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> HazardArea {
    record(id, Shape::Polygon(rect(x0, y0, x1, y1)))
}

fn timeline() -> Timeline {
    Timeline {
        first_recorded: t(RECORDED),
        first_marked: Some(t(RECORDED)),
        first_public: Some(t(RECORDED)),
        first_released: None,
    }
}

fn subject(a: HazardArea) -> Subject {
    Subject {
        area: a,
        timeline: timeline(),
    }
}

fn zone(id: &str, p: Polygon<f64>) -> Zone {
    Zone {
        id: id.into(),
        facts: ZoneFacts {
            name: id.into(),
            kind: ZoneKind::Permitted,
            source: None,
            description: None,
        },
        geometry: MultiPolygon(vec![p]),
    }
}

fn run(
    policy: &str,
    all: &[Subject],
    zones: &[Zone],
    settlements: &[Settlement],
    at: &str,
) -> Vec<Violation> {
    let p = Policy::parse(policy, "test.toml").unwrap();
    let c = Catalogue::builtin();
    let permitted = p.permitted(zones, "test.toml").unwrap();
    // As the store hands them over: emplacement records whole, other hazards as ids and
    // timelines.
    let (subjects, others): (Vec<Subject>, Vec<Subject>) = all
        .iter()
        .cloned()
        .partition(|s| s.area.props.emplacement.is_some());
    let others: Vec<TrackedArea> = others
        .into_iter()
        .filter(|s| s.area.props.status.is_open_hazard() || s.timeline.first_public.is_some())
        .map(|s| TrackedArea {
            id: s.area.id,
            status: s.area.props.status,
            timeline: s.timeline,
        })
        .collect();
    audit(
        &subjects,
        &others,
        &Context {
            policy: &p,
            catalogue: &c,
            permitted,
            settlements,
            at: t(at),
        },
    )
    .violations
}

fn ids(v: &[Violation]) -> Vec<(&str, &str)> {
    v.iter().map(|v| (v.rule, v.record.as_str())).collect()
}

const NOW: &str = "2026-11-25T00:00:00Z";

#[test]
fn permitted_zones() {
    let zones = [
        zone("Z-west", rect(36.0, 48.0, 37.0, 49.0)),
        zone("Z-east", rect(37.0, 48.0, 37.5, 48.5)),
    ];
    let mut at_only = square("HA-at-only", 39.0, 48.0, 39.1, 48.1);
    at_only.props.devices[0].device_type = "at-mine-persistent".into();
    let mut not_emplacement = square("HA-survey", 39.0, 48.2, 39.1, 48.3);
    not_emplacement.props.emplacement = None;
    let subjects: Vec<Subject> = [
        square("HA-inside", 36.2, 48.2, 36.4, 48.4),
        // Sharing the zone's border from inside, and spanning two adjacent zones' shared border.
        square("HA-touch-in", 36.8, 48.9, 37.0, 49.0),
        square("HA-across", 36.9, 48.1, 37.1, 48.2),
        // Sharing the border from outside: wholly outside.
        square("HA-touch-out", 37.0, 48.6, 37.2, 48.7),
        // Half in, half out.
        square("HA-partly", 37.4, 48.3, 37.6, 48.4),
        square("HA-far", 38.0, 48.0, 38.05, 48.05),
        record(
            "HA-spot",
            Shape::Spot {
                at: Point::new(36.5, 48.5),
                radius_m: 50.0,
            },
        ),
        record(
            "HA-spot-out",
            Shape::Spot {
                at: Point::new(37.0005, 48.75),
                radius_m: 100.0,
            },
        ),
        at_only,
        not_emplacement,
    ]
    .into_iter()
    .map(subject)
    .collect();
    let v = run(
        "[rules.permitted-zones]\nzone-kind = \"permitted\"\n",
        &subjects,
        &zones,
        &[],
        NOW,
    );
    assert_eq!(
        ids(&v),
        [
            ("permitted-zones", "HA-far"),
            ("permitted-zones", "HA-partly"),
            ("permitted-zones", "HA-spot-out"),
            ("permitted-zones", "HA-touch-out"),
        ]
    );
    let by = |id: &str| v.iter().find(|x| x.record == id).unwrap();
    let km2 = |x: &Violation, k: &str| x.evidence[k].as_f64().unwrap();
    // The partly outside record: exactly its eastern half, measured independently.
    let half = area_m2(&MultiPolygon(vec![rect(37.5, 48.3, 37.6, 48.4)])) / 1e6;
    let p = by("HA-partly");
    assert!((km2(p, "outside_km2") - half).abs() < 1e-6 * half, "{p:?}");
    assert_eq!(p.evidence["wholly_outside"], false);
    assert!(p.summary.contains("partly"), "{}", p.summary);
    let w = by("HA-touch-out");
    assert_eq!(w.evidence["wholly_outside"], true);
    let d = (km2(w, "outside_km2") - km2(w, "area_km2")).abs();
    assert!(d < 1e-6, "{d} km² apart: {w:?}");
    // The spot straddling the border at 37.0: part of it is outside, part inside.
    let s = by("HA-spot-out");
    assert_eq!(s.evidence["wholly_outside"], false, "{s:?}");
    // Began when the devices were laid (the earliest time of the range).
    assert_eq!(w.began, t("2026-10-01T06:00:00Z"));

    // Naming one zone only: the record across the shared border is now partly outside.
    let v = run(
        "[rules.permitted-zones]\nzones = [\"Z-west\"]\n",
        &subjects,
        &zones,
        &[],
        NOW,
    );
    assert!(ids(&v).contains(&("permitted-zones", "HA-across")), "{v:?}");
    assert!(
        !ids(&v).contains(&("permitted-zones", "HA-touch-in")),
        "{v:?}"
    );
}

#[test]
fn ap_lifetime() {
    let mut persistent = square("HA-persistent", 36.1, 48.1, 36.2, 48.2);
    persistent.props.devices[0].device_type = "ap-mine-persistent".into();
    let mut stated_long = square("HA-stated-361h", 36.1, 48.1, 36.2, 48.2);
    stated_long
        .props
        .emplacement
        .as_mut()
        .unwrap()
        .fuze_lifetime_hours = Some(361.0);
    let mut mixed = square("HA-mixed", 36.1, 48.1, 36.2, 48.2);
    mixed.props.devices.push(DeviceGroup {
        device_type: "ap-mine-scatterable-persistent".into(),
        ..mixed.props.devices[0].clone()
    });
    let mut at = square("HA-at", 36.1, 48.1, 36.2, 48.2);
    at.props.devices[0].device_type = "at-mine-persistent".into();
    let subjects: Vec<Subject> = [
        square("HA-15d", 36.1, 48.1, 36.2, 48.2),
        persistent,
        stated_long,
        mixed,
        at,
    ]
    .into_iter()
    .map(subject)
    .collect();
    // 15 days exactly at the limit complies; 120 days exactly at the limit complies.
    let v = run(
        "[rules.ap-lifetime]\nmax-self-destruct = \"15 days\"\nmax-self-deactivation = \"120 days\"\n",
        &subjects,
        &[],
        &[],
        NOW,
    );
    assert_eq!(
        ids(&v),
        [
            ("ap-lifetime", "HA-mixed"),
            ("ap-lifetime", "HA-persistent"),
            ("ap-lifetime", "HA-stated-361h"),
        ]
    );
    let f = |id: &str| {
        v.iter().find(|x| x.record == id).unwrap().evidence["findings"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(f("HA-mixed").len(), 1);
    assert!(
        f("HA-mixed")[0]
            .as_str()
            .unwrap()
            .starts_with("devices[1] ap-mine-scatterable-persistent is persistent")
    );
    assert!(
        f("HA-stated-361h")[0]
            .as_str()
            .unwrap()
            .contains("361 hours")
    );
    // One hour less allowed: the 15-day type now exceeds it; and a tighter deactivation limit.
    let v = run(
        "[rules.ap-lifetime]\nmax-self-destruct = \"359 hours\"\nmax-self-deactivation = \"119 days\"\n",
        &subjects[..1],
        &[],
        &[],
        NOW,
    );
    assert_eq!(ids(&v), [("ap-lifetime", "HA-15d")]);
    let findings = v[0].evidence["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{findings:?}");
    assert!(
        findings[0]
            .as_str()
            .unwrap()
            .contains("self-destructs within 15 days")
    );
    assert!(
        findings[1]
            .as_str()
            .unwrap()
            .contains("self-deactivates within 120 days")
    );
    assert!(
        findings[2]
            .as_str()
            .unwrap()
            .contains("fuze lifetime of 360 hours")
    );
}

type Edit = fn(&mut HazardArea);

fn emplacement(a: &mut HazardArea) -> &mut Emplacement {
    a.props.emplacement.as_mut().unwrap()
}

#[test]
fn apii_record_completeness_each_way() {
    let cases: &[(&str, Edit, &str)] = &[
        (
            "HA-one-ref",
            |a| a.props.reference_points.truncate(1),
            "reference points (1 of the 2 required)",
        ),
        (
            "HA-no-perimeter",
            |a| {
                a.shape = Shape::Spot {
                    at: Point::new(36.1, 48.1),
                    radius_m: 30.0,
                }
            },
            "a perimeter (the record is a Point, not a polygon)",
        ),
        (
            "HA-no-devices",
            |a| a.props.devices.clear(),
            "device types and numbers (no device group)",
        ),
        (
            "HA-no-number",
            |a| a.props.devices[0].quantity = None,
            "the number of devices in devices[0] (ap-mine-nonpersistent-15d)",
        ),
        (
            "HA-no-method",
            |a| emplacement(a).method = None,
            "the emplacing method",
        ),
        (
            "HA-no-fuze",
            |a| emplacement(a).fuze = None,
            "the fuze type",
        ),
        (
            "HA-no-lifetime",
            |a| emplacement(a).fuze_lifetime_hours = None,
            "the fuze lifetime (self-destruct period) of its non-persistent devices",
        ),
        (
            "HA-no-from",
            |a| a.props.devices[0].emplaced_from = None,
            "the earliest time laid (emplaced_from) of devices[0]",
        ),
        (
            "HA-no-to",
            |a| a.props.devices[0].emplaced_to = None,
            "the latest time laid (emplaced_to) of devices[0]",
        ),
        (
            "HA-no-time",
            |a| {
                a.props.devices[0].emplaced_from = None;
                a.props.devices[0].emplaced_to = None
            },
            "the date and time laid of devices[0]",
        ),
        (
            "HA-no-ahd",
            |a| emplacement(a).anti_handling = None,
            "whether anti-handling devices were fitted",
        ),
    ];
    let mut subjects = vec![subject(square("HA-complete", 36.1, 48.1, 36.2, 48.2))];
    // A persistent type needs no fuze lifetime.
    let mut persistent = square("HA-persistent-no-lifetime", 36.1, 48.1, 36.2, 48.2);
    persistent.props.devices[0].device_type = "ap-mine-persistent".into();
    emplacement(&mut persistent).fuze_lifetime_hours = None;
    subjects.push(subject(persistent));
    // Not an emplacement record: not audited for APII completeness.
    let mut survey = square("HA-survey", 36.1, 48.1, 36.2, 48.2);
    survey.props.emplacement = None;
    survey.props.reference_points.clear();
    subjects.push(subject(survey));
    for (id, edit, _) in cases {
        let mut a = square(id, 36.1, 48.1, 36.2, 48.2);
        edit(&mut a);
        subjects.push(subject(a));
    }
    let v = run("[rules.apii-record]\n", &subjects, &[], &[], NOW);
    let mut expected: Vec<(&str, &str)> = cases
        .iter()
        .map(|(id, _, _)| ("apii-record", *id))
        .collect();
    expected.sort();
    assert_eq!(ids(&v), expected);
    for (id, _, missing) in cases {
        let x = v.iter().find(|x| x.record == *id).unwrap();
        assert_eq!(x.evidence["missing"], serde_json::json!([missing]), "{id}");
        assert_eq!(x.began, t(RECORDED));
    }
    // Three reference points required: the complete record with two now lacks one.
    let v = run(
        "[rules.apii-record]\nmin-reference-points = 3\n",
        &subjects[..1],
        &[],
        &[],
        NOW,
    );
    assert_eq!(
        v[0].evidence["missing"],
        serde_json::json!(["reference points (2 of the 3 required)"])
    );
}

fn with(id: &str, f: &dyn Fn(&mut Timeline)) -> Subject {
    let mut s = subject(square(id, 36.1, 48.1, 36.2, 48.2));
    f(&mut s.timeline);
    s
}

#[test]
fn marking_deadlines() {
    let deadline = t(RECORDED) + Duration::hours(72);
    let subjects = vec![
        with("HA-on-time", &|_| {}),
        with("HA-at-deadline", &|t| t.first_marked = Some(deadline)),
        with("HA-a-second-late", &|t| {
            t.first_marked = Some(deadline + Duration::seconds(1))
        }),
        with("HA-never", &|t| t.first_marked = None),
        with("HA-released-in-time", &|t| {
            t.first_marked = None;
            t.first_released = Some(deadline)
        }),
        with("HA-released-late", &|t| {
            t.first_marked = None;
            t.first_released = Some(deadline + Duration::hours(1))
        }),
    ];
    let policy = "[rules.marking]\nwithin = \"72 hours\"\n";
    let v = run(policy, &subjects, &[], &[], NOW);
    assert_eq!(
        ids(&v),
        [
            ("marking", "HA-a-second-late"),
            ("marking", "HA-never"),
            ("marking", "HA-released-late"),
        ]
    );
    for x in &v {
        assert_eq!(x.began, deadline, "{x:?}");
    }
    assert_eq!(v[0].evidence["done_at"], "2026-10-04T12:00:01Z");
    assert_eq!(v[1].evidence["done_at"], serde_json::Value::Null);
    // Judged exactly at the deadline nothing is due yet; a second later the unmarked ones are.
    let at = |s: Timestamp| s.to_rfc3339();
    assert!(run(policy, &subjects, &[], &[], &at(deadline)).is_empty());
    let v = run(
        policy,
        &subjects,
        &[],
        &[],
        &at(deadline + Duration::milliseconds(500)),
    );
    assert_eq!(
        ids(&v),
        [
            ("marking", "HA-a-second-late"),
            ("marking", "HA-never"),
            ("marking", "HA-released-late")
        ],
        "{v:?}"
    );
    // At that time the late marking had not happened yet: it is not evidence then.
    assert!(v.iter().all(|x| x.evidence["done_at"].is_null()), "{v:?}");
}

#[test]
fn public_warning_deadlines_and_scope() {
    let mut survey = with("HA-survey-unwarned", &|t| t.first_public = None);
    survey.area.props.emplacement = None;
    let late_public = with("HA-public-late", &|t| {
        t.first_public = Some(t.first_recorded + Duration::hours(25))
    });
    let at_deadline = with("HA-public-at-deadline", &|t| {
        t.first_public = Some(t.first_recorded + Duration::hours(24))
    });
    let subjects = vec![
        with("HA-public-on-time", &|_| {}),
        late_public,
        at_deadline,
        survey,
    ];
    let v = run(
        "[rules.public-warning]\nwithin = \"24 hours\"\n",
        &subjects,
        &[],
        &[],
        NOW,
    );
    assert_eq!(ids(&v), [("public-warning", "HA-public-late")]);
    assert!(
        v[0].summary.contains("25 hours 0 minutes"),
        "{}",
        v[0].summary
    );
    let v = run(
        "[rules.public-warning]\nwithin = \"24 hours\"\napplies-to = \"all-hazards\"\n",
        &subjects,
        &[],
        &[],
        NOW,
    );
    assert_eq!(
        ids(&v),
        [
            ("public-warning", "HA-public-late"),
            ("public-warning", "HA-survey-unwarned")
        ]
    );
}

#[test]
fn settlement_distance() {
    // A settlement exactly d metres due north of the middle of a square's northern edge.
    let north_of = |lon: f64, d: f64| {
        let (lat, lon): (f64, f64) = Geodesic::wgs84().direct(48.2, lon, 0.0, d);
        (lon, lat)
    };
    let place = |name: &str, (lon, lat): (f64, f64)| Settlement {
        name: name.into(),
        lon,
        lat,
    };
    let subjects: Vec<Subject> = [
        square("HA-a", 36.1, 48.1, 36.2, 48.2),
        square("HA-b", 38.1, 48.1, 38.2, 48.2),
        square("HA-c", 40.1, 48.1, 40.2, 48.2),
    ]
    .into_iter()
    .map(subject)
    .collect();
    let settlements = vec![
        place("Near", north_of(36.15, 999.0)),
        place("Farther", north_of(36.15, 1500.0)),
        place("Just far enough", north_of(38.15, 1001.0)),
        place("Inside", (40.15, 48.15)),
    ];
    let v = run(
        "[rules.settlement-distance]\nminimum = \"1 km\"\n",
        &subjects,
        &[],
        &settlements,
        NOW,
    );
    assert_eq!(
        ids(&v),
        [
            ("settlement-distance", "HA-a"),
            ("settlement-distance", "HA-c")
        ]
    );
    assert_eq!(v[0].evidence["settlement"], "Near");
    let d = v[0].evidence["distance_m"].as_f64().unwrap();
    assert!((d - 999.0).abs() < 0.1, "{d}");
    assert_eq!(v[1].evidence["distance_m"], 0.0);
    assert!(v[1].summary.contains("inside the area"), "{}", v[1].summary);
}

#[test]
fn only_the_groups_the_record_states_are_its_emplacement() {
    // A record group of compliant 15-day mines, and old persistent AP mines with no count that a
    // survey observed in the same area: the observed group is not the recording party's.
    let mut a = square("HA-record-and-survey", 38.0, 48.0, 38.1, 48.1);
    a.props.devices[0].how_known = Some(cairn_core::HowKnown::Record);
    a.props.devices.push(DeviceGroup {
        device_type: "ap-mine-persistent".into(),
        quantity: None,
        emplaced_from: None,
        emplaced_to: None,
        how_known: Some(cairn_core::HowKnown::Observation),
    });
    let zones = [zone("Z-far", rect(30.0, 45.0, 31.0, 46.0))];
    let policy = "[rules.ap-lifetime]\nmax-self-destruct = \"15 days\"\nmax-self-deactivation = \"120 days\"\n[rules.apii-record]\n[rules.permitted-zones]\nzone-kind = \"permitted\"\n";
    let v = run(policy, &[subject(a.clone())], &zones, &[], NOW);
    assert_eq!(ids(&v), [("permitted-zones", "HA-record-and-survey")]);
    // Without the record marking, every group counts as stated by the record.
    a.props.devices[0].how_known = None;
    let v = run(policy, &[subject(a)], &zones, &[], NOW);
    assert_eq!(
        ids(&v),
        [
            ("permitted-zones", "HA-record-and-survey"),
            ("ap-lifetime", "HA-record-and-survey"),
            ("apii-record", "HA-record-and-survey"),
        ]
    );
}

#[test]
fn every_rule_at_once_sorted_by_rule_then_record() {
    let mut bad = square("HA-bad", 38.0, 48.0, 38.1, 48.1);
    bad.props.devices[0].device_type = "ap-mine-persistent".into();
    emplacement(&mut bad).anti_handling = None;
    let mut s = subject(bad);
    s.timeline.first_marked = None;
    s.timeline.first_public = None;
    let policy = include_str!("../../../docs/policy.example.toml");
    let zones = [zone("Z-p", rect(36.0, 48.0, 37.0, 49.0))];
    let settlements = vec![Settlement {
        name: "Here".into(),
        lon: 38.05,
        lat: 48.05,
    }];
    let good = subject(square("HA-good", 36.1, 48.1, 36.2, 48.2));
    let v = run(policy, &[good, s], &zones, &settlements, NOW);
    assert_eq!(
        ids(&v),
        [
            ("permitted-zones", "HA-bad"),
            ("ap-lifetime", "HA-bad"),
            ("apii-record", "HA-bad"),
            ("marking", "HA-bad"),
            ("public-warning", "HA-bad"),
            ("settlement-distance", "HA-bad"),
        ]
    );
}
