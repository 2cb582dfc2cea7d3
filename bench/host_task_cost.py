#!/usr/bin/env python3
"""The controller's CPU for one host-task, by kind of task, under two strategies side by side:
labtool (labtool.lab.linear, ansible.cfg's), linear (Ansible's own) or mitogen (mitogen_linear).

    /opt/labtool-venv/bin/python bench/host_task_cost.py [--hosts 3] [--tasks 40] [--repeat 3] \
        [--strategies linear,labtool] [--host-seconds 2 --tasks 10]

No lab needed: the hosts are this machine (``ansible_connection: local``), so the nodes' side
is nothing but a local module run. For each kind of task, a playbook of ``--tasks`` such tasks
on ``--hosts`` hosts is run through ansible-runner (as labtool runs playbooks: the
awx_display callback, the event stream and the job_events files), and the CPU of the run
(this process's children: ansible-playbook, its workers and Mitogen's processes, plus the
runner's own thread in this process) less that of a playbook with no task, divided by
hosts x tasks, is the cost of one host-task. Median of ``--repeat`` runs, the two strategies
alternating. Light enough to run
beside other work, but CPU seconds still grow under load: compare within one run only.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labtool.strategy import strategy_env  # noqa: E402

KINDS = {
    "none (baseline)": None,
    "set_fact": {"ansible.builtin.set_fact": {"bench_x": "{{ 1 + 1 }}"}},
    "assert": {"ansible.builtin.assert": {"that": ["1 + 1 == 2"], "quiet": True}},
    "debug": {"ansible.builtin.debug": {"msg": "hello"}},
    "command (a module on the host)": {"ansible.builtin.command": {"argv": ["true"]}, "changed_when": False},
    "command skipped (when false)": {"ansible.builtin.command": {"argv": ["true"]}, "when": "bench_never | default(false)"},
}


def cpu_now() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def waiting_kind(seconds: float) -> tuple[str, dict]:
    """A module that keeps the host busy for ``seconds``: what the strategy costs while it
    waits (Ansible's linear looks for results every internal_poll_interval)."""
    return (f"command sleep {seconds:g} (the host works)",
            {"ansible.builtin.command": {"argv": ["sleep", f"{seconds:g}"]}, "changed_when": False})


def run_once(kind: str, strategy: str, hosts: int, tasks: int, work: Path) -> float:
    import ansible_runner

    task = KINDS[kind]
    play = {"name": "cost", "hosts": "all", "gather_facts": False,
            "tasks": [] if task is None else [dict(task, name=f"t{n}") for n in range(tasks)]}
    book = work / "cost.yml"
    book.write_text(yaml.safe_dump([play], sort_keys=False))
    inventory = work / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {f"h{n}": None for n in range(hosts)}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}}))
    env = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           **strategy_env({"LABTOOL_STRATEGY": strategy})}
    before = cpu_now()
    r = ansible_runner.run(private_data_dir=str(work), playbook=str(book), inventory=str(inventory),
                           envvars=env, quiet=True, suppress_env_files=True, settings={"pexpect_timeout": 0.5})
    used = cpu_now() - before
    if r.status != "successful":
        sys.exit(f"{kind} / {strategy}: {r.status}; see {r.config.artifact_dir}/stdout")
    return used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--strategies", default="linear,labtool",
                        help="two of labtool (labtool.lab.linear), linear (Ansible's), mitogen")
    parser.add_argument("--host-seconds", type=float, default=0,
                        help="also a task that keeps each host busy this long (a run takes tasks x this)")
    args = parser.parse_args()
    if args.host_seconds > 0:
        name, task = waiting_kind(args.host_seconds)
        KINDS[name] = task
    work = Path(tempfile.mkdtemp(prefix="labtool-bench-cost-"))
    cpu: dict[tuple[str, str], list[float]] = {}
    pair = tuple(args.strategies.split(","))
    for r in range(args.repeat):
        for kind in KINDS:
            for strategy in (pair if r % 2 == 0 else pair[::-1]):
                cpu.setdefault((kind, strategy), []).append(run_once(kind, strategy, args.hosts, args.tasks, work))
                print(".", end="", flush=True)
    print(f"\nCPU seconds of a playbook run of {args.tasks} tasks on {args.hosts} local hosts (median of"
          f" {args.repeat}), and per host-task beyond the empty playbook")
    print(f"  {'task':32} {pair[0] + ' run':>11} {'ms/host-task':>12} {pair[1] + ' run':>11} {'ms/host-task':>12}")
    for kind in KINDS:
        cells = []
        for strategy in pair:
            run = statistics.median(cpu[(kind, strategy)])
            base = statistics.median(cpu[("none (baseline)", strategy)])
            each = (run - base) / (args.hosts * args.tasks) * 1000 if KINDS[kind] else 0.0
            cells += [f"{run:.2f}", f"{each:.0f}" if KINDS[kind] else "-"]
        print(f"  {kind:32} {cells[0]:>11} {cells[1]:>12} {cells[2]:>11} {cells[3]:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
