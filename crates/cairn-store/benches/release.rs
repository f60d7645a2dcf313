//! Land-release operations on areas of 200 vertices: the boolean difference alone, the whole
//! release plan (clip to the activity, intersection, difference, geodesic areas, slivers), and a
//! whole release through the store (read area and activity, plan, write release and new area
//! revision, durable commit). Every figure is for one thread.
//!
//! Run with `cargo bench -p cairn-store --bench release`. With `CAIRN_BENCH_EXPORT=DIR` set it
//! benchmarks nothing and writes the same polygon pairs as `DIR/release-pairs.tsv` (WKT of the
//! area, a tab, WKT of the land released), so that bench/release.sh asks PostGIS the same.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use cairn_core::release::{
    Activity, ActivityFacts, ActivityKind, ReleaseMethod, area_m2, plan_release,
};
use cairn_core::{
    AreaProperties, Classification, Evidence, EvidenceKind, HazardArea, Shape, Status,
};
use cairn_store::prelude::*;
use cairn_store::sqlite::OpenMode;
use cairn_store::sqlite::release::{NewActivity, ReleaseRequest};
use cairn_store::{ChangeMeta, SqliteStore, Writer};
use criterion::{Criterion, Throughput};
use geo::BooleanOps;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// Polygon pairs measured.
const PAIRS: usize = 1000;
/// Vertices of each area.
const VERTICES: usize = 200;

/// A small deterministic generator (SplitMix64), so the pairs are the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` pairs: a star-shaped area of 200 vertices (radius 200 to 600 m, wobbling by up to 30 %)
/// somewhere in eastern Ukraine, and a released rectangle over part of it (a strip of 20 % to
/// 80 % of its width, as survey lanes are).
fn pairs(n: usize) -> Vec<(Polygon<f64>, Polygon<f64>)> {
    let mut r = Rng(7);
    (0..n)
        .map(|_| {
            let (lon, lat) = (35.0 + r.next() * 4.0, 47.0 + r.next() * 3.0);
            let radius = 200.0 + r.next() * 400.0;
            let kx = 111_320.0 * lat.to_radians().cos();
            let ky = 111_132.0;
            let ring: Vec<Coord<f64>> = (0..=VERTICES)
                .map(|i| {
                    let a = (i % VERTICES) as f64 / VERTICES as f64 * std::f64::consts::TAU;
                    let rr = radius * (0.7 + 0.3 * r.next());
                    Coord {
                        x: lon + rr * a.cos() / kx,
                        y: lat + rr * a.sin() / ky,
                    }
                })
                .collect();
            // Close the ring exactly.
            let mut ring = ring;
            let last = ring.len() - 1;
            ring[last] = ring[0];
            let area = Polygon::new(LineString(ring), vec![]);
            let w = radius * 2.0 * (0.2 + 0.6 * r.next());
            let offset_m = -radius + r.next() * (2.0 * radius - w);
            let left = lon + offset_m / kx;
            let right = left + w / kx;
            let (bottom, top) = (lat - 1.2 * radius / ky, lat + 1.2 * radius / ky);
            let strip = Polygon::new(
                LineString(vec![
                    Coord { x: left, y: bottom },
                    Coord {
                        x: right,
                        y: bottom,
                    },
                    Coord { x: right, y: top },
                    Coord { x: left, y: top },
                    Coord { x: left, y: bottom },
                ]),
                vec![],
            );
            (area, strip)
        })
        .collect()
}

fn wkt(p: &Polygon<f64>) -> String {
    let ring = |l: &LineString<f64>| {
        l.0.iter()
            .map(|c| format!("{} {}", c.x, c.y))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("POLYGON(({}))", ring(p.exterior()))
}

fn hazard(id: String, p: &Polygon<f64>) -> HazardArea {
    HazardArea {
        id,
        shape: Shape::Polygon(p.clone()),
        props: AreaProperties {
            name: None,
            status: Status::Suspected,
            classification: Classification::Public,
            evidence: Some(Evidence {
                kind: EvidenceKind::Indirect,
                description: Some("bench".into()),
                source: None,
            }),
            devices: vec![],
            reference_points: vec![],
            marking: None,
            organisation: None,
            reported_at: None,
            emplacement: None,
            extra: Default::default(),
        },
    }
}

fn facts(area_id: &str) -> ActivityFacts {
    ActivityFacts {
        kind: ActivityKind::NonTechnicalSurvey,
        area_id: area_id.to_string(),
        organisation: "Bench".into(),
        team: None,
        started: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
        ended: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
        devices: vec![],
        outcome: None,
        participants: None,
    }
}

fn main() {
    let data = pairs(PAIRS);
    if let Some(dir) = std::env::var_os("CAIRN_BENCH_EXPORT") {
        let path = std::path::Path::new(&dir).join("release-pairs.tsv");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create export"));
        for (a, b) in &data {
            writeln!(f, "{}\t{}", wkt(a), wkt(b)).expect("write export");
        }
        f.flush().expect("flush export");
        eprintln!("wrote {} pairs to {}", data.len(), path.display());
        return;
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .sample_size(10);
    let mut g = c.benchmark_group("release-200-vertices");
    g.throughput(Throughput::Elements(PAIRS as u64));
    g.bench_function("difference", |b| {
        b.iter(|| {
            for (a, s) in &data {
                black_box(a.difference(s));
            }
        })
    });
    let areas: Vec<HazardArea> = data
        .iter()
        .enumerate()
        .map(|(i, (a, _))| hazard(format!("HA-{i:06}"), a))
        .collect();
    let activities: Vec<Activity> = data
        .iter()
        .enumerate()
        .map(|(i, (_, s))| Activity {
            id: format!("ACT-{i:06}"),
            facts: facts(&format!("HA-{i:06}")),
            geometry: MultiPolygon(vec![s.clone()]),
        })
        .collect();
    g.bench_function(
        "plan (clip, intersection, difference, ellipsoidal areas)",
        |b| {
            b.iter(|| {
                for ((a, act), (_, s)) in areas.iter().zip(&activities).zip(&data) {
                    let p = plan_release(
                        a,
                        act,
                        ReleaseMethod::Cancel,
                        &MultiPolygon(vec![s.clone()]),
                    );
                    black_box(p.map(|p| p.released_m2).unwrap_or(0.0));
                }
            })
        },
    );
    g.finish();
    c.final_summary();

    // A whole release through the store with durable commits (synchronous=FULL), once per area:
    // each area is released once, so this is a timed loop rather than a criterion benchmark.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store =
        SqliteStore::open(&dir.path().join("bench.db"), OpenMode::Create).expect("store");
    let mut w = store
        .begin(ChangeMeta {
            author: "bench".into(),
            reason: "areas".into(),
            source: None,
        })
        .expect("begin");
    for a in &areas {
        w.put_area(a).expect("put");
    }
    w.commit().expect("commit");
    let catalogue = cairn_core::Catalogue::builtin();
    let mut ids = Vec::new();
    for (a, s) in areas.iter().zip(&data) {
        let act = store
            .add_activity(
                &NewActivity {
                    facts: facts(&a.id),
                    geometry: MultiPolygon(vec![s.1.clone()]),
                },
                &catalogue,
                "bench",
            )
            .expect("activity");
        ids.push(act.id);
    }
    let started = Instant::now();
    let mut released = 0.0;
    for ((a, s), act) in areas.iter().zip(&data).zip(&ids) {
        let out = store
            .release_land(
                &ReleaseRequest {
                    area_id: a.id.clone(),
                    method: ReleaseMethod::Cancel,
                    activity_id: act.clone(),
                    geometry: MultiPolygon(vec![s.1.clone()]),
                    reason: None,
                },
                "bench",
            )
            .expect("release");
        released += out.release.facts.released_m2;
    }
    let secs = started.elapsed().as_secs_f64();
    let total: f64 = areas
        .iter()
        .map(|a| {
            area_m2(&MultiPolygon(vec![match &a.shape {
                Shape::Polygon(p) => p.clone(),
                _ => unreachable!(),
            }]))
        })
        .sum();
    println!(
        "store release (read, plan, write, durable commit): {} releases in {secs:.3} s = {:.0} per second; released {:.1} % of {:.0} m²",
        areas.len(),
        areas.len() as f64 / secs,
        100.0 * released / total,
        total
    );
}
