#!/usr/bin/env python3
"""How long `labtool check` takes on a three-node lab, beside `labtool verify` on the same lab
(issue 24: check under 3 s). Runs each command --reps times, alternating, and prints a table.

    python bench/check.py --name workshop-b --reps 5          # a local lab (built: verify needs it)
    python bench/check.py -f lab.yml --reps 5                  # any lab; passwords from the env
    python bench/check.py --name h24 --before /tmp/old --reps 7 --no-verify
        # labtool check of another checkout (a git worktree of the commit before) side by side
        # with this one's, alternating, on the same lab

The commands run as a user runs them (the labtool entry point; with --before, `python -c` of
the same entry point with each checkout first on PYTHONPATH), their wall time measured around
the whole process. The load average (1 min) is read before every run.
Heavy runs take the shared lock: flock /tmp/labtool-heavy.lock.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "labtool"
HERE = Path(__file__).resolve().parents[1]
ENTRY = "import sys; from labtool.commands import main; sys.argv[0] = 'labtool'; main()"


def once(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds on this machine (user and system of the process and all it
    waited for: ansible-playbook, its workers, ssh; not the nodes' side nor a ControlPersist
    master ssh), exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done.returncode


def from_checkout(root: Path) -> tuple[list[str], dict[str, str]]:
    """The labtool of the checkout at ``root``, and the environment that makes it so."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)}
    env.setdefault("LABTOOL_HOME", str(Path.cwd() / ".labtool"))  # the same lab for both
    return [sys.executable, "-P", "-c", ENTRY], env  # -P: not the working directory first


def commands(opts: argparse.Namespace) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    where = ["-f", opts.file] if opts.file else ["--name", opts.name]
    if opts.before:
        before, env_before = from_checkout(Path(opts.before).resolve())
        after, env_after = from_checkout(HERE)
        out = {f"check {Path(opts.before).name}": ([*before, "check", *where], env_before),
               "check (this)": ([*after, "check", *where], env_after)}
    else:
        out = {"labtool check": ([str(BIN), "check", *where], None)}
    if not opts.no_verify:
        out["labtool verify"] = ([str(BIN), "verify", *where], None)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--file")
    parser.add_argument("--name", default="labtool")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-verify", action="store_true", help="time labtool check alone")
    parser.add_argument("--before", metavar="DIR", help="another checkout's check, side by side")
    opts = parser.parse_args()
    runs = commands(opts)
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    codes: dict[str, set[int]] = {name: set() for name in runs}
    loads: list[float] = []
    for _ in range(opts.reps):
        for name, (argv, env) in runs.items():
            loads.append(os.getloadavg()[0])
            seconds, cpu_seconds, rc = once(argv, env)
            times[name].append(seconds)
            cpu[name].append(cpu_seconds)
            codes[name].add(rc)
    print(f"{'command':<22} {'runs':>4} {'min':>6} {'median':>7} {'max':>6}  {'cpu':>5}  exit codes  each run")
    for name, values in times.items():
        print(f"{name:<22} {len(values):>4} {min(values):>6.2f} {statistics.median(values):>7.2f} "
              f"{max(values):>6.2f}  {statistics.median(cpu[name]):>5.2f}  {str(sorted(codes[name])):<10}  "
              f"{' '.join(f'{v:.2f}' for v in values)}")
    print("(seconds of wall time; cpu: the median CPU seconds on this machine, user and system)")
    if opts.before:
        old, new = (times[name] for name in list(runs)[:2])
        ratios = [n / o for o, n in zip(old, new)]
        print(f"ratio this/before, run by run: median {statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}); of the medians "
              f"{statistics.median(new) / statistics.median(old):.2f}")
    print(f"load average (1 min) before the runs: {min(loads):.1f}-{max(loads):.1f}, "
          f"median {statistics.median(loads):.1f}, on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
