#!/bin/bash
# berth under real engines (issue 7): the same scenarios through each
# engine with berth as its runtime, and with Debian's runc as the control.
#
#   integration/engines/run.sh [BERTH_BINARY]
#
# Installs what it needs from Debian's packages (podman with conmon; apt
# is kept from starting any service), keeps every engine's storage, state
# and cgroups under a temp dir and the /berth-engines-test cgroup parent,
# and prints `ok ENGINE/SCENARIO (RUNTIME)` or `FAIL ...`, then one line
# `N passed, N failed` for berth. A scenario that fails with runc too is
# reported as such ("fails with runc too") and not counted against berth.
#
# Engines: podman 4.3 (conmon). Docker and containerd are not wired up
# yet (see README: "Testing with real engines").
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
berth=$(realpath "${1:-$repo/target/x86_64-unknown-linux-gnu/release/berth}")
[ "$(id -u)" = 0 ] || { echo "engines: run as root" >&2; exit 1; }
[ -x "$berth" ] || { echo "engines: no berth binary at $berth" >&2; exit 1; }

if ! command -v podman >/dev/null || ! command -v conmon >/dev/null; then
  echo "engines: installing podman (no service is started)" >&2
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
  rc=$?
  rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || { echo "engines: could not install podman" >&2; exit 1; }
fi

work=$(mktemp -d /var/tmp/berth-engines.XXXXXX)
CGPARENT=/berth-engines-test-$$
cleanup() {
  podman --root "$work/root" --runroot "$work/runroot" --storage-driver vfs rm -af >/dev/null 2>&1
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$h$CGPARENT" ] && find "$h$CGPARENT" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  umount -R "$work/runroot" 2>/dev/null
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# A busybox image, built here (no registry is reachable).
mkdir -p "$work/img/bin" "$work/img/tmp" "$work/img/etc"
chmod 1777 "$work/img/tmp"
cp /bin/busybox "$work/img/bin/busybox"
for a in sh echo cat ls id sleep true false hostname env grep tty touch awk tr head pwd; do
  ln -s busybox "$work/img/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/img/etc/passwd"
printf 'root:x:0:\n' >"$work/img/etc/group"
tar -C "$work/img" -cf "$work/busybox.tar" .

# Each runtime's result per scenario, then the report.
declare -A RESULT
for rt in berth runc; do
  case $rt in berth) bin=$berth ;; runc) bin=$(command -v runc) ;; esac
  [ -n "$bin" ] || continue
  while read -r name status detail; do
    RESULT["$rt/$name"]="$status $detail"
  done < <(ENGINE_WORK=$work ENGINE_RUNTIME=$bin CGPARENT=$CGPARENT bash "$here/podman.sh")
done

pass=0 fail=0 both=0
for key in "${!RESULT[@]}"; do
  [[ $key == berth/* ]] || continue
  name=${key#berth/}
  read -r st detail <<<"${RESULT[$key]}"
  if [ "$st" = ok ]; then
    echo "ok podman/$name (berth)"
    pass=$((pass + 1))
  else
    read -r rst _ <<<"${RESULT[runc/$name]:-none}"
    if [ "$rst" = FAIL ]; then
      echo "FAIL podman/$name (berth; fails with runc too): $detail"
      both=$((both + 1))
    else
      echo "FAIL podman/$name (berth): $detail"
      fail=$((fail + 1))
    fi
  fi
done | sort
# The counts, recomputed outside the pipe's subshell.
pass=0 fail=0 both=0
for key in "${!RESULT[@]}"; do
  [[ $key == berth/* ]] || continue
  name=${key#berth/}
  read -r st _ <<<"${RESULT[$key]}"
  read -r rst _ <<<"${RESULT[runc/$name]:-none}"
  if [ "$st" = ok ]; then pass=$((pass + 1)); elif [ "$rst" = FAIL ]; then both=$((both + 1)); else fail=$((fail + 1)); fi
done
runc_pass=0
for key in "${!RESULT[@]}"; do [[ $key == runc/* ]] && [[ ${RESULT[$key]} == ok* ]] && runc_pass=$((runc_pass + 1)); done
echo "runc (control): $runc_pass passed of the same scenarios"
echo "$pass passed, $fail failed${both:+, $both failing with runc too}"
[ "$fail" = 0 ]
