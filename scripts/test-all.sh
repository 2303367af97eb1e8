#!/bin/bash
# make test: the Rust tests (unit + tests/), the end-to-end suite in
# integration/ on this host, the same suite plus the cgroup v2 tests in a
# pure cgroup v2 VM (integration/vm/; BERTH_SKIP_VM=1 leaves it out, and
# says so), berth under Podman (integration/engines/), then one closing
# `total: N passed, N failed` line.
set -u
berth=${1:-target/x86_64-unknown-linux-gnu/release/berth}
cd "$(dirname "$0")/.."
mkdir -p target
passed=0 failed=0

cargo test --release 2>&1 | tee target/rust-tests.log
rust_rc=${PIPESTATUS[0]}
while read -r p f; do passed=$((passed + p)); failed=$((failed + f)); done < <(
  sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' target/rust-tests.log)
# A build failure runs no test: count it as a failure.
[ "$rust_rc" -ne 0 ] && ! grep -q '^test result: FAILED' target/rust-tests.log && failed=$((failed + 1))

integration/run.sh "$berth" 2>&1 | tee target/integration.log
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' target/integration.log | tail -1)
if [ -n "$summary" ]; then
  passed=$((passed + $(echo "$summary" | cut -d' ' -f1)))
  failed=$((failed + $(echo "$summary" | cut -d' ' -f3)))
else
  failed=$((failed + 1))
fi

if [ "${BERTH_SKIP_VM:-0}" = 1 ]; then
  echo "vm: skipped (BERTH_SKIP_VM=1): the pure cgroup v2 tests did not run"
else
  # berth's own total: whatever RUNTIME the environment has, the VM tests berth.
  BERTH_VM_RUNTIME=berth integration/vm/run.sh "$berth" 2>&1 | tee target/vm.log
  summary=$(grep -E '^vm \(berth\): [0-9]+ passed, [0-9]+ failed' target/vm.log | tail -1)
  if [ -n "$summary" ]; then
    passed=$((passed + $(echo "$summary" | cut -d' ' -f3)))
    failed=$((failed + $(echo "$summary" | cut -d' ' -f5)))
  else
    echo "vm: no result from the VM"
    failed=$((failed + 1))
  fi
fi

# berth under Podman (integration/engines/; BERTH_SKIP_ENGINES=1 leaves it
# out, and says so).
if [ "${BERTH_SKIP_ENGINES:-0}" = 1 ]; then
  echo "engines: skipped (BERTH_SKIP_ENGINES=1)"
else
  integration/engines/run.sh "$berth" 2>&1 | tee target/engines.log
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' target/engines.log | tail -1)
  if [ -n "$summary" ]; then
    passed=$((passed + $(echo "$summary" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$summary" | cut -d' ' -f3 | tr -d ,)))
  else
    echo "engines: no result"
    failed=$((failed + 1))
  fi
fi

echo
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
