//! Differential tests of `cairn check points` and `cairn check route` against an independent
//! oracle: shapely (GEOS) for containment and pyproj's Geod (Karney's geodesics) for distances.
//!
//! The real binary makes two synthetic data sets and imports them; the Python scripts in
//! tests/oracle/ then generate over 100,000 places (on vertices, on edges, in holes, in
//! multipolygon parts, in spot and linear hazards, near and far) and 1,000 routes, ask Cairn,
//! compute the answers themselves and compare: exactly on which hazards are hit, and within
//! 0.5 m on distances up to 10 km. The interpreter is `$CAIRN_PYTHON` (set by scripts/test),
//! else the one scripts/python-env prepares; the test fails, never skips, when there is none.

mod common;
use common::python;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// Areas in the data set for the place checks: dense enough that many places hit hazards.
const POINT_AREAS: &str = "20000";
/// Areas in the data set for the route checks. Each route is one `cairn check route` process,
/// which reads the whole store, so this set is smaller; the routes are laid over its clusters.
const ROUTE_AREAS: &str = "2000";
const ROUTES: &str = "1000";
const PLACES: &str = "102000";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails unless the interpreter runs and has shapely and pyproj.
fn check_python(python: &Path) {
    let out = Command::new(python)
        .args([
            "-c",
            "import shapely, pyproj; print(shapely.__version__, pyproj.__version__)",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the oracle's Python {} cannot be run: {e}",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "the oracle's Python {} lacks shapely or pyproj (scripts/python-env installs them):\n{}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cairn ARGS` in `dir` and asserts success.
fn cairn(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(dir)
        .env_remove("CAIRN_DB")
        .env("CAIRN_AUTHOR", "oracle test")
        .args(args)
        .output()
        .expect("run cairn");
    assert!(
        out.status.success(),
        "cairn {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a synthetic data set of `areas` areas and imports it into `db`.
fn data_set(dir: &Path, areas: &str, seed: &str, geojson: &str, db: &str) {
    cairn(
        dir,
        &["synth", "--areas", areas, "--seed", seed, "-o", geojson],
    );
    cairn(dir, &["--db", db, "import", geojson]);
}

/// Runs an oracle script with its arguments.
fn oracle(python: &Path, script: &str, args: &[&str]) -> (Output, f64) {
    let path = manifest_dir().join("tests/oracle").join(script);
    let started = Instant::now();
    let out = Command::new(python)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(&path)
        .arg("--cairn")
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run {} {}: {e}", python.display(), path.display()));
    (out, started.elapsed().as_secs_f64())
}

/// Prints a script's report and returns whether it passed.
fn report(name: &str, (out, secs): &(Output, f64)) -> bool {
    println!("== {name} ({secs:.1} s, exit {:?})", out.status.code());
    println!("{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    if !err.trim().is_empty() {
        println!("stderr:\n{err}");
    }
    out.status.success()
}

#[test]
fn point_and_route_checks_agree_with_an_independent_oracle() {
    let started = Instant::now();
    let python = python();
    check_python(&python);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let s = |p: &str| dir.join(p).to_string_lossy().into_owned();
    data_set(dir, POINT_AREAS, "7", "points-areas.geojson", "points.db");
    data_set(dir, ROUTE_AREAS, "11", "routes-areas.geojson", "routes.db");
    std::fs::create_dir(dir.join("routes")).expect("routes dir");
    let prepared = started.elapsed().as_secs_f64();

    // The two scripts run side by side: one machine, two cores.
    let (points, routes) = std::thread::scope(|scope| {
        let p = scope.spawn(|| {
            let args = [
                "--db",
                &s("points.db"),
                "--areas",
                &s("points-areas.geojson"),
            ];
            let more = ["--workdir", &s("."), "--points", PLACES];
            oracle(&python, "check_points.py", &[&args[..], &more[..]].concat())
        });
        let r = scope.spawn(|| {
            let args = [
                "--db",
                &s("routes.db"),
                "--areas",
                &s("routes-areas.geojson"),
            ];
            let more = ["--workdir", &s("routes"), "--routes", ROUTES];
            oracle(&python, "check_routes.py", &[&args[..], &more[..]].concat())
        });
        (
            p.join().expect("points oracle thread"),
            r.join().expect("routes oracle thread"),
        )
    });
    let points_ok = report("cairn check points against the oracle", &points);
    let routes_ok = report("cairn check route against the oracle", &routes);
    println!(
        "data sets made and imported in {prepared:.1} s; whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        points_ok,
        "cairn check points disagrees with the oracle (report above)"
    );
    assert!(
        routes_ok,
        "cairn check route disagrees with the oracle (report above)"
    );
}
