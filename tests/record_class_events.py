#!/usr/bin/env python3
"""Turn the runs of a REAL class run into fixtures for the class report tests.

    python tests/record_class_events.py --class-dir .labtool/mol-classroom --up 1 \\
        --out tests/fixtures/class-first-up

Every playbook run of labtool keeps the events ansible-runner handed to labtool's event
handler, one file each, in ``<state>/runner/artifacts/<run>/job_events/`` (the same dicts,
written after the handler returned True), with the run's ``status`` and ``rc``. For each lab
of the class this takes the ``--up``-th ``up`` run (1 = the first) and the ``verify`` run that
followed it, and writes ``<out>/<lab>.jsonl.gz`` (gzip: a full up is megabytes of events): a line ``{"labtool_run": playbook}`` before
each run's events (in the order of their counters), one JSON object per event, then
``{"labtool_result": {playbook, status, rc}}`` — the format of tests/record_events.py, one
run after the other. Never edited by hand.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path


def runs(lab_dir: Path) -> list[Path]:
    artifacts = lab_dir / "runner" / "artifacts"
    return sorted((p for p in artifacts.iterdir() if (p / "job_events").is_dir()), key=lambda p: p.name)


def playbook_of(run: Path) -> str:
    # ident: <date>-<time>-<playbook>[-n]
    parts = run.name.split("-")
    return parts[2]


def events(run: Path) -> list[dict]:
    out = [json.loads(p.read_text()) for p in (run / "job_events").glob("*.json")]
    return sorted(out, key=lambda e: e.get("counter", 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-dir", type=Path, required=True)
    parser.add_argument("--up", type=int, default=1, help="which up of each lab (1 = the first)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for lab_dir in sorted(p for p in args.class_dir.iterdir() if (p / "runner").is_dir()):
        all_runs = runs(lab_dir)
        ups = [i for i, r in enumerate(all_runs) if playbook_of(r) == "up"]
        if len(ups) < args.up:
            print(f"{lab_dir.name}: no up number {args.up}", file=sys.stderr)
            return 1
        start = ups[args.up - 1]
        picked = [all_runs[start]]
        if start + 1 < len(all_runs) and playbook_of(all_runs[start + 1]) == "verify":
            picked.append(all_runs[start + 1])
        with gzip.open(args.out / f"{lab_dir.name}.jsonl.gz", "wt", encoding="utf-8") as out:
            for run in picked:
                out.write(json.dumps({"labtool_run": playbook_of(run)}) + "\n")
                for event in events(run):
                    out.write(json.dumps(event, sort_keys=True) + "\n")
                status = (run / "status").read_text().strip() if (run / "status").exists() else ""
                rc = (run / "rc").read_text().strip() if (run / "rc").exists() else ""
                out.write(json.dumps({"labtool_result": {
                    "playbook": playbook_of(run), "status": status,
                    "rc": int(rc) if rc.lstrip("-").isdigit() else None}}, sort_keys=True) + "\n")
        print(f"{lab_dir.name}: {', '.join(r.name for r in picked)} -> {args.out / (lab_dir.name + '.jsonl.gz')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
