#!/bin/bash
# berth's end-to-end suite: real containers from a busybox rootfs, checked
# from inside.
#
#   integration/run.sh [BERTH_BINARY] [FILTER]
#
# The binary is the first argument when that names a file (or has a '/'),
# else $BERTH, else target/x86_64-unknown-linux-gnu/release/berth (relative to the repository).
# FILTER (a bash regex) picks tests by name. Each test runs in its own
# bash process with its own --root, temp dir and cgroup prefix, and prints
# `ok NAME`, `FAIL NAME: reason` or `skip NAME: reason`; the last line is
# `N passed, N failed` (`, N skipped` when something was skipped).
# ITEST_VERBOSE=1 shows the log of each failed test. ITEST_ROOTLESS=1 runs
# the tests as an ordinary user made for the run (and removed after it),
# with rootless configs (lib.sh): the escape tests run that way too.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

bin=""
if [ $# -gt 0 ] && [ -n "$1" ] && { [ -f "$1" ] || [[ $1 == */* ]]; }; then
  bin=$1
  shift
elif [ $# -gt 0 ] && [ -z "$1" ]; then
  shift
fi
[ -z "$bin" ] && bin=${BERTH:-$repo/target/x86_64-unknown-linux-gnu/release/berth}
filter=${1:-}

case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
if [ ! -x "$bin" ]; then
  echo "run.sh: berth binary $bin not found (build it: cargo build --release)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "run.sh: the integration tests need root" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
for tool in /bin/busybox python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool is missing (make deps)" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
done

export BERTH=$bin
export ITEST_RUN_ID=$$
export ITEST_PY
ITEST_PY=$(python3 -c 'import sys; print(sys.executable)')
TEST_TIMEOUT=${ITEST_TIMEOUT:-60}

# shellcheck source=integration/lib.sh
. "$here/lib.sh"

run_dir=$(mktemp -d /tmp/berth-itest-run.XXXXXX)
if [ "${ITEST_ROOTLESS:-0}" = 1 ]; then
  export ITEST_USER=bitr$$ ITEST_UID
  useradd -M -d /nonexistent -s /bin/sh "$ITEST_USER" || { echo "run.sh: useradd failed"; echo "0 passed, 1 failed"; exit 1; }
  ITEST_UID=$(id -u "$ITEST_USER")
  echo "rootless: berth runs as $ITEST_USER (uid $ITEST_UID)"
fi
remove_prefix() {
  local h d i
  for h in $(cg_roots); do
    d="$h$CG_PREFIX"
    [ -d "$d" ] || continue
    for ((i = 0; i < 40; i++)); do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$d" ] || break
      sleep 0.05
    done
    [ -d "$d" ] && echo "run.sh: could not remove $d" >&2
  done
  rm -rf "$run_dir"
  [ -n "${ITEST_USER:-}" ] && userdel "$ITEST_USER"
}
trap remove_prefix EXIT

# Tests in file order, then in order within each file.
mapfile -t tests < <(grep -ho '^test_[A-Za-z0-9_]*()' "$here"/tests/*.sh | sed 's/()$//')

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
  name=${t#test_}
  if [ -n "$filter" ] && ! [[ $t =~ $filter ]]; then continue; fi
  reason_file="$run_dir/$name.reason"
  state_file="$run_dir/$name.state"
  log="$run_dir/$name.log"
  : >"$reason_file"
  : >"$state_file"
  T_REASON=$reason_file T_STATEFILE=$state_file \
    timeout -k 5 "$TEST_TIMEOUT" bash -c '
      . "$0/lib.sh"
      for f in "$0"/tests/*.sh; do . "$f"; done
      run_one "$1"' "$here" "$t" >"$log" 2>&1
  rc=$?
  # The test's own EXIT trap cleans up; again here for a test that was
  # killed (timeout) before it could.
  read -r s_tmp s_root s_cg <"$state_file"
  [ -n "${s_tmp:-}" ] && cleanup_test "$s_tmp" "$s_root" "$s_cg" >>"$log" 2>&1
  reason=$(head -n1 "$reason_file")
  if [ "$rc" == 0 ]; then
    echo "ok $name"
    # A passing test may report figures: its lines that start with "note: ".
    grep '^note: ' "$log" | sed 's/^/    /'
    passed=$((passed + 1))
  elif [ "$rc" == 77 ] && [[ $reason == SKIP* ]]; then
    echo "skip $name: ${reason#SKIP }"
    skipped=$((skipped + 1))
  else
    if [ "$rc" == 124 ] || [ "$rc" == 137 ]; then
      reason="timed out after ${TEST_TIMEOUT}s${reason:+ ($reason)}"
    fi
    [ -z "$reason" ] && reason="exit status $rc: $(tail -n1 "$log")"
    echo "FAIL $name: $reason"
    if [ "${ITEST_VERBOSE:-0}" == 1 ]; then sed 's/^/    | /' "$log"; fi
    failed=$((failed + 1))
  fi
done

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
