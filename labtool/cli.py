"""The ``labtool`` command: parses arguments, calls one function, prints, maps the outcome
to an exit code. Ansible (and ansible-runner) are imported only inside commands that run
a playbook, so ``labtool --help`` and ``labtool inventory`` answer instantly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

# Exit codes (README copies this table).
EXIT_OK = 0
EXIT_TASK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_VERIFY_FAILED = 3
EXIT_UNREACHABLE = 4
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\b
Exit codes:
  0    everything went fine
  1    a task failed on a node (or setting up the local lab failed)
  2    bad input: the lab file (every problem is listed) or the command line
  3    verify: a check of the walkthrough failed
  4    a node could not be reached over SSH
  130  interrupted (Ctrl-C)

\b
Without -f, commands act on the local lab (three node containers on this machine),
whose lab file is .labtool/<name>/lab.yml (state root: $LABTOOL_HOME or ./.labtool)."""

DEFAULT_LOCAL_NAME = "labtool"
DEFAULT_ARTIFACTS = "/var/cache/labtool/artifacts/v1.20.2"  # labtool.local's default


def _create_local(name: str, artifacts: str | None, push_images: bool = True) -> Path:
    """labtool.local.create, its failures turned into a message and exit code 1."""
    from labtool import local as local_lab

    try:
        return local_lab.create(name=name, artifacts=Path(artifacts) if artifacts else None,
                                echo=click.echo, push_images=push_images)
    except local_lab.LocalLabError as exc:
        _err(f"labtool: local lab '{name}': {exc}")
        sys.exit(EXIT_TASK_FAILED)
    except KeyboardInterrupt:
        _err("labtool: interrupted")
        sys.exit(EXIT_INTERRUPTED)


def _err(message: str) -> None:
    click.echo(message, err=True)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _local_lab_file(name: str) -> Path:
    from labtool import _paths

    return _paths.state_dir(name) / "lab.yml"


def _load(file: str | None, name: str):
    """Load the lab file (or the local lab's); exits 2 listing every problem."""
    from labtool.lab import LabFileError, load_lab

    path = Path(file) if file else _local_lab_file(name)
    if file is None and not path.exists():
        _err(f"labtool: no -f given and the local lab '{name}' does not exist ({path}).\n"
             f"Create it with 'labtool up' or 'labtool local create --name {name}', "
             "or name a lab file with -f.")
        sys.exit(EXIT_BAD_INPUT)
    try:
        return load_lab(path)
    except LabFileError as exc:
        _err(str(exc))
        n = len(exc.problems)
        _err(f"labtool: {path}: {n} problem{'s' if n != 1 else ''}; nothing was run.")
        sys.exit(EXIT_BAD_INPUT)


def exit_code_for(result) -> int:
    """Map a RunResult to labtool's exit code."""
    if result.canceled:
        return EXIT_INTERRUPTED
    if result.unreachable_hosts:
        return EXIT_UNREACHABLE
    if result.failed_checks:
        return EXIT_VERIFY_FAILED
    if result.failed_hosts or result.status != "successful":
        return EXIT_TASK_FAILED
    return EXIT_OK


def _run(playbook: str, lab, **options) -> int:
    return exit_code_for(_run_result(playbook, lab, **options))


def _run_result(playbook: str, lab, *, limit=None, tags=None, check=False, verbosity=0,
                extravars=None):
    from labtool import report, runner

    progress = report.Progress()
    try:
        result = runner.run_playbook(playbook, lab, limit=limit, tags=tags, check=check,
                                     verbosity=verbosity, extravars=extravars,
                                     on_event=progress)
    finally:
        progress.close()
    report.print_result(result, console=progress.console)
    return result


def changed_nothing(result) -> bool:
    return bool(result.hosts) and all(c.changed == 0 for c in result.hosts.values())


def _file_option(f):
    return click.option("-f", "--file", "file", type=click.Path(dir_okay=False),
                        help="The lab file (default: the local lab's .labtool/<name>/lab.yml).")(f)


def _name_option(f):
    return click.option("--name", default=DEFAULT_LOCAL_NAME, show_default=True,
                        help="Name of the local lab (used when -f is not given).")(f)


def _run_options(f):
    f = click.option("-v", "--verbose", "verbosity", count=True,
                     help="Ansible verbosity (-v, -vv, ...); shown in the run's log.")(f)
    f = click.option("--check", is_flag=True, help="Ansible check mode: change nothing.")(f)
    f = click.option("--tags", help="Only run tasks with these tags (comma-separated).")(f)
    f = click.option("--limit", help="Only touch these nodes (Ansible host pattern).")(f)
    return f


class _Group(click.Group):
    """Ctrl-C anywhere outside a playbook run (which handles it itself) exits 130."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _err("labtool: interrupted")
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, epilog=EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="labtool")
def main() -> None:
    """Turn three Linux machines into the Kubernetes lab of the NodePort walkthrough:
    iptables, a kubeadm cluster, the nginx Deployment dep01 behind the NodePort Service
    mysvc (8080:30001) and the ReplicationController my-nginx — then prove it works."""


@main.command(epilog=EXIT_CODES_HELP)
@_file_option
@_name_option
@click.option("--artifacts", type=click.Path(file_okay=False), envvar="LABTOOL_ARTIFACTS",
              help=f"Local lab only: the Kubernetes artifacts directory [default: {DEFAULT_ARTIFACTS}].")
@click.option("--no-verify", is_flag=True, help="Do not run the checks after a full up.")
@click.option("--full", is_flag=True,
              help="Run every role even when every node is as the last up left it.")
@_run_options
def up(file, name, artifacts, no_verify, full, limit, tags, check, verbosity) -> None:
    """Build the lab: iptables, the cluster, the workloads; then verify.

    Without -f, first creates (or reuses) the local lab of three node containers.
    When every node still matches the stamp the last up left on it (files, services,
    packages, the cluster's objects), no role runs; --full runs them anyway.
    The checks run after a full up (not with --tags, --check or --no-verify); after
    an up that changed nothing, only the read-only ones (not the pod deletion)."""
    if file is None:
        file = str(_create_local(name, artifacts))
    lab = _load(file, name)
    extravars = {"converge_stamp_skip_unchanged": False} if full else None
    result = _run_result("up", lab, limit=limit, tags=tags, check=check, verbosity=verbosity,
                         extravars=extravars)
    code = exit_code_for(result)
    if code != EXIT_OK or tags or check or no_verify:
        sys.exit(code)
    if changed_nothing(result):
        # the pod-deletion check is itself a change: an up that changed nothing skips it
        _err("verify: an up that changed nothing runs the read-only checks; rc-replaces-pod, "
             "which deletes a pod, runs with 'labtool verify'")
        sys.exit(_run("verify", lab, limit=limit, verbosity=verbosity,
                      extravars={"verify_replace_pod": False}))
    sys.exit(_run("verify", lab, limit=limit, verbosity=verbosity))


@main.command(epilog=EXIT_CODES_HELP)
@_file_option
@_name_option
@click.option("--limit", help="Only touch these nodes (Ansible host pattern).")
@click.option("-v", "--verbose", "verbosity", count=True, help="Ansible verbosity.")
def verify(file, name, limit, verbosity) -> None:
    """Prove the walkthrough: NodePort 30001 answers nginx's page on every node,
    mysvc shows 8080:30001/TCP, my-nginx is 2/2 and replaces a deleted pod."""
    lab = _load(file, name)
    sys.exit(_run("verify", lab, limit=limit, verbosity=verbosity))


@main.command(epilog=EXIT_CODES_HELP)
@_file_option
@_name_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask; wipe the cluster.")
@_run_options
def reset(file, name, yes, limit, tags, check, verbosity) -> None:
    """Wipe the cluster from the nodes (kubeadm reset, pod network, workloads) so that
    up starts from scratch. Asks first."""
    lab = _load(file, name)
    nodes = ", ".join(n.name for n in lab.nodes)
    if not yes and not check:
        if not _stdin_is_terminal():
            _err(f"labtool: reset wipes the cluster of lab '{lab.name}' on {nodes}; "
                 "no terminal to ask on, so nothing was done. Add --yes to go ahead.")
            sys.exit(EXIT_BAD_INPUT)
        if not click.confirm(f"Wipe the Kubernetes cluster of lab '{lab.name}' on {nodes}?",
                             default=False):
            _err("labtool: nothing was done.")
            sys.exit(EXIT_OK)
    sys.exit(_run("reset", lab, limit=limit, tags=tags, check=check, verbosity=verbosity))


@main.command(epilog=EXIT_CODES_HELP)
@_file_option
@_name_option
@click.option("--service", help="The Service to explain (default: the lab's, mysvc).")
@click.option("--probe", type=click.IntRange(0, 1000), default=0, metavar="N",
              help="Send N requests to every node's NodePort and to the ClusterIP, and show "
                   "how the endpoint chains' counters spread them over the pods.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole explanation as JSON.")
@click.option("--svg", type=click.Path(dir_okay=False), help="Also draw the path as SVG into FILE.")
@click.option("--html", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML page (text and picture) into FILE.")
@click.option("-v", "--verbose", "verbosity", count=True, help="Ansible verbosity.")
def explain(file, name, service, probe, as_json, svg, html, verbosity) -> None:
    """Explain the walkthrough with the lab's own values, read from the live lab (changing
    nothing): the three ports of mysvc, the nat rules kube-proxy wrote on each node from
    PREROUTING/OUTPUT to the pods, kube-proxy's mode, the stopped iptables service, the RC.

    Exit 0 when everything could be read; 3 when the lab lacks a piece (no Service, no
    endpoints, no kube-proxy rules: one line each on stderr); 4 when a node is unreachable;
    1 when the gathering playbook failed."""
    from labtool.explain import cli as explain_cli

    lab = _load(file, name)
    sys.exit(explain_cli.run(lab, service=service, probe=probe, as_json=as_json, svg=svg,
                             html=html, verbosity=verbosity, err=_err))


@main.command()
@_file_option
@_name_option
def inventory(file, name) -> None:
    """Print the lab's Ansible inventory (YAML), as the playbooks get it:
    ansible-playbook -i <(labtool inventory -f lab.yml) playbooks/up.yml"""
    from labtool.inventory import build_inventory, render_inventory

    lab = _load(file, name)
    click.echo(render_inventory(build_inventory(lab)), nl=False)


@main.group()
def local() -> None:
    """The local lab: three node containers on this machine (needs root and docker)."""


@local.command("create")
@_name_option
@click.option("--artifacts", type=click.Path(file_okay=False), envvar="LABTOOL_ARTIFACTS",
              help=f"The Kubernetes artifacts directory [default: {DEFAULT_ARTIFACTS}].")
@click.option("--no-images", is_flag=True,
              help="Nodes only: skip the artifacts check and the image push.")
def local_create(name, artifacts, no_images) -> None:
    """Create (or reuse) the local lab and print its lab file's path."""
    _create_local(name, artifacts, push_images=not no_images)


@local.command("destroy")
@_name_option
def local_destroy(name) -> None:
    """Remove the local lab's containers, network and fence."""
    from labtool import local as local_lab

    try:
        local_lab.destroy(name, echo=click.echo)
    except local_lab.LocalLabError as exc:
        _err(f"labtool: local lab '{name}': {exc}")
        sys.exit(EXIT_TASK_FAILED)


@local.command("status")
@_name_option
def local_status(name) -> None:
    """Show the local lab's node containers."""
    from labtool import local as local_lab

    rows = local_lab.status(name)
    if not rows:
        click.echo(f"local lab '{name}': no node containers")
        return
    keys = ["node", "container", "state", "address"]
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    click.echo("  ".join(k.upper().ljust(widths[k]) for k in keys))
    for row in rows:
        click.echo("  ".join(str(row.get(k, "")).ljust(widths[k]) for k in keys))


if __name__ == "__main__":
    main()
