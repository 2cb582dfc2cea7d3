"""What the commands share: their options, reading the lab or class file, and the local
lab's set-up, each failure turned into a message and an exit code."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from labtool import exitcodes

DEFAULT_LOCAL_NAME = "labtool"
DEFAULT_CLASS_NAME = "classroom"
DEFAULT_ARTIFACTS = "/var/cache/labtool/artifacts/v1.20.2"  # labtool.local's default


def err(message: str) -> None:
    click.echo(message, err=True)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


# --------------------------------------------------------------------------- options


def file_option(f):
    return click.option("-f", "--file", "file", type=click.Path(dir_okay=False),
                        help="The lab file (default: the local lab's .labtool/<name>/lab.yml).")(f)


def name_option(f):
    return click.option("--name", default=DEFAULT_LOCAL_NAME, show_default=True,
                        help="Name of the local lab (used when -f is not given).")(f)


def verbosity_option(f):
    return click.option("-v", "--verbose", "verbosity", count=True,
                        help="Ansible verbosity (-v, -vv, ...); shown in the run's log.")(f)


def run_options(f):
    f = verbosity_option(f)
    f = click.option("--check", is_flag=True, help="Ansible check mode: change nothing.")(f)
    f = click.option("--tags", help="Only run tasks with these tags (comma-separated).")(f)
    return limit_option(f)


def limit_option(f):
    return click.option("--limit", help="Only touch these nodes (Ansible host pattern).")(f)


def lab_option(f):
    return click.option("--lab", "lab_names", multiple=True, metavar="NAME",
                        help="Class file only: act on this lab of the class (repeatable; "
                             "default: every lab).")(f)


def artifacts_option(f):
    return click.option("--artifacts", type=click.Path(file_okay=False), envvar="LABTOOL_ARTIFACTS",
                        help=f"Local lab only: the Kubernetes artifacts directory [default: "
                             f"{DEFAULT_ARTIFACTS}].")(f)


def auth_options(f):
    f = click.option("-K", "--ask-become-pass", is_flag=True,
                     help="Ask for the sudo password of the nodes' user (once; default: the SSH "
                          "password). Or set LABTOOL_BECOME_PASSWORD.")(f)
    return click.option("-k", "--ask-pass", is_flag=True,
                        help="Ask for the nodes' SSH password (once a run; in a class, once for "
                             "all labs whose nodes share a user). Or set LABTOOL_SSH_PASSWORD, "
                             "or name a password_file: in the lab file.")(f)


def give_secrets(lab, ask_pass: bool, ask_become_pass: bool):
    """Attach the run's passwords (asked once per node user, or from the environment) to the
    lab, or to every lab of a class; the same object back."""
    from labtool import secrets

    labs = lab.labs if is_class(lab) else [lab]
    if (ask_pass or ask_become_pass) and not stdin_is_terminal():
        err(f"labtool: --ask-pass/--ask-become-pass need a terminal to ask on; without one, set "
            f"{secrets.SSH_ENV} (and {secrets.BECOME_ENV}) or name a password_file: in the lab file.")
        sys.exit(exitcodes.BAD_INPUT)

    def ask(prompt: str) -> str:
        return click.prompt(prompt, hide_input=True, default="", show_default=False, err=True)

    given = secrets.gather([one.control_plane.user for one in labs], ask_pass=ask_pass,
                           ask_become_pass=ask_become_pass, ask=ask)
    for one in labs:
        one.with_secrets(given.get(one.control_plane.user))
    return lab


# --------------------------------------------------------------------------- lab files


def local_lab_file(name: str) -> Path:
    from labtool import _paths

    return _paths.state_dir(name) / "lab.yml"


def _refused(file: str | Path, exc) -> None:
    err(str(exc))
    n = len(exc.problems)
    err(f"labtool: {file}: {n} problem{'s' if n != 1 else ''}; nothing was run.")
    sys.exit(exitcodes.BAD_INPUT)


def _file_or_local(file: str | None, name: str) -> Path:
    """The file -f names; without -f the local lab's lab file, or else its class file."""
    from labtool import _paths

    if file is not None:
        return Path(file)
    lab_file, class_file = local_lab_file(name), _paths.state_dir(name) / "class.yml"
    if not lab_file.exists() and class_file.exists():
        return class_file
    if not lab_file.exists():
        err(f"labtool: no -f given and the local lab '{name}' does not exist ({lab_file}).\n"
            f"Create it with 'labtool up' or 'labtool local create --name {name}', "
            "or name a lab file with -f.")
        sys.exit(exitcodes.BAD_INPUT)
    return lab_file


def load_any(file: str | None, name: str, lab_names: tuple[str, ...] = ()):
    """A Lab, or a Classroom narrowed to --lab; exits 2 listing every problem."""
    from labtool.labfile import Classroom, LabFileError, load

    path = _file_or_local(file, name)
    try:
        lab = load(path)
    except LabFileError as exc:
        _refused(path, exc)
    if not isinstance(lab, Classroom) or not lab_names:
        return lab
    try:
        return lab.pick(lab_names)
    except LabFileError as exc:
        err(f"labtool: --lab: {exc}")
        sys.exit(exitcodes.BAD_INPUT)


def load_single(file: str | None, name: str):
    """A lab file of one lab (a command that does not take a class)."""
    from labtool.labfile import LabFileError, load_lab

    path = _file_or_local(file, name)
    try:
        return load_lab(path)
    except LabFileError as exc:
        _refused(path, exc)


def is_class(lab) -> bool:
    from labtool.labfile import Classroom

    return isinstance(lab, Classroom)


# --------------------------------------------------------------------------- the local lab


@contextlib.contextmanager
def local_errors(what: str):
    """A local lab's set-up failure becomes a message and exit code 1; Ctrl-C exit 130."""
    from labtool import local as local_lab

    try:
        yield
    except local_lab.LocalLabError as exc:
        err(f"labtool: {what}: {exc}")
        sys.exit(exitcodes.TASK_FAILED)
    except KeyboardInterrupt:
        err("labtool: interrupted")
        sys.exit(exitcodes.INTERRUPTED)


def create_local(name: str, artifacts: str | None, push_images: bool = True) -> Path:
    from labtool import local as local_lab

    with local_errors(f"local lab '{name}'"):
        return local_lab.create(name=name, artifacts=Path(artifacts) if artifacts else None,
                                echo=click.echo, push_images=push_images)


def class_name(name: str) -> str:
    return DEFAULT_CLASS_NAME if name == DEFAULT_LOCAL_NAME else name


def create_local_class(name: str, n: int, artifacts: str | None) -> Path:
    from labtool import local as local_lab

    with local_errors(f"local class '{class_name(name)}'"):
        return local_lab.create_class(class_name(name), n,
                                      artifacts=Path(artifacts) if artifacts else None, echo=click.echo)
