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
@click.option("--no-check", is_flag=True,
              help="Do not run labtool check's checks before the first up of the lab.")
@click.option("--until", type=click.Choice(["nodes", "cluster", "everything"]), default="everything",
              show_default=True,
              help="Build up to this stage of the walkthrough and no further; a lab further "
                   "along is brought back to it (the walkthrough's objects removed, the "
                   "iptables service back to stopped; nodes: the cluster torn down too).")
@c.run_options
@c.auth_options
def command(file, name, artifacts, no_verify, full, lab_names, labs_n, no_check, until, limit, tags,
            check, verbosity, ask_pass, ask_become_pass) -> None:
    """Build the lab: iptables, the cluster, the workloads; then verify.

    Without -f, first creates (or reuses) the local lab of three node containers.
    When every node still matches the stamp the last up left on it (files, services,
    packages, the cluster's objects), no role runs; --full runs them anyway.
    The checks run after a full up (not with --tags, --check or --no-verify); after
    an up that changed nothing, only the read-only ones (not the pod deletion).
    A node that cannot be reached is left out; the checks run on the others.

    With a class file (labs:) every lab (or those named by --lab) is built at once;
    --labs N without -f creates N local labs and their class file first.

    Before the first up of a lab (until one goes through), the checks of 'labtool check'
    run first; when one fails, nothing is changed."""
    from labtool import checks, flow, session

    if file is None and labs_n:
        file = str(c.create_local_class(name, labs_n, artifacts))
    if file is None:
        file = str(c.create_local(name, artifacts))
    lab = c.give_secrets(c.load_any(file, name, lab_names), ask_pass, ask_become_pass)
    blocked = {} if no_check or check else checks.before_up(
        lab.labs if c.is_class(lab) else [lab], verbosity=verbosity,
        check_command=lambda one: f"labtool check -f {file}" + (f" --lab {one.name}" if c.is_class(lab) else ""))
    if blocked and not (c.is_class(lab) and len(blocked) < len(lab.labs)):
        sys.exit(exitcodes.worst(blocked.values()))
    if blocked:  # in a class, the labs whose checks passed go on
        lab = lab.pick([one.name for one in lab.labs if one.name not in blocked])
    if until != "everything" and tags:
        c.err("labtool: --until and --tags: give one (--until runs the tags of its stage's roles)")
        sys.exit(exitcodes.BAD_INPUT)
    request = flow.UpRequest(limit=limit, tags=tags, check=check, verbosity=verbosity,
                             no_verify=no_verify, full=full, until=until)
    if c.is_class(lab):
        code = exitcodes.worst([session.up_class(lab, request), *blocked.values()])
        _say_removed(lab.labs, request)
        if code == exitcodes.OK:
            for one in lab.labs:
                checks.mark_built(one)
        sys.exit(code)
    code, outcome = session.up_lab(lab, request)
    _say_removed([lab], request)
    if code == exitcodes.OK and not (tags or check or limit):
        checks.mark_built(lab)
    if outcome.read_only_verify:
        c.err(flow.READ_ONLY_NOTE)
    sys.exit(code)


def _say_removed(labs, request) -> None:
    """After an up --until short of everything: what bringing each lab back removed."""
    from labtool import _paths, stages

    if not request.short_of_everything or request.check:
        return
    for one in labs:
        text = stages.removed_text(_paths.state_dir(one.state_name), one.name, one.iptables_service)
        if text:
            click.echo(text)
