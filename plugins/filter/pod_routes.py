"""labtool.lab.pod_route_problems: what is wrong with a node's routes to the pods.

A pod CIDR belongs to one node. Every other node must send it to that node: via the node's
IP (host-gw), or via an address inside the CIDR on an overlay device (flannel's vxlan,
``via 10.244.1.0 dev flannel.1 onlink``); the owner keeps it on its own bridge. A route
left from an earlier cluster breaks this silently: the pods behind it answer from nowhere,
while kube-proxy still sends them their share of the Service's traffic.

Used by the pod_network role after it routes, and by verify (check pod-routes).
"""

from __future__ import annotations

import ipaddress

# `ip route show` prints these route types before the destination; a unicast route has none
_ROUTE_TYPES = {"unicast", "unreachable", "blackhole", "prohibit", "throw", "local",
                "broadcast", "anycast", "multicast", "nat"}


def parse_routes(text: str) -> list[dict]:
    """``ip -4 route show`` as dicts: dst, type, via ('' when none), proto ('' when none).
    The nexthop lines of a multipath route are left out."""
    routes = []
    for line in (text or "").splitlines():
        if not line.strip() or line[0].isspace():
            continue
        words = line.split()
        kind = words.pop(0) if words[0] in _ROUTE_TYPES else "unicast"
        if not words:
            continue
        routes.append({"dst": words[0], "type": kind, "via": _value(words, "via"),
                       "proto": _value(words, "proto"), "line": line.strip()})
    return routes


def _value(words: list[str], key: str) -> str:
    return words[words.index(key) + 1] if key in words[:-1] else ""


def pod_cidr_table(items) -> list[dict]:
    """Every Node's name, pod CIDR ('' when none) and InternalIP ('' when none), from the
    items of ``kubectl get nodes -o json`` (or of a List with other kinds too)."""
    return [{"name": (n.get("metadata") or {}).get("name"), "cidr": (n.get("spec") or {}).get("podCIDR", ""),
             "via": next((a.get("address") for a in (n.get("status") or {}).get("addresses") or []
                          if a.get("type") == "InternalIP"), "")}
            for n in items or [] if n.get("kind", "Node") == "Node"]


def _inside(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def pod_route_problems(route_table: str, nodes: list[dict], node: str, protocol=None) -> list[str]:
    """The problems of ``node``'s routes (``route_table``: what ``ip -4 route show`` printed)
    to the pod CIDRs of ``nodes`` (each: name, cidr, via = the node's IP); [] when none.

    With ``protocol``, every route carrying that routing protocol must be one of the routes
    to another node's CIDR via its IP: the pod_network role's host-gw routes carry it, so a
    route left from an earlier cluster shows up even where no node has its CIDR now."""
    routes = parse_routes(route_table)
    problems = []
    for other in nodes:
        cidr, owner = other.get("cidr") or "", other.get("name")
        if not cidr:
            continue
        found = [r for r in routes if r["dst"] == cidr]
        if owner == node:
            problems += [f"its own pod CIDR {cidr} is routed away: {r['line']}"
                         for r in found if r["via"] or r["type"] != "unicast"]
            continue
        if not found:
            problems.append(f"no route to {owner}'s pods {cidr} (via {other.get('via')})")
        problems += [f"{owner}'s pods {cidr} are routed wrong (expected via {other.get('via')}): {r['line']}"
                     for r in found if r["type"] != "unicast"
                     or (r["via"] and r["via"] != other.get("via") and not _inside(r["via"], cidr))]
    if protocol not in (None, ""):
        wanted = {(o.get("cidr"), o.get("via")) for o in nodes if o.get("name") != node}
        problems += [f"a route of an earlier cluster is left: {r['line']}" for r in routes
                     if r["proto"] == str(protocol) and (r["dst"], r["via"]) not in wanted]
    return problems


class FilterModule:
    def filters(self):
        return {"pod_route_problems": pod_route_problems, "pod_cidr_table": pod_cidr_table}
