#!/bin/bash
# Builds berth's test VM into $BERTH_VM_DIR (default /var/tmp/berth-vm), from
# Debian's packages alone, without installing anything on the host:
#
#   qemu/         qemu-system-x86 with the libraries and firmware the host
#                 lacks (apt-get download + dpkg -x; installing qemu-system-x86
#                 for real would remove a backported qemu-utils)
#   vmlinux       Debian's kernel (the one linux-image-amd64 depends on),
#                 decompressed once: it boots ~5 s faster under TCG
#   initramfs.cpio  the guest's whole root: busybox-static, bash, coreutils,
#                 findutils, grep, sed, mawk, util-linux, python3 (enough for
#                 integration/run.sh and lib.sh), the virtio/9p/overlay
#                 modules and guest-init as /init
#   runtimes/     only with --runtimes (run.sh asks for it when RUNTIME is
#                 runc or crun): Debian's runc and crun as bin/runc,
#                 bin/crun, the shared libraries they need that the guest
#                 lacks in lib/, and their versions in versions. run.sh
#                 ships them to the guest through the share, so the
#                 initramfs (and a berth-only run) does not change.
#
# Idempotent: each step leaves a stamp and is skipped when its stamp is there;
# the initramfs is rebuilt when guest-init or the package list changes. Needs
# root, apt (it runs apt-get update when the package lists are missing or
# stale), python3 or xz, and ~700 MB (+ ~25 MB with --runtimes).
# Usage: setup.sh [--force] [--runtimes]
set -euo pipefail

DIR=${BERTH_VM_DIR:-/var/tmp/berth-vm}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The guest's userland. Its libraries are listed by hand (not the Depends
# closure, which would drag in perl, debconf, tzdata...); the smoke test at
# the end of guest_root proves that every tool the suite needs runs.
GUEST_PKGS="libc6 libgcc-s1 busybox-static bash libtinfo6 coreutils libacl1 libattr1
libgmp10 libselinux1 libpcre2-8-0 findutils grep sed mawk util-linux mount libmount1
libblkid1 libsmartcols1 libcap-ng0 libudev1 libcap2 libcrypt1 zlib1g libexpat1
python3-minimal python3.11-minimal libpython3.11-minimal libpython3.11-stdlib"

# Kernel modules the guest loads, in load order (virtio, 9p, overlay are
# modules in Debian's kernel; virtio_blk gives the io tests a disk).
MODULES="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
net/9p/9pnet net/9p/9pnet_virtio fs/netfs/netfs fs/fscache/fscache fs/9p/9p fs/overlayfs/overlay"

# The other runtimes berth's VM tests can run against (--runtimes), and the
# libraries they link that GUEST_PKGS lacks: runc needs libseccomp; crun
# needs libseccomp, libsystemd (with its libgcrypt, libgpg-error, liblzma,
# libzstd, liblz4), libyajl, and libcap (already in the guest).
RUNTIME_PKGS="runc crun libseccomp2 libsystemd0 libyajl2 libgcrypt20 libgpg-error0
liblzma5 libzstd1 liblz4-1"

# AppArmor's parser, for the tests of process.apparmorProfile (the guest's
# kernel has the AppArmor LSM; its profiles are loaded with
# apparmor_parser, which needs only libc). Kept apart from the initramfs.
APPARMOR_PKG=apparmor

log() { echo "vm-setup: $*" >&2; }
die() {
	echo "vm-setup: error: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (apt-get download, dpkg -x and chroot)"
force=0 runtimes=0
for a in "$@"; do
	case $a in
	--force) force=1 ;;
	--runtimes) runtimes=1 ;;
	*) die "unknown argument $a (usage: setup.sh [--force] [--runtimes])" ;;
	esac
done
[ "$force" = 1 ] && rm -f "$DIR"/.*.ok
mkdir -p "$DIR/debs"
exec 9>"$DIR/.lock"
flock 9 # one setup at a time (two `make test` runs)

qemu_ok() {
	[ -f "$DIR/.qemu.ok" ] && LD_LIBRARY_PATH=$DIR/qemu/usr/lib/x86_64-linux-gnu:$DIR/qemu/lib/x86_64-linux-gnu \
		"$DIR/qemu/usr/bin/qemu-system-x86_64" --version >/dev/null 2>&1
}
# The kernel step also keeps the modules above: a changed list redoes it.
kernel_ok() {
	[ -f "$DIR/.kernel.ok" ] && [ -f "$DIR/vmlinux" ] && [ -d "$DIR/modules" ] &&
		[ "$(cat "$DIR/.modules.ok" 2>/dev/null)" = "$(echo $MODULES)" ]
}
guest_ok() { [ -f "$DIR/.guest.ok" ] && [ "$(cat "$DIR/.guest.ok")" = "$GUEST_PKGS" ]; }
initramfs_key() { cat "$HERE/guest-init" "$DIR/.guest.ok" "$DIR/.kernel.ok" "$DIR/.modules.ok" | sha256sum | cut -d' ' -f1; }
initramfs_ok() {
	[ -f "$DIR/.initramfs.ok" ] && [ -f "$DIR/initramfs.cpio" ] &&
		[ "$(cat "$DIR/.initramfs.ok")" = "$(initramfs_key)" ]
}
runtimes_ok() {
	[ -f "$DIR/.runtimes.ok" ] && [ "$(cat "$DIR/.runtimes.ok")" = "${RUNTIME_PKGS//$'\n'/ }" ] &&
		[ -x "$DIR/runtimes/bin/runc" ] && [ -x "$DIR/runtimes/bin/crun" ] && [ -s "$DIR/runtimes/versions" ]
}
apparmor_ok() { [ -f "$DIR/.apparmor.ok" ] && [ -x "$DIR/apparmor/apparmor_parser" ]; }
# ", runtimes: runc V crun V" for the closing line, after --runtimes.
runtimes_note() { [ "$runtimes" = 0 ] || echo ", runtimes: $(paste -sd' ' "$DIR/runtimes/versions")"; }

if qemu_ok && kernel_ok && guest_ok && initramfs_ok && apparmor_ok && { [ "$runtimes" = 0 ] || runtimes_ok; }; then
	echo "vm ready: $DIR (kernel $(cat "$DIR/.kernel.ok")$(runtimes_note))"
	exit 0
fi

# ---------------------------------------------------------------- apt --

lists_updated=0
apt_update() {
	[ "$lists_updated" = 1 ] && return 0
	log "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	lists_updated=1
}
# Package lists present? (A fresh container image has none.)
apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt_update

# download DEST PKG...: .debs into DEST; on a failure (a stale list names a
# version the mirror dropped) update the lists once and retry.
download() {
	local dest=$1
	shift
	rm -rf "$dest"
	mkdir -p "$dest"
	if ! (cd "$dest" && apt-get download -qq -o APT::Sandbox::User=root "$@" >&2); then
		apt_update
		(cd "$dest" && apt-get download -qq -o APT::Sandbox::User=root "$@" >&2) ||
			die "apt-get download failed for: $*"
	fi
}

# unpack DEST DEB...: dpkg -x each .deb into DEST (a fresh dir).
unpack() {
	local dest=$1 d
	shift
	rm -rf "$dest"
	mkdir -p "$dest"
	for d in "$@"; do dpkg -x "$d" "$dest" || die "dpkg -x $d failed"; done
}

# --------------------------------------------------------------- qemu --

if ! qemu_ok; then
	rm -f "$DIR/.qemu.ok"
	# What `apt-get install` would fetch, less what it would remove or
	# replace (its simulation resolves alternatives and skips what the host
	# has: those libraries come from the host at run time).
	pkgs=$(apt-get install -s --no-install-recommends qemu-system-x86 seabios ipxe-qemu 2>/dev/null |
		awk '/^Inst /{print $2}' | grep -v -x -e qemu-utils -e qemu-block-extra || true)
	[ -n "$pkgs" ] || die "apt-get install -s qemu-system-x86 planned nothing (is the package known? apt-cache policy qemu-system-x86)"
	log "downloading qemu: $(echo $pkgs)"
	# shellcheck disable=SC2086
	download "$DIR/debs/qemu" $pkgs
	log "unpacking qemu"
	unpack "$DIR/qemu.new" "$DIR"/debs/qemu/*.deb
	rm -rf "$DIR/qemu" "$DIR/debs/qemu"
	mv "$DIR/qemu.new" "$DIR/qemu"
	echo "$pkgs" >"$DIR/.qemu.ok"
	qemu_ok || die "the unpacked qemu does not run: LD_LIBRARY_PATH=$DIR/qemu/usr/lib/x86_64-linux-gnu $DIR/qemu/usr/bin/qemu-system-x86_64 --version"
fi

# ------------------------------------------------------------- kernel --

if ! kernel_ok; then
	rm -f "$DIR/.kernel.ok" "$DIR/.initramfs.ok"
	kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[ -n "$kpkg" ] || die "cannot tell which kernel linux-image-amd64 depends on"
	log "downloading $kpkg"
	download "$DIR/debs/kernel" "$kpkg"
	unpack "$DIR/kernel.new" "$DIR"/debs/kernel/*.deb
	vmlinuz=$(ls "$DIR"/kernel.new/boot/vmlinuz-* | head -n1)
	[ -f "$vmlinuz" ] || die "no /boot/vmlinuz-* in $kpkg"
	kver=${vmlinuz##*/vmlinuz-}
	rm -rf "$DIR/kernel"
	mv "$DIR/kernel.new" "$DIR/kernel"
	vmlinuz=$DIR/kernel/boot/vmlinuz-$kver
	# The payload of the bzImage, decompressed: an ELF vmlinux that qemu
	# boots directly (PVH). If neither decompressor is there, boot vmlinuz.
	log "decompressing the kernel"
	rm -f "$DIR/vmlinux"
	if command -v python3 >/dev/null; then
		python3 - "$vmlinuz" "$DIR/vmlinux.new" <<'PY' && mv "$DIR/vmlinux.new" "$DIR/vmlinux" || true
import lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
out = None
i = data.find(b"\xfd7zXZ\x00")
if i >= 0:
    out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[i:])
else:
    i = data.find(b"\x1f\x8b\x08\x00")
    if i >= 0:
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[i:])
if not out or out[:4] != b"\x7fELF":
    sys.exit(1)
open(sys.argv[2], "wb").write(out)
PY
	elif command -v xz >/dev/null; then
		off=$(grep -abo -m1 $'\xfd7zXZ' "$vmlinuz" | cut -d: -f1 || true)
		[ -n "$off" ] && tail -c +"$((off + 1))" "$vmlinuz" | xz -dc >"$DIR/vmlinux.new" 2>/dev/null
		[ "$(head -c4 "$DIR/vmlinux.new" 2>/dev/null)" = $'\x7fELF' ] && mv "$DIR/vmlinux.new" "$DIR/vmlinux"
	fi
	rm -f "$DIR/vmlinux.new"
	if [ ! -f "$DIR/vmlinux" ]; then
		log "could not decompress the kernel; booting the compressed one (slower)"
		cp "$vmlinuz" "$DIR/vmlinux"
	fi
	# Keep only the modules the guest loads (the package holds 400 MB).
	rm -rf "$DIR/modules"
	mkdir -p "$DIR/modules"
	n=0
	for p in $MODULES; do
		n=$((n + 1))
		cp "$DIR/kernel/lib/modules/$kver/kernel/$p.ko" "$DIR/modules/$(printf %02d $n)-${p##*/}.ko" ||
			die "kernel $kver has no module $p.ko"
	done
	rm -rf "$DIR/kernel" "$DIR/debs/kernel"
	echo "$kver" >"$DIR/.kernel.ok"
	echo $MODULES >"$DIR/.modules.ok"
fi
kver=$(cat "$DIR/.kernel.ok")

# ------------------------------------------------------ guest userland --

if ! guest_ok; then
	rm -f "$DIR/.guest.ok" "$DIR/.initramfs.ok"
	log "downloading the guest's userland"
	# shellcheck disable=SC2086
	download "$DIR/debs/guest" $GUEST_PKGS
	g=$DIR/guest.new
	unpack "$g" "$DIR"/debs/guest/*.deb
	# Trim what a test never reads.
	rm -rf "$g"/usr/share/{doc,man,info,locale,lintian,bug,menu,bash-completion,zsh} \
		"$g"/usr/lib/x86_64-linux-gnu/gconv "$g"/usr/lib/python3.11/{test,idlelib,tkinter,turtledemo,ensurepip,lib2to3,pydoc_data,distutils,config-3.11-x86_64-linux-gnu} \
		"$g"/usr/lib/python3.11/lib-dynload/_test*.so "$g"/usr/lib/python3.11/lib-dynload/_ctypes_test*.so
	# busybox fills in every applet the Debian tools do not provide.
	while read -r a; do
		[ "$a" = bin/busybox ] || [ "${a#*/}" = "$a" ] && continue
		n=${a##*/}
		for d in bin sbin usr/bin usr/sbin; do [ -e "$g/$d/$n" ] || [ -L "$g/$d/$n" ] && continue 2; done
		mkdir -p "$g/${a%/*}"
		ln -s /bin/busybox "$g/$a"
	done < <("$g/bin/busybox" --list-full)
	[ -e "$g/bin/sh" ] || ln -s busybox "$g/bin/sh"
	mkdir -p "$g"/{proc,sys,dev,tmp,run,mnt,root,newroot,etc,var/tmp} "$g/lib/modules"
	chmod 1777 "$g/tmp" "$g/var/tmp"
	chmod 700 "$g/root"
	printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$g/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$g/etc/group"
	echo vm >"$g/etc/hostname"
	printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' >"$g/etc/ld.so.conf"
	ldconfig -r "$g" 2>/dev/null || true # a cache speeds up every exec; the loader's defaults work without it
	# Smoke test on the host: every tool integration/run.sh and lib.sh use
	# runs from this root, and python3 compiles the modules they import
	# (the .pyc files then ship in the initramfs).
	chroot "$g" /usr/bin/env -i /bin/bash -euc '
		export PATH=/usr/sbin:/usr/bin:/sbin:/bin
		for t in bash python3 timeout mktemp find awk sed grep sort head tail tr cut cat ls id rm \
			chmod mkdir stat readlink realpath sleep date wc env unshare nsenter mount umount \
			flock setsid nc ip insmod switch_root poweroff; do
			command -v "$t" >/dev/null || { echo "missing: $t"; exit 1; }
		done
		python3 -c "import json, os, re, sys, socket, subprocess, tempfile, shlex, struct, select, signal, array, errno, fcntl, resource, pty, termios, time, base64, hashlib"
		python3 -S -c "import json; print(json.dumps({\"ok\": 1}))" | grep -q ok
		timeout 5 true
		find / -maxdepth 0 -exec true {} +
		echo x | awk "{ print \$1 }" | grep -q x
		unshare --help >/dev/null; mount --version >/dev/null
	' >&2 || die "the guest userland does not work (chroot $g): see above"
	rm -rf "$DIR/guest" "$DIR/debs/guest"
	mv "$g" "$DIR/guest"
	echo "$GUEST_PKGS" >"$DIR/.guest.ok"
fi

# ---------------------------------------------------------- initramfs --

if ! initramfs_ok; then
	rm -f "$DIR/.initramfs.ok"
	log "building the initramfs"
	s=$DIR/initramfs.new
	rm -rf "$s"
	cp -a "$DIR/guest" "$s"
	cp "$DIR"/modules/*.ko "$s/lib/modules/"
	install -m 0755 "$HERE/guest-init" "$s/init"
	# Uncompressed: under TCG the kernel unpacks it faster than it inflates
	# a gzip of it, and qemu reads it from the host's page cache.
	(cd "$s" && find . -mindepth 1 | LC_ALL=C sort | "$DIR/guest/bin/busybox" cpio -o -H newc 2>/dev/null) >"$DIR/initramfs.cpio.new"
	mv "$DIR/initramfs.cpio.new" "$DIR/initramfs.cpio"
	rm -rf "$s"
	initramfs_key >"$DIR/.initramfs.ok"
fi

# ----------------------------------------------------------- apparmor --

if ! apparmor_ok; then
	rm -f "$DIR/.apparmor.ok"
	log "downloading $APPARMOR_PKG (apparmor_parser)"
	download "$DIR/debs/apparmor" "$APPARMOR_PKG"
	a=$DIR/apparmor.new
	unpack "$a/pkg" "$DIR"/debs/apparmor/*.deb
	install -m 0755 "$a/pkg/sbin/apparmor_parser" "$a/apparmor_parser" || die "no sbin/apparmor_parser in $APPARMOR_PKG"
	rm -rf "$a/pkg"
	"$DIR/guest/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$DIR/guest/lib/x86_64-linux-gnu" \
		"$a/apparmor_parser" --version >&2 || die "apparmor_parser does not run with the guest's libraries"
	rm -rf "$DIR/apparmor" "$DIR/debs/apparmor"
	mv "$a" "$DIR/apparmor"
	touch "$DIR/.apparmor.ok"
fi

# ----------------------------------------------------------- runtimes --

if [ "$runtimes" = 1 ] && ! runtimes_ok; then
	rm -f "$DIR/.runtimes.ok"
	log "downloading runc, crun and their libraries"
	# shellcheck disable=SC2086
	download "$DIR/debs/runtimes" $RUNTIME_PKGS
	r=$DIR/runtimes.new
	unpack "$r/pkgs" "$DIR"/debs/runtimes/*.deb
	mkdir -p "$r/bin" "$r/lib"
	for p in usr/sbin/runc usr/bin/crun; do
		[ -x "$r/pkgs/$p" ] || die "no $p in the runtimes' packages"
		cp "$r/pkgs/$p" "$r/bin/"
	done
	# The shared libraries (and their soname links), flat: the guest puts
	# them in its /lib/x86_64-linux-gnu.
	for d in "$r/pkgs/lib/x86_64-linux-gnu" "$r/pkgs/usr/lib/x86_64-linux-gnu"; do
		[ -d "$d" ] && find "$d" -maxdepth 1 -name 'lib*.so.*' -exec cp -a {} "$r/lib/" \;
	done
	[ -n "$(ls "$r/lib")" ] || die "no shared libraries in the runtimes' packages"
	for t in runc crun; do
		# shellcheck disable=SC2016 # dpkg-deb's format, not the shell's
		dpkg-deb -W --showformat='${Package} ${Version}\n' "$DIR"/debs/runtimes/"${t}"_*.deb
	done >"$r/versions" || die "cannot read the runtimes' versions"
	rm -rf "$r/pkgs"
	# Smoke test on the host with the guest's loader and libraries: every
	# library resolves (a container start needs the guest: runc re-executes
	# itself, which fails under an explicit loader).
	g=$DIR/guest
	for t in runc crun; do
		"$g/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
			--library-path "$r/lib:$g/lib/x86_64-linux-gnu:$g/usr/lib/x86_64-linux-gnu" \
			"$r/bin/$t" --version >&2 || die "$t does not run with the guest's libraries (see above)"
	done
	rm -rf "$DIR/runtimes" "$DIR/debs/runtimes"
	mv "$r" "$DIR/runtimes"
	echo "${RUNTIME_PKGS//$'\n'/ }" >"$DIR/.runtimes.ok"
fi

echo "vm ready: $DIR (kernel $kver, initramfs $(($(stat -c %s "$DIR/initramfs.cpio") / 1048576)) MiB$(runtimes_note))"
