#!/usr/bin/env bash
# Benchmark: bytes on the wire (issue 16) — a 1,000-item page of the OGC API (public and officer)
# and the map page's files, uncompressed, gzip and br, as `cairn serve` sends them (it compresses
# answers over 1 KiB at level 4). Peer: the same bytes compressed by the gzip and brotli tools at
# their defaults (level 6 and 11), what a proxy in front would do at best.
# Usage: bench/sizes.sh [BIN] [DB]   (defaults: target/release/cairn, a demo store of 3,000 areas
# made in a temp dir). Needs curl, gzip; brotli is installed from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/cairn}
TMP=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
DB=${2:-}
if [ -z "$DB" ]; then
  DB=$TMP/demo.db
  "$BIN" --db "$DB" demo --areas 3000 --no-serve >/dev/null
fi
command -v brotli >/dev/null || { apt-get update -qq && apt-get install -y -qq brotli >/dev/null; }
TOKEN=$("$BIN" --db "$DB" token create --name sizes --role officer | tail -1)
ADDR=127.0.0.1:18096
CAIRN_LOG=warn "$BIN" --db "$DB" serve --addr "$ADDR" > "$TMP/serve.log" 2>&1 &
PID=$!
until curl -sf "http://$ADDR/health" >/dev/null; do sleep 0.1; done
echo "command: bench/sizes.sh $BIN $DB ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD))"
printf '| what | uncompressed | gzip (served) | br (served) | gzip -6 (tool) | brotli -q 11 (tool) |\n| --- | --- | --- | --- | --- | --- |\n'
row() { # name, path, extra curl args…
  local name=$1 path=$2; shift 2
  curl -sf "$@" "http://$ADDR$path" -o "$TMP/plain"
  local plain; plain=$(stat -c %s "$TMP/plain")
  local gz; gz=$(curl -sf "$@" -H 'Accept-Encoding: gzip' "http://$ADDR$path" | wc -c)
  local br; br=$(curl -sf "$@" -H 'Accept-Encoding: br' "http://$ADDR$path" | wc -c)
  local tgz; tgz=$(gzip -6 -c "$TMP/plain" | wc -c)
  local tbr; tbr=$(brotli -q 11 -c "$TMP/plain" | wc -c)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$plain" "$gz" "$br" "$tgz" "$tbr"
}
row "1,000 items, public" "/ogc/collections/hazardous-areas/items?limit=1000"
row "1,000 items, officer" "/ogc/collections/hazardous-areas/items?limit=1000" -H "Authorization: Bearer $TOKEN"
row "map page (/)" "/"
row "app.js" "/app.js"
row "i18n.js" "/i18n.js"
row "style.css" "/style.css"
row "maplibre-gl.js" "/vendor/maplibre-gl.js?v=6.17.0"
row "maplibre-gl-worker.js" "/vendor/maplibre-gl-worker.js?v=6.17.0"
row "maplibre-gl.css" "/vendor/maplibre-gl.css?v=6.17.0"
