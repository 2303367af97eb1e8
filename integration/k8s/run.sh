#!/bin/bash
# berth as a Kubernetes node's runtime: kubelet's CRI calls, made by
# berth's own CRI client (this crate), to a private containerd whose CRI
# plugin has two runtime handlers, `berth` (io.containerd.runc.v2 with
# BinaryName berth) and `runc` (Debian's) as the control.
#
#   integration/k8s/run.sh [BERTH_BINARY] [FILTER]
#
# Installs what it needs from Debian's packages (containerd, runc,
# containernetworking-plugins for CNI's loopback, protobuf-compiler for
# the CRI types), builds the client and a pause program, makes the pause
# and busybox images on the spot (OCI archives imported into the k8s.io
# namespace: no registry), runs every scenario with each handler, and
# prints `k8s (berth): N passed, N failed` and the same for runc. A
# scenario that fails with runc too is named and not counted. Everything
# (containerd's root, state, socket, shims, mounts, the cgroups under
# /berth-k8s-PID) is removed at the end.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
berth=$(realpath "${1:-$repo/target/x86_64-unknown-linux-gnu/release/berth}")
filter=${2:-}
say() { echo "k8s: $*" >&2; }
fail_all() {
	say "$1"
	echo "k8s (berth): 0 passed, 1 failed"
	exit 1
}
[ "$(id -u)" = 0 ] || fail_all "run as root"
[ -x "$berth" ] || fail_all "no berth binary at $berth"

# In the systemd guest (integration/systemd/guest.sh): the client and the
# pause program come built (K8S_CLIENT, K8S_PAUSE), the cgroup driver is
# systemd's (K8S_CGROUP_DRIVER=systemd: SystemdCgroup = true, pods in
# kubelet's kubepods slices).
driver=${K8S_CGROUP_DRIVER:-cgroupfs}
need=""
pkgs="containerd runc containernetworking-plugins"
[ -n "${K8S_CLIENT:-}" ] || pkgs="$pkgs protobuf-compiler"
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	say "installing$need (no service is started)"
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
	rc=$?
	rm -f /usr/sbin/policy-rc.d
	[ $rc = 0 ] || fail_all "could not install$need"
fi
runc_bin=$(command -v runc)

client=${K8S_CLIENT:-$here/target/x86_64-unknown-linux-gnu/debug/berth-cri-tests}
if [ -z "${K8S_CLIENT:-}" ]; then
	say "building the CRI client"
	cargo build -q --manifest-path "$here/Cargo.toml" 2>&1 | tail -n 20
fi
[ -x "$client" ] || fail_all "the CRI client did not build"

W=$(mktemp -d /var/tmp/berth-k8s.XXXXXX)
CG=/berth-k8s-$$
cpid=
cleanup() {
	local p i h d
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
	# Shims (and what they run) outlive containerd: whatever names our
	# work dir in its command line is ours.
	for p in /proc/[0-9]*; do
		[[ "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" == *"$W"* ]] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	awk -v w="$W/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
	for h in /sys/fs/cgroup/* /sys/fs/cgroup; do
		d=$h$CG
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# The pods' slices (kubelet's job on a node): only ours.
	[ "$driver" = systemd ] && systemctl stop 'kubepods-besteffort-podberth_*.slice' 'kubepods-besteffort-podrunc_*.slice' 2>/dev/null
	rm -rf --one-file-system "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The pause program, static, and the two images as OCI archives.
if [ -n "${K8S_PAUSE:-}" ]; then
	cp "$K8S_PAUSE" "$W/pause"
else
	rustc -O -C panic=abort -C target-feature=+crt-static "$here/pause/pause.rs" -o "$W/pause" 2>&1 | tail -n 5
fi
[ -x "$W/pause" ] || fail_all "the pause program did not build"
mkdir -p "$W/img/pause" "$W/img/bb/bin" "$W/img/bb/etc" "$W/img/bb/tmp"
cp "$W/pause" "$W/img/pause/pause"
cp /bin/busybox "$W/img/bb/bin/busybox"
chmod 755 "$W/img/bb/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$W/img/bb/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$W/img/bb/etc/passwd"
printf 'root:x:0:\n' >"$W/img/bb/etc/group"
python3 "$here/oci-archive.py" "$W/img/pause" berth.test/pause:1 '["/pause"]' "$W/pause.tar" &&
	python3 "$here/oci-archive.py" "$W/img/bb" berth.test/busybox:1 '["sh"]' "$W/busybox.tar" ||
	fail_all "making the images failed"

mkdir -p "$W/cni" "$W/runtime-root"
# containerd's CRI brings up each pod's lo with CNI's loopback plugin by
# itself; the network in conf_dir gives the pod its eth0: a veth pair
# (ptp), no masquerade, so nothing touches iptables.
printf '{"cniVersion": "0.4.0", "name": "berth-k8s", "plugins": [{"type": "ptp", "ipMasq": false,
  "ipam": {"type": "host-local", "subnet": "10.231.%d.0/24", "dataDir": "%s"}}]}\n' $(($$ % 250)) "$W/cni-ipam" >"$W/cni/10-berth.conflist"
cat >"$W/containerd.toml" <<TOML
version = 2
root = "$W/root"
state = "$W/state"
[grpc]
  address = "$W/containerd.sock"
[ttrpc]
  address = "$W/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "berth.test/pause:1"
  # containerd 1.6 drops kubelet's hugepage limits unless told otherwise.
  disable_hugetlb_controller = false
  # This host has no CAP_SYS_RESOURCE: no oom_score_adj below containerd's
  # own (the sandbox asks for -998), as for a rootless node.
  restrict_oom_score_adj = $([ "$(grep CapBnd /proc/self/status | cut -f2)" = 000001ffffffffff ] && echo false || echo true)
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options]
        BinaryName = "$berth"
        Root = "$W/runtime-root/berth"
        SystemdCgroup = $([ "$driver" = systemd ] && echo true || echo false)
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$runc_bin"
        Root = "$W/runtime-root/runc"
        SystemdCgroup = $([ "$driver" = systemd ] && echo true || echo false)
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni"
TOML
containerd --config "$W/containerd.toml" >"$W/containerd.log" 2>&1 &
cpid=$!
for ((i = 0; i < 100; i++)); do [ -S "$W/containerd.sock" ] && break; sleep 0.1; done
ctr() { command ctr -a "$W/containerd.sock" -n k8s.io "$@"; }
ctr images import --snapshotter native "$W/pause.tar" >/dev/null &&
	ctr images import --snapshotter native "$W/busybox.tar" >/dev/null ||
	{ tail -n 20 "$W/containerd.log" >&2; fail_all "importing the images failed"; }

declare -A failed_with
for h in berth runc; do
	prefix=$CG
	[ "$driver" = systemd ] && prefix=systemd
	"$client" "$W/containerd.sock" "$h" berth.test/busybox:1 "$prefix" "$W" "$W/runtime-root/$h/k8s.io" "$filter" |
		tee "$W/$h.out"
	while read -r name; do failed_with[$h/$name]=1; done < <(sed -n 's/^FAIL \([^ ]*\) .*/\1/p' "$W/$h.out")
done
for h in berth runc; do
	read -r p f < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$W/$h.out" | tail -n 1)
	p=${p:-0} f=${f:-1}
	if [ "$h" = berth ]; then
		for k in "${!failed_with[@]}"; do
			[[ $k == berth/* ]] || continue
			if [ -n "${failed_with[runc/${k#berth/}]:-}" ]; then
				say "${k#berth/} fails with runc too (not counted)"
				f=$((f - 1))
			fi
		done
		bp=$p bf=$f
		echo "k8s on this host (berth): $p passed, $f failed"
		continue
	fi
	echo "k8s ($h): $p passed, $f failed"
done
# The same in the systemd guest (pure cgroup v2, SystemdCgroup = true),
# from the host only; BERTH_K8S_GUEST=0 leaves it out.
if [ -z "${K8S_CLIENT:-}" ] && [ "${BERTH_K8S_GUEST:-1}" != 0 ]; then
	say "the same scenarios in the systemd guest (systemd cgroup driver)"
	BERTH_SYSTEMD_BOOTS=v2 BERTH_SYSTEMD_SUITES=k8s BERTH_K8S_CLIENT=$client BERTH_K8S_PAUSE=$W/pause \
		"$repo/integration/systemd/run.sh" "$berth" 2>&1 | tee "$W/guest.out" | grep -E '^(ok|FAIL|systemd: )'
	read -r gp gf < <(sed -n 's/^systemd (berth): \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$W/guest.out")
	echo "k8s in the systemd guest: $(grep -E '^systemd: v2/k8s' "$W/guest.out" | sed 's/^systemd: v2\/k8s //' | paste -sd';')"
	bp=$((bp + ${gp:-0})) bf=$((bf + ${gf:-1}))
fi
# berth's line last: it is the stage's result.
echo "k8s (berth): $bp passed, $bf failed"
[ "$bf" = 0 ]
