#!/usr/bin/python
# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""systemd units enabled or disabled, started, stopped or restarted, with the fewest systemctl
calls: one ``systemctl show`` for the states, then only the calls a change needs.

An AnsibleModule (argument spec, check mode, diff). It was a plain-JSON script of the standard
library, measured then against ansible.builtin.systemd_service (four to six systemctl calls a
task); the side-by-side measurement of both module styles is in docs/collection.md.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: units
author: labtool maintainers (@labtool)
short_description: Enable, disable, start, stop or restart systemd units in one execution
description:
  - Reads the units' states with one C(systemctl show), then runs only what a change needs,
    in this order, each a single systemctl call for all the units concerned -
    C(daemon-reload) (when I(daemon_reload)), C(enable), C(disable), C(stop), C(start),
    C(restart). A unit systemd does not know fails the task before anything is changed.
  - Changed when any C(enable), C(disable), C(stop), C(start) or C(restart) ran (or would run,
    in check mode, where nothing runs). A reload alone is no change.
options:
  units:
    type: list
    elements: dict
    required: true
    description:
      - Each unit and the state it must be in.
    suboptions:
      name:
        type: str
        required: true
        description: The unit, e.g. C(kubelet) or C(kubelet.service).
      enabled:
        type: bool
        description: Enabled or disabled at boot; left out, not touched.
      state:
        type: str
        choices: [started, stopped, restarted]
        description: Started, stopped or restarted; left out, not touched.
  daemon_reload:
    type: bool
    default: false
    description: Run C(systemctl daemon-reload) first (a unit file or drop-in changed).
"""

EXAMPLES = r"""
- name: Enable and start containerd, restarted when its configuration changed
  labtool.lab.units:
    units:
      - {name: containerd, enabled: true, state: "{{ 'restarted' if config_changed else 'started' }}"}
    daemon_reload: true
"""

RETURN = r"""
actions:
  type: list
  elements: str
  returned: always
  description: The systemctl calls made (in check mode, those that would be), e.g. C(enable kubelet.service).
states:
  type: dict
  returned: always
  description: Per unit, its LoadState, UnitFileState and ActiveState before any change.
"""

from ansible.module_utils.basic import AnsibleModule

STATES = ("started", "stopped", "restarted")
ENABLED = ("enabled", "enabled-runtime", "static", "indirect", "alias", "generated")  # is-enabled says yes
DISABLE = ("enabled", "enabled-runtime")
RUNNING = ("active", "activating", "reloading")


class ModuleError(Exception):
    """Ends the module with a failed result naming what is wrong."""


ARGUMENT_SPEC = dict(
    units=dict(type="list", elements="dict", required=True, options=dict(
        name=dict(type="str", required=True),
        enabled=dict(type="bool"),
        state=dict(type="str", choices=list(STATES)),
    )),
    daemon_reload=dict(type="bool", default=False),
)


def unit_name(name):
    return name if "." in name else name + ".service"


def options(params, check_mode):
    """The module's options as apply() takes them: unit names with their suffix."""
    units = [{"name": unit_name(u["name"]), "enabled": u["enabled"], "state": u["state"]} for u in params["units"]]
    return {"units": units, "daemon_reload": params["daemon_reload"], "check_mode": check_mode}


RUN = {}  # "command": the module's run_command (set by main)


def systemctl(*args):
    """Run systemctl; its stdout, or ModuleError with what it said."""
    argv = ["systemctl"] + list(args)
    rc, out, err = RUN["command"](argv)
    if rc != 0:
        raise ModuleError("%s exited %d: %s" % (" ".join(argv), rc, (err or out).strip()))
    return out


def read_states(names):
    """Per unit: LoadState, UnitFileState, ActiveState (systemctl show prints them per unit,
    a blank line between units, in the order asked)."""
    out = systemctl("show", "--property=Id,LoadState,UnitFileState,ActiveState", "--", *names)
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
              for block in out.strip().split("\n\n")]
    if len(blocks) != len(names):
        raise ModuleError("systemctl show printed %d units for %d asked" % (len(blocks), len(names)))
    return {name: {k: block.get(k, "") for k in ("LoadState", "UnitFileState", "ActiveState")}
            for name, block in zip(names, blocks)}


def plan(units, states):
    """The systemctl verbs to run, in order, each with the units it concerns."""
    verbs = {"enable": [], "disable": [], "stop": [], "start": [], "restart": []}
    for unit in units:
        state = states[unit["name"]]
        if unit["enabled"] is True and state["UnitFileState"] not in ENABLED:
            verbs["enable"].append(unit["name"])
        elif unit["enabled"] is False and state["UnitFileState"] in DISABLE:
            verbs["disable"].append(unit["name"])
        running = state["ActiveState"] in RUNNING
        if unit["state"] == "restarted":
            verbs["restart"].append(unit["name"])
        elif unit["state"] == "started" and not running:
            verbs["start"].append(unit["name"])
        elif unit["state"] == "stopped" and running:
            verbs["stop"].append(unit["name"])
    return [(verb, names) for verb, names in verbs.items() if names]


def apply(p):
    names = [unit["name"] for unit in p["units"]]
    if p["daemon_reload"] and not p["check_mode"]:
        systemctl("daemon-reload")
    states = read_states(names) if names else {}
    unknown = [name for name in names if states[name]["LoadState"] == "not-found"]
    if unknown and not p["check_mode"]:
        raise ModuleError("systemd has no unit %s" % ", ".join(unknown))
    # in check mode a unit an earlier task would have written is not there yet
    steps = plan(p["units"], states)
    if not p["check_mode"]:
        for verb, concerned in steps:
            systemctl(verb, "--", *concerned)
    actions = ["%s %s" % (verb, " ".join(concerned)) for verb, concerned in steps]
    return {"changed": bool(steps), "actions": actions, "states": states}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    RUN["command"] = module.run_command
    try:
        result = apply(options(module.params, module.check_mode))
    except ModuleError as exc:
        module.fail_json(msg=str(exc))
    if module._diff and result["changed"]:
        result["diff"] = {"before": "".join("%s %s\n" % (n, " ".join(sorted(s.values()))) for n, s in result["states"].items()),
                          "after": "".join(a + "\n" for a in result["actions"])}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
