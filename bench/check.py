#!/usr/bin/env python3
"""How long `labtool check` takes on a three-node lab, beside `labtool verify` on the same lab
(issue 24: check under 3 s). Runs each command --reps times, alternating, and prints a table.

    python bench/check.py --name workshop-b --reps 5          # a local lab (built: verify needs it)
    python bench/check.py -f lab.yml --reps 5                  # any lab; passwords from the env

The commands run as a user runs them (the labtool entry point), their wall time measured
around the whole process. Heavy runs take the shared lock: flock /tmp/labtool-heavy.lock.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "labtool"


def once(args: list[str]) -> tuple[float, int]:
    started = time.monotonic()
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True)
    return time.monotonic() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--file")
    parser.add_argument("--name", default="labtool")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--no-verify", action="store_true", help="time labtool check alone")
    opts = parser.parse_args()
    where = ["-f", opts.file] if opts.file else ["--name", opts.name]
    commands = {"labtool check": ["check", *where]}
    if not opts.no_verify:
        commands["labtool verify"] = ["verify", *where]
    times: dict[str, list[float]] = {name: [] for name in commands}
    codes: dict[str, set[int]] = {name: set() for name in commands}
    for _ in range(opts.reps):
        for name, args in commands.items():
            seconds, rc = once(args)
            times[name].append(seconds)
            codes[name].add(rc)
    print(f"{'command':<16} {'runs':>4} {'min':>6} {'median':>7} {'max':>6}  exit codes")
    for name, values in times.items():
        print(f"{name:<16} {len(values):>4} {min(values):>6.2f} {statistics.median(values):>7.2f} "
              f"{max(values):>6.2f}  {sorted(codes[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
