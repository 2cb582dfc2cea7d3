"""The class board as one self-contained HTML page an instructor can project: one row per
lab, one column per step, each lab's last read time, its failures in words underneath. No
JavaScript and nothing fetched from the network (an air-gapped classroom); when served, the
page reloads itself with a meta refresh. Each cell carries data-lab, data-step and
data-state, which the browser test reads back from the DOM."""

from __future__ import annotations

from html import escape

from labtool.progress.model import DIFFERS, DONE, NOT_STARTED, UNKNOWN, Progress
from labtool.progress.text import _read_time, cell, columns, failures

_CLASS = {DONE: "done", NOT_STARTED: "todo", DIFFERS: "differs", UNKNOWN: "unknown",
          "unreachable": "unreachable"}
_WORD = {DONE: "done", NOT_STARTED: "not started", DIFFERS: "done differently", UNKNOWN: "unknown",
         "unreachable": "unreachable"}

_STYLE = """
body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.6em;margin:0 0 .2em} p.sub{margin:0 0 1em;color:#555}
table{border-collapse:collapse;font-size:1.15em}
th,td{border:1px solid #bbb;padding:.45em .7em;text-align:center}
th{background:#eee} td.lab{text-align:left;font-weight:bold}
td.done,.legend .done{background:#c8f0c8} td.todo,.legend .todo{background:#fff} td.differs,.legend .differs{background:#ffc9c9;font-weight:bold}
.legend .unknown,td.unknown,td.unreachable{background:#ddd;color:#555} td.read{font-size:.85em;color:#555}
td.read.stale{color:#a00;font-weight:bold}
ul.fail{margin:.2em 0 1em} ul.fail li{margin:.15em 0} .fix{color:#555}
.legend span{display:inline-block;padding:.1em .5em;margin-right:.4em;border:1px solid #bbb}
"""


def board_html(title: str, progresses: list[Progress], names: dict[str, str], *,
               refresh: int | None = None, generated: str = "") -> str:
    cols = columns(progresses, names)
    meta = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh else ""
    head = "".join(f'<th data-step="{escape(k)}">{escape(c)}</th>' for k, c in cols)
    rows = []
    for p in progresses:
        cells = []
        for key, _ in cols:
            state = cell(p, key)
            word = _WORD.get(state, state)
            cells.append(f'<td class="{_CLASS.get(state, "unknown")}" data-lab="{escape(p.lab)}" '
                         f'data-step="{escape(key)}" data-state="{escape(word)}">{escape(word)}</td>')
        stale = " stale" if p.error or p.unreachable else ""
        status = " (unreachable)" if p.error else (
            f" ({', '.join(sorted(p.unreachable))} unreachable)" if p.unreachable else "")
        rows.append(f'<tr data-lab="{escape(p.lab)}"><td class="lab">{escape(p.lab)}</td>{"".join(cells)}'
                    f'<td class="read{stale}" data-read="{escape(p.read_at)}">{escape(_read_time(p))}'
                    f'{escape(status)}</td></tr>')
    under = []
    for p in progresses:
        lines = failures(p)
        if lines:
            items = "".join(f"<li>{_fail_item(line)}</li>" for line in lines)
            under.append(f'<h3 data-lab="{escape(p.lab)}">{escape(p.lab)}</h3><ul class="fail">{items}</ul>')
    legend = "".join(f'<span class="{_CLASS[s]}">{_WORD[s]}</span>'
                     for s in (DONE, NOT_STARTED, DIFFERS, UNKNOWN))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{meta}
<title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">The walkthrough's steps, graded on each live lab by labtool progress{
    ' (re-read every ' + str(int(refresh)) + ' s)' if refresh else ''}. Page made {escape(generated)}.</p>
<table id="board"><thead><tr><th>lab</th>{head}<th>last read</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<p class="legend">{legend}</p>
<h2>What differs</h2>
{''.join(under) or '<p>Nothing: every step that was started is as the walkthrough does it.</p>'}
</body></html>
"""


def _fail_item(line: str) -> str:
    if " (fix: " in line and line.endswith(")"):
        what, fix = line[:-1].split(" (fix: ", 1)
        return f'{escape(what)} <span class="fix">— fix: <code>{escape(fix)}</code></span>'
    return escape(line)
