"""Which Debian release each node container of a local lab runs (`labtool local create --os /
--node-os`), and what that release allows.

Pure functions: no Docker. The node images themselves are labtool.local.image's.
"""

from __future__ import annotations

from labtool.local._run import LocalLabError
from labtool.local.image import DEFAULT_RELEASE, RELEASES
from labtool.local.labfile import NODES

# Each release's own containerd (Debian's package) and the CRI versions it serves. kubelet
# 1.26 and later speak CRI v1 only; containerd 1.4 serves v1alpha2 only (1.6 and 1.7 both).
CONTAINERD = {"debian-11": "1.4.13", "debian-12": "1.6.20", "debian-13": "1.7.24"}
CRI_V1 = {"debian-11": False, "debian-12": True, "debian-13": True}
CRI_V1_FROM_MINOR = 26  # kubelet 1.26 dropped CRI v1alpha2


def node_releases(os: str | None = None, node_os: str | None = None) -> dict[str, str]:
    """Every node's release: ``os`` for all (default debian-12), then ``node_os``
    (``cp=debian-13,w1=debian-11``) for the nodes it names."""
    base = _release(os or DEFAULT_RELEASE, "--os")
    releases = {node: base for node, _role in NODES}
    for item in (node_os or "").split(","):
        if not item.strip():
            continue
        node, sep, release = item.partition("=")
        node, release = node.strip(), release.strip()
        if not sep or not node or not release:
            raise LocalLabError(f"--node-os: {item.strip()!r} is not NODE=RELEASE (e.g. w1=debian-11)")
        if node not in releases:
            raise LocalLabError(f"--node-os: no node {node!r} in a local lab (its nodes: {', '.join(releases)})")
        releases[node] = _release(release, f"--node-os {node}")
    return releases


def _release(release: str, where: str) -> str:
    if release not in RELEASES:
        raise LocalLabError(f"{where}: {release!r} is not a node OS of the local lab; use one of "
                            f"{', '.join(f'{name} ({suite})' for name, suite in RELEASES.items())}")
    return release


def kubernetes_problems(releases: dict[str, str], kubernetes_version: str | None) -> list[str]:
    """Why these nodes cannot run this Kubernetes version (one line a node), before anything
    is created: a release whose containerd does not serve the CRI version kubelet speaks."""
    if not kubernetes_version:
        return []
    try:
        minor = int(kubernetes_version.lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        return []
    if minor < CRI_V1_FROM_MINOR:
        return []
    return [
        f"node {node} on {release}: its containerd {CONTAINERD[release]} serves CRI v1alpha2 only, and "
        f"kubelet {kubernetes_version.lstrip('v')} speaks CRI v1 only (1.{CRI_V1_FROM_MINOR} and later); "
        f"use debian-12 or debian-13 for it, or Kubernetes 1.25 or older"
        for node, release in releases.items()
        if not CRI_V1[release]
    ]
