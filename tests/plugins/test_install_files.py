"""labtool.lab.install_files (action plugin): run by ansible-playbook on this machine
(connection local), the way kube_packages runs it on a node."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import ansible_module  # noqa: F401 - puts collections/ on sys.path

from ansible_collections.labtool.lab.plugins.action.install_files import (  # noqa: E402
    failed_sources, install_script, staged_name)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs files owned by root")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_task(tmp_path: Path, files: list[dict], *, check: bool = False) -> tuple[int, dict]:
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "name": "install", "hosts": "node", "gather_facts": False,
        "tasks": [{"name": "Install", "labtool.lab.install_files": {"files": files}, "register": "out"}]}]))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"node": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
           "ANSIBLE_REMOTE_TMP": str(tmp_path / "remote-tmp"),
           "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(play),
                           *(["--check"] if check else [])],
                          capture_output=True, text=True, env={**os.environ, **env}, cwd=tmp_path)
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["node"]
    assert not list((tmp_path / "remote-tmp").glob("*")), "the node's temporary directory was left"
    return done.returncode, result


@pytest.fixture
def artifacts(tmp_path):
    src = tmp_path / "artifacts"
    (src / "bin").mkdir(parents=True)
    (src / "systemd").mkdir()
    (src / "bin" / "kubelet").write_bytes(b"\x7fELF kubelet " * 1000)
    (src / "systemd" / "kubelet.service").write_text("[Service]\nExecStart=/usr/bin/kubelet\n")
    return src


def item(src: Path, dest: Path, mode: str, digest: str | None = None) -> dict:
    return {"src": str(src), "dest": str(dest), "mode": mode, "sha256": digest or sha256(src.read_bytes())}


def test_each_file_lands_at_its_place_with_its_mode_and_owner_and_parents_are_made(tmp_path, artifacts):
    root = tmp_path / "node"
    files = [item(artifacts / "bin/kubelet", root / "usr/bin/kubelet", "0755"),
             item(artifacts / "systemd/kubelet.service", root / "etc/systemd/system/kubelet.service", "0644")]
    rc, result = run_task(tmp_path, files)
    assert rc == 0, result
    assert result["changed"] is True
    assert result["installed"] == [f["dest"] for f in files]
    for f in files:
        dest = Path(f["dest"])
        assert dest.read_bytes() == Path(f["src"]).read_bytes()
        assert oct(dest.stat().st_mode & 0o7777) == oct(int(f["mode"], 8))
        assert (dest.stat().st_uid, dest.stat().st_gid) == (0, 0)


def test_a_copy_that_differs_from_its_sha256_fails_naming_it_and_nothing_is_installed(tmp_path, artifacts):
    root = tmp_path / "node"
    files = [item(artifacts / "systemd/kubelet.service", root / "kubelet.service", "0644"),
             item(artifacts / "bin/kubelet", root / "kubelet", "0755", digest=sha256(b"another build"))]
    rc, result = run_task(tmp_path, files)
    assert rc == 2
    assert result["failed"] is True
    assert str(artifacts / "bin/kubelet") in result["msg"]
    assert "differs from the sha256" in result["msg"]
    assert str(artifacts / "systemd/kubelet.service") not in result["msg"]
    assert not root.exists()


def test_check_mode_installs_nothing_and_says_what_it_would(tmp_path, artifacts):
    dest = tmp_path / "node" / "kubelet"
    rc, result = run_task(tmp_path, [item(artifacts / "bin/kubelet", dest, "0755")], check=True)
    assert rc == 0, result
    assert result["changed"] is True and result["installed"] == [str(dest)]
    assert not dest.exists()


def test_no_files_change_nothing(tmp_path):
    rc, result = run_task(tmp_path, [])
    assert rc == 0, result
    assert result["changed"] is False


def test_a_source_missing_on_the_controller_fails_before_any_transfer(tmp_path, artifacts):
    missing = artifacts / "bin" / "kubeadm"
    rc, result = run_task(tmp_path, [item(artifacts / "bin/kubelet", tmp_path / "node/kubelet", "0755"),
                                     {"src": str(missing), "dest": str(tmp_path / "node/kubeadm"),
                                      "mode": "0755", "sha256": "0" * 64}])
    assert rc == 2
    assert f"not on the controller: {missing}" == result["msg"]
    assert not (tmp_path / "node").exists()


def test_staged_names_are_unique_and_safe_for_the_shell():
    names = [staged_name(0, "/a/b/10-kubeadm.conf"), staged_name(1, "/x/we ird$(name)"),
             staged_name(2, "/a/b/10-kubeadm.conf")]
    assert len(set(names)) == 3
    assert names[1] == "001-we_ird__name_"


def test_only_the_files_sha256sum_reported_failed_are_named():
    files = [{"src": "/a/kubelet", "dest": "/usr/bin/kubelet", "mode": "0755", "sha256": "1" * 64},
             {"src": "/a/kubeadm", "dest": "/usr/bin/kubeadm", "mode": "0755", "sha256": "2" * 64}]
    staged = [staged_name(i, f["src"]) for i, f in enumerate(files)]
    assert failed_sources("001-kubeadm: FAILED\n", files, staged) == ["/a/kubeadm"]
    script = install_script(files, staged)
    assert script.index("sha256sum") < script.index("install -D")
