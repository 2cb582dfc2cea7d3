"""Two artifacts directories (two Kubernetes builds) never share a tag in the host registry:
each gets a registry of its own (port and storage), so a lab made from one keeps pulling its
own images after a lab from the other pushed (issue 19, case 4). Runs two real registries
(docker-registry, on test ports) and pushes with tools/artifacts/registry.sh (skopeo)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest

from labtool.local import host, labfile

ARTIFACTS = Path("/var/cache/labtool/artifacts/v1.20.2")
NGINX = "daocloud.io/library/nginx:latest"
PUSH_SCRIPT = Path(__file__).resolve().parents[2] / "tools/artifacts/registry.sh"
PORTS = (5091, 5092)

pytestmark = pytest.mark.skipif(
    not (ARTIFACTS / "images/nginx.tar").is_file() or not shutil.which("skopeo")
    or not Path("/usr/bin/docker-registry").exists(),
    reason="needs the built artifacts, skopeo and docker-registry")


def _relabelled(source: Path, dest: Path, label: str) -> None:
    """``source`` (a docker save archive of one image) with a label added to its config: the
    same tag, another image (another config digest), as another build would make."""
    with tarfile.open(source) as src, tarfile.open(dest, "w") as out:
        manifest = json.load(src.extractfile("manifest.json"))
        config_name = manifest[0]["Config"]
        config = json.load(src.extractfile(config_name))
        image_config = config.setdefault("config", {})
        image_config["Labels"] = {**(image_config.get("Labels") or {}), "labtool.build": label}
        data = json.dumps(config).encode()
        new_name = hashlib.sha256(data).hexdigest() + ".json"
        manifest[0]["Config"] = new_name
        for member in src.getmembers():
            if member.name in ("manifest.json", config_name):
                continue
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        for name, content in ((new_name, data), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            out.addfile(info, io.BytesIO(content))


def _artifacts(root: Path, label: str | None) -> Path:
    (root / "images").mkdir(parents=True)
    tar = root / "images/nginx.tar"
    if label is None:
        tar.symlink_to(ARTIFACTS / "images/nginx.tar")
    else:
        _relabelled(ARTIFACTS / "images/nginx.tar", tar, label)
    digest = hashlib.sha256(tar.read_bytes()).hexdigest()
    (root / "artifacts.yml").write_text(f"images:\n  nginx: {NGINX}\nfiles:\n  images/nginx.tar: {digest}\n")
    return root


def _config_digest(port: int) -> str:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/library/nginx/manifests/latest", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["config"]["digest"]


@pytest.fixture
def registries(tmp_path, monkeypatch):
    """host's registry bookkeeping in tmp_path, the two test ports taken in that order, and
    the registries it starts stopped afterwards (by their pids)."""
    monkeypatch.setattr(host, "REGISTRIES", tmp_path / "registries.json")
    monkeypatch.setattr(host, "REGISTRY_STORAGE", tmp_path / "storage")
    monkeypatch.setattr(host, "PUSHED_STAMP", tmp_path / "registry-pushed")
    monkeypatch.setattr(host, "REGISTRY_PORT", PORTS[0] - 1)  # taken below: never started here
    (tmp_path / "registries.json").write_text(json.dumps({"someone-else": PORTS[0] - 1}))
    yield tmp_path
    pids = subprocess.run(["pgrep", "-f", f"docker-registry serve {tmp_path}/"], capture_output=True,
                          text=True, check=False).stdout.split()
    for pid in pids:
        subprocess.run(["kill", pid], check=False)


def test_two_artifacts_keep_their_own_images(registries, tmp_path):
    first = _artifacts(tmp_path / "first", None)
    second = _artifacts(tmp_path / "second", "second-build")
    ports = [host.registry_port(first), host.registry_port(second)]
    assert ports == list(PORTS)
    assert host.registry_port(first) == PORTS[0]  # kept
    for artifacts, port in zip((first, second), ports):
        host.ensure_registry(lambda _m: None, port)
        host.ensure_images_pushed(artifacts, PUSH_SCRIPT, lambda _m: None, port)
    one, two = (_config_digest(port) for port in ports)
    assert one != two  # the same tag, each registry its own build's image
    host.ensure_images_pushed(first, PUSH_SCRIPT, lambda _m: None, ports[0])  # pushed before: kept
    assert _config_digest(ports[0]) == one and _config_digest(ports[1]) == two
    # each lab's nodes pull through their artifacts' registry
    content = labfile.render("two", {"cp": "10.0.0.2", "w1": "10.0.0.3", "w2": "10.0.0.4"}, "10.0.0.1",
                             second, registry_port=host.registry_port(second))
    assert content["sources"]["registry_mirrors"]["daocloud.io"] == [f"http://10.0.0.1:{PORTS[1]}"]
