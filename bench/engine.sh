#!/usr/bin/env bash
# Benchmark: Cairn's spatial engine (crates/cairn-index) on 1,000,000 synthetic areas, with PostGIS
# measured in the same run: the criterion benchmarks, the index's memory, then bench/postgis.sh.
# Prints the machine and every figure, to be copied into BENCHMARKS.md with this command.
# Usage: bench/engine.sh   (as root, for PostGIS; builds in $CARGO_TARGET_DIR when set, else target/;
# takes about 10 minutes on 2 cores, and about 3 more for the first PostGIS load)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
say() { printf '\n== %s\n' "$*"; }

echo "command: bench/engine.sh ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo "nproc: $(nproc); cpu: $(lscpu | sed -n 's/^Model name: *//p')"
free -g
echo "kernel: $(uname -r); $(rustc --version)"
echo "load before: $(uptime)"

say "criterion: cargo bench -p cairn-index --bench engine"
cargo bench -p cairn-index --bench engine </dev/null 2>&1

say "memory: cargo run --release -p cairn-index --example index_memory"
cargo run --release --quiet -p cairn-index --example index_memory </dev/null 2>&1

say "PostGIS: bench/postgis.sh"
bash bench/postgis.sh

echo
echo "load after: $(uptime)"
