#!/usr/bin/env python3
"""Where the controller's CPU goes in a labtool command: py-spy samples of labtool and every
Python process under it (ansible-playbook, its forked workers, Mitogen's), bucketed by what
the code was doing.

    flock /tmp/labtool-heavy.lock /opt/labtool-venv/bin/python bench/cpu_profile.py \\
        [--rate 50] [--out FILE] -- labtool up -f LAB_FILE
    /opt/labtool-venv/bin/python bench/cpu_profile.py --read FILE     # a profile taken before

Needs py-spy (PyPI) and root. py-spy is meant to keep only on-CPU samples, but on this
machine (2026-12-04) it counted waiting threads as running too (labtool's pexpect select and
Thread.join: 20 "s" where process accounting measured 1 s), so a bucket's samples / rate are
samples, not CPU seconds; and py-spy notices a new child process only when it next polls, so
the shortest workers are undercounted. bench/strategies.py's process accounting gives the
CPU of each kind of process; this only splits the CPU-bound ones (the workers, the main
process) by what their code was doing. Sampling costs CPU itself: never time a run that is
being profiled.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

# (bucket, substrings of the stack: the first rule whose every substring is in it wins)
RULES = [
    ("imports (start-up)", ["_find_and_load"]),
    ("report.py (labtool's display)", ["labtool/report.py"]),
    ("runner.py: event collector", ["labtool/runner.py", "feed"]),
    ("ansible-runner: job_events/*.json written", ["ansible_runner/runner.py", "event_callback"]),
    ("ansible-runner: event decoding", ["OutputEventFilter"]),
    ("ansible-runner: pexpect read loop", ["pexpect"]),
    ("awx_display callback (events serialised)", ["ansible_runner/display_callback"]),
    ("ssh connection plugin", ["plugins/connection/ssh.py"]),
    ("Mitogen connection", ["ansible_mitogen/connection.py"]),
    ("Mitogen (mux, services, routing)", ["/mitogen/"]),
    ("module build (AnsiballZ: module_utils found, zipped)", ["module_common"]),
    ("action plugins", ["ansible/plugins/action/"]),
    ("templating (Jinja)", ["ansible/template"]),
    ("variables (VariableManager.get_vars)", ["vars/manager.py"]),
    ("playbook/roles parsing", ["ansible/playbook/"]),
    ("strategy: results processing", ["plugins/strategy/__init__.py"]),
    ("strategy loop", ["plugins/strategy/"]),
    ("task executor (other)", ["task_executor.py"]),
    ("forking a worker (the main's side)", ["popen_fork.py"]),
    ("rich rendering", ["rich/"]),
]


# The poll of Ansible's strategy (time.sleep(internal_poll_interval) in _wait_on_pending_results)
# is seen as running by py-spy, which samples it whether it sleeps or runs; its real cost, about
# 2.4 % of a core at the default 1 ms, is why ansible.cfg sets 10 ms (bench/RESULTS.md).
IDLE_LEAVES = ("StrategyBase._wait_on_pending_results (ansible/plugins/strategy/__init__.py:796)",)
KINDS = {1: "labtool", 2: "ansible-playbook main", 3: "ansible-playbook workers (and Mitogen's mux)"}


def summarise(path: Path, rate: int) -> None:
    """py-spy nests a child process's stack under its parent's, each behind a "process N:"
    frame: one such frame is labtool, two ansible-playbook, three a forked worker."""
    buckets: dict[tuple[str, str], int] = defaultdict(int)
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        m = re.match(r"^(.*) (\d+)$", line)
        if not m or not line.startswith("process "):
            continue
        frames, count = m.group(1).split(";"), int(m.group(2))
        depth = sum(1 for f in frames if re.match(r'^process \d+:"', f))
        stack = ";".join(f for f in frames if not f.startswith("process "))
        leaf = frames[-1]
        if leaf in IDLE_LEAVES:
            idle += count
            continue
        kind = KINDS.get(depth, KINDS[3])
        bucket = next((name for name, parts in RULES if all(p in stack for p in parts)), "other")
        buckets[(kind, bucket)] += count
        total += count
    print(f"py-spy samples: {total} at {rate}/s = {total / rate:.1f} CPU s seen"
          f" (and {idle / rate:.1f} s in the strategy's 1 ms poll, left out)")
    for kind in KINDS.values():
        rows = sorted(((n, b) for (k, b), n in buckets.items() if k == kind), reverse=True)
        if not rows:
            continue
        print(f"\n  {kind}: {sum(n for n, _ in rows) / rate:.1f} s")
        for n, b in rows:
            if n / rate >= 0.1:
                print(f"    {b:48} {n / rate:7.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("/tmp/labtool-cpu-profile.txt"))
    parser.add_argument("--read", type=Path, help="summarise a profile taken before")
    parser.add_argument("command", nargs="*")
    args = parser.parse_args()
    if args.read:
        summarise(args.read, args.rate)
        return 0
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = args.command
    if command and command[0] == "labtool":
        command = [str(Path(sys.executable).parent / "labtool"), *command[1:]]
    rc = subprocess.run([spy, "record", "--subprocesses", "--rate", str(args.rate), "--format", "raw",
                         "--output", str(args.out), "--", *command]).returncode
    summarise(args.out, args.rate)
    return rc


if __name__ == "__main__":
    sys.exit(main())
