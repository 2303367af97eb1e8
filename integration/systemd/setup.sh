#!/bin/bash
# Builds berth's systemd test guest into $BERTH_SYSTEMD_DIR (default
# /var/tmp/berth-systemd), once; later runs find it and say so.
#
#   rootfs/      Debian 12 (debootstrap, minbase) with systemd as PID 1,
#                D-Bus, AppArmor, and the engines: docker.io, containerd,
#                podman (with its CNI plugins), uidmap and dbus-user-session
#                (rootless Podman, a user bus), criu (checkpoint), and
#                Debian's runc as the
#                control runtime; the kernel's whole module tree (docker
#                needs overlay, bridge, veth, netfilter); engines' services
#                disabled (the tests start them with berth registered)
#   initramfs.cpio.gz  busybox with the virtio and ext4 modules: mounts
#                /dev/vda and switch_roots into systemd
#   rootfs.img   the rootfs as an ext4 image, booted as a throw-away
#                snapshot (run.sh)
#
# qemu and the kernel come from integration/vm/setup.sh (its cache,
# $BERTH_VM_DIR); the modules from the same kernel package. Needs root,
# apt and ~3 GB; ~4 minutes the first time.
# Usage: setup.sh [--force]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${BERTH_SYSTEMD_DIR:-/var/tmp/berth-systemd}
VMDIR=${BERTH_VM_DIR:-/var/tmp/berth-vm}
export BERTH_VM_DIR=$VMDIR

# What the guest has. Changing the list (or this script's guest files)
# rebuilds the image.
PKGS=systemd,systemd-sysv,dbus,udev,kmod,apparmor,iproute2,procps,python3,busybox-static,util-linux,\
docker.io,containerd,runc,podman,containernetworking-plugins,conmon,iptables,golang-github-containers-common,\
uidmap,dbus-user-session,criu

log() { echo "systemd-setup: $*" >&2; }
die() {
	echo "systemd-setup: error: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
[ "${1:-}" = --force ] && rm -f "$DIR"/.*.ok
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

"$HERE/../vm/setup.sh" >&2 || die "integration/vm/setup.sh failed (qemu and the kernel)"
kver=$(cat "$VMDIR/.kernel.ok")
key=$( (echo "$PKGS $kver"; sed -n '/^# -- guest files/,$p' "$0") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$DIR/.image.ok" 2>/dev/null)" = "$key" ] && [ -f "$DIR/rootfs.img" ] && [ -f "$DIR/initramfs.cpio.gz" ]; then
	echo "systemd guest ready: $DIR (kernel $kver)"
	exit 0
fi
rm -f "$DIR/.image.ok" "$DIR/rootfs.img"

# ------------------------------------------------------------ rootfs --
R=$DIR/rootfs
if [ "$(cat "$DIR/.rootfs.ok" 2>/dev/null)" != "$PKGS" ]; then
	command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
		die "cannot install debootstrap"
	# The bookworm archive apt already uses (deb822 sources or the old list).
	mirror=$(grep -rhA3 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ {u = $2} /^Suites:.*bookworm( |$)/ {print u; exit}')
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$mirror" ] || die "no bookworm archive in apt's sources"
	rm -rf "$R"
	log "debootstrap from $mirror (~3 min)"
	debootstrap --variant=minbase --include="$PKGS" bookworm "$R" "$mirror" >"$DIR/debootstrap.log" 2>&1 ||
		{ tail -n 5 "$DIR/debootstrap.log" >&2; die "debootstrap failed (log: $DIR/debootstrap.log)"; }
	echo "$PKGS" >"$DIR/.rootfs.ok"
fi

# The kernel's modules, from the package integration/vm/setup.sh booted.
if [ ! -d "$R/lib/modules/$kver/kernel" ]; then
	log "modules of $kver"
	tmp=$(mktemp -d /var/tmp/berth-systemd-kernel.XXXXXX)
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$kver" >&2) ||
		{ rm -rf "$tmp"; die "apt-get download linux-image-$kver failed"; }
	dpkg -x "$tmp"/*.deb "$tmp/x"
	mkdir -p "$R/lib/modules"
	rm -rf "$R/lib/modules/$kver"
	mv "$tmp/x/lib/modules/$kver" "$R/lib/modules/"
	rm -rf "$tmp"
	chroot "$R" depmod -a "$kver"
fi

# -- guest files (a change here rebuilds the image) --
echo vm >"$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vm\n' >"$R/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 0\n' >"$R/etc/fstab"
# The test service: once the system is up, mount the host's share, run its
# run.sh, leave the exit status in it, power off.
cat >"$R/usr/local/sbin/berth-vm-run" <<'EOF'
#!/bin/bash
state=$(timeout 200 systemctl is-system-running --wait)
echo "guest: system $state after $(cut -d' ' -f1 /proc/uptime) s"
rc=97
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 host0 /mnt; then
	if [ -x /mnt/run.sh ]; then
		/mnt/run.sh /mnt
		rc=$?
	else
		echo "guest: the share has no run.sh"
		rc=98
	fi
	echo "$rc" >/mnt/rc
	sync
	umount /mnt
else
	echo "guest: cannot mount the share"
fi
echo "guest: done, status $rc, after $(cut -d' ' -f1 /proc/uptime) s"
systemctl poweroff --no-block
EOF
chmod 755 "$R/usr/local/sbin/berth-vm-run"
cat >"$R/etc/systemd/system/berth-vm-run.service" <<'EOF'
[Unit]
Description=berth's tests from the host's share
After=multi-user.target
[Service]
Type=simple
ExecStart=/usr/local/sbin/berth-vm-run
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/console
[Install]
WantedBy=multi-user.target
EOF
chroot "$R" systemctl enable berth-vm-run.service >/dev/null 2>&1
# Nothing that the tests do not start themselves: the engines start with
# berth registered; timers and gettys only cost boot time under TCG.
chroot "$R" systemctl disable docker.service docker.socket containerd.service \
	podman.socket podman-restart.service >/dev/null 2>&1 || true
chroot "$R" systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
	fstrim.timer logrotate.timer man-db.timer e2scrub_reap.service systemd-pstore.service \
	getty@tty1.service serial-getty@ttyS0.service >/dev/null 2>&1 || true
chroot "$R" apt-get clean

# ---------------------------------------------------------- initramfs --
s=$DIR/initramfs
rm -rf "$s"
mkdir -p "$s"/{bin,proc,sys,dev,newroot,lib/modules}
cp "$R/bin/busybox" "$s/bin/"
for a in sh mount umount insmod sleep switch_root poweroff; do ln -sf busybox "$s/bin/$a"; done
m=$R/lib/modules/$kver/kernel
n=0
for p in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
	drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
	lib/crc16 fs/mbcache fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4; do
	n=$((n + 1))
	cp "$m/$p.ko" "$s/lib/modules/$(printf %02d "$n")-${p##*/}.ko"
done
cat >"$s/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in /lib/modules/*.ko; do insmod "$m"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "initramfs: cannot mount /dev/vda"; poweroff -f; }
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot /sbin/init
EOF
chmod 755 "$s/init"
(cd "$s" && find . | "$R/bin/busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$DIR/initramfs.cpio.gz"
rm -rf "$s"

# -------------------------------------------------------------- image --
log "ext4 image"
mkfs.ext4 -q -F -L berth-guest -d "$R" "$DIR/rootfs.img" 4G
echo "$key" >"$DIR/.image.ok"
echo "systemd guest ready: $DIR (kernel $kver)"
