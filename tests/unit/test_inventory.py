"""The inventory (contract §2) as the playbooks get it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import GOOD_LAB
from labtool.commands import main
from labtool.inventory import build_inventory, render_inventory
from labtool.labfile import load_lab

CONTRACT_VARS = [
    "lab_name", "lab_state_dir", "lab_node_profile", "lab_iptables_service",
    "lab_kubernetes_version", "lab_pod_cidr", "lab_service_cidr", "lab_pod_network", "lab_coredns",
    "lab_sources_mode", "lab_artifacts_dir", "lab_package_proxy", "lab_proxy", "lab_no_proxy",
    "lab_kube_packages_url",
    "lab_kube_packages_layout",
    "lab_image_repository", "lab_registry_mirrors", "lab_flannel_manifest_url",
    "lab_docker_repo_url", "lab_coredns_image_repository", "lab_coredns_image_tag", "lab_pause_image",
    "lab_local_images",
    "lab_air_gapped",
    "lab_workloads",
    "ansible_ssh_common_args",
]


def test_one_control_plane_two_workers(write_lab, lab_dir, tmp_path):
    lab = load_lab(write_lab(GOOD_LAB))
    state = tmp_path / "state" / "workshop"
    inv = build_inventory(lab, state)
    assert list(inv) == ["all"]
    assert list(inv["all"]) == ["vars", "children"]
    v = inv["all"]["vars"]
    assert list(v) == CONTRACT_VARS
    assert v["lab_name"] == "workshop"
    assert v["lab_state_dir"] == str(state.resolve())
    assert v["lab_kubernetes_version"] == "1.20.2"
    assert v["lab_sources_mode"] == "local"
    assert v["lab_artifacts_dir"] == str((lab_dir / "artifacts").resolve())
    assert v["lab_registry_mirrors"] == {}
    assert v["lab_workloads"] == {
        "deployment": {"name": "dep01", "replicas": 2, "app_label": "web",
                       "container_name": "testnginx9", "image": "daocloud.io/library/nginx",
                       "container_port": 80},
        "service": {"name": "mysvc", "port": 8080, "node_port": 30001, "target_port": 80},
        "replication_controller": {"name": "my-nginx", "replicas": 2, "app_label": "nginx",
                                   "image": "daocloud.io/library/nginx", "container_port": 80},
    }
    assert v["ansible_ssh_common_args"] == (
        f"-o UserKnownHostsFile={state.resolve()}/known_hosts -o StrictHostKeyChecking=accept-new")
    children = inv["all"]["children"]
    assert list(children) == ["control_plane", "workers"]
    assert children["control_plane"]["hosts"] == {
        "cp": {"ansible_host": "192.168.56.10", "ansible_user": "root", "ansible_port": 22,
               "ansible_ssh_private_key_file": str((lab_dir / "id_ed25519").resolve()),
               "node_ip": "192.168.56.10"}}
    assert list(children["workers"]["hosts"]) == ["w1", "w2"]
    assert children["workers"]["hosts"]["w2"]["node_ip"] == "192.168.56.12"


def test_node_ip_user_port_and_no_key(write_lab, tmp_path):
    lab = load_lab(write_lab("""\
        name: classroom
        kubernetes: {version: "1.30.4"}
        sources:
          package_proxy: http://10.0.0.1:3142
          registry_mirrors: {daocloud.io: ["http://10.0.0.1:5000"]}
        nodes:
          - {name: cp, address: cp.lab.example, node_ip: 192.168.57.10, role: control-plane}
          - {name: w1, address: 192.168.56.11, node_ip: 192.168.57.11, role: worker,
             user: admin, port: 2222}
          - {name: w2, address: 192.168.56.12, role: worker}
        """))
    inv = build_inventory(lab, tmp_path / "s")
    v = inv["all"]["vars"]
    assert v["lab_sources_mode"] == "online" and v["lab_artifacts_dir"] == ""
    assert v["lab_kubernetes_version"] == "1.30.4"
    assert v["lab_package_proxy"] == "http://10.0.0.1:3142"
    assert v["lab_registry_mirrors"] == {"daocloud.io": ["http://10.0.0.1:5000"]}
    hosts = inv["all"]["children"]
    assert hosts["control_plane"]["hosts"]["cp"] == {
        "ansible_host": "cp.lab.example", "ansible_user": "root", "ansible_port": 22,
        "node_ip": "192.168.57.10"}
    assert hosts["workers"]["hosts"]["w1"] == {
        "ansible_host": "192.168.56.11", "ansible_user": "admin", "ansible_port": 2222,
        "node_ip": "192.168.57.11"}
    assert hosts["workers"]["hosts"]["w2"]["node_ip"] == "192.168.56.12"


def test_default_state_dir_follows_labtool_home(write_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    inv = build_inventory(load_lab(write_lab(GOOD_LAB)))
    assert inv["all"]["vars"]["lab_state_dir"] == str((tmp_path / "home" / "workshop").resolve())


def test_cli_prints_yaml_that_reads_back_the_same(write_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    path = write_lab(GOOD_LAB)
    result = CliRunner().invoke(main, ["inventory", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert 'lab_kubernetes_version: "1.20.2"' in result.stdout
    assert yaml.safe_load(result.stdout) == build_inventory(load_lab(path))


def test_ansible_reads_the_inventory(write_lab, tmp_path):
    """ansible-inventory (the same parser ansible-playbook and AWX use) sees our groups/vars."""
    inv_file = tmp_path / "inventory.yml"
    inv_file.write_text(render_inventory(build_inventory(load_lab(write_lab(GOOD_LAB)), tmp_path)))
    ansible_inventory = Path(sys.executable).parent / "ansible-inventory"
    out = subprocess.run([str(ansible_inventory), "-i", str(inv_file), "--list"],
                         check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    assert data["control_plane"]["hosts"] == ["cp"]
    assert data["workers"]["hosts"] == ["w1", "w2"]
    w1 = data["_meta"]["hostvars"]["w1"]
    assert w1["lab_kubernetes_version"] == "1.20.2"
    assert w1["lab_workloads"]["service"]["node_port"] == 30001
    assert w1["node_ip"] == "192.168.56.11"


@pytest.mark.parametrize("example", sorted((Path(__file__).parents[2] / "inventory").glob("*.yml")),
                         ids=lambda p: p.name)
def test_example_inventories_carry_the_same_variables(example):
    """The hand-written examples in inventory/ must not drift from what labtool writes."""
    data = yaml.safe_load(example.read_text())
    assert sorted(data["all"]["vars"]) == sorted(CONTRACT_VARS)
    children = data["all"]["children"]
    assert sorted(children) == ["control_plane", "workers"]
    for group in children.values():
        for host in group["hosts"].values():
            assert {"ansible_host", "node_ip"} <= set(host)
