#!/usr/bin/env bash
# Builds Ferry at another commit into a cache folder, for `make bench-compare BASE=REV`: the benchmark then
# runs that build as `ferry-baseline` beside the working tree's Ferry, in the same run, on the same machine.
# Prints the folder of the built tree on stdout (progress on stderr).
set -euo pipefail
base="${1:?usage: bench-baseline.sh REV}"
root="$(cd "$(dirname "$0")/.." && pwd)"
sha="$(git -C "$root" rev-parse --verify --quiet "${base}^{commit}")" || { echo "bench-baseline: ${base} is not a commit of this repository" >&2; exit 2; }
short="$(git -C "$root" rev-parse --short "$sha")"
cache="${FERRY_BENCH_CACHE:-$HOME/.cache/ferry-bench}/baseline-${short}"
if [ -f "$cache/.built" ]; then
  echo "bench-baseline: ${short} already built in ${cache}" >&2
else
  echo "bench-baseline: building ${short} in ${cache}" >&2
  rm -rf "$cache"
  mkdir -p "$cache"
  git -C "$root" archive "$sha" | tar -x -C "$cache"
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error >&2 && npx tsc -p tsconfig.json >&2 && bash sidecar/native/build.sh >&2)
  echo "$short" > "$cache/BASELINE_COMMIT"
  touch "$cache/.built"
fi
echo "$cache"
