"""Shared helpers: write lab files into a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

GOOD_LAB = """\
name: workshop
sources:
  mode: local
  artifacts: ./artifacts
nodes:
  - {name: cp, address: 192.168.56.10, role: control-plane, key: ./id_ed25519}
  - {name: w1, address: 192.168.56.11, role: worker, key: ./id_ed25519}
  - {name: w2, address: 192.168.56.12, role: worker, key: ./id_ed25519}
"""


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    """A directory with a key file and an artifacts directory for Kubernetes 1.20.2."""
    (tmp_path / "id_ed25519").write_text("not really a key\n")
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "artifacts.yml").write_text(
        "kubernetes_version: v1.20.2\n"
        "images: {pause: registry.k8s.io/pause:3.2, nginx: daocloud.io/library/nginx:latest}\n")
    return tmp_path


@pytest.fixture
def write_lab(lab_dir: Path):
    def write(text: str, name: str = "lab.yml") -> Path:
        path = lab_dir / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture(autouse=True)
def _no_preflight_in_unit_tests(request, monkeypatch):
    """Unit tests that fake the runner's playbook runs see no check facts: the checks that
    `labtool up` runs before a lab's first up (labtool.checks.before_up) are off there, unless
    a test asks for them (the marker ``preflight``)."""
    if "/unit/" in str(request.node.fspath) and not request.node.get_closest_marker("preflight"):
        from labtool import checks

        monkeypatch.setattr(checks, "needs_preflight", lambda lab: False)
