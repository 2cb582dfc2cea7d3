"""A stand-in for the mirrors of `sources.mode: mirror`, made from an artifacts directory.

A tool for instructors who want a mirror of their own artifacts; the molecule scenario `mirror` and CI use it to give the nodes

* the Debian package repositories of every layout a mirror uses (sources.kube_packages_layout),
  each signed as upstream signs it, by a key made for the test:
  - ``pkgs``, exactly like pkgs.k8s.io, ``<root>/core:/stable:/v<minor>/deb/``: a flat repository
    (``deb [signed-by=…] <url>/core:/stable:/v1.20/deb/ /``) with ``Packages``, ``Release``,
    ``InRelease`` and ``Release.gpg``, and the armored ``Release.key`` beside them;
  - ``pkgs-no-colons``, the same tree at ``<root>/core/stable/v<minor>/deb/`` (a link to it);
  - ``legacy``, like apt.kubernetes.io (packages.cloud.google.com/apt): ``<root>/apt/`` with
    ``dists/kubernetes-xenial/{Release,InRelease,Release.gpg}``, component ``main``, the packages
    in ``pool/`` at upstream's revision ``-00``, and the binary keyring ``doc/apt-key.gpg``
    (``deb [signed-by=…] <url>/apt/ kubernetes-xenial main``);
  each holds kubeadm, kubelet, kubectl, kubernetes-cni and cri-tools with the dependencies and
  file locations of the upstream packages of that era (no yum layout: no rpm tooling here);
* a small HTTP server for it on the host (the nodes' Docker network gateway);
* the images kubeadm asks for in the host registry, under kubeadm's own tags.

    python tools/mirror/pkgrepo.py build [--artifacts DIR] [--out DIR]
    python tools/mirror/pkgrepo.py serve --name LAB --bind ADDR [--port 8088] [--root DIR]
    python tools/mirror/pkgrepo.py stop (--name LAB | --all)
    python tools/mirror/pkgrepo.py registry [--artifacts DIR] [--registry HOST:PORT]

Limits, said plainly: cri-tools carries no crictl (none can be had here: no reachable registry
or repository ships one for 1.20), so the package only satisfies kubeadm's dependency; the
kubernetes-cni version is the one of Debian's containernetworking-plugins the artifacts' CNI
plugins were copied from; amd64 only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

HERE = Path(__file__).resolve()
DEFAULT_ARTIFACTS = Path(os.environ.get("LABTOOL_ARTIFACTS") or "/var/cache/labtool/artifacts/v1.20.2")
CACHE = Path(os.environ.get("LABTOOL_MIRROR_CACHE") or "/var/cache/labtool/mirror")
GNUPG_HOME = CACHE / "gnupg"  # the test's signing key, made once
RUN_DIR = Path("/run/labtool-mirror")  # one pid file per serving lab
LOG_DIR = Path("/var/log/labtool")
DEFAULT_PORT = 8088
KEY_UID = "labtool test package mirror <mirror@labtool.invalid>"
DEB_REVISION = "1.1"  # pkgs.k8s.io's revision style: 1.30.0-1.1
LEGACY_REVISION = "00"  # apt.kubernetes.io's: 1.20.2-00
LEGACY_SUITE = "kubernetes-xenial"  # the one suite apt.kubernetes.io served every Debian and Ubuntu
MAINTAINER = "labtool test tooling <mirror@labtool.invalid>"
CNI_SOURCE = Path("/usr/lib/cni")  # where tools/artifacts/build.sh copies the CNI plugins from
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S', time.gmtime())} [mirror] {msg}", flush=True)


class MirrorError(Exception):
    pass


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kw)  # noqa: S603 - fixed argv
    if done.returncode != 0:
        raise MirrorError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(artifacts: Path) -> dict:
    path = artifacts / "artifacts.yml"
    if not path.is_file():
        raise MirrorError(f"{path} is missing: build the artifacts first (tools/artifacts/build.sh)")
    return yaml.safe_load(path.read_text()) or {}


# --------------------------------------------------------------------------- the packages


def cni_version(artifacts: Path, manifest: dict) -> str:
    """The upstream version of Debian's containernetworking-plugins, when the artifacts' plugins
    are that package's files (the build copies them from /usr/lib/cni)."""
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"],
                          capture_output=True, text=True)
    bridge = manifest.get("files", {}).get("cni/bin/bridge")
    if done.returncode != 0 or not (CNI_SOURCE / "bridge").is_file() or sha256(CNI_SOURCE / "bridge") != bridge:
        raise MirrorError(
            f"cannot tell the version of the CNI plugins in {artifacts}/cni/bin: they are not this"
            " host's containernetworking-plugins; pass --cni-version")
    return re.sub(r"[+~-].*$", "", done.stdout.split(":", 1)[-1])


def packages(artifacts: Path, manifest: dict, cni: str) -> list[dict]:
    """What each package holds and needs, as the upstream 1.20-era debs did (kubepkg): kubelet's
    unit in /lib/systemd/system, kubeadm's drop-in in /etc/systemd/system/kubelet.service.d,
    the CNI plugins in /opt/cni/bin, the binaries in /usr/bin."""
    version = str(manifest["kubernetes_version"]).lstrip("v")
    major, minor = version.split(".")[:2]
    files = manifest.get("files", {})
    cni_files = {f"opt/cni/bin/{Path(rel).name}": rel for rel in sorted(files) if rel.startswith("cni/bin/")}
    crictl = {"usr/bin/crictl": "bin/crictl"} if "bin/crictl" in files else {}
    return [
        {"name": "kubelet", "version": version,
         "depends": ["iptables (>= 1.4.21)", "kubernetes-cni (>= 0.8.7)", "iproute2", "socat",
                     "util-linux", "mount", "ebtables", "ethtool", "conntrack"],
         "files": {"usr/bin/kubelet": "bin/kubelet", "lib/systemd/system/kubelet.service": "systemd/kubelet.service"},
         "scripts": KUBELET_SCRIPTS,
         "description": "Node agent for Kubernetes clusters"},
        {"name": "kubeadm", "version": version,
         "depends": ["kubelet (>= 1.13.0)", "kubectl (>= 1.13.0)",
                     "kubernetes-cni (>= 0.8.7)", "cri-tools (>= 1.13.0)"],
         "files": {"usr/bin/kubeadm": "bin/kubeadm",
                   "etc/systemd/system/kubelet.service.d/10-kubeadm.conf": "systemd/10-kubeadm.conf"},
         "scripts": {},
         "description": "Command-line utility for administering a Kubernetes cluster"},
        {"name": "kubectl", "version": version, "depends": [],
         "files": {"usr/bin/kubectl": "bin/kubectl"}, "scripts": {},
         "description": "Command-line utility for interacting with a Kubernetes cluster"},
        {"name": "kubernetes-cni", "version": cni, "depends": [],
         "files": cni_files, "scripts": {},
         "description": "Binaries required to provision Kubernetes container networking"},
        {"name": "cri-tools", "version": f"{major}.{minor}.0", "depends": [],
         "files": crictl, "scripts": {},
         "readme": None if crictl else (
             "labtool's test mirror: this cri-tools package carries no crictl, because none can be had\n"
             "on the machine that built it (no reachable registry or repository ships one for\n"
             f"Kubernetes {major}.{minor}). It exists so that kubeadm's dependency is met.\n"),
         "description": "Command-line utility for interacting with a container runtime"},
    ]


# What debhelper's dh_installsystemd gives the upstream kubelet package: enabled and started
# on install (it restarts in a loop until kubeadm writes its configuration), stopped on removal.
KUBELET_SCRIPTS = {
    "postinst": """#!/bin/sh
set -e
if [ "$1" = configure ] || [ "$1" = abort-upgrade ]; then
    deb-systemd-helper unmask kubelet.service >/dev/null || true
    deb-systemd-helper enable kubelet.service >/dev/null || true
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        deb-systemd-invoke restart kubelet.service >/dev/null || true
    fi
fi
""",
    "prerm": """#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    deb-systemd-invoke stop kubelet.service >/dev/null || true
fi
""",
    "postrm": """#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
    deb-systemd-helper purge kubelet.service >/dev/null || true
fi
""",
}


def build_deb(pkg: dict, artifacts: Path, staging: Path, out_dir: Path, revision: str) -> Path:
    root = staging / revision / pkg["name"]
    (root / "DEBIAN").mkdir(parents=True)
    for dest, src in pkg["files"].items():
        target = root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifacts / src, target)
        target.chmod(0o644 if dest.endswith((".service", ".conf")) else 0o755)
    if pkg.get("readme"):
        doc = root / "usr/share/doc" / pkg["name"] / "README.labtool"
        doc.parent.mkdir(parents=True)
        doc.write_text(pkg["readme"])
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024 + 1
    version = f"{pkg['version']}-{revision}"
    control = [
        f"Package: {pkg['name']}",
        f"Version: {version}",
        "Architecture: amd64",
        f"Maintainer: {MAINTAINER}",
        f"Installed-Size: {size_kib}",
        *([f"Depends: {', '.join(pkg['depends'])}"] if pkg["depends"] else []),
        "Section: admin",
        "Priority: optional",
        "Homepage: https://kubernetes.io",
        f"Description: {pkg['description']}",
        " Built by labtool's test tooling (tools/mirror/pkgrepo.py) from an artifacts directory,",
        " with the file locations and dependencies of the upstream package.",
    ]
    (root / "DEBIAN/control").write_text("\n".join(control) + "\n")
    conffiles = [f"/{dest}" for dest in pkg["files"] if dest.startswith("etc/")]
    if conffiles:
        (root / "DEBIAN/conffiles").write_text("\n".join(conffiles) + "\n")
    for name, text in pkg["scripts"].items():
        (root / "DEBIAN" / name).write_text(text)
        (root / "DEBIAN" / name).chmod(0o755)
    deb = out_dir / f"{pkg['name']}_{version}_amd64.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root), str(deb)])
    return deb


# --------------------------------------------------------------------------- the signing key


def gpg(*args: str, **kw) -> subprocess.CompletedProcess:
    return run(["gpg", "--homedir", str(GNUPG_HOME), "--batch", "--quiet", *args], **kw)


def stop_gpg_agent(home: Path) -> None:
    """gpg starts an agent per home directory and leaves it running; a build leaves none."""
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True)


def signing_key() -> str:
    """The fingerprint of the test's signing key, made on first use (no passphrase)."""
    GNUPG_HOME.mkdir(parents=True, exist_ok=True)
    GNUPG_HOME.chmod(0o700)
    listed = subprocess.run(["gpg", "--homedir", str(GNUPG_HOME), "--batch", "--with-colons",
                             "--list-secret-keys", KEY_UID], capture_output=True, text=True)
    if listed.returncode != 0:
        log(f"making the test signing key in {GNUPG_HOME}")
        gpg("--passphrase", "", "--quick-generate-key", KEY_UID, "ed25519", "sign", "never")
        listed = run(["gpg", "--homedir", str(GNUPG_HOME), "--batch", "--with-colons",
                      "--list-secret-keys", KEY_UID])
    return next(line.split(":")[9] for line in listed.stdout.splitlines() if line.startswith("fpr:"))


# --------------------------------------------------------------------------- the repository


def repo_dir(root: Path, version: str, colons: str = ":") -> Path:
    minor = ".".join(version.lstrip("v").split(".")[:2])
    return root / f"core{colons}" / f"stable{colons}" / f"v{minor}" / "deb"


def legacy_dir(root: Path) -> Path:
    return root / "apt"


def recipe(artifacts: Path, cni: str) -> str:
    digest = hashlib.sha256(HERE.read_bytes())
    digest.update((artifacts / "artifacts.yml").read_bytes())
    digest.update(cni.encode())
    return digest.hexdigest()


def build(artifacts: Path, out: Path, cni: str | None) -> Path:
    artifacts = artifacts.resolve()
    manifest = read_manifest(artifacts)
    version = str(manifest.get("kubernetes_version", ""))
    cni = cni or cni_version(artifacts, manifest)
    stamp = recipe(artifacts, cni)
    stamp_file = out / ".labtool-mirror-stamp"
    built = (repo_dir(out, version) / "InRelease", legacy_dir(out) / "dists" / LEGACY_SUITE / "InRelease")
    if stamp_file.is_file() and stamp_file.read_text().strip() == stamp and all(p.is_file() for p in built):
        log(f"repositories in {out} are up to date")
        return out
    try:
        return _build(artifacts, out, manifest, version, cni, stamp)
    finally:
        stop_gpg_agent(GNUPG_HOME)


def _build(artifacts: Path, out: Path, manifest: dict, version: str, cni: str, stamp: str) -> Path:
    fpr = signing_key()
    started = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".mirror-build-") as tmp:
        new = Path(tmp) / "root"
        pkgs = packages(artifacts, manifest, cni)
        build_pkgs_layout(new, pkgs, artifacts, Path(tmp) / "staging", version, fpr)
        build_legacy_layout(new, pkgs, artifacts, Path(tmp) / "staging", version, fpr)
        (new / ".labtool-mirror-stamp").write_text(stamp + "\n")
        old = Path(tmp) / "old"
        if out.exists():
            out.rename(old)
        new.rename(out)
    log(f"repositories in {out} built in {time.monotonic() - started:.0f} s (key {fpr[-16:]})")
    return out


def release_file(directory: Path, fields: dict[str, str], fpr: str) -> None:
    """Release, signed inline (InRelease) and detached (Release.gpg), as both upstreams sign."""
    options = [arg for name, value in fields.items() for arg in ("-o", f"APT::FTPArchive::Release::{name}={value}")]
    (directory / "Release").write_text(run(["apt-ftparchive", *options, "release", "."], cwd=directory).stdout)
    gpg("--local-user", fpr, "--clearsign", "--output", str(directory / "InRelease"), str(directory / "Release"))
    gpg("--local-user", fpr, "--armor", "--detach-sign", "--output", str(directory / "Release.gpg"),
        str(directory / "Release"))


def packages_index(directory: Path, cwd: Path, subdir: str) -> None:
    """Packages and Packages.gz in ``directory``, Filename: relative to ``cwd``."""
    index = run(["apt-ftparchive", "packages", subdir], cwd=cwd).stdout
    (directory / "Packages").write_text(index)
    with gzip.open(directory / "Packages.gz", "wt", compresslevel=9) as f:
        f.write(index)


def build_pkgs_layout(root: Path, pkgs: list[dict], artifacts: Path, staging: Path, version: str, fpr: str) -> None:
    """pkgs.k8s.io's flat repository (Filename: amd64/<deb>), and the same tree without colons."""
    deb_dir = repo_dir(root, version)
    (deb_dir / "amd64").mkdir(parents=True)
    for pkg in pkgs:
        deb = build_deb(pkg, artifacts, staging, deb_dir / "amd64", DEB_REVISION)
        log(f"built {deb.relative_to(root)} ({deb.stat().st_size // 1024} KiB)")
    packages_index(deb_dir, deb_dir, "amd64")
    release_file(deb_dir, {"Origin": "labtool test mirror", "Label": "labtool test mirror",
                           "Architectures": "amd64",
                           "Description": f"Kubernetes {version} (test stand-in for pkgs.k8s.io)"}, fpr)
    (deb_dir / "Release.key").write_text(gpg("--armor", "--export", fpr).stdout)
    no_colons = repo_dir(root, version, colons="")
    no_colons.parent.mkdir(parents=True)
    no_colons.symlink_to(os.path.relpath(deb_dir, no_colons.parent))


def build_legacy_layout(root: Path, pkgs: list[dict], artifacts: Path, staging: Path, version: str, fpr: str) -> None:
    """apt.kubernetes.io's: one suite for every version, a pool, a binary keyring in doc/."""
    apt_dir = legacy_dir(root)
    (apt_dir / "pool").mkdir(parents=True)
    for pkg in pkgs:
        deb = build_deb(pkg, artifacts, staging, apt_dir / "pool", LEGACY_REVISION)
        log(f"built {deb.relative_to(root)} ({deb.stat().st_size // 1024} KiB)")
    suite = apt_dir / "dists" / LEGACY_SUITE
    (suite / "main" / "binary-amd64").mkdir(parents=True)
    packages_index(suite / "main" / "binary-amd64", apt_dir, "pool")
    release_file(suite, {"Origin": LEGACY_SUITE, "Label": LEGACY_SUITE, "Suite": LEGACY_SUITE,
                         "Codename": LEGACY_SUITE, "Components": "main", "Architectures": "amd64",
                         "Description": f"Kubernetes {version} (test stand-in for apt.kubernetes.io)"}, fpr)
    (apt_dir / "doc").mkdir()
    gpg("--export", "--output", str(apt_dir / "doc" / "apt-key.gpg"), fpr)


# --------------------------------------------------------------------------- the HTTP server


def pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.json"


def listening(addr: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((addr, port)) == 0


def _alive(record: dict) -> bool:
    try:
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")
    except (OSError, KeyError):
        return False
    return b"http.server" in cmdline and str(record.get("root", "")).encode() in cmdline


def serve(name: str, root: Path, addr: str, port: int) -> None:
    root = root.resolve()
    if not (root / ".labtool-mirror-stamp").is_file():
        raise MirrorError(f"{root} holds no repository: run `pkgrepo.py build` first")
    record_path = pid_file(name)
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    if _alive(record) and record.get("addr") == addr and record.get("port") == port and listening(addr, port):
        log(f"http://{addr}:{port}/ already serves {root} for lab {name} (pid {record['pid']})")
        return
    if _alive(record):
        stop(name)
    if listening(addr, port):
        raise MirrorError(f"something else listens on {addr}:{port}")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"mirror-{name}.log", "ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "http.server", str(port), "--bind", addr, "--directory", str(root)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    record_path.write_text(json.dumps({"pid": proc.pid, "addr": addr, "port": port, "root": str(root)}) + "\n")
    deadline = time.monotonic() + 20
    while not listening(addr, port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise MirrorError(f"the server for {root} did not come up on {addr}:{port}"
                              f" (log {LOG_DIR / f'mirror-{name}.log'})")
        time.sleep(0.2)
    log(f"http://{addr}:{port}/ serves {root} for lab {name} (pid {proc.pid}, log {LOG_DIR / f'mirror-{name}.log'})")


def stop(name: str) -> None:
    record_path = pid_file(name)
    if not record_path.is_file():
        log(f"no mirror server for lab {name}")
        return
    record = json.loads(record_path.read_text())
    if _alive(record):
        os.kill(record["pid"], signal.SIGTERM)
        for _ in range(50):
            if not _alive(record):
                break
            time.sleep(0.1)
        else:
            os.kill(record["pid"], signal.SIGKILL)
        log(f"stopped the mirror server of lab {name} (pid {record['pid']}, {record['addr']}:{record['port']})")
    else:
        log(f"the mirror server of lab {name} had already stopped")
    record_path.unlink()


def stop_all() -> None:
    for path in sorted(RUN_DIR.glob("*.json")) if RUN_DIR.is_dir() else []:
        stop(path.stem)


# --------------------------------------------------------------------------- the registry


def _request(url: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    return urllib.request.urlopen(req, timeout=30)  # noqa: S310 - the host's own registry


def _manifest(registry: str, repo: str, tag: str) -> tuple[bytes, str] | None:
    try:
        with _request(f"http://{registry}/v2/{repo}/manifests/{tag}",
                      headers={"Accept": ", ".join(MANIFEST_TYPES)}) as resp:
            return resp.read(), resp.headers.get("Content-Type", MANIFEST_TYPES[0])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def registry(artifacts: Path, endpoint: str) -> None:
    """Make the registry (holding the artifacts' images, pushed by tools/artifacts/registry.sh)
    serve every image `kubeadm config images list` names, under kubeadm's own tag. A mirror of
    registry.k8s.io has them all; our stand-in tags an artifact image of the same repository
    (etcd: Debian's 3.4.23 as kubeadm's 3.4.13-0). Images no artifact provides are listed."""
    manifest = read_manifest(artifacts)
    version = str(manifest["kubernetes_version"])
    listed = run([str(artifacts / "bin/kubeadm"), "config", "images", "list", "--kubernetes-version", version,
                  "--image-repository", "registry.k8s.io"]).stdout.split()
    ours: dict[str, str] = {}
    for ref in (manifest.get("images") or {}).values():
        if ref:
            path = ref.split("/", 1)[1]
            ours.setdefault(path.rsplit(":", 1)[0], path.rsplit(":", 1)[1])
    missing = []
    for ref in listed:
        repo, tag = ref.split("/", 1)[1].rsplit(":", 1)
        if _manifest(endpoint, repo, tag):
            log(f"registry serves {repo}:{tag}")
            continue
        source_tag = ours.get(repo)
        found = _manifest(endpoint, repo, source_tag) if source_tag else None
        if not found:
            missing.append(f"{repo}:{tag}")
            log(f"registry lacks {repo}:{tag} and no artifact image provides it")
            continue
        body, content_type = found
        with _request(f"http://{endpoint}/v2/{repo}/manifests/{tag}", method="PUT", data=body,
                      headers={"Content-Type": content_type}):
            pass
        log(f"registry serves {repo}:{tag}: tagged the artifacts' {repo}:{source_tag}")
    # artifacts.yml names an image it could not make with an empty reference (coredns: "")
    unavailable = {name for name, ref in (manifest.get("images") or {}).items() if not ref}
    known_gaps = [m for m in missing if m.rsplit(":", 1)[0].split("/")[-1] in unavailable]
    if known_gaps:
        log(f"not served, the artifacts have no such image: {', '.join(known_gaps)}"
            " (a lab without CoreDNS sets kubernetes.coredns: false)")
    if len(known_gaps) < len(missing):
        raise MirrorError(f"the registry {endpoint} lacks {', '.join(sorted(set(missing) - set(known_gaps)))}:"
                          " push the artifacts' images first (tools/artifacts/registry.sh push)")


def _local_registry(artifacts: Path) -> str:
    """The host registry labtool.local starts for these artifacts (each its own port)."""
    from labtool.local.host import registry_port

    return f"localhost:{registry_port(artifacts)}"


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pkgrepo.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the package repository from the artifacts directory")
    p.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS)
    p.add_argument("--out", type=Path, default=None, help=f"default {CACHE}/<version>")
    p.add_argument("--cni-version", default=None, help="kubernetes-cni's version (default: Debian's plugins')")
    p = sub.add_parser("serve", help="serve the repository over HTTP, detached")
    p.add_argument("--name", required=True, help="the lab this server is for (its pid file)")
    p.add_argument("--bind", required=True, help="address to listen on, e.g. the lab network's gateway")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--root", type=Path, default=None, help=f"default {CACHE}/<version of the artifacts>")
    p.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS)
    p = sub.add_parser("stop", help="stop a lab's server (or every one)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--name")
    group.add_argument("--all", action="store_true")
    p = sub.add_parser("registry", help="make the host registry serve every image kubeadm asks for")
    p.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS)
    p.add_argument("--registry", default=None,
                   help="HOST:PORT (default: localhost and the port the local lab gives these artifacts)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            out = args.out or CACHE / str(read_manifest(args.artifacts)["kubernetes_version"])
            print(build(args.artifacts, out, args.cni_version))
        elif args.command == "serve":
            root = args.root or CACHE / str(read_manifest(args.artifacts)["kubernetes_version"])
            serve(args.name, root, args.bind, args.port)
        elif args.command == "stop":
            stop_all() if args.all else stop(args.name)
        else:
            registry(args.artifacts.resolve(), args.registry or _local_registry(args.artifacts.resolve()))
    except (MirrorError, OSError, urllib.error.URLError) as exc:
        print(f"pkgrepo.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
