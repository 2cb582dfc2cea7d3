"""The lab file (``lab.yml``) and the class file (``class.yml``): the only code that reads
them, and every rule about what a valid lab or class is. Downstream code trusts the model.

``load(path)`` reads either and returns a :class:`Lab` or a :class:`Classroom`, or raises
:class:`LabFileError` listing every problem at once — one :class:`Problem` per problem, each
naming the file, the line, the key path (``nodes[1].address``) and what is wrong.

One concern a module: ``values`` (single values), ``manifest`` (artifacts.yml), ``model``
(the pydantic model), ``rules`` (rules across keys), ``positions`` (safe YAML and where each
key stands), ``problems``, ``classfile`` (a class of labs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labtool.labfile.classfile import Classroom, is_class, merge_lab, parse_class
from labtool.labfile.manifest import manifest_has_coredns, manifest_version, read_manifest
from labtool.labfile.model import Deployment, Kubernetes, Lab, Node, ReplicationController, Service, Sources, Workloads
from labtool.labfile.positions import drop_empty_sections, duplicate_keys, positions, read_yaml
from labtool.labfile.problems import LabFileError, Problem, file_problem, in_file_order, type_name
from labtool.labfile.rules import lab_found
from labtool.labfile.values import DEFAULT_ONLINE_KUBERNETES_VERSION, SUPPORTED_MINORS, is_ip

__all__ = [
    "DEFAULT_ONLINE_KUBERNETES_VERSION", "SUPPORTED_MINORS", "Classroom", "Deployment",
    "Kubernetes", "Lab", "LabFileError", "Node", "Problem", "ReplicationController", "Service",
    "Sources", "Workloads", "is_ip", "load", "load_lab", "manifest_has_coredns",
    "manifest_version", "merge_lab", "parse_lab", "read_manifest",
]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise file_problem(str(path), "no such lab file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise file_problem(str(path), f"cannot read the lab file: {exc}") from None


def load(path: str | Path) -> Lab | Classroom:
    """Read a lab file or a class file (one that holds ``labs:``)."""
    path = Path(path)
    raw, root = read_yaml(_read_text(path), str(path))
    if is_class(raw):
        return parse_class(raw, root, str(path), base_dir=path.resolve().parent, path=path.resolve())
    return _lab(raw, root, str(path), base_dir=path.resolve().parent, path=path.resolve())


def load_lab(path: str | Path) -> Lab:
    """Read a lab file of a single lab (a class file is refused)."""
    path = Path(path)
    return parse_lab(_read_text(path), str(path), base_dir=path.resolve().parent, path=path.resolve())


def parse_lab(text: str, file: str, *, base_dir: Path, path: Path | None = None) -> Lab:
    """Check the text of a lab file; ``file`` is the name used in messages."""
    raw, root = read_yaml(text, file)
    return _lab(raw, root, file, base_dir=base_dir, path=path)


def _lab(raw: Any, root: yaml.Node | None, file: str, *, base_dir: Path, path: Path | None) -> Lab:
    if raw is None:
        raise file_problem(file, "the lab file is empty")
    if not isinstance(raw, dict):
        raise file_problem(file, f"the lab file must be a mapping, not {type_name(raw)}")
    drop_empty_sections(raw)
    where, duplicates = positions(root)
    found, at_line = duplicate_keys(where, duplicates)
    lab, problems = lab_found(raw, base_dir)
    found.extend(problems)
    if found:
        raise LabFileError(in_file_order(file, found, where, at_line))
    assert lab is not None
    lab._path = path
    return lab
