"""The test mirror (tools/mirror/pkgrepo.py) as apt sees it, and item 3 of issue 9: a package
mirror behind the package proxy. Built from a small fake artifacts directory, so it runs
anywhere in seconds; the molecule scenario `mirror` does the same with the real artifacts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PKGREPO = ROOT / "tools" / "mirror" / "pkgrepo.py"
BIN = Path(sys.executable).parent
PACKAGES = ("cri-tools", "kubeadm", "kubectl", "kubelet", "kubernetes-cni")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("apt-ftparchive", "gpg", "dpkg-deb", "apt-get")),
    reason="needs root, apt-utils, gnupg and dpkg-deb (bootstrap.sh installs them)")


def fake_artifacts(path: Path) -> Path:
    files = {
        "bin/kubeadm": "#!/bin/sh\necho v1.20.2\n", "bin/kubelet": "#!/bin/sh\necho v1.20.2\n",
        "bin/kubectl": "#!/bin/sh\necho v1.20.2\n",
        "systemd/kubelet.service": "[Service]\nExecStart=/usr/bin/kubelet\n",
        "systemd/10-kubeadm.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBEADM_ARGS\n",
        "cni/bin/bridge": "#!/bin/sh\n", "cni/bin/host-local": "#!/bin/sh\n",
    }
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    (path / "artifacts.yml").write_text(yaml.safe_dump({
        "kubernetes_version": "v1.20.2", "images": {}, "files": {rel: "0" * 64 for rel in files}}))
    return path


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("mirror")
    artifacts = fake_artifacts(tmp / "artifacts")
    env = {**os.environ, "LABTOOL_MIRROR_CACHE": str(tmp / "cache")}
    done = subprocess.run([sys.executable, str(PKGREPO), "build", "--artifacts", str(artifacts),
                           "--out", str(tmp / "root"), "--cni-version", "1.1.1"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "root"


class _Server:
    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _AptCacherNgOnAnOddPort(BaseHTTPRequestHandler):
    """What apt-cacher-ng answers when asked, as a proxy, for a URL on a port other than 80."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(403, "Configuration error (confusing proxy mode) or prohibited port (see AllowUserPorts)")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(repo):
    server = _Server(partial(_Quiet, directory=str(repo)))
    yield f"http://127.0.0.1:{server.port}"
    server.close()


@pytest.fixture
def proxy():
    server = _Server(_AptCacherNgOnAnOddPort)
    yield f"http://127.0.0.1:{server.port}"
    server.close()


def apt(tmp: Path, url: str, *args: str, conf: str = "", source: str = "", key: str = "kubernetes.asc"
        ) -> subprocess.CompletedProcess:
    """apt-get/apt-cache with a sources list of our own and the repository's key, as
    kube_packages configures a node (by default deb [signed-by=...] <url>/core:/stable:/v1.20/deb/ /)."""
    source = source or f"{url}/core:/stable:/v1.20/deb/ /"
    (tmp / "lists/partial").mkdir(parents=True, exist_ok=True)
    (tmp / "cache/archives/partial").mkdir(parents=True, exist_ok=True)
    (tmp / "kubernetes.list").write_text(f"deb [signed-by={tmp / key}] {source}\n")
    (tmp / "apt.conf").write_text(conf + "\n".join([
        f'Dir::Etc::SourceList "{tmp / "kubernetes.list"}";', 'Dir::Etc::SourceParts "/nonexistent";',
        f'Dir::State::Lists "{tmp / "lists"}";', f'Dir::Cache "{tmp / "cache"}";',
        'Dir::State::status "/var/lib/dpkg/status";', 'Debug::NoLocking "true";',
        'APT::Sandbox::User "root";', 'Acquire::Retries "0";', ""]))
    return subprocess.run(list(args), capture_output=True, text=True,
                          env={**os.environ, "APT_CONFIG": str(tmp / "apt.conf")})


def fetch_key(repo: Path, tmp: Path) -> None:
    shutil.copyfile(repo / "core:/stable:/v1.20/deb/Release.key", tmp / "kubernetes.asc")


def test_the_repository_is_laid_out_like_pkgs_k8s_io_and_signed(repo, mirror, tmp_path):
    deb_dir = repo / "core:" / "stable:" / "v1.20" / "deb"
    for name in ("Packages", "Packages.gz", "Release", "InRelease", "Release.gpg", "Release.key"):
        assert (deb_dir / name).is_file(), name
    fetch_key(repo, tmp_path)
    update = apt(tmp_path, mirror, "apt-get", "update")
    assert update.returncode == 0 and "W:" not in update.stdout + update.stderr, update.stdout + update.stderr
    policy = apt(tmp_path, mirror, "apt-cache", "madison", *PACKAGES)
    offered = {line.split("|")[0].strip(): line.split("|")[1].strip() for line in policy.stdout.splitlines()}
    assert offered == {"cri-tools": "1.20.0-1.1", "kubeadm": "1.20.2-1.1", "kubectl": "1.20.2-1.1",
                       "kubelet": "1.20.2-1.1", "kubernetes-cni": "1.1.1-1.1"}


def test_a_repository_signed_by_another_key_is_refused(repo, mirror, tmp_path):
    other = tmp_path / "gnupg"
    other.mkdir(mode=0o700)
    subprocess.run(["gpg", "--homedir", str(other), "--batch", "--passphrase", "", "--quick-generate-key",
                    "someone else <x@example.invalid>", "ed25519", "sign", "never"], check=True, capture_output=True)
    (tmp_path / "kubernetes.asc").write_text(subprocess.run(
        ["gpg", "--homedir", str(other), "--armor", "--export"], check=True, capture_output=True, text=True).stdout)
    subprocess.run(["gpgconf", "--homedir", str(other), "--kill", "gpg-agent"], capture_output=True)
    update = apt(tmp_path, mirror, "apt-get", "update")
    assert "NO_PUBKEY" in update.stdout + update.stderr or "not signed" in update.stdout + update.stderr


def control(deb: Path) -> dict[str, str]:
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line and not line.startswith(" "))


def contents(deb: Path) -> set[str]:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].lstrip(".") for line in listing.splitlines() if not line.endswith("/")}


def test_packages_have_the_upstream_files_and_dependencies(repo):
    debs = {p.name.split("_")[0]: p for p in (repo / "core:/stable:/v1.20/deb/amd64").glob("*.deb")}
    assert set(debs) == set(PACKAGES)
    assert contents(debs["kubelet"]) == {"/usr/bin/kubelet", "/lib/systemd/system/kubelet.service"}
    assert contents(debs["kubeadm"]) == {"/usr/bin/kubeadm", "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"}
    assert contents(debs["kubectl"]) == {"/usr/bin/kubectl"}
    assert contents(debs["kubernetes-cni"]) == {"/opt/cni/bin/bridge", "/opt/cni/bin/host-local"}
    # no crictl can be had here: the package says so instead
    assert contents(debs["cri-tools"]) == {"/usr/share/doc/cri-tools/README.labtool"}
    kubelet, kubeadm = control(debs["kubelet"]), control(debs["kubeadm"])
    for dep in ("kubernetes-cni (>= 0.8.7)", "conntrack", "socat", "ebtables", "ethtool", "iptables (>= 1.4.21)"):
        assert dep in kubelet["Depends"].split(", "), dep
    for dep in ("kubelet (>= 1.13.0)", "kubectl (>= 1.13.0)", "kubernetes-cni (>= 0.8.7)", "cri-tools (>= 1.13.0)"):
        assert dep in kubeadm["Depends"].split(", "), dep


def render_direct(tmp: Path, extra: dict) -> subprocess.CompletedProcess:
    """kube_packages' apt_mirror_direct.yml on this machine, writing into tmp."""
    play = tmp / "direct.yml"
    play.write_text(yaml.safe_dump([{
        "name": "kube_packages: the mirror's apt proxy setting", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Write it", "ansible.builtin.include_role":
                   {"name": "kube_packages", "tasks_from": "apt_mirror_direct"}}]}]))
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
           "ANSIBLE_NOCOLOR": "1", "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())}
    extra = {"_kube_packages_apt_direct_file": str(tmp / "02labtool-kubernetes-mirror"), **extra}
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
                           "-e", json.dumps(extra)], capture_output=True, text=True, env=env, cwd=tmp)


def test_a_mirror_behind_the_package_proxy_is_reached_directly(repo, mirror, proxy, tmp_path):
    """Issue 9, item 3: with package_proxy an apt-cacher-ng (which refuses any port but 80) and
    the mirror on another port, apt must not send the mirror's URLs through the proxy."""
    proxied = f'Acquire::http::Proxy "{proxy}";\n'
    without = tmp_path / "without"
    without.mkdir()
    fetch_key(repo, without)
    through_proxy = apt(without, mirror, "apt-get", "update", conf=proxied)
    assert "403  Configuration error (confusing proxy mode) or prohibited port" in through_proxy.stdout

    fetch_key(repo, tmp_path)

    written = render_direct(tmp_path, {"kube_packages_source": "mirror", "kube_packages_mirror_url": mirror})
    assert written.returncode == 0, written.stdout + written.stderr
    direct = (tmp_path / "02labtool-kubernetes-mirror").read_text()
    update = apt(tmp_path, mirror, "apt-get", "update", conf=proxied + direct)
    assert update.returncode == 0 and "W:" not in update.stdout + update.stderr, update.stdout + update.stderr
    assert "1.20.2-1.1" in apt(tmp_path, mirror, "apt-cache", "madison", "kubeadm", conf=proxied + direct).stdout


def test_online_sources_leave_no_direct_setting_behind(tmp_path):
    (tmp_path / "02labtool-kubernetes-mirror").write_text("left from a mirror lab\n")
    done = render_direct(tmp_path, {"kube_packages_source": "online"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "02labtool-kubernetes-mirror").exists()


def role_apt_source(tmp: Path, layout: str, mirror: str, version: str = "1.20.2", family: str = "Debian") -> dict:
    """What kube_packages writes on a node of ``family`` for a mirror in ``layout`` (vars/main.yml
    and vars/<family>.yml): the keys' URLs, apt's keyring and source (repository URL and suite)."""
    play = tmp / "source.yml"
    play.write_text(yaml.safe_dump([{
        "name": "kube_packages: the repository of a mirror", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Load the role's vars", "ansible.builtin.include_vars": {"file": str(f)}}
                  for f in (ROOT / "roles/kube_packages/vars/main.yml", ROOT / f"roles/kube_packages/vars/{family}.yml")]
        + [{"name": "Print them", "ansible.builtin.copy": {"dest": str(tmp / "source.json"), "content": (
            "{{ {'key': _kube_packages_key_urls[0], 'keys': _kube_packages_key_urls, 'keyring': _kube_packages_keyring,"
            " 'repo': _kube_packages_repo_url, 'source': _kube_packages_repo_url ~ ' ' ~ _kube_packages_apt_suite}"
            " | to_json }}")}}]}]))
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())}
    extra = {"kube_packages_source": "mirror", "kube_packages_mirror_url": mirror + "/",
             "kube_packages_mirror_layout": layout, "kube_packages_version": version}
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
                           "-e", json.dumps(extra)], capture_output=True, text=True, env=env, cwd=tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((tmp / "source.json").read_text())


@pytest.mark.parametrize("layout, source, key, revision", [
    ("pkgs", "/core:/stable:/v1.20/deb/ /", "/core:/stable:/v1.20/deb/Release.key", "1.1"),
    ("pkgs-no-colons", "/core/stable/v1.20/deb/ /", "/core/stable/v1.20/deb/Release.key", "1.1"),
    ("legacy", "/apt/ kubernetes-xenial main", "/apt/doc/apt-key.gpg", "00"),
])
def test_every_layout_is_served_signed_as_the_role_reads_it(repo, mirror, tmp_path, layout, source, key, revision):
    """Issue 21: the role's apt source for each layout, against the repository that tools/mirror
    serves in that layout: apt verifies the signature with the layout's own key file (the legacy
    one a binary keyring, as packages.cloud.google.com's apt-key.gpg) and offers the packages."""
    written = role_apt_source(tmp_path, layout, mirror)
    assert written["source"] == mirror + source and written["key"] == mirror + key
    keyring = Path(written["keyring"]).name
    assert keyring == ("kubernetes.gpg" if layout == "legacy" else "kubernetes.asc")
    with urllib.request.urlopen(written["key"]) as resp:  # noqa: S310 - the test's own server
        (tmp_path / keyring).write_bytes(resp.read())
    update = apt(tmp_path, mirror, "apt-get", "update", source=written["source"], key=keyring)
    assert update.returncode == 0 and "W:" not in update.stdout + update.stderr, update.stdout + update.stderr
    madison = apt(tmp_path, mirror, "apt-cache", "madison", "kubeadm", source=written["source"], key=keyring)
    assert f"1.20.2-{revision}" in madison.stdout, madison.stdout


# The README's sources: blocks for mirrors in China, and the URLs each mirror documents
# (README, Mirrors: Aliyun's developer.aliyun.com/mirror/kubernetes, TUNA's help page, USTC's).
README_MIRRORS = [
    ("https://mirrors.aliyun.com/kubernetes", "legacy", "1.20.2",
     "https://mirrors.aliyun.com/kubernetes/apt/ kubernetes-xenial main",
     "https://mirrors.aliyun.com/kubernetes/apt/doc/apt-key.gpg"),
    ("https://mirrors.aliyun.com/kubernetes-new", "pkgs-no-colons", "1.29.0",
     "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/deb/ /",
     "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.29/deb/Release.key"),
    ("https://mirrors.tuna.tsinghua.edu.cn/kubernetes", "pkgs", "1.30.4",
     "https://mirrors.tuna.tsinghua.edu.cn/kubernetes/core:/stable:/v1.30/deb/ /",
     "https://mirrors.tuna.tsinghua.edu.cn/kubernetes/core:/stable:/v1.30/deb/Release.key"),
    ("https://mirrors.ustc.edu.cn/kubernetes", "pkgs", "1.31.0",
     "https://mirrors.ustc.edu.cn/kubernetes/core:/stable:/v1.31/deb/ /",
     "https://mirrors.ustc.edu.cn/kubernetes/core:/stable:/v1.31/deb/Release.key"),
]


@pytest.mark.parametrize("url, layout, version, source, key", README_MIRRORS, ids=[m[0] for m in README_MIRRORS])
def test_the_readme_mirror_blocks_give_the_documented_urls(tmp_path, url, layout, version, source, key):
    readme = (ROOT / "README.md").read_text()
    assert f"kube_packages_url: {url} " in readme and f"kube_packages_layout: {layout}" in readme
    written = role_apt_source(tmp_path, layout, url, version)
    assert (written["source"], written["key"]) == (source, key)


@pytest.mark.parametrize("url, layout, version, repo, keys", [
    ("https://mirrors.aliyun.com/kubernetes", "legacy", "1.20.2",
     "https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-$basearch/",
     ["https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg",
      "https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg"]),
    ("https://mirrors.aliyun.com/kubernetes-new", "pkgs-no-colons", "1.28.2",
     "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.28/rpm/",
     ["https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.28/rpm/repodata/repomd.xml.key"]),
    ("https://mirrors.ustc.edu.cn/kubernetes", "pkgs", "1.34.1",
     "https://mirrors.ustc.edu.cn/kubernetes/core:/stable:/v1.34/rpm/",
     ["https://mirrors.ustc.edu.cn/kubernetes/core:/stable:/v1.34/rpm/repodata/repomd.xml.key"]),
])
def test_the_rhel_repository_of_each_layout_is_the_documented_one(tmp_path, url, layout, version, repo, keys):
    """No RHEL node runs here: the yum repository and keys the role gives dnf, for each layout,
    against the ones the mirrors document (README, Mirrors)."""
    written = role_apt_source(tmp_path, layout, url, version, family="RedHat")
    assert (written["repo"], written["keys"]) == (repo, keys)
