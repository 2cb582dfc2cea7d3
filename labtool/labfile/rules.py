"""The rules of a valid lab that span several keys, and the model's own findings as problems.

The rules run on the raw data, so that they are reported together with every other problem;
anything malformed is left to the model.
"""

from __future__ import annotations

import difflib
import ipaddress
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from labtool.labfile.manifest import (
    air_gap_problems,
    manifest_has_coredns,
    manifest_version,
    read_manifest,
    unmirrored_images,
)
from labtool.labfile.model import Deployment, Kubernetes, Lab, ReplicationController
from labtool.labfile.problems import Found, KeyedError, Loc, type_name
from labtool.labfile.values import (
    DEFAULT_ONLINE_KUBERNETES_VERSION,
    FIRST_ONLINE_MINOR,
    LEGACY_LAST_PATCH,
    PKGS_LAYOUTS,
    SUPPORTED_MINORS,
    is_ip,
    parse_version,
)


def lab_found(raw: dict[str, Any], base_dir: Path) -> tuple[Lab | None, Found]:
    """The lab model of one (merged) lab, or every problem with it as (key path, message)."""
    found: Found = []
    lab: Lab | None = None
    try:
        lab = Lab.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            original = err.get("ctx", {}).get("error")
            if isinstance(original, KeyedError):
                loc = loc + tuple(original.key.split("."))
            found.append((loc, _message(err)))
    found.extend(cross_checks(raw, base_dir))
    return (None if found else lab), found


def cross_checks(raw: dict[str, Any], base_dir: Path) -> Found:
    """Rules that span several keys."""
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), list) else []
    nodes = [node if isinstance(node, dict) else {} for node in nodes]
    k8s = _section(raw, "kubernetes")
    sources = _section(raw, "sources")
    return [*_node_roles(nodes), *_unique_nodes(nodes), *_network_overlaps(raw, nodes),
            *_source_rules(k8s, sources, base_dir), *_workload_labels(_section(raw, "workloads"))]


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    return raw.get(key) if isinstance(raw.get(key), dict) else {}


def _node_roles(nodes: list[dict[str, Any]]) -> Found:
    if not nodes:
        return []
    out: Found = []
    control_planes = [i for i, n in enumerate(nodes) if n.get("role") == "control-plane"]
    if not control_planes:
        out.append((("nodes",), "no node has role: control-plane (a lab needs exactly one)"))
    if not any(n.get("role") == "worker" for n in nodes):
        out.append((("nodes",), "no node has role: worker (the workloads run on workers; "
                    "a lab needs at least one)"))
    for i in control_planes[1:]:
        out.append((("nodes", i, "role"), f"a second control plane (nodes[{control_planes[0]}] "
                    "is one already; a lab has exactly one)"))
    return out


def _unique_nodes(nodes: list[dict[str, Any]]) -> Found:
    out: Found = []
    for key in ("name", "address"):
        seen: dict[str, int] = {}
        for i, node in enumerate(nodes):
            if not isinstance(node.get(key), str):
                continue
            value = node[key].strip().lower()
            if value in seen:
                out.append((("nodes", i, key), f"{node[key]!r} is already used by nodes[{seen[value]}]"))
            else:
                seen[value] = i
    return out


def _networks(raw: dict[str, Any]) -> dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network]:
    k8s = _section(raw, "kubernetes")
    nets = {}
    for key in ("pod_cidr", "service_cidr"):
        value = k8s.get(key, Kubernetes.model_fields[key].default)
        try:
            nets[key] = ipaddress.ip_network(str(value).strip(), strict=True)
        except ValueError:
            pass  # reported by the model
    return nets


def _network_overlaps(raw: dict[str, Any], nodes: list[dict[str, Any]]) -> Found:
    out: Found = []
    nets = _networks(raw)
    if len(nets) == 2 and nets["pod_cidr"].overlaps(nets["service_cidr"]):
        out.append((("kubernetes", "service_cidr"),
                    f"{nets['service_cidr']} overlaps kubernetes.pod_cidr {nets['pod_cidr']}"))
    for i, node in enumerate(nodes):
        for key in ("address", "node_ip"):
            value = node.get(key)
            if not isinstance(value, str) or not is_ip(value.strip()):
                continue
            ip = ipaddress.ip_address(value.strip())
            for net_key, net in nets.items():
                if ip.version == net.version and ip in net:
                    out.append((("nodes", i, key), f"{ip} is inside kubernetes.{net_key} {net}: "
                                "node, pod and service networks must not overlap"))
    return out


def _wanted_version(k8s: dict[str, Any], mode: Any) -> tuple[str | None, tuple[int, int, int] | None]:
    """The version the lab asks for, as written and parsed (None: unknown or malformed).
    Mode local without a version takes the artifacts' own: nothing to compare."""
    version = k8s.get("version", None if mode == "local" else DEFAULT_ONLINE_KUBERNETES_VERSION)
    try:
        parsed = parse_version(version.strip()) if isinstance(version, str) else None
    except ValueError:
        parsed = None
    if parsed and not (parsed[0] == 1 and parsed[1] in SUPPORTED_MINORS):
        parsed = None  # reported by the model
    return version, parsed


def _source_rules(k8s: dict[str, Any], sources: dict[str, Any], base_dir: Path) -> Found:
    mode = sources.get("mode", "online")
    version, parsed = _wanted_version(k8s, mode)
    out: Found = []
    if mode == "online" and parsed and parsed[1] < FIRST_ONLINE_MINOR:
        out.append((("sources", "mode"),
                    f"online installs need Kubernetes ≥ 1.{FIRST_ONLINE_MINOR} (pkgs.k8s.io "
                    f"starts there; kubernetes.version is {version}); use mode local or mirror"))
    if mode == "mirror" and not sources.get("kube_packages_url"):
        out.append((("sources", "kube_packages_url"),
                    "required when sources.mode is mirror (the base URL of a Kubernetes package "
                    "mirror, laid out as sources.kube_packages_layout says)"))
    if mode == "mirror" and parsed:
        out.extend(_layout_rules(sources, version, parsed))
    if mode == "local" and isinstance(sources.get("artifacts", "./artifacts"), str):
        out.extend(_artifact_rules(k8s, sources, parsed, base_dir))
    if sources.get("air_gapped") is True:
        out.extend(_air_gap_rules(sources, mode))
    return [*out, *_settings_for_other_modes(sources, mode), *_settings_for_other_keys(k8s, sources)]


# The sources keys that one mode alone reads: in any other mode they would be silently ignored.
_MODE_OF_KEY = {
    "kube_packages_url": "mirror", "kube_packages_layout": "mirror", "docker_repo_url": "mirror",
    "flannel_manifest_url": "mirror", "coredns_image_repository": "mirror",
    "coredns_image_tag": "mirror", "pause_image": "mirror",
    "artifacts": "local", "local_images": "local",
}


def _settings_for_other_modes(sources: dict[str, Any], mode: Any) -> Found:
    if mode not in ("online", "mirror", "local"):
        return []  # reported by the model
    return [(("sources", key), f"belongs to sources.mode {owner}; this lab's mode is {mode}, "
             f"which never reads it (remove it, or set sources.mode: {owner})")
            for key, owner in _MODE_OF_KEY.items() if key in sources and owner != mode]


def _settings_for_other_keys(k8s: dict[str, Any], sources: dict[str, Any]) -> Found:
    """Mirror settings of a part the lab leaves out: flannel's manifest, CoreDNS's image."""
    out: Found = []
    pod_network = k8s.get("pod_network", Kubernetes.model_fields["pod_network"].default)
    if "flannel_manifest_url" in sources and pod_network != "flannel":
        out.append((("sources", "flannel_manifest_url"), f"only read with kubernetes.pod_network: "
                    f"flannel; this lab's pod network is {pod_network}"))
    if k8s.get("coredns") is False:
        out.extend((("sources", key), "only read when kubernetes.coredns is true; this lab "
                    "installs no CoreDNS") for key in ("coredns_image_repository", "coredns_image_tag")
                   if key in sources)
    return out


def _layout_rules(sources: dict[str, Any], version: Any, parsed: tuple[int, int, int]) -> Found:
    """The versions each package layout serves (values.PKGS_LAYOUTS, LEGACY_LAST_PATCH)."""
    layout = sources.get("kube_packages_layout", "pkgs")
    _, minor, patch = parsed
    at = ("sources", "kube_packages_layout") if "kube_packages_layout" in sources else ("kubernetes", "version")
    if layout in PKGS_LAYOUTS and minor < FIRST_ONLINE_MINOR:
        return [(at, f"the {layout} layout (pkgs.k8s.io's) starts at 1.{FIRST_ONLINE_MINOR}, and "
                 f"kubernetes.version is {version}: Kubernetes 1.20–1.28 come from a mirror of the "
                 "legacy layout (kube_packages_layout: legacy), or from mode local")]
    if layout != "legacy":
        return []
    last = LEGACY_LAST_PATCH.get(minor)
    if last is None:
        return [(at, f"the legacy layout (apt.kubernetes.io, yum.kubernetes.io) never had Kubernetes "
                 f"1.{minor}: it was frozen on 13 September 2023 at 1.28.2; 1.29 and later are "
                 "served by pkgs.k8s.io's layouts only (kube_packages_layout: pkgs or pkgs-no-colons)")]
    if patch > last:
        return [(at, f"the legacy layout's last 1.{minor} is 1.{minor}.{last} (it was frozen on "
                 f"13 September 2023); kubernetes.version is {version}")]
    return []


def _air_gap_rules(sources: dict[str, Any], mode: Any) -> Found:
    """An air-gapped lab fetches nothing: everything comes from the artifacts directory."""
    if mode != "local":
        return [(("sources", "air_gapped"), f"true needs mode local (everything from the artifacts "
                                            f"directory); the mode is {mode}")]
    out: Found = [(("sources", key), "an air-gapped lab (air_gapped: true) fetches nothing over the "
                                     "network: leave it out")
                  for key in ("package_proxy", "proxy", "registry_mirrors") if sources.get(key)]
    if sources.get("local_images") == "mirror":
        out.append((("sources", "local_images"), "mirror needs a registry; an air-gapped lab imports the "
                                                  "artifacts' image tarballs (import)"))
    return out


def _artifact_rules(k8s: dict[str, Any], sources: dict[str, Any],
                    parsed: tuple[int, int, int] | None, base_dir: Path) -> Found:
    path = Path(sources.get("artifacts", "./artifacts")).expanduser()
    path = (path if path.is_absolute() else base_dir / path).resolve()
    try:
        meta = read_manifest(path)
    except ValueError as exc:
        return [(("sources", "artifacts"), str(exc))]
    out: Found = []
    built = manifest_version(meta)
    wanted = ".".join(map(str, parsed)) if parsed else ""
    if built and wanted and built != wanted:
        out.append((("sources", "artifacts"), f"the artifacts in {path} are for Kubernetes "
                    f"{built}, but kubernetes.version is {wanted}"))
    if k8s.get("coredns") is True and not manifest_has_coredns(meta):
        out.append((("kubernetes", "coredns"), f"true, but the artifacts in {path} carry no "
                    "CoreDNS image (images.coredns in artifacts.yml)"))
    if sources.get("local_images") == "mirror":
        out.extend(unmirrored_images(meta, sources.get("registry_mirrors")))
    if sources.get("air_gapped") is True:
        out.extend(air_gap_problems(meta, path))
    return out


def _workload_labels(workloads: dict[str, Any]) -> Found:
    dep = _section(workloads, "deployment")
    rc = _section(workloads, "replication_controller")
    dep_label = dep.get("app_label", Deployment.model_fields["app_label"].default)
    rc_label = rc.get("app_label", ReplicationController.model_fields["app_label"].default)
    if dep_label != rc_label:
        return []
    return [(("workloads", "replication_controller", "app_label"),
             f"app={rc_label} is also the Deployment's label: the Service would select the "
             "RC's pods too")]


# --------------------------------------------------------------------------- the model's words


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that holds the mapping at ``loc`` (for "did you mean")."""
    model: Any = Lab
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = field.annotation
        while typing.get_origin(model) in (list, typing.Union) or type(model).__name__ == "UnionType":
            args = [a for a in typing.get_args(model) if a is not type(None)]
            model = args[0] if args else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None



def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        model = _model_at(tuple(err["loc"][:-1]))
        msg = "unknown key"
        if model is not None:
            close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.5)
            if close:
                msg += f" (did you mean '{close[0]}'?)"
            else:
                msg += f" (valid keys: {', '.join(model.model_fields)})"
        return msg
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{value!r} is not one of {expected}"
    if kind in ("value_error", "assertion_error"):
        return str(err.get("ctx", {}).get("error", err["msg"]))
    if kind == "model_type" or kind == "dict_type":
        return f"must be a mapping, not {type_name(value)}"
    if kind == "list_type":
        return f"must be a list, not {type_name(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, not {value!r}"
    if kind == "string_type":
        return f"must be a string, not {type_name(value)} ({value!r})"
    return f"{err['msg']} (got {value!r})"
