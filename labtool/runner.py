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
from labtool.events import Event, EventCollector, RunResult, TaskFailure
from labtool.labfile import Lab

KEEP_RUNS = 10


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
    from labtool.access import keyed_nodes

    inventory.write_text(render_inventory(build_inventory(lab, state, keyed_nodes(lab, state))),
                         encoding="utf-8")
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
    # a task delegated to a node (delegate_to) that fails there is that node's failure
    addresses = {**{n.name: n.name for n in lab.nodes}, **{n.address: n.name for n in lab.nodes}}
    collector = EventCollector(playbook.stem, addresses)
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
        # ansible-runner sets it False unless given: host keys are checked (trust on first use
        # into the lab's own known_hosts, a changed key refused; see labtool.access)
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        # ansible-playbook lives next to this Python (a venv need not be activated)
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    # passwords go to ansible-playbook's own prompts (--ask-pass...) through the pty, in
    # memory: never in the env, the command line or the private data dir (labtool.secrets)
    secrets = lab.secrets
    flags = (["--check"] if check else []) + (secrets.flags() if secrets is not None else [])
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
            cmdline=" ".join(flags) or None,
            passwords=secrets.prompts() if secrets is not None else None,
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
