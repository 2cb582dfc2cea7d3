#!/usr/bin/python
"""One read of what verify checks on a node: its NAT rules and the iptables service's state
(and, on the control plane, the cluster's objects through kubectl)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: verify_node_read
short_description: Read a node's NAT rules and the state of systemd units, in one call
description:
  - Runs C(iptables-save -t nat) and C(systemctl show) of the given units and returns what
    they printed, so the verify role reads a node with one round trip instead of three
    (the OS family, the rules, the service). Reads only; never changes the node.
options:
  units:
    type: list
    elements: str
    default: []
    description: systemd units (without C(.service)) whose LoadState and ActiveState are read.
  kubectl:
    type: list
    elements: str
    description:
      - A kubectl command (argv) that reads the cluster; given on the control plane, so that
        its read costs no round trip of its own. Its rc, stdout and stderr are returned as
        C(cluster).
"""

RETURN = r"""
nat: {type: dict, description: "C(iptables-save -t nat): rc, stdout, stderr."}
units:
  type: dict
  description: Per unit name, the properties C(systemctl show) printed (LoadState, ActiveState).
units_error: {type: str, description: What systemctl said when it failed (empty otherwise).}
cluster: {type: dict, description: "With I(kubectl): its rc, stdout, stderr."}
"""

import subprocess

from ansible.module_utils.basic import AnsibleModule


def parse_show(text, names):
    """``systemctl show`` of several units prints one block per unit, in the order asked,
    split by an empty line; each block's Id names the unit (an alias shows its real name)."""
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
              for block in text.strip().split("\n\n") if block.strip()]
    if len(blocks) == len(names):
        return dict(zip(names, blocks))
    return {b["Id"][:-len(".service")]: b for b in blocks if b.get("Id", "").endswith(".service")}


def main():
    module = AnsibleModule(argument_spec={"units": {"type": "list", "elements": "str", "default": []},
                                          "kubectl": {"type": "list", "elements": "str"}},
                           supports_check_mode=True)
    # kubectl (the slowest read: its own start and the API server's answer) runs while the
    # node's own reads do
    kubectl = None
    if module.params["kubectl"]:
        try:
            kubectl = subprocess.Popen(module.params["kubectl"], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            kubectl = exc
    rc, out, err = module.run_command(["iptables-save", "-t", "nat"])
    result = {"changed": False, "nat": {"rc": rc, "stdout": out, "stderr": err.strip()},
              "units": {}, "units_error": ""}
    names = module.params["units"]
    if names:
        rc, out, err = module.run_command(
            ["systemctl", "show", "--property=Id,LoadState,ActiveState"] + [n + ".service" for n in names])
        for name, props in parse_show(out, names).items():
            result["units"][name] = {k: v for k, v in props.items() if k != "Id"}
        if rc != 0:
            result["units_error"] = err.strip() or "systemctl show exited with status %d" % rc
    if isinstance(kubectl, OSError):
        result["cluster"] = {"rc": 127, "stdout": "", "stderr": "%s: %s" % (module.params["kubectl"][0], kubectl)}
    elif kubectl is not None:
        out, err = kubectl.communicate()
        result["cluster"] = {"rc": kubectl.returncode, "stdout": out, "stderr": err.strip()}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
