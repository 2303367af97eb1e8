"""berth's benchmark: the same workloads through berth, runc, crun (and
youki with BENCH_YOUKI=1), interleaved round-robin so machine noise hits
all alike, warm-up rounds dropped. Timed workloads: `run /bin/true`,
create+start+delete of it, `exec /bin/true` into a running container,
`state` and `list` with BENCH_LIST (1,000) containers in the state root;
then BENCH_PARALLEL (100) creates at once, the peak RSS of `run` and the
binary size. Prints medians, p90 and ratios, and writes every sample as
JSON. Run through bench/run.sh (it sets up the mount namespace)."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BERTH, ROUNDS = sys.argv[1], int(sys.argv[2])
WARMUP = 3
LIST_N = int(os.environ.get("BENCH_LIST", "1000"))
PARALLEL_N = int(os.environ.get("BENCH_PARALLEL", "100"))
PREFIX = f"/berth-bench-{os.getpid()}"


def runtimes():
    found = {"berth": BERTH}
    names = ["runc", "crun"] + (["youki"] if os.environ.get("BENCH_YOUKI") == "1" else [])
    for name in names:
        path = shutil.which(name) or os.environ.get(f"BENCH_{name.upper()}_PATH")
        if path and os.path.exists(path):
            found[name] = path
        elif name == "youki":
            print("  youki: not found (bench/run.sh installs it with BENCH_YOUKI=1)", file=sys.stderr)
    return found


def make_bundle(top, berth):
    bundle = os.path.join(top, "bundle")
    os.makedirs(os.path.join(bundle, "rootfs", "bin"))
    shutil.copy(os.path.realpath("/bin/busybox"), os.path.join(bundle, "rootfs", "bin", "busybox"))
    for applet in ("true", "sh", "sleep"):
        os.symlink("busybox", os.path.join(bundle, "rootfs", "bin", applet))
    subprocess.run([berth, "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        config = json.load(f)
    # crun 1.8 refuses newer versions; the fields used are all in 1.0.2.
    config["ociVersion"] = "1.0.2"
    config["process"]["terminal"] = False
    config["process"]["args"] = ["/bin/true"]
    with open(path, "w") as f:
        json.dump(config, f)
    return bundle, config


def with_cgroup(bundle, config, name, cid):
    """Each container gets its own cgroup under the bench prefix: rewrite
    the config's cgroupsPath (cheap) before each call."""
    config["linux"]["cgroupsPath"] = f"{PREFIX}/{name}-{cid}"
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f)


def timed(argv):
    """Run argv, return (seconds, ru_maxrss in KiB; only a rough figure,
    see peak_rss).
    stderr goes to a file, not a pipe: the container's init inherits the
    runtime's stdio, so a pipe would stay open as long as the container."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            text = err.read().decode(errors="replace").strip()
            raise RuntimeError(f"{os.path.basename(argv[0])} {argv[3]} failed ({proc.returncode}): {text}")
    return elapsed, usage.ru_maxrss


def workload_run(rt, path, root, bundle, config, cid):
    with_cgroup(bundle, config, rt, cid)
    t, rss = timed([path, "--root", root, "run", "--bundle", bundle, f"b{cid}"])
    return t, rss


def workload_lifecycle(rt, path, root, bundle, config, cid):
    with_cgroup(bundle, config, rt, cid)
    cid = f"l{cid}"
    total, peak = 0.0, 0
    for argv in (["create", "--bundle", bundle, cid], ["start", cid]):
        t, rss = timed([path, "--root", root] + argv)
        total, peak = total + t, max(peak, rss)
    # wait for /bin/true to finish before delete
    deadline = time.time() + 5
    while time.time() < deadline:
        out = subprocess.run([path, "--root", root, "state", cid], capture_output=True, text=True)
        if '"stopped"' in out.stdout:
            break
        time.sleep(0.001)
    t, rss = timed([path, "--root", root, "delete", cid])
    return total + t, max(peak, rss)


def with_args(bundle, config, args):
    config["process"]["args"] = args
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f)


def quiet(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


def start_sleeper(rt, path, root, bundle, config, cid):
    """A running container for the exec workload (one per runtime)."""
    with_args(bundle, config, ["sleep", "100000"])
    with_cgroup(bundle, config, rt, cid)
    timed([path, "--root", root, "create", "--bundle", bundle, cid])
    timed([path, "--root", root, "start", cid])
    with_args(bundle, config, ["/bin/true"])


def workload_exec(rt, path, root, bundle, config, cid):
    return timed([path, "--root", root, "exec", f"sleeper-{rt}", "/bin/true"])


def fill_state_root(rt, path, root, bundle, config, n):
    """n stopped containers (create + start of /bin/true, never deleted):
    the state root `state` and `list` are timed against."""
    made = 0
    for i in range(n):
        with_cgroup(bundle, config, rt, f"fill{i}")
        if quiet([path, "--root", root, "create", "--bundle", bundle, f"fill{i}"]) == 0:
            quiet([path, "--root", root, "start", f"fill{i}"])
            made += 1
    return made


def workload_state(rt, path, root, bundle, config, cid):
    return timed([path, "--root", root, "state", f"fill{LIST_N // 2}"])


def workload_list(rt, path, root, bundle, config, cid):
    return timed([path, "--root", root, "list"])


def parallel_creates(rt, path, root, bundle, config, n):
    """n creates at once, each its own id and cgroup; (seconds, failures)."""
    procs = []
    start = time.perf_counter()
    for i in range(n):
        with_cgroup(bundle, config, rt, f"par{i}")
        # Each create reads config.json when it starts: give each its own.
        b = os.path.join(os.path.dirname(bundle), f"par-{rt}-{i}")
        os.makedirs(b, exist_ok=True)
        # The shared rootfs by its absolute path (runc refuses a symlink).
        own = dict(config, root=dict(config["root"], path=os.path.join(bundle, "rootfs")))
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(own, f)
    for i in range(n):
        b = os.path.join(os.path.dirname(bundle), f"par-{rt}-{i}")
        err = tempfile.TemporaryFile()
        procs.append((subprocess.Popen([path, "--root", root, "create", "--bundle", b, f"par{i}"],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=err), err))
    failures = 0
    for p, err in procs:
        if p.wait() != 0:
            failures += 1
            if failures == 1:
                err.seek(0)
                print(f"  {rt}: a parallel create failed: {err.read().decode(errors='replace').strip()}",
                      file=sys.stderr)
        err.close()
    return time.perf_counter() - start, failures


def delete_all(path, root):
    out = subprocess.run([path, "--root", root, "list", "-q"], capture_output=True, text=True)
    for c in out.stdout.split():
        quiet([path, "--root", root, "delete", "--force", c])


def peak_rss(path, root, bundle, config, rt, tries=3):
    """Peak RSS of `run` (the runtime process itself, KiB), measured apart
    from the timed rounds through GNU time: ru_maxrss seen from Python
    would include Python's own pages from before the exec."""
    if not shutil.which("time") and not os.path.exists("/usr/bin/time"):
        return None
    best = 0
    for n in range(tries):
        with_cgroup(bundle, config, rt, f"rss{n}")
        with tempfile.NamedTemporaryFile("r") as out:
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, path, "--root", root,
                            "run", "--bundle", bundle, f"rss{n}"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            try:
                best = max(best, int(out.read().strip().splitlines()[-1]))
            except (ValueError, IndexError):
                pass
    return best


WORKLOADS = {"run /bin/true": workload_run, "create+start+delete": workload_lifecycle,
             "exec /bin/true": workload_exec}
LIST_WORKLOADS = {f"state ({LIST_N} containers)": workload_state,
                  f"list ({LIST_N} containers)": workload_list}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def interleave(rts, top, bundle, config, workloads, samples, failures, rounds, first_cid):
    cid = first_cid
    names = list(rts)
    for i in range(rounds + WARMUP):
        # Who goes first changes every round: on cgroup v1 the first
        # process migration after a quiet spell waits for an RCU grace
        # period (~10-20 ms, cgroup_threadgroup_rwsem), and the runtime
        # that happens to follow another's migration would not pay it.
        order = names[i % len(names):] + names[:i % len(names)]
        for wname, fn in workloads.items():
            for rt in order:
                path = rts[rt]
                cid += 1
                root = os.path.join(top, "state-" + rt)
                try:
                    t, _ = fn(rt, path, root, bundle, config, cid)
                except RuntimeError as e:
                    failures[rt] += 1
                    if failures[rt] <= 3:
                        print(f"  {rt}: {e}", file=sys.stderr)
                    continue
                if i >= WARMUP:
                    samples[wname][rt].append(t)
    return cid


def main():
    rts = runtimes()
    top = tempfile.mkdtemp(prefix="berth-bench-")
    bundle, config = make_bundle(top, BERTH)
    all_workloads = {**WORKLOADS, **LIST_WORKLOADS}
    samples = {w: {r: [] for r in rts} for w in all_workloads}
    rss = {r: 0 for r in rts}
    failures = {r: 0 for r in rts}
    parallel = {}
    filled = {}
    try:
        for rt, path in rts.items():
            start_sleeper(rt, path, os.path.join(top, "state-" + rt), bundle, config, f"sleeper-{rt}")
        cid = interleave(rts, top, bundle, config, WORKLOADS, samples, failures, ROUNDS, 0)
        for rt, path in rts.items():
            root = os.path.join(top, "state-" + rt)
            rss[rt] = peak_rss(path, root, bundle, config, rt)
            delete_all(path, root)
            parallel[rt] = parallel_creates(rt, path, root, bundle, config, PARALLEL_N)
            delete_all(path, root)
            print(f"  {rt}: {PARALLEL_N} parallel creates in {parallel[rt][0]:.2f} s, "
                  f"{parallel[rt][1]} failed; filling its state root with {LIST_N} containers",
                  file=sys.stderr)
            filled[rt] = fill_state_root(rt, path, root, bundle, config, LIST_N)
        interleave(rts, top, bundle, config, LIST_WORKLOADS, samples, failures, ROUNDS, cid)
    finally:
        for rt, path in rts.items():
            delete_all(path, os.path.join(top, "state-" + rt))
        for hier in os.listdir("/sys/fs/cgroup"):
            base = os.path.join("/sys/fs/cgroup", hier, PREFIX.lstrip("/"))
            if os.path.isdir(base):
                for sub in os.listdir(base):
                    if os.path.isdir(os.path.join(base, sub)):
                        try:
                            os.rmdir(os.path.join(base, sub))
                        except OSError:
                            pass
                try:
                    os.rmdir(base)
                except OSError:
                    pass
        shutil.rmtree(top, ignore_errors=True)

    versions = {}
    for rt, path in rts.items():
        out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
        versions[rt] = out.splitlines()[0] if out else "?"
    print(f"\n{ROUNDS} rounds (+{WARMUP} warm-up), interleaved; times in ms; "
          "private mount ns, /sys/fs/cgroup/unified hidden")
    for rt in rts:
        print(f"  {rt}: {versions[rt]} ({rts[rt]})")
    others = [r for r in rts if r != "berth"]
    for wname in all_workloads:
        print(f"\n{wname}")
        print(f"  {'runtime':<8} {'median':>8} {'p90':>8}   " + "  ".join(f"berth/{o:<5}" for o in others))
        med = {r: statistics.median(s) * 1000 for r, s in samples[wname].items() if s}
        for rt in rts:
            s = samples[wname][rt]
            if not s:
                print(f"  {rt:<8} {'failed':>8}")
                continue
            line = f"  {rt:<8} {med[rt]:>8.2f} {pct(s, 0.9) * 1000:>8.2f}"
            if rt == "berth":
                line += "   " + "  ".join(f"{med['berth'] / med[o]:>10.2f}" if o in med else f"{'-':>10}" for o in others)
            print(line)
    print("\npeak RSS of `run` (the runtime process, KiB, GNU time, max of 3)")
    for rt in rts:
        print(f"  {rt:<8} {rss[rt] if rss[rt] is not None else 'n/a':>8}")
    print(f"\n{PARALLEL_N} creates at once (total seconds, failures)")
    for rt in rts:
        if rt in parallel:
            print(f"  {rt:<8} {parallel[rt][0]:>8.2f} {parallel[rt][1]:>4}")
    print(f"\ncontainers made for state/list: " + ", ".join(f"{r} {filled.get(r, 0)}" for r in rts))
    print("\nbinary size (bytes)")
    for rt, path in rts.items():
        print(f"  {rt:<8} {os.path.getsize(path):>10}")
    if any(failures.values()):
        print("\nfailures: " + ", ".join(f"{r} {n}" for r, n in failures.items()))
    out = os.path.join(os.getcwd(), "target", "bench.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"rounds": ROUNDS, "versions": versions, "samples": samples, "peak_rss_kib": rss,
                   "failures": failures, "parallel_creates": parallel, "list_containers": filled},
                  f, indent=1)
    print(f"\nall samples: {out}")


main()
