#!/bin/bash
# make bench: berth against runc and crun (when installed), interleaved,
# all in one private mount namespace where /sys/fs/cgroup/unified is
# unmounted: crun 1.8 refuses this host's hybrid layout otherwise, and
# every runtime must see the same host. Usage: bench/run.sh [BERTH] [ROUNDS]
set -euo pipefail
berth=$(realpath "${1:-target/release/berth}")
rounds=${2:-${BENCH_ROUNDS:-30}}
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
exec unshare -m --propagation private bash -c '
  if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
  exec python3 "$0" "$@"' "$here/bench.py" "$berth" "$rounds"
