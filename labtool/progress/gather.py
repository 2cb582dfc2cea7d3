"""Reading a lab's progress: runs playbooks/progress.yml through labtool.runner (read-only),
catches the raw facts it hands over with set_stats (``labtool_progress``) and has
:mod:`labtool.progress.judge` grade them. A class is read lab by lab side by side
(runner.run_class), so reading N labs costs about as much as reading one."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from labtool.progress.judge import judge
from labtool.progress.model import Progress, Walkthrough

STATS_KEY = "labtool_progress"


def walkthrough(lab) -> Walkthrough:
    """The walkthrough with this lab's own values."""
    wl = lab.workloads
    return Walkthrough(
        nodes=tuple(n.name for n in lab.nodes), iptables_service=lab.iptables_service,
        deployment=wl.deployment.name, deployment_replicas=wl.deployment.replicas,
        deployment_label=("app", wl.deployment.app_label), deployment_image=wl.deployment.image,
        service=wl.service.name, port=wl.service.port, node_port=wl.service.node_port,
        target_port=wl.service.target_port, rc=wl.replication_controller.name,
        rc_replicas=wl.replication_controller.replicas,
        rc_label=("app", wl.replication_controller.app_label), rc_image=wl.replication_controller.image)


class StatsCatcher:
    """An ``on_event`` callback keeping the ``labtool_progress`` set_stats data."""

    def __init__(self) -> None:
        self.facts: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event") == "playbook_on_stats":
            data = ((event.get("event_data") or {}).get("artifact_data") or {}).get(STATS_KEY)
            if isinstance(data, dict):
                self.facts = data


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _why(message: str) -> str:
    """An unreachable node's reason in a few words: ssh's own, when it gave one."""
    text = " ".join(message.split())
    return (text.rsplit("ssh: ", 1)[1] if "ssh: " in text else text)[:160]


def grade(lab, facts: dict[str, Any], result: Any, read_at: str) -> Progress:
    """The lab's progress from one read (``result``: its RunResult, for the unreachable nodes).
    A lab none of whose nodes answered is unreachable as a whole."""
    unreachable = {f.host: _why(f.message) for f in (result.failures if result else []) if f.unreachable}
    for host in (result.unreachable_hosts if result else []):
        unreachable.setdefault(host, "unreachable")
    if unreachable and set(unreachable) >= {n.name for n in lab.nodes}:
        whys = sorted(set(unreachable.values()))
        return Progress(lab=lab.name, read_at="", unreachable=unreachable,  # no good read
                        error=f"unreachable: {', '.join(sorted(unreachable))} ({'; '.join(whys)})")
    if not facts.get("nodes") and not unreachable:
        why = "; ".join(" ".join(f.message.split())[:160] for f in (result.failures if result else []))
        return Progress(lab=lab.name, read_at="",
                        error=why or f"the read did not finish ({result.status if result else 'not run'})")
    return judge(facts, walkthrough(lab), lab=lab.name, unreachable=unreachable, read_at=read_at,
                 control_plane=lab.control_plane.name)


def read_lab(lab, *, verbosity: int = 0) -> tuple[Progress, Any]:
    from labtool import runner

    catcher = StatsCatcher()
    read_at = _now()
    result = runner.run_playbook("progress", lab, verbosity=verbosity, on_event=catcher)
    return grade(lab, catcher.facts, result, read_at), result


def read_class(labs: list, *, verbosity: int = 0,
               on_event: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, Progress]:
    """Every lab read at once, one thread each; a lab whose read failed says why."""
    from labtool import runner

    catchers = {lab.name: StatsCatcher() for lab in labs}
    started = {lab.name: _now() for lab in labs}

    def events(name: str, event: dict[str, Any]) -> None:
        catchers[name](event)
        if on_event is not None:
            on_event(name, event)

    def plan(lab, run) -> None:
        started[lab.name] = _now()
        run("progress", verbosity=verbosity)

    runs = runner.run_class(labs, plan, on_event=events)
    out = {}
    for lab in labs:
        record = runs[lab.name]
        result = record.runs[-1] if record.runs else None
        progress = grade(lab, catchers[lab.name].facts, result, started[lab.name])
        if record.error and not progress.error:
            progress.error = record.error
        out[lab.name] = progress
    return out
