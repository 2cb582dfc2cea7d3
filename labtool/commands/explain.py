"""labtool explain: the walkthrough explained with the lab's own values, read from the live
lab — gather, build, render, and the exit code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

import click

from labtool import exitcodes
from labtool.commands import _common as c
from labtool.explain.model import Explanation


def exit_code(ex: Explanation, result) -> int:
    """4: a node could not be reached; 3: the lab lacks a piece the explanation needs;
    1: the gathering run failed otherwise; 0: all read."""
    if result is not None and result.canceled:
        return exitcodes.INTERRUPTED
    if any(p.kind == "unreachable" for p in ex.problems):
        return exitcodes.UNREACHABLE
    if ex.problems:
        return exitcodes.VERIFY_FAILED
    if result is not None and (result.failed_hosts or result.status != "successful"):
        return exitcodes.TASK_FAILED
    return exitcodes.OK


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
        return exitcodes.INTERRUPTED if result is not None and result.canceled else exitcodes.TASK_FAILED
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


@click.command("explain", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@click.option("--service", help="The Service to explain (default: the lab's, mysvc).")
@click.option("--probe", type=click.IntRange(0, 1000), default=0, metavar="N",
              help="Send N requests to every node's NodePort and to the ClusterIP, and show "
                   "how the endpoint chains' counters spread them over the pods.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole explanation as JSON.")
@click.option("--svg", type=click.Path(dir_okay=False), help="Also draw the path as SVG into FILE.")
@click.option("--html", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML page (text and picture) into FILE.")
@c.verbosity_option
@c.auth_options
def command(file, name, service, probe, as_json, svg, html, verbosity, ask_pass,
            ask_become_pass) -> None:
    """Explain the walkthrough with the lab's own values, read from the live lab (changing
    nothing): the three ports of mysvc, the nat rules kube-proxy wrote on each node from
    PREROUTING/OUTPUT to the pods, kube-proxy's mode, the stopped iptables service, the RC.

    Exit 0 when everything could be read; 3 when the lab lacks a piece (no Service, no
    endpoints, no kube-proxy rules: one line each on stderr); 4 when a node is unreachable;
    1 when the gathering playbook failed."""
    lab = c.give_secrets(c.load_single(file, name), ask_pass, ask_become_pass)
    sys.exit(run(lab, service=service, probe=probe, as_json=as_json, svg=svg, html=html,
                 verbosity=verbosity, err=c.err))
