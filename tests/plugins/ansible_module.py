"""Run an Ansible module's file the way Ansible runs it on a node, without Ansible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# the repository root: the collection labtool.lab (plugins/, roles/, playbooks/)
REPO = Path(__file__).resolve().parents[2]
# where a module's ``ansible_collections.labtool.lab...`` imports resolve, as AnsiballZ bundles
# them (collections/ansible_collections/labtool/lab links to the root's plugins/)
COLLECTIONS = REPO / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.append(str(COLLECTIONS))  # for the tests that import a module's file themselves


def run(module: Path, work_dir: Path, args: dict) -> dict:
    """The module's result for these arguments (passed in a JSON file in work_dir)."""
    args_file = work_dir / "args.json"
    # a WANT_JSON module gets the arguments themselves, a module of ansible.module_utils
    # (AnsiballZ) gets them wrapped
    want_json = "WANT_JSON" in module.read_text()
    args_file.write_text(json.dumps(args if want_json else {"ANSIBLE_MODULE_ARGS": args}))
    path = os.pathsep.join(filter(None, [str(COLLECTIONS), os.environ.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, str(module), str(args_file)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": path})
    return json.loads(done.stdout)
