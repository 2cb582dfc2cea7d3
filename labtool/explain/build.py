"""From the gathered facts (raw kubectl JSON, iptables-save, ss and systemctl output, as the
explain playbook hands them over) to an :class:`~labtool.explain.model.Explanation`.

Pure: facts in, explanation out. The facts' shape is that of ``labtool_explain`` (see
playbooks/explain.yml); tests feed recorded ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from labtool.explain import iptables as ipt
from labtool.explain.nodefacts import counter_deltas, entry_delta, iptables_service, listeners
from labtool.explain.natpath import kube_rule_count, masquerade, packet_path
from labtool.explain.model import (
    Endpoint,
    Explanation,
    KubeProxy,
    NodeView,
    Pod,
    PortRole,
    Probe,
    ProbeEndpoint,
    ProbeNode,
    Problem,
    RCView,
    Service,
)

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
        view.iptables_service = iptables_service((f.get("units") or {}).get("stdout", ""))
        save = f.get("iptables_save") or {}
        if save.get("rc") != 0 or not save.get("stdout"):
            problems.append(Problem("iptables-save", node.name,
                                    f"iptables-save -t nat failed on {node.name}: "
                                    f"{_first_line(save.get('stderr') or save.get('msg') or '')}"))
            continue
        table = ipt.parse_table(save["stdout"], "nat")
        view.kube_rules = kube_rule_count(table)
        view.masquerade = masquerade(table)
        node_ports = {service.node_port} if service and service.node_port else set()
        view.kube_proxy_listeners = listeners((f.get("ss") or {}).get("stdout", ""), "kube-proxy",
                                               config, node_ports)
        if service is None:
            continue
        if service.node_port:
            view.paths.append(packet_path(table, "nodeport", "PREROUTING",
                                    ipt.Packet(view.node_ip, int(service.node_port),
                                               service.protocol.lower(), dst_local=True),
                                    endpoint_addrs, pods_by_ip))
        if service.cluster_ip and service.cluster_ip != "None":
            view.paths.append(packet_path(table, "cluster-ip", "OUTPUT",
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
            deltas, reset = counter_deltas(table, after_table, seps)
            entry = {p.kind: d for p in view.paths
                     if p.entry_rule and (d := entry_delta(table, after_table, p.entry_rule)) is not None}
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
