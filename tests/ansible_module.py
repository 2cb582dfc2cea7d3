"""Run an Ansible module's file the way Ansible runs it on a node, without Ansible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(module: Path, work_dir: Path, args: dict) -> dict:
    """The module's result for these arguments (passed in a JSON file in work_dir)."""
    args_file = work_dir / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    done = subprocess.run([sys.executable, str(module), str(args_file)],
                          capture_output=True, text=True, check=False)
    return json.loads(done.stdout)
