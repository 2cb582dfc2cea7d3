"""labtool's exit codes, and how a run's outcome maps to one. Everything may import this
module; it imports nothing of labtool (a run result is read by its attributes)."""

from __future__ import annotations

from typing import Any, Iterable

OK = 0
TASK_FAILED = 1
BAD_INPUT = 2
VERIFY_FAILED = 3
UNREACHABLE = 4
INTERRUPTED = 130

# the code that wins when runs (of one lab, or of the labs of a class) end differently
_WORST_FIRST = (INTERRUPTED, UNREACHABLE, VERIFY_FAILED, TASK_FAILED)

HELP = """\b
Exit codes:
  0    everything went fine
  1    a task failed on a node (or setting up the local lab failed)
  2    bad input: the lab file (every problem is listed) or the command line
  3    verify: a check of the walkthrough failed
  4    a node could not be reached over SSH
  130  interrupted (Ctrl-C)

\b
Without -f, commands act on the local lab (three node containers on this machine),
whose lab file is .labtool/<name>/lab.yml (state root: $LABTOOL_HOME or ./.labtool)."""


def for_run(result: Any) -> int:
    """The exit code of one playbook run (an events.RunResult)."""
    if result.canceled:
        return INTERRUPTED
    if result.unreachable_hosts:
        return UNREACHABLE
    if result.failed_checks:
        return VERIFY_FAILED
    if result.failed_hosts or result.status != "successful":
        return TASK_FAILED
    return OK


def worst(codes: Iterable[int]) -> int:
    """One exit code for several: the worst of them, as for_run ranks them."""
    codes = set(codes)
    return next((code for code in _WORST_FIRST if code in codes), OK)
