"""The lab model: what a valid lab is, key by key. Everything downstream trusts :class:`Lab`.

Rules that span several keys live in :mod:`labtool.labfile.rules`; a class of labs in
:mod:`labtool.labfile.classfile`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from labtool.labfile.manifest import manifest_has_coredns, manifest_version, read_manifest
from labtool.labfile.problems import KeyedError
from labtool.labfile.proxy import NoProxy, ProxyUrl, proxy_settings
from labtool.labfile.values import (
    DEFAULT_ONLINE_KUBERNETES_VERSION,
    NAME_RE,
    NODE_PORT_RANGE,
    URL_RE,
    Image,
    ImagePart,
    K8sName,
    LabelValue,
    Port,
    Replicas,
    is_host_name,
    is_ip,
    parse_version,
    supported_version,
    url_or_empty,
)


def _resolve(value: str, info: ValidationInfo) -> Path:
    """A path of the lab file, relative to the lab file's directory."""
    base = Path((info.context or {}).get("base_dir", "."))
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# a password in the lab file is refused, naming the ways that work (labtool.secrets)
PASSWORD_REFUSED = (
    "a password is never written in the lab file (it would end up in copies, backups and "
    "version control); give it by --ask-pass (and --ask-become-pass), by the environment "
    "variables LABTOOL_SSH_PASSWORD (and LABTOOL_BECOME_PASSWORD), or by password_file: "
    "naming a file only you can read (chmod 600)"
)
PASSWORD_KEYS = ("password", "ansible_password", "ansible_ssh_pass", "ansible_become_password",
                 "become_password", "sudo_password")


def _refuse_passwords(data: Any) -> Any:
    if isinstance(data, dict):
        for key in PASSWORD_KEYS:
            if key in data:
                raise KeyedError(key, PASSWORD_REFUSED)
    return data


def _password_file(v: Any, info: ValidationInfo) -> Path | None:
    """A file holding a node's password: it must exist and be readable by its owner alone."""
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise ValueError("must be the path of a file holding the password")
    path = _resolve(v, info)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ValueError(f"password file {path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ValueError(f"password file {path} is not a file")
    if mode & 0o077:
        raise ValueError(f"password file {path} can be read by others (mode {mode & 0o777:o}); "
                         f"make it yours alone: chmod 600 {path}")
    return path


class Node(_Strict):
    name: str
    address: str
    role: Literal["control-plane", "worker"]
    user: str = "root"
    port: Port = 22
    key: Path | None = None
    node_ip: str | None = None
    # the login's (and sudo's) password, read on the controller by Ansible (labtool.inventory)
    password_file: Path | None = None

    _no_password = model_validator(mode="before")(_refuse_passwords)
    _password_file = field_validator("password_file", mode="before")(_password_file)

    @property
    def become(self) -> bool:
        """A node user other than root runs the walkthrough through sudo."""
        return self.user != "root"

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 63 or not NAME_RE.match(v):
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
                raise KeyedError(
                    "node_ip",
                    f"required when address is a host name ({self.address}): "
                    "the IP kubelet advertises",
                )
            self.node_ip = self.address
        return self


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
        return supported_version(v) if isinstance(v, str) else v

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
    # everything the nodes fetch (packages unless package_proxy, images, kubeadm's pulls)
    proxy: ProxyUrl = ""
    proxy_password_file: Path | None = None
    no_proxy: NoProxy = Field(default_factory=list)  # labtool adds nodes, CIDRs, cluster names
    kube_packages_url: str = ""
    kube_packages_layout: Literal["pkgs", "pkgs-no-colons", "legacy"] = "pkgs"
    image_repository: str = "registry.k8s.io"
    registry_mirrors: dict[str, list[str]] = Field(default_factory=dict)
    flannel_manifest_url: str = ""
    docker_repo_url: str = ""  # RHEL nodes: a mirror of download.docker.com/linux/centos
    coredns_image_repository: ImagePart = ""  # kubeadm's dns.imageRepository ("" = image_repository)
    coredns_image_tag: ImagePart = ""  # kubeadm's dns.imageTag ("" = kubeadm's own)
    pause_image: ImagePart = ""  # containerd's sandbox image ("" = <image_repository>/pause:<kubeadm's tag>)
    # mode local: each node imports every image tarball, or pulls what it runs from the registry mirrors
    local_images: Literal["import", "mirror"] = "import"
    air_gapped: bool = False  # mode local and nothing but SSH: the OS packages from the artifacts too

    @field_validator("artifacts", mode="before")
    @classmethod
    def _artifacts(cls, v: Any, info: ValidationInfo) -> Any:
        if not isinstance(v, str):
            return v
        return _resolve(v, info)

    @field_validator("package_proxy")
    @classmethod
    def _proxy(cls, v: str) -> str:
        return url_or_empty(v.strip(), "an HTTP proxy such as http://10.0.0.1:3142")

    _proxy_password_file = field_validator("proxy_password_file", mode="before")(_password_file)
    _proxy_settings = model_validator(mode="after")(proxy_settings)

    @field_validator("kube_packages_url", "flannel_manifest_url", "docker_repo_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return url_or_empty(v.strip(), "a base URL")

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
                if not URL_RE.match(endpoint):
                    raise ValueError(
                        f"{host}: endpoint {endpoint!r} is not an http:// or https:// URL"
                    )
        return v


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
    # defaults for every node that does not set its own
    user: str | None = None
    password_file: Path | None = None
    iptables_service: Literal["stopped", "enabled"] = "stopped"
    nodes: list[Node]
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    sources: Sources = Field(default_factory=Sources)
    workloads: Workloads = Field(default_factory=Workloads)

    _path: Path | None = PrivateAttr(default=None)
    _class_name: str | None = PrivateAttr(default=None)  # set when read from a class file
    # the run's passwords (labtool.secrets.Secrets): never part of the model's dump
    _secrets: Any = PrivateAttr(default=None)

    _no_password = model_validator(mode="before")(_refuse_passwords)
    _password_file = field_validator("password_file", mode="before")(_password_file)

    @field_validator("user")
    @classmethod
    def _user(cls, v: str | None) -> str | None:
        return Node._user(v) if v is not None else None

    @model_validator(mode="after")
    def _node_defaults(self) -> "Lab":
        for node in self.nodes:
            if self.user is not None and "user" not in node.model_fields_set:
                node.user = self.user
            if node.password_file is None:
                node.password_file = self.password_file
        return self

    @property
    def secrets(self) -> Any:
        """The passwords given for this run (by prompt or environment), or None."""
        return self._secrets

    def with_secrets(self, secrets: Any) -> "Lab":
        self._secrets = secrets or None
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if len(v) > 40 or not NAME_RE.match(v):
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
                raise KeyedError("sources.artifacts", str(exc)) from None
            if k8s.version is None:
                if not manifest_version(meta):
                    raise KeyedError("kubernetes.version", "not set, and artifacts.yml in "
                                      f"{self.sources.artifacts} names no kubernetes_version")
                try:
                    k8s.version = supported_version(manifest_version(meta))
                except ValueError as exc:
                    raise KeyedError("kubernetes.version", f"not set, and the artifacts' "
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
