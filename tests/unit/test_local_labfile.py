"""The lab file a local lab writes, checked by the same model `labtool up` uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labtool.labfile import load_lab
from labtool.local import labfile
from labtool.local._run import LocalLabError

ADDRESSES = {"cp": "172.24.7.10", "w1": "172.24.7.11", "w2": "172.24.7.12"}


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    d = tmp_path / "artifacts"
    d.mkdir()
    (d / "artifacts.yml").write_text("kubernetes_version: v1.20.2\n")
    return d


def written(tmp_path: Path, artifacts: Path) -> Path:
    (tmp_path / "state").mkdir(exist_ok=True)
    (tmp_path / "state" / "id_ed25519").write_text("key\n")
    content = labfile.render("molecule", ADDRESSES, "172.24.7.1", artifacts,
                             kubernetes_version=labfile.artifacts_version(artifacts))
    return labfile.write(tmp_path / "state" / "lab.yml", content)


def test_lab_file_is_valid_for_the_lab_model(tmp_path, artifacts):
    lab = load_lab(written(tmp_path, artifacts))
    assert lab.name == "molecule"
    assert lab.node_profile == "container"
    assert [(n.name, n.address, n.role) for n in lab.nodes] == [
        ("cp", "172.24.7.10", "control-plane"),
        ("w1", "172.24.7.11", "worker"),
        ("w2", "172.24.7.12", "worker"),
    ]
    assert all(n.key == tmp_path / "state" / "id_ed25519" for n in lab.nodes)


def test_lab_file_points_packages_and_images_at_the_gateway(tmp_path, artifacts):
    lab = load_lab(written(tmp_path, artifacts))
    assert lab.sources.mode == "local"
    assert lab.sources.artifacts == artifacts
    assert lab.sources.package_proxy == "http://172.24.7.1:3142"
    assert lab.sources.registry_mirrors == {
        host: ["http://172.24.7.1:5000"]
        for host in ("registry.k8s.io", "k8s.gcr.io", "docker.io", "daocloud.io")
    }


def test_lab_file_asks_for_the_walkthrough_cluster(tmp_path, artifacts):
    lab = load_lab(written(tmp_path, artifacts))
    assert lab.kubernetes.version == "1.20.2"
    assert lab.kubernetes.pod_network == "host-gw"
    assert str(lab.kubernetes.pod_cidr) == "10.244.0.0/16"
    assert str(lab.kubernetes.service_cidr) == "10.96.0.0/12"


def test_version_is_written_as_a_string(tmp_path, artifacts):
    raw = yaml.safe_load(written(tmp_path, artifacts).read_text())
    assert raw["kubernetes"]["version"] == "1.20.2"


@pytest.mark.parametrize("built", ["v1.22.17", "1.20.2"])
def test_lab_file_asks_for_the_version_the_artifacts_carry(tmp_path, artifacts, built):
    (artifacts / "artifacts.yml").write_text(f"kubernetes_version: {built}\n")
    path = written(tmp_path, artifacts)
    assert yaml.safe_load(path.read_text())["kubernetes"]["version"] == built.lstrip("v")
    assert load_lab(path).kubernetes.version == built.lstrip("v")


def test_artifacts_without_a_manifest_leave_the_version_out(tmp_path):
    assert labfile.artifacts_version(tmp_path / "nowhere") is None
    content = labfile.render("molecule", ADDRESSES, "172.24.7.1", tmp_path / "nowhere")
    assert "version" not in content["kubernetes"]


@pytest.mark.parametrize("name", ["", "Upper", "has_underscore", "x" * 41, "-lead"])
def test_bad_lab_names_are_refused(name):
    with pytest.raises(LocalLabError, match="lab name"):
        labfile.check_name(name)


def test_a_lab_behind_the_proxy_names_it_instead_of_the_package_cache(tmp_path, artifacts):
    content = labfile.render("molecule", ADDRESSES, "172.24.7.1", artifacts, proxy_port=3128)
    assert content["sources"]["proxy"] == "http://172.24.7.1:3128"
    assert "package_proxy" not in content["sources"]
    (tmp_path / "id_ed25519").write_text("key\n")
    lab = load_lab(labfile.write(tmp_path / "lab.yml", content))
    assert lab.sources.proxy == "http://172.24.7.1:3128"
