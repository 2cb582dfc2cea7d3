"""The ``labtool`` command: one module a subcommand, each parsing its arguments into one
call, printing the outcome and exiting with its code (labtool.exitcodes). Ansible and
ansible-runner are imported only inside the commands that run a playbook, so ``labtool
--help`` and ``labtool inventory`` answer instantly."""

from __future__ import annotations

import sys

import click

from labtool import exitcodes
from labtool.commands import (check, explain, init, inventory, keys, local, log, progress, reset, up,
                              verify)
from labtool.commands._common import err


class _Group(click.Group):
    """Ctrl-C anywhere outside a playbook run (which handles it itself) exits 130."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            err("labtool: interrupted")
            sys.exit(exitcodes.INTERRUPTED)


@click.group(cls=_Group, epilog=exitcodes.HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="labtool")
def main() -> None:
    """Turn three Linux machines into the Kubernetes lab of the NodePort walkthrough:
    iptables, a kubeadm cluster, the nginx Deployment dep01 behind the NodePort Service
    mysvc (8080:30001) and the ReplicationController my-nginx — then prove it works."""
    from labtool import secrets

    secrets.take_from_env()  # out of the environment, before any child process inherits it


for module in (init, check, keys, up, verify, reset, explain, progress, inventory, log, local):
    main.add_command(module.command)
