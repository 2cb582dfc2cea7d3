#!/usr/bin/python
"""systemd units enabled or disabled, started, stopped or restarted, with the fewest systemctl
calls: one ``systemctl show`` for the states, then only the calls a change needs.

WANT_JSON: Ansible runs this file as a plain script, its arguments in a JSON file named on
the command line, without the ansible.module_utils wrapper (AnsiballZ). Measured on a local
lab's first up (three container nodes, 2 cores), the four ansible.builtin.systemd_service
tasks of the node roles took 1.0-2.2 s each: the wrapper's imports and four to six
systemctl calls a task, every node at once. So it imports nothing but the standard library.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: units
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
      - "Each: C(name) (the unit, e.g. C(kubelet) or C(kubelet.service)), C(enabled) (true,
        false, or left out: not touched), C(state) (C(started), C(stopped), C(restarted), or
        left out: not touched)."
  daemon_reload:
    type: bool
    default: false
    description: Run C(systemctl daemon-reload) first (a unit file or drop-in changed).
"""

RETURN = r"""
actions:
  type: list
  description: The systemctl calls made (in check mode, those that would be), e.g. C(enable kubelet.service).
states:
  type: dict
  description: Per unit, its LoadState, UnitFileState and ActiveState before any change.
"""

import json
import subprocess
import sys

STATES = ("started", "stopped", "restarted")
ENABLED = ("enabled", "enabled-runtime", "static", "indirect", "alias", "generated")  # is-enabled says yes
DISABLE = ("enabled", "enabled-runtime")
RUNNING = ("active", "activating", "reloading")
TIMEOUT = 300  # seconds a systemctl call may take (a unit's start waits for it)


class ModuleError(Exception):
    """Ends the module with a failed result naming what is wrong."""


def unit_name(name):
    return name if "." in name else name + ".service"


def as_bool(value, what):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value.lower() in ("1", "true", "yes", "on")
    raise ModuleError("%s must be true or false, not %r" % (what, value))


def options(args):
    """The module's options, checked like an argument spec."""
    unknown = sorted(k for k in args if k not in ("units", "daemon_reload") and not k.startswith("_ansible_"))
    if unknown:
        raise ModuleError("unsupported parameters: %s" % ", ".join(unknown))
    units = args.get("units")
    if not isinstance(units, list) or not all(isinstance(u, dict) and u.get("name") for u in units):
        raise ModuleError("units must be a list of dicts, each with a name")
    wanted = []
    for unit in units:
        extra = sorted(set(unit) - {"name", "enabled", "state"})
        if extra:
            raise ModuleError("unit %s: unsupported keys: %s" % (unit["name"], ", ".join(extra)))
        state = unit.get("state")
        if state not in STATES + (None,):
            raise ModuleError("unit %s: state must be one of %s, not %r" % (unit["name"], ", ".join(STATES), state))
        wanted.append({"name": unit_name(str(unit["name"])),
                       "enabled": as_bool(unit.get("enabled"), "unit %s: enabled" % unit["name"]),
                       "state": state})
    return {"units": wanted, "daemon_reload": bool(as_bool(args.get("daemon_reload", False), "daemon_reload")),
            "check_mode": bool(args.get("_ansible_check_mode"))}


def systemctl(*args):
    """Run systemctl; its stdout, or ModuleError with what it said."""
    argv = ["systemctl"] + list(args)
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModuleError("%s: %s" % (" ".join(argv), exc))
    if done.returncode != 0:
        said = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        raise ModuleError("%s exited %d: %s" % (" ".join(argv), done.returncode, said))
    return done.stdout.decode("utf-8", "replace")


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


# The entry point of every WANT_JSON module here (converge_stamp's too): such a module is
# copied to the node alone, so it cannot import a shared one.
def main():
    try:
        with open(sys.argv[1]) as f:
            result = apply(options(json.load(f)))
    except (ModuleError, OSError, ValueError, IndexError) as exc:
        print(json.dumps({"failed": True, "msg": str(exc)}))
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
