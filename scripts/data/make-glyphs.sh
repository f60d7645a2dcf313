#!/usr/bin/env bash
# Regenerates web/glyphs/: the glyph ranges (signed-distance-field PBFs, MapLibre's format) that
# `cairn serve` answers at /fonts/{fontstack}/{range}.pbf, so that the map's labels (the base
# map's and the shipped context's) are drawn with no font server elsewhere.
#
# Font: Noto Sans Regular and Bold (SIL Open Font License 1.1) from Debian's package
# fonts-noto-core; glyphs rendered by the crate glyphore (crates.io; MIT or Apache-2.0), which
# follows node-fontnik's conventions (24 px, 3 px buffer). Only the ranges Ukrainian and
# English place names need are kept: Basic Latin and Latin-1 (0-255), Latin Extended-A
# (256-511: Polish, Romanian, Hungarian names by the borders), Cyrillic (1024-1279) and General
# Punctuation (8192-8447: dashes, quotes). Cairn answers any other range with an empty one.
#
# Needs apt-get (Debian), dpkg-deb and cargo, and access to Debian's archive and crates.io.
# Everything is installed into a temporary directory, removed afterwards.
#
# Usage: scripts/data/make-glyphs.sh
set -euo pipefail

FONTS_NOTO_CORE=20201225-1
GLYPHORE=0.2.0
RANGES=(0-255 256-511 1024-1279 8192-8447)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/web/glyphs"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== apt-get download fonts-noto-core=$FONTS_NOTO_CORE" >&2
(cd "$tmp" && apt-get download "fonts-noto-core=$FONTS_NOTO_CORE" >&2)
dpkg-deb -x "$tmp"/fonts-noto-core_*.deb "$tmp/deb"
mkdir -p "$tmp/fonts"
for f in NotoSans-Regular NotoSans-Bold; do
  cp "$tmp/deb/usr/share/fonts/truetype/noto/$f.ttf" "$tmp/fonts/"
  sha256sum "$tmp/fonts/$f.ttf" | sed "s|$tmp/fonts/||" >&2
done

echo "== cargo install glyphore@$GLYPHORE" >&2
CARGO_TARGET_DIR="$tmp/target" cargo install --quiet --locked --version "$GLYPHORE" --root "$tmp/glyphore" glyphore >&2

"$tmp/glyphore/bin/glyphore" build "$tmp/fonts" -o "$tmp/glyphs" >&2
rm -rf "$out"
for stack in "Noto Sans Regular" "Noto Sans Bold"; do
  mkdir -p "$out/$stack"
  for r in "${RANGES[@]}"; do
    cp "$tmp/glyphs/$stack/$r.pbf" "$out/$stack/$r.pbf"
  done
done
du -b "$out"/*/* >&2
echo "wrote $out" >&2
