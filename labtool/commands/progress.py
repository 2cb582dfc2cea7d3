"""labtool progress: each step of the walkthrough graded on the live lab (read-only), or
the class board of every lab; --html writes the board as a page, --serve serves it."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from labtool import exitcodes
from labtool.commands import _common as c


def exit_code(progresses) -> int:
    """4: a lab or node could not be read; 0 otherwise (a step not done is not an error:
    progress reports where a student is)."""
    if any(p.error or p.unreachable for p in progresses):
        return exitcodes.UNREACHABLE
    return exitcodes.OK


def _names(lab) -> dict[str, str]:
    wl = lab.workloads
    return {"deployment": wl.deployment.name, "service": wl.service.name,
            "rc": wl.replication_controller.name}


@click.command("progress", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@c.lab_option
@click.option("--json", "as_json", is_flag=True, help="Print every step's grade as JSON.")
@click.option("--html", type=click.Path(dir_okay=False),
              help="Also write the board as a self-contained HTML page into FILE.")
@click.option("--serve", metavar="[ADDRESS:]PORT",
              help="Serve the board over HTTP (default address 127.0.0.1) and re-read the labs "
                   "every --every seconds, until Ctrl-C.")
@click.option("--every", type=click.IntRange(2, 3600), default=30, show_default=True, metavar="N",
              help="With --serve: seconds between two reads of the labs.")
@c.verbosity_option
@c.auth_options
def command(file, name, lab_names, as_json, html, serve, every, verbosity, ask_pass,
            ask_become_pass) -> None:
    """Grade each step of the walkthrough on the live lab, changing nothing: done, not
    started, or done differently (with the exact difference and the walkthrough's fix).
    A step done another way that meets the walkthrough's goal counts as done.

    With a class file: the class board, one row per lab and one column per step (every lab
    read at once), each failure in words underneath. Exit 4 when a lab or node could not
    be read, else 0."""
    from labtool.progress import gather, page, text
    from labtool.progress import serve as serving

    lab = c.give_secrets(c.load_any(file, name, lab_names), ask_pass, ask_become_pass)
    labs = lab.labs if c.is_class(lab) else [lab]
    names = _names(labs[0])
    title = f"{lab.name}: the walkthrough, lab by lab" if c.is_class(lab) else f"{lab.name}: progress"

    def read() -> dict:
        if len(labs) == 1 and not c.is_class(lab):
            return {lab.name: gather.read_lab(lab, verbosity=verbosity)[0]}
        return gather.read_class(labs, verbosity=verbosity)

    if serve:
        try:
            address, port = serving.parse_address(serve)
        except ValueError as exc:
            c.err(f"labtool: --serve: {exc}")
            sys.exit(exitcodes.BAD_INPUT)
        board = serving.Board(title, [one.name for one in labs], names, every)
        try:
            serving.serve(board, read, address, port, every, echo=click.echo)
        except OSError as exc:
            c.err(f"labtool: --serve {serve}: {exc}")
            sys.exit(exitcodes.BAD_INPUT)
        return
    progresses = list(read().values())
    if as_json:
        data = [p.to_dict() for p in progresses]
        sys.stdout.write(json.dumps({"class": lab.name, "labs": data} if c.is_class(lab) else data[0],
                                    indent=2) + "\n")
    elif c.is_class(lab):
        sys.stdout.write(text.board_text(title, progresses, names))
    else:
        sys.stdout.write(text.lab_text(progresses[0]))
    if html:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        Path(html).write_text(page.board_html(title, progresses, names, generated=now), encoding="utf-8")
    sys.exit(exit_code(progresses))
