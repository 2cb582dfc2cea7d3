#!/usr/bin/env python3
"""Benchmark of the fast repair (issue 22): an `up` after a student changed the walkthrough's
objects, against a full `up --full`, in the same run on the same local lab.

    flock /tmp/labtool-heavy.lock /opt/labtool-venv/bin/python bench/repair.py --name teach-a \\
        [--home /tmp/teach] [--rounds 3]

The lab must exist and have been built by `labtool up` (its stamp written). Each round:
`labtool up --full` (every role; verify follows), then the student's change — mysvc's
nodePort patched to 30002 and the RC my-nginx deleted — then `labtool up` (only the
workloads play runs; verify follows) and `labtool progress --json` (every step must be done
again). Prints one row per command and round: wall time, exit code, and for the repair
whether every step of progress is done. Target: the repair at most 15 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

LABTOOL = str(Path(os.environ.get("LABTOOL_VENV", "/opt/labtool-venv")) / "bin" / "labtool")
TARGET_S = 15.0


def timed(argv: list[str], cwd: Path) -> tuple[float, int, str]:
    started = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    return time.monotonic() - started, done.returncode, done.stdout


def kubectl(name: str, *args: str) -> None:
    subprocess.run(["docker", "exec", f"{name}-cp", "kubectl", "--kubeconfig",
                    "/etc/kubernetes/admin.conf", *args], check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the local lab (built by labtool up)")
    parser.add_argument("--home", type=Path, default=Path.cwd(), help="where its .labtool/ is")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    up = [LABTOOL, "up", "--name", args.name, "--no-check"]
    rows, repairs = [], []
    for n in range(1, args.rounds + 1):
        full_s, full_rc, _ = timed(up + ["--full"], args.home)
        rows.append((n, "up --full", full_s, full_rc, ""))
        kubectl(args.name, "patch", "service", "mysvc", "-p",
                '{"spec":{"ports":[{"port":8080,"nodePort":30002}]}}')
        kubectl(args.name, "delete", "replicationcontroller", "my-nginx")
        repair_s, repair_rc, _ = timed(up, args.home)
        _, _, out = timed([LABTOOL, "progress", "--name", args.name, "--json"], args.home)
        try:
            steps = {s["key"]: s["state"] for s in json.loads(out)["steps"]}
            done = "every step done" if set(steps.values()) == {"done"} else json.dumps(steps)
        except (ValueError, KeyError):
            done = "progress unreadable"
        rows.append((n, "up (patched Service, deleted RC)", repair_s, repair_rc, done))
        repairs.append(repair_s)
    print(f"{'round':>5}  {'command':<34} {'wall s':>7}  {'exit':>4}  progress after")
    for n, what, secs, rc, note in rows:
        print(f"{n:>5}  {what:<34} {secs:7.1f}  {rc:>4}  {note}")
    median = statistics.median(repairs)
    print(f"repair median {median:.1f} s (target <= {TARGET_S:.0f} s): {'met' if median <= TARGET_S else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
