"""The playbooks and roles as Ansible reads them, without nodes: syntax, per-OS data, the
supported-OS check. The RHEL paths cannot run here (no RHEL image can be had), so what can be
checked of them is checked here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLES = sorted((ROOT / "inventory").glob("*.yml"))
FAMILY_VARS = sorted(p.parent for p in ROOT.glob("roles/*/vars/RedHat.yml"))


def ansible_env() -> dict[str, str]:
    return {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
            "ANSIBLE_NOCOLOR": "1", "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())}


@pytest.mark.parametrize("inventory", EXAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("playbook", ["up", "verify", "reset"])
def test_playbook_syntax(playbook, inventory):
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory),
         str(ROOT / "playbooks" / f"{playbook}.yml")],
        capture_output=True, text=True, env=ansible_env(), cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("vars_dir", FAMILY_VARS, ids=lambda p: p.parent.name)
def test_each_os_family_defines_the_same_role_variables(vars_dir):
    """A variable only Debian.yml defines would be undefined on the first RHEL node."""
    shared = {"node_prep": {"_node_prep_apt_proxy_file", "_node_prep_yum_conf"}}  # one family's tools
    keys = {family: set(yaml.safe_load((vars_dir / f"{family}.yml").read_text()))
            for family in ("Debian", "RedHat")}
    role = vars_dir.parent.name
    only_one = (keys["Debian"] ^ keys["RedHat"]) - shared.get(role, set())
    assert not only_one, f"{role}: defined for one OS family only: {sorted(only_one)}"
    for family, names in keys.items():
        assert all(n.startswith(f"_{role}_") for n in names), (family, sorted(names))


@pytest.mark.parametrize("vars_dir", FAMILY_VARS, ids=lambda p: p.parent.name)
def test_every_family_task_file_exists(vars_dir):
    """include_tasks "x-{{ os_family }}.yml" needs one file per family."""
    role = vars_dir.parent
    for tasks in role.glob("tasks/*-Debian.yml"):
        assert tasks.with_name(tasks.name.replace("-Debian", "-RedHat")).is_file(), tasks


def run_preflight(tmp_path: Path, extra: dict) -> subprocess.CompletedProcess:
    play = tmp_path / "preflight.yml"
    play.write_text(yaml.safe_dump([{
        "name": "node_prep preflight on this machine", "hosts": "localhost", "gather_facts": True,
        "tasks": [{"name": "Run the preflight", "ansible.builtin.include_role":
                   {"name": "node_prep", "tasks_from": "preflight"}}]}]))
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
         "-e", json.dumps(extra)],
        capture_output=True, text=True, env=ansible_env(), cwd=tmp_path)


def test_supported_os_passes_the_node_check(tmp_path):
    done = run_preflight(tmp_path, {})
    assert done.returncode == 0, done.stdout + done.stderr


def test_unsupported_os_is_refused_with_its_name(tmp_path):
    facts = subprocess.run([str(BIN / "ansible"), "localhost", "-c", "local", "-m", "setup", "-a",
                            "filter=ansible_distribution*", "-o"],
                           capture_output=True, text=True, env=ansible_env(), check=True).stdout
    distribution = json.loads(facts.split("=>", 1)[1])["ansible_facts"]["ansible_distribution"]
    done = run_preflight(tmp_path, {"node_prep_supported_os": {distribution: 999}})
    assert done.returncode != 0
    assert f"localhost runs {distribution}" in done.stdout
    assert f"labtool supports {distribution} 999 or later" in done.stdout


def role_vars(role: str, family: str) -> dict:
    return yaml.safe_load((ROOT / "roles" / role / "vars" / f"{family}.yml").read_text())


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_node_prep_installs_what_the_node_roles_would(family):
    """node_prep installs the later roles' OS packages in one run (playbook wiring) and those
    roles skip their own install: the wiring's lists must be the roles' own lists."""
    wiring = yaml.safe_load((ROOT / "playbooks/group_vars/all/nodes.yml").read_text())
    own = {"iptables": role_vars("iptables", family)["_iptables_packages"],
           "kube_packages": role_vars("kube_packages", family)["_kube_packages_local_dependencies"]}
    if not role_vars("containerd", family)["_containerd_docker_repo"]:  # RHEL's needs the repo first
        own["containerd"] = [role_vars("containerd", family)["_containerd_package_name"]]
    assert wiring["nodes_role_packages"][family] == own


def test_node_prep_answers_the_iptables_roles_debconf_questions():
    """iptables-persistent is installed by node_prep, so node_prep gives the answers the
    iptables role would have given before installing it."""
    wiring = yaml.safe_load((ROOT / "playbooks/group_vars/all/nodes.yml").read_text())
    task = yaml.safe_load((ROOT / "roles/iptables/tasks/install.yml").read_text())[0]
    assert task["ansible.builtin.debconf"]["name"] == "iptables-persistent"
    role = {f"iptables-persistent/{q}": task["ansible.builtin.debconf"]["value"] for q in task["loop"]}
    assert {a["question"]: a["value"] for a in wiring["nodes_debconf"]["Debian"]} == role
    assert {a["name"] for a in wiring["nodes_debconf"]["Debian"]} == {"iptables-persistent"}
