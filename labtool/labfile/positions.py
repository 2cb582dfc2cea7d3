"""Reading a lab file's YAML safely, and where each key stands in it.

The file is composed once into YAML nodes. Aliases are checked on the nodes, before
anything is built from them: a recursive alias or an alias bomb (nested anchors that expand
to billions of values) is refused at once, in bounded time and memory.
"""

from __future__ import annotations

from typing import Any

import yaml

from labtool.labfile.problems import Found, Loc, Where, file_problem

MAX_FILE_CHARS = 1_000_000
# values the document holds once every alias is expanded; a class of 50 labs holds ~5,000
MAX_EXPANDED_VALUES = 100_000


class _AliasProblem(Exception):
    def __init__(self, node: yaml.Node, message: str):
        super().__init__(message)
        self.mark = node.start_mark


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node) -> None:
    """Raise _AliasProblem for a node that contains itself or expands past the limit.
    Each node is sized once (aliases share their node), so this is linear in the file."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_sized = stack.pop()
        key = id(node)
        if children_sized:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_EXPANDED_VALUES:
                raise _AliasProblem(node, f"expands to more than {MAX_EXPANDED_VALUES:,} values "
                                    "through its aliases (*name); a lab file is far smaller")
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _AliasProblem(node, "a recursive alias: this value contains itself")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def read_yaml(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    """The file's data and its root node; LabFileError for anything that is not safe YAML."""
    if len(text) > MAX_FILE_CHARS:
        raise file_problem(file, f"the file holds {len(text):,} characters; a lab or class file "
                           f"is at most {MAX_FILE_CHARS:,}")
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_aliases(root)
        return loader.construct_document(root), root
    except _AliasProblem as exc:
        raise file_problem(file, f"refused: {exc}", exc.mark.line + 1, exc.mark.column + 1) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(filter(None, [exc.context, exc.problem]))
        raise file_problem(file, f"YAML syntax error: {what}", mark.line + 1 if mark else None,
                           mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise file_problem(file, f"YAML syntax error: {exc}") from None
    except RecursionError:
        raise file_problem(file, "refused: the YAML is nested too deeply") from None
    finally:
        loader.dispose()


def positions(root: yaml.Node | None) -> tuple[Where, list[tuple[Loc, int, int]]]:
    """Map every key path to (line, column) of its key; list duplicate keys."""
    where: Where = {}
    duplicates: list[tuple[Loc, int, int]] = []

    def walk(node: yaml.Node, path: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                mark = key_node.start_mark
                if key in seen:
                    duplicates.append((path + (key,), mark.line + 1, mark.column + 1))
                seen.add(key)
                where.setdefault(path + (key,), (mark.line + 1, mark.column + 1))
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                mark = item.start_mark
                where.setdefault(path + (index,), (mark.line + 1, mark.column + 1))
                walk(item, path + (index,))

    if root is not None:
        walk(root, ())
    return where, duplicates


def duplicate_keys(where: Where, duplicates: list[tuple[Loc, int, int]]
                   ) -> tuple[Found, dict[tuple[Loc, str], int]]:
    """A problem per duplicate key, and the line of each (the duplicate's, not the first's)."""
    found: Found = []
    at_line: dict[tuple[Loc, str], int] = {}
    for loc, line, _column in duplicates:
        message = f"duplicate key (first at line {where[loc][0]}); only the last one would count"
        found.append((loc, message))
        at_line[(loc, message)] = line
    return found, at_line


def drop_empty_sections(raw: dict[str, Any]) -> None:
    """A section whose keys are all commented out reads as null: it means "the defaults"."""
    for section in ("kubernetes", "sources", "workloads"):
        if section in raw and raw[section] is None:
            del raw[section]
    if isinstance(raw.get("sources"), dict) and raw["sources"].get("registry_mirrors", {}) is None:
        del raw["sources"]["registry_mirrors"]
