#!/usr/bin/env python3
"""Benchmark of a class run against one lab alone, on fresh local node containers.

    sudo /opt/labtool-venv/bin/python bench/classroom.py [--labs 3] [--name bench-cr] [--artifacts DIR]

1. one lab alone: a fresh local lab (``labtool local create --name <name>-solo``), then
   ``labtool up -f <its lab.yml>`` timed;
2. N labs in one class run: a fresh local class of N labs (``labtool local create --labs N
   --name <name>``), then ``labtool up -f <its class.yml>`` timed.
Each is destroyed after its run. Container creation is not timed: both ups start from
fresh, running node containers.

Prints one table: wall time, the ratio to the lab alone (target: ≤ 2.0 for three labs), the
controller's CPU seconds (user + system of labtool and every process it waited for:
ansible-playbook and its workers; ssh ControlPersist masters detach and are not counted),
per lab (must not grow with the number of labs), and the controller's peak memory (the
largest sum of RSS over labtool's process tree, sampled every 0.5 s); and the load average
before and after each run, since other work on the machine skews every number.
Timings live here, never in tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABTOOL = Path(sys.executable).parent / "labtool"


def tree_rss(root: int) -> int:
    """The RSS (bytes) of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text().split()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(statm[1]) * page
    total, todo = 0, [root]
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def timed(argv: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``argv``; wall seconds, CPU seconds of it and its waited-for descendants, peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                done.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        done.set()
        sampler.join()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": rc, "wall": wall, "cpu": cpu, "peak": peak, "load_before": load_before,
            "load_after": os.getloadavg()[0]}


def labtool(*args: str, env: dict[str, str]) -> None:
    proc = subprocess.run([str(LABTOOL), *args], env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"labtool {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=3)
    parser.add_argument("--name", default="bench-cr", help="class name (the lab alone: <name>-solo)")
    parser.add_argument("--artifacts", help="the Kubernetes artifacts directory")
    parser.add_argument("--logs", type=Path, default=Path("/tmp"), help="where each run's output goes")
    args = parser.parse_args()
    env = dict(os.environ, COLUMNS="160")
    env.setdefault("LABTOOL_HOME", str(REPO / ".labtool"))
    if args.artifacts:
        env["LABTOOL_ARTIFACTS"] = args.artifacts
    home = Path(env["LABTOOL_HOME"])
    solo, klass = f"{args.name}-solo", args.name

    rows = []
    def up_on_fresh_nodes(name: str, create: list[str], lab_file: str):
        """Fresh node containers, then the timed labtool up; the nodes are removed after."""
        labtool("local", "destroy", "--name", name, env=env)
        labtool("local", "create", *create, "--name", name, env=env)
        try:
            print("  labtool up ...", flush=True)
            return timed([str(LABTOOL), "up", "-f", str(home / name / lab_file)], env,
                         args.logs / f"{name}-up.log")
        finally:
            labtool("local", "destroy", "--name", name, env=env)

    print(f"one lab alone ({solo}): fresh node containers ...", flush=True)
    rows.append(("one lab alone", 1, up_on_fresh_nodes(solo, [], "lab.yml")))
    print(f"{args.labs} labs in one class run ({klass}): fresh node containers ...", flush=True)
    rows.append((f"{args.labs} labs, one class run", args.labs,
                 up_on_fresh_nodes(klass, ["--labs", str(args.labs)], "class.yml")))

    print()
    head = ("run", "labs", "exit", "wall s", "× one lab", "CPU s", "CPU s/lab", "peak MiB", "load before→after")
    table = [head]
    for what, n, r in rows:
        table.append((what, str(n), str(r["rc"]), f"{r['wall']:.0f}", f"{r['wall'] / rows[0][2]['wall']:.2f}",
                      f"{r['cpu']:.0f}", f"{r['cpu'] / n:.0f}", f"{r['peak'] / 2**20:.0f}",
                      f"{r['load_before']:.1f}→{r['load_after']:.1f}"))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    print(f"\ntarget: {args.labs} labs ≤ 2.0 × one lab; CPU s/lab not growing with labs. "
          f"Logs: {args.logs}/{solo}-up.log, {args.logs}/{klass}-up.log")
    return 0 if all(r["rc"] == 0 for _, _, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
