//! The point-location grid against a brute-force scan of every hazard with the per-hazard
//! predicates (`distance::contains` and `distance::closest`): the same hazards inside, the same
//! within the accuracy, the same distances. The places include every kind the grid's parity
//! argument has to survive: vertices, edge points, places on leaf and tile borders, hazards whose
//! vertices and edges lie on those borders, holes and multipolygon parts, spots and tracks; and the
//! grid is checked again after hazards are edited, removed and added in place.

use cairn_core::{Catalogue, Shape, Status};
use cairn_index::distance::{closest, contains};
use cairn_index::{Filter, Hazard, Index, ShapeRef, geodesy};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};

/// SplitMix64, so the test needs no extra dependency and always sees the same places.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A hazard with its covering box, worked out once.
type Boxed<'a> = (&'a Hazard, Rect<f64>);

fn boxed(hazards: &[Hazard]) -> Vec<Boxed<'_>> {
    hazards
        .iter()
        .map(|h| (h, h.shape.covering_bbox().expect("a box")))
        .collect()
}

/// What a brute-force scan of every hazard finds: ids inside, and (id, distance) within.
fn brute(
    hazards: &[Boxed<'_>],
    q: Coord<f64>,
    acc: f64,
    f: &Filter,
) -> (Vec<String>, Vec<(String, f64)>) {
    let (dlat, dlon) = geodesy::degrees_covering(acc, q.y);
    let mut inside = Vec::new();
    let mut within = Vec::new();
    for &(h, b) in hazards.iter().filter(|(h, _)| f.admits(h)) {
        if q.x < b.min().x - dlon
            || q.x > b.max().x + dlon
            || q.y < b.min().y - dlat
            || q.y > b.max().y + dlat
        {
            continue;
        }
        let polygon = matches!(*h.shape, Shape::Polygon(_) | Shape::MultiPolygon(_));
        if polygon {
            if contains(&h.shape, q) {
                inside.push(h.id.to_string());
            } else if acc > 0.0 {
                let d = closest(&h.shape, q).distance_m;
                if d <= acc {
                    within.push((h.id.to_string(), d));
                }
            }
        } else {
            let d = closest(&h.shape, q).distance_m;
            if d == 0.0 {
                inside.push(h.id.to_string());
            } else if d <= acc {
                within.push((h.id.to_string(), d));
            }
        }
    }
    inside.sort();
    within.sort_by(|a, b| a.0.cmp(&b.0));
    (inside, within)
}

/// The nearest admitted hazard within 50 km by a scan of every hazard: (id, metres), ties to the
/// smaller id. Hazards are measured in order of a lower bound on their distance (from their
/// covering boxes), and the scan stops once that bound passes the best found.
fn brute_nearest(hazards: &[Boxed<'_>], q: Coord<f64>, f: &Filter) -> Option<(String, f64)> {
    let plane = geodesy::LocalPlane::at(q);
    let mut order: Vec<(f64, &Hazard)> = hazards
        .iter()
        .filter(|(h, _)| f.admits(h))
        .map(|&(h, b)| {
            (
                geodesy::LocalPlane::lower_bound(plane.distance_to_box(b.min(), b.max())),
                h,
            )
        })
        .filter(|(lb, _)| *lb <= 50_000.0)
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(String, f64)> = None;
    for (lb, h) in order {
        if best.as_ref().is_some_and(|(_, b)| lb > *b) {
            break;
        }
        let d = closest(&h.shape, q).distance_m;
        if d > 50_000.0 {
            continue;
        }
        let better = match &best {
            None => true,
            Some((id, b)) => d < *b || (d == *b && *h.id < **id),
        };
        if better {
            best = Some((h.id.to_string(), d));
        }
    }
    best
}

/// Compares the index with the brute-force scan at one place; returns how many hazards it hit.
fn agree(idx: &Index, hazards: &[Boxed<'_>], q: Coord<f64>, acc: f64, f: &Filter) -> usize {
    let a = idx.check_point(q, acc, f);
    let (inside, within) = brute(hazards, q, acc, f);
    if inside.is_empty() && within.is_empty() {
        // The nearest hazard, found by the grid's site map (or the tree) against every hazard.
        let got = a.nearest.as_ref().map(|n| (n.id.to_string(), n.distance_m));
        let want = brute_nearest(hazards, q, f);
        match (&got, &want) {
            (Some((gi, gd)), Some((wi, wd))) => {
                assert!(
                    (gd - wd).abs() < 1e-3,
                    "nearest to {q:?}: {gi} at {gd} m, not {wi} at {wd} m"
                );
                // Another hazard as near, to the millimetre, may be named instead.
                if gi != wi {
                    let other = hazards
                        .iter()
                        .find(|(h, _)| *h.id == **gi)
                        .expect("a hazard")
                        .0;
                    let od = closest(&other.shape, q).distance_m;
                    assert!(
                        (od - wd).abs() < 1e-3,
                        "nearest to {q:?}: {gi} at {od} m, not {wi} at {wd} m"
                    );
                }
            }
            (None, None) => {}
            _ => panic!("nearest to {q:?}: {got:?}, not {want:?}"),
        }
    }
    let mut got: Vec<String> = a.inside.iter().map(|h| h.id.to_string()).collect();
    got.sort();
    assert_eq!(got, inside, "inside at {q:?} (accuracy {acc} m)");
    let mut near: Vec<(String, f64)> = a
        .within_accuracy
        .iter()
        .map(|n| (n.id.to_string(), n.distance_m))
        .collect();
    near.sort_by(|a, b| a.0.cmp(&b.0));
    // A hazard within a millimetre of the radius may fall either side; all others must match.
    let borderline = |d: f64| (d - acc).abs() < 1e-3;
    let strict = |v: &[(String, f64)]| -> Vec<String> {
        v.iter()
            .filter(|(_, d)| !borderline(*d))
            .map(|(id, _)| id.clone())
            .collect()
    };
    assert_eq!(strict(&near), strict(&within), "within {acc} m of {q:?}");
    for (id, d) in &near {
        if let Some((_, e)) = within.iter().find(|(j, _)| j == id) {
            assert!((d - e).abs() < 1e-3, "{id} at {q:?}: {d} m against {e} m");
        }
    }
    got.len() + near.len()
}

/// Leaf borders: multiples of 1/(64·2^L) degrees of longitude and 1/(128·2^L) of latitude.
fn snap(v: f64, per_degree: f64) -> f64 {
    (v * per_degree).round() / per_degree
}

fn ring(pts: &[(f64, f64)]) -> LineString<f64> {
    let mut v: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
    v.push(v[0]);
    LineString::from(v)
}

/// Hazards drawn on the grid's own lines: vertices and edges on leaf and tile borders, a hole
/// whose edges lie on borders, a multipolygon whose parts touch at a border corner, a diagonal
/// through leaf corners, a spot centred on a corner and a track along a border.
fn on_the_lines() -> Vec<Hazard> {
    let (x0, y0) = (36.0, 48.0);
    let gx = |k: f64| x0 + k / 2048.0;
    let gy = |k: f64| y0 + k / 4096.0;
    let poly = |id: &str, outer: Vec<(f64, f64)>, holes: Vec<Vec<(f64, f64)>>| Hazard {
        id: id.into(),
        status: Status::Confirmed,
        categories: 1,
        shape: ShapeRef::from(Shape::Polygon(Polygon::new(
            ring(&outer),
            holes.iter().map(|h| ring(h)).collect(),
        ))),
    };
    vec![
        poly(
            "L-square-hole",
            vec![
                (gx(2.0), gy(3.0)),
                (gx(40.0), gy(3.0)),
                (gx(40.0), gy(45.0)),
                (gx(2.0), gy(45.0)),
            ],
            vec![vec![
                (gx(10.0), gy(10.0)),
                (gx(10.0), gy(20.0)),
                (gx(20.0), gy(20.0)),
                (gx(20.0), gy(10.0)),
            ]],
        ),
        poly(
            "L-diagonal",
            vec![
                (gx(50.0), gy(0.0)),
                (gx(90.0), gy(80.0)),
                (gx(50.0), gy(80.0)),
            ],
            vec![],
        ),
        poly(
            "L-notch",
            vec![
                (gx(100.0), gy(0.0)),
                (gx(164.0), gy(0.0)),
                (gx(164.0), gy(64.0)),
                (gx(132.0), gy(32.0)),
                (gx(100.0), gy(64.0)),
            ],
            vec![],
        ),
        Hazard {
            id: "L-multi".into(),
            status: Status::Suspected,
            categories: 2,
            shape: ShapeRef::from(Shape::MultiPolygon(MultiPolygon(vec![
                Polygon::new(
                    ring(&[
                        (gx(0.0), gy(100.0)),
                        (gx(32.0), gy(100.0)),
                        (gx(32.0), gy(132.0)),
                        (gx(0.0), gy(132.0)),
                    ]),
                    vec![],
                ),
                Polygon::new(
                    ring(&[
                        (gx(32.0), gy(132.0)),
                        (gx(64.0), gy(132.0)),
                        (gx(64.0), gy(164.0)),
                        (gx(32.0), gy(164.0)),
                    ]),
                    vec![],
                ),
            ]))),
        },
        // A sliver along a tile border, one leaf high.
        poly(
            "L-sliver",
            vec![
                (gx(-20.0), gy(-1.0)),
                (gx(20.0), gy(-1.0)),
                (gx(20.0), gy(0.0)),
                (gx(-20.0), gy(0.0)),
            ],
            vec![],
        ),
        Hazard {
            id: "L-spot".into(),
            status: Status::Confirmed,
            categories: 8,
            shape: ShapeRef::from(Shape::Spot {
                at: Point::new(gx(64.0), gy(128.0)),
                radius_m: 30.0,
            }),
        },
        Hazard {
            id: "L-track".into(),
            status: Status::Reduced,
            categories: 1,
            shape: ShapeRef::from(Shape::Linear {
                line: LineString::from(vec![
                    (gx(70.0), gy(100.0)),
                    (gx(130.0), gy(100.0)),
                    (gx(130.0), gy(160.0)),
                ]),
                width_m: 12.0,
            }),
        },
    ]
}

/// Places that stress the grid for a set of hazards: near their middles, on their vertices and
/// edges, and on leaf and tile borders at every level.
fn places(hazards: &[Hazard], rng: &mut Rng, n: usize) -> Vec<Coord<f64>> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let h = &hazards[rng.below(hazards.len())];
        let b = h.shape.covering_bbox().expect("a box");
        let c = b.center();
        let kind = rng.below(7);
        let mut q = match kind {
            6 => {
                // Anywhere within about 60 km of the hazard: places whose nearest hazard is far.
                let (d, t) = (rng.unit() * 60_000.0, rng.unit() * std::f64::consts::TAU);
                Coord {
                    x: c.x + d * t.sin() / (111_320.0 * c.y.to_radians().cos()),
                    y: c.y + d * t.cos() / 110_574.0,
                }
            }
            0 | 1 => {
                let (d, t) = (rng.unit() * 400.0, rng.unit() * std::f64::consts::TAU);
                Coord {
                    x: c.x + d * t.sin() / (111_320.0 * c.y.to_radians().cos()),
                    y: c.y + d * t.cos() / 110_574.0,
                }
            }
            _ => {
                let pts: Vec<Coord<f64>> = match &*h.shape {
                    Shape::Polygon(p) => p
                        .exterior()
                        .0
                        .iter()
                        .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
                        .copied()
                        .collect(),
                    Shape::MultiPolygon(m) => {
                        m.0.iter()
                            .flat_map(|p| p.exterior().0.iter())
                            .copied()
                            .collect()
                    }
                    Shape::Spot { at, .. } => vec![at.0],
                    Shape::Linear { line, .. } => line.0.clone(),
                };
                let i = rng.below(pts.len());
                if kind == 2 || pts.len() < 2 {
                    pts[i]
                } else {
                    // A point on an edge, as floating point has it.
                    let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
                    let t = rng.unit();
                    Coord {
                        x: a.x + t * (b.x - a.x),
                        y: a.y + t * (b.y - a.y),
                    }
                }
            }
        };
        // Half the places are moved onto a border of some level, in x, y or both.
        if rng.below(2) == 0 {
            let level = rng.below(6) as i32;
            let (sx, sy) = (64.0 * 2f64.powi(level), 128.0 * 2f64.powi(level));
            match rng.below(3) {
                0 => q.x = snap(q.x, sx),
                1 => q.y = snap(q.y, sy),
                _ => {
                    q.x = snap(q.x, sx);
                    q.y = snap(q.y, sy);
                }
            }
        }
        out.push(q);
    }
    out
}

/// Synthetic hazards in and around Donetsk, where they are densest, plus those on the grid's lines.
fn data() -> Vec<Hazard> {
    let c = Catalogue::builtin();
    let s = cairn_synth::Synth::new(5, cairn_synth::default_until());
    let mut hazards: Vec<Hazard> = (0..60_000)
        .map(|i| s.area(i))
        .filter(|a| {
            a.shape.bbox().is_some_and(|b| {
                let m = b.center();
                (37.3..38.4).contains(&m.x) && (47.7..48.6).contains(&m.y)
            })
        })
        .map(|a| Hazard::from_area(&a, &c))
        .collect();
    hazards.extend(on_the_lines());
    hazards
}

#[test]
fn grid_agrees_with_a_brute_force_scan() {
    let hazards = data();
    assert!(
        hazards.len() > 1_000,
        "only {} hazards near Donetsk",
        hazards.len()
    );
    let idx = Index::build(hazards.iter().cloned());
    let mut rng = Rng(0x6a1d);
    let (open, all) = (Filter::default(), Filter::every_status());
    let mut hits = 0;
    let qs = places(&hazards, &mut rng, 30_000);
    let b = boxed(&hazards);
    for (i, &q) in qs.iter().enumerate() {
        let acc = [0.0, 0.0, 5.0, 25.0, 120.0][i % 5];
        let f = if i % 3 == 0 { &all } else { &open };
        hits += agree(&idx, &b, q, acc, f);
    }
    // The places must meet hazards often, or the comparison proves little.
    assert!(hits > 30_000, "only {hits} hits over {} places", qs.len());
}

/// Moves a third of the hazards by up to 100 m and changes their status; removes a tenth; adds
/// copies of others shifted by half a leaf, so that tiles grow and some are cut finer; writes
/// some again unchanged. `hazards` ends as what the index should hold.
fn edit_many(idx: &mut Index, hazards: &mut Vec<Hazard>, rng: &mut Rng) {
    let n = hazards.len();
    for i in 0..n {
        match rng.below(10) {
            0..=2 => {
                let (dx, dy) = ((rng.unit() - 0.5) * 0.0025, (rng.unit() - 0.5) * 0.0018);
                let mut h = hazards[i].clone();
                h.shape = shift(&h.shape, dx, dy).into();
                h.status = [Status::Suspected, Status::Confirmed, Status::Cleared][rng.below(3)];
                idx.upsert(h.clone());
                hazards[i] = h;
            }
            3 => {
                assert!(idx.remove(&hazards[i].id));
                hazards[i].id = "".into();
            }
            4 => {
                let mut h = hazards[rng.below(n)].clone();
                if h.id.is_empty() {
                    continue;
                }
                h.id = format!("{}-copy-{i}", h.id).into();
                h.shape = shift(&h.shape, 1.0 / 4096.0, 1.0 / 8192.0).into();
                idx.upsert(h.clone());
                hazards.push(h);
            }
            // Written again unchanged: nothing may move.
            5 if !hazards[i].id.is_empty() => idx.upsert(hazards[i].clone()),
            _ => {}
        }
    }
    hazards.retain(|h| !h.id.is_empty());
    assert_eq!(idx.len(), hazards.len());
}

/// Compares the index with the brute-force scan at `n` places; returns the hits.
fn agree_at_places(idx: &Index, hazards: &[Hazard], rng: &mut Rng, n: usize) -> usize {
    let (open, all) = (Filter::default(), Filter::every_status());
    let mut hits = 0;
    let b = boxed(hazards);
    for (i, q) in places(hazards, rng, n).into_iter().enumerate() {
        let acc = [0.0, 25.0, 120.0][i % 3];
        hits += agree(idx, &b, q, acc, if i % 2 == 0 { &all } else { &open });
    }
    hits
}

#[test]
fn grid_kept_current_agrees_with_a_brute_force_scan() {
    let mut hazards = data();
    let mut idx = Index::build(hazards.iter().cloned());
    let mut rng = Rng(0xed17);
    edit_many(&mut idx, &mut hazards, &mut rng);
    let hits = agree_at_places(&idx, &hazards, &mut rng, 15_000);
    assert!(hits > 15_000, "only {hits} hits");
}

#[test]
fn grid_built_apart_takes_the_writes_made_while_it_was_built() {
    // The service's start: the index answers from its tree while its grid is built on another
    // thread from a plan; writes arrive meanwhile; the grid, once installed, holds them.
    let mut hazards = data();
    let mut idx = Index::build_without_grid(hazards.iter().cloned());
    let plan = idx.grid_plan().expect("no grid yet");
    assert_eq!(plan.len(), hazards.len());
    assert!(idx.grid_pending() && !idx.has_grid());
    let mut rng = Rng(0xa9a7);
    edit_many(&mut idx, &mut hazards, &mut rng);
    // Meanwhile the tree answers, exactly.
    let hits = agree_at_places(&idx, &hazards, &mut rng, 3_000);
    assert!(hits > 3_000, "only {hits} hits before the grid");
    let built = std::thread::spawn(move || plan.build(2))
        .join()
        .expect("built");
    assert!(idx.install_grid(built));
    assert!(idx.has_grid() && !idx.grid_pending());
    let hits = agree_at_places(&idx, &hazards, &mut rng, 15_000);
    assert!(hits > 15_000, "only {hits} hits");
    // And it goes on taking writes in place.
    edit_many(&mut idx, &mut hazards, &mut rng);
    let hits = agree_at_places(&idx, &hazards, &mut rng, 6_000);
    assert!(hits > 6_000, "only {hits} hits after more writes");
    // An index with its grid plans none.
    assert!(idx.grid_plan().is_none());
}

#[test]
fn a_grid_from_a_superseded_plan_is_not_installed() {
    let hazards = data();
    let mut idx = Index::build_without_grid(hazards.iter().cloned());
    let first = idx.grid_plan().expect("no grid yet");
    let second = idx.grid_plan().expect("no grid yet");
    assert!(!idx.install_grid(first.build(1)));
    assert!(!idx.has_grid() && idx.grid_pending());
    assert!(idx.install_grid(second.build(1)));
    assert!(idx.has_grid());
    let mut rng = Rng(0x5e7e);
    let hits = agree_at_places(&idx, &hazards, &mut rng, 3_000);
    assert!(hits > 3_000, "only {hits} hits");
}

fn shift(s: &Shape, dx: f64, dy: f64) -> Shape {
    use geo::Translate;
    match s {
        Shape::Polygon(p) => Shape::Polygon(p.translate(dx, dy)),
        Shape::MultiPolygon(m) => Shape::MultiPolygon(m.translate(dx, dy)),
        Shape::Spot { at, radius_m } => Shape::Spot {
            at: at.translate(dx, dy),
            radius_m: *radius_m,
        },
        Shape::Linear { line, width_m } => Shape::Linear {
            line: line.translate(dx, dy),
            width_m: *width_m,
        },
    }
}

#[test]
fn of_two_hazards_with_one_id_at_build_the_later_stays() {
    let original = data();
    let mut rng = Rng(0xd0b1);
    // Every fifth hazard appears twice: the copy, moved up to 2 km either way (so that it sits
    // before or after the original in the slots' Hilbert order) and with another status, comes
    // first or last in the input at random. The later of the two must be what the index holds.
    let mut input = Vec::new();
    let mut kept = Vec::new();
    for h in &original {
        if rng.below(5) != 0 {
            input.push(h.clone());
            kept.push(h.clone());
            continue;
        }
        let mut copy = h.clone();
        copy.shape = shift(
            &h.shape,
            (rng.unit() - 0.5) * 0.05,
            (rng.unit() - 0.5) * 0.036,
        )
        .into();
        copy.status = if h.status == Status::Confirmed {
            Status::Suspected
        } else {
            Status::Confirmed
        };
        let (first, last) = if rng.below(2) == 0 {
            (h.clone(), copy)
        } else {
            (copy, h.clone())
        };
        input.push(first);
        kept.push(last.clone());
        input.push(last);
    }
    assert!(input.len() > kept.len() + 200, "too few duplicates");
    let idx = Index::build(input);
    assert_eq!(idx.len(), kept.len());
    for h in &kept {
        let held = idx.get(&h.id).expect("every id held");
        assert_eq!(held.shape, h.shape, "{}: the earlier shape was kept", h.id);
        assert_eq!(
            held.status, h.status,
            "{}: the earlier status was kept",
            h.id
        );
    }
    let b = boxed(&kept);
    let all = Filter::every_status();
    let mut hits = 0;
    for (i, q) in places(&kept, &mut rng, 5_000).into_iter().enumerate() {
        hits += agree(&idx, &b, q, [0.0, 25.0][i % 2], &all);
    }
    assert!(hits > 5_000, "only {hits} hits");
}
