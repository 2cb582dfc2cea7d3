#!/usr/bin/env python3
"""Record the ansible-runner events of a REAL run, for the report tests' fixtures.

    python tests/record_events.py -f .labtool/events/lab.yml --playbook up --tags iptables \\
        --out tests/fixtures/events-clean.jsonl

Runs the playbook through labtool.runner.run_playbook (the same path `labtool up` takes),
prints the progress as `labtool` does, and writes every event dict ansible-runner hands to
the event handler, one JSON object per line, plus a last line {"labtool_result": ...} with
what the run ended as (status and rc, which no event carries) — the tests compare against it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from labtool import report, runner
from labtool.exitcodes import for_run as exit_code_for
from labtool.labfile import load_lab


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--file", required=True, help="lab file")
    parser.add_argument("--playbook", required=True, help="up, verify, reset, nodes, or a path")
    parser.add_argument("--tags")
    parser.add_argument("--limit")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    lab = load_lab(args.file)
    progress = report.Progress()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        def record(event: dict) -> None:
            out.write(json.dumps(event, sort_keys=True) + "\n")
            out.flush()
            progress(event)

        try:
            result = runner.run_playbook(args.playbook, lab, tags=args.tags, limit=args.limit,
                                         on_event=record)
        finally:
            progress.close()
        code = exit_code_for(result)
        out.write(json.dumps({"labtool_result": {
            "playbook": result.playbook, "status": result.status, "rc": result.rc,
        }}, sort_keys=True) + "\n")
    report.print_result(result, console=progress.console)
    print(f"recorded {args.out} (exit code would be {code})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
