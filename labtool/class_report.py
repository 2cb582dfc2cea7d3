"""The report of a class run: the live board of every lab, one row per lab at the end,
then every failure and each lab's run logs. Built on the single lab's report (labtool.report)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from labtool.events import Event, delegated_note
from labtool.report import RESULT_STYLE, default_console, plain_line, recap_table, result_word, task_title, verify_table


class ClassProgress:
    """The ``on_event(lab, event)`` subscriber of a class run: one live line per lab (its
    playbook and phase, its nodes done, elapsed time) on a terminal; a plain line per lab
    phase change otherwise. ``verbose`` also prints every task result, prefixed by its lab.

    A node is done when the lab's run is over for it: it dropped out (unreachable, or a
    task failed on it) or the lab finished (:meth:`finished`)."""

    def __init__(self, labs: dict[str, int], console: Console | None = None,
                 live: bool | None = None, verbose: bool = False,
                 addresses: dict[str, dict[str, str]] | None = None):
        """``addresses``: lab -> its nodes' addresses and names -> names (a delegated task's
        failure is shown as the delegated node's)."""
        self.console = console or default_console()
        self.addresses = dict(addresses or {})
        self.live_mode = self.console.is_terminal if live is None else live
        self.verbose = verbose
        self.nodes = dict(labs)  # lab -> number of nodes
        self.phase = {lab: "waiting" for lab in labs}
        self.out: dict[str, dict[str, str]] = {lab: {} for lab in labs}  # lab -> node -> why
        self.done: dict[str, float] = {}  # lab -> seconds, when finished
        self._playbook = {lab: "" for lab in labs}
        self._started = time.monotonic()
        self._live: Live | None = None
        self._lock = threading.Lock()

    def __call__(self, lab: str, event: Event) -> None:
        with self._lock:
            lines = self._on_event(lab, event)
        self._print(lines)

    def _print(self, lines: list[Text]) -> None:
        if self.live_mode and self._live is None:
            self._live = Live(console=self.console, refresh_per_second=4, transient=True,
                              get_renderable=self._render_locked)
            self._live.start()
        target = self._live.console if self._live is not None else self.console
        for line in lines:
            target.print(line, soft_wrap=True)

    def _elapsed(self, lab: str) -> float:
        return self.done.get(lab, time.monotonic() - self._started)

    def _on_event(self, lab: str, event: Event) -> list[Text]:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        out: list[Text] = []
        if kind == "playbook_on_start":
            self._playbook[lab] = os.path.splitext(os.path.basename(str(data.get("playbook", ""))))[0]
        elif kind == "playbook_on_play_start":
            play = data.get("play") or data.get("name") or ""
            phase = f"{self._playbook[lab]}: {play}" if self._playbook[lab] else play
            if phase != self.phase[lab]:
                self.phase[lab] = phase
                if not self.live_mode:
                    out.append(Text(f"[{lab}] {phase} ({self._elapsed(lab):.0f} s)"))
        word = result_word(event)
        host, note = data.get("host") or "", ""
        if word in ("failed", "unreachable") and host:
            host, note = delegated_note(event, self.addresses.get(lab, {}))
        if word in ("failed", "unreachable") and host and host not in self.out[lab]:
            self.out[lab][host] = word
            out.append(Text(f"[{lab}] {host}: {word} at {task_title(data)}{note}",
                            style=RESULT_STYLE[word] if self.live_mode else ""))
        elif self.verbose:
            line = plain_line(event)
            if line is not None:
                out.append(Text(f"[{lab}] {line}"))
        return out

    def finished(self, lab: str, summary: str) -> None:
        """The lab's run is over (called from its thread)."""
        with self._lock:
            self.done[lab] = time.monotonic() - self._started
            self.phase[lab] = summary
        self._print([] if self.live_mode else [Text(f"[{lab}] {summary} ({self.done[lab]:.0f} s)")])

    def _done_count(self, lab: str) -> int:
        return self.nodes[lab] if lab in self.done else len(self.out[lab])

    def _render_locked(self) -> Table:
        with self._lock:
            return self._render()

    def _render(self) -> Table:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in ("lab", "phase", "nodes done", "time"):
            table.add_column(name, justify="right" if name in ("nodes done", "time") else "left")
        for lab in self.nodes:
            out = ", ".join(f"{h} {w}" for h, w in sorted(self.out[lab].items()))
            done = f"{self._done_count(lab)}/{self.nodes[lab]}"
            table.add_row(lab, Text.assemble(self.phase[lab], (f"  ({out})" if out else "", "bold red")),
                          done, f"{self._elapsed(lab):.0f} s")
        return table

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def lab_summary(run, nodes: list[str], node_port: int) -> dict[str, Any]:
    """One row of the class table for a :class:`labtool.runner.LabRun` of a lab whose
    nodes are ``nodes``: result, nodes Ready, NodePort answering, time."""
    checks = run.verify

    def count(check: str) -> int:
        return sum(1 for c in checks.values() if c.get("check") == check and c.get("ok")
                   and c.get("node") in nodes)

    unreachable = run.unreachable_hosts
    # a failed check fails the verify role's last task on the control plane (in verify.yml,
    # or in up.yml's read-only checks): it is reported as the checks that failed, not as a
    # failed node
    failed = sorted({f.host for r in run.runs for f in r.failures
                     if not f.unreachable and f.host
                     and not (f.role == "verify" and r.failed_checks)})
    # the rows of a node that could not be reached say so (node-checked, node-ready): the
    # result already names it unreachable
    verify_failed = [c for c in run.failed_checks if c.get("node") not in unreachable]
    parts = []
    if unreachable:
        parts.append(f"unreachable: {', '.join(unreachable)}")
    if failed:
        parts.append(f"failed: {', '.join(failed)}")
    if verify_failed:
        parts.append(f"verify failed: {len(verify_failed)} check(s)")
    if run.error:
        result = f"error: {run.error}"
    elif run.canceled:
        result = "interrupted"
    elif parts:
        result = "; ".join(parts)
    elif not run.runs or any(r.status != "successful" for r in run.runs):
        result = "failed"
    else:
        result = "ok"
    return {
        "result": result,
        "ready": count("node-ready") if checks else None,
        "nodeport": count("nodeport-serves-nginx") if checks else None,
        "nodes": len(nodes),
        "node_port": node_port,
        "duration": run.duration,
    }


def class_table(rows: dict[str, dict[str, Any]], title: str = "class") -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("lab", "result", "nodes Ready", "NodePort", "time"):
        table.add_column(name, justify="right" if name in ("nodes Ready", "time") else "left")
    for lab, row in rows.items():
        ok = row["result"] == "ok"
        ready = "-" if row["ready"] is None else f"{row['ready']}/{row['nodes']}"
        port = "-" if row["nodeport"] is None else f"{row['nodeport']}/{row['nodes']} :{row['node_port']}"
        table.add_row(lab, Text(row["result"], style="green" if ok else "bold red"), ready, port,
                      f"{row['duration']:.0f} s")
    return table


def print_class_result(runs: dict[str, Any], nodes: dict[str, list[str]],
                       node_ports: dict[str, int], *, title: str = "class",
                       console: Console | None = None, verbose: bool = False) -> None:
    """The end of a class run: one row per lab, then every failure (lab, node, task,
    message), then each lab's run logs. ``verbose`` adds each run's per-node recap."""
    console = console or default_console()
    rows = {lab: lab_summary(run, nodes[lab], node_ports[lab]) for lab, run in runs.items()}
    if verbose:
        for lab, run in runs.items():
            for result in run.runs:
                if result.hosts:
                    table = recap_table(result)
                    table.title = f"{lab}: {result.playbook}: recap"
                    console.print(table)
    console.print(class_table(rows, title))
    for lab, run in runs.items():  # what each lab that is not ok could still prove
        if rows[lab]["result"] != "ok" and run.verify:
            for result in reversed(run.runs):
                if result.verify:
                    table = verify_table(result)
                    table.title = f"{lab}: verify"
                    console.print(table)
                    break
    failures = [(lab, result, f) for lab, run in runs.items() for result in run.runs
                for f in result.failures]
    errors = [(lab, run.error) for lab, run in runs.items() if run.error]
    if failures or errors:
        console.print(Text("Failures:", style="bold red"))
    for lab, result, f in failures:
        what = "UNREACHABLE" if f.unreachable else "FAILED"
        task = f"{f.role} : {f.task}" if f.role else f.task
        console.print(Text(f"  {lab}: {what} {f.host or '-'}: {task}", style="bold"), soft_wrap=True)
        message = f.message or "(no message)"
        if f.role == "verify" and result.failed_checks:
            bad = result.failed_checks
            message = "; ".join(f"{c.get('check')} {c.get('node')}: {c.get('detail')}" for c in bad)
        if f.waiting:  # a task delegated to f.host, on their behalf
            message = f"{', '.join(f.waiting)}: waiting on {f.host}\n{message}"
        for line in message.splitlines()[:20]:
            if len(line) > 400:
                line = line[:400] + " …"
            console.print(Text(f"      {line}"), soft_wrap=True)
    for lab, error in errors:
        console.print(Text(f"  {lab}: ERROR {error}", style="bold"), soft_wrap=True)
    console.print(Text("Run logs:", style="bold"))
    for lab, run in runs.items():
        for result in run.runs:
            if result.log_path is not None:
                console.print(Text(f"  {lab}: {result.playbook}: {result.log_path}"), soft_wrap=True)
