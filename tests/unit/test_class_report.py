"""The class report (one row per lab, the failures, the live lines) on the events of a REAL
class run: molecule scenario classroom, two local labs, worker w2 of the second stopped
before the first up; then started again before the second up (tests/fixtures/README.md)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from labtool import class_report as report
from labtool.flow import changed_nothing
from labtool.session import class_exit_code
from labtool.events import EventCollector
from labtool.runner import LabRun

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LAB1, LAB2 = "mol-classroom-1", "mol-classroom-2"
NODES = ["cp", "w1", "w2"]


def lab_events(up: str, lab: str) -> list[tuple[str, dict]]:
    """(playbook, event) in recorded order, and the runs' results as ("=", result)."""
    out = []
    playbook = ""
    with gzip.open(FIXTURES / f"class-{up}-up" / f"{lab}.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if "labtool_run" in item:
                playbook = item["labtool_run"]
            elif "labtool_result" in item:
                out.append(("=", item["labtool_result"]))
            else:
                out.append((playbook, item))
    return out


def lab_run(up: str, lab: str) -> LabRun:
    """The LabRun labtool's class run made of these events (EventCollector per run)."""
    run = LabRun(lab)
    collector = None
    for playbook, item in lab_events(up, lab):
        if playbook == "=":
            collector.result.status, collector.result.rc = item["status"], item["rc"]
            run.runs.append(collector.result)
            collector = None
            continue
        if collector is None:
            collector = EventCollector(playbook)
        collector.feed(item)
    return run


@pytest.fixture(scope="module")
def first():
    return {lab: lab_run("first", lab) for lab in (LAB1, LAB2)}


@pytest.fixture(scope="module")
def second():
    return {lab: lab_run("second", lab) for lab in (LAB1, LAB2)}


def test_first_up_lab1_fully_green(first):
    row = report.lab_summary(first[LAB1], NODES, 30001)
    assert (row["result"], row["ready"], row["nodeport"]) == ("ok", 3, 3)
    assert [r.playbook for r in first[LAB1].runs] == ["up", "verify"]


def test_first_up_lab2_only_the_dead_worker_unreachable(first):
    run = first[LAB2]
    row = report.lab_summary(run, NODES, 30001)
    assert (row["result"], row["ready"], row["nodeport"]) == ("unreachable: w2", 2, 2)
    assert run.unreachable_hosts == ["w2"] and run.failed_hosts == []
    assert {f.host for r in run.runs for f in r.failures} == {"w2"}
    up = run.runs[0]
    assert up.hosts["cp"].unreachable == 0 and up.hosts["cp"].failed == 0
    assert up.hosts["w1"].unreachable == 0 and up.hosts["w1"].failed == 0


def test_first_up_lab2_verify_ran_on_the_live_nodes(first):
    verify = first[LAB2].runs[1]
    assert verify.playbook == "verify" and verify.status == "successful"
    nodes = {c["node"] for c in verify.verify.values()}
    assert nodes == {"cp", "w1"}
    assert all(c["ok"] for c in verify.verify.values())


def test_first_up_exits_4(first):
    assert class_exit_code(first) == 4


def test_second_up_finishes_lab2_and_changes_nothing_in_lab1(second):
    assert changed_nothing(second[LAB1].runs[0])
    for lab in (LAB1, LAB2):
        row = report.lab_summary(second[lab], NODES, 30001)
        assert (row["result"], row["ready"], row["nodeport"]) == ("ok", 3, 3), lab
    assert class_exit_code(second) == 0


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=160, force_terminal=False, color_system=None), buffer


def test_class_table_and_failures(first):
    console, buffer = _console()
    report.print_class_result(first, {LAB1: NODES, LAB2: NODES}, {LAB1: 30001, LAB2: 30001},
                              title="mol-classroom: up", console=console)
    text = buffer.getvalue()
    lines = text.splitlines()
    assert any(LAB1 in line and "│ ok" in line and "3/3 :30001" in line for line in lines), text
    assert any(LAB2 in line and "unreachable: w2" in line and "2/3 :30001" in line for line in lines), text
    unreachable = [line for line in lines if "UNREACHABLE" in line]
    assert unreachable and all(line.strip().startswith(f"{LAB2}: UNREACHABLE w2: ") for line in unreachable)
    assert f"{LAB2}: verify" in text  # the lab that is not ok shows what it could prove
    assert text.count("Run logs:") == 1


def test_plain_progress_one_line_per_phase_and_the_drop_out(first):
    console, buffer = _console()
    progress = report.ClassProgress({LAB1: 3, LAB2: 3}, console=console, live=False)
    streams = {lab: [e for p, e in lab_events("first", lab) if p != "="] for lab in (LAB1, LAB2)}
    for i in range(max(len(s) for s in streams.values())):  # interleaved, as two threads
        for lab, events in streams.items():
            if i < len(events):
                progress(lab, events[i])
    for lab in (LAB1, LAB2):
        progress.finished(lab, "up done")
    lines = buffer.getvalue().splitlines()
    assert f"[{LAB1}] up: Prepare every node for kubeadm" in " ".join(lines)
    assert f"[{LAB2}] verify: Check what the walkthrough promises" in " ".join(lines)
    dropped = [line for line in lines if ": unreachable at " in line]
    assert len(dropped) == 1 and dropped[0].startswith(f"[{LAB2}] w2: unreachable at ")
    # one line per phase change, not per task
    assert len(lines) < 40, lines
    assert progress._done_count(LAB2) == 3


def test_live_view_renders_every_lab(first):
    progress = report.ClassProgress({LAB1: 3, LAB2: 3}, console=_console()[0], live=False)
    for playbook, event in lab_events("first", LAB2):
        if playbook != "=":
            progress(LAB2, event)
    console, buffer = _console()
    console.print(progress._render())
    text = buffer.getvalue()
    assert LAB1 in text and "waiting" in text and "0/3" in text
    assert LAB2 in text and "w2 unreachable" in text and "1/3" in text
