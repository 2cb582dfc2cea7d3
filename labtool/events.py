"""What a playbook run did, folded from its event stream: per-node counts, failures with
their messages, and the checks verify recorded. Pure: live events and recorded ones (the
run record, labtool.records) go through the same :class:`EventCollector`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VERIFY_STATS_KEY = "labtool_verify"

Event = dict[str, Any]


@dataclass
class HostCounts:
    """Ansible's per-host recap (``ok`` includes ``changed``, as in Ansible's own recap)."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    ignored: int = 0
    rescued: int = 0


@dataclass
class TaskFailure:
    host: str
    task: str
    role: str
    message: str
    unreachable: bool = False
    # the nodes on whose behalf a task delegated to ``host`` ran (delegate_to): they did not
    # fail themselves, they wait on ``host``
    waiting: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    playbook: str
    status: str = "unstarted"  # successful | failed | canceled | timeout | error
    rc: int | None = None
    hosts: dict[str, HostCounts] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    verify: dict[str, dict[str, Any]] = field(default_factory=dict)
    log_path: Path | None = None
    duration: float = 0.0

    @property
    def canceled(self) -> bool:
        return self.status == "canceled"

    @property
    def unreachable_hosts(self) -> list[str]:
        return [h for h, c in self.hosts.items() if c.unreachable]

    @property
    def failed_hosts(self) -> list[str]:
        return [h for h, c in self.hosts.items() if c.failed]

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.verify.values() if not c.get("ok")]

    @property
    def waiting_hosts(self) -> dict[str, str]:
        """Nodes that dropped out because a task delegated to another node failed there:
        node -> the node it waits on."""
        return {w: f.host for f in self.failures for w in f.waiting}


# ssh's own words for the address it could not reach (an unreachable result carries no
# delegation data in ansible-core 2.19: the address in the message is all there is)
_SSH_ADDRESS = re.compile(r"(?:connect to host|Connection to|Connection timed out to|host) "
                          r"\[?([0-9A-Za-z_.:-]+?)\]? port \d+"
                          r"|Data could not be sent to remote host \"([^\"]+)\"")


def node_addresses(nodes: Any) -> dict[str, str]:
    """Each node's name and address -> its name (the ``addresses`` of :func:`delegated_to`)."""
    return {**{n.name: n.name for n in nodes}, **{n.address: n.name for n in nodes}}


def delegated_note(event: Event, addresses: dict[str, str]) -> tuple[str, str]:
    """(the node a failed or unreachable result is the failure of, and a note naming the
    node that waits on it: "" when the task ran on its own node)."""
    data = event.get("event_data") or {}
    host = data.get("host") or ""
    owner = delegated_to(data.get("res"), addresses)
    if owner and owner != host:
        return owner, f" (delegated from {host}, which waits on {owner})"
    return host, ""


def delegated_to(res: dict[str, Any] | None, addresses: dict[str, str]) -> str:
    """The node a task result comes from when the task was delegated (delegate_to), as named
    by ``addresses`` (address or name -> node name); "" when not delegated or not a node.

    What ansible-core 2.19 puts in the runner events (measured): a failed delegated task's
    result has ``_ansible_delegated_vars`` with the delegated host's ``ansible_host`` (its
    address; ``ansible_delegated_host``, the name, is stripped from the event); an unreachable
    one has no delegation data at all, only ssh's message naming the address."""
    if not isinstance(res, dict) or not addresses:
        return ""
    delegated = res.get("_ansible_delegated_vars") or {}
    for key in ("ansible_delegated_host", "ansible_host"):
        value = delegated.get(key) if isinstance(delegated, dict) else None
        if value and str(value) in addresses:
            return addresses[str(value)]
    if res.get("unreachable"):
        found = _SSH_ADDRESS.search(str(res.get("msg") or ""))
        address = found and (found.group(1) or found.group(2))
        if address and address in addresses:
            return addresses[address]
    return ""


def failure_message(res: dict[str, Any] | None, display: str = "") -> str:
    """The useful part of a failed (or unreachable) task's result: msg, stderr (or the end
    of stdout when there is no stderr), and for a loop the failed items' own messages.

    A ``no_log: true`` task's result is censored; then the ``[ERROR]`` lines Ansible itself
    displayed for the event (``display``: the event's own text) are all there is to say."""
    if not isinstance(res, dict):
        return ""
    if res.get("censored"):
        errors = [line.strip() for line in display.splitlines() if line.startswith("[ERROR]")]
        return "\n".join(errors + ["(the result is hidden: no_log: true)"])
    parts: list[str] = []
    msg = res.get("msg")
    if msg:
        parts.append(str(msg).strip())
    stderr = res.get("stderr") or res.get("module_stderr")
    stdout = res.get("stdout") or res.get("module_stdout")
    tail = ""
    if stderr:
        tail = "\n".join(str(stderr).strip().splitlines()[-15:])
    elif stdout and (res.get("rc") not in (None, 0) or not parts):
        tail = "\n".join(str(stdout).strip().splitlines()[-15:])
    if tail and not any(tail in p for p in parts):  # apt & co. repeat stderr in msg
        parts.append(tail)
    if isinstance(res.get("results"), list):  # a loop: the failed items
        for item in res["results"]:
            if isinstance(item, dict) and item.get("failed"):
                label = item.get("_ansible_item_label", item.get("item", ""))
                text = failure_message(item)
                parts.append(f"item {label}: {text}" if label != "" else text)
    if isinstance(res.get("attempts"), int) and res["attempts"] > 1:  # an until-loop gave up
        parts.insert(0, f"still not there after {res['attempts']} attempts; the last said:")
    if not parts and res.get("rc") not in (None, 0):
        parts.append(f"exit status {res['rc']}")
    return "\n".join(p for p in parts if p)


class EventCollector:
    """Folds ansible-runner events into a :class:`RunResult`. Pure: feed it recorded events."""

    def __init__(self, playbook: str, addresses: dict[str, str] | None = None):
        """``addresses``: each node's address (and name) -> its name, so that a task delegated
        to a node that fails there is that node's failure, not the delegating node's."""
        self.result = RunResult(playbook=playbook)
        self._stats_seen = False
        self._addresses = dict(addresses or {})
        self._moved: list[tuple[str, str, bool]] = []  # (delegating node, owner, unreachable)

    def _host(self, name: str) -> HostCounts:
        return self.result.hosts.setdefault(name, HostCounts())

    def feed(self, event: Event) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = data.get("host") or ""
        if kind == "runner_on_ok" and host and not self._stats_seen:
            counts = self._host(host)
            counts.ok += 1
            if (data.get("res") or {}).get("changed"):
                counts.changed += 1
        elif kind == "runner_on_skipped" and host and not self._stats_seen:
            self._host(host).skipped += 1
        elif kind == "runner_on_failed" and host:
            if data.get("ignore_errors"):
                if not self._stats_seen:
                    self._host(host).ignored += 1
            else:
                self._failure(host, data, event, unreachable=False)
        elif kind == "runner_on_unreachable" and host:
            self._failure(host, data, event, unreachable=True)
        elif kind == "playbook_on_stats":
            self._stats(data)

    def _failure(self, host: str, data: dict[str, Any], event: Event, *, unreachable: bool) -> None:
        """A failed or unreachable result; one delegated to another node is that node's (one
        entry per task, naming the nodes that wait on it)."""
        res = data.get("res")
        owner = delegated_to(res, self._addresses)
        if owner and owner != host:
            self._moved.append((host, owner, unreachable))
            task, role = data.get("task", ""), data.get("role", "")
            for known in self.result.failures:
                if (known.host, known.task, known.role, known.unreachable) == (owner, task, role, unreachable):
                    if host not in known.waiting:
                        known.waiting.append(host)
                    return
            host_counted, waiting = owner, [host]
        else:
            host_counted, waiting = host, []
        if not self._stats_seen:
            counts = self._host(host_counted)
            if unreachable:
                counts.unreachable += 1
            else:
                counts.failed += 1
        self.result.failures.append(TaskFailure(
            host=host_counted, task=data.get("task", ""), role=data.get("role", ""),
            message=failure_message(res, event.get("stdout") or ""), unreachable=unreachable,
            waiting=waiting))

    def _stats(self, data: dict[str, Any]) -> None:
        """The recap is authoritative: replace the counts gathered from single events."""
        self._stats_seen = True
        names = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
                 "skipped": "skipped", "ignored": "ignored", "rescued": "rescued"}
        hosts: dict[str, HostCounts] = {}
        for key, attr in names.items():
            for host, n in (data.get(key) or {}).items():
                setattr(hosts.setdefault(host, HostCounts()), attr, int(n))
        for host in (data.get("processed") or {}):
            hosts.setdefault(host, HostCounts())
        # Ansible's recap counts a delegated task's failure on the delegating node: move it
        for via, owner, unreachable in self._moved:
            attr = "unreachable" if unreachable else "failed"
            if via in hosts and getattr(hosts[via], attr) > 0:
                setattr(hosts[via], attr, getattr(hosts[via], attr) - 1)
            counts = hosts.setdefault(owner, HostCounts())
            if not getattr(counts, attr):
                setattr(counts, attr, 1)
        if hosts:
            self.result.hosts = hosts
        artifact = data.get("artifact_data") or {}
        checks = artifact.get(VERIFY_STATS_KEY)
        if isinstance(checks, dict):
            self.result.verify = {k: v for k, v in checks.items() if isinstance(v, dict)}
