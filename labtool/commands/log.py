"""labtool log: the runs kept for a lab, and any of them shown again as it ended."""

from __future__ import annotations

import sys

import click

from labtool import exitcodes
from labtool.commands import _common as c


def _labs(lab):
    return lab.labs if c.is_class(lab) else [lab]


def _list(labs) -> None:
    from rich.table import Table

    from labtool import records, report

    table = Table(title="runs kept (newest last)", title_justify="left")
    for name in ("lab", "run", "playbook", "status"):
        table.add_column(name)
    for lab in labs:
        for record in records.records(lab):
            table.add_row(lab.name, record.ident, record.playbook, record.status)
    report.default_console().print(table)


def _show(lab, record) -> None:
    from labtool import records, report

    console = report.default_console()
    console.rule(f"{lab.name}: run {record.ident}")
    report.print_result(records.replay(record), console=console)


@click.command("log", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@c.lab_option
@click.option("--last", is_flag=True, help="Show the newest run again (of each lab of a class).")
@click.argument("run", required=False)
def command(file, name, lab_names, last, run) -> None:
    """Show a past run again — its recap, failures and verify table — from the runs
    labtool keeps (the last 10 of each lab). Without --last or RUN, list the runs.
    RUN is a run's name from that list, or the start of one."""
    from labtool import records

    labs = _labs(c.load_any(file, name, lab_names))
    if not (last or run):
        _list(labs)
        return
    shown = 0
    for lab in labs:
        kept = records.records(lab)
        record = (kept[-1] if kept else None) if last else records.find(lab, run)
        if record is not None:
            _show(lab, record)
            shown += 1
    if not shown:
        c.err(f"labtool: log: no run {'kept' if last else repr(run)} for "
              f"{', '.join(lab.name for lab in labs)}; 'labtool log' lists the runs kept")
        sys.exit(exitcodes.BAD_INPUT)
