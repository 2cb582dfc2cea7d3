#!/usr/bin/python
# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Several small files (and their directories) on a node in one module execution."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files
author: labtool maintainers (@labtool)
short_description: Write several small files, their directories, and remove stale ones, at once
description:
  - One execution instead of one per C(file), C(copy) or C(template) task and loop item; on
    this kind of node each module execution costs half a second or more.
  - Each file is written only when its content, mode, owner or group differ, through a
    temporary file in the same directory (its parent for a directory in
    I(removal_event_dirs)) that is moved into place. Missing parent
    directories are created (C(dir_mode), root). Supports check mode and C(--diff).
  - I(prune) removes the files in a directory, below it too, that match a name and carry a
    marker and are not in I(files) (config files of things no longer configured).
  - I(removal_event_dirs) is for a watcher that ignores create events, as containerd 1.6's CNI
    configuration syncer does (it reloads on write, rename and remove; a file moved into place
    is a create). After the files are in place, a marker file is created and removed in each
    of these directories, on every run (not in check mode), so a watcher that missed an
    earlier write (a run stopped just after it) catches up too. It changes nothing.
options:
  files:
    type: list
    elements: dict
    default: []
    description:
      - "Each: C(path) (required), C(content) (text; required unless C(state=absent)),
        C(mode) (octal string, default C(0644)), C(owner) and C(group) (name or id, default
        C(root)), C(state) (C(present) or C(absent), default C(present))."
  directories:
    type: list
    elements: dict
    default: []
    description:
      - "Directories whose mode and owner are managed too: C(path) (required), C(mode)
        (default C(0755)), C(owner) and C(group) (default C(root)). Created when missing."
  dir_mode:
    type: str
    default: "0755"
    description: Mode of parent directories the module creates (owner root).
  prune:
    type: list
    elements: dict
    default: []
    description:
      - "Each: C(path) (a directory), C(name) (a file name glob, default C(*)), C(contains)
        (a regular expression the file must match, so only files the caller wrote are
        removed), C(recurse) (default true). Matching files not in I(files) are removed."
  removal_event_dirs:
    type: list
    elements: path
    default: []
    description: Directories that get a removal event after the files are written (see above); each must exist by then.
"""

EXAMPLES = r"""
- name: Write the sysctl and module files for boot
  labtool.lab.files:
    files:
      - {path: /etc/sysctl.d/90-kubernetes.conf, content: "net.ipv4.ip_forward = 1\n"}
      - {path: /etc/modules-load.d/kubernetes.conf, content: "overlay\nbr_netfilter\n"}
"""

RETURN = r"""
changed_paths:
  type: list
  returned: always
  description: The files and directories written, created or removed, in the order of the arguments.
"""

import errno
import fnmatch
import grp
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

MARKER = ".labtool-removal-event"


class Spec:
    """What one file or directory must look like."""

    def __init__(self, entry, kind, default_mode):
        self.path = os.path.normpath(entry["path"])
        self.kind = kind
        self.state = entry.get("state", "present")
        self.content = entry.get("content")
        self.mode = parse_mode(entry.get("mode", default_mode))
        self.uid = user_id(entry.get("owner", "root"))
        self.gid = group_id(entry.get("group", "root"))


def parse_mode(value):
    if isinstance(value, int):
        return value
    if not re.match(r"^0?[0-7]{3,4}$", str(value)):
        raise ValueError("mode %r is not an octal mode such as '0644'" % (value,))
    return int(str(value), 8)


def _numeric_id(name, lookup, kind):
    """A user's or group's id: the number itself, or the name looked up."""
    if isinstance(name, int) or str(name).isdigit():
        return int(name)
    try:
        return lookup(name)
    except KeyError:
        raise ValueError("no %s %r" % (kind, name)) from None


def user_id(name):
    return _numeric_id(name, lambda n: pwd.getpwnam(n).pw_uid, "user")


def group_id(name):
    return _numeric_id(name, lambda n: grp.getgrnam(n).gr_gid, "group")


def attributes(mode, uid, gid):
    return "mode %04o\nowner %d\ngroup %d\n" % (mode, uid, gid)


def plan_directory(spec):
    """None when the directory is as it must be, else a diff."""
    try:
        st = os.lstat(spec.path)
    except FileNotFoundError:
        return {"before": "absent\n", "after": "directory\n" + attributes(spec.mode, spec.uid, spec.gid),
                "before_header": spec.path, "after_header": spec.path}
    if not stat.S_ISDIR(st.st_mode):
        raise ValueError("%s exists and is not a directory" % spec.path)
    before = attributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    after = attributes(spec.mode, spec.uid, spec.gid)
    if before == after:
        return None
    return {"before": before, "after": after,
            "before_header": spec.path + " (attributes)", "after_header": spec.path + " (attributes)"}


def plan_file(spec):
    """None when the file is as it must be, else a list of diffs."""
    try:
        st = os.lstat(spec.path)
    except FileNotFoundError:
        st = None
    if spec.state == "absent":
        if st is None:
            return None
        return [{"before": "present\n", "after": "absent\n",
                 "before_header": spec.path, "after_header": spec.path}]
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ValueError("%s exists and is not a regular file" % spec.path)
    diffs = []
    old = None
    if st is not None:
        with open(spec.path, "rb") as f:
            old = f.read().decode("utf-8", "replace")
    if old != spec.content:
        diffs.append({"before": old or "", "after": spec.content,
                      "before_header": spec.path if old is not None else "%s (absent)" % spec.path,
                      "after_header": spec.path})
    if st is not None:
        before = attributes(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        after = attributes(spec.mode, spec.uid, spec.gid)
        if before != after:
            diffs.append({"before": before, "after": after,
                          "before_header": spec.path + " (attributes)",
                          "after_header": spec.path + " (attributes)"})
    return diffs or None


def make_parents(path, mode, made):
    """Create the missing parents of path (owner root); record each one created."""
    parent = os.path.dirname(path)
    if not parent or os.path.isdir(parent):
        return
    make_parents(parent, mode, made)
    os.mkdir(parent, mode)
    os.chmod(parent, mode)  # mkdir's mode is masked by the umask
    os.chown(parent, 0, 0)
    made.append(parent)


def apply_directory(spec, dir_mode, made):
    if not os.path.isdir(spec.path):
        make_parents(spec.path, dir_mode, made)
        os.mkdir(spec.path, spec.mode)
    os.chmod(spec.path, spec.mode)
    os.chown(spec.path, spec.uid, spec.gid)


def apply_file(spec, dir_mode, made, watched=()):
    """Write through a temporary file moved into place. In a watched directory the temporary
    file is made in its parent (the same file system there, else it falls back to the
    directory itself): a watcher that reloads on writes would read the directory while the
    file is not there yet, and say so in its log."""
    if spec.state == "absent":
        os.unlink(spec.path)
        return
    make_parents(spec.path, dir_mode, made)
    directory = os.path.dirname(spec.path) or "."
    if directory in watched:
        try:
            write_through(spec, os.path.dirname(directory) or "/")
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    write_through(spec, directory)


def write_through(spec, tmp_dir):
    fd, tmp = tempfile.mkstemp(prefix=".labtool-", dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(spec.content.encode("utf-8"))
            os.fchmod(f.fileno(), spec.mode)
            os.fchown(f.fileno(), spec.uid, spec.gid)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, spec.path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def stale_files(rule, wanted):
    """The files below rule's directory that match its name and marker and are not wanted."""
    root = os.path.normpath(rule["path"])
    pattern = rule.get("name") or "*"
    marker = re.compile(rule["contains"], re.MULTILINE) if rule.get("contains") else None
    found = []
    for top, dirs, names in os.walk(root):
        dirs.sort()
        if not rule.get("recurse", True):
            dirs[:] = []
        for name in sorted(names):
            path = os.path.join(top, name)
            if path in wanted or not fnmatch.fnmatch(name, pattern) or os.path.islink(path):
                continue
            if marker is not None:
                with open(path, "rb") as f:
                    if not marker.search(f.read().decode("utf-8", "replace")):
                        continue
            found.append(path)
    return found


def removal_event(directory):
    """Create and remove a marker file in directory: one remove event for its watchers."""
    path = os.path.join(directory, MARKER)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.unlink(path)


def run(params, check_mode):
    """Plan and (unless check_mode) apply; returns (changed paths, diffs)."""
    dirs = [Spec(d, "directory", "0755") for d in params["directories"]]
    files = []
    for entry in params["files"]:
        if entry.get("state", "present") not in ("present", "absent"):
            raise ValueError("%s: state must be present or absent" % entry.get("path"))
        if entry.get("state", "present") == "present" and entry.get("content") is None:
            raise ValueError("%s: content is required unless state is absent" % entry.get("path"))
        files.append(Spec(entry, "file", "0644"))
    dir_mode = parse_mode(params["dir_mode"])
    wanted = {spec.path for spec in files if spec.state == "present"}
    for rule in params["prune"]:
        for path in stale_files(rule, wanted):
            files.append(Spec({"path": path, "state": "absent"}, "file", "0644"))

    watched = {os.path.normpath(d) for d in params["removal_event_dirs"]}
    changed, diffs, made = [], [], []
    for spec in dirs:
        diff = plan_directory(spec)
        if diff:
            changed.append(spec.path)
            diffs.append(diff)
            if not check_mode:
                apply_directory(spec, dir_mode, made)
    for spec in files:
        found = plan_file(spec)
        if found:
            changed.append(spec.path)
            diffs.extend(found)
            if not check_mode:
                apply_file(spec, dir_mode, made, watched)
    if not check_mode:
        for directory in sorted(watched):
            removal_event(directory)
    return made + changed, diffs


def main():
    entry = dict(type="list", elements="dict", default=[])
    module = AnsibleModule(
        argument_spec=dict(
            files=entry,
            directories=dict(entry),
            dir_mode=dict(type="str", default="0755"),
            prune=dict(entry),
            removal_event_dirs=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        changed, diffs = run(module.params, module.check_mode)
    except (OSError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=bool(changed), changed_paths=changed)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
