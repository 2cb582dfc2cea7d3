"""Gathering: runs playbooks/explain.yml through labtool.runner (read-only) and brings home
the raw facts it hands over with set_stats (``labtool_explain``). Nothing here parses
iptables or kubectl output; :mod:`labtool.explain.build` does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from labtool.explain.build import LabNode, build
from labtool.explain.model import Explanation

STATS_KEY = "labtool_explain"


@dataclass
class Gathered:
    facts: dict[str, Any] = field(default_factory=dict)
    result: Any = None  # labtool.events.RunResult


class StatsCatcher:
    """An ``on_event`` callback keeping the ``labtool_explain`` set_stats data."""

    def __init__(self, then: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.facts: dict[str, Any] = {}
        self._then = then

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event") == "playbook_on_stats":
            data = ((event.get("event_data") or {}).get("artifact_data") or {}).get(STATS_KEY)
            if isinstance(data, dict):
                self.facts = data
        if self._then is not None:
            self._then(event)


def gather(lab, *, service: str | None = None, probe: int = 0, verbosity: int = 0,
           on_event: Callable[[dict[str, Any]], None] | None = None) -> Gathered:
    from labtool import runner

    catcher = StatsCatcher(on_event)
    extravars: dict[str, Any] = {"explain_probe": int(probe)}
    if service:
        extravars["explain_service"] = service
    result = runner.run_playbook("explain", lab, verbosity=verbosity, extravars=extravars,
                                 on_event=catcher)
    return Gathered(facts=catcher.facts, result=result)


def lab_nodes(lab) -> list[LabNode]:
    return [LabNode(name=n.name, address=n.address, node_ip=n.node_ip or n.address, role=n.role)
            for n in lab.nodes]


def _why(message: str) -> str:
    """The line of an unreachable task's message that says why (a loop's says "All items
    completed" first, then one line per item)."""
    lines = [line.split(": ", 1)[1] if line.startswith("item ") and ": " in line else line
             for line in message.splitlines() if line.strip()]
    lines = [line for line in lines if line != "All items completed"]
    return lines[0] if lines else message


def explain(lab, gathered: Gathered, service: str | None = None) -> Explanation:
    result = gathered.result
    unreachable = {f.host: _why(f.message) for f in (result.failures if result else []) if f.unreachable}
    facts = dict(gathered.facts)
    facts.setdefault("service", service or lab.workloads.service.name)
    return build(facts, lab_name=lab.name, nodes=lab_nodes(lab),
                 deployment=lab.workloads.deployment.name,
                 replication_controller=lab.workloads.replication_controller.name,
                 unreachable=unreachable)
