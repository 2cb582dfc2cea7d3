#!/usr/bin/env python3
"""How fast the CLI answers: wall time of `labtool --help` and `labtool inventory -f <lab>`
(median, min and max of N runs, each a fresh process).

    python bench/cli_speed.py [-n 15] [-f lab.yml] [--labtool PATH]

Without -f, a lab file like the walkthrough's (three machines, mirror mode) is written to a
temporary directory. Prints a table; the target is < 0.5 s for both.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = """\
name: bench
sources: {mode: mirror, kube_packages_url: "http://10.0.0.1/k8s/"}
nodes:
  - {name: cp, address: 192.168.56.10, role: control-plane}
  - {name: w1, address: 192.168.56.11, role: worker}
  - {name: w2, address: 192.168.56.12, role: worker}
"""


def _labtool() -> str:
    beside = Path(sys.executable).parent / "labtool"
    return str(beside) if beside.exists() else (shutil.which("labtool") or "labtool")


def _time(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (user + system of the child: what a busy machine inflates
    the wall time around)."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    parser.add_argument("-f", "--file", help="lab file for `labtool inventory`")
    parser.add_argument("--labtool", default=_labtool(), help="the labtool executable")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        lab = args.file
        if lab is None:
            lab = str(Path(tmp) / "lab.yml")
            Path(lab).write_text(EXAMPLE)
        commands = {
            "labtool --help": [args.labtool, "--help"],
            f"labtool inventory -f {Path(lab).name}": [args.labtool, "inventory", "-f", lab],
        }
        rows = []
        for label, cmd in commands.items():
            _time(cmd, 1)  # warm the page cache
            t, cpu = _time(cmd, args.runs)
            rows.append((label, statistics.median(t), min(t), max(t), statistics.median(cpu)))

    width = max(len(r[0]) for r in rows)
    print(f"{'command':<{width}}  {'median':>8}  {'min':>8}  {'max':>8}  {'cpu':>8}"
          f"   (seconds, n={args.runs}; cpu = median user+system)")
    for label, med, lo, hi, cpu in rows:
        print(f"{label:<{width}}  {med:8.3f}  {lo:8.3f}  {hi:8.3f}  {cpu:8.3f}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    slow = [r[0] for r in rows if r[1] >= 0.5]
    if slow:
        print(f"slower than 0.5 s (median): {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
