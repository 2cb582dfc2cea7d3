"""The explanation: what `labtool explain` says, as plain data. Renderers (text, rich, SVG,
JSON) read only this; :mod:`labtool.explain.build` makes it from the gathered facts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Problem:
    kind: str  # no-service | no-endpoints | unreachable | not-read | kubectl | iptables-save | no-rules
    node: str  # the node it concerns ("" for the cluster)
    message: str  # one line


@dataclass
class PortRole:
    name: str  # port | nodePort | targetPort
    number: int
    where: str  # "10.97.107.29 (the ClusterIP)", "every node's IP", "each endpoint pod"
    who: str  # who connects to it


@dataclass
class Pod:
    name: str
    ip: str
    node: str
    labels: dict[str, str]
    owner: str  # "ReplicaSet/dep01-5d8f7c9b6d"
    controller: str  # the top controller: "Deployment/dep01", "ReplicationController/my-nginx"
    ready: bool


@dataclass
class Endpoint:
    ip: str
    port: int
    pod: str
    node: str
    controller: str
    in_deployment: bool  # belongs to the walkthrough's Deployment (dep01)
    ready: bool = True


@dataclass
class Service:
    name: str
    namespace: str
    type: str
    cluster_ip: str
    port: int
    node_port: int | None
    target_port: int | str
    protocol: str
    selector: dict[str, str]


@dataclass
class Hop:
    """One rule on the path, in the order the packet meets it."""

    chain: str
    rule: str
    does: str  # in words: "jumps to KUBE-SVC-…", "marks for masquerade", "DNAT to 10.244.1.3:80"
    condition: str = ""  # "when source not 10.244.0.0/16"
    matches: str = ""  # the rule's matches in words: "tcp, dport 30001"
    comment: str = ""
    target: str = ""
    action: str = ""  # jump | goto | mark | nat | return | other
    depth: int = 0
    packets: int | None = None


@dataclass
class Branch:
    """One endpoint chain the service chain can pick."""

    chain: str
    probability: float  # the share of the path's packets that take it (0..1)
    rule_probability: float | None  # the --probability on the rule (None: the last, always)
    dnat_to: str  # ip:port
    pod: str  # the pod with that IP ("" when none)
    is_endpoint: bool  # the DNAT target is one of the Service's endpoints
    packets: int | None = None  # the DNAT rule's packet counter


@dataclass
class Path:
    kind: str  # nodeport | cluster-ip
    entry: str  # the built-in chain the walk starts in
    destination: str  # 172.25.33.11:30001
    chains: list[str]  # every chain the packet passes, in order
    hops: list[Hop]
    branches: list[Branch]
    entry_rule: str = ""  # the first rule that matched on the port (its counter counts requests)
    entry_packets: int | None = None


@dataclass
class Masquerade:
    mark: str  # 0x4000/0x4000
    mark_chain: str  # KUBE-MARK-MASQ
    postrouting_chain: str  # KUBE-POSTROUTING
    rule: str  # the MASQUERADE rule


@dataclass
class Listener:
    address: str
    port: int
    program: str
    meaning: str  # metrics | healthz | nodeport-reservation | other


@dataclass
class IptablesService:
    unit: str  # netfilter-persistent.service | iptables.service | "" (none installed)
    active: str  # ActiveState
    enabled: str  # UnitFileState


@dataclass
class NodeView:
    name: str
    address: str
    node_ip: str
    role: str
    reached: bool
    iptables_service: IptablesService | None = None
    kube_rules: int = 0  # live rules in KUBE-* chains of the nat table (and jumps into them)
    paths: list[Path] = field(default_factory=list)
    masquerade: Masquerade | None = None
    kube_proxy_listeners: list[Listener] = field(default_factory=list)


@dataclass
class KubeProxy:
    configured_mode: str  # config.conf mode: as written ("" when empty)
    mode: str  # effective: iptables | ipvs | userspace | nftables | unknown
    version: str
    walkthrough_says: str
    lab_does: str
    dnat_to_pods: bool  # every DNAT of the service's paths goes to an endpoint pod
    random_port_listeners: list[str]  # node:address:port kube-proxy listens on beyond metrics/healthz/nodePort


@dataclass
class RCView:
    name: str
    desired: int
    current: int
    ready: int
    selector: dict[str, str]
    pods: list[Pod]
    delete_says: str
    cascade_says: str


@dataclass
class ProbeEndpoint:
    pod: str
    ip: str
    packets: int  # new connections DNATed to it during the probe, all nodes


@dataclass
class ProbeNode:
    node: str
    nodeport_requests: int  # sent to this node's NodePort
    nodeport_ok: int  # answered 200
    cluster_ip_requests: int  # sent to the ClusterIP from this node
    cluster_ip_ok: int
    entry_packets: dict[str, int]  # path kind -> how many the entry rule counted
    endpoints: dict[str, int]  # endpoint ip:port -> packets DNATed to it on this node
    counters_reset: bool  # a counter went down: kube-proxy rewrote the rules meanwhile


@dataclass
class Probe:
    requests: int  # N
    nodes: list[ProbeNode]
    endpoints: list[ProbeEndpoint]
    total_packets: int
    sent: int
    answered: int


@dataclass
class Explanation:
    lab: str
    kubernetes_version: str
    service: Service | None
    ports: list[PortRole]
    endpoints: list[Endpoint]
    not_endpoints: list[Pod]  # pods students mistake for endpoints (the RC's)
    not_endpoints_why: str
    nodes: list[NodeView]
    kube_proxy: KubeProxy | None
    rc: RCView | None
    probe: Probe | None
    problems: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
