"""The playbooks and roles as Ansible reads them, without nodes: syntax, per-OS data, the
supported-OS check. The RHEL paths cannot run here (no RHEL image can be had), so what can be
checked of them is checked here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
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
    task = yaml.safe_load((ROOT / "roles/iptables/tasks/packages.yml").read_text())[0]
    assert task["ansible.builtin.debconf"]["name"] == "iptables-persistent"
    role = {f"iptables-persistent/{q}": task["ansible.builtin.debconf"]["value"] for q in task["loop"]}
    assert {a["question"]: a["value"] for a in wiring["nodes_debconf"]["Debian"]} == role
    assert {a["name"] for a in wiring["nodes_debconf"]["Debian"]} == {"iptables-persistent"}


# --- the collection labtool.lab, as a plain ansible-playbook or AWX user gets it -------------

PLAYBOOKS = sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml"))
NOT_IN_THE_COLLECTION = ("labtool/", "tests/", "molecule/", "bench/", "tools/", "docs/", ".ci/",
                         "collections/", "pyproject.toml", "ansible.cfg")


def plain_env(tmp: Path, collections: Path) -> dict[str, str]:
    """No ansible.cfg of the project, and a `labtool` package on the path that fails to
    import: what runs must not need labtool's Python side."""
    poison = tmp / "poison" / "labtool"
    poison.mkdir(parents=True, exist_ok=True)
    (poison / "__init__.py").write_text("raise ImportError('the collection imported labtool')\n")
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp / "home"), "ANSIBLE_NOCOLOR": "1",
            "PYTHONPATH": str(poison.parent), "ANSIBLE_COLLECTIONS_PATH": str(collections)}


@pytest.fixture(scope="module")
def installed_collection(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """`ansible-galaxy collection build` of the repository root, installed into a temp dir."""
    tmp = tmp_path_factory.mktemp("collection")
    env = plain_env(tmp, tmp / "collections")
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT),
                            "--output-path", str(tmp)], capture_output=True, text=True, env=env, cwd=tmp)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next(tmp.glob("labtool-lab-*.tar.gz"))
    done = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps",
                           "-p", str(tmp / "collections"), str(tarball)],
                          capture_output=True, text=True, env=env, cwd=tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    return tarball, tmp, env


def test_the_collection_tarball_holds_the_ansible_side_only(installed_collection):
    tarball, _, _ = installed_collection
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    for top in ("galaxy.yml", "meta/runtime.yml", "playbooks/up.yml", "roles/verify/tasks/main.yml",
                "plugins/modules/units.py", "plugins/filter/verify_checks.py"):
        assert top in names or top == "galaxy.yml", top  # galaxy.yml becomes MANIFEST.json
    leaked = [n for n in names if n.startswith(NOT_IN_THE_COLLECTION) or "__pycache__" in n]
    assert not leaked, leaked


@pytest.mark.parametrize("inventory", EXAMPLES, ids=lambda p: p.name)
def test_an_installed_collection_runs_its_playbooks_by_name(installed_collection, inventory):
    _, tmp, env = installed_collection
    for playbook in PLAYBOOKS:
        done = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory),
                               f"labtool.lab.{playbook}"], capture_output=True, text=True, env=env, cwd=tmp)
        assert done.returncode == 0, playbook + ": " + done.stdout + done.stderr


def test_an_installed_collection_resolves_its_roles_and_plugins_by_fqcn(installed_collection):
    """An included role and a filter are found only when the play runs (syntax-check does
    not load them): run a role's variables-only tasks and one of its filters on localhost."""
    _, tmp, env = installed_collection
    play = tmp / "fqcn.yml"
    play.write_text(yaml.safe_dump([{
        "name": "The collection's role and filter by name", "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "Load verify's read commands", "ansible.builtin.include_role":
                {"name": "labtool.lab.verify", "tasks_from": "read-commands", "public": True}},
            {"name": "Use a filter of the collection", "ansible.builtin.assert": {"that": [
                "verify_service.node_port == 30001",
                "('' | labtool.lab.etc_hosts({'a': '10.0.0.1'})) == '10.0.0.1\\ta\\n'"]}},
        ]}]))
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play)],
                          capture_output=True, text=True, env=env, cwd=tmp)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_wheel_ships_the_collection_and_nothing_else_of_the_ansible_side(tmp_path):
    """pip wheel of a copy of the tree (pip builds in the source tree): labtool/_ansible holds
    ansible.cfg and the collection where ansible.cfg's collections_path finds it."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".labtool", ".ansible", "*.egg-info", "build", "dist", "__pycache__", ".pytest_cache"))
    done = subprocess.run([str(BIN / "python"), "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "out"),
                           str(src)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    wheel = next((tmp_path / "out").glob("labtool-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    lab = "labtool/_ansible/collections/ansible_collections/labtool/lab/"
    for name in ("labtool/_ansible/ansible.cfg", lab + "galaxy.yml", lab + "meta/runtime.yml",
                 lab + "playbooks/up.yml", lab + "roles/converge_stamp/tasks/main.yml",
                 lab + "roles/node_prep/meta/state.yml", lab + "plugins/modules/units.py"):
        assert name in names, name
    ansible_side = [n for n in names if n.startswith("labtool/_ansible/")]
    assert all(n == "labtool/_ansible/ansible.cfg" or n.startswith(lab) for n in ansible_side), ansible_side
    assert not [n for n in ansible_side if any(part in n.split("/") for part in
                                               ("molecule", "tests", "bench", "tools", "__pycache__"))]
