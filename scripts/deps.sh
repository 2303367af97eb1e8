#!/bin/sh
# Install the Debian packages berth's demo and tests need, when missing.
set -e
need=""
[ -x /bin/busybox ] && busybox --list 2>/dev/null | grep -qx sh && file -L /bin/busybox 2>/dev/null | grep -q static || need="$need busybox-static"
command -v python3 >/dev/null || need="$need python3"
# man, for the man page test (man --warnings).
command -v man >/dev/null || need="$need man-db"
# newuidmap/newgidmap, for the rootless tests' subuid ranges.
command -v newuidmap >/dev/null || need="$need uidmap"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "berth: please install:$need (as root: apt-get install -y$need)" >&2
  exit 1
fi
echo "installing:$need"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
