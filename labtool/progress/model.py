"""Where a student is in the walkthrough, as plain data: what `labtool progress` says. The
renderers (text, JSON, the class board's HTML) read only this; :mod:`labtool.progress.judge`
makes it from the gathered facts.

Each step of the walkthrough is in one of four states: done (also when done another way
that meets the walkthrough's goal, said in ``note``), not started, done differently (each
difference in words with the walkthrough's way to fix it), or unknown (the node or control
plane it is read on could not be reached)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DONE = "done"
NOT_STARTED = "not started"
DIFFERS = "done differently"
UNKNOWN = "unknown"
STATES = (DONE, NOT_STARTED, DIFFERS, UNKNOWN)


@dataclass(frozen=True)
class Walkthrough:
    """What the walkthrough asks for, with the lab's own values (the lab file's workloads)."""

    nodes: tuple[str, ...] = ("cp", "w1", "w2")
    iptables_service: str = "stopped"  # stopped | enabled
    deployment: str = "dep01"
    deployment_replicas: int = 2
    deployment_label: tuple[str, str] = ("app", "web")
    deployment_image: str = "daocloud.io/library/nginx"
    service: str = "mysvc"
    port: int = 8080
    node_port: int = 30001
    target_port: int = 80
    rc: str = "my-nginx"
    rc_replicas: int = 2
    rc_label: tuple[str, str] = ("app", "nginx")
    rc_image: str = "daocloud.io/library/nginx"


@dataclass(frozen=True)
class Difference:
    what: str  # "mysvc: nodePort is 30002; the walkthrough's Service says 30001"
    fix: str  # "kubectl edit service mysvc: set nodePort: 30001"

    def to_dict(self) -> dict[str, str]:
        return {"what": self.what, "fix": self.fix}


@dataclass(frozen=True)
class Step:
    key: str  # iptables | cluster | deployment | service | rc | curl | rc-replaces
    title: str  # "3a. Deployment dep01"
    state: str
    differences: tuple[Difference, ...] = ()
    note: str = ""  # how it was seen: "done another way: image nginx:1.25"; what to do next

    @property
    def done(self) -> bool:
        return self.state == DONE

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "state": self.state,
                "differences": [d.to_dict() for d in self.differences], "note": self.note}


# the steps of the walkthrough, in its order: key, title (with the lab's names), and which of
# them are the cluster's objects (those `up --until cluster` removes)
OBJECT_STEPS = ("deployment", "service", "rc", "curl", "rc-replaces")


def titles(w: Walkthrough) -> dict[str, str]:
    return {
        "iptables": "1. iptables, service " + ("enabled" if w.iptables_service == "enabled" else "stopped"),
        "cluster": "2. cluster: every node Ready",
        "deployment": f"3a. Deployment {w.deployment}",
        "service": f"3b. Service {w.service}",
        "rc": f"3c. RC {w.rc}",
        "curl": f"4a. curl :{w.node_port}",
        "rc-replaces": f"4b. {w.rc} replaces a pod",
    }


@dataclass
class Progress:
    lab: str
    steps: list[Step] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # node -> why
    read_at: str = ""  # ISO time of the read (UTC)
    error: str = ""  # the read itself failed (no facts at all): why

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    @property
    def at(self) -> str:
        """The first step not done ('' when every step is done)."""
        return next((s.title for s in self.steps if not s.done), "")

    @property
    def done_count(self) -> int:
        return sum(s.done for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"lab": self.lab, "read_at": self.read_at, "error": self.error,
                "unreachable": dict(self.unreachable), "at": self.at,
                "done": self.done_count, "steps": [s.to_dict() for s in self.steps]}
