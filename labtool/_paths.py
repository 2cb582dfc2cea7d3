"""Where labtool finds its Ansible content and keeps its state.

The Ansible side is one collection, labtool.lab, whose root is the repository's root
(galaxy.yml beside roles/, playbooks/, plugins/ and meta/). Ansible finds it by name through
``collections/`` beside ansible.cfg (``collections_path``, relative to ansible.cfg):

- a source checkout or an editable install: the repository root; ``collections/
  ansible_collections/labtool/lab`` holds symlinks to the root's collection content;
- a wheel: ``labtool/_ansible/`` holds ansible.cfg, and the collection itself is shipped
  as ``labtool/_ansible/collections/ansible_collections/labtool/lab/`` (no symlinks in a wheel).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
COLLECTION_NAME = "labtool.lab"
_COLLECTION_IN = Path("collections", "ansible_collections", "labtool", "lab")


def _ansible_root() -> Path:
    shipped = PACKAGE_DIR / "_ansible"
    if (shipped / _COLLECTION_IN / "playbooks").is_dir():
        return shipped
    return PACKAGE_DIR.parent


ANSIBLE_ROOT = _ansible_root()  # where ansible.cfg and collections/ are
ANSIBLE_CFG = ANSIBLE_ROOT / "ansible.cfg"
COLLECTIONS_DIR = ANSIBLE_ROOT / "collections"  # a collections_path entry
# the collection's root: the repository root in a checkout, the shipped copy in a wheel
COLLECTION_ROOT = ANSIBLE_ROOT if ANSIBLE_ROOT == PACKAGE_DIR.parent else ANSIBLE_ROOT / _COLLECTION_IN
PLAYBOOKS_DIR = COLLECTION_ROOT / "playbooks"
ROLES_DIR = COLLECTION_ROOT / "roles"


# <state>/built: an up went through on this lab; the checks of `labtool check` run before
# every up until then (labtool/checks.py), and again on nodes created anew (local destroy)
BUILT_MARK = "built"


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
