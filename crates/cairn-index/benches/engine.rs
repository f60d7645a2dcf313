//! Criterion benchmarks of the spatial engine on 1,000,000 synthetic areas (seed 1, the same
//! areas as `cairn synth --areas 1000000 --seed 1`): building the index, place checks on a fixed
//! set of query points, a 100 km route check with a 500 m corridor through the densest
//! clusters, and the ten nearest hazards within 5 km. Every figure is for one thread (one core).
//!
//! Run with `cargo bench -p cairn-index --bench engine`. With `CAIRN_BENCH_EXPORT=DIR` set it
//! benchmarks nothing and instead writes the query points (`DIR/points-100000.csv`) and the route
//! (`DIR/route.wkt`), so that bench/postgis.sh asks PostGIS exactly the same questions.

use std::hint::black_box;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cairn_core::Catalogue;
use cairn_index::{Filter, Hazard, Index};
use cairn_synth::{Synth, default_until};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use geo_types::{Coord, LineString, Rect};

/// How many synthetic areas.
const AREAS: u64 = 1_000_000;
/// The synthetic data set's seed, as `cairn synth --seed 1`.
const SYNTH_SEED: u64 = 1;
/// How many query points; half near a hazard, half anywhere in the data's bounding box.
const POINTS: usize = 100_000;
/// How many of them (the first ones) the place and nearest benchmarks and the summary use, as
/// bench/postgis.sh does inside the database: one pass over them takes about 20 s.
const MEASURED: usize = 20_000;
/// The query points' seed.
const POINT_SEED: u64 = 0x00ca_17b0_0001;
/// Farthest a "near" query point lies from its hazard's bounding-box centre, in metres.
const NEAR_M: f64 = 300.0;
/// Donetsk, Makiivka, Horlivka, Kostiantynivka and on towards Kramatorsk: about 100 km through the
/// densest synthetic clusters. bench/postgis.sh reads the same vertices from `route.wkt`.
const ROUTE: [(f64, f64); 5] = [
    (37.80, 48.00),
    (37.96, 48.04),
    (38.05, 48.30),
    (37.71, 48.53),
    (37.5878, 48.7086),
];
/// The route corridor's total width in metres.
const ROUTE_WIDTH_M: f64 = 500.0;

/// The 1,000,000 hazards, generated once per process on every core.
fn hazards() -> &'static Vec<Hazard> {
    static H: OnceLock<Vec<Hazard>> = OnceLock::new();
    H.get_or_init(|| {
        let t = Instant::now();
        let synth = Synth::new(SYNTH_SEED, default_until());
        let catalogue = Catalogue::builtin();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
        let chunk = AREAS.div_ceil(threads);
        let parts: Vec<Vec<Hazard>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (synth, catalogue) = (&synth, &catalogue);
                    s.spawn(move || {
                        let (from, to) = (t * chunk, ((t + 1) * chunk).min(AREAS));
                        (from..to)
                            .map(|i| Hazard::from_area(&synth.area(i), catalogue))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a generator thread panicked"))
                .collect()
        });
        let mut all = Vec::with_capacity(AREAS as usize);
        for p in parts {
            all.extend(p);
        }
        eprintln!(
            "engine: generated {} hazards in {:.1} s",
            all.len(),
            t.elapsed().as_secs_f64()
        );
        all
    })
}

/// The index over all hazards, built once for the query benchmarks.
fn index() -> &'static Index {
    static I: OnceLock<Index> = OnceLock::new();
    I.get_or_init(|| Index::build(hazards().iter().cloned()))
}

/// SplitMix64: a small seeded generator, so the points need no extra dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A query point and whether it was placed near a hazard.
#[derive(Clone, Copy)]
struct Query {
    at: Coord<f64>,
    near: bool,
}

/// The bounding box of every hazard's base geometry.
fn data_bbox(hazards: &[Hazard]) -> Rect<f64> {
    let (mut min, mut max) = (
        Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        },
        Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        },
    );
    for r in hazards.iter().filter_map(|h| h.shape.bbox()) {
        min = Coord {
            x: min.x.min(r.min().x),
            y: min.y.min(r.min().y),
        };
        max = Coord {
            x: max.x.max(r.max().x),
            y: max.y.max(r.max().y),
        };
    }
    Rect::new(min, max)
}

/// The 100,000 query points: even ones within 300 m of a random hazard's bounding-box centre,
/// odd ones uniformly random in the data's bounding box. Rounded to 1e-7 degrees, as exported.
fn queries() -> &'static Vec<Query> {
    static Q: OnceLock<Vec<Query>> = OnceLock::new();
    Q.get_or_init(|| {
        let hazards = hazards();
        let bbox = data_bbox(hazards);
        let mut rng = Rng(POINT_SEED);
        let round = |v: f64| (v * 1e7).round() / 1e7;
        (0..POINTS)
            .map(|i| {
                let at = if i % 2 == 0 {
                    let h = &hazards[(rng.next_u64() % hazards.len() as u64) as usize];
                    let c = h
                        .shape
                        .bbox()
                        .map_or(Coord { x: 0.0, y: 0.0 }, |r| r.center());
                    let (d, b) = (rng.unit() * NEAR_M, rng.unit() * std::f64::consts::TAU);
                    Coord {
                        x: c.x + d * b.sin() / (111_320.0 * c.y.to_radians().cos()),
                        y: c.y + d * b.cos() / 110_574.0,
                    }
                } else {
                    Coord {
                        x: bbox.min().x + rng.unit() * bbox.width(),
                        y: bbox.min().y + rng.unit() * bbox.height(),
                    }
                };
                Query {
                    at: Coord {
                        x: round(at.x),
                        y: round(at.y),
                    },
                    near: i % 2 == 0,
                }
            })
            .collect()
    })
}

fn route() -> LineString<f64> {
    LineString::from(ROUTE.to_vec())
}

/// Writes the query points and the route for bench/postgis.sh.
fn export(dir: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = format!("{dir}/points-{POINTS}.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for (i, q) in queries().iter().enumerate() {
        let kind = if q.near { "near" } else { "random" };
        writeln!(f, "{},{kind},{},{}", i + 1, q.at.x, q.at.y)?;
    }
    f.flush()?;
    let wkt: Vec<String> = ROUTE.iter().map(|(x, y)| format!("{x} {y}")).collect();
    std::fs::write(
        format!("{dir}/route.wkt"),
        format!("LINESTRING({})\n", wkt.join(",")),
    )?;
    eprintln!("engine: wrote {path} and {dir}/route.wkt");
    Ok(())
}

/// Prints what the queries find over the measured points, so that PostGIS's answers (over the
/// same points, in bench/postgis.sh) can be compared with Cairn's.
fn summary() {
    let (idx, f) = (index(), Filter::default());
    let qs = &queries()[..MEASURED];
    let (mut inside_pairs, mut near_pairs, mut points_inside, mut with_nearest) = (0, 0, 0, 0);
    let mut inside0 = 0;
    for q in qs {
        let a = idx.check_point(q.at, 25.0, &f);
        inside_pairs += a.inside.len();
        near_pairs += a.within_accuracy.len();
        points_inside += usize::from(!a.inside.is_empty());
        with_nearest += usize::from(a.nearest.is_some());
        inside0 += idx.check_point(q.at, 0.0, &f).inside.len();
    }
    eprintln!(
        "engine: {} hazards indexed; first {MEASURED} query points: {points_inside} points inside an \
         open hazard; {inside0} (point, hazard) pairs inside at accuracy 0; at accuracy 25 m, \
         {inside_pairs} pairs inside and {near_pairs} more within 25 m, {with_nearest} points with \
         a nearest hazard within 50 km",
        idx.len()
    );
    let r = idx.check_route(&route(), ROUTE_WIDTH_M, &f);
    eprintln!(
        "engine: route {:.0} m long, corridor {ROUTE_WIDTH_M} m: {} hazards touched, {:.0} m at risk",
        r.length_m,
        r.hazards.len(),
        r.at_risk_m
    );
}

/// Benchmarks one query per iteration, taking the points of `set` in turn; the count carries
/// on across warm-up and samples, so a long enough run covers the whole set.
fn per_query(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    set: &[Coord<f64>],
    query: impl Fn(Coord<f64>) -> usize,
) {
    let mut i = 0usize;
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter(|| {
            let q = set[i % set.len()];
            i += 1;
            query(black_box(q))
        })
    });
}

fn bench_build(c: &mut Criterion) {
    let hazards = hazards();
    let mut g = c.benchmark_group("build");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(hazards.len() as u64));
    // The clone is setup and the drop happens after timing; only `Index::build` is measured.
    g.bench_function("index_build_1m", |b| {
        b.iter_batched(|| hazards.clone(), Index::build, BatchSize::PerIteration)
    });
    g.finish();
}

fn bench_points(c: &mut Criterion) {
    let (idx, f) = (index(), Filter::default());
    let qs = &queries()[..MEASURED];
    let all: Vec<Coord<f64>> = qs.iter().map(|q| q.at).collect();
    let near: Vec<Coord<f64>> = qs.iter().filter(|q| q.near).map(|q| q.at).collect();
    let random: Vec<Coord<f64>> = qs.iter().filter(|q| !q.near).map(|q| q.at).collect();
    let mut g = c.benchmark_group("check_point");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1));
    for (name, set, accuracy, secs) in [
        ("first_20k_accuracy_25m", &all, 25.0, 25),
        ("first_20k_accuracy_0", &all, 0.0, 25),
        ("near_10k_accuracy_25m", &near, 25.0, 5),
        ("random_10k_accuracy_25m", &random, 25.0, 15),
    ] {
        g.measurement_time(Duration::from_secs(secs));
        per_query(&mut g, name, set, |q| {
            black_box(idx.check_point(q, accuracy, &f)).inside.len()
        });
    }
    g.finish();
}

fn bench_route(c: &mut Criterion) {
    let (idx, line, f) = (index(), route(), Filter::default());
    let mut g = c.benchmark_group("check_route");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("100km_corridor_500m", |b| {
        b.iter(|| idx.check_route(black_box(&line), ROUTE_WIDTH_M, &f))
    });
    g.finish();
}

fn bench_nearest(c: &mut Criterion) {
    let (idx, f) = (index(), Filter::default());
    let set: Vec<Coord<f64>> = queries()[..MEASURED].iter().map(|q| q.at).collect();
    let mut g = c.benchmark_group("k_nearest");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    per_query(&mut g, "k10_within_5km_first_20k", &set, |q| {
        black_box(idx.k_nearest(q, 10, 5_000.0, &f)).len()
    });
    g.finish();
}

fn main() {
    if let Ok(dir) = std::env::var("CAIRN_BENCH_EXPORT") {
        if let Err(e) = export(&dir) {
            eprintln!("engine: cannot export to {dir}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    // Generating the areas and the one shared index happens before any timing.
    let t = Instant::now();
    let _ = index();
    eprintln!(
        "engine: index ready in {:.1} s (generation included)",
        t.elapsed().as_secs_f64()
    );
    summary();
    bench_build(&mut c);
    bench_points(&mut c);
    bench_route(&mut c);
    bench_nearest(&mut c);
    c.final_summary();
}
