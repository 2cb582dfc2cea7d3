"""Per-release data (roles/<role>/vars/<Distribution>-<major>.yml, e.g. Debian-11.yml): each
file only overrides what the role's vars/main.yml already defines, so a release without a file
(Ubuntu, RHEL, a newer Debian) gets the role's own values; and the containerd data agrees with
what the local lab knows of each release."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from labtool.local import releases

ROOT = Path(__file__).resolve().parents[2]
RELEASE_VARS = sorted(p for p in ROOT.glob("roles/*/vars/*-*.yml") if re.fullmatch(r"[A-Za-z]+-\d+\.yml", p.name))


def test_there_is_release_data():
    assert {p.name for p in RELEASE_VARS} >= {"Debian-11.yml", "Debian-12.yml", "Debian-13.yml"}


@pytest.mark.parametrize("path", RELEASE_VARS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_release_data_only_overrides_what_the_role_defines(path):
    own = set(yaml.safe_load(path.read_text()) or {})
    defaults = set(yaml.safe_load((path.parent / "main.yml").read_text()) or {})
    assert own and own <= defaults, f"{path}: {sorted(own - defaults)} has no value in vars/main.yml"


@pytest.mark.parametrize("release", sorted(releases.CONTAINERD))
def test_containerd_release_data_matches_the_local_lab(release):
    data = yaml.safe_load((ROOT / f"roles/containerd/vars/Debian-{release.split('-')[1]}.yml").read_text())
    assert data["_containerd_release_version"] == releases.CONTAINERD[release]
    assert ("v1" in data["_containerd_release_cri"]) == releases.CRI_V1[release]


def test_node_prep_installs_what_a_release_adds_to_containerd():
    """node_prep's one package run (the playbooks' wiring) carries the release's additions."""
    wiring = yaml.safe_load((ROOT / "playbooks/group_vars/all/nodes.yml").read_text())
    for key, added in wiring["nodes_release_packages"].items():
        data = yaml.safe_load((ROOT / f"roles/containerd/vars/{key}.yml").read_text())
        assert added["containerd"] == data["_containerd_release_packages"]
