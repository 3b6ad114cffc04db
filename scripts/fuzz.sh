#!/usr/bin/env bash
# Coverage-guided fuzzing of Ferry's parsers and decoders with Jazzer.js, in a cached Debian 13 root.
#
#   make fuzz                         every target in test/fuzz/ for FUZZ_SECONDS each (default 300)
#   FUZZ_SECONDS=30 make fuzz         a short pass
#   FUZZ_TARGETS="sniff csr" make fuzz  only those targets
#
# Jazzer.js's prebuilt fuzzer needs glibc >= 2.38, newer than some hosts (Debian 12 has 2.36), so it
# runs under chroot in a Debian 13 root built once by mmdebstrap and cached in $FUZZ_CACHE
# (default ~/.cache/ferry-fuzz), keyed by ROOT_STAMP. The repository (and node_modules, when it is
# a link to elsewhere) is bind-mounted into the root at the same path, inside a private mount
# namespace; the mounts are also undone by a trap. Each target's new inputs accumulate in
# $FUZZ_CACHE/corpus/<target>/ (outside the repository); the checked-in seeds in
# test/fuzz/corpus/<target>/ are read, and a crash is written there as a regression input, which
# the corpus replay test in `make test` then runs. Needs root (chroot, mount). Expects dist/ built.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd -P)"
FUZZ_SECONDS="${FUZZ_SECONDS:-300}"
FUZZ_CACHE="${FUZZ_CACHE:-${HOME:-/root}/.cache/ferry-fuzz}"
ROOT="$FUZZ_CACHE/trixie-root"
# Change this when the root's recipe changes: a root with another stamp is built again.
ROOT_STAMP="trixie minbase nodejs npm ca-certificates 1"
WORK_IN_ROOT="/var/lib/ferry-fuzz"

die() {
  echo "fuzz: $*" >&2
  exit 1
}

[ "$(id -u)" = "0" ] || die "needs root (chroot and bind mounts); run as root"
case "$FUZZ_SECONDS" in '' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number of seconds, got '$FUZZ_SECONDS'" ;; esac
[ -d "$REPO/dist/test/fuzz" ] || die "dist/test/fuzz is missing: build first (make build)"
[ -f "$REPO/node_modules/@jazzer.js/core/dist/cli.js" ] || die "@jazzer.js/core is not installed: run npm ci"

# The targets: test/fuzz/<name>.fuzz.ts, each with a corpus folder test/fuzz/corpus/<name>/.
all_targets() {
  local f
  for f in "$REPO"/test/fuzz/*.fuzz.ts; do
    f="${f##*/}"
    echo "${f%.fuzz.ts}"
  done
}
TARGETS="${FUZZ_TARGETS:-$(all_targets | tr '\n' ' ')}"
for t in $TARGETS; do
  [ -f "$REPO/test/fuzz/$t.fuzz.ts" ] || die "unknown target '$t' (targets: $(all_targets | tr '\n' ' '))"
  [ -f "$REPO/dist/test/fuzz/$t.fuzz.js" ] || die "dist/test/fuzz/$t.fuzz.js is missing: build first (make build)"
done

build_root() {
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    echo "fuzz: installing mmdebstrap (apt)"
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq mmdebstrap >/dev/null
  fi
  echo "fuzz: building the Debian 13 root in $ROOT (once; about a minute)"
  mkdir -p "$FUZZ_CACHE"
  local tmp="$ROOT.tmp.$$"
  rm -rf "$tmp"
  if ! mmdebstrap --quiet --variant=minbase --include=nodejs,npm,ca-certificates trixie "$tmp"; then
    rm -rf "$tmp"
    die "mmdebstrap failed (see above)"
  fi
  echo "$ROOT_STAMP" >"$tmp/.ferry-fuzz-stamp"
  rm -rf "$ROOT"
  mv "$tmp" "$ROOT"
}

if [ "${1:-}" != "--in-namespace" ]; then
  if [ "$(cat "$ROOT/.ferry-fuzz-stamp" 2>/dev/null)" != "$ROOT_STAMP" ]; then build_root; fi
  # A private mount namespace: whatever happens to this script, its mounts go with it.
  exec unshare --mount --propagation private bash "$0" --in-namespace
fi

MOUNTS=()
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || echo "fuzz: could not unmount ${MOUNTS[$i]}" >&2
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bind() { # bind SOURCE: mounts SOURCE at the same path inside the root
  mkdir -p "$ROOT$1"
  mount --bind "$1" "$ROOT$1"
  MOUNTS+=("$ROOT$1")
}
mkdir -p "$ROOT/proc" "$ROOT/dev" "$ROOT$WORK_IN_ROOT"
mount -t proc proc "$ROOT/proc"
MOUNTS+=("$ROOT/proc")
mount --bind /dev "$ROOT/dev"
MOUNTS+=("$ROOT/dev")
bind "$REPO"
MODULES="$(readlink -f "$REPO/node_modules")"
case "$MODULES/" in "$REPO"/*) ;; *) bind "$MODULES" ;; esac
mkdir -p "$FUZZ_CACHE/corpus"
mount --bind "$FUZZ_CACHE/corpus" "$ROOT$WORK_IN_ROOT"
MOUNTS+=("$ROOT$WORK_IN_ROOT")

echo "fuzz: $(chroot "$ROOT" node --version) in Debian $(cat "$ROOT/etc/debian_version"), ${FUZZ_SECONDS}s per target: $TARGETS"
total_runs=0
total_secs=0
total_crashes=0
report=()
for t in $TARGETS; do
  seeds="$REPO/test/fuzz/corpus/$t"
  mkdir -p "$seeds" "$FUZZ_CACHE/corpus/$t"
  before="$(find "$seeds" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  # A target whose fuzz() is async runs in Jazzer's async mode; the others synchronously.
  mode=(--sync)
  if grep -q '^export async function fuzz' "$REPO/test/fuzz/$t.fuzz.ts"; then mode=(); fi
  log="$FUZZ_CACHE/$t.log"
  stamp="$FUZZ_CACHE/$t.started"
  : >"$stamp"
  start=$(date +%s)
  set +e
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root TMPDIR=/tmp NODE_ENV=test \
    bash -c 'cd "$1" && shift && exec node node_modules/@jazzer.js/core/dist/cli.js "$@"' _ "$REPO" \
    "dist/test/fuzz/$t.fuzz.js" "$WORK_IN_ROOT/$t" "$seeds" \
    "${mode[@]}" --includes "$REPO/dist/" --excludes node_modules --timeout 10000 \
    -- "-max_total_time=$FUZZ_SECONDS" "-artifact_prefix=$seeds/" -print_final_stats=1 -rss_limit_mb=2048 \
    >"$log" 2>&1
  rc=$?
  set -e
  secs=$(($(date +%s) - start))
  [ "$secs" -gt 0 ] || secs=1
  # libFuzzer's last status line: "#RUNS ... corp: N/SIZE ... exec/s: R ..."; "Done RUNS runs" at the end.
  runs="$(grep -oE '^Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+' || true)"
  [ -n "$runs" ] || runs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
  [ -n "$runs" ] || runs=0
  corp="$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | sed 's/corp: //' || true)"
  # libFuzzer's own average (fuzzing time only); without it, runs over wall time (startup included).
  rate="$(grep -oE '^stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)"
  if [ -z "$rate" ] || [ "$rate" -eq 0 ]; then rate=$((runs / secs)); fi
  # Only regression inputs belong in the checked-in folder: any other new input joins the work corpus.
  find "$seeds" -maxdepth 1 -type f -newer "$stamp" ! -name 'crash-*' ! -name 'timeout-*' ! -name 'oom-*' -exec mv -t "$FUZZ_CACHE/corpus/$t" {} +
  after="$(find "$seeds" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
  crashes=$((after - before))
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    echo "fuzz: $t: the fuzzer exited with $rc and wrote no crash; its log follows" >&2
    tail -40 "$log" >&2
    crashes=1
  elif [ "$crashes" -gt 0 ]; then
    echo "fuzz: $t: CRASH, regression input written to test/fuzz/corpus/$t/; from its log:" >&2
    grep -E -A12 'Uncaught|ERROR|Timeout|==[0-9]+==' "$log" | head -40 >&2
  fi
  line="$(printf '%-22s %12s runs %8s exec/s  corpus %-14s crashes %s' "$t" "$runs" "$rate" "${corp:-?}" "$crashes")"
  echo "$line"
  report+=("$line")
  total_runs=$((total_runs + runs))
  total_secs=$((total_secs + secs))
  total_crashes=$((total_crashes + crashes))
done
echo
echo "fuzz: per target (logs in $FUZZ_CACHE/<target>.log)"
printf '%s\n' "${report[@]}"
printf '%-22s %12s runs %8s exec/s  %s s  crashes %s\n' "total" "$total_runs" "$((total_runs / (total_secs > 0 ? total_secs : 1)))" "$total_secs" "$total_crashes"
[ "$total_crashes" -eq 0 ]
