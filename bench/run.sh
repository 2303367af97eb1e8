#!/bin/bash
# make bench: berth against runc and crun (when installed), interleaved,
# all in one private mount namespace where /sys/fs/cgroup/unified is
# unmounted: crun 1.8 refuses this host's hybrid layout otherwise, and
# every runtime must see the same host. Usage: bench/run.sh [BERTH] [ROUNDS]
set -euo pipefail
berth=$(realpath "${1:-target/x86_64-unknown-linux-gnu/release/berth}")
rounds=${2:-${BENCH_ROUNDS:-30}}
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
# GNU time measures peak RSS; runc and crun are what berth is compared with.
missing=""
for p in time runc crun; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || echo "bench: could not install:$missing" >&2; }
# youki (BENCH_YOUKI=1): built from crates.io into target/bench-youki once
# (it links libseccomp, hence the -dev package).
if [ "${BENCH_YOUKI:-0}" = 1 ] && ! command -v youki >/dev/null && [ ! -x target/bench-youki/bin/youki ]; then
  dpkg -s libseccomp-dev pkg-config >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev pkg-config >/dev/null
  cargo install --locked --root target/bench-youki youki >&2 || echo "bench: cargo install youki failed; going on without it" >&2
fi
[ -x target/bench-youki/bin/youki ] && export BENCH_YOUKI_PATH=$PWD/target/bench-youki/bin/youki
exec unshare -m --propagation private bash -c '
  if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
  exec python3 "$0" "$@"' "$here/bench.py" "$berth" "$rounds"
