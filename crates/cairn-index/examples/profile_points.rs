//! A profiling aid: builds the index over 1,000,000 synthetic areas (seed 1), then runs place
//! checks at points near hazards, anywhere in the data's box, or both, or the benchmark's
//! 100 km route, for the given number of seconds, so that `perf record -D` (delayed past the
//! set-up) sees only queries. Prints what the queries met, and wall and CPU time per query
//! (CPU time counts only this process, so it stays meaningful on a shared machine).
//!
//! Run with `cargo run --release -p cairn-index --example profile_points [-- SECONDS
//! [near|random|both|route]]`; `NPTS` sets the number of query points (default 20,000).

use std::time::Instant;

use cairn_core::Catalogue;
use cairn_index::{Filter, Hazard, Index};
use cairn_synth::{Synth, default_until};
use geo_types::Coord;

/// User CPU seconds of this process so far (from /proc/self/stat), so that figures taken while
/// other work shares the machine count only this process's time.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let utime: f64 = after
        .split_whitespace()
        .nth(11)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    utime / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let kind = args.get(2).cloned().unwrap_or_else(|| "both".into());
    let synth = Synth::new(1, default_until());
    let catalogue = Catalogue::builtin();
    let t0 = Instant::now();
    let hazards: Vec<Hazard> = std::thread::scope(|s| {
        let parts: Vec<_> = (0..2u64)
            .map(|t| {
                let (synth, catalogue) = (&synth, &catalogue);
                s.spawn(move || {
                    (t * 500_000..(t + 1) * 500_000)
                        .map(|i| Hazard::from_area(&synth.area(i), catalogue))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("generator thread"))
            .collect()
    });
    eprintln!("generated in {:.1} s", t0.elapsed().as_secs_f64());
    let t1 = Instant::now();
    let idx = Index::build(hazards.iter().cloned());
    eprintln!(
        "index built in {:.1} s; queries from {:.1} s after the start",
        t1.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    let mut seed = 7u64;
    let mut unit = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut points = Vec::new();
    let npts: usize = std::env::var("NPTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    for i in 0..npts {
        let near = match kind.as_str() {
            "near" => true,
            "random" => false,
            _ => i % 2 == 0,
        };
        let at = if near {
            let h = &hazards[(unit() * hazards.len() as f64) as usize];
            let c = h
                .shape
                .bbox()
                .map(|r| r.center())
                .unwrap_or(Coord { x: 0.0, y: 0.0 });
            let (d, b) = (unit() * 300.0, unit() * std::f64::consts::TAU);
            Coord {
                x: c.x + d * b.sin() / (111_320.0 * c.y.to_radians().cos()),
                y: c.y + d * b.cos() / 110_574.0,
            }
        } else {
            Coord {
                x: 22.0 + unit() * 18.5,
                y: 44.3 + unit() * 8.1,
            }
        };
        points.push(at);
    }
    let f = Filter::default();
    if kind == "route" {
        let line = geo_types::LineString::from(vec![
            (37.80, 48.00),
            (37.96, 48.04),
            (38.05, 48.30),
            (37.71, 48.53),
            (37.5878, 48.7086),
        ]);
        let a = idx.check_route(&line, 500.0, &f);
        println!(
            "route: {} hazards, {:.1} m at risk",
            a.hazards.len(),
            a.at_risk_m
        );
        let (t, cpu0) = (Instant::now(), cpu_s());
        let mut n = 0;
        while t.elapsed().as_secs_f64() < secs {
            std::hint::black_box(idx.check_route(&line, 500.0, &f));
            n += 1;
        }
        println!(
            "{n} routes: {:.2} ms wall, {:.2} ms CPU each",
            t.elapsed().as_secs_f64() * 1e3 / n as f64,
            (cpu_s() - cpu0) * 1e3 / n as f64
        );
        // As below: dropping a million hazards is not part of a route.
        std::process::exit(0);
    }
    let mut verts = 0usize;
    let (mut cands, mut inside, mut nearest_m, mut with_nearest) = (0usize, 0usize, 0.0, 0usize);
    for &q in &points {
        let c = idx.in_bbox(
            Coord {
                x: q.x - 0.0005,
                y: q.y - 0.0003,
            },
            Coord {
                x: q.x + 0.0005,
                y: q.y + 0.0003,
            },
            &f,
        );
        cands += c.len();
        for h in &c {
            verts += match &*h.shape {
                cairn_core::Shape::Polygon(p) => {
                    p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
                }
                cairn_core::Shape::MultiPolygon(m) => {
                    m.0.iter().map(|p| p.exterior().0.len()).sum()
                }
                cairn_core::Shape::Linear { line, .. } => line.0.len(),
                _ => 1,
            };
        }
        let a = idx.check_point(q, 25.0, &f);
        inside += usize::from(!a.inside.is_empty());
        if let Some(n) = a.nearest {
            nearest_m += n.distance_m;
            with_nearest += 1;
        }
    }
    println!(
        "{:.1} vertices per candidate",
        verts as f64 / cands.max(1) as f64
    );
    println!(
        "{} points: {:.2} candidates per 25 m box, {} inside, mean nearest {:.0} m over {}",
        points.len(),
        cands as f64 / points.len() as f64,
        inside,
        nearest_m / with_nearest.max(1) as f64,
        with_nearest
    );
    let (bytes, (leaves, vertices, words)) = idx.grid_census();
    eprintln!(
        "grid: {} MiB, {leaves} leaves, {vertices} vertices, {words} words",
        bytes >> 20
    );
    let t = Instant::now();
    let cpu0 = cpu_s();
    let (mut n, mut checks) = (0usize, 0usize);
    while t.elapsed().as_secs_f64() < secs {
        for &q in &points {
            n += idx.check_point(q, 25.0, &f).inside.len();
        }
        checks += points.len();
    }
    let s = t.elapsed().as_secs_f64();
    let cpu = cpu_s() - cpu0;
    println!(
        "CPU {cpu:.1} s: {:.2} µs of CPU each",
        cpu * 1e6 / checks as f64
    );
    println!(
        "{checks} checks ({n} hits) in {s:.1} s: {:.2} µs each, {:.0} per second",
        s * 1e6 / checks as f64,
        checks as f64 / s
    );
    // Dropping a million hazards takes seconds that perf would count as query time.
    std::process::exit(0);
}
