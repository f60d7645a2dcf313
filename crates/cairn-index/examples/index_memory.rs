//! The spatial index's memory on 1,000,000 synthetic areas (seed 1): the process's resident set
//! (VmRSS) and peak (VmHWM) from /proc/self/status before the hazards exist, once they are held
//! in a vector, and once `Index::build` has taken them over; then bytes per area.
//!
//! Run with `cargo run --release -p cairn-index --example index_memory [-- AREAS]` (Linux only).
//! The hazards are converted from each generated record at once, and each thread's vector is
//! allocated at its final size, so little freed memory is left behind to inflate the figures.

use std::time::Instant;

use cairn_core::Catalogue;
use cairn_index::{Hazard, Index};
use cairn_synth::{Synth, default_until};

/// VmRSS and VmHWM in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn report(stage: &str) -> u64 {
    let (rss, hwm) = memory();
    println!(
        "{stage:<42} VmRSS {:>8.1} MiB   VmHWM {:>8.1} MiB",
        mib(rss),
        mib(hwm)
    );
    rss
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let synth = Synth::new(1, default_until());
    let catalogue = Catalogue::builtin();
    // Touch the reference data and the generator once, so the baseline includes them.
    let _ = Hazard::from_area(&synth.area(0), &catalogue);
    let base = report("baseline (reference data loaded)");

    let t = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get()) as u64;
    let chunk = n.div_ceil(threads);
    let parts: Vec<Vec<Hazard>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (synth, catalogue) = (&synth, &catalogue);
                s.spawn(move || {
                    let (from, to) = (t * chunk, ((t + 1) * chunk).min(n));
                    let mut v = Vec::with_capacity((to - from) as usize);
                    v.extend((from..to).map(|i| Hazard::from_area(&synth.area(i), catalogue)));
                    v
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a generator thread panicked"))
            .collect()
    });
    println!(
        "generated {n} hazards on {threads} threads in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let held = report("hazards held in vectors");

    let t = Instant::now();
    let idx = Index::build(parts.into_iter().flatten());
    let build_s = t.elapsed().as_secs_f64();
    let built = report("after Index::build (hazards moved in)");
    let (_, peak) = memory();
    println!(
        "Index::build of {} hazards: {build_s:.2} s (one run)",
        idx.len()
    );
    let per = |b: u64| b as f64 / n as f64;
    println!(
        "hazards alone (shapes, ids, statuses): {:.0} bytes per area",
        per(held.saturating_sub(base))
    );
    println!(
        "whole index (hazards, R*-tree, id map, slots): {:.0} bytes per area ({:.1} MiB in all)",
        per(built.saturating_sub(base)),
        mib(built.saturating_sub(base))
    );
    println!(
        "index structure on top of the hazards: {:.0} bytes per area",
        per(built.saturating_sub(held))
    );
    println!(
        "peak during build above baseline: {:.0} bytes per area ({:.1} MiB)",
        per(peak.saturating_sub(base)),
        mib(peak.saturating_sub(base))
    );
    drop(idx);
}
