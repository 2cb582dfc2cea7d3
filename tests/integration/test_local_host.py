"""Host-side pieces of the local lab that need neither docker nor root."""

from __future__ import annotations

import subprocess

import pytest

from labtool import local
from labtool.local import host, image, nodes


DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_from_deb822_sources():
    assert image.debian_mirror(DEB822) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources():
    text = "# comment\ndeb-src http://x/debian bookworm main\ndeb [arch=amd64] http://y/debian bookworm main\n"
    assert image.debian_mirror(text) == "http://y/debian"


def test_mirror_absent():
    assert image.debian_mirror("deb http://x/ubuntu jammy main\n") is None


def test_image_tag_follows_the_recipe(monkeypatch):
    tag = image.image_tag()
    assert tag.startswith("labtool-node:") and tag == image.image_tag()
    monkeypatch.setattr(image, "PACKAGES", (*image.PACKAGES, "vim"))
    assert image.image_tag() != tag


def test_image_has_what_the_roles_need():
    for package in ("systemd", "python3", "openssh-server", "iproute2", "ca-certificates", "gnupg", "kmod"):
        assert package in image.PACKAGES
    assert "root/.ssh/authorized_keys" in image.FILES
    assert 'CMD ["/sbin/init"]' in image.CHANGES


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("registry.k8s.io/kube-apiserver:v1.20.2", ("kube-apiserver", "v1.20.2")),
        ("registry.k8s.io/pause:3.2", ("pause", "3.2")),
        ("daocloud.io/library/nginx:latest", ("library/nginx", "latest")),
        ("daocloud.io/library/nginx", ("library/nginx", "latest")),
        ("nginx", ("library/nginx", "latest")),
        ("docker.io/nginx:1.25", ("library/nginx", "1.25")),
        ("localhost:5000/foo/bar:1", ("foo/bar", "1")),
    ],
)
def test_image_path_is_what_a_mirror_is_asked_for(reference, expected):
    assert host.image_path(reference) == expected


def test_node_container_has_the_measured_flags_a_var_volume_and_a_fixed_address():
    args = nodes.run_args("lab", "w1", "labtool-node:abc", "lab-nodes", "172.24.0.11")
    text = " ".join(args)
    for flag in (
        "--cap-add ALL --cap-drop SYS_RESOURCE",
        "--security-opt seccomp=unconfined",
        "--cgroupns=host",
        "-v /sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--tmpfs /run --tmpfs /run/lock",
        "--device /dev/kmsg",
        "--sysctl net.ipv4.ip_forward=1",
        "-v lab-w1-var:/var",
        "--hostname w1",
        "--name lab-w1",
        "--ip 172.24.0.11",
    ):
        assert flag in text
    assert "a *:* rwm" in args
    assert "--privileged" not in args
    assert args[-1] == "labtool-node:abc"


def test_create_refuses_without_root(monkeypatch):
    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    with pytest.raises(local.LocalLabError, match="run it as root"):
        local.create("lab", echo=lambda _: None)
    with pytest.raises(local.LocalLabError, match="run it as root"):
        local.destroy("lab", echo=lambda _: None)


def test_create_without_artifacts_says_how_to_build_them(monkeypatch, tmp_path):
    monkeypatch.setattr(host.os, "geteuid", lambda: 0)
    with pytest.raises(local.LocalLabError, match="tools/artifacts/build.sh"):
        local.create("lab", artifacts=tmp_path / "none", echo=lambda _: None)


@pytest.fixture
def pushed_artifacts(tmp_path, monkeypatch):
    """Artifacts with one image, a registry that serves what was pushed, and a push counter."""
    artifacts = tmp_path / "artifacts"
    (artifacts / "images").mkdir(parents=True)
    (artifacts / "artifacts.yml").write_text("images: {pause: registry.k8s.io/pause:3.2}\n")
    (artifacts / "images" / "pause.tar").write_bytes(b"tar")
    served: set[str] = set()
    pushes: list[str] = []

    def fake_run(argv, **_kwargs):
        pushes.append(argv[2])
        served.add("registry.k8s.io/pause:3.2")
        return subprocess.CompletedProcess(argv, 0, stdout="1 pushed\n", stderr="")

    monkeypatch.setattr(host, "PUSHED_STAMP", tmp_path / "registry-pushed")
    monkeypatch.setattr(host, "run", fake_run)
    monkeypatch.setattr(host, "registry_has", lambda ref, port=host.REGISTRY_PORT: ref in served)
    script = tmp_path / "registry.sh"
    script.write_text("")
    return artifacts, script, served, pushes


def test_images_are_pushed_again_only_when_the_artifacts_or_the_registry_changed(pushed_artifacts):
    artifacts, script, served, pushes = pushed_artifacts
    host.ensure_images_pushed(artifacts, script, echo=lambda _m: None)
    host.ensure_images_pushed(artifacts, script, echo=lambda _m: None)
    assert len(pushes) == 1
    served.clear()  # the registry lost its storage
    host.ensure_images_pushed(artifacts, script, echo=lambda _m: None)
    assert len(pushes) == 2
    (artifacts / "images" / "pause.tar").write_bytes(b"rebuilt tar")
    host.ensure_images_pushed(artifacts, script, echo=lambda _m: None)
    assert len(pushes) == 3
