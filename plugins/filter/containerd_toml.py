"""Filters that edit and read containerd's config.toml by table, whatever the layout.

`containerd config default` prints version 2 (containerd 1.x, double-quoted plugin keys) or
version 3 (containerd 2.x, single-quoted keys, other plugin names). `containerd_toml_set`
changes one key inside one table and leaves every other line alone; `containerd_toml_get`
reads a value back with a real TOML parser, so a value written into the wrong table is seen.
"""

from __future__ import annotations

import json
import re

try:
    import tomllib
except ImportError:  # Python < 3.11 on the controller
    tomllib = None

from ansible.errors import AnsibleFilterError

_HEADER = re.compile(r"^(\s*)\[([^\[\]]+)\]\s*(#.*)?$")
_KEY = r"^(\s*){key}\s*=.*$"


def _split_key(text: str) -> list[str]:
    """Split a dotted TOML key such as plugins."io.containerd.grpc.v1.cri".registry."""
    parts, i, text = [], 0, text.strip()
    while i < len(text):
        ch = text[i]
        if ch in " \t.":
            i += 1
            continue
        if ch in "\"'":
            end = text.index(ch, i + 1)
            parts.append(text[i + 1 : end])
            i = end + 1
        else:
            m = re.match(r"[A-Za-z0-9_-]+", text[i:])
            if not m:
                raise AnsibleFilterError(f"cannot parse TOML key {text!r}")
            parts.append(m.group(0))
            i += m.end()
    return parts


def _render(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(str(value))


def _table_path(table) -> list[str]:
    return list(table) if isinstance(table, (list, tuple)) else _split_key(table)


def containerd_toml_set(text: str, table, key: str, value) -> str:
    """Set `key = value` inside `[table]`; add the key or the table when missing."""
    path = _table_path(table)
    lines = text.splitlines()
    start = None
    for n, line in enumerate(lines):
        m = _HEADER.match(line)
        if m and _split_key(m.group(2)) == path:
            start = n
            break
    rendered = f"{key} = {_render(value)}"
    if start is None:
        header = "[" + ".".join(p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else json.dumps(p) for p in path) + "]"
        return text.rstrip("\n") + f"\n\n{header}\n  {rendered}\n"
    end = len(lines)
    for n in range(start + 1, len(lines)):
        if _HEADER.match(lines[n]):
            end = n
            break
    key_re = re.compile(_KEY.format(key=re.escape(key)))
    for n in range(start + 1, end):
        m = key_re.match(lines[n])
        if m:
            lines[n] = m.group(1) + rendered
            return "\n".join(lines) + "\n"
    indent = _HEADER.match(lines[start]).group(1) + "  "
    last = start
    for n in range(start + 1, end):
        if lines[n].strip():
            last = n
            if "=" in lines[n] and not lines[n].lstrip().startswith("#"):
                indent = re.match(r"^(\s*)", lines[n]).group(1)
    lines.insert(last + 1, indent + rendered)
    return "\n".join(lines) + "\n"


def containerd_toml_get(text: str, table, key: str, default=None):
    """Read `key` from `[table]` with a TOML parser; `default` when absent."""
    if tomllib is None:
        raise AnsibleFilterError("containerd_toml_get needs Python 3.11+ (tomllib) on the controller")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AnsibleFilterError(f"containerd config is not valid TOML: {exc}") from exc
    node = data
    for part in _table_path(table):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node.get(key, default) if isinstance(node, dict) else default


class FilterModule:
    def filters(self):
        return {"containerd_toml_set": containerd_toml_set, "containerd_toml_get": containerd_toml_get}
