"""labtool verify: prove every claim of the walkthrough on the live lab."""

from __future__ import annotations

import sys

import click

from labtool import exitcodes
from labtool.commands import _common as c


@click.command("verify", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@c.limit_option
@c.verbosity_option
@c.lab_option
@c.auth_options
def command(file, name, limit, verbosity, lab_names, ask_pass, ask_become_pass) -> None:
    """Prove the walkthrough: NodePort 30001 answers nginx's page on every node,
    mysvc shows 8080:30001/TCP, my-nginx is 2/2 and replaces a deleted pod."""
    from labtool import session

    lab = c.give_secrets(c.load_any(file, name, lab_names), ask_pass, ask_become_pass)
    if c.is_class(lab):
        sys.exit(session.run_class(lab, "verify", limit=limit, verbosity=verbosity))
    sys.exit(session.run_one("verify", lab, limit=limit, verbosity=verbosity))
