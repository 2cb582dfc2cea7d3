"""The lab's node network and the traffic fence that keeps pod and service traffic on this host.

Pure functions (subnet choice, bridge name, fence rules and routes) are kept apart from the
few that call `docker`, `ip` and `iptables`, so they can be tested without root.

The fence, per lab:
- an ``unreachable`` host route for the pod CIDR and for the service CIDR, with a metric
  unique to the lab (derived from its subnet), so that tearing one lab down deletes only
  its own routes while another lab's identical-prefix routes stay;
- one DOCKER-USER rule dropping everything that enters from the lab's bridge and would be
  forwarded out of it. Traffic between the nodes stays on the bridge (allowed), traffic to
  the host itself goes through INPUT (allowed: apt-cacher-ng and the registry on the gateway),
  anything else — another network, the internet, the pod or service ranges — is dropped.
  The rule matches interfaces, not addresses, so pod-sourced packets are fenced as well.

An air-gapped lab's fence (``air_gap_rules``) also closes the host itself: in INPUT, only
replies from the lab's bridge to connections the host opened (the controller's SSH, its
NodePort checks) are accepted, and everything else a node sends to the host is dropped (the
package proxy, the registry, DNS, another lab's gateway).
A lab behind a proxy (``--proxy-only PORT``) has the same fence with one door: the proxy on
its gateway, the only way to the host's package cache and registry.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from labtool.local._run import LocalLabError, ok, run

# Lab node networks are /24s carved from this pool; none overlaps the default pod
# (10.244.0.0/16) or service (10.96.0.0/12) ranges, nor Docker's default 172.17.0.0/16.
SUBNET_POOL = ipaddress.ip_network("172.24.0.0/14")
SUBNET_PREFIX = 24
ROUTE_METRIC_BASE = 1000  # the host's own safety routes use 9999
FENCE_CHAIN = "DOCKER-USER"
NODE_HOST_OFFSETS = (10, 11, 12)  # cp, w1, w2 -> .10 .11 .12


@dataclass(frozen=True)
class LabNetwork:
    name: str  # docker network name
    bridge: str  # host interface name
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address

    def node_address(self, index: int) -> ipaddress.IPv4Address:
        return self.subnet.network_address + NODE_HOST_OFFSETS[index]

    @property
    def route_metric(self) -> int:
        return route_metric(self.subnet)


def network_name(lab: str) -> str:
    return f"{lab}-nodes"


def bridge_name(lab: str) -> str:
    """A Linux interface name (≤ 15 chars) that is stable and distinct per lab name."""
    return "lt-" + hashlib.sha256(lab.encode()).hexdigest()[:10]


def _candidates(lab: str) -> list[ipaddress.IPv4Network]:
    subnets = list(SUBNET_POOL.subnets(new_prefix=SUBNET_PREFIX))
    start = int(hashlib.sha256(lab.encode()).hexdigest(), 16) % len(subnets)
    return subnets[start:] + subnets[:start]


def choose_subnet(
    lab: str,
    taken: Iterable[ipaddress.IPv4Network],
    avoid: Iterable[ipaddress.IPv4Network] = (),
) -> ipaddress.IPv4Network:
    """The first /24 of the pool, starting at a place given by the lab's name, that overlaps
    no subnet in use (``taken``: docker networks, host routes) nor a range to keep clear
    (``avoid``: the lab's pod and service CIDRs)."""
    blocked = [ipaddress.ip_network(n) for n in (*taken, *avoid)]
    for subnet in _candidates(lab):
        if not any(subnet.overlaps(b) for b in blocked):
            return subnet
    raise LocalLabError(f"no free /{SUBNET_PREFIX} left in {SUBNET_POOL} for lab {lab!r}")


def route_metric(subnet: ipaddress.IPv4Network) -> int:
    """A route metric unique to the lab: its subnet's index in the pool."""
    if not subnet.subnet_of(SUBNET_POOL):
        raise LocalLabError(f"{subnet} is not in the lab subnet pool {SUBNET_POOL}")
    index = (int(subnet.network_address) - int(SUBNET_POOL.network_address)) >> (32 - SUBNET_PREFIX)
    return ROUTE_METRIC_BASE + index


def fence_comment(lab: str) -> str:
    return f"labtool fence {lab}"


def fence_rule(lab: str, bridge: str) -> list[str]:
    """The DOCKER-USER rule (iptables arguments after the chain) for a lab."""
    return [
        "-i", bridge, "!", "-o", bridge,
        "-m", "comment", "--comment", fence_comment(lab),
        "-j", "DROP",
    ]  # fmt: skip


def air_gap_rules(lab: str, bridge: str, proxy: tuple[str, int] | None = None) -> list[list[str]]:
    """The INPUT rules (iptables arguments after the chain, in order) of an air-gapped lab;
    ``proxy`` (address, port): of a lab whose nodes reach the host only through that proxy."""
    comment = ["-m", "comment", "--comment", fence_comment(lab)]
    through = ([["-i", bridge, "-d", proxy[0], "-p", "tcp", "--dport", str(proxy[1]), *comment, "-j", "ACCEPT"]]
               if proxy else [])
    return [
        ["-i", bridge, "-m", "conntrack", "--ctstate", "ESTABLISHED", *comment, "-j", "ACCEPT"],
        *through,
        ["-i", bridge, *comment, "-j", "DROP"],
    ]


def fence_routes(metric: int, cidrs: Iterable[str]) -> list[list[str]]:
    """`ip route` arguments (after add/replace/del) for the lab's unreachable routes."""
    return [["unreachable", str(ipaddress.ip_network(c)), "metric", str(metric)] for c in cidrs]


# --- host side -------------------------------------------------------------------------


def _docker_subnets() -> list[ipaddress.IPv4Network]:
    ids = run(["docker", "network", "ls", "-q"]).stdout.split()
    if not ids:
        return []
    data = json.loads(run(["docker", "network", "inspect", *ids]).stdout)
    out = []
    for net in data:
        for cfg in (net.get("IPAM") or {}).get("Config") or []:
            if cfg.get("Subnet") and ":" not in cfg["Subnet"]:
                out.append(ipaddress.ip_network(cfg["Subnet"]))
    return out


def _route_subnets() -> list[ipaddress.IPv4Network]:
    """Destinations of the host's routes that are real links (not default, not unreachable)."""
    out = []
    for line in run(["ip", "-4", "route", "show", "table", "all"]).stdout.splitlines():
        words = line.split()
        if not words or words[0] in {"default", "unreachable", "blackhole", "prohibit", "broadcast", "local"}:
            continue
        try:
            out.append(ipaddress.ip_network(words[0], strict=False))
        except ValueError:
            continue
    return out


def inspect(lab: str) -> LabNetwork | None:
    """The lab's docker network, if it exists."""
    proc = run(["docker", "network", "inspect", network_name(lab)], check=False)
    if proc.returncode != 0:
        return None
    net = json.loads(proc.stdout)[0]
    cfg = net["IPAM"]["Config"][0]
    bridge = net.get("Options", {}).get("com.docker.network.bridge.name") or bridge_name(lab)
    return LabNetwork(
        name=network_name(lab),
        bridge=bridge,
        subnet=ipaddress.ip_network(cfg["Subnet"]),
        gateway=ipaddress.ip_address(cfg["Gateway"]),
    )


def ensure_network(lab: str, avoid: Iterable[str], echo: Callable[[str], None]) -> LabNetwork:
    existing = inspect(lab)
    if existing:
        echo(f"  node network {existing.name}: {existing.subnet} on {existing.bridge} (exists)")
        return existing
    avoid_nets = [ipaddress.ip_network(a) for a in avoid]
    subnet = choose_subnet(lab, _docker_subnets() + _route_subnets(), avoid_nets)
    gateway = subnet.network_address + 1
    bridge = bridge_name(lab)
    run([
        "docker", "network", "create", "--driver", "bridge",
        "--subnet", str(subnet), "--gateway", str(gateway),
        "-o", f"com.docker.network.bridge.name={bridge}",
        "-o", "com.docker.network.bridge.enable_ip_masquerade=false",
        "--label", f"labtool.lab={lab}",
        network_name(lab),
    ])  # fmt: skip
    echo(f"  node network {network_name(lab)}: {subnet} on {bridge} (created)")
    return LabNetwork(network_name(lab), bridge, subnet, gateway)


def ensure_fence(lab: str, net: LabNetwork, cidrs: Iterable[str], echo: Callable[[str], None]) -> None:
    if not ok(["iptables", "-n", "-L", FENCE_CHAIN]):
        # docker creates the chain when it starts; create it (and the jump) if it is missing
        run(["iptables", "-N", FENCE_CHAIN])
    if not ok(["iptables", "-C", "FORWARD", "-j", FENCE_CHAIN]):
        run(["iptables", "-I", "FORWARD", "1", "-j", FENCE_CHAIN])
    rule = fence_rule(lab, net.bridge)
    if ok(["iptables", "-C", FENCE_CHAIN, *rule]):
        echo(f"  {FENCE_CHAIN}: drop from {net.bridge} to anything outside it (present)")
    else:
        run(["iptables", "-I", FENCE_CHAIN, "1", *rule])
        echo(f"  {FENCE_CHAIN}: drop from {net.bridge} to anything outside it (added)")
    for route in fence_routes(net.route_metric, cidrs):
        run(["ip", "route", "replace", *route])
        echo(f"  route: {' '.join(route)}")


def ensure_air_gap(lab: str, net: LabNetwork, echo: Callable[[str], None], proxy_port: int | None = None) -> None:
    """Close the host to the lab's nodes but for replies (air_gap_rules), first in INPUT;
    ``proxy_port``: and for the proxy on the gateway at that port."""
    rules = air_gap_rules(lab, net.bridge, (str(net.gateway), proxy_port) if proxy_port else None)
    what = f"only replies to the host's connections{f' and the proxy on port {proxy_port}' if proxy_port else ''}"
    if all(ok(["iptables", "-C", "INPUT", *rule]) for rule in rules):
        echo(f"  INPUT: from {net.bridge} {what} (present)")
        return
    _remove_rules("INPUT", fence_comment(lab), lambda _line: None)
    for position, rule in enumerate(rules, start=1):
        run(["iptables", "-I", "INPUT", str(position), *rule])
    echo(f"  INPUT: from {net.bridge} {what} (added)")


def _remove_rules(chain: str, comment: str, echo: Callable[[str], None]) -> None:
    for line in run(["iptables", "-S", chain], check=False).stdout.splitlines():
        if f'"{comment}"' in line and line.startswith(f"-A {chain} "):
            args = shlex.split(line)[2:]
            run(["iptables", "-D", chain, *args])
            echo(f"  {chain}: removed rule {' '.join(args)}")


def remove_fence(lab: str, metric: int | None, cidrs: Iterable[str], echo: Callable[[str], None]) -> None:
    """Remove this lab's rules (found by their comment, so also after its network is gone)
    and its routes (by its metric); other labs' rules and routes stay."""
    for chain in (FENCE_CHAIN, "INPUT"):
        _remove_rules(chain, fence_comment(lab), echo)
    if metric is not None:
        for route in fence_routes(metric, cidrs):
            if run(["ip", "route", "del", *route], check=False).returncode == 0:
                echo(f"  route removed: {' '.join(route)}")


def remove_network(lab: str, echo: Callable[[str], None]) -> None:
    if run(["docker", "network", "rm", network_name(lab)], check=False).returncode == 0:
        echo(f"  node network {network_name(lab)} removed")
