"""The lab file (``lab.yml``): its model and every rule about what a valid lab is.

Nothing downstream re-checks the lab file; everything downstream trusts :class:`Lab`.

``load_lab(path)`` reads the file and returns a :class:`Lab`, or raises
:class:`LabFileError` listing every problem at once — one :class:`Problem` per problem,
each naming the file, the key path (``nodes[1].address``) and what is wrong.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# The version of an online or mirror lab file without kubernetes.version (README: Kubernetes
# version); local mode takes the version its artifacts carry (artifacts.yml).
DEFAULT_ONLINE_KUBERNETES_VERSION = "1.34.1"
SUPPORTED_MINORS = range(20, 36)  # 1.20 – 1.35
FIRST_ONLINE_MINOR = 24  # pkgs.k8s.io starts at 1.24
NODE_PORT_RANGE = (30000, 32767)

_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_URL_RE = re.compile(r"^https?://[^\s/:]+(:\d+)?(/\S*)?$")


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lab file."""

    file: str
    key: str  # key path such as ``nodes[1].address``; "" for the file as a whole
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class LabFileError(Exception):
    """The lab file cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


# --------------------------------------------------------------------------- value checks


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


def _url_or_empty(value: str, what: str) -> str:
    if value and not _URL_RE.match(value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL ({what})")
    return value


def parse_version(value: str) -> tuple[int, int, int]:
    match = _VERSION_RE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a version of the form x.y.z (e.g. 1.20.2)")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def _k8s_name(v: str) -> str:
    if len(v) > 63 or not _NAME_RE.match(v):
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


def _replicas(v: int) -> int:
    if v < 1:
        raise ValueError(f"replicas must be at least 1, not {v}")
    return v


Port = Annotated[int, AfterValidator(_port)]
K8sName = Annotated[str, AfterValidator(_k8s_name)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
Image = Annotated[str, AfterValidator(_image)]
Replicas = Annotated[int, AfterValidator(_replicas)]


# --------------------------------------------------------------------------- the model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Node(_Strict):
    name: str
    address: str
    role: Literal["control-plane", "worker"]
    user: str = "root"
    port: Port = 22
    key: Path | None = None
    node_ip: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 63 or not _NAME_RE.match(v):
            raise ValueError(
                f"{v!r} is not a valid node name (lower-case letters, digits and '-', "
                "at most 63; it becomes the node's host name)"
            )
        return v

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        v = v.strip()
        if not (is_ip(v) or is_host_name(v)):
            raise ValueError(f"{v!r} is neither an IP address nor a host name")
        return v

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not v or any(c.isspace() for c in v):
            raise ValueError(f"{v!r} is not a user name")
        return v

    @field_validator("key", mode="before")
    @classmethod
    def _key(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None or v == "":
            return None
        if not isinstance(v, str):
            raise ValueError("must be a path to a private key file")
        path = _resolve(v, info)
        if not path.is_file():
            raise ValueError(f"key file {path} does not exist")
        return path

    @field_validator("node_ip")
    @classmethod
    def _node_ip(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not is_ip(v):
            raise ValueError(f"{v!r} is not an IP address")
        return v

    @model_validator(mode="after")
    def _default_node_ip(self) -> "Node":
        if self.node_ip is None:
            if not is_ip(self.address):
                raise _KeyedError(
                    "node_ip",
                    f"required when address is a host name ({self.address}): "
                    "the IP kubelet advertises",
                )
            self.node_ip = self.address
        return self


def _supported_version(v: str) -> str:
    major, minor, patch = parse_version(v.strip())
    if major != 1 or minor not in SUPPORTED_MINORS:
        raise ValueError(
            f"Kubernetes {major}.{minor} is not supported (supported: "
            f"1.{SUPPORTED_MINORS[0]} – 1.{SUPPORTED_MINORS[-1]})"
        )
    return f"{major}.{minor}.{patch}"


class Kubernetes(_Strict):
    # None: the default for the sources mode, filled in by Lab (see Lab._defaults_for_mode)
    version: str | None = None
    pod_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    pod_network: Literal["host-gw", "flannel"] = "host-gw"
    coredns: bool | None = None  # None: true, in mode local whether the artifacts carry CoreDNS

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        if isinstance(v, float | int):
            raise ValueError(f"YAML read the version as the number {v!r}; quote it, e.g. \"1.20.2\"")
        return _supported_version(v) if isinstance(v, str) else v

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_network(v.strip(), strict=True))
        except ValueError as exc:
            raise ValueError(f"{v!r} is not a network in CIDR notation ({exc})") from None

    @property
    def minor(self) -> int:
        return parse_version(self.version or "")[1]


class Sources(_Strict):
    mode: Literal["online", "mirror", "local"] = "online"
    artifacts: Path = "./artifacts"  # type: ignore[assignment]  # resolved by the validator
    package_proxy: str = ""
    kube_packages_url: str = ""
    image_repository: str = "registry.k8s.io"
    registry_mirrors: dict[str, list[str]] = Field(default_factory=dict)
    flannel_manifest_url: str = ""
    # mode local: import every image tarball on every node, or let the registry mirrors
    # (which then serve the artifacts' images) give each node the images it runs
    local_images: Literal["import", "mirror"] = "import"

    @field_validator("artifacts", mode="before")
    @classmethod
    def _artifacts(cls, v: Any, info: ValidationInfo) -> Any:
        if not isinstance(v, str):
            return v
        return _resolve(v, info)

    @field_validator("package_proxy")
    @classmethod
    def _proxy(cls, v: str) -> str:
        return _url_or_empty(v.strip(), "an HTTP proxy such as http://10.0.0.1:3142")

    @field_validator("kube_packages_url", "flannel_manifest_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _url_or_empty(v.strip(), "a base URL")

    @field_validator("image_repository")
    @classmethod
    def _image_repository(cls, v: str) -> str:
        v = v.strip()
        if not v or any(c.isspace() for c in v) or "://" in v:
            raise ValueError(f"{v!r} is not an image repository such as registry.k8s.io")
        return v

    @field_validator("registry_mirrors")
    @classmethod
    def _mirrors(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for host, endpoints in v.items():
            if not endpoints:
                raise ValueError(f"{host}: needs at least one endpoint")
            for endpoint in endpoints:
                if not _URL_RE.match(endpoint):
                    raise ValueError(
                        f"{host}: endpoint {endpoint!r} is not an http:// or https:// URL"
                    )
        return v


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


def _unmirrored_images(manifest: Any, mirrors: Any) -> list[tuple[tuple, str]]:
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


class _NginxPods(_Strict):
    """What the Deployment and the RC share: how many nginx pods, from which image."""

    replicas: Replicas = 2
    image: Image = "daocloud.io/library/nginx"
    container_port: Port = 80


class Deployment(_NginxPods):
    name: K8sName = "dep01"
    app_label: LabelValue = "web"
    container_name: K8sName = "testnginx9"


class Service(_Strict):
    name: K8sName = "mysvc"
    port: Port = 8080
    node_port: int = 30001
    target_port: Port = 80

    @field_validator("node_port")
    @classmethod
    def _node_port(cls, v: int) -> int:
        low, high = NODE_PORT_RANGE
        if not low <= v <= high:
            raise ValueError(f"nodePort {v} is outside {low}–{high}")
        return v


class ReplicationController(_NginxPods):
    name: K8sName = "my-nginx"
    app_label: LabelValue = "nginx"


class Workloads(_Strict):
    deployment: Deployment = Field(default_factory=Deployment)
    service: Service = Field(default_factory=Service)
    replication_controller: ReplicationController = Field(default_factory=ReplicationController)


class Lab(_Strict):
    name: str = "workshop"
    node_profile: Literal["machine", "container"] = "machine"
    iptables_service: Literal["stopped", "enabled"] = "stopped"
    nodes: list[Node]
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    sources: Sources = Field(default_factory=Sources)
    workloads: Workloads = Field(default_factory=Workloads)

    _path: Path | None = PrivateAttr(default=None)
    _class_name: str | None = PrivateAttr(default=None)  # set when read from a class file

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 40 or not _NAME_RE.match(v):
            raise ValueError(
                f"{v!r} is not a valid lab name (lower-case letters, digits and '-', at most 40)"
            )
        return v

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, v: list[Node]) -> list[Node]:
        if not v:
            raise ValueError("a lab needs at least one node (a control plane)")
        return v

    @model_validator(mode="after")
    def _defaults_for_mode(self) -> "Lab":
        """kubernetes.version and .coredns default by sources.mode: online and mirror get
        DEFAULT_ONLINE_KUBERNETES_VERSION and CoreDNS; local what its artifacts carry."""
        k8s = self.kubernetes
        if self.sources.mode != "local":
            k8s.version = k8s.version or DEFAULT_ONLINE_KUBERNETES_VERSION
            k8s.coredns = True if k8s.coredns is None else k8s.coredns
        elif k8s.version is None or k8s.coredns is None:
            try:
                meta = read_manifest(self.sources.artifacts)
            except ValueError as exc:
                raise _KeyedError("sources.artifacts", str(exc)) from None
            if k8s.version is None:
                if not manifest_version(meta):
                    raise _KeyedError("kubernetes.version", "not set, and artifacts.yml in "
                                      f"{self.sources.artifacts} names no kubernetes_version")
                try:
                    k8s.version = _supported_version(manifest_version(meta))
                except ValueError as exc:
                    raise _KeyedError("kubernetes.version", f"not set, and the artifacts' "
                                      f"version: {exc}") from None
            k8s.coredns = manifest_has_coredns(meta) if k8s.coredns is None else k8s.coredns
        return self

    @property
    def path(self) -> Path | None:
        """The lab file this lab was read from (None when built in code)."""
        return self._path

    @property
    def class_name(self) -> str | None:
        """The class (classroom file) this lab belongs to; None for a lab file of its own."""
        return self._class_name

    @property
    def state_name(self) -> str:
        """Where its state lives under the state root: ``<lab>`` or ``<class>/<lab>``."""
        return f"{self._class_name}/{self.name}" if self._class_name else self.name

    @property
    def control_plane(self) -> Node:
        return next(n for n in self.nodes if n.role == "control-plane")

    @property
    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "worker"]


# --------------------------------------------------------------------------- helpers


class _KeyedError(ValueError):
    """A ValueError raised by a model validator that belongs to one key of the model."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def _resolve(value: str, info: ValidationInfo) -> Path:
    base = Path((info.context or {}).get("base_dir", "."))
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
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


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "a number",
            float: "a number", bool: "true/false", type(None): "empty"}.get(type(value), type(value).__name__)


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
        return f"must be a mapping, not {_type_name(value)}"
    if kind == "list_type":
        return f"must be a list, not {_type_name(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, not {value!r}"
    if kind == "string_type":
        return f"must be a string, not {_type_name(value)} ({value!r})"
    return f"{err['msg']} (got {value!r})"


# --------------------------------------------------------------------------- YAML positions


def _positions(root: yaml.Node | None) -> tuple[dict[tuple, tuple[int, int]], list[tuple[tuple, int, int]]]:
    """Map every key path to (line, column) of its key; list duplicate keys."""
    where: dict[tuple, tuple[int, int]] = {}
    duplicates: list[tuple[tuple, int, int]] = []

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                mark = key_node.start_mark
                if key in seen:
                    duplicates.append((path + (key,), mark.line + 1, mark.column + 1))
                seen.add(key)
                where.setdefault(path + (key,), (mark.line + 1, mark.column + 1))
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                mark = item.start_mark
                where.setdefault(path + (index,), (mark.line + 1, mark.column + 1))
                walk(item, path + (index,))

    if root is not None:
        walk(root, ())
    return where, duplicates


def _locate(where: dict[tuple, tuple[int, int]], loc: tuple) -> tuple[int | None, int | None]:
    for n in range(len(loc), 0, -1):
        if loc[:n] in where:
            return where[loc[:n]]
    return None, None


def _duplicate_keys(where: dict[tuple, tuple[int, int]],
                    duplicates: list[tuple[tuple, int, int]]) -> tuple[list[tuple[tuple, str]], dict]:
    """A problem per duplicate key, and the line of each (the duplicate's, not the first's)."""
    found: list[tuple[tuple, str]] = []
    at_line: dict[tuple, int] = {}
    for loc, line, _column in duplicates:
        message = f"duplicate key (first at line {where[loc][0]}); only the last one would count"
        found.append((loc, message))
        at_line[(loc, message)] = line
    return found, at_line


def _problems(file: str, found: list[tuple[tuple, str]], where: dict[tuple, tuple[int, int]],
              at_line: dict[tuple, int]) -> list[Problem]:
    """Every problem once, with the line of its key, in the order of the file."""
    problems, seen = [], set()
    for loc, message in found:
        if (loc, message) in seen:
            continue
        seen.add((loc, message))
        line, _column = _locate(where, loc)
        line = at_line.get((loc, message), line)
        problems.append(Problem(file, _key_path(loc), message, line, None))
    problems.sort(key=lambda p: (p.line or 0, p.key))
    return problems



# --------------------------------------------------------------------------- cross checks


def _networks(raw: dict[str, Any]) -> dict[str, ipaddress._BaseNetwork]:
    k8s = raw.get("kubernetes") if isinstance(raw.get("kubernetes"), dict) else {}
    defaults = {"pod_cidr": Kubernetes.model_fields["pod_cidr"].default,
                "service_cidr": Kubernetes.model_fields["service_cidr"].default}
    nets = {}
    for key, default in defaults.items():
        value = k8s.get(key, default)
        try:
            nets[key] = ipaddress.ip_network(str(value).strip(), strict=True)
        except ValueError:
            pass  # reported by the model
    return nets


def _cross_checks(raw: dict[str, Any], base_dir: Path) -> list[tuple[tuple, str]]:
    """Rules that span several keys. Runs on the raw data so that they are reported
    together with every other problem; anything malformed is left to the model."""
    out: list[tuple[tuple, str]] = []
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), list) else None

    if nodes is not None and nodes:
        roles = [(i, n.get("role")) for i, n in enumerate(nodes) if isinstance(n, dict)]
        control_planes = [i for i, role in roles if role == "control-plane"]
        if not control_planes:
            out.append((("nodes",), "no node has role: control-plane (a lab needs exactly one)"))
        if not any(role == "worker" for _, role in roles):
            out.append((("nodes",), "no node has role: worker (the workloads run on workers; "
                        "a lab needs at least one)"))
        if len(control_planes) > 1:
            first = control_planes[0]
            for i in control_planes[1:]:
                out.append(((("nodes", i, "role")),
                            f"a second control plane (nodes[{first}] is one already; "
                            "a lab has exactly one)"))
        for key in ("name", "address"):
            seen: dict[str, int] = {}
            for i, node in enumerate(nodes):
                if not isinstance(node, dict) or not isinstance(node.get(key), str):
                    continue
                value = node[key].strip().lower()
                if value in seen:
                    out.append((("nodes", i, key),
                                f"{node[key]!r} is already used by nodes[{seen[value]}]"))
                else:
                    seen[value] = i

    nets = _networks(raw)
    if "pod_cidr" in nets and "service_cidr" in nets and nets["pod_cidr"].overlaps(nets["service_cidr"]):
        out.append((("kubernetes", "service_cidr"),
                    f"{nets['service_cidr']} overlaps kubernetes.pod_cidr {nets['pod_cidr']}"))
    for i, node in enumerate(nodes or []):
        if not isinstance(node, dict):
            continue
        for key in ("address", "node_ip"):
            value = node.get(key)
            if not isinstance(value, str) or not is_ip(value.strip()):
                continue
            ip = ipaddress.ip_address(value.strip())
            for net_key, net in nets.items():
                if ip.version == net.version and ip in net:
                    out.append((("nodes", i, key),
                                f"{ip} is inside kubernetes.{net_key} {net}: node, pod and "
                                "service networks must not overlap"))

    k8s = raw.get("kubernetes") if isinstance(raw.get("kubernetes"), dict) else {}
    sources = raw.get("sources") if isinstance(raw.get("sources"), dict) else {}
    mode = sources.get("mode", "online")
    # no version in mode local: the artifacts' own (Lab._defaults_for_mode), nothing to compare
    version = k8s.get("version", None if mode == "local" else DEFAULT_ONLINE_KUBERNETES_VERSION)
    try:
        parsed = parse_version(version.strip()) if isinstance(version, str) else None
    except ValueError:
        parsed = None
    if mode == "online" and parsed and parsed[0] == 1 and parsed[1] < FIRST_ONLINE_MINOR \
            and parsed[1] in SUPPORTED_MINORS:
        out.append((("sources", "mode"),
                    f"online installs need Kubernetes ≥ 1.{FIRST_ONLINE_MINOR} (pkgs.k8s.io "
                    f"starts there; kubernetes.version is {version}); use mode local or mirror"))
    if mode == "mirror" and not sources.get("kube_packages_url"):
        out.append((("sources", "kube_packages_url"),
                    "required when sources.mode is mirror (a URL laid out like pkgs.k8s.io)"))
    if mode == "local":
        artifacts = sources.get("artifacts", "./artifacts")
        if isinstance(artifacts, str):
            path = Path(artifacts).expanduser()
            path = (path if path.is_absolute() else base_dir / path).resolve()
            try:
                meta = read_manifest(path)
            except ValueError as exc:
                out.append((("sources", "artifacts"), str(exc)))
                meta = None
            if meta is not None and parsed and parsed[0] == 1 and parsed[1] in SUPPORTED_MINORS:
                built, wanted = manifest_version(meta), ".".join(map(str, parsed))
                if built and built != wanted:
                    out.append((("sources", "artifacts"),
                                f"the artifacts in {path} are for Kubernetes {built}, "
                                f"but kubernetes.version is {wanted}"))
            if meta is not None and k8s.get("coredns") is True and not manifest_has_coredns(meta):
                out.append((("kubernetes", "coredns"),
                            f"true, but the artifacts in {path} carry no CoreDNS image "
                            "(images.coredns in artifacts.yml)"))
            if meta is not None and sources.get("local_images") == "mirror":
                out.extend(_unmirrored_images(meta, sources.get("registry_mirrors")))

    workloads = raw.get("workloads") if isinstance(raw.get("workloads"), dict) else {}
    dep = workloads.get("deployment") if isinstance(workloads.get("deployment"), dict) else {}
    rc = workloads.get("replication_controller") \
        if isinstance(workloads.get("replication_controller"), dict) else {}
    dep_label = dep.get("app_label", Deployment.model_fields["app_label"].default)
    rc_label = rc.get("app_label", ReplicationController.model_fields["app_label"].default)
    if dep_label == rc_label:
        out.append((("workloads", "replication_controller", "app_label"),
                    f"app={rc_label} is also the Deployment's label: the Service would "
                    "select the RC's pods too"))
    return out


# --------------------------------------------------------------------------- loading


def _read_lab_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabFileError([Problem(str(path), "", "no such lab file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabFileError([Problem(str(path), "", f"cannot read the lab file: {exc}")]) from None


def load_lab(path: str | Path) -> Lab:
    """Read and check a lab file. Raises :class:`LabFileError` listing every problem."""
    path = Path(path)
    shown = str(path)
    text = _read_lab_file(path)
    return parse_lab(text, shown, base_dir=path.resolve().parent, path=path.resolve())


def parse_lab(text: str, file: str, *, base_dir: Path, path: Path | None = None) -> Lab:
    """Check the text of a lab file; ``file`` is the name used in messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        what = " ".join(filter(None, [exc.context, exc.problem]))
        raise LabFileError([Problem(file, "", f"YAML syntax error: {what}", line, column)]) from None
    except yaml.YAMLError as exc:
        raise LabFileError([Problem(file, "", f"YAML syntax error: {exc}")]) from None

    if raw is None:
        raise LabFileError([Problem(file, "", "the lab file is empty")])
    if not isinstance(raw, dict):
        raise LabFileError([Problem(file, "", f"the lab file must be a mapping, not {_type_name(raw)}")])

    # a section whose keys are all commented out reads as null: it means "the defaults"
    for section in ("kubernetes", "sources", "workloads"):
        if section in raw and raw[section] is None:
            del raw[section]
    if isinstance(raw.get("sources"), dict) and raw["sources"].get("registry_mirrors", {}) is None:
        del raw["sources"]["registry_mirrors"]

    where, duplicates = _positions(root)
    found, at_line = _duplicate_keys(where, duplicates)
    lab, problems = _lab_found(raw, base_dir)
    found.extend(problems)
    if found:
        raise LabFileError(_problems(file, found, where, at_line))
    assert lab is not None
    lab._path = path
    return lab


# --------------------------------------------------------------------------- a class of labs
#
# A class file holds ``labs:``, a list of labs (each its ``name`` and ``nodes``, and any of
# the lab keys below to override); the top-level lab keys apply to every lab. Each lab is
# checked as the lab file it stands for (the class's keys merged with its own), and its
# problems are reported at the key of the file that holds the bad value.

CLASS_SHARED_KEYS = ("node_profile", "iptables_service", "kubernetes", "sources", "workloads")
CLASS_KEYS = ("name", "labs", *CLASS_SHARED_KEYS)
CLASS_LAB_KEYS = ("name", "nodes", *CLASS_SHARED_KEYS)


@dataclass
class Classroom:
    """Several labs run together (``labtool up -f class.yml``); each is its own cluster."""

    name: str
    labs: list[Lab]
    path: Path | None = None

    def lab(self, name: str) -> Lab:
        return next(lab for lab in self.labs if lab.name == name)

    @property
    def lab_names(self) -> list[str]:
        return [lab.name for lab in self.labs]

    def pick(self, names: typing.Iterable[str]) -> "Classroom":
        """The class restricted to the labs named (``--lab``); unknown names raise
        :class:`LabFileError` naming the labs there are."""
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in self.lab_names]
        if unknown:
            file = str(self.path) if self.path else self.name
            raise LabFileError([Problem(file, "labs", f"no lab named {n!r} (labs: "
                                        f"{', '.join(self.lab_names)})") for n in unknown])
        return Classroom(self.name, [lab for lab in self.labs if lab.name in names], self.path)


def is_class(raw: Any) -> bool:
    """A lab file that holds ``labs:`` is a class file."""
    return isinstance(raw, dict) and "labs" in raw


def merge_lab(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """One lab of a class as a lab file: the class's keys, overridden by the lab's own.
    Mappings merge key by key (``kubernetes: {pod_network: flannel}`` keeps the class's
    version); any other value replaces the class's."""

    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            out = dict(base)
            for key, value in over.items():
                out[key] = merge(base.get(key), value) if key in base else value
            return out
        return over

    merged = {k: v for k, v in shared.items() if k in CLASS_SHARED_KEYS}
    for key, value in own.items():
        merged[key] = merge(merged[key], value) if key in merged else value
    return merged


def _has(raw: Any, loc: tuple) -> bool:
    """Whether the raw data holds the key path ``loc`` (to tell a lab's key from the class's)."""
    node = raw
    for part in loc:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _lab_found(raw: dict[str, Any], base_dir: Path) -> tuple[Lab | None, list[tuple[tuple, str]]]:
    """The lab model of one (merged) lab, or every problem with it as (key path, message)."""
    found: list[tuple[tuple, str]] = []
    lab: Lab | None = None
    try:
        lab = Lab.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            original = err.get("ctx", {}).get("error")
            if isinstance(original, _KeyedError):
                loc = loc + tuple(original.key.split("."))
            found.append((loc, _message(err)))
    found.extend(_cross_checks(raw, base_dir))
    return (None if found else lab), found


def _class_checks(raw: dict[str, Any]) -> list[tuple[tuple, str]]:
    """The rules of the class as a whole: its keys, its labs' names, addresses across labs."""
    out: list[tuple[tuple, str]] = []
    for key in raw:
        if key not in CLASS_KEYS:
            close = difflib.get_close_matches(str(key), CLASS_KEYS, n=1, cutoff=0.5)
            hint = "; each lab of labs: has its own nodes" if key == "nodes" else (
                f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(CLASS_KEYS)})")
            out.append(((key,), f"unknown key in a class file{hint}"))
    name = raw.get("name")
    if name is None:
        out.append((("name",), "required key is missing (the class's name: its state lives in "
                    ".labtool/<name>/)"))
    elif not isinstance(name, str) or len(name) > 40 or not _NAME_RE.match(name):
        out.append((("name",), f"{name!r} is not a valid class name (lower-case letters, digits "
                    "and '-', at most 40)"))
    labs = raw.get("labs")
    if not isinstance(labs, list) or not labs:
        what = "empty" if labs in (None, []) else _type_name(labs)
        out.append((("labs",), f"must be a list of labs (each with name and nodes), not {what}"))
        return out
    names: dict[str, int] = {}
    addresses: dict[str, tuple[int, int]] = {}
    for i, lab in enumerate(labs):
        if not isinstance(lab, dict):
            out.append((("labs", i), f"must be a mapping (a lab: name, nodes, ...), not {_type_name(lab)}"))
            continue
        for key in lab:
            if key not in CLASS_LAB_KEYS:
                close = difflib.get_close_matches(str(key), CLASS_LAB_KEYS, n=1, cutoff=0.5)
                hint = f" (did you mean '{close[0]}'?)" if close else \
                    f" (valid keys: {', '.join(CLASS_LAB_KEYS)})"
                out.append((("labs", i, key), f"unknown key{hint}"))
        lab_name = lab.get("name")
        if "name" not in lab:  # a lab file of its own may leave it out; a class's lab may not
            out.append((("labs", i, "name"), "required key is missing (the lab's name: its "
                        "state lives in .labtool/<class>/<name>/)"))
        elif isinstance(lab_name, str):
            if lab_name in names:
                out.append((("labs", i, "name"), f"{lab_name!r} is already the name of labs[{names[lab_name]}] "
                            "(lab names are unique in a class: each is a directory of its state)"))
            else:
                names[lab_name] = i
        for j, node in enumerate(lab.get("nodes") if isinstance(lab.get("nodes"), list) else []):
            if not isinstance(node, dict) or not isinstance(node.get("address"), str):
                continue
            address = node["address"].strip().lower()
            if address in addresses and addresses[address][0] != i:
                other_lab, other_node = addresses[address]
                other = labs[other_lab].get("name") if isinstance(labs[other_lab], dict) else None
                out.append((("labs", i, "nodes", j, "address"),
                            f"{node['address']!r} is already used by labs[{other_lab}].nodes[{other_node}]"
                            f"{f' (lab {other!r})' if isinstance(other, str) else ''}: a machine "
                            "belongs to one lab"))
            else:
                addresses.setdefault(address, (i, j))
    return out


def parse_class(text: str, file: str, *, base_dir: Path, path: Path | None = None) -> Classroom:
    """Check the text of a class file; raises :class:`LabFileError` listing every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        return typing.cast(Classroom, parse_lab(text, file, base_dir=base_dir, path=path))
    where, duplicates = _positions(root)
    found, at_line = _duplicate_keys(where, duplicates)
    for section in ("kubernetes", "sources", "workloads"):
        if section in raw and raw[section] is None:
            del raw[section]
    found.extend(_class_checks(raw))
    labs: list[Lab] = []
    for i, own in enumerate(raw.get("labs") if isinstance(raw.get("labs"), list) else []):
        if not isinstance(own, dict):
            continue
        own = {k: v for k, v in own.items() if k in CLASS_LAB_KEYS and not (
            k in ("kubernetes", "sources", "workloads") and v is None)}
        lab, problems = _lab_found(merge_lab(raw, own), base_dir)
        label = own.get("name") if isinstance(own.get("name"), str) else f"labs[{i}]"
        for loc, message in problems:
            if loc and loc[0] in ("name", "nodes") or _has(own, loc):
                # the lab's own key (or one the lab must have): reported under labs[i]
                text_ = message if loc[:1] == ("name",) else f"lab {label!r}: {message}"
                found.append((("labs", i, *loc), text_))
            else:
                found.append((loc, message))  # the class's key, shared by every lab
        if lab is not None:
            lab._path = path
            lab._class_name = raw.get("name") if isinstance(raw.get("name"), str) else None
            labs.append(lab)
    if found:
        raise LabFileError(_problems(file, found, where, at_line))
    return Classroom(name=raw["name"], labs=labs, path=path)


def load(path: str | Path) -> Lab | Classroom:
    """Read a lab file or a class file (one that holds ``labs:``); raises
    :class:`LabFileError` listing every problem of either."""
    path = Path(path)
    shown = str(path)
    text = _read_lab_file(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raw = None  # parse_lab reports the syntax error with its position
    if is_class(raw):
        return parse_class(text, shown, base_dir=path.resolve().parent, path=path.resolve())
    return parse_lab(text, shown, base_dir=path.resolve().parent, path=path.resolve())
