"""labtool check: a read-only preflight of every node before anything is installed."""

from __future__ import annotations

import sys

import click

from labtool import exitcodes
from labtool.commands import _common as c


@click.command("check", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@c.verbosity_option
@c.lab_option
@click.option("--json", "as_json", is_flag=True, help="One lab: the findings as JSON.")
@c.auth_options
def command(file, name, verbosity, lab_names, as_json, ask_pass, ask_become_pass) -> None:
    """Check every node before anything is installed, changing nothing: SSH and sudo, the
    OS and Python, CPUs and memory (kubeadm: 2 CPUs and 1700 MB on the control plane), swap,
    what cloned VMs share (machine-id, product_uuid, MACs), ports 6443, 10250 and the
    NodePort, the workers' reach to the control plane, the clock, the sources.

    One table: node, check, result, what to do. Exit 0 when all pass, 3 when a check
    fails, 4 when a node cannot be reached. 'labtool up' runs the same checks first."""
    from labtool import checks

    lab = c.give_secrets(c.load_any(file, name, lab_names), ask_pass, ask_become_pass)
    if c.is_class(lab):
        sys.exit(checks.check_class(lab, verbosity=verbosity))
    sys.exit(checks.check_lab(lab, verbosity=verbosity, as_json=as_json))
