#!/bin/bash
# make test: the Rust tests (unit + tests/), the end-to-end suite in
# integration/ on this host (its escape tests once more as an ordinary
# user: ITEST_ROOTLESS=1), the same suite plus the cgroup v2 tests in a
# pure cgroup v2 VM (integration/vm/; BERTH_SKIP_VM=1 leaves it out, and
# says so), the systemd guest (integration/systemd/; BERTH_SKIP_SYSTEMD=1),
# the CRI tests (integration/k8s/; BERTH_SKIP_K8S=1), berth under Podman,
# Docker and containerd (integration/engines/; BERTH_SKIP_ENGINES=1), then
# one closing `total: N passed, N failed` line.
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

# add NAME LOG LINE_REGEX: add the counts of LOG's last line that matches
# (its "N passed" and "N failed"); no such line is one failure.
add() {
  local line
  line=$(grep -E "$3" "$2" | tail -1)
  if [ -z "$line" ]; then
    echo "$1: no result"
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + $(grep -oE '[0-9]+ passed' <<<"$line" | cut -d' ' -f1)))
  failed=$((failed + $(grep -oE '[0-9]+ failed' <<<"$line" | cut -d' ' -f1)))
}

integration/run.sh "$berth" 2>&1 | tee target/integration.log
add integration target/integration.log '^[0-9]+ passed, [0-9]+ failed'

# The escape tests again, with berth run by an ordinary user on rootless
# configs (issue 20: nothing leaks across the user boundary either).
ITEST_ROOTLESS=1 integration/run.sh "$berth" 'escape' 2>&1 | tee target/integration-rootless.log
add rootless-escapes target/integration-rootless.log '^[0-9]+ passed, [0-9]+ failed'

if [ "${BERTH_SKIP_VM:-0}" = 1 ]; then
  echo "vm: skipped (BERTH_SKIP_VM=1): the pure cgroup v2 tests did not run"
else
  # berth's own total: whatever RUNTIME the environment has, the VM tests berth.
  BERTH_VM_RUNTIME=berth integration/vm/run.sh "$berth" 2>&1 | tee target/vm.log
  add vm target/vm.log '^vm \(berth\): [0-9]+ passed, [0-9]+ failed'
fi

if [ "${BERTH_SKIP_SYSTEMD:-0}" = 1 ]; then
  echo "systemd: skipped (BERTH_SKIP_SYSTEMD=1): the systemd driver and engine tests did not run"
else
  integration/systemd/run.sh "$berth" 2>&1 | tee target/systemd.log
  add systemd target/systemd.log '^systemd \(berth\): [0-9]+ passed, [0-9]+ failed'
fi

if [ "${BERTH_SKIP_K8S:-0}" = 1 ]; then
  echo "k8s: skipped (BERTH_SKIP_K8S=1): the CRI tests did not run"
else
  integration/k8s/run.sh "$berth" 2>&1 | tee target/k8s.log
  add k8s target/k8s.log '^k8s \(berth\): [0-9]+ passed, [0-9]+ failed'
fi

if [ "${BERTH_SKIP_ENGINES:-0}" = 1 ]; then
  echo "engines: skipped (BERTH_SKIP_ENGINES=1)"
else
  integration/engines/run.sh "$berth" 2>&1 | tee target/engines.log
  add engines target/engines.log '^[0-9]+ passed, [0-9]+ failed'
fi

echo
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
