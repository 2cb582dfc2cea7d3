"""Progress as text: one lab's steps with each difference and its fix, and the class board
(one row per lab, one column per step, each failure in words underneath). Reads only the
model."""

from __future__ import annotations

from labtool.progress.model import DIFFERS, DONE, NOT_STARTED, UNKNOWN, Progress

MARK = {DONE: "done", NOT_STARTED: "-", DIFFERS: "DIFFERS", UNKNOWN: "?"}
# short column names for the board, by step key
SHORT = {"iptables": "1 iptables", "cluster": "2 cluster", "deployment": "3a {deployment}",
         "service": "3b {service}", "rc": "3c {rc}", "curl": "4a curl", "rc-replaces": "4b replace"}


def _read_time(p: Progress) -> str:
    return (p.read_at.replace("T", " ").split("+")[0] + " UTC") if p.read_at else "never"


def lab_text(p: Progress) -> str:
    lines = [f"{p.lab}: progress through the walkthrough (read {_read_time(p)})"]
    if p.error:
        return "\n".join(lines + [f"  could not read the lab: {p.error}"]) + "\n"
    for node, why in sorted(p.unreachable.items()):
        lines.append(f"  {node}: unreachable: {why}")
    width = max(len(s) for s in (DONE, NOT_STARTED, DIFFERS, UNKNOWN))
    for s in p.steps:
        lines.append(f"  {s.state:<{width}}  {s.title}")
        for d in s.differences:
            lines.append(f"  {'':<{width}}    {d.what}")
            lines.append(f"  {'':<{width}}      fix: {d.fix}")
        if s.note and s.state != DONE:
            lines.append(f"  {'':<{width}}    next: {s.note}")
        elif s.note:
            lines.append(f"  {'':<{width}}    ({s.note})")
    lines.append(f"  {p.done_count} of {len(p.steps)} steps done"
                 + (f"; next: {p.at}" if p.at else ": the walkthrough is complete"))
    return "\n".join(lines) + "\n"


def columns(progresses: list[Progress], names: dict[str, str]) -> list[tuple[str, str]]:
    """(step key, column name) in the walkthrough's order."""
    return [(key, SHORT[key].format(**names)) for key in SHORT]


def cell(p: Progress, key: str) -> str:
    if p.error:
        return "unreachable"
    try:
        return p.step(key).state
    except StopIteration:
        return UNKNOWN


def failures(p: Progress) -> list[str]:
    """A lab's failures in words, one line each (the lines under the board)."""
    if p.error:
        return [f"could not be read ({'last read ' + _read_time(p) if p.read_at else 'never read'}): {p.error}"]
    out = [f"{node} unreachable: {why}" for node, why in sorted(p.unreachable.items())]
    for s in p.steps:
        out += [f"{d.what} (fix: {d.fix})" for d in s.differences]
    return out


def board_text(title: str, progresses: list[Progress], names: dict[str, str]) -> str:
    cols = columns(progresses, names)
    head = ["lab"] + [c for _, c in cols] + ["read"]
    rows = [[p.lab] + [MARK.get(cell(p, k), cell(p, k)) for k, _ in cols] + [_read_time(p)[11:19]]
            for p in progresses]
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [title, fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    under = [(p.lab, f) for p in progresses for f in failures(p)]
    if under:
        lines.append("")
        lines += [f"{lab}: {f}" for lab, f in under]
    return "\n".join(lines) + "\n"
