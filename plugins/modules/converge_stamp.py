#!/usr/bin/python
# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Fingerprint of what labtool manages on a node, compared with the one the last up recorded.

WANT_JSON: the one exception to "custom modules are AnsibleModules" (docs/collection.md).
Ansible runs this file as a plain script, its arguments in a JSON file named on the command
line, without the AnsiballZ wrapper. It runs on every node at the start of every up, on the
path of a second up that changes nothing (about 3 s in all). Measured side by side on the
local lab (three container nodes, the two variants alternating in one run; two runs, 8 and 6
rounds): a compare task took 0.44 and 0.37 s (medians) as this script, 0.68 and 0.47 s as an
AnsibleModule. Its arguments are checked by options() below; it takes no secret (the inputs
are a digest; a task's no_log still hides its result). So it imports nothing but the
standard library; tests/sanity/ignore-2.19.txt lists the sanity checks this costs.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: converge_stamp
author: labtool maintainers (@labtool)
short_description: Fingerprint a node's managed state and compare it with a recorded stamp
description:
  - Computes one digest per item (path, systemd unit, sysctl, command output) of the state
    labtool manages on the node, reads the stamp the last successful up wrote and says whether
    the inputs and every digest are still the same. With I(record=true) it writes the stamp.
options:
  stamp: {type: path, required: true, description: The stamp file on the node.}
  inputs: {type: str, required: true, description: Digest of everything the run was given.}
  paths:
    type: list
    elements: path
    default: []
    description:
      - Files or directories (walked, symlinks not followed). Files up to 1 MiB are hashed by
        content; bigger ones (binaries) by size and modification time, as make and rsync do.
        A missing path is part of the fingerprint too.
  units: {type: list, elements: str, default: [], description: systemd units; their active and unit-file states.}
  sysctls: {type: list, elements: str, default: [], description: Kernel parameters; their live values.}
  commands:
    type: list
    elements: list
    default: []
    description: Commands (argv) whose exit status and output are part of the fingerprint.
  reads:
    type: dict
    default: {}
    description:
      - Named commands (argv) run side by side with the fingerprint's, whose exit status and
        output are returned as they are (C(reads)), not fingerprinted, so that a later play
        of the same run (verify's read-only checks) needs no read of the node of its own.
        Only run when there is a stamp to compare with.
  record: {type: bool, default: false, description: Write the stamp with the digests just computed.}
"""

EXAMPLES = r"""
- name: Compare the node with the stamp of the last up
  labtool.lab.converge_stamp:
    stamp: /var/lib/labtool/up-stamp.json
    inputs: "{{ inputs_digest }}"
    paths: [/etc/containerd, /etc/kubernetes]
    units: [containerd.service, kubelet.service]
    sysctls: [net.ipv4.ip_forward]
    commands: [[ip, "-4", route, show, root, 10.244.0.0/16]]
  register: converge_stamp_check
"""

RETURN = r"""
unchanged: {type: bool, returned: always, description: The stamp exists and its inputs and every digest match.}
differences:
  type: list
  elements: str
  returned: always
  description: The items whose digest differs, C(inputs), or C(no stamp).
state: {type: dict, returned: always, description: The digest of each item.}
reads: {type: dict, returned: always, description: "Per name of I(reads): argv, rc, stdout and stderr (text)."}
"""

import hashlib
import json
import os
import stat
import subprocess
import sys

CONTENT_LIMIT = 1 << 20
COMMAND_TIMEOUT = 30  # seconds
NOT_STARTED = 127  # the shell's status for a command it could not run
OPTIONS = {  # name: (type, default); None: required
    "stamp": (str, None), "inputs": (str, None), "paths": (list, []), "units": (list, []),
    "sysctls": (list, []), "commands": (list, []), "reads": (dict, {}), "record": (bool, False),
}


class ModuleError(Exception):
    """Ends the module with a failed result naming what is wrong."""


def options(args):
    """The module's options from Ansible's arguments, checked like an argument spec."""
    unknown = sorted(k for k in args if k not in OPTIONS and not k.startswith("_ansible_"))
    if unknown:
        raise ModuleError("unsupported parameters: %s" % ", ".join(unknown))
    found = {}
    for name, (kind, default) in OPTIONS.items():
        value = args.get(name, default)
        if value is None:
            raise ModuleError("missing required argument: %s" % name)
        if kind is bool and isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, kind):
            raise ModuleError("%s must be a %s, not %r" % (name, kind.__name__, value))
        found[name] = value
    found["stamp"] = os.path.expanduser(found["stamp"])
    found["paths"] = [os.path.expanduser(str(path)) for path in found["paths"]]
    found["check_mode"] = bool(args.get("_ansible_check_mode"))
    return found


# start, finish and as_result are those of labtool.lab's module_utils side_by_side, which
# the AnsiballZ modules import: a WANT_JSON module is copied to the node alone, so it
# carries its own copy.
def start(argv):
    """The running command, or the OSError that kept it from starting."""
    try:
        return subprocess.Popen([str(arg) for arg in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        return exc


def finish(proc, timeout=COMMAND_TIMEOUT):
    """A started command's exit status, output and error output (bytes)."""
    if isinstance(proc, OSError):
        return NOT_STARTED, b"", str(proc).encode()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += b"\n(killed after %d s)" % timeout
    return proc.returncode, out, err


def as_result(argv, status):
    rc, out, err = status
    return {"argv": [str(arg) for arg in argv], "rc": rc,
            "stdout": out.decode("utf-8", "replace").rstrip("\n"),
            "stderr": err.decode("utf-8", "replace").rstrip("\n")}


def file_entry(path, st):
    if stat.S_ISLNK(st.st_mode):
        return "link %s" % os.readlink(path)
    if not stat.S_ISREG(st.st_mode):
        return "type %o" % stat.S_IFMT(st.st_mode)
    mode = "%o %d:%d" % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if st.st_size > CONTENT_LIMIT:
        return "%s size %d mtime %d" % (mode, st.st_size, st.st_mtime_ns)
    with open(path, "rb") as f:
        return "%s sha256 %s" % (mode, hashlib.sha256(f.read()).hexdigest())


def path_digest(root):
    digest = hashlib.sha256()
    try:
        st = os.lstat(root)
    except FileNotFoundError:
        return "absent"
    if not stat.S_ISDIR(st.st_mode):
        return hashlib.sha256(file_entry(root, st).encode()).hexdigest()
    for top, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            full = os.path.join(top, name)
            entry = file_entry(full, os.lstat(full))
            digest.update(("%s %s\n" % (os.path.relpath(full, root), entry)).encode())
    return digest.hexdigest()


def unit_states(units):
    if not units:
        return {}
    rc, out, err = finish(start(["systemctl", "show", "--property=Id,ActiveState,UnitFileState", "--"] + units))
    if rc != 0:
        raise ModuleError("systemctl show failed: %s" % err.decode("utf-8", "replace").strip())
    states = {}
    for block, unit in zip(out.decode("utf-8", "replace").strip().split("\n\n"), units):
        states["unit " + unit] = " ".join(sorted(block.split()))
    return states


def sysctl_value(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return "absent"


def command_digest(status):
    rc, out, _err = status
    return hashlib.sha256(b"%d\n" % rc + out).hexdigest()


def read_stamp(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def differences(recorded, inputs, state):
    if not isinstance(recorded, dict):
        return ["no stamp"]
    found = [] if recorded.get("inputs") == inputs else ["inputs"]
    old = recorded.get("state") or {}
    return found + sorted(k for k in set(old) | set(state) if old.get(k) != state.get(k))


def write_stamp(path, content):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def compare(p):
    """The module's result for options ``p``."""
    recorded = read_stamp(p["stamp"])
    if recorded is None and not p["record"]:
        # nothing to compare with (a first up): the state is not worth computing
        return {"changed": False, "unchanged": False, "differences": ["no stamp"], "state": {}, "reads": {}}
    # the commands (kubectl: the slowest) run while the files are walked
    commands = [[str(arg) for arg in argv] for argv in p["commands"]]
    running = [start(argv) for argv in commands]
    reading = {name: start(argv) for name, argv in p["reads"].items()}
    state = {"path " + path: path_digest(path) for path in p["paths"]}
    state.update(unit_states(p["units"]))
    state.update({"sysctl " + name: sysctl_value(name) for name in p["sysctls"]})
    for argv, proc in zip(commands, running):
        state["command " + " ".join(argv)] = command_digest(finish(proc))
    reads = {name: as_result(p["reads"][name], finish(proc)) for name, proc in reading.items()}
    found = differences(recorded, p["inputs"], state)
    changed = False
    if p["record"] and found:
        changed = True
        if not p["check_mode"]:
            write_stamp(p["stamp"], json.dumps({"inputs": p["inputs"], "state": state},
                                               indent=1, sort_keys=True) + "\n")
    return {"changed": changed, "unchanged": not found, "differences": found, "state": state, "reads": reads}


def main():
    try:
        with open(sys.argv[1]) as f:
            result = compare(options(json.load(f)))
    except (ModuleError, OSError, ValueError, IndexError) as exc:
        print(json.dumps({"failed": True, "msg": str(exc)}))
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
