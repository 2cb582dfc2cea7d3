"""A node's own facts, read for an explanation: the iptables service's state (systemctl),
who listens on the Service's ports (ss), and how the probe moved the nat counters."""

from __future__ import annotations

import re
from typing import Any

from labtool.explain import iptables as ipt
from labtool.explain.model import IptablesService, Listener



def iptables_service(text: str) -> IptablesService | None:
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


def listeners(text: str, program: str, config: dict[str, Any], node_ports: set[int]) -> list[Listener]:
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


def counter_deltas(before: ipt.Table, after: ipt.Table, chains: list[str]) -> tuple[dict[str, int], bool]:
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


def entry_delta(before: ipt.Table, after: ipt.Table, rule_text: str) -> int | None:
    def find(table: ipt.Table) -> ipt.Rule | None:
        return next((r for r in table.rules() if r.text == rule_text), None)
    b, a = find(before), find(after)
    if a is None or a.packets is None:
        return None
    return a.packets - (b.packets or 0) if b is not None and (b.packets or 0) <= a.packets else a.packets
