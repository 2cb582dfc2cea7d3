#!/usr/bin/env python3
"""Strategies side by side on fresh local labs, in one run: labtool's labtool.lab.linear
(ansible.cfg's), Ansible's own linear, Mitogen's mitogen_linear.

    flock /tmp/labtool-heavy.lock /opt/labtool-venv/bin/python bench/strategies.py \\
        [--what single|class|all] [--reps N] [--labs 3] [--name bench-st] \\
        [--variant NAME:VAR=VALUE,...]... [--results FILE] [--table-only]

(root: Docker, and the controller's CPU is read from a cpuacct cgroup and the kernel's process
accounting.) Each repetition runs every variant (default: ``labtool``, ansible.cfg's strategy,
and ``linear`` = ``LABTOOL_STRATEGY=linear``; ``--variant mitogen:LABTOOL_STRATEGY=mitogen``
for Mitogen), alternating which goes first, each on a fresh lab:

- ``single``: a fresh local lab, then ``labtool up -f lab.yml`` (the first up, verify
  included), ``labtool up`` again (the second: nothing to change) and
  ``labtool up --full --no-verify`` (every role on a converged lab); the lab is destroyed.
- ``class``: a fresh local class of ``--labs`` labs, then one ``labtool up -f class.yml``
  (every lab at once, verify included); destroyed.

Every measured command runs in its own cpuacct cgroup: its CPU is everything labtool and all
it started used (ansible-playbook, its workers, ssh and its ControlPersist masters, which
detach from the tree, Mitogen's processes), until its exit; processes left in the cgroup
then (ssh masters) are ended, their CPU counted, so each command starts without them.
Peak memory: the largest sum of RSS over the cgroup's processes (sampled every 0.5 s;
forked workers' shared pages count once per process). The CPU split by process comes from
the kernel's process accounting (acct(2), v3 records of the exited processes, matched to
the command's process tree); CPU no record accounts for (processes shorter than a clock
tick, reparented ones) is "other/unaccounted".

Each measurement is appended to ``--results`` (JSON lines), and the table is printed from all
the file holds, so measurement sets taken in separate lock stretches add up (``--table-only``
prints it without measuring). Container creation is never timed. Timings live here, never
in tests.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABTOOL = Path(sys.executable).parent / "labtool"
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
DEFAULT_VARIANTS = {"labtool": {"LABTOOL_STRATEGY": "labtool"}, "linear": {"LABTOOL_STRATEGY": "linear"}}
HZ = 100  # acct v3 times are in AHZ ticks


# --------------------------------------------------------------------------- process accounting

_ACCT_V3 = struct.Struct("=BBHIIIIIIf8H16s")  # struct acct_v3 (linux/acct.h), 64 bytes


def _comp(value: int) -> int:
    """comp_t: 13-bit mantissa, 3-bit base-8 exponent."""
    return (value & 0x1FFF) << (3 * ((value >> 13) & 7))


def read_acct(path: Path) -> list[dict]:
    data = path.read_bytes()
    out = []
    for offset in range(0, len(data) - _ACCT_V3.size + 1, _ACCT_V3.size):
        (_flag, version, _tty, _exit, _uid, _gid, pid, ppid, btime, etime,
         utime, stime, *_rest, comm) = _ACCT_V3.unpack_from(data, offset)
        if version & 0x7F != 3:
            continue
        out.append({"pid": pid, "ppid": ppid, "btime": btime, "etime": etime / HZ,
                    "cpu": (_comp(utime) + _comp(stime)) / HZ,
                    "comm": comm.split(b"\0", 1)[0].decode(errors="replace")})
    return out


class Accounting:
    """The kernel's process accounting into a file, for the length of a ``with``."""

    def __init__(self, path: Path):
        self.path = path
        self.libc = ctypes.CDLL(None, use_errno=True)

    def __enter__(self) -> "Accounting":
        self.path.write_bytes(b"")
        if self.libc.acct(str(self.path).encode()) != 0:
            raise OSError(ctypes.get_errno(), "acct(2) failed (root needed)")
        return self

    def __exit__(self, *exc) -> None:
        self.libc.acct(None)


def split_cpu(records: list[dict], root: int, leftovers: set[int], total: float) -> tuple[dict[str, float], dict[str, int]]:
    """CPU seconds by kind of process, and the number of processes of each kind: the measured
    command's tree (from ``root``, by parent pid) plus the processes still in its cgroup at
    its end (``leftovers``: ssh masters). acct(2) truncates each process's user and system
    time to whole 10 ms ticks, so about 10 ms a process goes to "other/unaccounted"."""
    tree = {root}
    grown = True
    while grown:
        grown = False
        for r in records:
            if r["ppid"] in tree and r["pid"] not in tree:
                tree.add(r["pid"])
                grown = True
    by_pid = {r["pid"]: r for r in records if r["pid"] in tree or r["pid"] in leftovers}
    mains = {pid for pid, r in by_pid.items() if r["ppid"] == root and r["comm"].startswith("ansible-playbo")}
    counts: dict[str, int] = {}
    split = {"labtool (runner, events, report)": 0.0, "ansible-playbook main": 0.0,
             "ansible-playbook workers": 0.0, "mitogen mux (long-lived fork)": 0.0,
             "ssh clients + masters": 0.0, "other processes": 0.0}
    for pid, r in by_pid.items():
        if pid == root:
            key = "labtool (runner, events, report)"
        elif pid in mains:
            key = "ansible-playbook main"
        elif r["comm"] == "ssh" or pid in leftovers:
            key = "ssh clients + masters"
        elif r["ppid"] in mains and r["comm"].startswith("ansible-playbo"):
            main = by_pid[r["ppid"]]
            long_lived = r["etime"] >= 0.5 * main["etime"]
            key = "mitogen mux (long-lived fork)" if long_lived else "ansible-playbook workers"
        elif r["comm"].startswith("ansible-playbo"):
            key = "ansible-playbook workers"
        else:
            key = "other processes"
        split[key] += r["cpu"]
        counts[key] = counts.get(key, 0) + 1
    split["other/unaccounted"] = max(0.0, total - sum(split.values()))
    return {k: round(v, 2) for k, v in split.items()}, counts


# --------------------------------------------------------------------------- one measured command

def cgroup_pids(cgroup: Path) -> list[int]:
    try:
        return [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def rss_sum(pids: list[int]) -> int:
    page, total = os.sysconf("SC_PAGE_SIZE"), 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    return total


def measure(argv: list[str], env: dict[str, str], log: Path, tag: str) -> dict:
    """Run ``argv`` in a fresh cpuacct cgroup; wall, CPU (cgroup, and the rusage of waited-for
    children as bench/classroom.py counts it), its split by process, peak RSS."""
    cgroup = CPUACCT / f"labtool-bench-{os.getpid()}-{tag}"
    cgroup.mkdir()
    acct_file = Path(f"/tmp/labtool-bench-{os.getpid()}.pacct")
    procs = cgroup / "cgroup.procs"

    def join_cgroup() -> None:
        procs.write_text(str(os.getpid()))

    print(f"  $ {' '.join(argv[1:])}  [{tag}]", flush=True)
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        with Accounting(acct_file), log.open("w") as out:
            started = time.monotonic()
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                    preexec_fn=join_cgroup)
            peak, done = 0, threading.Event()

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, rss_sum(cgroup_pids(cgroup)))
                    done.wait(0.5)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            rc = proc.wait()
            wall = time.monotonic() - started
            done.set()
            sampler.join()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            leftovers = set(cgroup_pids(cgroup))
            for pid in leftovers:  # ssh ControlPersist masters: ended, their CPU counted
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
            for _ in range(50):
                if not cgroup_pids(cgroup):
                    break
                time.sleep(0.1)
        total = int((cgroup / "cpuacct.usage").read_text()) / 1e9
        records = read_acct(acct_file)
    finally:
        for pid in cgroup_pids(cgroup):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
        try:
            cgroup.rmdir()
        except OSError:
            pass
        acct_file.unlink(missing_ok=True)
    split, counts = split_cpu(records, proc.pid, leftovers, total)
    results = sum(1 for line in log.read_text(errors="replace").splitlines()
                  if line.split(" ", 1)[0] in ("ok", "changed", "skipped", "failed"))
    rusage = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = {"rc": rc, "wall": round(wall, 2), "cpu": round(total, 2), "cpu_rusage": round(rusage, 2),
              "peak_mib": round(peak / 2**20, 1), "load_before": load_before,
              "split": split, "processes": counts, "task_results": results}
    print(f"    rc {rc}  wall {wall:.1f} s  CPU {total:.1f} s (rusage {rusage:.1f})  peak {peak / 2**20:.0f} MiB"
          f"  load {load_before:.1f}  host-task results {results}", flush=True)
    return result


# --------------------------------------------------------------------------- scenarios

def labtool(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run([str(LABTOOL), *args], env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"labtool {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


SCENARIOS = {"first": ("first up", []), "second": ("second up", []),
             "full": ("up --full --no-verify", ["--full", "--no-verify"])}


def host_vars(state: Path, hostvars: dict[str, str]) -> None:
    """A variant's inventory variables (e.g. mitogen_ssh_compression), for each lab under
    ``state``: Ansible reads group_vars/ beside the inventory the runner writes there."""
    if not hostvars:
        return
    labs = [d for d in sorted(state.iterdir()) if d.is_dir() and d.name != "runner"] \
        if (state / "class.yml").exists() else [state]
    for runner in (lab / "runner" for lab in labs):
        group_vars = runner / "inventory" / "group_vars"
        group_vars.mkdir(parents=True, exist_ok=True)
        (group_vars / "all.yml").write_text("".join(f"{k}: {v}\n" for k, v in hostvars.items()))


def forget_built(state: Path) -> None:
    """A first up is a lab's first: the checks run before it. Older labtools' local destroy
    left the mark that an up went through (labtool/_paths.BUILT_MARK), so a variant of one of
    them would skip the checks that the other variant runs."""
    for mark in [state / "built", *state.glob("*/built")]:
        mark.unlink(missing_ok=True)


def single(name: str, variant: str, env: dict[str, str], logs: Path, rep: int, record, keep: bool = False,
           hostvars: dict[str, str] | None = None, scenarios: list[str] | None = None) -> None:
    """A fresh lab: the first up, the second, a full up without verify; destroyed unless ``keep``."""
    home = Path(env["LABTOOL_HOME"])
    labtool(env, "local", "destroy", "--name", name)
    labtool(env, "local", "create", "--name", name)
    forget_built(home / name)
    host_vars(home / name, hostvars or {})
    lab_file = str(home / name / "lab.yml")
    try:
        for scenario, extra in [SCENARIOS[s] for s in scenarios or list(SCENARIOS)]:
            tag = f"{variant}-{scenario.split()[0].replace('up', 'full')}-{rep}"
            r = measure([str(LABTOOL), "up", "-f", lab_file, *extra], env, logs / f"{name}-{tag}.log", tag)
            record({"scenario": scenario, "labs": 1, **r})
            if r["rc"] != 0:
                break
    finally:
        if not keep:
            labtool(env, "local", "destroy", "--name", name)


def klass(name: str, labs: int, variant: str, env: dict[str, str], logs: Path, rep: int, record,
          hostvars: dict[str, str] | None = None) -> None:
    """A fresh class of ``labs`` labs, one up of them all."""
    home = Path(env["LABTOOL_HOME"])
    labtool(env, "local", "destroy", "--name", name)
    labtool(env, "local", "create", "--labs", str(labs), "--name", name)
    forget_built(home / name)
    host_vars(home / name, hostvars or {})
    try:
        tag = f"{variant}-class-{rep}"
        r = measure([str(LABTOOL), "up", "-f", str(home / name / "class.yml")], env, logs / f"{name}-{tag}.log", tag)
        record({"scenario": f"class of {labs}, first up", "labs": labs, **r})
    finally:
        labtool(env, "local", "destroy", "--name", name)


# --------------------------------------------------------------------------- the table

def med(values: list[float]) -> str:
    if not values:
        return "-"
    m = statistics.median(values)
    return f"{m:.1f}" if len(values) == 1 else f"{m:.1f} ({min(values):.1f}-{max(values):.1f})"


def print_table(rows: list[dict]) -> None:
    # a second up whose stamp compare found a change (the tree was edited between the two ups)
    # ran every role: it is no second up, and is left out
    redone = [r for r in rows if r["scenario"] == "second up" and r.get("task_results", 0) > 60]
    ok = [r for r in rows if r["rc"] == 0 and r not in redone]
    failed = len([r for r in rows if r["rc"] != 0])
    keys = []
    for r in ok:
        if (r["scenario"], r["variant"]) not in keys:
            keys.append((r["scenario"], r["variant"]))
    keys.sort(key=lambda k: (k[0].startswith("class"), ["first up", "second up"].index(k[0])
                             if k[0] in ("first up", "second up") else 2, k[1]))
    head = ("scenario", "variant", "runs", "wall s: median (range)", "CPU s", "CPU s/lab", "peak MiB")
    table = [head]
    for scenario, variant in keys:
        group = [r for r in ok if r["scenario"] == scenario and r["variant"] == variant]
        labs = group[0]["labs"]
        table.append((scenario, variant, str(len(group)), med([r["wall"] for r in group]),
                      med([r["cpu"] for r in group]), f"{statistics.median(r['cpu'] for r in group) / labs:.1f}",
                      f"{statistics.median(r['peak_mib'] for r in group):.0f}"))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for row in table:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    print("\ncontroller CPU seconds by process (medians)")
    kinds = list(ok[0]["split"]) if ok else []
    short = {k: k.split(" (")[0].replace("ansible-playbook", "a-p") for k in kinds}
    print(f"  {'scenario':24} {'variant':10} " + " ".join(f"{short[k][:14]:>14}" for k in kinds))
    for scenario, variant in keys:
        group = [r for r in ok if r["scenario"] == scenario and r["variant"] == variant]
        print(f"  {scenario:24} {variant:10} "
              + " ".join(f"{statistics.median(r['split'][k] for r in group):14.1f}" for k in kinds))
    print("\nprocesses of each kind (median count; acct(2) rounds each one's CPU down to 10 ms ticks)")
    for scenario, variant in keys:
        group = [r for r in ok if r["scenario"] == scenario and r["variant"] == variant and "processes" in r]
        if group:
            print(f"  {scenario:24} {variant:10} "
                  + " ".join(f"{statistics.median(r['processes'].get(k, 0) for r in group):14.0f}" for k in kinds[:-1]))
    if redone:
        print(f"\n{len(redone)} second up(s) ran every role (the tree changed after the first up) and are left out")
    if failed:
        print(f"\n{failed} measured command(s) failed and are left out: "
              + ", ".join(f"{r['variant']} {r['scenario']} (rc {r['rc']})" for r in rows if r["rc"] != 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", choices=("single", "class", "all"), default="all")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--labs", type=int, default=3, help="labs in the class")
    parser.add_argument("--name", default="bench-st", help="the single lab's name; the class: <name>c")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                        help="a variant to run instead of the defaults (labtool, linear); repeatable. VAR=VALUE: "
                        "labtool's environment; +VAR=VALUE: an inventory variable of every node "
                        "(e.g. +mitogen_ssh_compression=false)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "strategies.jsonl")
    parser.add_argument("--logs", type=Path, default=Path("/tmp/labtool-bench-strategies"))
    parser.add_argument("--source", type=Path, help="run labtool from this copy of the tree (git archive of a"
                        " commit), so that edits to the working tree during the bench change nothing")
    parser.add_argument("--scenarios", default="first,second,full", help="single: which ups (first,second,full)")
    parser.add_argument("--keep", action="store_true", help="keep the last single lab (converged) afterwards")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    # a timeout's SIGTERM: unwind, so that process accounting is switched off and the cgroup removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    variants = dict(DEFAULT_VARIANTS)
    if args.variant:
        variants = {}
        for spec in args.variant:
            name, _, assignments = spec.partition(":")
            variants[name] = dict(a.split("=", 1) for a in assignments.split(",") if a)
    if not args.table_only:
        args.logs.mkdir(parents=True, exist_ok=True)
        base = dict(os.environ, COLUMNS="160")
        base.setdefault("LABTOOL_HOME", str(REPO / ".labtool"))
        if args.source:  # its labtool package (and so its playbooks, roles, plugins) before the editable install
            base["PYTHONPATH"] = str(args.source.resolve())
        for rep in range(1, args.reps + 1):
            order = list(variants) if rep % 2 else list(reversed(variants))
            for variant in order:
                env = {**base, **{k: v for k, v in variants[variant].items() if not k.startswith("+")}}
                hostvars = {k[1:]: v for k, v in variants[variant].items() if k.startswith("+")}
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
                print(f"\n## rep {rep}/{args.reps}: {variant} {variants[variant]}", flush=True)

                def record(row: dict, variant: str = variant, stamp: str = stamp) -> None:
                    with args.results.open("a") as out:
                        out.write(json.dumps({"when": stamp, "variant": variant, "env": variants[variant],
                                              "source": str(args.source or REPO), **row}) + "\n")

                if args.what in ("single", "all"):
                    last = rep == args.reps and variant == order[-1]
                    single(args.name, variant, env, args.logs, rep, record, keep=args.keep and last,
                           hostvars=hostvars, scenarios=args.scenarios.split(","))
                if args.what in ("class", "all"):
                    klass(f"{args.name}c", args.labs, variant, env, args.logs, rep, record, hostvars=hostvars)
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()] \
        if args.results.exists() else []
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
