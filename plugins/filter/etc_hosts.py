"""labtool.lab.etc_hosts: /etc/hosts with a line "<address>\t<name>" for each given name.

node_prep writes the result in one task, in place (in a Docker node /etc/hosts is a bind
mount): a loop of lineinfile, one module execution a node name, took 1.3-1.8 s of a first
up on three nodes.
"""

from __future__ import annotations


def _names(line: str) -> list[str]:
    """The host names of an /etc/hosts line (none for a comment or a blank line)."""
    words = line.split("#", 1)[0].split()
    return words[1:] if len(words) > 1 else []


def etc_hosts(text: str | None, entries: dict[str, str]) -> str:
    """``text`` with each name of ``entries`` (name -> address) on a line of its own: the first
    line that names only that host becomes "<address>\\t<name>", later ones are dropped, and
    a name no such line has is appended. Every other line stays as it is."""
    wanted = {str(name): str(address) for name, address in entries.items()}
    placed: set[str] = set()
    out: list[str] = []
    for line in (text or "").splitlines():
        names = _names(line)
        if len(names) == 1 and names[0] in wanted:
            if names[0] not in placed:
                out.append(f"{wanted[names[0]]}\t{names[0]}")
                placed.add(names[0])
            continue
        out.append(line)
    out += [f"{address}\t{name}" for name, address in wanted.items() if name not in placed]
    return "\n".join(out) + "\n"


class FilterModule:
    def filters(self):
        return {"etc_hosts": etc_hosts}
