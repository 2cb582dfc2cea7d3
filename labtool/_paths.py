"""Where labtool finds its Ansible content and keeps its state.

Playbooks, roles and ansible.cfg are found relative to the package: in a source checkout
(or an editable install) they sit next to ``labtool/`` at the repository root; in a wheel
they are shipped inside the package as ``labtool/_ansible/``.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _ansible_root() -> Path:
    shipped = PACKAGE_DIR / "_ansible"
    if (shipped / "playbooks").is_dir():
        return shipped
    return PACKAGE_DIR.parent


ANSIBLE_ROOT = _ansible_root()
PLAYBOOKS_DIR = ANSIBLE_ROOT / "playbooks"
ROLES_DIR = ANSIBLE_ROOT / "roles"
ANSIBLE_CFG = ANSIBLE_ROOT / "ansible.cfg"


def state_root() -> Path:
    """The root of labtool's state: ``$LABTOOL_HOME`` or ``./.labtool`` (absolute)."""
    home = os.environ.get("LABTOOL_HOME")
    return Path(home).expanduser().resolve() if home else (Path.cwd() / ".labtool").resolve()


def state_dir(lab_name: str) -> Path:
    """The state directory of one lab: ``<state root>/<lab name>``."""
    return state_root() / lab_name


def playbook(name: str) -> Path:
    """The path of a playbook by short name (``up`` or ``up.yml``)."""
    file = name if name.endswith((".yml", ".yaml")) else f"{name}.yml"
    return PLAYBOOKS_DIR / file
