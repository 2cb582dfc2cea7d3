"""Running host commands for the local lab, with one clear error when one fails."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class LocalLabError(RuntimeError):
    """A host step of the local lab could not be done; the message says which and why."""


def run(
    args: Sequence[str],
    *,
    check: bool = True,
    input: str | bytes | None = None,  # noqa: A002 - mirrors subprocess
    timeout: float | None = 600,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output as text; raise LocalLabError if it fails and check is set."""
    try:
        proc = subprocess.run(
            list(args),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise LocalLabError(f"{args[0]} is not installed on this host ({exc})") from exc
    except subprocess.TimeoutExpired as exc:
        raise LocalLabError(f"`{' '.join(args)}` did not finish within {timeout} s") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise LocalLabError(f"`{' '.join(args)}` failed (exit {proc.returncode}): {detail}")
    return proc


def ok(args: Sequence[str]) -> bool:
    """True when the command exits 0 (its output is discarded)."""
    try:
        return subprocess.run(list(args), capture_output=True, check=False, timeout=120).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
