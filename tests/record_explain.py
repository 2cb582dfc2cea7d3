#!/usr/bin/env python3
"""Record the raw facts `labtool explain` gathers from a REAL lab, for the explain tests.

    python tests/record_explain.py -f .labtool/ex1/lab.yml --probe 20 \\
        --out tests/fixtures/explain-1.20-probe.json

Runs playbooks/explain.yml through labtool.explain.gather (the path `labtool explain`
takes) and writes what the playbook handed over with set_stats (labtool_explain), plus the
lab's nodes and names under "lab" (what the lab file adds), as one JSON document.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from labtool.explain import gather
from labtool.labfile import load_lab


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--file", required=True, help="lab file")
    parser.add_argument("--probe", type=int, default=0)
    parser.add_argument("--service")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    lab = load_lab(args.file)
    got = gather.gather(lab, service=args.service, probe=args.probe)
    record = {
        "lab": {"name": lab.name, "service": args.service or lab.workloads.service.name, "nodes": [asdict(n) for n in gather.lab_nodes(lab)],
                "deployment": lab.workloads.deployment.name,
                "replication_controller": lab.workloads.replication_controller.name,
                "unreachable": {f.host: f.message for f in got.result.failures if f.unreachable}},
        "facts": got.facts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{args.out}: {got.result.status}, {len(got.facts.get('nodes', {}))} nodes")
    return 0 if got.facts else 1


if __name__ == "__main__":
    raise SystemExit(main())
