"""Checks of single values of a lab file: addresses, names, versions, ports, URLs."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

# The version of an online or mirror lab file without kubernetes.version (README: Kubernetes
# version); local mode takes the version its artifacts carry (artifacts.yml).
DEFAULT_ONLINE_KUBERNETES_VERSION = "1.34.1"
SUPPORTED_MINORS = range(20, 36)  # 1.20 – 1.35
FIRST_ONLINE_MINOR = 24  # pkgs.k8s.io starts at 1.24
# The layouts a Kubernetes package mirror uses (sources.kube_packages_layout), and the versions
# each serves. pkgs.k8s.io starts at v1.24.0 (kubernetes.io/blog/2023/08/15/pkgs-k8s-io-introduction);
# the Google-hosted apt.kubernetes.io / yum.kubernetes.io ("legacy") served v1.5 on and were
# frozen on 13 September 2023 (kubernetes.io/blog/2023/08/31/legacy-package-repository-deprecation):
# the last patch of each minor published there, up to that day's 1.28.2, 1.27.6, 1.26.9, 1.25.14.
PKGS_LAYOUTS = ("pkgs", "pkgs-no-colons")  # the third is "legacy"
LEGACY_LAST_PATCH = {20: 15, 21: 14, 22: 17, 23: 17, 24: 17, 25: 14, 26: 9, 27: 6, 28: 2}
NODE_PORT_RANGE = (30000, 32767)

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
URL_RE = re.compile(r"^https?://[^\s/:]+(:\d+)?(/\S*)?$")
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_host_name(value: str) -> bool:
    """An RFC 1123 host name; a dotted string of numbers is a (bad) IP, not a name."""
    if not value or len(value) > 253:
        return False
    labels = value.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        return False
    return all(_HOST_LABEL_RE.match(label) for label in labels)


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"port {value} is outside 1–65535")
    return value


def url_or_empty(value: str, what: str) -> str:
    if value and not URL_RE.match(value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL ({what})")
    return value


def parse_version(value: str) -> tuple[int, int, int]:
    match = _VERSION_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a version of the form x.y.z (e.g. 1.20.2)")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def _k8s_name(v: str) -> str:
    if len(v) > 63 or not NAME_RE.match(v):
        raise ValueError(
            f"{v!r} is not a Kubernetes name (lower-case letters, digits and '-', at most 63)"
        )
    return v


def _label_value(v: str) -> str:
    if len(v) > 63 or not re.match(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$", v):
        raise ValueError(f"{v!r} is not a valid label value")
    return v


def _image(v: str) -> str:
    if not v or any(c.isspace() for c in v):
        raise ValueError(f"{v!r} is not an image reference")
    return v


def _image_part(v: str) -> str:
    """An image reference, or its repository or tag alone; "" for the default."""
    v = v.strip()
    if any(c.isspace() for c in v) or "://" in v:
        raise ValueError(f"{v!r} is not an image name (no scheme, no spaces), "
                         "e.g. registry.aliyuncs.com/google_containers/pause:3.2")
    return v


def _replicas(v: int) -> int:
    if v < 1:
        raise ValueError(f"replicas must be at least 1, not {v}")
    return v


Port = Annotated[int, AfterValidator(_port)]
K8sName = Annotated[str, AfterValidator(_k8s_name)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
Image = Annotated[str, AfterValidator(_image)]
ImagePart = Annotated[str, AfterValidator(_image_part)]
Replicas = Annotated[int, AfterValidator(_replicas)]


def supported_version(v: str) -> str:
    major, minor, patch = parse_version(v.strip())
    if major != 1 or minor not in SUPPORTED_MINORS:
        raise ValueError(
            f"Kubernetes {major}.{minor} is not supported (supported: "
            f"1.{SUPPORTED_MINORS[0]} – 1.{SUPPORTED_MINORS[-1]})"
        )
    return f"{major}.{minor}.{patch}"
