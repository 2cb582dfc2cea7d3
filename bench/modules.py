#!/usr/bin/env python3
"""labtool's hand-written node modules beside the ansible.builtin modules they replace, under
Ansible's linear strategy and Mitogen's mitogen_linear, on a converged lab (nothing changes).

    flock /tmp/labtool-heavy.lock /opt/labtool-venv/bin/python bench/modules.py -f LAB_FILE [--rounds 5]

One playbook a strategy (the strategies alternate, ``--passes`` times): ``--rounds`` rounds
of pairs, the two of a pair in alternating order; each task runs on the lab's three nodes at
once and its wall time is its start event to the next task's. The first round warms up
(files written, Mitogen's interpreters started) and is left out. Prints the median per
task and strategy. The pairs:

- ``units``: one unit (containerd, enabled and started) — ``systemd_service`` vs ``units``;
- ``units x2``: containerd and kubelet — a ``systemd_service`` loop vs one ``units``;
- ``files x2``: two small files — a ``copy`` loop vs one ``files``;
- ``probe``: one command and two files read — ``command`` + a ``slurp`` loop vs one ``probe``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labtool.strategy import strategy_env  # noqa: E402

LABTOOL = Path(sys.executable).parent / "labtool"


def namespace(source: Path = REPO) -> str:
    """The collection of labtool's node modules (labtool.lab since the move, else labtool.node)."""
    base = source / "collections" / "ansible_collections" / "labtool"
    return "labtool.lab" if (base / "lab").exists() else "labtool.node"


def pairs(ns: str) -> list[tuple[str, list[dict], list[dict]]]:
    """(name, builtin tasks, labtool tasks)."""
    files = [{"path": f"/tmp/labtool-bench-{n}.conf", "content": f"bench {n}\n"} for n in ("a", "b")]
    return [
        ("units", [{"ansible.builtin.systemd_service": {"name": "containerd", "enabled": True, "state": "started"}}],
         [{f"{ns}.units": {"units": [{"name": "containerd", "enabled": True, "state": "started"}]}}]),
        ("units x2", [{"ansible.builtin.systemd_service": {"name": "{{ item }}", "enabled": True, "state": "started"},
                       "loop": ["containerd", "kubelet"]}],
         [{f"{ns}.units": {"units": [{"name": u, "enabled": True, "state": "started"} for u in ("containerd", "kubelet")]}}]),
        ("files x2", [{"ansible.builtin.copy": {"dest": "{{ item.path }}", "content": "{{ item.content }}",
                                                "mode": "0644", "owner": "root", "group": "root"}, "loop": files}],
         [{f"{ns}.files": {"files": [{**f, "mode": "0644"} for f in files]}}]),
        ("probe", [{"ansible.builtin.command": {"argv": ["uname", "-r"]}, "changed_when": False},
                   {"ansible.builtin.slurp": {"src": "{{ item }}"}, "loop": ["/etc/hostname", "/etc/hosts"]}],
         [{f"{ns}.probe": {"commands": [["uname", "-r"]], "files": ["/etc/hostname", "/etc/hosts"]}}]),
    ]


def playbook(rounds: int, ns: str) -> list[dict]:
    tasks = []
    for r in range(rounds):
        for name, builtin, ours in pairs(ns):
            sides = [("builtin", builtin), ("labtool", ours)]
            if r % 2:
                sides.reverse()
            for side, side_tasks in sides:
                for n, task in enumerate(side_tasks):
                    tasks.append({"name": f"bench|{r}|{name}|{side}|{n}", **task})
    return [{"name": "modules side by side", "hosts": "all", "gather_facts": False, "become": True, "tasks": tasks}]


def task_walls(events: list[dict]) -> dict[tuple[int, str, str], float]:
    """(round, pair, side) -> seconds: each task from its start event to the next task's."""
    marks = []
    for e in sorted(events, key=lambda e: e.get("counter", 0)):
        kind, data = e.get("event"), e.get("event_data", {})
        if kind in ("playbook_on_task_start", "playbook_on_stats") and e.get("created"):
            marks.append((datetime.fromisoformat(e["created"]), data.get("task", "") if kind != "playbook_on_stats" else ""))
    out: dict[tuple[int, str, str], float] = {}
    for (start, label), (end, _next) in zip(marks, marks[1:]):
        if label.startswith("bench|"):
            _b, r, name, side, _n = label.split("|")
            key = (int(r), name, side)
            out[key] = out.get(key, 0.0) + (end - start).total_seconds()
    return out


def run(strategy: str, book: Path, inventory: Path, work: Path, source: Path) -> dict:
    import ansible_runner

    env = {"ANSIBLE_CONFIG": str(source / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(source / "roles"),
           "ANSIBLE_NOCOLOR": "1", "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           **strategy_env({"LABTOOL_STRATEGY": strategy})}
    r = ansible_runner.run(private_data_dir=str(work), playbook=str(book), inventory=str(inventory),
                           envvars=env, quiet=True, suppress_env_files=True, settings={"pexpect_timeout": 0.5})
    if r.status != "successful":
        sys.exit(f"{strategy}: the playbook {r.status} (rc {r.rc}); see {r.config.artifact_dir}/stdout")
    return task_walls(list(r.events))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-f", "--file", required=True, help="a converged lab's lab.yml")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--passes", type=int, default=2, help="playbook runs per strategy (alternating)")
    parser.add_argument("--source", type=Path, default=REPO, help="the tree whose ansible.cfg, roles and plugins run")
    args = parser.parse_args()
    ns = namespace(args.source)
    work = Path(tempfile.mkdtemp(prefix="labtool-bench-modules-"))
    inventory = work / "inventory" / "hosts.yml"
    inventory.parent.mkdir(parents=True)
    inventory.write_text(subprocess.run([str(LABTOOL), "inventory", "-f", args.file], check=True,
                                        capture_output=True, text=True).stdout)
    book = work / "modules.yml"
    book.write_text(yaml.safe_dump(playbook(args.rounds, ns), sort_keys=False))
    walls: dict[str, dict[tuple[str, str], list[float]]] = {}
    for p in range(args.passes):
        for strategy in (("linear", "mitogen") if p % 2 == 0 else ("mitogen", "linear")):
            print(f"pass {p + 1}: {strategy}", flush=True)
            got = run(strategy, book, inventory, work, args.source.resolve())
            for (r, name, side), secs in got.items():
                if r > 0:  # round 0 warms up
                    walls.setdefault(strategy, {}).setdefault((name, side), []).append(secs)
    print(f"\nmodules ({ns}) on a converged lab, 3 nodes at once: task wall seconds, median of "
          f"{(args.rounds - 1) * args.passes} (range)")
    print(f"  {'pair':10} {'strategy':8} {'ansible.builtin':>22} {'labtool':>22}")
    for name, *_ in pairs(ns):
        for strategy in ("linear", "mitogen"):
            cells = []
            for side in ("builtin", "labtool"):
                v = walls[strategy][(name, side)]
                cells.append(f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})")
            print(f"  {name:10} {strategy:8} {cells[0]:>22} {cells[1]:>22}")
    print(json.dumps({s: {f"{k[0]}|{k[1]}": v for k, v in d.items()} for s, d in walls.items()}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
