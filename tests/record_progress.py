#!/usr/bin/env python3
"""Record the raw facts `labtool progress` gathers from a REAL lab, for the progress tests.

    python tests/record_progress.py -f /tmp/teach/.labtool/teach-a/lab.yml \\
        --out tests/fixtures/progress/cluster-only.json --note "after the objects were deleted"

Runs playbooks/progress.yml through labtool.progress.gather (the path `labtool progress`
takes) and writes what the playbook handed over with set_stats (labtool_progress), the
nodes the run could not reach, and a note on how the lab was brought to that state, as one
JSON document. tests/fixtures/progress/README.md lists how each fixture was made.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from labtool import runner
from labtool.labfile import load_lab
from labtool.progress import gather


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--file", required=True, help="lab file")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--note", default="")
    args = parser.parse_args()

    lab = load_lab(args.file)
    catcher = gather.StatsCatcher()
    result = runner.run_playbook("progress", lab, on_event=catcher)
    record = {"note": args.note, "lab": lab.name,
              "unreachable": {f.host: " ".join(f.message.split())[:160]
                              for f in result.failures if f.unreachable},
              "facts": catcher.facts}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{args.out}: {result.status}, {len(catcher.facts.get('nodes', {}))} nodes read")
    return 0 if catcher.facts else 1


if __name__ == "__main__":
    raise SystemExit(main())
