#!/usr/bin/env python3
"""Add a Debian release's OS packages to an offline artifacts directory (air-gapped labs).

Run as root on a machine with docker and access to the Debian archive (an instructor's, before
class; CI's bootstrap.sh)::

    python tools/artifacts/debs.py add --release debian-12            # default artifacts dir
    python tools/artifacts/debs.py add --release debian-11 --artifacts /media/usb/artifacts
    python tools/artifacts/debs.py list --artifacts /media/usb/artifacts

``add`` resolves the packages the node roles install (``nodes_role_packages`` and
``nodes_release_packages`` in playbooks/group_vars/all/nodes.yml), with every dependency and
recommendation, against the release's local-lab node image (debootstrap minbase + python3,
systemd, sshd: what any node needs for Ansible): apt-get in a throwaway container of that
image downloads what such a node lacks. The .deb files and a ``Packages`` index go to
``debs/<suite>/`` (a flat apt repository), artifacts.yml gets ``debs.<suite>`` and a sha256 for
each file. Other releases' packages stay; the directory and artifacts.yml are swapped in
whole, so a lab reading the directory meanwhile sees the old set or the new one.
A second ``add`` whose package list is unchanged does nothing (``--refresh`` downloads again).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from labtool.local import image  # noqa: E402  (the node images: one recipe, one place)

DEFAULT_ARTIFACTS = Path("/var/cache/labtool/artifacts/v1.20.2")
NODE_VARS = REPO_ROOT / "playbooks" / "group_vars" / "all" / "nodes.yml"
EPOCH = re.compile(r"_[0-9]+%3a")
MANIFEST_HEADER = "# Offline artifacts for labtool (docs/INTERFACES.md §3), built by tools/artifacts/build.sh\n"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] debs: {message}", flush=True)


def role_packages(release: str) -> list[str]:
    """What the node roles install on this release (the playbooks' own lists)."""
    wiring = yaml.safe_load(NODE_VARS.read_text())
    major = release.split("-")[1]
    lists = list(wiring["nodes_role_packages"]["Debian"].values())
    lists += list(wiring["nodes_release_packages"].get(f"Debian-{major}", {}).values())
    return sorted({name for names in lists for name in names})


def download(release: str, packages: list[str], dest: Path) -> None:
    """apt-get --download-only in a container of the release's node image: the .deb files a
    node of that image lacks for ``packages`` land in ``dest``."""
    tag = image.ensure_image(lambda line: log(line.strip()), release)
    script = ("apt-get -q update >/dev/null && apt-get -q -y -o APT::Sandbox::User=root --download-only "
              "install \"$@\" >/dev/null")
    subprocess.run(["docker", "run", "--rm", "-v", f"{dest}:/var/cache/apt/archives", tag,
                    "sh", "-ec", script, "sh", *packages], check=True)
    (dest / "lock").unlink(missing_ok=True)
    shutil.rmtree(dest / "partial", ignore_errors=True)
    for deb in dest.glob("*%3a*.deb"):  # apt names a version's epoch "N%3a"; a file: URI would decode it
        deb.rename(deb.with_name(EPOCH.sub("_", deb.name)))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packages_index(repo: Path) -> str:
    """A flat repository's Packages: each .deb's control fields and where to fetch it."""
    stanzas = []
    for deb in sorted(repo.glob("*.deb")):
        control = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True,
                                 capture_output=True, text=True).stdout.rstrip("\n")
        stanzas.append(f"{control}\nFilename: ./{deb.name}\nSize: {deb.stat().st_size}\n"
                       f"SHA256: {sha256(deb)}\n")
    return "\n".join(stanzas)


def read_manifest(artifacts: Path) -> dict:
    path = artifacts / "artifacts.yml"
    if not path.is_file():
        sys.exit(f"error: {artifacts} has no artifacts.yml: build it first (tools/artifacts/build.sh)")
    return yaml.safe_load(path.read_text()) or {}


def write_manifest(artifacts: Path, manifest: dict) -> None:
    tmp = artifacts / "artifacts.yml.tmp"
    tmp.write_text(MANIFEST_HEADER + yaml.safe_dump(manifest, sort_keys=False, width=200))
    tmp.replace(artifacts / "artifacts.yml")


def with_suite(manifest: dict, suite: str, release: str, packages: list[str], repo: Path) -> dict:
    """The manifest with ``debs.<suite>`` and its files' sha256 (the suite's old files dropped)."""
    prefix = f"debs/{suite}/"
    files = {name: digest for name, digest in (manifest.get("files") or {}).items() if not name.startswith(prefix)}
    files.update({prefix + path.name: sha256(path) for path in sorted(repo.iterdir())})
    debs = {**(manifest.get("debs") or {}), suite: {"release": release, "packages": packages}}
    return {**{k: v for k, v in manifest.items() if k not in ("debs", "files")}, "debs": debs, "files": files}


def swap_in(artifacts: Path, suite: str, staged: Path) -> None:
    target = artifacts / "debs" / suite
    old = target.with_name(f".{suite}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def up_to_date(manifest: dict, artifacts: Path, suite: str, packages: list[str]) -> bool:
    entry = (manifest.get("debs") or {}).get(suite) or {}
    return entry.get("packages") == packages and (artifacts / "debs" / suite / "Packages").is_file()


def add(artifacts: Path, release: str, refresh: bool) -> None:
    started = time.monotonic()
    suite = image.RELEASES[image.check_release(release)]
    manifest = read_manifest(artifacts)
    packages = role_packages(release)
    if not refresh and up_to_date(manifest, artifacts, suite, packages):
        log(f"{release} ({suite}): up to date in {artifacts}/debs/{suite}")
        return
    log(f"{release} ({suite}): resolving {', '.join(packages)} against its node image")
    (artifacts / "debs").mkdir(exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{suite}.", dir=artifacts / "debs"))
    try:
        download(release, packages, staged)
        (staged / "Packages").write_text(packages_index(staged))
        updated = with_suite(manifest, suite, release, packages, staged)
        staged.chmod(0o755)
        swap_in(artifacts, suite, staged)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    write_manifest(artifacts, updated)
    repo = artifacts / "debs" / suite
    size = sum(p.stat().st_size for p in repo.iterdir())
    log(f"{release} ({suite}): {len(list(repo.glob('*.deb')))} packages, {size / 1e6:.1f} MB in {repo}"
        f" ({time.monotonic() - started:.1f} s)")


def show(artifacts: Path) -> None:
    for suite, entry in (read_manifest(artifacts).get("debs") or {}).items():
        count = len(list((artifacts / "debs" / suite).glob("*.deb")))
        print(f"{entry.get('release', '?')} ({suite}): {count} .deb files for {', '.join(entry.get('packages', []))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add_cmd = sub.add_parser("add", help="add (or renew) a release's OS packages")
    add_cmd.add_argument("--release", required=True, choices=sorted(image.RELEASES))
    add_cmd.add_argument("--refresh", action="store_true", help="download again even if up to date")
    list_cmd = sub.add_parser("list", help="the releases whose OS packages the directory carries")
    for cmd in (add_cmd, list_cmd):
        cmd.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS, help=f"default {DEFAULT_ARTIFACTS}")
    args = parser.parse_args(argv)
    if args.command == "add":
        add(args.artifacts.resolve(), args.release, args.refresh)
    else:
        show(args.artifacts.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
