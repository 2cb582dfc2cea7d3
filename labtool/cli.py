"""The ``labtool`` command: parses arguments, calls one function, prints, maps the outcome
to an exit code. Ansible (and ansible-runner) are imported only inside commands that run
a playbook, so ``labtool --help`` and ``labtool inventory`` answer instantly.
"""

from __future__ import annotations

import contextlib
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

    with _local_errors(f"local lab '{name}'"):
        return local_lab.create(name=name, artifacts=Path(artifacts) if artifacts else None,
                                echo=click.echo, push_images=push_images)


@contextlib.contextmanager
def _local_errors(what: str):
    """A local lab's set-up failure becomes a message and exit code 1; Ctrl-C exit 130."""
    from labtool import local as local_lab

    try:
        yield
    except local_lab.LocalLabError as exc:
        _err(f"labtool: {what}: {exc}")
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
    from labtool.labfile import LabFileError, load_lab

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


READ_ONLY_NOTE = ("verify: an up that changed nothing runs the read-only checks; rc-replaces-pod, "
                  "which deletes a pod, runs with 'labtool verify'")


def _up_extravars(extravars, *, tags, check, no_verify):
    """The up run's extra vars. When the checks would follow the up, the up runs the
    read-only ones itself if it finds every node as the last up left it (the last play of
    playbooks/up.yml): one ansible-playbook run instead of two."""
    if tags or check or no_verify:
        return extravars
    return {**(extravars or {}), "labtool_verify_unchanged": True}


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


# --------------------------------------------------------------------------- a class of labs


def _lab_option(f):
    return click.option("--lab", "lab_names", multiple=True, metavar="NAME",
                        help="Class file only: act on this lab of the class (repeatable; "
                             "default: every lab).")(f)


def _class_options(f):
    f = _lab_option(f)
    return click.option("--labs", "labs_n", type=click.IntRange(1, 50), metavar="N",
                        help="Without -f: create N local labs (a class named --name, "
                             "default 'classroom') and build them all.")(f)


DEFAULT_CLASS_NAME = "classroom"


def _class_name(name: str) -> str:
    return DEFAULT_CLASS_NAME if name == DEFAULT_LOCAL_NAME else name


def _is_class(lab) -> bool:
    from labtool.labfile import Classroom

    return isinstance(lab, Classroom)


def _load_any(file: str | None, name: str):
    """A lab or a class (a file with labs:); without -f the lab file of the local lab
    --name names, or else the class file of the local class it names. Exits 2 listing
    every problem."""
    from labtool import _paths
    from labtool.labfile import LabFileError, load

    if file is None:
        class_file = _paths.state_dir(name) / "class.yml"
        if not _local_lab_file(name).exists() and class_file.exists():
            file = str(class_file)
        else:
            return _load(file, name)
    try:
        return load(Path(file))
    except LabFileError as exc:
        _err(str(exc))
        n = len(exc.problems)
        _err(f"labtool: {file}: {n} problem{'s' if n != 1 else ''}; nothing was run.")
        sys.exit(EXIT_BAD_INPUT)


def _pick(classroom, lab_names):
    from labtool.labfile import LabFileError

    if not lab_names:
        return classroom
    try:
        return classroom.pick(lab_names)
    except LabFileError as exc:
        _err(f"labtool: --lab: {exc}")
        sys.exit(EXIT_BAD_INPUT)


def _without(limit: str | None, hosts: list[str], lab) -> str | None:
    """An Ansible limit for the nodes of ``limit`` (default all) except ``hosts``; None
    when no node is left."""
    if len(set(hosts)) >= len(lab.nodes):
        return None
    return ":".join([limit or "all"] + [f"!{h}" for h in sorted(hosts)])


def class_exit_code(runs) -> int:
    """A class run's exit code, from every lab's runs: as for one lab, worst first."""
    codes = [exit_code_for(r) for run in runs.values() for r in run.runs]
    if any(run.error for run in runs.values()):
        codes.append(EXIT_TASK_FAILED)
    for code in (EXIT_INTERRUPTED, EXIT_UNREACHABLE, EXIT_VERIFY_FAILED, EXIT_TASK_FAILED):
        if code in codes:
            return code
    return EXIT_OK


def _class_progress(classroom, verbosity: int):
    from labtool import report

    return report.ClassProgress({lab.name: len(lab.nodes) for lab in classroom.labs},
                                verbose=verbosity > 0)


def _class_report(classroom, runs, progress, title: str, verbosity: int) -> int:
    from labtool import report

    report.print_class_result(
        runs, {lab.name: [n.name for n in lab.nodes] for lab in classroom.labs},
        {lab.name: lab.workloads.service.node_port for lab in classroom.labs},
        title=title, console=progress.console, verbose=verbosity > 0)
    return class_exit_code(runs)


def _lab_word(run) -> str:
    return "ok" if run.status == "successful" else {"canceled": "interrupted"}.get(run.status, run.status)


def _class_run(classroom, playbook: str, **options) -> int:
    """One playbook on every lab of the class at once."""
    from labtool import runner

    progress = _class_progress(classroom, options.get("verbosity", 0))

    def plan(lab, run):
        result = run(playbook, **options)
        progress.finished(lab.name, f"{playbook}: {_lab_word(result)}")

    try:
        runs = runner.run_class(classroom.labs, plan, on_event=progress)
    finally:
        progress.close()
    return _class_report(classroom, runs, progress, f"{classroom.name}: {playbook}",
                         options.get("verbosity", 0))


def _class_up(classroom, *, limit, tags, check, verbosity, extravars, no_verify) -> int:
    """up on every lab of the class at once, each lab then verified on the nodes that
    answered (as `labtool up` does for one lab)."""
    from labtool import runner

    progress = _class_progress(classroom, verbosity)

    def plan(lab, run):
        up = run("up", limit=limit, tags=tags, check=check, verbosity=verbosity,
                 extravars=_up_extravars(extravars, tags=tags, check=check, no_verify=no_verify))
        code = exit_code_for(up)
        word = _lab_word(up) + (", nothing changed" if changed_nothing(up) else "")
        if up.unreachable_hosts and not up.failed_hosts and up.status == "failed":
            word = f"done without {', '.join(up.unreachable_hosts)} (unreachable)"
        if up.verify:  # nothing changed: the up ran the read-only checks itself
            word = "ok, nothing changed, read-only verify " + ("failed" if up.failed_checks else _lab_word(up))
        elif code in (EXIT_OK, EXIT_UNREACHABLE) and not (up.failed_hosts or tags or check
                                                          or no_verify):
            nodes = _without(limit, up.unreachable_hosts, lab) if up.unreachable_hosts else limit
            if not up.unreachable_hosts or nodes:
                verify = run("verify", limit=nodes, verbosity=verbosity,
                             extravars={"verify_replace_pod": False} if changed_nothing(up) else None)
                word += f", verify {_lab_word(verify)}"
        progress.finished(lab.name, f"up {word}")

    try:
        runs = runner.run_class(classroom.labs, plan, on_event=progress)
    finally:
        progress.close()
    return _class_report(classroom, runs, progress, f"{classroom.name}: up", verbosity)


def _confirm_reset(what: str) -> None:
    if not _stdin_is_terminal():
        _err(f"labtool: reset wipes the clusters of {what}; no terminal to ask on, so nothing "
             "was done. Add --yes to go ahead.")
        sys.exit(EXIT_BAD_INPUT)
    if not click.confirm(f"Wipe the Kubernetes clusters of {what}?", default=False):
        _err("labtool: nothing was done.")
        sys.exit(EXIT_OK)


def _create_local_class(name: str, n: int, artifacts: str | None) -> Path:
    """labtool.local.create_class, its failures turned into a message and exit code 1."""
    from labtool import local as local_lab

    class_name = _class_name(name)
    with _local_errors(f"local class '{class_name}'"):
        return local_lab.create_class(class_name, n, artifacts=Path(artifacts) if artifacts else None,
                                      echo=click.echo)


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
@_class_options
@_run_options
def up(file, name, artifacts, no_verify, full, limit, tags, check, verbosity, labs_n, lab_names) -> None:
    """Build the lab: iptables, the cluster, the workloads; then verify.

    Without -f, first creates (or reuses) the local lab of three node containers.
    When every node still matches the stamp the last up left on it (files, services,
    packages, the cluster's objects), no role runs; --full runs them anyway.
    The checks run after a full up (not with --tags, --check or --no-verify); after
    an up that changed nothing, only the read-only ones (not the pod deletion).
    A node that cannot be reached is left out; the checks run on the others.

    With a class file (labs:) every lab (or those named by --lab) is built at once;
    --labs N without -f creates N local labs and their class file first."""
    if file is None and labs_n:
        file = str(_create_local_class(name, labs_n, artifacts))
    if file is None:
        file = str(_create_local(name, artifacts))
    lab = _load_any(file, name)
    extravars = {"converge_stamp_skip_unchanged": False} if full else None
    if _is_class(lab):
        sys.exit(_class_up(_pick(lab, lab_names), limit=limit, tags=tags, check=check,
                           verbosity=verbosity, extravars=extravars, no_verify=no_verify))
    result = _run_result("up", lab, limit=limit, tags=tags, check=check, verbosity=verbosity,
                         extravars=_up_extravars(extravars, tags=tags, check=check,
                                                 no_verify=no_verify))
    code = exit_code_for(result)
    if result.verify:
        # every node was as the last up left it: the up ran the read-only checks itself
        _err(READ_ONLY_NOTE)
        sys.exit(code)
    if code == EXIT_UNREACHABLE and not (result.failed_hosts or tags or check or no_verify):
        # the nodes that answered went as far as they could: check them, keep exit code 4
        reachable = _without(limit, result.unreachable_hosts, lab)
        if reachable:
            _run("verify", lab, limit=reachable, verbosity=verbosity,
                 extravars={"verify_replace_pod": False} if changed_nothing(result) else None)
        sys.exit(code)
    if code != EXIT_OK or tags or check or no_verify:
        sys.exit(code)
    if changed_nothing(result):
        # the pod-deletion check is itself a change: an up that changed nothing skips it
        _err(READ_ONLY_NOTE)
        sys.exit(_run("verify", lab, limit=limit, verbosity=verbosity,
                      extravars={"verify_replace_pod": False}))
    sys.exit(_run("verify", lab, limit=limit, verbosity=verbosity))


@main.command(epilog=EXIT_CODES_HELP)
@_file_option
@_name_option
@click.option("--limit", help="Only touch these nodes (Ansible host pattern).")
@click.option("-v", "--verbose", "verbosity", count=True, help="Ansible verbosity.")
@_lab_option
def verify(file, name, limit, verbosity, lab_names) -> None:
    """Prove the walkthrough: NodePort 30001 answers nginx's page on every node,
    mysvc shows 8080:30001/TCP, my-nginx is 2/2 and replaces a deleted pod."""
    lab = _load_any(file, name)
    if _is_class(lab):
        sys.exit(_class_run(_pick(lab, lab_names), "verify", limit=limit, verbosity=verbosity))
    sys.exit(_run("verify", lab, limit=limit, verbosity=verbosity))


@main.command(epilog=EXIT_CODES_HELP)
@_file_option
@_name_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask; wipe the cluster.")
@_run_options
@_lab_option
def reset(file, name, yes, limit, tags, check, verbosity, lab_names) -> None:
    """Wipe the cluster from the nodes (kubeadm reset, pod network, workloads) so that
    up starts from scratch. Asks first."""
    lab = _load_any(file, name)
    if _is_class(lab):
        lab = _pick(lab, lab_names)
        what = f"class '{lab.name}': labs {', '.join(lab.lab_names)}"
        if not yes and not check:
            _confirm_reset(what)
        sys.exit(_class_run(lab, "reset", limit=limit, tags=tags, check=check,
                            verbosity=verbosity))
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
@_lab_option
def inventory(file, name, lab_names) -> None:
    """Print the lab's Ansible inventory (YAML), as the playbooks get it:
    ansible-playbook -i <(labtool inventory -f lab.yml) playbooks/up.yml

    For a class file: with one --lab, that lab's inventory (the one its run uses);
    otherwise the class inventory, a group per lab, which reaches every machine but
    is not for the playbooks (they run one lab per inventory; see README)."""
    from labtool.inventory import build_inventory, render_inventory

    lab = _load_any(file, name)
    if _is_class(lab):
        from labtool.inventory import build_class_inventory

        picked = _pick(lab, lab_names)
        inv = build_inventory(picked.labs[0]) if len(picked.labs) == 1 and lab_names \
            else build_class_inventory(picked)
        click.echo(render_inventory(inv), nl=False)
        return
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
@click.option("--labs", "labs_n", type=click.IntRange(1, 50), metavar="N",
              help="A local class: N labs of three node containers each, <class>-1 ... "
                   "<class>-N (class --name, default 'classroom'), and their class file.")
def local_create(name, artifacts, no_images, labs_n) -> None:
    """Create (or reuse) the local lab and print its lab file's path
    (with --labs: the local class's labs and its class file)."""
    if labs_n:
        _create_local_class(name, labs_n, artifacts)
        return
    _create_local(name, artifacts, push_images=not no_images)


@local.command("destroy")
@_name_option
def local_destroy(name) -> None:
    """Remove the local lab's containers, network and fence (for a local class made with
    --labs: every lab of it, and its class file)."""
    from labtool import local as local_lab

    try:
        if not _local_lab_file(name).exists() and local_lab.class_labs(name):
            local_lab.destroy_class(name, echo=click.echo)
            return
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
