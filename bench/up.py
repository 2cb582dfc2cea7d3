#!/usr/bin/env python3
"""Benchmark of the walkthrough on a fresh local lab.

    /opt/labtool-venv/bin/python bench/up.py [--name bench] [--artifacts DIR] [--keep] [--no-floor]
                                             [--tasks N] [--runs N]

First the floor (bench/floor.py: the same steps without Ansible) on fresh node containers,
which are then destroyed. Then creates a fresh local lab (three node containers) and times, as a user runs them:
``labtool up`` (first: everything is installed), ``labtool up`` (second: must change nothing)
and ``labtool verify``. Prints per command the wall time and the per-phase split — the wall
time of each role, from the run's ansible-runner events (job_events of each playbook run) —
and, per node, the bytes it pulled through apt-cacher-ng (its log, by client address) and
from the host registry (its log). Destroys the lab at the end unless --keep. With --runs N,
all of it N times over, then each headline figure of every run and its median: the floor's
waits for kubelet's periodic syncs (node status, the signed cluster-info) move a single
run's ratio by 0.1 or more.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labtool import _paths, local  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import floor  # noqa: E402

APT_LOG = Path("/var/log/apt-cacher-ng/apt-cacher.log")
REGISTRY_LOG = Path("/var/log/labtool/registry.log")
LABTOOL = Path(sys.executable).parent / "labtool"


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def apt_bytes(text: str) -> dict[str, dict[str, int]]:
    """apt-cacher-ng's log: ``time|type|bytes|client|path``; O = sent to the client,
    I = fetched from upstream for it (a cache miss)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"sent": 0, "upstream": 0})
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 5 or not parts[2].isdigit():
            continue
        kind, size, client = parts[1], int(parts[2]), parts[3]
        if kind == "O":
            out[client]["sent"] += size
        elif kind == "I":
            out[client]["upstream"] += size
    return out


_REMOTE = re.compile(r'http\.request\.remoteaddr="?([0-9.]+):\d+')
_WRITTEN = re.compile(r"http\.response\.written=(\d+)")


def registry_bytes(text: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for line in text.splitlines():
        if "response completed" not in line:
            continue
        remote, written = _REMOTE.search(line), _WRITTEN.search(line)
        if remote and written:
            out[remote.group(1)] += int(written.group(1))
    return out


def run_dirs(state: Path) -> set[Path]:
    """ansible-runner's artifact dirs, one per playbook run."""
    base = state / "runner" / "artifacts"
    return {d for d in base.iterdir() if d.is_dir()} if base.is_dir() else set()


def load_events(run_dir: Path) -> list[dict]:
    events = []
    for file in (run_dir / "job_events").glob("*.json"):
        try:
            events.append(json.loads(file.read_text()))
        except (OSError, ValueError):
            continue
    return sorted(events, key=lambda e: e.get("counter", 0))


def run_seconds(run_dir: Path) -> float:
    """A playbook run's wall time: its first event to its last."""
    times = [datetime.fromisoformat(e["created"]) for e in load_events(run_dir) if e.get("created")]
    return (max(times) - min(times)).total_seconds() if times else 0.0


def phases(run_dir: Path) -> list[tuple[str, float]]:
    """Wall time per role (tasks outside a role: the play's name) of one playbook run: each
    task lasts from its start event to the next task's (the last: to the stats event)."""
    events = load_events(run_dir)
    marks: list[tuple[datetime, str]] = []
    for event in events:
        kind, data = event.get("event"), event.get("event_data", {})
        created = event.get("created")
        if not created:
            continue
        when = datetime.fromisoformat(created)
        if kind == "playbook_on_task_start":
            label = data.get("role") or f"({data.get('play', 'play')})"
            marks.append((when, label))
        elif kind == "playbook_on_stats":
            marks.append((when, ""))
    totals: dict[str, float] = {}
    for (start, label), (end, _next) in zip(marks, marks[1:]):
        if label:
            totals[label] = totals.get(label, 0.0) + (end - start).total_seconds()
    return list(totals.items())


def slowest_tasks(run_dir: Path, count: int) -> list[tuple[float, str]]:
    """The run's longest tasks (wall time, start event to the next task's), longest first."""
    marks: list[tuple[datetime, str]] = []
    for event in load_events(run_dir):
        kind, data = event.get("event"), event.get("event_data", {})
        if not event.get("created") or kind not in ("playbook_on_task_start", "playbook_on_stats"):
            continue
        label = f"{data.get('role') or '-'}: {data.get('task', '')}" if kind == "playbook_on_task_start" else ""
        marks.append((datetime.fromisoformat(event["created"]), label))
    spans = [((end - start).total_seconds(), label) for (start, label), (end, _n) in zip(marks, marks[1:]) if label]
    return sorted(spans, reverse=True)[:count]


def timed(args: list[str]) -> tuple[float, int]:
    print(f"\n$ {' '.join(args)}", flush=True)
    started = time.monotonic()
    rc = subprocess.run(args, cwd=REPO, check=False).returncode
    return time.monotonic() - started, rc


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_ratio(floor_steps: list[tuple[str, float]], first: tuple) -> None:
    """The floor's steps beside the first up's roles, and the ratio of the two."""
    _title, seconds, _rc, runs, _load = first
    up_runs = [r for r in runs if r.name.split("-", 2)[-1].split("-")[0] == "up"]
    playbook = run_seconds(up_runs[0]) if up_runs else 0.0
    roles = phases(up_runs[0]) if up_runs else []
    plays = sum(secs for label, secs in roles if label.startswith("("))
    roles = [(label, secs) for label, secs in roles if not label.startswith("(")] + [("(plays' own tasks)", plays)]
    total = sum(s for _t, s in floor_steps)
    print(f"\n{'floor step':52} {'s':>6}   | {'labtool up (first): role':24} {'s':>6}")
    for n in range(max(len(floor_steps), len(roles))):
        left = f"{floor_steps[n][0]:52} {floor_steps[n][1]:6.1f}" if n < len(floor_steps) else " " * 59
        right = f"{roles[n][0]:24} {roles[n][1]:6.1f}" if n < len(roles) else ""
        print(f"{left}   | {right}")
    print(f"{'floor total':52} {total:6.1f}   | {'up playbook':24} {playbook:6.1f}")
    print(f"ratio first up / floor: {playbook / total:.2f} (up playbook),"
          f" {seconds / total:.2f} (whole `labtool up`, verify included: {seconds:.1f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="bench")
    parser.add_argument("--artifacts", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the lab afterwards")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (bench/floor.py)")
    parser.add_argument("--tasks", type=int, default=0, metavar="N", help="also list each run's N slowest tasks")
    parser.add_argument("--runs", type=int, default=1, metavar="N",
                        help="the whole bench N times over, then each figure's median (one run moves by 10%%)")
    args = parser.parse_args()
    figures = []
    for number in range(1, args.runs + 1):
        if args.runs > 1:
            print(f"\n#### bench run {number} of {args.runs}")
        figures.append(bench_once(args))
        if figures[-1] is None:
            return 1
    if args.runs > 1:
        print_medians(figures)
    return 0


def print_medians(figures: list[dict[str, float]]) -> None:
    """Each figure of every run, then its median."""
    print("\n" + "=" * 64)
    print(f"{len(figures)} bench runs: each figure, then its median")
    for key in figures[0]:
        values = [f[key] for f in figures]
        shown = "  ".join(f"{v:7.2f}" for v in values)
        print(f"  {key:40} {shown}   median {statistics.median(values):7.2f}")


def bench_once(args: argparse.Namespace) -> dict[str, float] | None:
    """One bench run (the floor, then labtool on fresh nodes); its headline figures, or None
    when a step failed."""
    floor_steps: list[tuple[str, float]] = []
    floor_load = ""
    if not args.no_floor:
        print(f"floor: fresh local lab {args.name!r}, no Ansible")
        local.destroy(args.name, echo=lambda _m: None)
        floor_file = local.create(args.name, args.artifacts, echo=lambda _m: None)
        floor_load = load()
        try:
            floor_steps = floor.run_floor(floor_file)
        except floor.FloorError as exc:
            print(f"floor: FAILED: {exc}")
            return None
        finally:
            local.destroy(args.name, echo=lambda _m: None)

    state = _paths.state_dir(args.name)
    print(f"fresh local lab {args.name!r}")
    local.destroy(args.name, echo=lambda _m: None)
    apt_offset, registry_offset = log_size(APT_LOG), log_size(REGISTRY_LOG)
    started = time.monotonic()
    lab_file = local.create(args.name, args.artifacts, echo=print)
    create_time = time.monotonic() - started
    addresses = {row["address"]: row["node"] for row in local.status(args.name)}

    steps = [
        ("labtool up (first)", [str(LABTOOL), "up", "--name", args.name]),
        ("labtool up (second)", [str(LABTOOL), "up", "--name", args.name]),
        ("labtool verify", [str(LABTOOL), "verify", "-f", str(lab_file)]),
    ]
    results = []
    failed = False
    for title, command in steps:
        before = run_dirs(state)
        started_load = load()
        seconds, rc = timed(command)
        results.append((title, seconds, rc, sorted(run_dirs(state) - before), started_load))
        if rc != 0:
            failed = True
            print(f"{title} exited {rc}: stopping the benchmark")
            break

    apt = apt_bytes(read_from(APT_LOG, apt_offset))
    registry = registry_bytes(read_from(REGISTRY_LOG, registry_offset))

    print("\n" + "=" * 64)
    print(f"{'step':36} {'seconds':>9}  exit  load at start (1/5/15 min)")
    print(f"{'local lab create (host set-up, 3 nodes)':36} {create_time:9.1f}  0")
    if floor_steps:
        print(f"{'floor (bench/floor.py, no Ansible)':36} {sum(s for _t, s in floor_steps):9.1f}  0     {floor_load}")
    for title, seconds, rc, runs, started_load in results:
        print(f"{title:36} {seconds:9.1f}  {rc:<4}  {started_load}")
        for run in runs:  # `labtool up` is an up playbook run, then a verify run
            playbook = run.name.split("-", 2)[-1]
            print(f"{'  ' + playbook + ' playbook':36} {run_seconds(run):9.1f}")
    if floor_steps and results and results[0][2] == 0:
        print_ratio(floor_steps, results[0])
    for title, _seconds, _rc, runs, _load in results:
        print(f"\n{title}: wall time per phase (role)")
        for run in runs:
            print(f"  {run.name}")
            for label, secs in phases(run):
                print(f"    {label:34} {secs:8.1f} s")
            for secs, label in slowest_tasks(run, args.tasks):
                print(f"      {secs:6.1f} s  {label}")
    print("\nbytes pulled per node")
    print(f"  {'node':6} {'address':16} {'apt (sent)':>12} {'apt (upstream)':>15} {'registry':>12}")
    for address, node in sorted(addresses.items(), key=lambda kv: kv[1]):
        a = apt.get(address, {"sent": 0, "upstream": 0})
        print(
            f"  {node:6} {address:16} {human(a['sent']):>12} {human(a['upstream']):>15}"
            f" {human(registry.get(address, 0)):>12}"
        )
    if not args.keep:
        print()
        local.destroy(args.name, echo=print)
    return None if failed else headline(floor_steps, results)


def headline(floor_steps: list[tuple[str, float]], results: list) -> dict[str, float]:
    """The figures the issue asks for: the floor, the first up, the ratio, the second up."""
    seconds = {title: secs for title, secs, *_rest in results}
    first = seconds["labtool up (first)"]
    figures = {"labtool up (first), whole": first,
               "labtool up (first), up playbook": run_seconds(results[0][3][0]),
               "labtool up (second)": seconds["labtool up (second)"], "labtool verify": seconds["labtool verify"]}
    if floor_steps:
        floor_total = sum(s for _t, s in floor_steps)
        figures = {"floor": floor_total, **figures,
                   "ratio (up playbook / floor)": figures["labtool up (first), up playbook"] / floor_total,
                   "ratio (whole up / floor)": first / floor_total}
    return figures


if __name__ == "__main__":
    sys.exit(main())
