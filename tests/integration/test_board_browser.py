"""The class board in a real browser: headless Chromium loads the page `labtool progress
--serve` serves (here from facts recorded from a local lab), the test reads the table back
from the DOM Chromium built and checks every cell against the progress JSON. molecule
classroom does the same on two live labs, against `labtool progress --json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from labtool.progress.judge import judge
from labtool.progress.model import Progress, Walkthrough
from labtool.progress.serve import Board, start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import board_browser  # noqa: E402  (tests/board_browser.py)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "progress"
NAMES = {"deployment": "dep01", "service": "mysvc", "rc": "my-nginx"}

pytestmark = pytest.mark.skipif(board_browser.browser() is None,
                                reason="no chromium (Debian package chromium; bootstrap.sh installs it)")


def _grade(name: str, lab: str) -> Progress:
    rec = json.loads((FIXTURES / f"{name}.json").read_text())
    return judge(rec["facts"], Walkthrough(), lab=lab, unreachable=rec["unreachable"],
                 read_at="2026-12-04T17:40:00+00:00")


def test_the_board_read_from_chromium_s_dom_says_what_the_json_says(tmp_path):
    board = Board("wednesday", ["alice", "bob", "carol", "dave"], NAMES, refresh=30)
    board.update({"alice": _grade("rc-replaced", "alice"), "bob": _grade("service-30002", "bob"),
                  "carol": _grade("cluster-only", "carol"),
                  "dave": Progress(lab="dave", error="unreachable: cp (No route to host)")})
    server = start_server(board, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        dom = board_browser.dump_dom(url)
        board_browser.screenshot(url, tmp_path / "board.png")
    finally:
        server.shutdown()
        server.server_close()
    progress = {"labs": [p.to_dict() for p in board.progresses()]}
    assert board_browser.disagreements(dom, progress) == []
    seen = board_browser.cells(dom)
    assert seen.rows == ["alice", "bob", "carol", "dave"]
    assert seen.cells[("bob", "service")] == "done differently"
    assert seen.cells[("dave", "cluster")] == "unreachable"
    assert (tmp_path / "board.png").stat().st_size > 10_000
