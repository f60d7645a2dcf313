//! The fuzz tests' runner, one file for every crate's `tests/fuzz*.rs` (each includes it with
//! `#[path]`): proptest with a bounded number of cases, scaled by `CAIRN_FUZZ_SCALE`.

// Each test file uses what it needs of this.
#![allow(dead_code)]

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// `CAIRN_FUZZ_SCALE`, the factor by which every case count is multiplied (1 when unset).
pub fn scale() -> u32 {
    match std::env::var("CAIRN_FUZZ_SCALE") {
        Ok(s) => s
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .unwrap_or_else(|| panic!("CAIRN_FUZZ_SCALE must be a whole number >= 1, not {s:?}")),
        Err(_) => 1,
    }
}

/// Runs `test` on `cases` × `CAIRN_FUZZ_SCALE` values of `strategy`, then prints the count and
/// the time taken; fails with the smallest failing input proptest finds.
pub fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    fuzz_shrinking(
        name,
        cases,
        Config::default().max_shrink_iters,
        strategy,
        test,
    )
}

/// As `fuzz`, shrinking a failure at most `max_shrink_iters` times (a case that runs a process
/// would otherwise take minutes to shrink).
pub fn fuzz_shrinking<S: Strategy>(
    name: &str,
    cases: u32,
    max_shrink_iters: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let cases = cases * scale();
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters,
        failure_persistence: None,
        ..Config::default()
    });
    let start = std::time::Instant::now();
    let result = runner.run(&strategy, test);
    eprintln!(
        "fuzz {name}: {cases} cases in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}
