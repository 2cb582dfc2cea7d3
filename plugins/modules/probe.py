#!/usr/bin/python
# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Several read-only looks at a node (commands, files) in one module execution."""

from __future__ import annotations

DOCUMENTATION = r"""
module: probe
author: labtool maintainers (@labtool)
short_description: Run several read-only commands and read several files in one execution
description:
  - One execution instead of one C(command), C(slurp) or C(stat) task per look; on this kind
    of node each module execution costs half a second or more. The commands run side by side.
  - Fails, naming the command and its error output, when a command cannot start or exits
    non-zero. Never changes anything; runs in check mode too.
options:
  commands:
    type: list
    elements: list
    default: []
    description: Commands (argv), each run without a shell.
  files:
    type: list
    elements: path
    default: []
    description: Files to read (text); a missing file is C(null) in the result, not an error.
  exists:
    type: list
    elements: path
    default: []
    description: Paths to look for, without reading them (e.g. files that hold keys).
  programs:
    type: list
    elements: str
    default: []
    description: Programs to look for on the PATH.
  timeout:
    type: int
    default: 60
    description: Seconds each command may take.
"""

EXAMPLES = r"""
- name: Read what the role needs to know about the node, in one execution
  labtool.lab.probe:
    files: [/etc/hosts]
    exists: [/etc/kubernetes/admin.conf]
    programs: [kubeadm]
    commands: [[swapon, --show=NAME, --noheadings]]
  register: node_probe
"""

RETURN = r"""
commands:
  type: list
  returned: always
  description: Per command, in order, C(argv), C(rc), C(stdout) and C(stderr) (both without the trailing newline).
files:
  type: dict
  returned: always
  description: Each file's path to its content, or C(null) when it does not exist.
exists:
  type: dict
  returned: always
  description: Each path of C(exists) to whether it exists.
programs:
  type: dict
  returned: always
  description: Each program of C(programs) to its full path, or C(null) when it is not on the PATH.
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.labtool.lab.plugins.module_utils.side_by_side import run_all


def read_files(paths):
    found = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                found[path] = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            found[path] = None
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            commands=dict(type="list", elements="list", default=[]),
            files=dict(type="list", elements="path", default=[]),
            timeout=dict(type="int", default=60),
            exists=dict(type="list", elements="path", default=[]),
            programs=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    commands = [[str(arg) for arg in argv] for argv in module.params["commands"]]
    results = run_all(commands, module.params["timeout"])
    try:
        files = read_files(module.params["files"])
    except OSError as exc:
        module.fail_json(msg=str(exc))
    for result in results:
        if result["rc"] != 0:
            module.fail_json(msg="%s exited %d: %s" % (" ".join(result["argv"]), result["rc"],
                                                       result["stderr"] or result["stdout"]),
                             commands=results, files=files)
    exists = {path: os.path.exists(path) for path in module.params["exists"]}
    programs = {name: module.get_bin_path(name) for name in module.params["programs"]}
    module.exit_json(changed=False, commands=results, files=files, exists=exists, programs=programs)


if __name__ == "__main__":
    main()
