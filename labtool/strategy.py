"""Which Ansible strategy the playbook runs use: labtool's ``labtool.lab.linear`` (the
default, set in ansible.cfg), Ansible's own ``linear`` (``LABTOOL_STRATEGY=linear``), or
Mitogen's ``mitogen_linear`` (``LABTOOL_STRATEGY=mitogen``).

``labtool.lab.linear`` (plugins/strategy/linear.py) is Ansible's linear strategy with the
controller-only actions run without a forked worker; measured side by side in
bench/RESULTS.md. Ansible's own stays one variable away, for the bench and in case a
playbook behaves differently under ours.

Mitogen is not a supported option: measured side by side by bench/strategies.py, it bought
no wall time on any ``up`` and cost 20-100 % more controller CPU and 35-65 % more memory (a
class of three: 85 CPU s a lab against 43), so it is not used; see bench/RESULTS.md
("Mitogen side by side"). The switch stays so that the bench can measure it again (Mitogen
is the optional extra ``pip install 'labtool[speed]'``). The runner passes
:func:`strategy_env`'s variables to ansible-playbook.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

VARIABLE = "LABTOOL_STRATEGY"
CHOICES = ("labtool", "linear", "mitogen")


def mitogen_strategy_dir() -> Path | None:
    """ansible_mitogen's strategy plugins directory, found without importing it; None when
    the mitogen package is not installed."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "plugins" / "strategy"


def strategy_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables ansible-playbook needs for ``$LABTOOL_STRATEGY``: none for
    ``labtool`` or when unset (ansible.cfg's); Ansible's own for ``linear``; Mitogen's
    strategy plugins and ``mitogen_linear`` for ``mitogen``. An unknown value is reported on
    stderr and ignored."""
    environ = os.environ if environ is None else environ
    choice = environ.get(VARIABLE, "").strip().lower()
    if choice in ("", "labtool"):
        return {}
    if choice == "linear":
        return {"ANSIBLE_STRATEGY": "ansible.builtin.linear"}
    if choice not in CHOICES:
        print(f"labtool: {VARIABLE}={choice!r} is not one of {', '.join(CHOICES)}; using labtool",
              file=sys.stderr)
        return {}
    plugins = mitogen_strategy_dir()
    if plugins is None:  # ansible-playbook then stops with "Invalid play strategy specified"
        print(f"labtool: {VARIABLE}=mitogen needs the mitogen package: pip install 'labtool[speed]'",
              file=sys.stderr)
        return {"ANSIBLE_STRATEGY": "mitogen_linear"}
    paths = [str(plugins)] + [p for p in environ.get("ANSIBLE_STRATEGY_PLUGINS", "").split(os.pathsep) if p]
    return {"ANSIBLE_STRATEGY_PLUGINS": os.pathsep.join(paths), "ANSIBLE_STRATEGY": "mitogen_linear"}
