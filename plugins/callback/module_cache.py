# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Keep the modules' AnsiballZ payloads from one ansible-playbook run to the next.

Ansible builds each module's payload (the module and every module_utils it imports, found by
parsing them) once a run, into C(ansiballz_cache) of the run's own local temp dir, which goes
when the run ends. A lab's up builds some 25 of them again every run, and a class every run of
every lab: measured, a few controller CPU seconds a run (bench/RESULTS.md, issue 23). This
callback points that directory at one that outlives the run, named by a digest of everything a
payload is built from, so that a change to any module makes a new cache and never reuses a
payload built from the old code. Ansible's own file lock and atomic rename keep runs side by
side (a class) from reading a payload half written."""

from __future__ import annotations

DOCUMENTATION = r"""
name: module_cache
author: labtool maintainers (@labtool)
type: aggregate
short_description: Keep the modules' AnsiballZ payloads from one run to the next
description:
  - Links the run's C(ansiballz_cache) directory (in the run's local temp dir) to
    C(labtool-ansiballz-<digest>) beside it in the local temp base (C(ANSIBLE_LOCAL_TEMP)),
    which outlives the run, so a module's payload is built once, not once a run.
  - The digest covers ansible-core's version and path, the Python that runs Ansible, and the
    sources payloads are built from; an installed collection by its C(MANIFEST.json), a
    collection without one (a source checkout) by the size and time of each file of its
    C(plugins/modules) and C(plugins/module_utils), and the files of the configured module and
    module_utils paths, of the playbook's C(library) and of each role's C(library) and
    C(module_utils). Any change gives a new directory.
  - Directories of other digests not used for a day are removed.
requirements:
  - enabled in C(callbacks_enabled) (labtool's ansible.cfg enables it)
"""

import hashlib
import os
import shutil
import stat
import sys
import time

from ansible import constants as C
from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ansible_version
from ansible.utils.collection_loader import AnsibleCollectionConfig

PREFIX = "labtool-ansiballz-"
UNUSED_FOR = 24 * 3600  # seconds before another digest's directory is removed


def _tree_entries(top):
    """(path, size, mtime_ns) of every file below ``top``, in a stable order."""
    entries = []
    for root, dirs, files in os.walk(top, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            entries.append((path, info.st_size, info.st_mtime_ns))
    return entries


def _collection_entries(collection):
    """What identifies a collection's module sources: its MANIFEST.json when installed, else
    every file of its plugins/modules and plugins/module_utils."""
    manifest = os.path.join(collection, "MANIFEST.json")
    if os.path.isfile(manifest):
        info = os.stat(manifest)
        return [(os.path.realpath(manifest), info.st_size, info.st_mtime_ns)]
    real = os.path.realpath(collection)
    return _tree_entries(os.path.join(real, "plugins", "modules")) \
        + _tree_entries(os.path.join(real, "plugins", "module_utils"))


def _collections(roots):
    for root in roots:
        top = os.path.join(root, "ansible_collections")
        if not os.path.isdir(top):
            continue
        for namespace in sorted(os.listdir(top)):
            folder = os.path.join(top, namespace)
            if os.path.isdir(folder):
                for name in sorted(os.listdir(folder)):
                    if os.path.isdir(os.path.join(folder, name)):
                        yield os.path.join(folder, name)


def sources_digest(collection_roots, module_paths):
    """The digest of everything a module's payload is built from."""
    digest = hashlib.sha256()
    digest.update(repr((ansible_version, os.path.dirname(C.__file__), sys.version)).encode())
    for collection in _collections(collection_roots):
        digest.update(repr((collection, _collection_entries(collection))).encode())
    for path in module_paths:
        digest.update(repr((path, _tree_entries(path))).encode())
    return digest.hexdigest()[:24]


def _own_private_dir(path):
    """Whether ``path`` is a directory of this user that no one else may write to (the cache
    holds pickles that Ansible loads)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


def _remove_unused(base, keep):
    now = time.time()
    for name in os.listdir(base):
        path = os.path.join(base, name)
        if name.startswith(PREFIX) and name != keep and _own_private_dir(path):
            try:
                if now - os.stat(path).st_mtime > UNUSED_FOR:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def link_run_cache(run_tmp, digest):
    """Point ``run_tmp``/ansiballz_cache at the lasting directory of ``digest``; True when done."""
    link = os.path.join(run_tmp, "ansiballz_cache")
    if os.path.lexists(link):  # a payload was built already: this run keeps its own
        return False
    base = os.path.dirname(run_tmp)
    name = PREFIX + digest
    lasting = os.path.join(base, name)
    try:
        os.makedirs(lasting, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if not _own_private_dir(lasting):
        return False
    os.utime(lasting)  # used now: kept by _remove_unused
    os.symlink(lasting, link)
    _remove_unused(base, name)
    return True


def _module_paths(playbook_dir):
    """The configured module and module_utils paths, the playbook's library/ and each role's
    library/ and module_utils/: the legacy modules' sources."""
    paths = list(C.DEFAULT_MODULE_PATH or []) + list(C.DEFAULT_MODULE_UTILS_PATH or [])
    paths.append(os.path.join(playbook_dir, "library"))
    for roles in C.DEFAULT_ROLES_PATH or []:
        if os.path.isdir(roles):
            for role in sorted(os.listdir(roles)):
                paths += [os.path.join(roles, role, "library"), os.path.join(roles, role, "module_utils")]
    return [p for p in paths if os.path.isdir(p)]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "labtool.lab.module_cache"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        roots = list(AnsibleCollectionConfig.collection_paths or [])
        digest = sources_digest(roots, _module_paths(playbook._basedir))
        if link_run_cache(C.DEFAULT_LOCAL_TMP, digest):
            self._display.vvv(f"module payloads kept in {PREFIX}{digest}")
