#!/bin/bash
# make fuzz: build the cargo-fuzz targets in fuzz/ and run each in turn
# for FUZZ_SECONDS (default 900), one job each, starting from the corpus
# kept in fuzz/corpus/TARGET (not committed) plus the seeds in
# fuzz/seeds/TARGET, with fuzz/dicts/TARGET.dict. Needs a nightly
# toolchain and cargo-fuzz (cargo install cargo-fuzz).
#
#   scripts/fuzz.sh [SECONDS] [TARGET]...
#
# A crash or hang stops the run: libFuzzer leaves the input in
# fuzz/artifacts/TARGET/. Fix berth, then copy the input to
# tests/fuzz_regressions/TARGET/ so `cargo test` replays it. Each run's
# output is in fuzz/logs/TARGET.log, its final stats at the end.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-900}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config exec_process state seccomp mount_options)

# Room for profiles and configs larger than the seeds.
max_len() {
  case $1 in
    config | seccomp) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

cargo +nightly fuzz build
mkdir -p fuzz/logs
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== $t: ${seconds}s"
  rc=0
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -dict="fuzz/dicts/$t.dict" -max_len="$(max_len "$t")" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"fuzz/logs/$t.log" 2>&1 || rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::' "fuzz/logs/$t.log" || true
  echo "corpus: $(find "fuzz/corpus/$t" -type f | wc -l) inputs"
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "fuzz/logs/$t.log"
    echo "== $t failed ($rc); the input is in fuzz/artifacts/$t/" >&2
    exit "$rc"
  fi
done
