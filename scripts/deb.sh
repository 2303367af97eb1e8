#!/bin/bash
# deb.sh BERTH OUT.deb: a Debian package of the static berth binary BERTH
# (which must be a build of this tree), made with dpkg-deb alone: the
# binary in /usr/bin, man pages (gzipped) in /usr/share/man/man8, the bash,
# zsh and fish completions, README and the licence in /usr/share/doc/berth.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
berth=$(realpath "$1")
out=$2
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/Cargo.toml" | head -n1)
stage=$(mktemp -d /tmp/berth-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
"$here/scripts/stage.sh" "$berth" "$root" /usr
gzip -9n "$root"/usr/share/man/man8/*.8
doc=$root/usr/share/doc/berth
install -d "$doc"
gzip -9n <"$here/README.md" >"$doc/README.md.gz"
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: berth"
	echo
	echo "Files: *"
	echo "Copyright: the berth developers"
	echo "License: Apache-2.0"
	echo " On Debian systems the full text of the Apache License 2.0 is in"
	echo " /usr/share/common-licenses/Apache-2.0; it follows as shipped with berth."
	echo " ."
	sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$here/LICENSE"
} >"$doc/copyright"
chmod -R u=rwX,go=rX "$root"
mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: berth
Version: $version
Architecture: amd64
Maintainer: berth developers <berth@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Section: admin
Priority: optional
Recommends: criu, uidmap
Description: low-level OCI container runtime, a drop-in replacement for runc
 berth creates and runs containers from OCI bundles with runc's command
 line, so Docker, Podman, containerd and Kubernetes can use it as their
 runtime. It is one static binary with no C library dependency.
 .
 \`berth check\` tells what the host offers it.
CONTROL
mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
