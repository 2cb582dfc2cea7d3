"""Problems with a lab or class file: what is wrong, at which key, on which line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# a key path as the data holds it: ("nodes", 1, "address")
Loc = tuple[Any, ...]
# what a check found: (key path, message)
Found = list[tuple[Loc, str]]
# where each key path's key stands in the file: {loc: (line, column)}, both 1-based
Where = dict[Loc, tuple[int, int]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lab file."""

    file: str
    key: str  # key path such as ``nodes[1].address``; "" for the file as a whole
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class LabFileError(Exception):
    """The lab file cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def file_problem(file: str, message: str, line: int | None = None,
                 column: int | None = None) -> LabFileError:
    """The error for a problem with the file as a whole (unreadable, not YAML, too large)."""
    return LabFileError([Problem(file, "", message, line, column)])


class KeyedError(ValueError):
    """A ValueError raised by a model validator that belongs to one key of the model."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def key_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "a number",
            float: "a number", bool: "true/false", type(None): "empty"}.get(type(value), type(value).__name__)


def _locate(where: Where, loc: Loc) -> tuple[int | None, int | None]:
    for n in range(len(loc), 0, -1):
        if loc[:n] in where:
            return where[loc[:n]]
    return None, None


def in_file_order(file: str, found: Found, where: Where,
                  at_line: dict[tuple[Loc, str], int]) -> list[Problem]:
    """Every problem once, with the line of its key, in the order of the file."""
    problems, seen = [], set()
    for loc, message in found:
        if (loc, message) in seen:
            continue
        seen.add((loc, message))
        line, _column = _locate(where, loc)
        line = at_line.get((loc, message), line)
        problems.append(Problem(file, key_path(loc), message, line, None))
    problems.sort(key=lambda p: (p.line or 0, p.key))
    return problems
