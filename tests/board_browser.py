#!/usr/bin/env python3
"""Load the class board in a real browser (headless Chromium) and check it against
`labtool progress --json`.

    python tests/board_browser.py --url http://127.0.0.1:8765/ --json progress.json \\
        --out .labtool/<class>/board

Reads the board's table from the DOM Chromium built (``--dump-dom``): one row per lab,
each cell's data-lab, data-step and data-state; checks that every lab of the JSON is a row
and every step's cell says the JSON's state; saves the DOM (board.html) and a screenshot
(board.png) in --out. Exit 0 when every cell agrees, 1 with one line per disagreement.
Also imported by tests/integration/test_board_browser.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _run(args: list[str], timeout: int = 60) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="board-chromium-") as profile:
        return subprocess.run(
            [browser() or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(url: str) -> str:
    done = _run(["--dump-dom", url])
    if done.returncode != 0 or "<table" not in done.stdout:
        raise RuntimeError(f"chromium --dump-dom {url}: exit {done.returncode}: {done.stderr[-800:]}")
    return done.stdout


def screenshot(url: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    done = _run([f"--screenshot={path}", "--window-size=1500,900", "--hide-scrollbars", url])
    if not path.is_file():
        raise RuntimeError(f"chromium --screenshot: exit {done.returncode}: {done.stderr[-800:]}")


class _Cells(HTMLParser):
    """(lab, step) -> state, from the cells of the board's table; the labs in row order."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.rows: list[str] = []
        self.read: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-lab" in a:
            self.rows.append(a["data-lab"])
        if tag == "td" and {"data-lab", "data-step", "data-state"} <= a.keys():
            self.cells[(a["data-lab"], a["data-step"])] = a["data-state"]
        if tag == "td" and "data-read" in a and self.rows:
            self.read[self.rows[-1]] = a["data-read"]


def cells(dom: str) -> _Cells:
    parser = _Cells()
    parser.feed(dom)
    return parser


def disagreements(dom: str, progress: dict) -> list[str]:
    """What the page shows that the JSON does not say (``progress``: labtool progress --json
    of a class, or of one lab)."""
    labs = progress["labs"] if "labs" in progress else [progress]
    seen = cells(dom)
    out = []
    if sorted(seen.rows) != sorted(lab["lab"] for lab in labs):
        out.append(f"rows {seen.rows}; the JSON's labs {[lab['lab'] for lab in labs]}")
    for lab in labs:
        for step in lab["steps"]:
            want = "unreachable" if lab.get("error") else step["state"]
            got = seen.cells.get((lab["lab"], step["key"]))
            if got != want:
                out.append(f"{lab['lab']} {step['key']}: the page says {got!r}, labtool progress --json {want!r}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--json", required=True, type=Path, help="labtool progress --json's output")
    parser.add_argument("--out", required=True, type=Path, help="where board.html and board.png go")
    args = parser.parse_args()
    if browser() is None:
        print("no chromium found (Debian package chromium; bootstrap.sh installs it)", file=sys.stderr)
        return 2
    dom = dump_dom(args.url)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "board.html").write_text(dom, encoding="utf-8")
    screenshot(args.url, args.out / "board.png")
    wrong = disagreements(dom, json.loads(args.json.read_text()))
    for line in wrong:
        print(line)
    print(f"{len(cells(dom).cells)} cells read from the DOM; {len(wrong)} disagree; "
          f"screenshot {args.out / 'board.png'}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
