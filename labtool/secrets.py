"""Passwords for the nodes: where they come from, and how they reach Ansible without being
stored anywhere.

Three sources, and no other:

- ``--ask-pass`` / ``--ask-become-pass``: asked on the terminal, once per run (in a class,
  once for every lab whose nodes share a user);
- the environment: ``LABTOOL_SSH_PASSWORD`` and ``LABTOOL_BECOME_PASSWORD``, read once when
  labtool starts and then removed from its environment, so that no child process inherits
  them (ansible-runner copies the environment into every run's ``artifacts/<run>/command``);
- ``password_file:`` in the lab file (per node or per lab; read by Ansible's ``file`` lookup
  on the controller: the inventory holds the file's path, never its content).

A password from the first two goes to ``ansible-playbook``'s own prompts (``--ask-pass``,
``--ask-become-pass``) through ansible-runner's pseudo-terminal (its ``passwords``), so it
lives in memory only: in labtool, in ansible-playbook, and for the moment a connection opens
in the shared memory Ansible's ``ssh_askpass`` mechanism hands to ssh (ansible-core 2.19's
default; no ``sshpass`` and no password on a command line).

This module imports nothing of labtool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, MutableMapping

SSH_ENV = "LABTOOL_SSH_PASSWORD"
BECOME_ENV = "LABTOOL_BECOME_PASSWORD"

# ansible-playbook's prompts (ansible/cli/__init__.py: ask_passwords)
SSH_PROMPT = r"SSH password:\s*?$"
BECOME_PROMPT = r"(BECOME|SUDO) password.*:\s*?$"

THE_THREE_WAYS = (
    "--ask-pass (and --ask-become-pass) on the command line, "
    f"the environment variables {SSH_ENV} (and {BECOME_ENV}), "
    "or password_file: naming a file only you can read (chmod 600)"
)


@dataclass(frozen=True)
class Secrets:
    """The passwords of one run: the SSH login's and sudo's (``become``). Either may be None.
    Never printed: its repr hides them."""

    ssh: str | None = None
    become: str | None = None

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}=***" for k in ("ssh", "become") if getattr(self, k) is not None)
        return f"Secrets({shown})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return self.ssh is not None or self.become is not None

    def flags(self) -> list[str]:
        """ansible-playbook's options that make it ask for them."""
        out = []
        if self.ssh is not None:
            out.append("--ask-pass")
        if self.become is not None or self.ssh is not None:
            out.append("--ask-become-pass")
        return out

    def prompts(self) -> dict[str, str]:
        """ansible-runner's ``passwords``: each prompt's answer. The sudo password defaults to
        the login's, as Ansible's own prompt says."""
        out: dict[str, str] = {}
        if self.ssh is not None:
            out[SSH_PROMPT] = self.ssh
        become = self.become if self.become is not None else self.ssh
        if become is not None:
            out[BECOME_PROMPT] = become
        return out

    def values(self) -> list[str]:
        return [v for v in (self.ssh, self.become) if v]


_FROM_ENV: Secrets | None = None


def take_from_env(environ: MutableMapping[str, str] | None = None) -> Secrets:
    """The passwords given by environment variable, removed from the environment. The first
    call takes them; later calls return the same."""
    global _FROM_ENV
    environ = os.environ if environ is None else environ
    ssh, become = environ.pop(SSH_ENV, None), environ.pop(BECOME_ENV, None)
    if _FROM_ENV is None or ssh is not None or become is not None:
        _FROM_ENV = Secrets(ssh=ssh or None, become=become or None)
    return _FROM_ENV


def gather(users: list[str], *, ask_pass: bool, ask_become_pass: bool,
           ask: Callable[[str], str]) -> dict[str, Secrets]:
    """One :class:`Secrets` per node user: asked once a user when asked for (``ask(prompt)``),
    else from the environment. ``users``: the users of the labs' nodes, in order."""
    env = take_from_env()
    out: dict[str, Secrets] = {}
    for user in dict.fromkeys(users):
        ssh = ask(f"SSH password for {user}: ") if ask_pass else env.ssh
        if ask_become_pass:
            become = ask(f"sudo password for {user} [the SSH password]: ") or ssh
        else:
            become = env.become
        out[user] = Secrets(ssh=ssh, become=become)
    return out
