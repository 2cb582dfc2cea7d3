"""labtool reset: wipe the cluster so that the machines can be rebuilt (asks first)."""

from __future__ import annotations

import sys

import click

from labtool import exitcodes
from labtool.commands import _common as c


def _confirm(what: str) -> None:
    """Ask before wiping; without a terminal to ask on, do nothing and say how to go ahead."""
    if not c.stdin_is_terminal():
        c.err(f"labtool: reset wipes the {what}; no terminal to ask on, so nothing was done. "
              "Add --yes to go ahead.")
        sys.exit(exitcodes.BAD_INPUT)
    if not click.confirm(f"Wipe the Kubernetes {what}?", default=False):
        c.err("labtool: nothing was done.")
        sys.exit(exitcodes.OK)


@click.command("reset", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask; wipe the cluster.")
@c.run_options
@c.lab_option
@c.auth_options
def command(file, name, yes, limit, tags, check, verbosity, lab_names, ask_pass,
            ask_become_pass) -> None:
    """Wipe the cluster from the nodes (kubeadm reset, pod network, workloads) so that
    up starts from scratch. Asks first."""
    from labtool import session

    lab = c.give_secrets(c.load_any(file, name, lab_names), ask_pass, ask_become_pass)
    options = {"limit": limit, "tags": tags, "check": check, "verbosity": verbosity}
    if c.is_class(lab):
        if not yes and not check:
            _confirm(f"clusters of class '{lab.name}': labs {', '.join(lab.lab_names)}")
        sys.exit(session.run_class(lab, "reset", **options))
    if not yes and not check:
        _confirm(f"cluster of lab '{lab.name}' on {', '.join(n.name for n in lab.nodes)}")
    sys.exit(session.run_one("reset", lab, **options))
