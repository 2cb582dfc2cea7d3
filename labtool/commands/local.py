"""labtool local create|destroy|status: the local lab of node containers on this machine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from labtool import exitcodes
from labtool.commands import _common as c


@click.group("local")
def command() -> None:
    """The local lab: three node containers on this machine (needs root and docker)."""


def _node_os_options(f):
    f = click.option("--node-os", "node_os", metavar="NODE=OS,...",
                     help="A node's own Debian release, e.g. cp=debian-13,w1=debian-11,w2=debian-12.")(f)
    return click.option("--os", "os_name", type=click.Choice(["debian-11", "debian-12", "debian-13"]),
                        help="The Debian release of every node [default: debian-12].")(f)


def _node_releases(os_name: str | None, node_os: str | None) -> dict[str, str]:
    """--os and --node-os as node -> release; a wrong one exits 2 with the reason."""
    from labtool.local import LocalLabError
    from labtool.local.releases import node_releases

    try:
        return node_releases(os_name, node_os)
    except LocalLabError as exc:
        c.err(f"labtool: {exc}")
        sys.exit(exitcodes.BAD_INPUT)


@command.command("create")
@c.name_option
@click.option("--artifacts", type=click.Path(file_okay=False), envvar="LABTOOL_ARTIFACTS",
              help=f"The Kubernetes artifacts directory [default: {c.DEFAULT_ARTIFACTS}].")
@click.option("--no-images", is_flag=True,
              help="Nodes only: skip the artifacts check and the image push.")
@click.option("--labs", "labs_n", type=click.IntRange(1, 50), metavar="N",
              help="A local class: N labs of three node containers each, <class>-1 ... "
                   "<class>-N (class --name, default 'classroom'), and their class file.")
@click.option("--air-gapped", is_flag=True,
              help="The nodes reach nothing but this machine's SSH; OS packages and images come "
                   "from the artifacts (tools/artifacts/debs.py adds a release's packages).")
@_node_os_options
def create(name, artifacts, no_images, labs_n, os_name, node_os, air_gapped) -> None:
    """Create (or reuse) the local lab and print its lab file's path
    (with --labs: the local class's labs and its class file).

    Each node runs Debian 12 unless --os or --node-os says otherwise, e.g.
    --node-os cp=debian-13,w1=debian-11,w2=debian-12; a node container of another
    release is made anew."""
    releases = _node_releases(os_name, node_os)
    if air_gapped and (labs_n or no_images):
        c.err("labtool: --air-gapped is for one lab with its images (not with --labs or --no-images)")
        sys.exit(exitcodes.BAD_INPUT)
    if labs_n:
        from labtool import local as local_lab

        with c.local_errors(f"local class '{c.class_name(name)}'"):
            local_lab.create_class(c.class_name(name), labs_n, artifacts=Path(artifacts) if artifacts else None,
                                   echo=click.echo, node_os=releases)
        return
    from labtool import local as local_lab

    with c.local_errors(f"local lab '{name}'"):
        local_lab.create(name=name, artifacts=Path(artifacts) if artifacts else None, echo=click.echo,
                         push_images=not no_images, node_os=releases, air_gapped=air_gapped)


@command.command("destroy")
@c.name_option
def destroy(name) -> None:
    """Remove the local lab's containers, network and fence (for a local class made with
    --labs: every lab of it, and its class file)."""
    from labtool import local as local_lab

    try:
        if not c.local_lab_file(name).exists() and local_lab.class_labs(name):
            local_lab.destroy_class(name, echo=click.echo)
            return
        local_lab.destroy(name, echo=click.echo)
    except local_lab.LocalLabError as exc:
        c.err(f"labtool: local lab '{name}': {exc}")
        sys.exit(exitcodes.TASK_FAILED)


@command.command("status")
@c.name_option
def status(name) -> None:
    """Show the local lab's node containers and the Debian release each runs."""
    from labtool import local as local_lab

    rows = local_lab.status(name)
    if not rows:
        click.echo(f"local lab '{name}': no node containers")
        return
    # state: running, stopped, missing (and whether its /var volume is left over); next up:
    # what the next `labtool up` (or local create) does about the node
    keys = ["node", "container", "state", "address", "os", "next up"]
    widths = {k: max(len(k), *(len(str(r.get(k, ""))) for r in rows)) for k in keys}
    click.echo("  ".join(k.upper().ljust(widths[k]) for k in keys).rstrip())
    for row in rows:
        click.echo("  ".join(str(row.get(k, "")).ljust(widths[k]) for k in keys).rstrip())
