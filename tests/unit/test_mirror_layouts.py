"""Issue 21, part 1: a Kubernetes package mirror in any layout, the versions each layout serves,
and the sources settings that one mode alone reads, refused in the others with the reason."""

from __future__ import annotations

import pytest

from labtool.checks import sources_needed
from labtool.inventory import build_inventory
from labtool.labfile import LabFileError, load_lab

NODES = ("nodes:\n  - {name: cp, address: 192.168.56.10, role: control-plane}\n"
         "  - {name: w1, address: 192.168.56.11, role: worker}\n")
MIRROR = "http://10.0.0.1:8088"


def _lab(version: str | None, sources: str, kubernetes: str = "") -> str:
    k8s = ([f"version: '{version}'"] if version else []) + ([kubernetes] if kubernetes else [])
    return (f"kubernetes: {{{', '.join(k8s)}}}\n" if k8s else "") + f"sources: {{{sources}}}\n" + NODES


def _problems(write_lab, text: str) -> dict[str, str]:
    with pytest.raises(LabFileError) as exc:
        load_lab(write_lab(text))
    return {p.key: p.message for p in exc.value.problems}


@pytest.mark.parametrize("version, layout", [
    ("1.20.2", "legacy"), ("1.28.2", "legacy"), ("1.24.17", "legacy"),
    ("1.24.0", "pkgs"), ("1.34.1", "pkgs"), ("1.30.4", "pkgs-no-colons"),
])
def test_a_layout_serves_its_versions(write_lab, version, layout):
    lab = load_lab(write_lab(_lab(version, f"mode: mirror, kube_packages_url: '{MIRROR}', "
                                           f"kube_packages_layout: {layout}")))
    inventory = build_inventory(lab)["all"]["vars"]
    assert (inventory["lab_kube_packages_layout"], inventory["lab_kubernetes_version"]) == (layout, version)


def test_the_layout_defaults_to_pkgs_k8s_io(write_lab):
    lab = load_lab(write_lab(_lab("1.30.4", f"mode: mirror, kube_packages_url: '{MIRROR}'")))
    assert lab.sources.kube_packages_layout == "pkgs"


@pytest.mark.parametrize("layout", ["pkgs", "pkgs-no-colons"])
def test_the_walkthrough_version_on_a_pkgs_layout_is_refused(write_lab, layout):
    found = _problems(write_lab, _lab("1.20.2", f"mode: mirror, kube_packages_url: '{MIRROR}', "
                                                f"kube_packages_layout: {layout}"))
    assert list(found) == ["sources.kube_packages_layout"]
    assert "starts at 1.24" in found["sources.kube_packages_layout"]
    assert "kube_packages_layout: legacy" in found["sources.kube_packages_layout"]


def test_the_default_layout_names_the_version_it_cannot_serve(write_lab):
    found = _problems(write_lab, _lab("1.23.17", f"mode: mirror, kube_packages_url: '{MIRROR}'"))
    assert "1.23.17" in found["kubernetes.version"] and "starts at 1.24" in found["kubernetes.version"]


@pytest.mark.parametrize("version, words", [
    ("1.29.0", "never had Kubernetes 1.29"),
    ("1.34.1", "never had Kubernetes 1.34"),
    ("1.28.3", "last 1.28 is 1.28.2"),
    ("1.27.7", "last 1.27 is 1.27.6"),
])
def test_a_legacy_layout_for_a_version_it_never_had_is_refused(write_lab, version, words):
    found = _problems(write_lab, _lab(version, f"mode: mirror, kube_packages_url: '{MIRROR}', "
                                               "kube_packages_layout: legacy"))
    assert words in found["sources.kube_packages_layout"]
    assert "13 September 2023" in found["sources.kube_packages_layout"]


def test_an_unknown_layout_names_the_known_ones(write_lab):
    found = _problems(write_lab, _lab("1.30.4", f"mode: mirror, kube_packages_url: '{MIRROR}', "
                                                "kube_packages_layout: aliyun"))
    assert "'pkgs', 'pkgs-no-colons' or 'legacy'" in found["sources.kube_packages_layout"]


@pytest.mark.parametrize("mode, key, value, owner", [
    ("online", "kube_packages_url", f"'{MIRROR}'", "mirror"),
    ("online", "kube_packages_layout", "legacy", "mirror"),
    ("online", "docker_repo_url", "'https://mirrors.aliyun.com/docker-ce/linux/centos'", "mirror"),
    ("online", "pause_image", "registry.aliyuncs.com/google_containers/pause:3.9", "mirror"),
    ("online", "coredns_image_repository", "registry.aliyuncs.com/google_containers", "mirror"),
    ("online", "coredns_image_tag", "v1.11.1", "mirror"),
    ("online", "artifacts", "./artifacts", "local"),
    ("online", "local_images", "mirror", "local"),
    ("mirror", "artifacts", "./artifacts", "local"),
])
def test_a_setting_of_another_mode_is_refused_naming_its_mode(write_lab, mode, key, value, owner):
    mirror = f", kube_packages_url: '{MIRROR}'" if mode == "mirror" and key != "kube_packages_url" else ""
    found = _problems(write_lab, _lab("1.30.4", f"mode: {mode}, {key}: {value}{mirror}"))
    assert found == {f"sources.{key}": f"belongs to sources.mode {owner}; this lab's mode is {mode}, "
                                       f"which never reads it (remove it, or set sources.mode: {owner})"}


def test_mirror_settings_in_mode_local_are_refused(write_lab):
    found = _problems(write_lab, _lab(None, f"mode: local, kube_packages_url: '{MIRROR}', "
                                            "pause_image: 10.0.0.1:5000/pause:3.2"))
    assert set(found) == {"sources.kube_packages_url", "sources.pause_image"}
    assert all("belongs to sources.mode mirror" in message for message in found.values())


def test_a_flannel_manifest_without_flannel_is_refused(write_lab):
    found = _problems(write_lab, _lab("1.30.4", f"mode: mirror, kube_packages_url: '{MIRROR}', "
                                                f"flannel_manifest_url: '{MIRROR}/kube-flannel.yml'"))
    assert found == {"sources.flannel_manifest_url": "only read with kubernetes.pod_network: flannel; "
                                                     "this lab's pod network is host-gw"}


def test_coredns_images_without_coredns_are_refused(write_lab):
    found = _problems(write_lab, _lab("1.30.4", f"mode: mirror, kube_packages_url: '{MIRROR}', "
                                                "coredns_image_tag: v1.11.1", kubernetes="coredns: false"))
    assert "this lab installs no CoreDNS" in found["sources.coredns_image_tag"]


def test_every_mirror_setting_reaches_the_inventory(write_lab):
    lab = load_lab(write_lab(_lab("1.30.4", (
        f"mode: mirror, kube_packages_url: '{MIRROR}', kube_packages_layout: pkgs-no-colons, "
        "docker_repo_url: 'https://mirrors.aliyun.com/docker-ce/linux/centos', "
        f"flannel_manifest_url: '{MIRROR}/kube-flannel.yml', "
        "coredns_image_repository: registry.aliyuncs.com/google_containers, coredns_image_tag: v1.11.1, "
        "pause_image: 'registry.aliyuncs.com/google_containers/pause:3.9'"), kubernetes="pod_network: flannel")))
    inventory = build_inventory(lab)["all"]["vars"]
    assert {key: inventory[key] for key in (
        "lab_kube_packages_layout", "lab_docker_repo_url", "lab_flannel_manifest_url",
        "lab_coredns_image_repository", "lab_coredns_image_tag", "lab_pause_image")} == {
        "lab_kube_packages_layout": "pkgs-no-colons",
        "lab_docker_repo_url": "https://mirrors.aliyun.com/docker-ce/linux/centos",
        "lab_flannel_manifest_url": f"{MIRROR}/kube-flannel.yml",
        "lab_coredns_image_repository": "registry.aliyuncs.com/google_containers",
        "lab_coredns_image_tag": "v1.11.1",
        "lab_pause_image": "registry.aliyuncs.com/google_containers/pause:3.9"}


def test_an_image_setting_with_a_scheme_is_refused(write_lab):
    found = _problems(write_lab, _lab("1.30.4", f"mode: mirror, kube_packages_url: '{MIRROR}', "
                                                "pause_image: 'http://10.0.0.1:5000/pause:3.9'"))
    assert "is not an image name" in found["sources.pause_image"]


def test_a_mirror_lab_with_flannel_but_no_manifest_mirror_must_reach_github(write_lab):
    """labtool check probes what the nodes will fetch: flannel's manifest from GitHub, unless the
    mirror lab names its own copy."""
    mirror = f"mode: mirror, kube_packages_url: '{MIRROR}'"
    from_github = load_lab(write_lab(_lab("1.30.4", mirror, kubernetes="pod_network: flannel")))
    own_copy = load_lab(write_lab(_lab("1.30.4", mirror + f", flannel_manifest_url: '{MIRROR}/kube-flannel.yml'",
                                       kubernetes="pod_network: flannel")))
    assert sources_needed(from_github) == [MIRROR, "https://github.com/"]
    assert sources_needed(own_copy) == [MIRROR, f"{MIRROR}/kube-flannel.yml"]
