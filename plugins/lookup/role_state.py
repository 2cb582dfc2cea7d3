# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""The state the roles declare they manage on a node (roles/<role>/meta/state.yml), for the
stamp a second up compares (roles/converge_stamp)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_state
author: labtool maintainers (@labtool)
short_description: Collect what every role declares it manages on a node (its meta/state.yml)
description:
  - Reads C(meta/state.yml) of every role below each directory given and returns the union of
    their C(paths), C(units), C(sysctls), C(commands) (run on every node) and
    C(cluster_commands) (run on the control plane), each list without duplicates, in the
    roles' name order; a path below another declared path is left out (it is walked with it).
  - A declaration may use the role's variables. It is rendered with the role's
    C(defaults/main.yml) under the play's variables, under the role's C(vars/main.yml), once
    per OS vars file the role has (C(vars/<Family>.yml), and C(vars/<Family>-<version>.yml) over
    it), the union of all of them, as the stamp runs before any facts are gathered. A path missing on a node is part of the fingerprint
    as missing.
  - C(transient) (paths a role writes and removes in the same run) is not returned; it exists
    for tests/integration/test_role_state.py, which checks that every path a role's tasks write
    is declared.
options:
  _terms: {description: Directories of roles on the controller., required: true}
"""

EXAMPLES = r"""
- name: What the roles manage
  ansible.builtin.set_fact:
    declared: "{{ lookup('labtool.lab.role_state', role_path | dirname) }}"
"""

RETURN = r"""
_raw:
  description: One dict of lists, C(paths), C(units), C(sysctls), C(commands), C(cluster_commands).
  type: list
  elements: dict
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

KINDS = ("paths", "units", "sysctls", "commands", "cluster_commands")
DECLARATION = os.path.join("meta", "state.yml")


def declared_roles(roots):
    """(role name, role directory) of every role with a declaration, in name order."""
    found = []
    for root in roots:
        for name in sorted(os.listdir(root)):
            if os.path.isfile(os.path.join(root, name, DECLARATION)):
                found.append((name, os.path.join(root, name)))
    return found


def os_vars_layers(role_dir):
    """The role's per-OS vars files as they are layered on a node: [<Family>.yml] and
    [<Family>.yml, <Family>-<version>.yml] for each version file; [[]] when it has none."""
    vars_dir = os.path.join(role_dir, "vars")
    names = sorted(f[:-4] for f in os.listdir(vars_dir)
                   if f.endswith(".yml") and f != "main.yml") if os.path.isdir(vars_dir) else []
    layers = []
    for name in names:
        family = name.split("-", 1)[0]
        base = [os.path.join(vars_dir, family + ".yml")] if family + ".yml" in os.listdir(vars_dir) else []
        path = os.path.join(vars_dir, name + ".yml")
        layers.append(base if name == family else base + [path])
    return layers or [[]]


def merge(into, rendered, role):
    for kind in KINDS:
        values = rendered.get(kind) or []
        if not isinstance(values, list):
            raise AnsibleLookupError("%s: %s in %s must be a list" % (role, kind, DECLARATION))
        for value in values:
            if value not in into[kind]:
                into[kind].append(value)


def outermost(paths):
    """The paths without those below another one (the stamp walks a directory whole)."""
    paths = [str(p) for p in paths]
    return [p for p in paths if not any(p.startswith(q.rstrip("/") + "/") for q in paths if q != p)]


class LookupModule(LookupBase):
    def _load(self, path):
        if path is None or not os.path.isfile(path):
            return {}
        return self._loader.load_from_file(path, trusted_as_template=True) or {}

    def run(self, terms, variables=None, **kwargs):
        result = {kind: [] for kind in KINDS}
        for role, role_dir in declared_roles([str(term) for term in terms]):
            declaration = self._load(os.path.join(role_dir, DECLARATION))
            unknown = sorted(set(declaration) - set(KINDS) - {"transient"})
            if unknown:
                raise AnsibleLookupError("%s: unknown keys in %s: %s" % (role, DECLARATION, ", ".join(unknown)))
            wanted = {k: v for k, v in declaration.items() if k in KINDS}
            defaults = self._load(os.path.join(role_dir, "defaults", "main.yml"))
            role_vars = self._load(os.path.join(role_dir, "vars", "main.yml"))
            for layers in os_vars_layers(role_dir):
                env = dict(defaults)
                env.update(variables or {})
                env.update(role_vars)
                for layer in layers:
                    env.update(self._load(layer))
                templar = self._templar.copy_with_new_env(available_variables=env)
                merge(result, templar.template(wanted), role)
        result["paths"] = outermost(result["paths"])
        return [result]
