"""Runs a playbook with ansible-runner and turns its event stream into a :class:`RunResult`.

This is the only module that knows ansible-runner. The display subscribes to the same
events through ``on_event``; nobody parses stdout.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from labtool import _paths
from labtool.inventory import build_inventory, render_inventory
from labtool.labfile import Lab

VERIFY_STATS_KEY = "labtool_verify"
KEEP_RUNS = 10

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

    def __init__(self, playbook: str):
        self.result = RunResult(playbook=playbook)
        self._stats_seen = False

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
                if not self._stats_seen:
                    self._host(host).failed += 1
                self.result.failures.append(TaskFailure(
                    host=host, task=data.get("task", ""), role=data.get("role", ""),
                    message=failure_message(data.get("res"), event.get("stdout") or "")))
        elif kind == "runner_on_unreachable" and host:
            if not self._stats_seen:
                self._host(host).unreachable += 1
            self.result.failures.append(TaskFailure(
                host=host, task=data.get("task", ""), role=data.get("role", ""),
                message=failure_message(data.get("res"), event.get("stdout") or ""),
                unreachable=True))
        elif kind == "playbook_on_stats":
            self._stats(data)

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
        if hosts:
            self.result.hosts = hosts
        artifact = data.get("artifact_data") or {}
        checks = artifact.get(VERIFY_STATS_KEY)
        if isinstance(checks, dict):
            self.result.verify = {k: v for k, v in checks.items() if isinstance(v, dict)}


class _Interrupt:
    """Ctrl-C during a run. The first SIGINT is passed on to ansible-playbook, which stops
    its workers (they run in their own sessions) and exits; ansible-runner's
    cancel_callback forces the end if it has not exited after ``grace`` seconds, or at a
    second Ctrl-C."""

    def __init__(self, grace: float = 10.0) -> None:
        self.requested = False
        self.grace = grace
        self._count = 0
        self._since = 0.0
        self._previous: Any = None

    def __enter__(self) -> "_Interrupt":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        self._count += 1
        if self._count == 1:
            self._since = time.monotonic()
            for pid in _children():
                try:
                    os.kill(pid, signal.SIGINT)
                except OSError:
                    pass

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def __call__(self) -> bool:
        return self.requested and (self._count > 1 or time.monotonic() - self._since > self.grace)


class _Shared:
    """A class run's one Ctrl-C handler, entered by each lab's run (it is installed once,
    in the main thread, by :func:`run_class`)."""

    def __init__(self, interrupt: _Interrupt) -> None:
        self.interrupt = interrupt

    def __enter__(self) -> _Interrupt:
        return self.interrupt

    def __exit__(self, *exc: Any) -> None:
        return None


def _children() -> list[int]:
    """The pids of this process's direct children (ansible-playbook under pexpect)."""
    me, pids = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            pids.append(int(entry.name))
    return pids


def prepare_private_dir(lab: Lab) -> tuple[Path, Path]:
    """Create ``<state>/runner/`` with the inventory in it; return (private dir, inventory)."""
    state = _paths.state_dir(lab.state_name)
    private = state / "runner"
    (private / "inventory").mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    if lab.class_name:
        os.chmod(state.parent, 0o700)
    inventory = private / "inventory" / "hosts.yml"
    inventory.write_text(render_inventory(build_inventory(lab, state)), encoding="utf-8")
    return private, inventory


def run_playbook(
    name: str,
    lab: Lab,
    *,
    limit: str | None = None,
    tags: str | None = None,
    check: bool = False,
    verbosity: int = 0,
    extravars: dict[str, Any] | None = None,
    on_event: Callable[[Event], None] | None = None,
    interrupt: "_Interrupt | None" = None,
) -> RunResult:
    """Run ``playbooks/<name>.yml`` (or the playbook at path ``name``) against ``lab``.

    Ctrl-C cancels the run: the result's status is then ``canceled``. ``interrupt``: the
    Ctrl-C handler of a class run (one for all its labs' runs; see :func:`run_class`)."""
    import ansible_runner  # imported here: the CLI must start fast

    playbook = Path(name).resolve() if os.sep in name else _paths.playbook(name)
    collector = EventCollector(playbook.stem)
    if not playbook.is_file():
        collector.result.status = "error"
        collector.result.failures.append(TaskFailure("", "", "", f"playbook {playbook} not found"))
        return collector.result

    private, inventory = prepare_private_dir(lab)
    ident = f"{datetime.now():%Y%m%d-%H%M%S}-{playbook.stem}"
    n = 1
    while (private / "artifacts" / ident).exists():  # two runs in one second
        n += 1
        ident = f"{datetime.now():%Y%m%d-%H%M%S}-{playbook.stem}-{n}"

    def handle(event: Event) -> bool:
        collector.feed(event)
        if on_event is not None:
            on_event(event)
        return True  # keep the event (ansible-runner drops it otherwise)

    from labtool.strategy import strategy_env  # LABTOOL_STRATEGY=mitogen: Mitogen's strategy

    envvars = {
        **strategy_env(),
        "ANSIBLE_CONFIG": str(_paths.ANSIBLE_CFG),
        "ANSIBLE_ROLES_PATH": str(_paths.ROLES_DIR),
        "ANSIBLE_NOCOLOR": "1",  # the log (artifacts/<run>/stdout) stays readable
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        # ansible-playbook lives next to this Python (a venv need not be activated)
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    started = time.monotonic()
    with (_Shared(interrupt) if interrupt is not None else _Interrupt()) as interrupt:
        runner = ansible_runner.run(
            private_data_dir=str(private),
            project_dir=str(_paths.PLAYBOOKS_DIR),
            playbook=str(playbook),
            inventory=str(inventory),
            ident=ident,
            envvars=envvars,
            extravars=extravars or None,
            limit=limit or None,
            tags=tags or None,
            cmdline="--check" if check else None,
            verbosity=verbosity or None,
            event_handler=handle,
            cancel_callback=interrupt,
            rotate_artifacts=KEEP_RUNS,
            suppress_env_files=True,
            quiet=True,
            settings={"pexpect_timeout": 0.5},
        )
    result = collector.result
    result.duration = time.monotonic() - started
    result.status = "canceled" if interrupt.requested else runner.status
    result.rc = runner.rc
    result.log_path = Path(runner.config.artifact_dir) / "stdout"
    if result.status == "failed" and not result.failures and not result.hosts:
        result.failures.append(TaskFailure(
            "", "", "", f"ansible-playbook exited with status {runner.rc} before running a "
            f"task; the log says why: {result.log_path}"))
    return result


# --------------------------------------------------------------------------- a class of labs
#
# One ansible-runner run per lab, each in its own thread: every lab has its own private dir,
# inventory, log, and failures, and the roles see exactly the single-lab inventory (so every
# run_once, delegate_to and groups[...] stays within the lab). A dead node of one lab is
# unreachable in that lab's run alone.


@dataclass
class LabRun:
    """What a class run did for one lab: its playbook runs in order (e.g. up, then verify)."""

    lab: str
    runs: list[RunResult] = field(default_factory=list)
    duration: float = 0.0
    error: str = ""  # an exception that ended the lab's thread (a bug, not a node's failure)

    @property
    def unreachable_hosts(self) -> list[str]:
        return sorted({h for r in self.runs for h in r.unreachable_hosts})

    @property
    def failed_hosts(self) -> list[str]:
        return sorted({h for r in self.runs for h in r.failed_hosts})

    @property
    def verify(self) -> dict[str, dict[str, Any]]:
        """The checks of the last run that recorded any."""
        return next((r.verify for r in reversed(self.runs) if r.verify), {})

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.verify.values() if not c.get("ok")]

    @property
    def canceled(self) -> bool:
        return any(r.canceled for r in self.runs)


# plan(lab, run) runs the lab's playbooks through run(playbook, **options) -> RunResult
Plan = Callable[[Lab, Callable[..., RunResult]], None]


def run_class(
    labs: list[Lab],
    plan: Plan,
    *,
    on_event: Callable[[str, Event], None] | None = None,
) -> dict[str, LabRun]:
    """Run ``plan`` for every lab at once, one thread per lab; return each lab's runs.

    ``on_event(lab name, event)`` gets every event of every lab (from the labs' threads).
    Ctrl-C stops every lab's run."""
    out = {lab.name: LabRun(lab.name) for lab in labs}

    def one(lab: Lab, interrupt: _Interrupt) -> None:
        record = out[lab.name]
        started = time.monotonic()

        def run(playbook: str, **options: Any) -> RunResult:
            handler = None if on_event is None else (lambda event: on_event(lab.name, event))
            result = run_playbook(playbook, lab, on_event=handler, interrupt=interrupt, **options)
            record.runs.append(result)
            return result

        try:
            if not interrupt.requested:
                plan(lab, run)
        except Exception as exc:  # noqa: BLE001 - reported as the lab's failure, not a crash of all
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            record.duration = time.monotonic() - started

    with _Interrupt() as interrupt:
        threads = [threading.Thread(target=one, args=(lab, interrupt), name=f"lab-{lab.name}",
                                    daemon=True) for lab in labs]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # join with a timeout: Ctrl-C reaches the main thread
                thread.join(0.2)
    return out
