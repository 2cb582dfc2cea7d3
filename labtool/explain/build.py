"""From the gathered facts (raw kubectl JSON, iptables-save, ss and systemctl output, as the
explain playbook hands them over) to an :class:`~labtool.explain.model.Explanation`.

Pure: facts in, explanation out. The facts' shape is that of ``labtool_explain`` (see
playbooks/explain.yml); tests feed recorded ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from labtool.explain import iptables as ipt
from labtool.explain.model import (
    Branch,
    Endpoint,
    Explanation,
    Hop,
    IptablesService,
    KubeProxy,
    Listener,
    Masquerade,
    NodeView,
    Path,
    Pod,
    PortRole,
    Probe,
    ProbeEndpoint,
    ProbeNode,
    Problem,
    RCView,
    Service,
)

IPTABLES_UNITS = ("netfilter-persistent.service", "iptables.service")
USERSPACE_SAYS = ("kube-proxy opens a random port on the node for the Service, iptables "
                  "redirects the Service's traffic to that port, and kube-proxy itself "
                  "forwards it to a pod (its old 'userspace' mode)")


@dataclass
class LabNode:
    """What the lab file says of a node (the explanation's list of nodes comes from here)."""

    name: str
    address: str
    node_ip: str
    role: str  # control-plane | worker


def _kubectl(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """kubectl results by object name: {rc, stdout, stderr, json}."""
    out: dict[str, dict[str, Any]] = {}
    raw = facts.get("kubectl") or []
    items = raw.items() if isinstance(raw, dict) else ((r.get("item", {}).get("key"), r) for r in raw)
    for key, res in items:
        if not key or not isinstance(res, dict):
            continue
        entry = {"rc": res.get("rc"), "stdout": res.get("stdout") or "",
                 "stderr": (res.get("stderr") or res.get("msg") or "").strip(), "json": None}
        if entry["rc"] == 0:
            try:
                entry["json"] = json.loads(entry["stdout"])
            except ValueError:
                entry["json"] = None
        out[key] = entry
    return out


def _first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _pods(kube: dict[str, dict[str, Any]]) -> dict[str, Pod]:
    rs_owner: dict[str, str] = {}
    for rs in ((kube.get("replicasets") or {}).get("json") or {}).get("items", []):
        owners = rs.get("metadata", {}).get("ownerReferences") or []
        if owners:
            rs_owner[rs["metadata"]["name"]] = f"{owners[0]['kind']}/{owners[0]['name']}"
    pods: dict[str, Pod] = {}
    for item in ((kube.get("pods") or {}).get("json") or {}).get("items", []):
        meta, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
        if meta.get("deletionTimestamp"):
            continue
        owners = meta.get("ownerReferences") or []
        owner = f"{owners[0]['kind']}/{owners[0]['name']}" if owners else ""
        controller = owner
        if owners and owners[0]["kind"] == "ReplicaSet":
            controller = rs_owner.get(owners[0]["name"], owner)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in status.get("conditions") or [])
        pods[meta.get("name", "")] = Pod(
            name=meta.get("name", ""), ip=status.get("podIP") or "", node=spec.get("nodeName") or "",
            labels=dict(meta.get("labels") or {}), owner=owner, controller=controller, ready=ready)
    return pods


def _service(obj: dict[str, Any]) -> Service:
    spec, meta = obj.get("spec", {}), obj.get("metadata", {})
    port = (spec.get("ports") or [{}])[0]
    return Service(name=meta.get("name", ""), namespace=meta.get("namespace", "default"),
                   type=spec.get("type", ""), cluster_ip=spec.get("clusterIP", ""),
                   port=int(port.get("port", 0)), node_port=port.get("nodePort"),
                   target_port=port.get("targetPort", port.get("port", 0)),
                   protocol=port.get("protocol", "TCP"), selector=dict(spec.get("selector") or {}))


def _endpoints(obj: dict[str, Any], pods: dict[str, Pod], deployment: str) -> list[Endpoint]:
    out: list[Endpoint] = []
    for subset in obj.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [0]
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for addr in subset.get(key) or []:
                ref = addr.get("targetRef") or {}
                pod = pods.get(ref.get("name", "")) if ref.get("kind") == "Pod" else None
                controller = pod.controller if pod else ""
                for port in ports:
                    out.append(Endpoint(
                        ip=addr.get("ip", ""), port=int(port), pod=ref.get("name", ""),
                        node=addr.get("nodeName") or (pod.node if pod else ""),
                        controller=controller,
                        in_deployment=controller == f"Deployment/{deployment}", ready=ready))
    return out


# --------------------------------------------------------------------------- the nat table


def _does(step: ipt.Step) -> str:
    if step.action == "mark":
        mark = step.target_options.get("--set-xmark") or step.target_options.get("--set-mark") \
            or step.target_options.get("--or-mark") or ""
        return f"sets mark {mark}"
    if step.action == "nat":
        to = step.target_options.get("--to-destination") or step.target_options.get("--to-ports") \
            or step.target_options.get("--to-source") or ""
        return f"{step.target} to {to}".strip() if to else str(step.target)
    if step.action == "return":
        return "returns"
    if step.action in ("jump", "goto"):
        return f"{'goes' if step.action == 'goto' else 'jumps'} to {step.target}"
    return str(step.target or "counts")


def _hops(steps: list[ipt.Step], depth: int = 0) -> list[Hop]:
    hops: list[Hop] = []
    for s in steps:
        cond = ("when " + ", ".join(s.conditions)) if s.conditions else ""
        if s.probability is not None:
            cond = (cond + ", " if cond else "") + f"with probability {s.probability:g}"
        hops.append(Hop(chain=s.chain, rule=s.rule, does=_does(s), condition=cond, depth=depth,
                        packets=s.packets, matches=", ".join(s.matches), comment=s.comment,
                        target=s.target or "", action=s.action))
        hops.extend(_hops(s.children, depth + 1))
    return hops


def _has_nat(step: ipt.Step) -> bool:
    return any(s.action == "nat" for s in ipt.walk([step]))


def _path(table: ipt.Table, kind: str, entry: str, pkt: ipt.Packet,
          endpoint_ips: dict[str, str], pods_by_ip: dict[str, str]) -> Path:
    steps, _ = ipt.trace(table, entry, pkt)
    chains: list[str] = [entry]
    for s in ipt.walk(steps):
        if s.action in ("jump", "goto") and s.target not in chains and _has_nat(s):
            chains.append(s.target or "")
    branches: list[Branch] = []
    for s in ipt.walk(steps):
        if s.action not in ("jump", "goto"):
            continue
        dnats = [c for c in s.children if c.action == "nat" and c.target == "DNAT" and not c.conditions]
        if not dnats:
            continue
        to = dnats[0].target_options.get("--to-destination") or ""
        ip = to.rsplit(":", 1)[0]
        branches.append(Branch(chain=s.target or "", probability=round(s.reach, 6),
                               rule_probability=s.probability, dnat_to=to,
                               pod=endpoint_ips.get(to) or pods_by_ip.get(ip, ""),
                               is_endpoint=to in endpoint_ips,
                               packets=dnats[0].packets))
    entry_step = next((s for s in ipt.walk(steps)
                       if s.action in ("jump", "goto") and _has_nat(s)
                       and any(m in s.rule for m in ("--dport", "--dports"))), None)
    return Path(kind=kind, entry=entry, destination=f"{pkt.dst}:{pkt.dport}", chains=chains,
                hops=_hops(steps), branches=branches,
                entry_rule=entry_step.rule if entry_step else "",
                entry_packets=entry_step.packets if entry_step else None)


def _masquerade(table: ipt.Table) -> Masquerade | None:
    """The mark a chain sets for masquerading, and the POSTROUTING rule that acts on it."""
    steps, _ = ipt.trace(table, "POSTROUTING", ipt.Packet("0.0.0.0", 0))
    for s in ipt.walk(steps):
        if s.target == "MASQUERADE" and s.chain.startswith("KUBE-"):
            chain = table.chains[s.chain]
            mark = ""
            for rule in chain.rules:
                m = rule.find("--mark")
                if m is not None and m.value:
                    mark = m.value
                    break
            mark_chain = ""
            for c in table.chains.values():
                if c.name.startswith("KUBE-") and any(
                        r.target == "MARK" and (r.target_options.get("--set-xmark") == mark
                                                or r.target_options.get("--or-mark") == mark.split("/")[0])
                        for r in c.rules):
                    mark_chain = c.name
                    break
            return Masquerade(mark=mark, mark_chain=mark_chain, postrouting_chain=s.chain, rule=s.rule)
    return None


def _kube_rules(table: ipt.Table) -> int:
    return sum(1 for r in table.rules()
               if r.chain.startswith("KUBE-") or (r.target or "").startswith("KUBE-"))


# --------------------------------------------------------------------------- node facts


def _units(text: str) -> IptablesService | None:
    blocks, cur = [], {}
    for line in (text or "").splitlines() + [""]:
        if not line.strip():
            if cur:
                blocks.append(cur)
            cur = {}
            continue
        key, _, value = line.partition("=")
        cur[key.strip()] = value.strip()
    loaded = [b for b in blocks if b.get("LoadState") == "loaded"]
    if not loaded:
        return IptablesService(unit="", active="not installed", enabled="not installed") \
            if blocks else None
    b = loaded[0]
    return IptablesService(unit=b.get("Id", ""), active=b.get("ActiveState", ""),
                           enabled=b.get("UnitFileState", ""))


_SS_RE = re.compile(r'users:\(\("([^"]+)"')


def _listeners(text: str, program: str, config: dict[str, Any], node_ports: set[int]) -> list[Listener]:
    metrics = str(config.get("metricsBindAddress") or "127.0.0.1:10249").rsplit(":", 1)[-1]
    healthz = str(config.get("healthzBindAddress") or "0.0.0.0:10256").rsplit(":", 1)[-1]
    out: list[Listener] = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        if fields[0] in ("LISTEN", "UNCONN"):
            local = fields[3]
        else:  # no State column
            local = fields[2]
        m = _SS_RE.search(line)
        if not m or m.group(1) != program:
            continue
        addr, _, port = local.rpartition(":")
        if not port.isdigit():
            continue
        n = int(port)
        meaning = ("metrics" if port == metrics else "healthz" if port == healthz
                   else "nodeport-reservation" if n in node_ports else "other")
        out.append(Listener(address=addr, port=n, program=program, meaning=meaning))
    return out


def _counter_deltas(before: ipt.Table, after: ipt.Table, chains: list[str]) -> tuple[dict[str, int], bool]:
    """Packets the DNAT rule of each chain in ``chains`` counted between the two saves."""
    deltas: dict[str, int] = {}
    reset = False
    for name in chains:
        def dnat(table: ipt.Table) -> ipt.Rule | None:
            chain = table.chains.get(name)
            return next((r for r in chain.rules if r.target == "DNAT"), None) if chain else None
        b, a = dnat(before), dnat(after)
        if a is None or a.packets is None:
            continue
        was = b.packets if b is not None and b.packets is not None else 0
        if a.packets < was:
            reset = True
            deltas[a.to_destination or name] = a.packets
        else:
            deltas[a.to_destination or name] = a.packets - was
    return deltas, reset


def _entry_delta(before: ipt.Table, after: ipt.Table, rule_text: str) -> int | None:
    def find(table: ipt.Table) -> ipt.Rule | None:
        return next((r for r in table.rules() if r.text == rule_text), None)
    b, a = find(before), find(after)
    if a is None or a.packets is None:
        return None
    return a.packets - (b.packets or 0) if b is not None and (b.packets or 0) <= a.packets else a.packets


# --------------------------------------------------------------------------- the whole


def build(facts: dict[str, Any], *, lab_name: str, nodes: list[LabNode], deployment: str,
          replication_controller: str, unreachable: dict[str, str] | None = None) -> Explanation:
    unreachable = dict(unreachable or {})
    problems: list[Problem] = []
    kube = _kubectl(facts)
    service_name = str(facts.get("service") or "")
    cp = next((n.name for n in nodes if n.role == "control-plane"), "")

    svc_res = kube.get("service")
    service: Service | None = None
    if cp in unreachable:
        pass
    elif svc_res is None:
        problems.append(Problem("kubectl", cp, f"the control plane {cp} was not asked for Service "
                                               f"{service_name} (the run stopped before)"))
    elif svc_res["json"] is None:
        why = _first_line(svc_res["stderr"])
        kind = "no-service" if "NotFound" in why or "not found" in why else "kubectl"
        msg = (f"no Service {service_name} in namespace default" if kind == "no-service"
               else f"kubectl on {cp} cannot read Service {service_name}")
        problems.append(Problem(kind, cp, f"{msg}: {why}" if why else msg))
    else:
        service = _service(svc_res["json"])

    pods = _pods(kube)
    pods_by_ip = {p.ip: p.name for p in pods.values() if p.ip}
    endpoints: list[Endpoint] = []
    if service is not None:
        ep = (kube.get("endpoints") or {}).get("json")
        endpoints = _endpoints(ep or {}, pods, deployment)
        if not [e for e in endpoints if e.ready]:
            sel = ",".join(f"{k}={v}" for k, v in service.selector.items())
            problems.append(Problem("no-endpoints", cp,
                                    f"Service {service.name} has no ready endpoints: no ready pod "
                                    f"matches its selector {sel or '(none)'}"))
    endpoint_addrs = {f"{e.ip}:{e.port}": e.pod for e in endpoints}

    # the RC, and its pods (which are not the Service's endpoints)
    rc: RCView | None = None
    rc_obj = (kube.get("replication_controller") or {}).get("json")
    if rc_obj:
        sel = dict(rc_obj.get("spec", {}).get("selector") or {})
        rc_pods = [p for p in pods.values() if p.owner == f"ReplicationController/{replication_controller}"]
        st = rc_obj.get("status", {})
        rc = RCView(
            name=replication_controller, desired=int(rc_obj.get("spec", {}).get("replicas", 0)),
            current=int(st.get("replicas", 0)), ready=int(st.get("readyReplicas", 0)), selector=sel,
            pods=sorted(rc_pods, key=lambda p: p.name),
            delete_says=(f"kubectl delete rc {replication_controller} deletes the RC and then its "
                         f"{len(rc_pods)} pods (their owner is the RC: the garbage collector removes "
                         "them); with --cascade=orphan the RC goes and the pods stay, ownerless, "
                         "and no one replaces them when they die"),
            cascade_says=("the walkthrough's --cascade=false is the old spelling: current kubectl "
                          "deprecates it in favour of --cascade=orphan (same effect); "
                          "--cascade=background is the default"))
    not_endpoints: list[Pod] = []
    why_not = ""
    if service is not None and service.selector:
        ep_pods = {e.pod for e in endpoints}
        not_endpoints = sorted((p for p in pods.values() if p.name not in ep_pods
                                and not _selector_matches(service.selector, p.labels)
                                and p.labels.get("app") is not None and p.controller
                                and not p.controller.startswith("Deployment/" + deployment)),
                               key=lambda p: p.name)
        if not_endpoints:
            sel = ",".join(f"{k}={v}" for k, v in service.selector.items())
            labels = sorted({",".join(f"{k}={v}" for k, v in p.labels.items()) for p in not_endpoints})
            why_not = (f"{service.name} selects pods labelled {sel}; these pods are labelled "
                       f"{' / '.join(labels)}, so they are not its endpoints and no request to "
                       f"{service.name} reaches them")

    # kube-proxy: its mode, its version
    config: dict[str, Any] = {}
    cm = (kube.get("kube_proxy_config") or {}).get("json")
    configured = ""
    if cm:
        try:
            config = yaml.safe_load((cm.get("data") or {}).get("config.conf") or "") or {}
        except yaml.YAMLError:
            config = {}
        configured = str(config.get("mode") or "")
    k8s_nodes = ((kube.get("nodes") or {}).get("json") or {}).get("items", [])
    version = next((n.get("status", {}).get("nodeInfo", {}).get("kubeProxyVersion", "")
                    for n in k8s_nodes), "")
    internal_ip = {n["metadata"]["name"]: next((a["address"] for a in n.get("status", {}).get("addresses", [])
                                                if a.get("type") == "InternalIP"), "")
                   for n in k8s_nodes}

    node_views: list[NodeView] = []
    probe_nodes: list[ProbeNode] = []
    gathered = facts.get("nodes") or {}
    requests = int(facts.get("probe_requests") or 0)
    for node in nodes:
        f = gathered.get(node.name)
        view = NodeView(name=node.name, address=node.address,
                        node_ip=internal_ip.get(node.name) or node.node_ip or node.address,
                        role=node.role, reached=f is not None)
        node_views.append(view)
        if f is None:
            if node.name in unreachable:
                why = unreachable[node.name]
                problems.append(Problem("unreachable", node.name,
                                        f"node {node.name} ({node.address}) unreachable"
                                        + (f": {_first_line(why)}" if why else "")))
            else:
                problems.append(Problem("not-read", node.name,
                                        f"node {node.name} ({node.address}) was not read: the "
                                        "gathering run stopped before"))
            continue
        view.iptables_service = _units((f.get("units") or {}).get("stdout", ""))
        save = f.get("iptables_save") or {}
        if save.get("rc") != 0 or not save.get("stdout"):
            problems.append(Problem("iptables-save", node.name,
                                    f"iptables-save -t nat failed on {node.name}: "
                                    f"{_first_line(save.get('stderr') or save.get('msg') or '')}"))
            continue
        table = ipt.parse_table(save["stdout"], "nat")
        view.kube_rules = _kube_rules(table)
        view.masquerade = _masquerade(table)
        node_ports = {service.node_port} if service and service.node_port else set()
        view.kube_proxy_listeners = _listeners((f.get("ss") or {}).get("stdout", ""), "kube-proxy",
                                               config, node_ports)
        if service is None:
            continue
        if service.node_port:
            view.paths.append(_path(table, "nodeport", "PREROUTING",
                                    ipt.Packet(view.node_ip, int(service.node_port),
                                               service.protocol.lower(), dst_local=True),
                                    endpoint_addrs, pods_by_ip))
        if service.cluster_ip and service.cluster_ip != "None":
            view.paths.append(_path(table, "cluster-ip", "OUTPUT",
                                    ipt.Packet(service.cluster_ip, service.port, service.protocol.lower()),
                                    endpoint_addrs, pods_by_ip))
        if endpoints and (configured or "iptables") in ("iptables", "userspace") \
                and not any(p.branches for p in view.paths):
            problems.append(Problem("no-rules", node.name,
                                    f"{node.name}'s nat table has no kube-proxy rule leading "
                                    f"{service.name} to a pod ({view.kube_rules} KUBE-* rules)"))
        after = f.get("iptables_save_after") or {}
        if requests > 0 and after.get("rc") == 0 and after.get("stdout"):
            after_table = ipt.parse_table(after["stdout"], "nat")
            seps = sorted({b.chain for p in view.paths for b in p.branches})
            deltas, reset = _counter_deltas(table, after_table, seps)
            entry = {p.kind: d for p in view.paths
                     if p.entry_rule and (d := _entry_delta(table, after_table, p.entry_rule)) is not None}
            np_status = [s for s in f.get("probe_nodeport") or []]
            ci_status = [s for s in facts.get("probe_cluster_ip") or []] if node.role == "control-plane" else []
            probe_nodes.append(ProbeNode(
                node=node.name, nodeport_requests=len(np_status),
                nodeport_ok=sum(1 for s in np_status if s == 200),
                cluster_ip_requests=len(ci_status), cluster_ip_ok=sum(1 for s in ci_status if s == 200),
                entry_packets=entry, endpoints=deltas, counters_reset=reset))

    # what the walkthrough says and what this lab does
    kube_proxy: KubeProxy | None = None
    if cm is not None or version:
        mode = configured or "iptables"
        dnats = [b for v in node_views for p in v.paths for b in p.branches]
        to_pods = bool(dnats) and all(b.is_endpoint for b in dnats)
        odd = [f"{v.name} {lst.address}:{lst.port}" for v in node_views for lst in v.kube_proxy_listeners
               if lst.meaning == "other"]
        if mode == "iptables":
            does = ("kube-proxy runs in iptables mode: it only writes the nat rules; the kernel DNATs "
                    "each new connection straight to a pod's IP and port, and kube-proxy carries no "
                    "traffic")
        elif mode == "ipvs":
            does = ("kube-proxy runs in ipvs mode: the kernel's IPVS balances each new connection "
                    "to a pod (ipvsadm -Ln lists them); the nat table only marks and masquerades, "
                    "and kube-proxy carries no traffic")
        elif mode == "userspace":
            does = "kube-proxy runs in userspace mode, as the walkthrough describes"
        else:
            does = f"kube-proxy runs in {mode} mode, not the walkthrough's userspace mode"
        kube_proxy = KubeProxy(configured_mode=configured, mode=mode, version=version,
                               walkthrough_says=USERSPACE_SAYS, lab_does=does, dnat_to_pods=to_pods,
                               random_port_listeners=odd)
    elif not (cp in unreachable):
        problems.append(Problem("kubectl", cp, "kube-proxy's ConfigMap kube-system/kube-proxy could not "
                                               "be read: " + _first_line((kube.get("kube_proxy_config") or {})
                                                                         .get("stderr", ""))))

    probe: Probe | None = None
    if requests > 0 and service is not None:
        per_endpoint: dict[str, int] = {}
        for pn in probe_nodes:
            for to, n in pn.endpoints.items():
                per_endpoint[to] = per_endpoint.get(to, 0) + n
        eps = [ProbeEndpoint(pod=endpoint_addrs.get(to, pods_by_ip.get(to.rsplit(":", 1)[0], "")),
                             ip=to, packets=n) for to, n in sorted(per_endpoint.items())]
        probe = Probe(requests=requests, nodes=probe_nodes, endpoints=eps,
                      total_packets=sum(per_endpoint.values()),
                      sent=sum(p.nodeport_requests + p.cluster_ip_requests for p in probe_nodes),
                      answered=sum(p.nodeport_ok + p.cluster_ip_ok for p in probe_nodes))

    ports: list[PortRole] = []
    if service is not None:
        ports.append(PortRole("port", service.port, f"{service.cluster_ip} (the ClusterIP)",
                              "clients inside the cluster: pods, and programs on the nodes"))
        if service.node_port:
            ips = ", ".join(v.node_ip for v in node_views)
            ports.append(PortRole("nodePort", int(service.node_port), f"every node's IP ({ips})",
                                  "clients outside the cluster"))
        tp = service.target_port
        ports.append(PortRole("targetPort", int(tp) if str(tp).isdigit() else 0,
                              f"each endpoint pod ({len(endpoints)})",
                              "nobody directly: kube-proxy's DNAT rewrites port and nodePort to it"))

    return Explanation(
        lab=lab_name, kubernetes_version=version, service=service, ports=ports, endpoints=endpoints,
        not_endpoints=not_endpoints, not_endpoints_why=why_not, nodes=node_views,
        kube_proxy=kube_proxy, rc=rc, probe=probe, problems=problems)
