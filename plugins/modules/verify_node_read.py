#!/usr/bin/python
# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""One read of what verify checks on a node: its NAT rules and the iptables service's state
(and, on the control plane, the cluster's objects through kubectl)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_node_read
author: labtool maintainers (@labtool)
short_description: Run the verify role's read-only commands on a node, side by side, in one call
description:
  - Runs each named command (the role's C(verify_read_commands) - C(iptables-save -t nat),
    C(systemctl show) of the iptables services, on the control plane one kubectl that reads
    the cluster) at once and returns what each printed, so that a node is read with one
    round trip. A command that fails or cannot start is a result (its rc and error), not a
    failure of the task. Reads only; never changes the node.
options:
  reads:
    type: dict
    required: true
    description: Per name, the command (argv) to run, without a shell.
  timeout:
    type: int
    default: 60
    description: Seconds each command may take.
"""

EXAMPLES = r"""
- name: Read the node with verify's read-only commands
  labtool.lab.verify_node_read:
    reads:
      nat: [iptables-save, -t, nat]
  register: verify_node
"""

RETURN = r"""
reads: {type: dict, returned: always, description: "Per name of I(reads): argv, rc, stdout and stderr (text)."}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.labtool.lab.plugins.module_utils.side_by_side import run_all


def main():
    module = AnsibleModule(argument_spec={"reads": {"type": "dict", "required": True},
                                          "timeout": {"type": "int", "default": 60}},
                           supports_check_mode=True)
    names = list(module.params["reads"])
    results = run_all([module.params["reads"][name] for name in names], module.params["timeout"])
    module.exit_json(changed=False, reads=dict(zip(names, results)))


if __name__ == "__main__":
    main()
