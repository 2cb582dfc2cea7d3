"""The sources manifest: ``artifacts.yml`` of an offline artifacts directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labtool.labfile.problems import Found


def read_manifest(artifacts: Path) -> dict[str, Any]:
    """artifacts.yml of an artifacts directory; ValueError says why it cannot be had."""
    manifest = artifacts / "artifacts.yml"
    if not artifacts.is_dir():
        raise ValueError(f"artifacts directory {artifacts} does not exist (sources.mode is local)")
    if not manifest.is_file():
        raise ValueError(f"{artifacts} has no artifacts.yml: not an artifacts directory")
    try:
        meta = yaml.safe_load(manifest.read_text()) or {}
    except (OSError, yaml.YAMLError):
        meta = None
    if not isinstance(meta, dict):
        raise ValueError(f"{manifest} cannot be read as YAML")
    return meta


def manifest_version(meta: dict[str, Any]) -> str:
    """The Kubernetes version artifacts.yml names, without the v ("" when it names none)."""
    return str(meta.get("kubernetes_version") or "").strip().lstrip("v")


def manifest_has_coredns(meta: dict[str, Any]) -> bool:
    images = meta.get("images") if isinstance(meta.get("images"), dict) else {}
    return bool(images.get("coredns"))


DEBS_COMMAND = "python tools/artifacts/debs.py add --release {release} --artifacts {path}"


def manifest_debs(meta: dict[str, Any]) -> dict[str, Any]:
    """The OS packages artifacts.yml says it carries: Debian suite -> {release, packages}."""
    debs = meta.get("debs")
    return debs if isinstance(debs, dict) else {}


def air_gap_problems(meta: dict[str, Any], path: Path) -> Found:
    """An air-gapped lab installs every OS package from the artifacts: they must carry some."""
    if manifest_debs(meta):
        return []
    return [(("sources", "air_gapped"),
             f"true, but the artifacts in {path} carry no OS packages (debs in artifacts.yml): add "
             f"each node release's on a machine with network: {DEBS_COMMAND.format(release='debian-12', path=path)}")]


def unmirrored_images(manifest: Any, mirrors: Any) -> Found:
    """With ``local_images: mirror`` every artifact image's registry needs a mirror."""
    images = manifest.get("images") if isinstance(manifest, dict) else None
    mirrored = set(mirrors) if isinstance(mirrors, dict) else set()
    out = []
    for name, ref in (images or {}).items():
        host = str(ref).split("/")[0] if "/" in str(ref) else "docker.io"
        if ref and host not in mirrored:
            out.append((("sources", "local_images"),
                        f"mirror: no sources.registry_mirrors entry for {host}, so the nodes "
                        f"cannot pull the artifacts' {name} image {ref}"))
    return out
