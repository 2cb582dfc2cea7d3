"""labtool init: write a commented lab file (or a class file) for machines you already have."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from labtool import exitcodes
from labtool.commands import _common as c

HEADER = """\
# The lab file of labtool: three Linux machines that become the Kubernetes lab of the
# NodePort walkthrough. Written by `labtool init`; every key is described in the README.
#
# Next:
#   labtool check -f {file} --ask-pass     # read-only preflight of every machine
#   labtool keys  -f {file} --ask-pass     # the lab's own SSH key to every machine (ssh-copy-id)
#   labtool up    -f {file} -K             # build the lab, then verify it
#
# Passwords are never written here. Give them by --ask-pass (-k) and --ask-become-pass (-K),
# by the environment variables LABTOOL_SSH_PASSWORD and LABTOOL_BECOME_PASSWORD, or by
# password_file: naming a file only you can read (chmod 600), per lab or per node.
# A user other than root needs sudo for any command ('{user} ALL=(ALL) ALL' in sudoers),
# with its password given as above, or without a password (NOPASSWD).
"""


def _node(name: str, address: str, role: str) -> str:
    return f"  - {{name: {name}, address: {address}, role: {role}}}\n"


def _nodes(cp: str, workers: list[str], indent: str = "") -> str:
    text = "nodes:\n" + _node("cp", cp, "control-plane")
    text += "".join(_node(f"w{i}", w, "worker") for i, w in enumerate(workers, 1))
    return "".join(indent + line + "\n" for line in text.splitlines())


def render(name: str, cps: list[str], workers: list[str], user: str, labs: bool, file: str) -> str:
    text = HEADER.format(file=file, user=user)
    text += f"\nname: {name}\n"
    text += f"# the login user of every machine (a node may say its own user:)\nuser: {user}\n"
    text += ("# password_file: ./lab.pass       # or --ask-pass, or LABTOOL_SSH_PASSWORD\n"
             "# Where the nodes get Kubernetes: online (pkgs.k8s.io, registry.k8s.io), mirror, or local\n"
             "sources:\n  mode: online\n")
    if not labs:
        return text + "\n# one control plane, the workers; port: and key: per node when not 22 / not yet\n" \
            + _nodes(cps[0], workers)
    per = len(workers) // len(cps)
    text += "\n# one lab a group of machines; each lab is its own cluster\nlabs:\n"
    for i, cp in enumerate(cps, 1):
        text += f"  - name: {name}-{i}\n"
        text += _nodes(cp, workers[(i - 1) * per:i * per], indent="    ")
    return text


@click.command("init", epilog=exitcodes.HELP)
@click.option("--cp", "cps", multiple=True, required=True, metavar="ADDRESS",
              help="The control plane's address (with --labs: one a lab, in order).")
@click.option("--worker", "workers", multiple=True, required=True, metavar="ADDRESS",
              help="A worker's address (repeatable; with --labs the same number a lab, in order).")
@click.option("--user", default="root", show_default=True, help="The machines' login user.")
@click.option("--name", default="workshop", show_default=True, help="The lab's (or class's) name.")
@click.option("--labs", is_flag=True, help="Write a class file: one lab for each --cp.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to write it "
              "[default: lab.yml, class.yml with --labs].")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def command(cps, workers, user, name, labs, output, force) -> None:
    """Write a commented lab file for machines you have, that labtool accepts as written:

    labtool init --cp 192.168.56.10 --worker 192.168.56.11 --worker 192.168.56.12 --user student

    With --labs, a class file: --cp once a lab, the workers shared out in order."""
    from labtool.labfile import LabFileError, load

    if not labs and len(cps) > 1:
        c.err("labtool: init: one --cp a lab; for several labs add --labs")
        sys.exit(exitcodes.BAD_INPUT)
    if labs and len(workers) % len(cps):
        c.err(f"labtool: init: {len(workers)} workers do not share out evenly over {len(cps)} labs")
        sys.exit(exitcodes.BAD_INPUT)
    path = Path(output or ("class.yml" if labs else "lab.yml"))
    if path.exists() and not force:
        c.err(f"labtool: init: {path} exists; --force overwrites it")
        sys.exit(exitcodes.BAD_INPUT)
    text = render(name, list(cps), list(workers), user, labs, str(path))
    tmp = path.with_name(f".{path.name}.init")
    tmp.write_text(text, encoding="utf-8")
    try:
        load(tmp)  # as written: what labtool will read
    except LabFileError as exc:
        tmp.unlink()
        c.err(str(exc).replace(str(tmp), str(path)))
        c.err(f"labtool: init: nothing was written to {path}")
        sys.exit(exitcodes.BAD_INPUT)
    tmp.replace(path)
    click.echo(f"wrote {path}; next: labtool check -f {path} --ask-pass")
