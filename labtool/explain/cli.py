"""What `labtool explain` does between parsing its arguments and exiting: gather, build,
render, and the exit code (labtool/cli.py keeps only the command's definition)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

from labtool.explain.model import Explanation


def exit_code(ex: Explanation, result) -> int:
    """4: a node could not be reached; 3: the lab lacks a piece the explanation needs;
    1: the gathering run failed otherwise; 0: all read."""
    from labtool import cli

    if result is not None and result.canceled:
        return cli.EXIT_INTERRUPTED
    if any(p.kind == "unreachable" for p in ex.problems):
        return cli.EXIT_UNREACHABLE
    if ex.problems:
        return cli.EXIT_VERIFY_FAILED
    if result is not None and (result.failed_hosts or result.status != "successful"):
        return cli.EXIT_TASK_FAILED
    return cli.EXIT_OK


def run(lab, *, service: str | None, probe: int, as_json: bool, svg: str | None,
        html: str | None, verbosity: int, err: Callable[[str], None]) -> int:
    from labtool.explain import gather, picture, text

    terminal = sys.stdout.isatty() and not as_json
    if sys.stderr.isatty():
        from rich.console import Console

        what = f"Reading lab {lab.name}" + (f" and sending {probe} requests to each path" if probe else "")
        with Console(stderr=True).status(what + " ..."):
            gathered = gather.gather(lab, service=service, probe=probe, verbosity=verbosity)
    else:
        gathered = gather.gather(lab, service=service, probe=probe, verbosity=verbosity)
    result = gathered.result
    if not gathered.facts and not (result and result.unreachable_hosts):
        for f in (result.failures if result else []):
            err(f"labtool: explain: {f.host + ': ' if f.host else ''}{f.task + ': ' if f.task else ''}"
                f"{' '.join(f.message.split())}")
        if result is not None and result.log_path:
            err(f"labtool: explain: the gathering run's log: {result.log_path}")
        from labtool import cli

        return cli.EXIT_INTERRUPTED if result is not None and result.canceled else cli.EXIT_TASK_FAILED
    ex = gather.explain(lab, gathered, service)
    if as_json:
        sys.stdout.write(json.dumps(ex.to_dict(), indent=2) + "\n")
    elif terminal:
        from rich.console import Console

        text.render_rich(text.document(ex), Console())
    else:
        sys.stdout.write(text.text(ex))
    if svg:
        Path(svg).write_text(picture.svg(ex), encoding="utf-8")
    if html:
        Path(html).write_text(picture.html(ex, text.text(ex)), encoding="utf-8")
    for p in ex.problems:
        err(f"labtool: explain: {p.node + ': ' if p.node else ''}{p.message}")
    return exit_code(ex, result)
