"""The explanation as a document (headings, paragraphs, tables), then as plain text or
rich. Reads only :class:`~labtool.explain.model.Explanation`."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from labtool.explain.model import Explanation, NodeView, Path


@dataclass
class Heading:
    text: str


@dataclass
class Para:
    text: str
    indent: int = 0


@dataclass
class Lines:
    lines: list[str]
    indent: int = 2


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


Block = Heading | Para | Lines | Table


def _pct(p: float) -> str:
    return f"{p * 100:.0f}%" if abs(p * 100 - round(p * 100)) < 0.05 else f"{p * 100:.1f}%"


def _clip(s: str, n: int = 48) -> str:
    return s if len(s) <= n else s[:n - 1] + "…"


def path_lines(path: Path, node_names: dict[str, str], mark_chain: str) -> list[str]:
    """The path as the packet goes: one line per jump it takes, then the endpoint branches."""
    lines: list[str] = []
    width = max([len(c) for c in path.chains] + [10])
    branch_chains = {b.chain for b in path.branches}
    skip_depth: int | None = None
    for hop in path.hops:
        if skip_depth is not None and hop.depth > skip_depth:
            continue
        skip_depth = None
        if hop.chain in branch_chains or hop.chain == mark_chain:
            continue
        if hop.target == mark_chain and mark_chain:
            what = f"marks the packet for masquerade ({mark_chain})"
            lines.append(f"{hop.chain:<{width}}  {what}" + (f", {hop.condition}" if hop.condition else ""))
            skip_depth = hop.depth
            continue
        if hop.target in branch_chains:
            skip_depth = hop.depth
            continue
        if hop.action in ("jump", "goto") and hop.target in path.chains:
            why = hop.matches
            if hop.comment:
                why = (why + ", " if why else "") + f'"{_clip(hop.comment)}"'
            lines.append(f"{hop.chain:<{width}}  -> {hop.target:<{width}}  {why}".rstrip())
    for b in path.branches:
        where = (f"pod {b.pod} on {node_names.get(b.pod, '?')}" if b.pod
                 else "not a pod (an address outside the pod network)")
        rule = f"--probability {b.rule_probability:g}" if b.rule_probability is not None else "the last rule"
        lines.append(f"{_pct(b.probability):>{width}}  -> {b.chain:<{width}}  DNAT {b.dnat_to}: {where} "
                     f"({rule})")
    return lines


def _signature(node: NodeView) -> tuple:
    """What a node's paths do, without its own address: equal on nodes with the same rules."""
    return tuple((p.kind, tuple((h.chain, h.target, h.matches, h.condition) for h in p.hops),
                  tuple((b.chain, b.dnat_to, b.probability) for b in p.branches)) for p in node.paths)


def document(ex: Explanation) -> list[Block]:
    doc: list[Block] = []
    svc = ex.service
    pod_node = {e.pod: e.node for e in ex.endpoints}
    if ex.rc:
        pod_node.update({p.name: p.node for p in ex.rc.pods})
    title = f"Lab {ex.lab}" + (f", Kubernetes {ex.kubernetes_version}" if ex.kubernetes_version else "")
    doc.append(Para(title + (f": how Service {svc.name} works" if svc else "")))

    if svc is not None:
        doc.append(Heading(f"1. The three ports of Service {svc.name} ({svc.type})"))
        t = Table(["port", "number", "open on", "who connects to it"])
        for p in ex.ports:
            t.rows.append([p.name, str(p.number), p.where, p.who])
        doc.append(t)
        sel = ", ".join(f"{k}={v}" for k, v in svc.selector.items())
        doc.append(Para(f"A request to {svc.cluster_ip}:{svc.port}"
                        + (f" or to <any node IP>:{svc.node_port}" if svc.node_port else "")
                        + f" ends on port {svc.target_port} of one of these endpoints "
                        + (f"(the pods its selector {sel} picks):" if sel
                           else "(no selector: the endpoints are set by hand):")))
        t = Table(["endpoint", "pod", "node", "belongs to"])
        for e in ex.endpoints:
            mark = "" if e.in_deployment else "  (not the walkthrough's Deployment)"
            t.rows.append([f"{e.ip}:{e.port}", e.pod, e.node,
                           (e.controller or "no controller") + mark + ("" if e.ready else ", NOT READY")])
        doc.append(t)
        if ex.not_endpoints:
            doc.append(Para("Not endpoints of " + svc.name + ": "
                            + "; ".join(f"{p.name} ({p.ip or 'no IP'} on {p.node}, {p.controller})"
                                        for p in ex.not_endpoints) + ". " + ex.not_endpoints_why + "."))

        doc.append(Heading("2. The path, per node, as kube-proxy programmed it (nat table)"))
        names = {**pod_node}
        shown: dict[tuple, str] = {}  # the rules' signature -> the first node that showed them
        for node in ex.nodes:
            if not node.reached:
                doc.append(Para(f"{node.name} ({node.address}): not reached"))
                continue
            sig = _signature(node)
            if sig in shown and node.paths:
                doc.append(Para(f"{node.name}: the same rules as {shown[sig]}, for "
                                + " and ".join(p.destination for p in node.paths)
                                + " (kube-proxy writes the same chains on every node)"))
                continue
            shown.setdefault(sig, node.name)
            for path in node.paths:
                if path.kind == "nodeport":
                    head = f"{node.name}: a client outside the cluster -> {path.destination}"
                else:
                    head = (f"{node.name}: a client inside the cluster -> {path.destination} "
                            f"(a program on {node.name} enters at OUTPUT, a pod at PREROUTING)")
                doc.append(Para(head))
                mark_chain = node.masquerade.mark_chain if node.masquerade else ""
                doc.append(Lines(path_lines(path, names, mark_chain) or ["(no kube-proxy rule matches)"]))
        masq = next((n.masquerade for n in ex.nodes if n.masquerade), None)
        if masq:
            doc.append(Para(f"Masquerade: {masq.mark_chain or 'a KUBE- chain'} sets mark {masq.mark} on "
                            f"packets that must leave with the node's address as source (from outside "
                            f"the pod network, or a pod reaching itself); {masq.postrouting_chain} "
                            f"MASQUERADEs the packets carrying that mark on their way out, so the "
                            f"pod's answer comes back through the node that translated it."))

    kp = ex.kube_proxy
    if kp is not None:
        doc.append(Heading("3. What the walkthrough says, and what this lab does"))
        shown = kp.configured_mode or '""'
        doc.append(Para(f"kube-proxy's ConfigMap (kube-system/kube-proxy, config.conf) says mode: {shown}"
                        + (" (empty means iptables on Linux)" if not kp.configured_mode else "") + "."))
        doc.append(Para(f"The walkthrough: {kp.walkthrough_says}."))
        doc.append(Para(f"This lab: {kp.lab_does}."))
        dnats = sorted({b.dnat_to for n in ex.nodes for p in n.paths for b in p.branches})
        if dnats:
            doc.append(Para("Shown: every DNAT of the paths above goes to "
                            + ", ".join(dnats)
                            + (" — the endpoint pods themselves, no port of kube-proxy's."
                               if kp.dnat_to_pods else " — NOT all of them endpoint pods.")))
        t = Table(["node", "kube-proxy listens on (ss -ltnp)", "what for"])
        meaning = {"metrics": "metrics", "healthz": "health check",
                   "nodeport-reservation": "holds the nodePort so no other program takes it; "
                                           "carries no traffic (the DNAT comes first)",
                   "other": "a port the rules above do not use"}
        for node in ex.nodes:
            for i, lst in enumerate(sorted(node.kube_proxy_listeners, key=lambda x: x.port)):
                t.rows.append([node.name if i == 0 else "", f"{lst.address}:{lst.port}",
                               meaning.get(lst.meaning, lst.meaning)])
            if node.reached and not node.kube_proxy_listeners:
                t.rows.append([node.name, "(no socket of kube-proxy's, or ss could not be read)", ""])
        doc.append(t)
        if kp.random_port_listeners:
            doc.append(Para("kube-proxy also listens on " + ", ".join(kp.random_port_listeners)
                            + ": no rule above sends traffic there."))
        elif kp.mode == "iptables" and any(n.kube_proxy_listeners for n in ex.nodes):
            doc.append(Para("No random port: kube-proxy listens only for its metrics and health check"
                            + (" and on the nodePort it reserves" if any(
                                lst.meaning == "nodeport-reservation" for n in ex.nodes
                                for lst in n.kube_proxy_listeners) else "")
                            + "; no rule above sends a packet to kube-proxy."))

    if ex.nodes:
        doc.append(Heading("4. The rules work although the iptables service is off"))
        t = Table(["node", "iptables service", "active", "enabled", "live KUBE-* rules (nat)"])
        for node in ex.nodes:
            s = node.iptables_service
            t.rows.append([node.name, (s.unit or "none") if s else "?", s.active if s else "?",
                           s.enabled if s else "?", str(node.kube_rules) if node.reached else "?"])
        doc.append(t)
        doc.append(Para("That service only loads saved rules at boot and saves them on request "
                        "(iptables-persistent / iptables-services); kube-proxy writes its rules into "
                        "the kernel's tables itself and rewrites them on every change, so they live "
                        "whether the service runs or not."))

    pr = ex.probe
    if pr is not None:
        doc.append(Heading(f"5. The probe: {pr.requests} requests to each NodePort and to the ClusterIP"))
        t = Table(["node", "NodePort requests (200)", "ClusterIP requests (200)",
                   "counted at entry", "DNATed to"])
        for n in pr.nodes:
            entry = ", ".join(f"{k} {v}" for k, v in n.entry_packets.items())
            spread = ", ".join(f"{to} {v}" for to, v in n.endpoints.items())
            t.rows.append([n.node, f"{n.nodeport_requests} ({n.nodeport_ok})",
                           f"{n.cluster_ip_requests} ({n.cluster_ip_ok})", entry,
                           spread + (" (counters were reset meanwhile)" if n.counters_reset else "")])
        doc.append(t)
        t = Table(["pod", "endpoint", "new connections", "share"])
        for e in pr.endpoints:
            share = f"{e.packets / pr.total_packets * 100:.0f}%" if pr.total_packets else "-"
            t.rows.append([e.pod, e.ip, str(e.packets), share])
        doc.append(t)
        doc.append(Para(f"{pr.sent} requests sent, {pr.answered} answered 200; the endpoint chains' "
                        f"DNAT rules counted {pr.total_packets} new connections "
                        "(iptables-save -c, before and after). Only a connection's first packet "
                        "crosses the nat table; conntrack translates the rest."))

    rc = ex.rc
    if rc is not None:
        doc.append(Heading(f"{'6' if pr is not None else '5'}. The ReplicationController {rc.name}"))
        sel = ",".join(f"{k}={v}" for k, v in rc.selector.items())
        doc.append(Para(f"desired {rc.desired}, current {rc.current}, ready {rc.ready}; selector {sel}"))
        t = Table(["pod", "IP", "node", "owner"])
        for p in rc.pods:
            t.rows.append([p.name, p.ip, p.node, p.owner])
        doc.append(t)
        doc.append(Para(rc.delete_says + "."))
        doc.append(Para(rc.cascade_says[0].upper() + rc.cascade_says[1:] + "."))

    if ex.problems:
        doc.append(Heading("Problems"))
        doc.append(Lines([f"{p.node + ': ' if p.node else ''}{p.message}" for p in ex.problems]))
    return doc


def render_plain(doc: list[Block], width: int = 100) -> str:
    out: list[str] = []
    for block in doc:
        if isinstance(block, Heading):
            out += ["", block.text, "-" * len(block.text)]
        elif isinstance(block, Para):
            out += textwrap.wrap(block.text, width, initial_indent=" " * block.indent,
                                 subsequent_indent=" " * block.indent) or [""]
        elif isinstance(block, Lines):
            out += [" " * block.indent + line for line in block.lines]
        elif isinstance(block, Table):
            if not block.rows:
                continue
            widths = [max(len(r[i]) for r in [block.columns] + block.rows) for i in range(len(block.columns))]
            fmt = lambda row: "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
            out.append(fmt([c.upper() for c in block.columns]))
            out += [fmt(r) for r in block.rows]
    return "\n".join(out).strip("\n") + "\n"


def render_rich(doc: list[Block], console) -> None:
    from rich.rule import Rule
    from rich.table import Table as RichTable
    from rich.text import Text

    for block in doc:
        if isinstance(block, Heading):
            console.print()
            console.print(Rule(Text(block.text, style="bold"), align="left"))
        elif isinstance(block, Para):
            console.print(Text(block.text), highlight=False)
        elif isinstance(block, Lines):
            for line in block.lines:
                console.print(Text(" " * block.indent + line, style="cyan", no_wrap=True, overflow="fold"),
                              highlight=False, soft_wrap=True)
        elif isinstance(block, Table):
            if not block.rows:
                continue
            table = RichTable(*block.columns, show_edge=False, header_style="bold")
            for row in block.rows:
                table.add_row(*row)
            console.print(table)


def text(ex: Explanation, width: int = 100) -> str:
    return render_plain(document(ex), width)
