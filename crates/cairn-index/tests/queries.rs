//! Index queries on hand-made hazards with known answers, and the index kept current by
//! interleaved inserts, edits, status changes and removals, compared with a fresh rebuild.

use cairn_core::{Catalogue, Shape, Status};
use cairn_index::{Filter, Hazard, Index, ShapeRef, geodesy};
use geo_types::{Coord, LineString, Point, polygon};
use proptest::prelude::*;

fn square(id: &str, x: f64, y: f64, side_deg: f64, status: Status) -> Hazard {
    Hazard {
        id: id.into(),
        status,
        categories: 1,
        shape: ShapeRef::from(Shape::Polygon(polygon![
            (x: x, y: y), (x: x + side_deg, y: y), (x: x + side_deg, y: y + side_deg), (x: x, y: y + side_deg), (x: x, y: y)
        ])),
    }
}

#[test]
fn point_inside_on_edge_near_and_nearest() {
    let idx = Index::build(vec![
        square("A", 36.0, 49.0, 0.01, Status::Confirmed),
        square("B", 36.02, 49.0, 0.01, Status::Suspected),
        square("C", 36.0, 49.02, 0.01, Status::Cleared),
        Hazard {
            id: "S".into(),
            status: Status::Confirmed,
            categories: 8,
            shape: ShapeRef::from(Shape::Spot {
                at: Point::new(36.05, 49.05),
                radius_m: 100.0,
            }),
        },
    ]);
    let f = Filter::default();
    // Inside, and on the boundary (boundary included).
    let a = idx.check_point(
        Coord {
            x: 36.005,
            y: 49.005,
        },
        0.0,
        &f,
    );
    assert_eq!(a.inside.iter().map(|h| h.id).collect::<Vec<_>>(), ["A"]);
    assert_eq!(a.nearest.as_ref().unwrap().distance_m, 0.0);
    let edge = idx.check_point(
        Coord {
            x: 36.01,
            y: 49.005,
        },
        0.0,
        &f,
    );
    assert_eq!(edge.inside.len(), 1);
    // Between A and B: 0.005 degrees of longitude from each at 49 N is about 366 m.
    let mid = Coord {
        x: 36.015,
        y: 49.005,
    };
    let expected = geodesy::distance(
        mid,
        Coord {
            x: 36.01,
            y: 49.005,
        },
    );
    let a = idx.check_point(mid, 400.0, &f);
    assert!(a.inside.is_empty());
    assert_eq!(a.within_accuracy.len(), 2);
    let n = a.nearest.unwrap();
    assert!(
        (n.distance_m - expected).abs() < 0.01,
        "{} vs {expected}",
        n.distance_m
    );
    assert!((n.distance_m - 366.0).abs() < 5.0);
    // Bearing from mid to A is west, to B east; the nearest is a tie broken by id.
    assert_eq!(n.id, "A");
    assert!((n.bearing_deg - 270.0).abs() < 1.0, "{}", n.bearing_deg);
    // Released land (C) is not an open hazard, so it is not reported by default.
    let c = idx.check_point(
        Coord {
            x: 36.005,
            y: 49.025,
        },
        0.0,
        &f,
    );
    assert!(c.inside.is_empty());
    let all = Filter {
        statuses: Some(vec![Status::Cleared]),
        categories: None,
    };
    assert_eq!(
        idx.check_point(
            Coord {
                x: 36.005,
                y: 49.025
            },
            0.0,
            &all
        )
        .inside
        .len(),
        1
    );
    // A spot hazard: inside within its radius, with the category filter.
    let s = idx.check_point(
        Coord {
            x: 36.05,
            y: 49.0505,
        },
        0.0,
        &f,
    );
    assert_eq!(s.inside.len(), 1, "55 m from the centre of a 100 m spot");
    let uxo_only = Filter {
        statuses: None,
        categories: Some(8),
    };
    assert_eq!(
        idx.check_point(
            Coord {
                x: 36.005,
                y: 49.005
            },
            0.0,
            &uxo_only
        )
        .inside
        .len(),
        0
    );
    // Far away: no nearest within 50 km.
    assert!(
        idx.check_point(Coord { x: 30.0, y: 46.0 }, 0.0, &f)
            .nearest
            .is_none()
    );
}

#[test]
fn route_enters_and_leaves_where_expected() {
    let idx = Index::build(vec![square("A", 36.0, 49.0, 0.01, Status::Confirmed)]);
    // An east-west route along latitude 49.005 from 35.99 to 36.03 crosses A from 36.0 to 36.01.
    let route = LineString::from(vec![(35.99, 49.005), (36.03, 49.005)]);
    let ans = idx.check_route(&route, 20.0, &Filter::default());
    assert_eq!(ans.hazards.len(), 1);
    let h = &ans.hazards[0];
    let start = Coord {
        x: 35.99,
        y: 49.005,
    };
    let enter = geodesy::distance(start, Coord { x: 36.0, y: 49.005 }) - 10.0;
    let leave = geodesy::distance(
        start,
        Coord {
            x: 36.01,
            y: 49.005,
        },
    ) + 10.0;
    assert!((h.enter_m - enter).abs() < 0.5, "{} vs {enter}", h.enter_m);
    assert!((h.leave_m - leave).abs() < 0.5, "{} vs {leave}", h.leave_m);
    assert!((ans.at_risk_m - (leave - enter)).abs() < 1.0);
    assert!(
        (ans.length_m
            - geodesy::distance(
                start,
                Coord {
                    x: 36.03,
                    y: 49.005
                }
            ))
        .abs()
            < 0.01
    );
    // A parallel route 1 km north with a 100 m corridor misses; with a 3 km corridor it touches.
    let north = LineString::from(vec![(35.99, 49.02), (36.03, 49.02)]);
    assert!(
        idx.check_route(&north, 100.0, &Filter::default())
            .hazards
            .is_empty()
    );
    assert_eq!(
        idx.check_route(&north, 3000.0, &Filter::default())
            .hazards
            .len(),
        1
    );
}

fn arb_hazard() -> impl Strategy<Value = Hazard> {
    (
        0u32..40,
        0.0f64..1.0,
        0.0f64..1.0,
        0.001f64..0.05,
        prop::sample::select(vec![
            Status::Suspected,
            Status::Confirmed,
            Status::Cleared,
            Status::Reported,
        ]),
        any::<bool>(),
    )
        .prop_map(|(id, x, y, side, status, spot)| {
            let (x, y) = (30.0 + x, 48.0 + y);
            if spot {
                Hazard {
                    id: format!("H{id}").into(),
                    status,
                    categories: 1,
                    shape: ShapeRef::from(Shape::Spot {
                        at: Point::new(x, y),
                        radius_m: side * 10_000.0,
                    }),
                }
            } else {
                square(&format!("H{id}"), x, y, side, status)
            }
        })
}

#[derive(Clone, Debug)]
enum Op {
    Upsert(Hazard),
    Remove(u32),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![3 => arb_hazard().prop_map(Op::Upsert), 1 => (0u32..40).prop_map(Op::Remove)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn index_kept_current_equals_a_fresh_rebuild(ops in prop::collection::vec(arb_op(), 1..120), probes in prop::collection::vec((0.0f64..1.1, 0.0f64..1.1), 30)) {
        let mut live = Index::build(Vec::new());
        let mut truth: std::collections::BTreeMap<String, Hazard> = Default::default();
        for op in ops {
            match op {
                Op::Upsert(h) => { truth.insert(h.id.to_string(), h.clone()); live.upsert(h); }
                Op::Remove(i) => { let id = format!("H{i}"); prop_assert_eq!(live.remove(&id), truth.remove(&id).is_some()); }
            }
        }
        let fresh = Index::build(truth.values().cloned());
        prop_assert_eq!(live.len(), fresh.len());
        let all = Filter { statuses: Some(vec![Status::Suspected, Status::Confirmed, Status::Cleared, Status::Reported]), categories: None };
        for f in [Filter::default(), all] {
            for &(x, y) in &probes {
                let q = Coord { x: 29.95 + x, y: 47.95 + y };
                prop_assert_eq!(live.check_point(q, 500.0, &f), fresh.check_point(q, 500.0, &f));
                prop_assert_eq!(live.k_nearest(q, 3, 50_000.0, &f), fresh.k_nearest(q, 3, 50_000.0, &f));
            }
            let route = LineString::from(vec![(30.0, 48.0), (30.6, 48.7), (31.0, 48.2)]);
            prop_assert_eq!(live.check_route(&route, 300.0, &f), fresh.check_route(&route, 300.0, &f));
        }
    }
}

#[test]
fn synth_hazards_all_load_and_each_contains_its_own_vertex() {
    let c = Catalogue::builtin();
    let s = cairn_synth::Synth::new(3, cairn_synth::default_until());
    let areas: Vec<_> = (0..2000).map(|i| s.area(i)).collect();
    let idx = Index::build(areas.iter().map(|a| Hazard::from_area(a, &c)));
    assert_eq!(idx.len(), 2000);
    let all = Filter {
        statuses: Some(vec![
            Status::Reported,
            Status::Suspected,
            Status::Confirmed,
            Status::Cancelled,
            Status::Reduced,
            Status::Cleared,
            Status::Closed,
        ]),
        categories: None,
    };
    for a in &areas {
        let v = match &a.shape {
            Shape::Polygon(p) => p.exterior().0[0],
            Shape::MultiPolygon(m) => m.0[0].exterior().0[0],
            Shape::Spot { at, .. } => at.0,
            Shape::Linear { line, .. } => line.0[0],
        };
        let ans = idx.check_point(v, 0.0, &all);
        assert!(
            ans.inside.iter().any(|h| *h.id == *a.id),
            "{} does not contain its own vertex",
            a.id
        );
    }
}

#[test]
fn an_unchanged_upsert_takes_the_new_copy_of_the_shape() {
    let first = square("HA-1", 36.0, 49.0, 0.01, Status::Confirmed);
    let mut idx = Index::build(vec![first.clone()]);
    let again = Hazard {
        shape: ShapeRef::from((*first.shape).clone()),
        ..first.clone()
    };
    assert!(!ShapeRef::same_copy(&first.shape, &again.shape));
    idx.upsert(again.clone());
    let held = idx.get("HA-1").expect("still held");
    // The index holds the new copy: the old one (in the server, a replaced record) may go.
    assert!(ShapeRef::same_copy(&held.shape, &again.shape));
    let a = idx.check_point(
        Coord {
            x: 36.005,
            y: 49.005,
        },
        0.0,
        &Filter::default(),
    );
    assert_eq!(a.inside.len(), 1);
}
