"""An air-gapped lab (sources.air_gapped): the lab file's rules, the local lab that makes one,
its fence, and the artifacts' OS packages (tools/artifacts/debs.py)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest
import yaml

from labtool import local
from labtool.labfile import LabFileError, load_lab
from labtool.local import labfile, network
from labtool.local._run import LocalLabError

ADDRESSES = {"cp": "172.24.7.10", "w1": "172.24.7.11", "w2": "172.24.7.12"}
DEBS = {"bookworm": {"release": "debian-12", "packages": ["containerd", "iptables"]}}
TOOL = Path(__file__).resolve().parents[2] / "tools" / "artifacts" / "debs.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("debs_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    d = tmp_path / "artifacts"
    d.mkdir()
    (d / "artifacts.yml").write_text(yaml.safe_dump({"kubernetes_version": "v1.20.2", "debs": DEBS}))
    return d


def lab_file(tmp_path: Path, artifacts: Path, **sources) -> Path:
    content = labfile.render("molecule", ADDRESSES, "172.24.7.1", artifacts, kubernetes_version="1.20.2",
                             air_gapped=True)
    content["sources"].update(sources)
    (tmp_path / "id_ed25519").write_text("key\n")
    return labfile.write(tmp_path / "lab.yml", content)


def problems(path: Path) -> dict[str, str]:
    with pytest.raises(LabFileError) as exc:
        load_lab(path)
    return {p.key: str(p) for p in exc.value.problems}


def test_the_local_lab_file_of_an_air_gapped_lab_names_no_proxy_and_no_registry(tmp_path, artifacts):
    lab = load_lab(lab_file(tmp_path, artifacts))
    assert lab.sources.air_gapped is True
    assert lab.sources.package_proxy == "" and lab.sources.registry_mirrors == {}
    assert lab.sources.local_images == "import"


def test_air_gapped_refuses_what_would_fetch_over_the_network(tmp_path, artifacts):
    found = problems(lab_file(tmp_path, artifacts, package_proxy="http://172.24.7.1:3142",
                              registry_mirrors={"registry.k8s.io": ["http://172.24.7.1:5000"]},
                              local_images="mirror"))
    assert set(found) == {"sources.package_proxy", "sources.registry_mirrors", "sources.local_images"}
    assert "fetches nothing over the network" in found["sources.package_proxy"]


def test_air_gapped_needs_mode_local(tmp_path, artifacts):
    found = problems(lab_file(tmp_path, artifacts, mode="online"))
    assert "true needs mode local" in found["sources.air_gapped"]


def test_air_gapped_refuses_artifacts_without_os_packages_naming_the_command(tmp_path, artifacts):
    (artifacts / "artifacts.yml").write_text("kubernetes_version: v1.20.2\n")
    found = problems(lab_file(tmp_path, artifacts))
    assert f"debs.py add --release debian-12 --artifacts {artifacts}" in found["sources.air_gapped"]


def test_local_create_refuses_a_node_release_the_artifacts_lack_before_anything_is_made(artifacts):
    local._check_air_gap({"cp": "debian-12", "w1": "debian-12", "w2": "debian-12"}, artifacts)
    with pytest.raises(LocalLabError) as exc:
        local._check_air_gap({"cp": "debian-12", "w1": "debian-11", "w2": "debian-13"}, artifacts)
    assert "add --release debian-11" in str(exc.value) and "add --release debian-13" in str(exc.value)
    assert "debian-12" not in str(exc.value)


def test_the_air_gap_fence_accepts_only_replies_then_drops_all_from_the_bridge():
    accept, drop = network.air_gap_rules("h21a", "lt-0123456789")
    assert " ".join(accept).startswith("-i lt-0123456789 -m conntrack --ctstate ESTABLISHED ")
    assert accept[-1] == "ACCEPT" and drop[-2:] == ["-j", "DROP"] and drop[:2] == ["-i", "lt-0123456789"]
    assert all("labtool fence h21a" in rule for rule in (accept, drop))  # removed with the lab's other rules


def test_the_tool_adds_what_the_roles_install_and_a_release_its_own():
    tool = load_tool()
    bookworm = tool.role_packages("debian-12")
    assert {"containerd", "iptables", "iptables-persistent", "conntrack", "socat"} <= set(bookworm)
    assert tool.role_packages("debian-11") == sorted([*bookworm, "containernetworking-plugins"])


def make_deb(where: Path, name: str, version: str) -> Path:
    root = where.parent / f"{name}-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        f"Description: test\n")
    deb = where / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True,
                   capture_output=True)
    return deb


def test_the_index_names_each_deb_with_its_size_and_sha256_and_the_manifest_lists_every_file(tmp_path):
    tool = load_tool()
    repo = tmp_path / "repo"
    repo.mkdir()
    deb = make_deb(repo, "socat", "1.7.4.4-2")
    (repo / "Packages").write_text(tool.packages_index(repo))
    index = (repo / "Packages").read_text()
    assert "Package: socat\n" in index and "Filename: ./socat_1.7.4.4-2_all.deb\n" in index
    assert f"SHA256: {tool.sha256(deb)}\n" in index and f"Size: {deb.stat().st_size}\n" in index
    old = {"kubernetes_version": "v1.20.2", "debs": {"trixie": {"release": "debian-13"}},
           "files": {"bin/kubeadm": "aa", "debs/bookworm/gone.deb": "bb", "debs/trixie/x.deb": "cc"}}
    new = tool.with_suite(old, "bookworm", "debian-12", ["socat"], repo)
    assert set(new["debs"]) == {"trixie", "bookworm"}
    assert set(new["files"]) == {"bin/kubeadm", "debs/trixie/x.deb", "debs/bookworm/Packages",
                                 "debs/bookworm/socat_1.7.4.4-2_all.deb"}


def test_check_refuses_a_node_whose_release_the_artifacts_lack_naming_the_command(tmp_path, artifacts):
    from labtool.preflight import NodeFacts, judge

    releases = {"cp": ("12", "bookworm"), "w1": ("11", "bullseye"), "w2": ("12", "bookworm")}
    facts = {node: NodeFacts(python="3.11.2", setup={"distribution": "Debian", "distribution_version": major,
                                                     "distribution_major_version": major,
                                                     "distribution_release": suite})
             for node, (major, suite) in releases.items()}
    found = {f.node: f for f in judge(load_lab(lab_file(tmp_path, artifacts)), facts).findings
             if f.check == "os-packages"}
    assert found["cp"].ok and found["w2"].ok and not found["w1"].ok
    assert found["w1"].result == "debian-11 (bullseye): not in the artifacts"
    assert f"debs.py add --release debian-11 --artifacts {artifacts}" in found["w1"].fix
