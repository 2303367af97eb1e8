"""berth's benchmark: the same workloads through berth, runc and crun,
interleaved round-robin so machine noise hits all alike, warm-up rounds
dropped. Prints medians, p90 and ratios, and writes every sample as JSON.
Run through bench/run.sh (it sets up the mount namespace)."""

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
PREFIX = f"/berth-bench-{os.getpid()}"


def runtimes():
    found = {"berth": BERTH}
    for name in ("runc", "crun"):
        path = shutil.which(name)
        if path:
            found[name] = path
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


WORKLOADS = {"run /bin/true": workload_run, "create+start+delete": workload_lifecycle}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    rts = runtimes()
    top = tempfile.mkdtemp(prefix="berth-bench-")
    bundle, config = make_bundle(top, BERTH)
    samples = {w: {r: [] for r in rts} for w in WORKLOADS}
    rss = {r: 0 for r in rts}
    failures = {r: 0 for r in rts}
    cid = 0
    try:
        for i in range(ROUNDS + WARMUP):
            for wname, fn in WORKLOADS.items():
                for rt, path in rts.items():
                    cid += 1
                    root = os.path.join(top, "state-" + rt)
                    try:
                        t, peak = fn(rt, path, root, bundle, config, cid)
                    except RuntimeError as e:
                        failures[rt] += 1
                        if failures[rt] <= 3:
                            print(f"  {rt}: {e}", file=sys.stderr)
                        continue
                    if i >= WARMUP:
                        samples[wname][rt].append(t)
        for rt, path in rts.items():
            rss[rt] = peak_rss(path, os.path.join(top, "state-" + rt), bundle, config, rt)
    finally:
        for rt, path in rts.items():
            root = os.path.join(top, "state-" + rt)
            out = subprocess.run([path, "--root", root, "list", "-q"], capture_output=True, text=True)
            for c in out.stdout.split():
                subprocess.run([path, "--root", root, "delete", "--force", c], capture_output=True)
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
    for wname in WORKLOADS:
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
    print("\nbinary size (bytes)")
    for rt, path in rts.items():
        print(f"  {rt:<8} {os.path.getsize(path):>10}")
    if any(failures.values()):
        print("\nfailures: " + ", ".join(f"{r} {n}" for r, n in failures.items()))
    out = os.path.join(os.getcwd(), "target", "bench.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"rounds": ROUNDS, "versions": versions, "samples": samples, "peak_rss_kib": rss,
                   "failures": failures}, f, indent=1)
    print(f"\nall samples: {out}")


main()
