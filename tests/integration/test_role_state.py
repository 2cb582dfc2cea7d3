"""Each role declares what it manages on a node (roles/<role>/meta/state.yml), and the stamp a
second up compares is made of those declarations (roles/converge_stamp, lookup
labtool.lab.role_state). A role that writes something it does not declare would turn into
"nothing to do" on the next up after that thing drifted: so every path a role's tasks write
(dest:/path: of the file modules, the files of labtool.lab.files) and every unit they put in
a state must be covered by the role's declaration, and every role that writes node state must
have one.

The tasks are read as text and their Jinja rendered with the role's defaults and vars (each OS
vars file in turn) over the example inventory and playbooks/group_vars; a name that stays
undefined (a loop item, a registered result) renders as a placeholder, so a path must be
covered by what comes before it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
DECLARATION = "meta/state.yml"
# roles that write no node state a later up must notice, and why
NO_DECLARATION = {
    "verify": "reads only",
    "reset": "undoes what the other roles declare (labtool reset)",
    "converge_stamp": "writes the stamp itself",
}
HOLE = "__UNDEFINED__"

# module -> the argument(s) naming what it writes on the node
PATH_ARGS = {
    "ansible.builtin.copy": ("dest",), "ansible.builtin.template": ("dest",),
    "ansible.builtin.get_url": ("dest",), "ansible.builtin.file": ("path",),
    "ansible.builtin.lineinfile": ("path",), "ansible.builtin.blockinfile": ("path",),
    "ansible.builtin.replace": ("path",), "community.general.ini_file": ("path",),
    "ansible.posix.mount": ("path",),
}
# module -> what it changes on the node besides its arguments
IMPLIED = {
    "ansible.builtin.hostname": ["/etc/hostname"],
    "ansible.posix.selinux": ["/etc/selinux/config"],
    "ansible.posix.mount": ["/etc/fstab"],
    "ansible.builtin.yum_repository": ["/etc/yum.repos.d"],
    "ansible.builtin.apt": ["/var/lib/dpkg/status"], "ansible.builtin.dnf": ["/var/lib/rpm"],
    "ansible.builtin.package": ["/var/lib/dpkg/status", "/var/lib/rpm"],
    "ansible.builtin.dpkg_selections": ["/var/lib/dpkg/status"],
    "ansible.builtin.debconf": ["/var/lib/dpkg/status"],
    "labtool.lab.deb_packages": ["/var/lib/dpkg/status"],
}
# labtool.lab.install_files takes its list from a variable: where each role's goes
INSTALLED_BY_ROLE = {
    # the artifacts' files (roles/kube_packages/tasks/probe.yml)
    "kube_packages": ["/usr/bin/kubeadm", "/usr/bin/kubelet", "/usr/bin/kubectl", "/usr/bin/crictl",
                      "/opt/cni/bin", "/etc/systemd/system/kubelet.service",
                      "/etc/systemd/system/kubelet.service.d"],
    # an air-gapped node's OS packages (roles/node_prep/vars/main.yml: _node_prep_debs_node_dir)
    "node_prep": ["/var/lib/labtool/debs"],
}
UNIT_MODULES = ("labtool.lab.units", "ansible.builtin.systemd_service", "ansible.builtin.systemd",
                "ansible.builtin.service")
TASK_KEYS = {"name", "when", "vars", "register", "tags", "loop", "loop_control", "with_items", "with_dict",
             "become", "become_user", "changed_when", "failed_when", "check_mode", "notify", "until",
             "retries", "delay", "no_log", "environment", "delegate_to", "run_once", "ignore_errors",
             "listen", "diff", "timeout", "args", "throttle", "any_errors_fatal", "module_defaults",
             "delegate_facts", "async", "poll", "block", "rescue", "always", "debugger"}


class Hole(jinja2.Undefined):
    """An undefined name: renders as a placeholder and survives attributes, items and filters."""
    def __str__(self):
        return HOLE

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Hole()

    def __getitem__(self, key):
        return Hole()

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False

    __call__ = lambda self, *a, **k: Hole()  # noqa: E731


def _regex_replace(value, pattern, replacement=""):
    return re.sub(pattern, replacement.replace("\\g<", "\\g<"), str(value))


ENV = jinja2.Environment(undefined=Hole)
ENV.filters.update(dirname=lambda p: os.path.dirname(str(p)), basename=lambda p: os.path.basename(str(p)),
                   regex_replace=_regex_replace, bool=bool, dict2items=lambda d: [
                       {"key": k, "value": v} for k, v in (d or {}).items()] if isinstance(d, Mapping) else [],
                   to_json=str, from_json=lambda s: Hole(), mandatory=lambda v: v)
ENV.tests.update(match=lambda v, p: bool(re.match(p, str(v))), changed=lambda v: False)


class Vars(Mapping):
    """Variables whose values are rendered when read, as Ansible's are."""
    def __init__(self, layers: list[dict]):
        self.data: dict = {}
        for layer in layers:
            self.data.update(layer or {})
        self.data.setdefault("lookup", lambda *a, **k: HOLE)
        self.data.setdefault("query", lambda *a, **k: [])
        self.depth = 0

    def __getitem__(self, key):
        value = self.data[key]
        return self.render(value) if self.depth < 20 else value

    def render(self, value):
        self.depth += 1
        try:
            if isinstance(value, str) and ("{{" in value or "{%" in value):
                text = render(value, self)
                try:
                    parsed = yaml.safe_load(text) if text.strip()[:1] in "[{" else text
                except yaml.YAMLError:
                    parsed = text
                return parsed
            if isinstance(value, list):
                return [self.render(v) for v in value]
            if isinstance(value, dict):
                return {k: self.render(v) for k, v in value.items()}
            return value
        finally:
            self.depth -= 1

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)


def render(text: str, variables: Vars) -> str:
    try:
        template = ENV.from_string(text)
        return "".join(template.root_render_func(template.new_context(variables, shared=True)))
    except Exception:  # a construct this small renderer does not know: nothing learned
        return HOLE


def load(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def play_vars() -> dict:
    """What the up plays give the roles: the example inventory's variables and group_vars/all."""
    inventory = load(ROOT / "inventory" / "machines-offline.yml")
    out = dict((inventory.get("all") or {}).get("vars") or {})
    out["groups"] = {"control_plane": ["cp"], "workers": ["w1", "w2"], "all": ["cp", "w1", "w2"]}
    out["inventory_hostname"] = "cp"
    for path in sorted((ROOT / "playbooks/group_vars/all").glob("*.yml")):
        out.update(load(path))
    return out


def os_layers(role: Path) -> list[list[Path]]:
    names = sorted(p.stem for p in (role / "vars").glob("*.yml") if p.name != "main.yml")
    layers = []
    for name in names:
        base = role / "vars" / (name.split("-", 1)[0] + ".yml")
        layers.append([base] if name == base.stem else [base, role / "vars" / f"{name}.yml"])
    return layers or [[]]


def role_vars(role: Path) -> list[Vars]:
    return [Vars([load(role / "defaults/main.yml"), play_vars(), load(role / "vars/main.yml"),
                  *[load(p) for p in layer]]) for layer in os_layers(role)]


def tasks_of(role: Path):
    """Every task of the role's task files (blocks opened), with the file it is in."""
    def walk(items, where):
        for task in items or []:
            if not isinstance(task, dict):
                continue
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key), where)
            yield task, where
    for path in sorted((role / "tasks").glob("*.yml")):
        yield from walk(yaml.safe_load(path.read_text()), path.name)


def module_of(task: dict) -> tuple[str, object]:
    for key, value in task.items():
        if key not in TASK_KEYS:
            return key, value
    return "", None


def path_expressions(module: str, args, task: dict, role: Path) -> list[str]:
    """The templates or Jinja expressions naming what the task writes."""
    if module.startswith("ansible.builtin.fetch") or task.get("delegate_to") in ("localhost", "127.0.0.1"):
        return []  # the controller's files
    if not isinstance(args, dict):
        return []
    found = [str(args[a]) for a in PATH_ARGS.get(module, ()) if a in args]
    if module == "labtool.lab.files":
        for key in ("files", "directories"):
            value = args.get(key) or []
            if isinstance(value, list):
                found += [str(item["path"]) for item in value if isinstance(item, dict) and "path" in item]
            else:  # a template building the list: its 'path' expressions, and those of the vars it names
                task_vars = (task.get("vars") or {}).values()
                found += [str(v["path"]) for v in task_vars if isinstance(v, dict) and "path" in v]
                texts = [str(value)] + [v for v in task_vars if isinstance(v, str)]
                names = set(re.findall(r"\b(_?[a-z][a-z0-9_]*)\b", " ".join(texts)))
                for layer in (load(role / "vars/main.yml"), load(role / "defaults/main.yml")):
                    texts += [str(v) for k, v in layer.items() if k in names]
                for text in texts:
                    for e in re.findall(r"'path':\s*([^,}]+?)\s*(?:,|})", text):
                        literal = e.strip()[1:-1] if e.strip()[:1] in "'\"" and "{{" in e else None
                        found.append(literal if literal is not None else "{{ " + e.strip() + " }}")
    return found


def covered(path: str, declared: list[str]) -> bool:
    path = os.path.normpath(path)
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in map(os.path.normpath, declared))


def declaration(role: Path, variables: Vars) -> dict:
    raw = load(role / DECLARATION)
    return {k: variables.render(v) or [] for k, v in raw.items()}


WRITERS = sorted(p.parent.parent.name for p in ROLES.glob("*/tasks/main.yml"))


@pytest.mark.parametrize("role", WRITERS)
def test_every_role_that_writes_node_state_declares_it(role):
    writes = [task.get("name") for task, _ in tasks_of(ROLES / role)
              if module_of(task)[0] in PATH_ARGS or module_of(task)[0] in IMPLIED
              or module_of(task)[0] in ("labtool.lab.files", "labtool.lab.install_files") + UNIT_MODULES]
    if role in NO_DECLARATION:
        assert not (ROLES / role / DECLARATION).exists() or writes, role
        return
    assert (ROLES / role / DECLARATION).is_file(), f"{role} writes node state ({writes[:3]}) but has no {DECLARATION}"


@pytest.mark.parametrize("role", [r for r in WRITERS if r not in NO_DECLARATION])
def test_every_path_and_unit_a_role_writes_is_in_its_declaration(role):
    role_dir = ROLES / role
    missing, holes, placed = [], set(), set()
    for variables in role_vars(role_dir):
        declared = declaration(role_dir, variables)
        paths = [str(p) for p in declared.get("paths", []) + declared.get("transient", [])]
        units = {str(u) if "." in str(u) else f"{u}.service" for u in declared.get("units", [])}
        for task, where in tasks_of(role_dir):
            module, args = module_of(task)
            directory = isinstance(args, dict) and args.get("state") == "directory"
            for expression in path_expressions(module, args, task, role_dir):
                path = render(expression, variables)
                what = f"{where}: {task.get('name')}: {expression}"
                if not path or path.startswith(HOLE):
                    holes.add(what)  # this OS's vars do not name it: another OS's must
                elif covered(path, paths) or (directory and any(covered(d, [path]) for d in paths)):
                    placed.add(what)  # a directory made for declared files inside it counts too
                else:
                    missing.append(f"{what} -> {path}")
            if module == "labtool.lab.install_files":
                assert role in INSTALLED_BY_ROLE, f"{role} installs files: say where in INSTALLED_BY_ROLE"
            implied = INSTALLED_BY_ROLE[role] if module == "labtool.lab.install_files" else IMPLIED.get(module, [])
            for path in implied:
                if not covered(path, paths) and not (module == "ansible.builtin.package" and
                                                     covered("/var/lib/dpkg/status", paths)):
                    missing.append(f"{where}: {task.get('name')}: {module} changes {path}")
            if module in UNIT_MODULES and isinstance(args, dict):
                names = [u.get("name") for u in args.get("units") or [] if isinstance(u, dict)] \
                    if module == "labtool.lab.units" else [args.get("name")]
                for name in names:
                    unit = render(str(name), variables)
                    unit = unit if "." in unit else f"{unit}.service"
                    if unit not in units:
                        missing.append(f"{where}: {task.get('name')}: unit {unit}")
    missing += [f"{what} -> not rendered with any OS's vars" for what in holes - placed]
    assert not sorted(set(missing)), f"{role}/{DECLARATION} does not cover:\n" + "\n".join(sorted(set(missing)))


def test_the_stamp_has_no_hand_kept_list_of_what_the_roles_write():
    stamp = load(ROOT / "playbooks/group_vars/all/stamp.yml")
    assert not {"converge_stamp_paths", "converge_stamp_units", "converge_stamp_sysctls",
                "converge_stamp_commands"} & set(stamp)
