"""An artifacts directory built by tools/artifacts/build.sh keeps the contract of
docs/INTERFACES.md §3. Runs against $LABTOOL_ARTIFACTS (default the build's output);
skipped when no such directory has been built on this machine."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

ARTIFACTS = Path(os.environ.get("LABTOOL_ARTIFACTS", "/var/cache/labtool/artifacts/v1.20.2"))
IMAGE_NAMES = {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
               "etcd", "pause", "coredns", "nginx"}

pytestmark = pytest.mark.skipif(not (ARTIFACTS / "artifacts.yml").is_file(),
                                reason=f"no artifacts directory at {ARTIFACTS}")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ARTIFACTS / "artifacts.yml").read_text())


def test_manifest_names_version_and_every_image(manifest):
    assert manifest["kubernetes_version"] == "v1.20.2"
    assert set(manifest["images"]) == IMAGE_NAMES
    assert manifest["images"]["coredns"] == ""
    assert manifest["images"]["pause"] == "registry.k8s.io/pause:3.2"
    assert manifest["images"]["nginx"] == "daocloud.io/library/nginx:latest"


def test_every_file_is_listed_with_its_sha256(manifest):
    on_disk = {p.relative_to(ARTIFACTS).as_posix() for p in ARTIFACTS.rglob("*")
               if p.is_file() and p.name not in ("artifacts.yml", ".labtool-build-stamp")}
    assert set(manifest["files"]) == on_disk
    for rel, digest in manifest["files"].items():
        h = hashlib.sha256()
        with open(ARTIFACTS / rel, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        assert h.hexdigest() == digest, rel


def test_layout_has_node_binaries_units_and_cni(manifest):
    for rel in ("bin/kubeadm", "bin/kubelet", "bin/kubectl", "systemd/kubelet.service",
                "systemd/10-kubeadm.conf", "cni/bin/bridge", "cni/bin/host-local",
                "cni/bin/loopback", "cni/bin/portmap"):
        assert rel in manifest["files"], rel
    for rel in ("bin/kubeadm", "bin/kubelet", "bin/kubectl", "cni/bin/bridge"):
        assert os.access(ARTIFACTS / rel, os.X_OK), rel
    assert "ExecStart=/usr/bin/kubelet\n" in (ARTIFACTS / "systemd/kubelet.service").read_text()
    assert "\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS" in \
        (ARTIFACTS / "systemd/10-kubeadm.conf").read_text()


def test_binaries_report_the_version(manifest):
    out = subprocess.run([ARTIFACTS / "bin/kubeadm", "version", "-o", "short"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == manifest["kubernetes_version"]
    out = subprocess.run([ARTIFACTS / "bin/kubelet", "--version"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == f"Kubernetes {manifest['kubernetes_version']}"


def test_each_image_archive_carries_its_reference(manifest):
    for name, ref in manifest["images"].items():
        archive = ARTIFACTS / "images" / f"{name}.tar"
        if not ref:
            assert not archive.exists(), name
            continue
        with tarfile.open(archive) as tar:
            saved = json.load(tar.extractfile("manifest.json"))
        assert [image["RepoTags"] for image in saved] == [[ref]], name
