"""``iptables-save`` output as a small model (tables, chains, rules), and a walk through it.

This module knows iptables and nothing else: not Ansible, not Kubernetes' chain names. The
walk (:func:`trace`) follows a described packet from a built-in chain through every jump
whose matches it meets, the way the kernel would, and records what each rule does to it:
jumps, probabilistic branches (``-m statistic``), marks, and the NAT target that ends the
walk. Matches it cannot decide for the packet (a source address it does not know, a
firewall mark) are kept as *conditions* on the step, in words.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from typing import Iterable

BUILTIN_CHAINS = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}
# targets after which the kernel stops walking the table for this packet
TERMINAL_TARGETS = {"ACCEPT", "DROP", "REJECT", "DNAT", "SNAT", "MASQUERADE", "REDIRECT",
                    "NETMAP"}
# options that never take a value (everything else starting with -- takes one)
_FLAGS = {"--random", "--random-fully", "--persistent", "--fragment", "--syn", "--log-uid",
          "--rsource", "--rdest", "--set", "--update", "--rcheck", "--remove"}
_COUNTERS_RE = re.compile(r"^\[(\d+):(\d+)\]\s+")


class ParseError(ValueError):
    """The text is not iptables-save output."""


@dataclass(frozen=True)
class Match:
    """One match option of a rule: ``-d 10.96.0.1/32`` is Match(None, "-d", "10.96.0.1/32")."""

    module: str | None  # the -m module it belongs to (None for -s, -d, -p, -i, -o)
    option: str
    value: str | None
    negated: bool = False

    def __str__(self) -> str:
        neg = "! " if self.negated else ""
        return f"{neg}{self.option}" + (f" {self.value}" if self.value is not None else "")


@dataclass
class Rule:
    chain: str
    matches: list[Match]
    target: str | None  # -j or -g target, None when the rule has none (a counting rule)
    goto: bool = False  # -g: no return to this chain
    target_options: dict[str, str | None] = field(default_factory=dict)
    packets: int | None = None  # counters, when saved with -c
    bytes: int | None = None
    text: str = ""  # the rule as iptables-save printed it (without counters)

    def find(self, option: str, module: str | None = ...) -> Match | None:  # type: ignore[assignment]
        for m in self.matches:
            if m.option == option and (module is ... or m.module == module):
                return m
        return None

    @property
    def comment(self) -> str:
        m = self.find("--comment")
        return m.value if m and m.value is not None else ""

    @property
    def probability(self) -> float | None:
        mode = self.find("--mode", "statistic")
        prob = self.find("--probability", "statistic")
        if mode is not None and mode.value == "random" and prob is not None and prob.value:
            return float(prob.value)
        return None

    @property
    def to_destination(self) -> str | None:
        return self.target_options.get("--to-destination")


@dataclass
class Chain:
    name: str
    policy: str | None  # ACCEPT/DROP for built-in chains, None ("-") for user chains
    rules: list[Rule] = field(default_factory=list)
    packets: int = 0
    bytes: int = 0

    @property
    def builtin(self) -> bool:
        return self.policy is not None


@dataclass
class Table:
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)

    def rules(self) -> Iterable[Rule]:
        for chain in self.chains.values():
            yield from chain.rules


def _tokens(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise ParseError(f"cannot split rule {line!r}: {exc}") from None


def parse_rule(chain: str, tokens: list[str], text: str = "") -> Rule:
    """The tokens of one rule after ``-A <chain>``."""
    matches: list[Match] = []
    module: str | None = None
    target: str | None = None
    goto = False
    target_options: dict[str, str | None] = {}
    negate = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            negate = True
            i += 1
            continue
        if tok in ("-j", "-g") and i + 1 < len(tokens):
            target, goto = tokens[i + 1], tok == "-g"
            i += 2
            # the rest are the target's options
            while i < len(tokens):
                opt = tokens[i]
                if opt.startswith("--") and opt not in _FLAGS and i + 1 < len(tokens) \
                        and not tokens[i + 1].startswith("--"):
                    target_options[opt] = tokens[i + 1]
                    i += 2
                else:
                    target_options[opt] = None
                    i += 1
            break
        if tok == "-m" and i + 1 < len(tokens):
            module = tokens[i + 1]
            i += 2
            continue
        if tok.startswith("-"):
            value: str | None = None
            if tok not in _FLAGS and i + 1 < len(tokens) and tokens[i + 1] != "!" \
                    and not (tokens[i + 1].startswith("-") and len(tokens[i + 1]) > 1
                             and not tokens[i + 1][1].isdigit()):
                value = tokens[i + 1]
                i += 1
            owner = None if tok in ("-s", "-d", "-p", "-i", "-o", "-f") else module
            matches.append(Match(owner, tok, value, negate))
            negate = False
            i += 1
            continue
        raise ParseError(f"unexpected {tok!r} in rule of chain {chain}: {text}")
    return Rule(chain=chain, matches=matches, target=target, goto=goto,
                target_options=target_options, text=text)


def parse(text: str) -> dict[str, Table]:
    """Every table in ``iptables-save`` output (with or without ``-c`` counters)."""
    tables: dict[str, Table] = {}
    table: Table | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = tables.setdefault(line[1:], Table(line[1:]))
            continue
        if line == "COMMIT":
            table = None
            continue
        if table is None:
            raise ParseError(f"line {number}: {line!r} outside a table")
        if line.startswith(":"):
            parts = line[1:].split()
            if not parts:
                raise ParseError(f"line {number}: empty chain line")
            packets = bytes_ = 0
            if len(parts) > 2:
                m = re.match(r"\[(\d+):(\d+)\]", parts[2])
                if m:
                    packets, bytes_ = int(m.group(1)), int(m.group(2))
            policy = parts[1] if len(parts) > 1 and parts[1] != "-" else None
            table.chains[parts[0]] = Chain(parts[0], policy, packets=packets, bytes=bytes_)
            continue
        packets = bytes_ = None
        m = _COUNTERS_RE.match(line)
        if m:
            packets, bytes_ = int(m.group(1)), int(m.group(2))
            line = line[m.end():]
        tokens = _tokens(line)
        if len(tokens) < 2 or tokens[0] != "-A":
            raise ParseError(f"line {number}: not a rule: {line!r}")
        chain = tokens[1]
        rule = parse_rule(chain, tokens[2:], text=line)
        rule.packets, rule.bytes = packets, bytes_
        table.chains.setdefault(chain, Chain(chain, None)).rules.append(rule)
    if not tables:
        raise ParseError("no table in the text (is it iptables-save output?)")
    return tables


def parse_table(text: str, name: str = "nat") -> Table:
    tables = parse(text)
    if name not in tables:
        raise ParseError(f"no *{name} table in the text")
    return tables[name]


# --------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class Packet:
    """What the walk knows of a packet: its destination, and whether that address is one of
    this machine's own (``-m addrtype --dst-type LOCAL``). A source of None is unknown."""

    dst: str
    dport: int
    proto: str = "tcp"
    dst_local: bool = False
    src: str | None = None


@dataclass
class Step:
    """One rule the packet meets (matched, or matched under ``conditions``)."""

    chain: str
    rule: str  # the rule's text
    target: str | None
    comment: str = ""
    conditions: list[str] = field(default_factory=list)  # matches the walk cannot decide
    matches: list[str] = field(default_factory=list)  # every match of the rule, in words
    probability: float | None = None  # -m statistic: the chance this rule is taken here
    reach: float = 1.0  # the chance a packet entering the walk gets to this rule and takes it
    action: str = "jump"  # jump | goto | mark | nat | return | other
    target_options: dict[str, str | None] = field(default_factory=dict)
    packets: int | None = None
    children: list["Step"] = field(default_factory=list)  # the steps inside a jumped-to chain


def _in_net(addr: str, net: str) -> bool:
    try:
        return ipaddress.ip_address(addr) in ipaddress.ip_network(net, strict=False)
    except ValueError:
        return False


_WORDS = {"-s": "source", "-d": "destination", "-i": "in-interface", "-o": "out-interface",
          "--mark": "mark", "--ctstate": "conntrack state", "--src-type": "source type"}


def _describe(m: Match) -> str:
    word = _WORDS.get(m.option, m.option.lstrip("-"))
    return f"{word} {'not ' if m.negated else ''}{m.value}" if m.value is not None else word


def describe_matches(rule: Rule) -> list[str]:
    """The rule's matches in words, but for comments and -m statistic."""
    out = []
    for m in rule.matches:
        if m.option == "--comment" or m.module == "statistic":
            continue
        if m.option == "-p" and m.value:
            out.append(("not " if m.negated else "") + m.value)
        elif m.option in ("--dport", "--destination-port"):
            out.append(f"dport {'not ' if m.negated else ''}{m.value}")
        elif m.option == "--dst-type":
            out.append(f"destination {'not ' if m.negated else ''}{m.value} (an address of this node)"
                       if m.value == "LOCAL" else _describe(m))
        else:
            out.append(_describe(m))
    return out


def _match(rule: Rule, pkt: Packet) -> tuple[bool, list[str]]:
    """Does ``pkt`` meet the rule's matches? (False, _) when surely not; else (True,
    conditions the walk could not decide)."""
    conditions: list[str] = []
    for m in rule.matches:
        if m.option == "--comment" or m.module == "statistic":
            continue
        verdict: bool | None
        if m.option == "-d" and m.value:
            verdict = _in_net(pkt.dst, m.value)
        elif m.option == "-s" and m.value:
            verdict = None if pkt.src is None else _in_net(pkt.src, m.value)
        elif m.option == "-p" and m.value:
            verdict = m.value.lower() in (pkt.proto, "all")
        elif m.option in ("--dport", "--destination-port") and m.value:
            lo, _, hi = m.value.partition(":")
            verdict = int(lo) <= pkt.dport <= int(hi or lo)
        elif m.option in ("--dports", "--destination-ports") and m.value:
            verdict = str(pkt.dport) in m.value.split(",")
        elif m.option == "--dst-type" and m.value:
            verdict = (m.value == "LOCAL") == pkt.dst_local if m.value in ("LOCAL", "UNICAST") \
                else None
        else:
            verdict = None
        if verdict is None:
            conditions.append(_describe(m))
            continue
        if verdict == m.negated:
            return False, []
    return True, conditions


def trace(table: Table, start: str, pkt: Packet, *, _depth: int = 0,
          _reach: float = 1.0) -> tuple[list[Step], float]:
    """Walk chain ``start`` of ``table`` for ``pkt``. Returns the steps the packet meets and
    the share of packets entering the chain that met a terminal target inside it (1.0: no
    packet comes back out of this chain)."""
    chain = table.chains.get(start)
    if chain is None or _depth > 32:
        return [], 0.0
    steps: list[Step] = []
    remaining = 1.0  # share of entering packets still walking this chain
    ended = 0.0
    for rule in chain.rules:
        if remaining <= 1e-12:
            break
        ok, conditions = _match(rule, pkt)
        if not ok:
            continue
        p = rule.probability
        taken = remaining * (p if p is not None else 1.0)
        step = Step(chain=start, rule=rule.text, target=rule.target, comment=rule.comment,
                    conditions=conditions, matches=describe_matches(rule), probability=p, reach=_reach * taken,
                    target_options=dict(rule.target_options), packets=rule.packets)
        steps.append(step)
        certain = not conditions
        target = rule.target
        if target is None:
            step.action = "other"
            continue
        if target in table.chains:
            step.action = "goto" if rule.goto else "jump"
            step.children, child_end = trace(table, target, pkt, _depth=_depth + 1,
                                             _reach=_reach * taken)
            if rule.goto:
                child_end = 1.0
            if certain:
                ended += taken * child_end
                remaining -= taken * child_end
        elif target in TERMINAL_TARGETS:
            step.action = "nat" if target in ("DNAT", "SNAT", "MASQUERADE", "REDIRECT",
                                             "NETMAP") else "other"
            if certain:
                ended += taken
                remaining -= taken
        elif target == "RETURN":
            step.action = "return"
            if certain:
                remaining -= taken
        elif target in ("MARK", "CONNMARK"):
            step.action = "mark"
        else:
            step.action = "other"
    return steps, ended


def walk(steps: list[Step]) -> Iterable[Step]:
    """Every step, depth first."""
    for step in steps:
        yield step
        yield from walk(step.children)
