"""The run record: every playbook run of a lab is kept in the runner's artifacts
(``<state>/runner/artifacts/<run>/``: status, rc, stdout and job_events, the last
runner.KEEP_RUNS of them), and a past run is read back into the same RunResult a live run
made, so that the same rendering code shows it again."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from labtool import _paths
from labtool.events import EventCollector, RunResult

_IDENT_RE = re.compile(r"^(?P<when>\d{8}-\d{6})-(?P<playbook>.+?)(?:-\d+)?$")


@dataclass(frozen=True)
class Record:
    """One past run of a lab."""

    lab: str
    ident: str  # e.g. 20261204-171500-up
    path: Path

    @property
    def playbook(self) -> str:
        match = _IDENT_RE.match(self.ident)
        return match["playbook"] if match else self.ident

    @property
    def started(self) -> datetime | None:
        match = _IDENT_RE.match(self.ident)
        return datetime.strptime(match["when"], "%Y%m%d-%H%M%S") if match else None

    @property
    def status(self) -> str:
        return _read(self.path / "status") or "unknown"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def records(lab: Any) -> list[Record]:
    """The lab's kept runs, oldest first."""
    artifacts = _paths.state_dir(lab.state_name) / "runner" / "artifacts"
    found = [Record(lab.name, p.name, p) for p in artifacts.iterdir()
             if p.is_dir() and _IDENT_RE.match(p.name)] if artifacts.is_dir() else []
    return sorted(found, key=lambda r: (r.started or datetime.min, r.ident))


def find(lab: Any, run: str) -> Record | None:
    """The run named ``run``: its whole name, or the only run whose name starts with it."""
    kept = records(lab)
    exact = [r for r in kept if r.ident == run]
    starting = [r for r in kept if r.ident.startswith(run)]
    return (exact or (starting if len(starting) == 1 else [None]))[0]


def _events(path: Path) -> list[dict[str, Any]]:
    events = []
    for file in (path / "job_events").glob("*.json"):
        try:
            events.append(json.loads(file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a run killed mid-write leaves a partial event
    return sorted(events, key=lambda e: e.get("counter", 0))


def _duration(events: list[dict[str, Any]]) -> float:
    times = [datetime.fromisoformat(e["created"]) for e in events if e.get("created")]
    return (max(times) - min(times)).total_seconds() if times else 0.0


def _addresses(record: Record) -> dict[str, str]:
    """Each node's address and name -> its name, from the inventory beside the run's
    artifacts (``<state>/runner/inventory/hosts.yml``): as the live run had them."""
    import yaml

    try:
        data = yaml.safe_load((record.path.parent.parent / "inventory" / "hosts.yml").read_text()) or {}
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    groups = [data]
    while groups:  # every group's hosts, its children's too
        group = groups.pop()
        if not isinstance(group, dict):
            continue
        for name, hostvars in (group.get("hosts") or {}).items():
            out[str(name)] = str(name)
            if isinstance(hostvars, dict) and hostvars.get("ansible_host"):
                out[str(hostvars["ansible_host"])] = str(name)
        groups += [g for g in (group.get("children") or {}).values()] + [data.get("all")] * (group is data)
    return out


def replay(record: Record) -> RunResult:
    """The RunResult of a past run, from its events, exactly as the live run folded them."""
    collector = EventCollector(record.playbook, _addresses(record))
    events = _events(record.path)
    for event in events:
        collector.feed(event)
    result = collector.result
    result.status = record.status
    rc = _read(record.path / "rc")
    result.rc = int(rc) if rc.lstrip("-").isdigit() else None
    result.duration = _duration(events)
    result.log_path = record.path / "stdout"
    return result
