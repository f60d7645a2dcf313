//! How long the service's read model takes to follow one write on a large store: loads the read
//! model of a store (as `cairn serve` does), then applies N edited records one at a time
//! (`ReadModel::apply`, what the service runs after each committed write, store still locked)
//! and prints the time of each: median, 99th percentile and worst. The store is only read.
//!
//! Run with `cargo run --release -p cairn-server --example apply_latency -- STORE [N]`.

use std::time::Instant;

use cairn_core::{Catalogue, Status};
use cairn_server::ReadModel;
use cairn_store::SqliteStore;
use cairn_store::sqlite::OpenMode;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: apply_latency STORE [N]");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let store =
        SqliteStore::open(std::path::Path::new(path), OpenMode::ReadOnly).expect("open the store");
    let catalogue = Catalogue::builtin();
    let t = Instant::now();
    let mut model = ReadModel::load(&store, &catalogue).expect("load the read model");
    println!(
        "read model of {} records loaded in {:.1} s",
        model.areas.len(),
        t.elapsed().as_secs_f64()
    );
    // Every k-th record, edited as an officer would: a status change and a shape moved 20 m.
    let step = (model.areas.len() / n.max(1)).max(1);
    let picked: Vec<_> = model
        .areas
        .values()
        .step_by(step)
        .take(n)
        .cloned()
        .collect();
    let mut times = Vec::with_capacity(picked.len());
    for (i, s) in picked.iter().enumerate() {
        let mut w = (**s).clone();
        w.area.props.status = if i % 2 == 0 {
            Status::Confirmed
        } else {
            Status::Reduced
        };
        w.area.shape = match &w.area.shape {
            cairn_core::Shape::Polygon(p) => {
                use geo::Translate;
                cairn_core::Shape::Polygon(p.translate(0.0003, 0.0))
            }
            other => other.clone(),
        };
        w.revision.rev += 1_000_000_000;
        w.revision.seq += 1;
        let t = Instant::now();
        model.apply(w, &catalogue);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{} writes applied: median {:.3} ms, 99th percentile {:.3} ms, worst {:.3} ms",
        times.len(),
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}
