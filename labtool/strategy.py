"""Which Ansible strategy the playbook runs use: Ansible's own ``linear`` (the default), or
Mitogen's ``mitogen_linear`` when ``LABTOOL_STRATEGY=mitogen`` is set.

Not a supported option: measured side by side by bench/strategies.py, Mitogen bought no wall
time on any ``up`` and cost 20-100 % more controller CPU and 35-65 % more memory (a class of
three: 85 CPU s a lab against 43), so it is not used; see bench/RESULTS.md ("Mitogen side by
side"). The switch stays so that the bench can measure it again (Mitogen is the optional
extra ``pip install 'labtool[speed]'``). The runner passes :func:`strategy_env`'s variables
to ansible-playbook.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

VARIABLE = "LABTOOL_STRATEGY"
CHOICES = ("linear", "mitogen")


def mitogen_strategy_dir() -> Path | None:
    """ansible_mitogen's strategy plugins directory, found without importing it; None when
    the mitogen package is not installed."""
    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "plugins" / "strategy"


def strategy_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables ansible-playbook needs for ``$LABTOOL_STRATEGY``: none for
    ``linear`` or when unset; Mitogen's strategy plugins and ``mitogen_linear`` for
    ``mitogen``. An unknown value is reported on stderr and ignored (linear)."""
    environ = os.environ if environ is None else environ
    choice = environ.get(VARIABLE, "").strip().lower()
    if choice in ("", "linear"):
        return {}
    if choice not in CHOICES:
        print(f"labtool: {VARIABLE}={choice!r} is not one of {', '.join(CHOICES)}; using linear",
              file=sys.stderr)
        return {}
    plugins = mitogen_strategy_dir()
    if plugins is None:  # ansible-playbook then stops with "Invalid play strategy specified"
        print(f"labtool: {VARIABLE}=mitogen needs the mitogen package: pip install 'labtool[speed]'",
              file=sys.stderr)
        return {"ANSIBLE_STRATEGY": "mitogen_linear"}
    paths = [str(plugins)] + [p for p in environ.get("ANSIBLE_STRATEGY_PLUGINS", "").split(os.pathsep) if p]
    return {"ANSIBLE_STRATEGY_PLUGINS": os.pathsep.join(paths), "ANSIBLE_STRATEGY": "mitogen_linear"}
