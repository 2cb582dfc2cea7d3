#!/usr/bin/python
# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Debian packages installed with apt-get in one run, without python3-apt."""

from __future__ import annotations

DOCUMENTATION = r"""
module: deb_packages
author: labtool maintainers (@labtool)
short_description: Refresh a stale apt index and install missing packages in one apt-get run
description:
  - What ansible.builtin.apt does for C(state=present) with C(update_cache) and
    C(cache_valid_time), through dpkg-query and apt-get only. The apt module needs python3-apt;
    on a node without it, that module installs it first, refreshing the index for that
    (measured, 5-6 s of a first run on a bare Debian node).
  - The debconf answers are given to debconf-set-selections just before the install, so the
    packages find them when they are configured.
  - Changed only when a package was installed; refreshing the index changes no configuration.
    In check mode, says what it would install and does nothing.
options:
  names:
    type: list
    elements: str
    default: []
    description: Packages that must be installed.
  debconf:
    type: list
    elements: dict
    default: []
    description: Answers, each C(name), C(question), C(vtype), C(value), set before installing.
  cache_valid_time:
    type: int
    default: 86400
    description: Seconds; an older package index is refreshed (C(apt-get update)).
  update_cache:
    type: bool
    default: false
    description: Refresh the package index whatever its age (e.g. the proxy changed).
  sources_list:
    type: path
    default: ""
    description:
      - Use this sources list alone instead of the node's sources (e.g. a flat repository of
        .deb files copied to the node, for an air-gapped node), with its own package lists in
        C(<sources_list>.lists/). Its index is refreshed when C(update_cache) is true or it has
        none yet; C(cache_valid_time) is the node's own sources' and does not apply.
  lock_timeout:
    type: int
    default: 60
    description: Seconds apt-get waits for the dpkg lock another apt holds (e.g. unattended-upgrades).
"""

EXAMPLES = r"""
- name: Install the OS packages the node roles need, in one apt-get run
  labtool.lab.deb_packages:
    names: [conntrack, socat, iptables]
    cache_valid_time: 3600
"""

RETURN = r"""
installed:
  type: list
  returned: always
  description: The packages this run installed (or would install, in check mode).
cache_updated:
  type: bool
  returned: always
  description: Whether the package index was refreshed.
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

# apt-get update touches this stamp on success (apt's own periodic stamp, as the apt module reads)
UPDATE_STAMP = "/var/lib/apt/periodic/update-success-stamp"
LISTS_DIR = "/var/lib/apt/lists"


def missing_packages(module, names):
    """The names dpkg does not list as installed ('install ok installed')."""
    if not names:
        return []
    rc, out, _err = module.run_command(["dpkg-query", "--show", "--showformat=${Package}\t${Status}\n"] + names)
    installed = {line.split("\t")[0].split(":")[0] for line in out.splitlines()
                 if line.endswith("\tinstall ok installed")}
    return [name for name in names if name not in installed]


def index_age(now):
    """Seconds since the last successful apt-get update; infinite when it never ran."""
    for path in (UPDATE_STAMP, LISTS_DIR):
        try:
            return now - os.stat(path).st_mtime
        except OSError:
            continue
    return float("inf")


def sources_options(sources_list):
    """apt options that read this sources list alone, with package lists of its own."""
    if not sources_list:
        return []
    return ["-o", "Dir::Etc::SourceList=" + sources_list, "-o", "Dir::Etc::SourceParts=" + sources_list + ".d",
            "-o", "Dir::State::Lists=" + sources_list + ".lists"]


def needs_refresh(params, now):
    if params["update_cache"]:
        return True
    if params["sources_list"]:
        return not os.path.isdir(params["sources_list"] + ".lists")
    return index_age(now) > params["cache_valid_time"]


def apt_get(module, args, lock_timeout, sources_list=""):
    env = {"DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_MODE": "a"}
    argv = ["apt-get", "-q", "-y", "-o", "DPkg::Lock::Timeout=%d" % lock_timeout,
            "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
    argv += sources_options(sources_list) + args
    rc, out, err = module.run_command(argv, environ_update=env)
    if rc != 0:
        module.fail_json(msg="%s exited %d: %s" % (" ".join(argv), rc, (err or out).strip()[-2000:]),
                         rc=rc, stdout=out, stderr=err)


def set_debconf(module, answers):
    lines = "".join("%s %s %s %s\n" % (a["name"], a["question"], a["vtype"], a["value"]) for a in answers)
    rc, out, err = module.run_command(["debconf-set-selections"], data=lines, binary_data=True)
    if rc != 0:
        module.fail_json(msg="debconf-set-selections exited %d: %s" % (rc, (err or out).strip()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type="list", elements="str", default=[]),
            debconf=dict(type="list", elements="dict", default=[]),
            cache_valid_time=dict(type="int", default=86400),
            update_cache=dict(type="bool", default=False),
            sources_list=dict(type="path", default=""),
            lock_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    params = module.params
    missing = missing_packages(module, params["names"])
    refresh = needs_refresh(params, time.time())
    if module.check_mode:
        module.exit_json(changed=bool(missing), installed=missing, cache_updated=False)
    if refresh:
        apt_get(module, ["update"], params["lock_timeout"], params["sources_list"])
    if missing:
        if params["debconf"]:
            set_debconf(module, params["debconf"])
        apt_get(module, ["install"] + missing, params["lock_timeout"], params["sources_list"])
        still = missing_packages(module, missing)
        if still:
            module.fail_json(msg="apt-get install succeeded but dpkg lists %s as not installed" % ", ".join(still))
    module.exit_json(changed=bool(missing), installed=missing, cache_updated=refresh)


if __name__ == "__main__":
    main()
