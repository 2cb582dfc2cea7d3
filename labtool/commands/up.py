"""labtool up: build the lab (or every lab of a class), then verify."""

from __future__ import annotations

import sys

import click

from labtool import exitcodes
from labtool.commands import _common as c


@click.command("up", epilog=exitcodes.HELP)
@c.file_option
@c.name_option
@c.artifacts_option
@click.option("--no-verify", is_flag=True, help="Do not run the checks after a full up.")
@click.option("--full", is_flag=True,
              help="Run every role even when every node is as the last up left it.")
@c.lab_option
@click.option("--labs", "labs_n", type=click.IntRange(1, 50), metavar="N",
              help="Without -f: create N local labs (a class named --name, default "
                   "'classroom') and build them all.")
@c.run_options
def command(file, name, artifacts, no_verify, full, lab_names, labs_n, limit, tags, check,
            verbosity) -> None:
    """Build the lab: iptables, the cluster, the workloads; then verify.

    Without -f, first creates (or reuses) the local lab of three node containers.
    When every node still matches the stamp the last up left on it (files, services,
    packages, the cluster's objects), no role runs; --full runs them anyway.
    The checks run after a full up (not with --tags, --check or --no-verify); after
    an up that changed nothing, only the read-only ones (not the pod deletion).
    A node that cannot be reached is left out; the checks run on the others.

    With a class file (labs:) every lab (or those named by --lab) is built at once;
    --labs N without -f creates N local labs and their class file first."""
    from labtool import flow, session

    if file is None and labs_n:
        file = str(c.create_local_class(name, labs_n, artifacts))
    if file is None:
        file = str(c.create_local(name, artifacts))
    lab = c.load_any(file, name, lab_names)
    request = flow.UpRequest(limit=limit, tags=tags, check=check, verbosity=verbosity,
                             no_verify=no_verify, full=full)
    if c.is_class(lab):
        sys.exit(session.up_class(lab, request))
    code, outcome = session.up_lab(lab, request)
    if outcome.read_only_verify:
        c.err(flow.READ_ONLY_NOTE)
    sys.exit(code)
