"""The node images: Debian from debootstrap, systemd as PID 1, sshd with root's key slot.

One image per Debian release (``RELEASES``: debian-11 bullseye, debian-12 bookworm, debian-13
trixie), all from the same recipe but for the suite. Each is tagged ``labtool-node:<hash of
its recipe>`` and rebuilt only when its recipe (suite, packages, the files and commands below)
changes; debian-12's recipe is the one the single bookworm image had, so its tag stayed.
debootstrap downloads from the Debian archive the host's own apt sources name; its package
cache lives in /var/cache/labtool/debootstrap.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from labtool.local._run import LocalLabError, ok, run

REPOSITORY = "labtool-node"
CACHE_DIR = Path("/var/cache/labtool")
# release name (what `labtool local create --os` takes) -> Debian suite
RELEASES = {"debian-11": "bullseye", "debian-12": "bookworm", "debian-13": "trixie"}
DEFAULT_RELEASE = "debian-12"
SUITE = RELEASES[DEFAULT_RELEASE]  # the host's own suite: where its sources name the archive
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "python3", "openssh-server", "iproute2",
    "ca-certificates", "sudo", "curl", "gnupg", "procps", "kmod",
)  # fmt: skip

# Files written into the root file system (path -> content).
FILES = {
    # each container makes its own host keys on first boot (none are baked into the image)
    "etc/systemd/system/labtool-ssh-host-keys.service": """\
[Unit]
Description=Generate this node's SSH host keys
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
""",
    "etc/ssh/sshd_config.d/labtool.conf": "PermitRootLogin prohibit-password\nUseDNS no\n",
    "root/.ssh/authorized_keys": "",  # the slot: each lab copies its public key here
}
# Units that have nothing to do in a container.
MASKED = (
    "getty@tty1.service", "console-getty.service", "serial-getty@.service",
    "systemd-remount-fs.service", "dev-hugepages.mount", "sys-fs-fuse-connections.mount",
    "sys-kernel-config.mount", "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
    "systemd-firstboot.service",
)  # fmt: skip
ENABLED = ("ssh.service", "labtool-ssh-host-keys.service")
CHANGES = ('CMD ["/sbin/init"]', "ENV container=docker")


def check_release(release: str) -> str:
    if release not in RELEASES:
        raise LocalLabError(f"node OS {release!r}: use one of {', '.join(RELEASES)}")
    return release


def recipe(release: str = DEFAULT_RELEASE) -> dict:
    return {
        "suite": RELEASES[check_release(release)],
        "variant": "minbase",
        "packages": sorted(PACKAGES),
        "files": FILES,
        "masked": sorted(MASKED),
        "enabled": sorted(ENABLED),
        "changes": list(CHANGES),
        # 2: no machine-id baked in (dbus's copy removed too): systemd gave every node the
        # image's /var/lib/dbus/machine-id, and labtool check refuses nodes that share one
        "revision": 2,
    }


def image_tag(release: str = DEFAULT_RELEASE) -> str:
    digest = hashlib.sha256(json.dumps(recipe(release), sort_keys=True).encode()).hexdigest()[:12]
    return f"{REPOSITORY}:{digest}"


def debian_mirror(sources: str) -> str | None:
    """The first Debian archive URI for the main suite in apt sources text (deb822 or one-line)."""
    # deb822 stanzas
    for stanza in re.split(r"\n\s*\n", sources):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        suites = fields.get("suites", "").split()
        if "deb" in fields.get("types", "").split() and SUITE in suites and fields.get("uris"):
            if fields.get("enabled", "yes").lower() != "no":
                return fields["uris"].split()[0].rstrip("/")
    # one-line format
    for line in sources.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] == "deb":
            rest = [w for w in words[1:] if not w.startswith("[")]
            if len(rest) >= 2 and rest[1] == SUITE:
                return rest[0].rstrip("/")
    return None


def host_mirror() -> str:
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.suffix in {".list", ".sources"} or path.name == "sources.list":
            try:
                texts.append(path.read_text())
            except OSError:
                continue
    for text in texts:
        mirror = debian_mirror(text)
        if mirror:
            return mirror
    return DEFAULT_MIRROR


def exists(tag: str) -> bool:
    return ok(["docker", "image", "inspect", tag])


def release_of(tag: str) -> str:
    """The release whose current recipe has this tag ("" for none: an image of an older recipe)."""
    return next((release for release in RELEASES if image_tag(release) == tag), "")


def ensure_image(echo: Callable[[str], None], release: str = DEFAULT_RELEASE) -> str:
    tag = image_tag(release)
    suite = RELEASES[release]
    if exists(tag):
        echo(f"  node image {tag} ({release}, {suite}; present)")
        return tag
    mirror = host_mirror()
    echo(f"  building node image {tag}: debootstrap {suite} ({release}) from {mirror} (a few minutes, once)")
    cache = CACHE_DIR / "debootstrap"
    cache.mkdir(parents=True, exist_ok=True)
    root = CACHE_DIR / "build" / tag.replace(":", "-")
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        run(
            [
                "debootstrap", "--variant=minbase", f"--cache-dir={cache}",
                "--include=" + ",".join(PACKAGES), suite, str(root), mirror,
            ],
            timeout=1800,
        )  # fmt: skip
        _customize(root)
        _import(root, tag)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    echo(f"  node image {tag} ({release}, {suite}; built)")
    return tag


def _customize(root: Path) -> None:
    for rel, content in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    (root / "root/.ssh").chmod(0o700)
    (root / "root/.ssh/authorized_keys").chmod(0o600)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    # systemd takes dbus's id over a new one when /etc/machine-id is empty: every node would
    # share the image's (kubeadm wants them unique, as for cloned VMs)
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    run(["chroot", str(root), "systemctl", "enable", *ENABLED])
    run(["chroot", str(root), "systemctl", "mask", *MASKED])
    for cached in (root / "var/cache/apt/archives").glob("*.deb"):
        cached.unlink()


def _import(root: Path, tag: str) -> None:
    changes = [arg for change in CHANGES for arg in ("--change", change)]
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."],
        stdout=subprocess.PIPE,
    )
    try:
        imp = subprocess.run(
            ["docker", "import", *changes, "-", tag],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        if tar.stdout:
            tar.stdout.close()
        tar.wait()
    if imp.returncode != 0 or tar.returncode != 0:
        raise LocalLabError(f"docker import of the node image failed: {imp.stderr.strip()}")
