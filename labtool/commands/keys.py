"""labtool keys: give the lab's own SSH key to every node (ssh-copy-id, the password once),
or forget a reimaged node's host key."""

from __future__ import annotations

import sys

import click

from labtool import exitcodes
from labtool.commands import _common as c


@click.command("keys", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@click.option("--forget", "forget", multiple=True, metavar="NODE",
              help="Forget NODE's SSH host key (a machine known to be reimaged), so that the "
                   "next run trusts the key it presents now. Repeatable.")
@c.verbosity_option
@c.lab_option
@c.auth_options
def command(file, name, forget, verbosity, lab_names, ask_pass, ask_become_pass) -> None:
    """Install the lab's own SSH key (<state>/id_ed25519) for the login user of every node,
    as ssh-copy-id would, using the password once (--ask-pass, LABTOOL_SSH_PASSWORD or
    password_file:). Idempotent; says which nodes changed. Every later run reaches those
    nodes by the key alone.

    With --forget NODE: accept NODE's new host key after it was reimaged (a changed host
    key stops that node until then: someone else may be answering on its address)."""
    from labtool import nodekeys, report

    lab = c.give_secrets(c.load_any(file, name, lab_names), ask_pass, ask_become_pass)
    labs = lab.labs if c.is_class(lab) else [lab]
    if forget:
        for one in labs:
            unknown = [n for n in forget if n not in {node.name for node in one.nodes}]
            if unknown:
                c.err(f"labtool: keys --forget: lab {one.name} has no node {', '.join(unknown)} "
                      f"(nodes: {', '.join(n.name for n in one.nodes)})")
                sys.exit(exitcodes.BAD_INPUT)
            for line in nodekeys.forget(one, list(forget)):
                click.echo(line)
        sys.exit(exitcodes.OK)
    codes = []
    for one in labs:
        outcome = nodekeys.give_keys(one, verbosity=verbosity)
        if outcome.result is not None and (outcome.failed or outcome.result.status != "successful"):
            report.print_result(outcome.result)
        for line in outcome.lines(one.name):
            click.echo(line)
        codes.append(exitcodes.for_run(outcome.result) if outcome.result is not None else exitcodes.OK)
    sys.exit(exitcodes.worst(codes))
