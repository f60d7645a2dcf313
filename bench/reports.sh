#!/usr/bin/env bash
# Benchmark: report intake per second with durable commit (issue 5; goal 2,000/s). `cairn serve`
# on a fresh store (WAL, synchronous=FULL; every report committed before its 201), rate limit
# turned off by its settings file, loaded by wrk on loopback (wrk shares the 2 cores). Peers,
# measured beside it: the same row as a plain INSERT, one transaction each, with the sqlite3 CLI
# (WAL, synchronous=FULL); and PostgreSQL 15 with pgbench, same clients, synchronous_commit=on.
# Afterwards every 201 is checked to be in the store.
# Usage: bench/reports.sh [SECONDS] [CONNECTIONS]   (default 20 s, 64 connections)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
CONNS=${2:-64}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet --bin cairn
BIN=${CARGO_TARGET_DIR:-target}/release/cairn
OUT=bench/out/reports
rm -rf "$OUT" && mkdir -p "$OUT"
DB=$OUT/reports.db
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); disk of $OUT: $(df -h --output=source,fstype "$OUT" | tail -1 | xargs)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------------------------------ Cairn
"$BIN" --db "$DB" init >/dev/null
printf '[reports]\nrate_limit = false\n' > "$OUT/cairn.toml"
CAIRN_LOG=warn "$BIN" --db "$DB" serve --addr 127.0.0.1:18091 --config "$OUT/cairn.toml" > "$OUT/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
until curl -sf http://127.0.0.1:18091/health >/dev/null; do sleep 0.2; done
echo "== Cairn: POST /api/reports, wrk -t2 -c$CONNS -d${SECS}s (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s bench/wrk/reports.lua http://127.0.0.1:18091 | tee "$OUT/wrk.txt" \
  | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Socket errors|answers'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill $PID; wait $PID 2>/dev/null || true
trap - EXIT
answered=$(sed -n 's/^answers: 201 \([0-9]*\).*/\1/p' "$OUT/wrk.txt")
stored=$(sqlite3 "$DB" 'select count(*) from reports')
echo "reports answered 201: $answered; in the store: $stored"
[ "$stored" -ge "$answered" ] || { echo "LOST REPORTS: $answered answered, $stored stored" >&2; exit 1; }

# ------------------------------------------------------------------- sqlite3 CLI, one INSERT per commit
N=$((SECS * 250))
PEER=$OUT/peer.db
sqlite3 "$PEER" "PRAGMA journal_mode=WAL;" >/dev/null
sqlite3 "$DB" '.schema reports' | grep -v '^CREATE INDEX' | sqlite3 "$PEER"
python3 - "$N" > "$OUT/inserts.sql" <<'PY'
import sys
n = int(sys.argv[1])
print("PRAGMA synchronous=FULL;")
for i in range(n):
    print(f"INSERT INTO reports (reference, received_at, lon, lat, accuracy_m, category, description) VALUES ('P-{i:08d}', {1764000000000000 + i}, {30 + i % 9000 / 1000:.5f}, 49.9, 10, 'mine', 'peer report {i}: a green plastic object by the path');")
PY
echo "== sqlite3 CLI: $N INSERTs, each its own transaction (WAL, synchronous=FULL) (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
start=$(date +%s.%N)
sqlite3 "$PEER" < "$OUT/inserts.sql"
end=$(date +%s.%N)
python3 -c "n=$N; t=$end-$start; print(f'{n} rows in {t:.2f} s: {n/t:.0f} per second')"
echo "rows: $(sqlite3 "$PEER" 'select count(*) from reports')"

# ------------------------------------------------------------------------ PostgreSQL 15 with pgbench
if command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect 15 main start 2>/dev/null || true
  su postgres -c "psql -qAt -c 'drop database if exists cairn_reports'" >/dev/null
  su postgres -c "psql -qAt -c 'create database cairn_reports'" >/dev/null
  su postgres -c "psql -qAt -d cairn_reports" >/dev/null <<'SQL'
create table reports (id bigserial primary key, reference text not null unique, received_at timestamptz not null default now(),
  lon double precision not null, lat double precision not null, accuracy_m double precision, category text not null,
  description text not null, seen_at timestamptz, photo_type text, photo bytea);
SQL
  PGSCRIPT=$(mktemp /tmp/cairn-pgbench.XXXXXX.sql)
  cat > "$PGSCRIPT" <<'SQL'
\set n random(1, 9000)
INSERT INTO reports (reference, lon, lat, accuracy_m, category, description) VALUES ('P-' || :client_id || '-' || nextval('reports_id_seq'), 30 + :n / 1000.0, 49.9, 10, 'mine', 'peer report: a green plastic object by the path');
SQL
  chmod 644 "$PGSCRIPT"
  echo "== PostgreSQL $(su postgres -c "psql -qAt -c 'show server_version'"): pgbench -n -M prepared -c$CONNS -j2 -T$SECS, one INSERT per transaction, synchronous_commit=$(su postgres -c "psql -qAt -c 'show synchronous_commit'"), fsync=$(su postgres -c "psql -qAt -c 'show fsync'") (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
  su postgres -c "pgbench -n -M prepared -c$CONNS -j2 -T$SECS -f $PGSCRIPT cairn_reports" 2>&1 | grep -E 'tps|latency average|number of transactions actually'
  echo "rows: $(su postgres -c "psql -qAt -d cairn_reports -c 'select count(*) from reports'")"
  rm -f "$PGSCRIPT"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
