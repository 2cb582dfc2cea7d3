"""Class files: several labs run together (``labtool up -f class.yml``).

A class file holds ``labs:``, a list of labs (each its ``name`` and ``nodes``, and any of
the lab keys below to override); the top-level lab keys apply to every lab. Each lab is
checked as the lab file it stands for (the class's keys merged with its own), and its
problems are reported at the key of the file that holds the bad value.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labtool.labfile.model import Lab
from labtool.labfile.positions import drop_empty_sections, duplicate_keys, positions
from labtool.labfile.problems import Found, LabFileError, Problem, in_file_order, type_name
from labtool.labfile.rules import lab_found
from labtool.labfile.values import NAME_RE

CLASS_SHARED_KEYS = ("node_profile", "user", "password_file", "iptables_service", "kubernetes", "sources", "workloads")
CLASS_KEYS = ("name", "labs", *CLASS_SHARED_KEYS)
CLASS_LAB_KEYS = ("name", "nodes", *CLASS_SHARED_KEYS)


@dataclass
class Classroom:
    """Several labs run together (``labtool up -f class.yml``); each is its own cluster."""

    name: str
    labs: list[Lab]
    path: Path | None = None

    def lab(self, name: str) -> Lab:
        return next(lab for lab in self.labs if lab.name == name)

    @property
    def lab_names(self) -> list[str]:
        return [lab.name for lab in self.labs]

    def pick(self, names: typing.Iterable[str]) -> "Classroom":
        """The class restricted to the labs named (``--lab``); unknown names raise
        :class:`LabFileError` naming the labs there are."""
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in self.lab_names]
        if unknown:
            file = str(self.path) if self.path else self.name
            raise LabFileError([Problem(file, "labs", f"no lab named {n!r} (labs: "
                                        f"{', '.join(self.lab_names)})") for n in unknown])
        return Classroom(self.name, [lab for lab in self.labs if lab.name in names], self.path)


def is_class(raw: Any) -> bool:
    """A lab file that holds ``labs:`` is a class file."""
    return isinstance(raw, dict) and "labs" in raw


def merge_lab(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """One lab of a class as a lab file: the class's keys, overridden by the lab's own.
    Mappings merge key by key (``kubernetes: {pod_network: flannel}`` keeps the class's
    version); any other value replaces the class's."""

    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            out = dict(base)
            for key, value in over.items():
                out[key] = merge(base.get(key), value) if key in base else value
            return out
        return over

    merged = {k: v for k, v in shared.items() if k in CLASS_SHARED_KEYS}
    for key, value in own.items():
        merged[key] = merge(merged[key], value) if key in merged else value
    return merged


def _has(raw: Any, loc: tuple) -> bool:
    """Whether the raw data holds the key path ``loc`` (to tell a lab's key from the class's)."""
    node = raw
    for part in loc:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _class_checks(raw: dict[str, Any]) -> Found:
    """The rules of the class as a whole: its keys, its labs' names, addresses across labs."""
    out = _unknown_class_keys(raw) + _class_name(raw.get("name", None), "name" in raw)
    labs = raw.get("labs")
    if not isinstance(labs, list) or not labs:
        what = "empty" if labs in (None, []) else type_name(labs)
        return out + [(("labs",), f"must be a list of labs (each with name and nodes), not {what}")]
    for i, lab in enumerate(labs):
        if not isinstance(lab, dict):
            out.append((("labs", i), f"must be a mapping (a lab: name, nodes, ...), not {type_name(lab)}"))
        else:
            out.extend(_unknown_lab_keys(lab, i))
    return out + _lab_names(labs) + _shared_addresses(labs)


def _did_you_mean(key: Any, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(valid)})"


def _unknown_class_keys(raw: dict[str, Any]) -> Found:
    return [((key,), "unknown key in a class file" + (
        "; each lab of labs: has its own nodes" if key == "nodes" else _did_you_mean(key, CLASS_KEYS)))
        for key in raw if key not in CLASS_KEYS]


def _unknown_lab_keys(lab: dict[str, Any], i: int) -> Found:
    return [(("labs", i, key), "unknown key" + _did_you_mean(key, CLASS_LAB_KEYS))
            for key in lab if key not in CLASS_LAB_KEYS]


def _class_name(name: Any, given: bool) -> Found:
    if not given:
        return [(("name",), "required key is missing (the class's name: its state lives in "
                 ".labtool/<name>/)")]
    if not isinstance(name, str) or len(name) > 40 or not NAME_RE.match(name):
        return [(("name",), f"{name!r} is not a valid class name (lower-case letters, digits "
                 "and '-', at most 40)")]
    return []


def _lab_names(labs: list[Any]) -> Found:
    out: Found = []
    names: dict[str, int] = {}
    for i, lab in enumerate(labs):
        if not isinstance(lab, dict):
            continue
        if "name" not in lab:  # a lab file of its own may leave it out; a class's lab may not
            out.append((("labs", i, "name"), "required key is missing (the lab's name: its "
                        "state lives in .labtool/<class>/<name>/)"))
        elif isinstance(lab["name"], str) and lab["name"] in names:
            out.append((("labs", i, "name"), f"{lab['name']!r} is already the name of "
                        f"labs[{names[lab['name']]}] (lab names are unique in a class: each is "
                        "a directory of its state)"))
        elif isinstance(lab["name"], str):
            names[lab["name"]] = i
    return out


def _shared_addresses(labs: list[Any]) -> Found:
    """A machine belongs to one lab: every address is unique across the class."""
    out: Found = []
    addresses: dict[str, tuple[int, int]] = {}
    for i, lab in enumerate(labs):
        nodes = lab.get("nodes") if isinstance(lab, dict) else None
        for j, node in enumerate(nodes if isinstance(nodes, list) else []):
            if not isinstance(node, dict) or not isinstance(node.get("address"), str):
                continue
            address = node["address"].strip().lower()
            if address in addresses and addresses[address][0] != i:
                other_lab, other_node = addresses[address]
                other = labs[other_lab].get("name")
                out.append((("labs", i, "nodes", j, "address"),
                            f"{node['address']!r} is already used by labs[{other_lab}].nodes[{other_node}]"
                            f"{f' (lab {other!r})' if isinstance(other, str) else ''}: a machine "
                            "belongs to one lab"))
            else:
                addresses.setdefault(address, (i, j))
    return out


def parse_class(raw: dict[str, Any], root: yaml.Node, file: str, *, base_dir: Path,
                path: Path | None = None) -> Classroom:
    """Check the data of a class file; raises :class:`LabFileError` listing every problem."""
    where, duplicates = positions(root)
    found, at_line = duplicate_keys(where, duplicates)
    drop_empty_sections(raw)
    found.extend(_class_checks(raw))
    labs: list[Lab] = []
    for i, own in enumerate(raw.get("labs") if isinstance(raw.get("labs"), list) else []):
        if not isinstance(own, dict):
            continue
        lab, problems = _one_lab(raw, own, i, base_dir)
        found.extend(problems)
        if lab is not None:
            lab._path = path
            lab._class_name = raw.get("name") if isinstance(raw.get("name"), str) else None
            labs.append(lab)
    if found:
        raise LabFileError(in_file_order(file, found, where, at_line))
    return Classroom(name=raw["name"], labs=labs, path=path)


def _one_lab(raw: dict[str, Any], own: dict[str, Any], i: int, base_dir: Path
             ) -> tuple[Lab | None, Found]:
    """Lab i of the class, checked as the lab file it stands for; its problems at the key of
    the class file that holds the bad value."""
    own = {k: v for k, v in own.items() if k in CLASS_LAB_KEYS and not (
        k in ("kubernetes", "sources", "workloads") and v is None)}
    lab, problems = lab_found(merge_lab(raw, own), base_dir)
    label = own.get("name") if isinstance(own.get("name"), str) else f"labs[{i}]"
    found: Found = []
    for loc, message in problems:
        if loc and loc[0] in ("name", "nodes") or _has(own, loc):
            # the lab's own key (or one the lab must have): reported under labs[i]
            text = message if loc[:1] == ("name",) else f"lab {label!r}: {message}"
            found.append((("labs", i, *loc), text))
        else:
            found.append((loc, message))  # the class's key, shared by every lab
    return lab, found
