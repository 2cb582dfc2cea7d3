"""The explanation as a picture: client -> node:nodePort / ClusterIP:port -> the chains ->
pods:targetPort, one lane per node, with the lab's real addresses. Plain SVG text (no
dependency); :func:`html` wraps it with the text explanation into one self-contained page."""

from __future__ import annotations

from html import escape as _html_escape
from xml.sax.saxutils import escape

from labtool.explain.model import Explanation, NodeView, Path

CHAR_W = 6.8  # px per character of the 11 px monospace font (a generous estimate)
BOX_H = 34
BRANCH_GAP = 46
COL_GAP = 34
FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"

_FILL = {"client": "#dbeafe", "chain": "#f3f4f6", "sep": "#fef3c7", "pod": "#dcfce7",
         "bad": "#fee2e2"}


def _pct(p: float) -> str:
    return f"{p * 100:.0f}%" if abs(p * 100 - round(p * 100)) < 0.05 else f"{p * 100:.1f}%"


class _Canvas:
    def __init__(self) -> None:
        self.items: list[str] = []

    def box(self, x: float, y: float, w: float, lines: list[str], kind: str) -> None:
        h = BOX_H if len(lines) <= 2 else 14 * len(lines) + 6
        self.items.append(f'<rect x="{x:.0f}" y="{y - h / 2:.0f}" width="{w:.0f}" height="{h:.0f}" '
                          f'rx="6" fill="{_FILL[kind]}" stroke="#374151" stroke-width="1"/>')
        top = y - (len(lines) - 1) * 7
        for i, line in enumerate(lines):
            weight = ' font-weight="bold"' if i == 0 else ""
            self.items.append(f'<text x="{x + w / 2:.0f}" y="{top + i * 14 + 4:.0f}" '
                              f'text-anchor="middle"{weight}>{escape(line)}</text>')

    def arrow(self, x1: float, y1: float, x2: float, y2: float, label: str = "",
              label_above: bool = True) -> None:
        self.items.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                          f'stroke="#374151" stroke-width="1.4" marker-end="url(#arrow)"/>')
        if label:
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2 + (-5 if label_above else 13)
            self.items.append(f'<text x="{mx:.0f}" y="{my:.0f}" text-anchor="middle" '
                              f'fill="#92400e">{escape(label)}</text>')

    def text(self, x: float, y: float, s: str, *, bold: bool = False, size: int = 11,
             anchor: str = "start", fill: str = "#111827") -> None:
        weight = ' font-weight="bold"' if bold else ""
        self.items.append(f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" text-anchor="{anchor}" '
                          f'fill="{fill}"{weight}>{escape(s)}</text>')


def _width(lines: list[str]) -> float:
    return max(len(s) for s in lines) * CHAR_W + 18


def _row_chains(path: Path) -> list[str]:
    seps = {b.chain for b in path.branches}
    return [c for c in path.chains if c not in seps]


def _marking_chains(path: Path, mark_chain: str) -> dict[str, str]:
    """chain -> 'marks for masquerade' condition, for the chains of the row that mark."""
    out: dict[str, str] = {}
    seps = {b.chain for b in path.branches}
    for hop in path.hops:
        if mark_chain and hop.target == mark_chain and hop.chain not in seps:
            out.setdefault(hop.chain, hop.condition.replace("when ", "if "))
    return out


def svg(ex: Explanation) -> str:
    svc = ex.service
    c = _Canvas()
    pods_node = {e.pod: e.node for e in ex.endpoints}
    lanes = [n for n in ex.nodes]
    # column widths, shared by every lane
    src_w = 0.0
    n_cols = 0
    chain_w = 0.0
    sep_w = pod_w = 0.0
    for node in lanes:
        for path in node.paths:
            src_w = max(src_w, _width(_source_lines(path, node)))
            cols = _row_chains(path)
            n_cols = max(n_cols, len(cols))
            chain_w = max([chain_w] + [_width([ch]) for ch in cols])
            for b in path.branches:
                sep_w = max(sep_w, _width([b.chain, "DNAT " + b.dnat_to]))
                pod_w = max(pod_w, _width(_pod_lines(b.pod, b.dnat_to, pods_node)))
    src_w = max(src_w, 150)
    chain_w = max(chain_w, 120)
    sep_w, pod_w = max(sep_w, 150), max(pod_w, 150)
    x_src = 20
    x_chain0 = x_src + src_w + COL_GAP + 40
    x_sep = x_chain0 + n_cols * (chain_w + COL_GAP) + 50
    x_pod = x_sep + sep_w + COL_GAP + 60
    width = x_pod + pod_w + 20

    y = 30.0
    title = (f"Service {svc.name}: port {svc.port} on ClusterIP {svc.cluster_ip}, nodePort "
             f"{svc.node_port} on every node, targetPort {svc.target_port} on the pods"
             if svc else f"lab {ex.lab}: no Service to draw")
    c.text(20, y, title, bold=True, size=14)
    y += 18
    mode = ex.kube_proxy.mode if ex.kube_proxy else "?"
    c.text(20, y, f"lab {ex.lab}, Kubernetes {ex.kubernetes_version or '?'}, kube-proxy mode {mode}: "
                  "the kernel's nat table does the work (iptables-save -t nat on each node)",
           size=11, fill="#374151")
    y += 22
    for node in lanes:
        state = node.iptables_service
        head = (f"node {node.name} ({node.node_ip})" + (f" — {state.unit or 'iptables service'} "
                f"{state.active}, {node.kube_rules} live KUBE-* rules" if state else "")
                + ("" if node.reached else " — NOT REACHED"))
        lane_top = y
        y += 20
        c.text(28, y, head, bold=True, size=12)
        spread = _probe_note(ex, node.name)
        if spread:
            c.text(width - 28, y, spread, size=11, anchor="end", fill="#92400e")
        y += 14
        mark_chain = node.masquerade.mark_chain if node.masquerade else ""
        for path in node.paths:
            n = max(len(path.branches), 1)
            h = n * BRANCH_GAP + 18
            cy = y + h / 2
            src = _source_lines(path, node)
            c.box(x_src, cy, src_w, src, "client")
            prev_x = x_src + src_w
            marks = _marking_chains(path, mark_chain)
            row = _row_chains(path)
            skip = n_cols - len(row)  # right-aligned: the service chain is in the same column
            for i, ch in enumerate(row):
                x = x_chain0 + (i + skip) * (chain_w + COL_GAP)
                c.arrow(prev_x, cy, x, cy, "")
                c.box(x, cy, chain_w, [ch], "chain")
                if ch in marks:
                    notes = ["marks for masquerade"] + ([marks[ch]] if marks[ch] else [])
                    for k, note in enumerate(notes):
                        c.text(x + chain_w / 2, cy + BOX_H / 2 + 11 + k * 11, note, size=9,
                               anchor="middle", fill="#6b7280")
                prev_x = x + chain_w
            if not path.branches:
                c.text(prev_x + 10, cy + 4, "no rule leads to a pod", fill="#b91c1c")
            for j, b in enumerate(path.branches):
                by = y + 9 + BRANCH_GAP / 2 + j * BRANCH_GAP
                c.arrow(prev_x, cy, x_sep, by, _pct(b.probability))
                c.box(x_sep, by, sep_w, [b.chain, "DNAT " + b.dnat_to], "sep")
                c.arrow(x_sep + sep_w, by, x_pod, by, f":{b.dnat_to.rsplit(':', 1)[-1]}")
                c.box(x_pod, by, pod_w, _pod_lines(b.pod, b.dnat_to, pods_node),
                      "pod" if b.is_endpoint else "bad")
            y += h
        y += 8
        c.items.insert(0, f'<rect x="10" y="{lane_top:.0f}" width="{width - 20:.0f}" '
                          f'height="{y - lane_top:.0f}" rx="8" fill="#ffffff" stroke="#9ca3af"/>')
        y += 10
    if ex.not_endpoints:
        c.text(20, y + 8, "not endpoints of " + (svc.name if svc else "the Service") + ": "
               + ", ".join(f"{p.name} {p.ip} ({p.controller})" for p in ex.not_endpoints),
               size=11, fill="#6b7280")
        y += 20
    height = y + 14
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="11">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
            'fill="#374151"/></marker></defs>'
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="#f9fafb"/>')
    return head + "\n" + "\n".join(c.items) + "\n</svg>\n"


def _probe_note(ex: Explanation, node: str) -> str:
    if ex.probe is None:
        return ""
    pn = next((p for p in ex.probe.nodes if p.node == node), None)
    if pn is None:
        return ""
    sent = pn.nodeport_requests + pn.cluster_ip_requests
    return (f"probe: {sent} requests, DNATed here to "
            + ", ".join(f"{to} x{n}" for to, n in pn.endpoints.items()))


def _source_lines(path: Path, node: NodeView) -> list[str]:
    if path.kind == "nodeport":
        return ["client outside", f"-> {path.destination}", f"enters {path.entry}"]
    return ["client in the cluster", f"-> {path.destination}", f"enters {path.entry}"]


def _pod_lines(pod: str, to: str, pods_node: dict[str, str]) -> list[str]:
    if not pod:
        return ["no such pod", to]
    return [pod, f"{to} on {pods_node.get(pod, '?')}"]


def html(ex: Explanation, text: str) -> str:
    title = f"labtool explain: lab {ex.lab}" + (f", Service {ex.service.name}" if ex.service else "")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{_html_escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:1.5em;background:#f9fafb}"
            "pre{background:#fff;border:1px solid #ddd;padding:1em;overflow-x:auto}"
            "svg{max-width:100%;height:auto}</style></head><body>"
            f"<h1>{_html_escape(title)}</h1>\n{svg(ex)}\n<pre>{_html_escape(text)}</pre>\n"
            "</body></html>\n")
