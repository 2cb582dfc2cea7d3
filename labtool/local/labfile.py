"""The lab file (contract §1) that a local lab hands to `labtool up`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from labtool.labfile import manifest_version, read_manifest
from labtool.labfile.manifest import manifest_debs
from labtool.local._run import LocalLabError

POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/12"
MIRRORED_REGISTRIES = ("registry.k8s.io", "k8s.gcr.io", "docker.io", "daocloud.io")
NODES = (("cp", "control-plane"), ("w1", "worker"), ("w2", "worker"))
NAME_RE = re.compile(r"^[a-z0-9-]{1,40}$")


def check_name(name: str) -> None:
    if not NAME_RE.match(name) or name.startswith("-"):
        raise LocalLabError(f"lab name {name!r}: use 1–40 characters of a-z, 0-9 and '-'")


def artifacts_version(artifacts: Path) -> str | None:
    """The Kubernetes version artifacts.yml names (e.g. 1.20.2); None when it names none or
    cannot be read (the lab file then leaves the version to the lab model, which says why)."""
    try:
        return manifest_version(read_manifest(artifacts)) or None
    except ValueError:
        return None


def artifacts_debs(artifacts: Path) -> dict:
    """The OS packages artifacts.yml says it carries (suite -> {release, packages}); {} when none
    or unreadable."""
    try:
        return manifest_debs(read_manifest(artifacts))
    except ValueError:
        return {}


def render(
    name: str,
    addresses: dict[str, str],
    gateway: str,
    artifacts: Path,
    key: str = "id_ed25519",
    kubernetes_version: str | None = None,
    registry_port: int = 5000,
    air_gapped: bool = False,
    proxy_port: int | None = None,
) -> dict:
    """The lab file's content for a local lab whose nodes have these addresses.

    ``kubernetes_version``: the artifacts' (``artifacts_version``); None leaves the key out.
    ``registry_port``: the host registry that serves these artifacts' images (each
    artifacts directory has its own: host.registry_port).
    ``air_gapped``: everything from the artifacts (OS packages, image tarballs), no caches.
    ``proxy_port``: everything through the proxy on the gateway at that port.
    """
    check_name(name)
    registry = f"http://{gateway}:{registry_port}"
    kubernetes = {"version": kubernetes_version} if kubernetes_version else {}
    return {
        "name": name,
        "node_profile": "container",
        "iptables_service": "stopped",
        "nodes": [
            {"name": node, "address": addresses[node], "role": role, "user": "root", "port": 22, "key": key}
            for node, role in NODES
        ],
        "kubernetes": {
            **kubernetes,
            "pod_cidr": POD_CIDR,
            "service_cidr": SERVICE_CIDR,
            "pod_network": "host-gw",
        },
        "sources": {"mode": "local", "artifacts": str(artifacts), "air_gapped": True} if air_gapped else {
            "mode": "local",
            "artifacts": str(artifacts),
            # behind the proxy, packages go through it too (it reaches the gateway's cache)
            **({"proxy": f"http://{gateway}:{proxy_port}"} if proxy_port else {"package_proxy": f"http://{gateway}:3142"}),
            "registry_mirrors": {host: [registry] for host in MIRRORED_REGISTRIES},
            "local_images": "mirror",  # the host registry serves every artifact image
        },
    }


def write(path: Path, content: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Written by `labtool local create` for the local lab's node containers.\n"
        "# Recreated on every create; `labtool local destroy` removes it.\n"
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + yaml.safe_dump(content, sort_keys=False, default_flow_style=False))
    tmp.replace(path)
    return path


def render_class(class_name: str, labs: list[dict]) -> dict:
    """A class file for local labs (each as :func:`render` made it): what they share at the
    top, each lab's nodes and its own gateway's caches (sources) under labs."""
    check_name(class_name)
    shared = {k: labs[0][k] for k in ("node_profile", "iptables_service", "kubernetes")}
    shared["sources"] = {k: v for k, v in labs[0]["sources"].items()
                         if k not in ("package_proxy", "registry_mirrors")}
    return {
        "name": class_name,
        **shared,
        "labs": [
            {"name": lab["name"], "nodes": lab["nodes"],
             "sources": {k: lab["sources"][k] for k in ("package_proxy", "registry_mirrors")}}
            for lab in labs
        ],
    }
