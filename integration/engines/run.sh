#!/bin/bash
# berth under real engines (issue 7): the same scenarios through each
# engine with berth as its runtime, and with Debian's runc as the control.
#
#   integration/engines/run.sh [BERTH_BINARY]
#
# Installs what it needs from Debian's packages (podman with conmon,
# docker.io with containerd; apt is kept from starting any service), keeps
# every engine's storage, state and cgroups under a temp dir and the
# /berth-engines-test-PID cgroup parent,
# and prints `ok ENGINE/SCENARIO (RUNTIME)` or `FAIL ...`, then one line
# `N passed, N failed` for berth. A scenario that fails with runc too is
# reported as such ("fails with runc too") and not counted against berth.
#
# Engines: podman 4.3 (conmon), docker 20.10 (a private dockerd on a
# private containerd 1.6, runtimes registered in its daemon.json) and
# containerd itself (`ctr run --runc-binary`, its io.containerd.runc.v2
# shim).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
berth=$(realpath "${1:-$repo/target/x86_64-unknown-linux-gnu/release/berth}")
runc_bin=$(command -v runc || true)
[ "$(id -u)" = 0 ] || { echo "engines: run as root" >&2; exit 1; }
[ -x "$berth" ] || { echo "engines: no berth binary at $berth" >&2; exit 1; }

need=""
command -v podman >/dev/null && command -v conmon >/dev/null || need="$need podman"
command -v dockerd >/dev/null && command -v containerd >/dev/null || need="$need docker.io"
command -v script >/dev/null || need="$need bsdutils"
if [ -n "$need" ]; then
  echo "engines: installing$need (no service is started)" >&2
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  rc=$?
  rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || { echo "engines: could not install$need" >&2; exit 1; }
fi

work=$(mktemp -d /var/tmp/berth-engines.XXXXXX)
CGPARENT=/berth-engines-test-$$
pids=()
stop_daemons() {
  local p i
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
}
cleanup() {
  [ -S "$work/docker.sock" ] && timeout 60 docker -H "unix://$work/docker.sock" rm -f $(docker -H "unix://$work/docker.sock" ps -aq 2>/dev/null) >/dev/null 2>&1
  podman --root "$work/root" --runroot "$work/runroot" --storage-driver vfs rm -af >/dev/null 2>&1
  stop_daemons
  local h m p arg
  # containerd's shims outlive it: whatever still names our work dir in its
  # command line (shims, conmon) is ours to stop.
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" == "$$" ] || [ "${p#/proc/}" == "$BASHPID" ] && continue
    while IFS= read -r -d '' arg; do
      if [[ "$arg" == *"$work/"* ]]; then kill -9 "${p#/proc/}" 2>/dev/null; break; fi
    done 2>/dev/null <"$p/cmdline"
  done
  # Mounts the daemons left under the work dir (overlay/shm/netns).
  while read -r m; do umount -l "$m" 2>/dev/null; done < <(awk -v p="$work/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -d "$h${CGPARENT#/}" ] && find "$h${CGPARENT#/}" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# A busybox image, built here (no registry is reachable).
mkdir -p "$work/img/bin" "$work/img/tmp" "$work/img/etc" "$work/img/proc" "$work/img/sys" "$work/img/dev"
chmod 1777 "$work/img/tmp"
cp /bin/busybox "$work/img/bin/busybox"
for a in sh echo cat ls id sleep true false hostname env grep tty touch awk tr head pwd; do
  ln -s busybox "$work/img/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/img/etc/passwd"
printf 'root:x:0:\n' >"$work/img/etc/group"
tar -C "$work/img" -cf "$work/busybox.tar" .
cp -a "$work/img" "$work/rootfs"

# Private containerd and dockerd: own roots, sockets, pid files; cgroupfs
# driver, containers under $CGPARENT; no bridge, no iptables.
cat >"$work/containerd.toml" <<TOML
version = 2
root = "$work/containerd-root"
state = "$work/containerd-state"
[grpc]
  address = "$work/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
TOML
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
pids+=($!)
cat >"$work/daemon.json" <<JSON
{"runtimes": {"berth": {"path": "$berth"}, "runc-control": {"path": "$runc_bin"}},
 "exec-opts": ["native.cgroupdriver=cgroupfs"], "cgroup-parent": "$CGPARENT/docker"}
JSON
for ((i = 0; i < 100; i++)); do [ -S "$work/containerd.sock" ] && break; sleep 0.1; done
dockerd --config-file "$work/daemon.json" --data-root "$work/docker-root" --exec-root "$work/docker-exec" \
  -H "unix://$work/docker.sock" --pidfile "$work/docker.pid" --containerd "$work/containerd.sock" \
  --iptables=false --ip-masq=false --bridge=none --storage-driver vfs >"$work/dockerd.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 200; i++)); do docker -H "unix://$work/docker.sock" info >/dev/null 2>&1 && break; sleep 0.1; done
docker -H "unix://$work/docker.sock" import "$work/busybox.tar" berth-busybox:test >/dev/null 2>&1 ||
  echo "engines: docker import failed (see $work/dockerd.log)" >&2

# Each runtime's result per engine and scenario.
declare -A RESULT
# ENGINE_ONLY="containerd" (say) runs one engine's scenarios, for work on them.
for engine in ${ENGINE_ONLY:-podman docker containerd}; do
  for rt in berth runc; do
    case $rt in berth) bin=$berth name=berth ;; runc) bin=$runc_bin name=runc-control ;; esac
    [ -n "$bin" ] || continue
    while read -r scen status detail; do
      RESULT["$engine/$scen/$rt"]="$status $detail"
    done < <(ENGINE_WORK=$work ENGINE_RUNTIME=$bin ENGINE_RT_NAME=$name CGPARENT=$CGPARENT bash "$here/$engine.sh")
    # The runtime leaves the shared rootfs as it found it: no mount on or
    # under it, every file still there.
    left=$(awk -v p="$work/rootfs" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo)
    if [ -z "$left" ] && [ -e "$work/rootfs/bin/busybox" ]; then
      RESULT["$engine/rootfs-untouched/$rt"]="ok"
    else
      RESULT["$engine/rootfs-untouched/$rt"]="FAIL mounts left: [$(echo $left)] busybox: $(ls "$work/rootfs/bin/busybox" 2>&1)"
    fi
  done
done

pass=0 fail=0 both=0 runc_pass=0
lines=() runc_lines=()
for key in "${!RESULT[@]}"; do
  if [[ $key == */runc ]]; then
    if [[ ${RESULT[$key]} == ok* ]]; then runc_pass=$((runc_pass + 1)); else runc_lines+=("runc-control ${key%/runc}: ${RESULT[$key]}"); fi
    continue
  fi
  scen=${key%/berth}
  read -r st detail <<<"${RESULT[$key]}"
  read -r rst _ <<<"${RESULT[$scen/runc]:-none}"
  if [ "$st" = ok ]; then
    lines+=("ok $scen (berth)")
    pass=$((pass + 1))
  elif [ "$rst" = FAIL ]; then
    lines+=("FAIL $scen (berth; fails with runc too): $detail")
    both=$((both + 1))
  else
    lines+=("FAIL $scen (berth): $detail")
    fail=$((fail + 1))
  fi
done
printf '%s\n' "${lines[@]}" | sort
[ ${#runc_lines[@]} = 0 ] || printf '%s\n' "${runc_lines[@]}" | sort
echo "runc (control): $runc_pass passed"
echo "$pass passed, $fail failed, $both failing with runc too"
[ "$fail" = 0 ]
