#!/bin/sh
# make demo: a busybox bundle from Debian's busybox-static, a config from
# `berth spec`, and one real container run in the foreground.
set -eu
berth=$(realpath "${1:-target/x86_64-unknown-linux-gnu/release/berth}")
if [ "$(id -u)" != 0 ]; then echo "berth demo: run as root (containers need it)" >&2; exit 1; fi
dir=$(mktemp -d /tmp/berth-demo.XXXXXX)
root="$dir/state"
trap '"$berth" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$dir"; rmdir /sys/fs/cgroup/*/berth-demo /sys/fs/cgroup/berth-demo 2>/dev/null || true' EXIT
mkdir -p "$dir/bundle/rootfs/bin"
cp "$(readlink -f /bin/busybox)" "$dir/bundle/rootfs/bin/busybox"
for applet in sh echo uname id hostname ps ls cat; do ln -s busybox "$dir/bundle/rootfs/bin/$applet"; done
cd "$dir/bundle"
"$berth" spec
# No terminal (the demo may run without one), a script instead of a shell,
# and a cgroup of its own.
sed -i -e 's/"terminal": true/"terminal": false/' \
       -e 's|^\( *\)"sh"$|\1"sh", "-c", "echo Hello from a berth container!; echo; echo \\"hostname: $(hostname)\\"; echo \\"id:       $(id)\\"; echo \\"kernel:   $(uname -sr)\\"; echo; ps"|' \
       -e 's|"linux": {|"linux": {\n    "cgroupsPath": "/berth-demo/demo",|' config.json
echo "bundle: $dir/bundle (config.json written by berth spec)"
echo "running: berth run demo"
echo
"$berth" --root "$root" run demo
