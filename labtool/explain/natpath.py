"""The nat table's side of an explanation: the path a packet takes through kube-proxy's
rules (iptables-save parsed by labtool.explain.iptables), step by step, and the masquerade."""

from __future__ import annotations

from labtool.explain import iptables as ipt
from labtool.explain.model import Branch, Hop, Masquerade, Path



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


def packet_path(table: ipt.Table, kind: str, entry: str, pkt: ipt.Packet,
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


def masquerade(table: ipt.Table) -> Masquerade | None:
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


def kube_rule_count(table: ipt.Table) -> int:
    return sum(1 for r in table.rules()
               if r.chain.startswith("KUBE-") or (r.target or "").startswith("KUBE-"))
