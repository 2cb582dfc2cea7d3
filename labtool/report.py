"""What the user sees: live progress from ansible-runner events, then the recap, the
verify table, the failures and the log path. Consumes events and RunResult only.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from labtool.events import Event, EventCollector, RunResult, delegated_note, failure_message



_RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}
RESULT_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "unreachable": "bold red",
          "skipped": "cyan", "ignored": "magenta"}


def result_word(event: Event) -> str | None:
    """ok / changed / failed / ignored / unreachable / skipped for a task-result event."""
    kind = _RESULT_EVENTS.get(event.get("event", ""))
    data = event.get("event_data") or {}
    if kind == "ok" and (data.get("res") or {}).get("changed"):
        return "changed"
    if kind == "failed" and data.get("ignore_errors"):
        return "ignored"
    return kind


def retry_note(data: dict[str, Any]) -> str:
    res = data.get("res") or {}
    attempts, retries = res.get("attempts"), res.get("retries")
    if isinstance(attempts, int) and isinstance(retries, int):
        return f"attempt {attempts}, {retries - attempts} retries left"
    return "retrying"


def task_title(data: dict[str, Any]) -> str:
    task = data.get("task") or data.get("name") or ""
    role = data.get("role") or ""
    return f"{role} : {task}" if role else task


# bookkeeping tasks whose success says nothing to the user (their failures are shown)
_QUIET_ACTIONS = {"ansible.builtin.validate_argument_spec", "validate_argument_spec"}


def is_quiet(event: Event) -> bool:
    data = event.get("event_data") or {}
    if result_word(event) == "skipped" and "lab_node_profile" in str(
            (data.get("res") or {}).get("false_condition", "")):
        return True  # a container-only task on a real machine (or the reverse): not the user's concern
    return data.get("task_action") in _QUIET_ACTIONS and result_word(event) in ("ok", "skipped")


_SAY_ACTIONS = {"ansible.builtin.debug", "debug"}


def said(event: Event) -> str:
    """What a debug task ("Say that ...") told the user: its message, on one line."""
    data = event.get("event_data") or {}
    if data.get("task_action") not in _SAY_ACTIONS or result_word(event) != "ok":
        return ""
    msg = (data.get("res") or {}).get("msg", "")
    return " ".join(str(msg).split()) if isinstance(msg, str) else ""


def plain_line(event: Event) -> str | None:
    """One line for a play start or a task result (the non-terminal progress format);
    None for other events and for a role's successful argument check."""
    kind = event.get("event", "")
    data = event.get("event_data") or {}
    if kind == "playbook_on_play_start":
        return f"PLAY {data.get('play') or data.get('name') or ''}".rstrip()
    if kind == "runner_retry":
        return f"{'retrying':<12} {data.get('host', ''):<12} {task_title(data)} ({retry_note(data)})"
    word = result_word(event)
    if word is None or is_quiet(event):
        return None
    line = f"{word:<12} {data.get('host', ''):<12} {task_title(data)}"
    if word in ("failed", "unreachable"):
        message = failure_message(data.get("res"), event.get("stdout") or "").splitlines()
        if message:
            line += f" — {message[0]}"
    elif said(event):
        line += f" — {said(event)}"
    return line


class Progress:
    """The ``on_event`` subscriber. A rich live view on a terminal; plain lines otherwise."""

    def __init__(self, console: Console | None = None, live: bool | None = None,
                 addresses: dict[str, str] | None = None):
        """``addresses``: the nodes' addresses and names -> names (events.node_addresses), so
        that a delegated task's failure is shown as the delegated node's."""
        self.console = console or default_console()
        self.live_mode = self.console.is_terminal if live is None else live
        self.addresses = dict(addresses or {})
        self.play = ""
        self.task = ""
        self.note = ""  # e.g. the retry count of an until-loop
        self._counts = EventCollector("progress")
        self._live: Live | None = None
        self._task_tally: dict[str, int] = {}
        self._started = time.monotonic()
        # guards the state above: rich's refresh thread renders it while events arrive.
        # Never held while printing (the console has its own lock).
        self._lock = threading.Lock()

    # the subscriber -------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        with self._lock:
            lines = self._on_event(event)
        if not self.live_mode:
            for line in lines:
                self.console.print(line, soft_wrap=True)
            return
        if self._live is None:
            self._live = Live(console=self.console, refresh_per_second=4, transient=True,
                              get_renderable=self._render_locked)
            self._live.start()
        for line in lines:
            self._live.console.print(line, soft_wrap=True)
        # the view itself is re-rendered by rich's refresh thread (4 times a second)

    def _on_event(self, event: Event) -> list[Text]:
        """Update the state; return the lines to print above the live view (or plain)."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        out: list[Text] = []
        if self.live_mode and kind in ("playbook_on_play_start", "playbook_on_task_start",
                                       "playbook_on_handler_task_start", "playbook_on_stats"):
            out.extend(self._task_done())
        if kind == "playbook_on_play_start":
            self.play = data.get("play") or data.get("name") or ""
            self.task = ""
        elif kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
            self.task = task_title(data)
            self.note = ""
        elif kind == "runner_retry":
            self.note = f"{data.get('host', '')}: {retry_note(data)}"
        word = result_word(event)
        if word is not None and not is_quiet(event):
            self._task_tally[word] = self._task_tally.get(word, 0) + 1
        self._counts.feed(event)
        line = plain_line(event)
        if line is not None and word in ("failed", "unreachable"):
            line += delegated_note(event, self.addresses)[1]
        if line is not None:
            if not self.live_mode:
                out.append(Text(line))
            elif word in ("failed", "unreachable"):
                out.append(Text(line, style=RESULT_STYLE[word]))
            elif kind == "playbook_on_play_start":
                out.append(Text(line, style="bold"))
            elif said(event):
                out.append(Text(f"    {data.get('host', '')}: {said(event)}", style="dim"))
        return out

    def _task_done(self) -> list[Text]:
        """On a terminal, one line per finished task stays above the live view."""
        out = []
        if self.task and self._task_tally:
            tally = " ".join(f"{k}={v}" for k, v in sorted(self._task_tally.items()))
            worst = next((w for w in ("failed", "unreachable", "changed", "ok", "skipped")
                          if w in self._task_tally), "ok")
            out.append(Text.assemble("  " + self.task, ("  " + tally, RESULT_STYLE.get(worst, ""))))
        self._task_tally = {}
        return out

    # live view --------------------------------------------------------------------------
    def _render_locked(self) -> Group:
        with self._lock:
            return self._render()

    def _render(self) -> Group:
        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("node")
        for name in ("ok", "changed", "failed", "unreachable", "skipped"):
            table.add_column(name, justify="right")
        for host, c in sorted(self._counts.result.hosts.items()):
            table.add_row(host, str(c.ok), str(c.changed),
                          Text(str(c.failed), style="bold red" if c.failed else ""),
                          Text(str(c.unreachable), style="bold red" if c.unreachable else ""),
                          str(c.skipped))
        elapsed = time.monotonic() - self._started
        head = Text.assemble(("PLAY ", "bold"), self.play, (f"  {elapsed:.0f} s", "dim"), "\n",
                             ("TASK ", "bold"), self.task,
                             (f"  ({self.note})" if self.note else "", "dim"))
        return Group(head, table)

    def close(self) -> None:
        """Stop the live view (always call it, also on errors: it restores the cursor)."""
        if self._live is not None:
            self._live.stop()
            self._live = None


# --------------------------------------------------------------------------- final report


def recap_table(result: RunResult) -> Table:
    table = Table(title=f"{result.playbook}: recap", title_justify="left")
    table.add_column("node")
    for name in ("ok", "changed", "failed", "unreachable", "skipped", "ignored"):
        table.add_column(name, justify="right")
    for host, c in sorted(result.hosts.items()):
        table.add_row(host, str(c.ok), Text(str(c.changed), style="yellow" if c.changed else ""),
                      Text(str(c.failed), style="bold red" if c.failed else ""),
                      Text(str(c.unreachable), style="bold red" if c.unreachable else ""),
                      str(c.skipped), str(c.ignored))
    return table


def verify_table(result: RunResult) -> Table:
    table = Table(title="verify", title_justify="left")
    for name in ("check", "node", "result", "detail"):
        table.add_column(name)
    for key, check in sorted(result.verify.items(),
                             key=lambda kv: (str(kv[1].get("check", kv[0])), str(kv[1].get("node", "")))):
        ok = bool(check.get("ok"))
        table.add_row(str(check.get("check", key)), str(check.get("node", "")),
                      Text("ok" if ok else "FAILED", style="green" if ok else "bold red"),
                      str(check.get("detail", "")))
    return table


def default_console() -> Console:
    """stdout; when it is not a terminal (CI logs, a pipe) 120 columns unless $COLUMNS says."""
    console = Console(file=sys.stdout)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(file=sys.stdout, width=120)
    return console


def print_result(result: RunResult, console: Console | None = None) -> None:
    console = console or default_console()
    if result.hosts:
        console.print(recap_table(result))
    if result.verify:
        console.print(verify_table(result))
    if result.failures:
        console.print(Text("Failures:", style="bold red"))
        for f in result.failures:
            what = "UNREACHABLE" if f.unreachable else "FAILED"
            task = f"{f.role} : {f.task}" if f.role else f.task
            console.print(Text(f"  {what} {f.host}: {task}", style="bold"), soft_wrap=True)
            message = f.message or "(no message)"
            if f.waiting:  # a task delegated to f.host, on their behalf
                message = (f"{', '.join(f.waiting)}: waiting on {f.host} (the task runs there"
                           f" for {'them' if len(f.waiting) > 1 else 'it'})\n{message}")
            if f.role == "verify" and result.failed_checks:
                message = f"{len(result.failed_checks)} failed check(s): see the verify table"
            for line in message.splitlines():
                if len(line) > 400:
                    line = line[:400] + " …"
                console.print(Text(f"      {line}"), soft_wrap=True)
    status = {"successful": "ok", "canceled": "interrupted"}.get(result.status, result.status)
    summary = f"{result.playbook}: {status} in {result.duration:.0f} s"
    if result.log_path is not None:
        summary += f"; log: {result.log_path}"
    console.print(Text(summary, style="green" if result.status == "successful" else "bold red"),
                  soft_wrap=True)
