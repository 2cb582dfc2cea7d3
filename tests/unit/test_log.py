"""labtool log: a past run, read back from the runner's artifacts, is shown by the same
code that showed it live, and a class's labs keep their runs apart."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from conftest import FIXTURES, GOOD_LAB
from labtool import records
from labtool.commands import main
from labtool.events import EventCollector
from labtool.labfile import load
from labtool.report import print_result


def _write_run(artifacts: Path, ident: str, fixture: str) -> dict:
    """A run as ansible-runner leaves it: job_events/<counter>-<uuid>.json, status, rc."""
    lines = (FIXTURES / fixture).read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    meta = events.pop()["labtool_result"]
    run = artifacts / ident
    (run / "job_events").mkdir(parents=True)
    for event in events:
        (run / "job_events" / f"{event['counter']}-{event.get('uuid', 'x')}.json").write_text(json.dumps(event))
    (run / "status").write_text(meta["status"])
    (run / "rc").write_text(str(meta["rc"]))
    (run / "stdout").write_text("")
    return {"events": events, **meta}


@pytest.fixture
def kept(write_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "state"))
    lab = load(write_lab(GOOD_LAB))
    artifacts = tmp_path / "state" / lab.name / "runner" / "artifacts"
    runs = {ident: _write_run(artifacts, ident, fixture) for ident, fixture in [
        ("20261203-090000-up", "events-unreachable.jsonl"),
        ("20261203-090200-verify", "events-verify.jsonl"),
        ("20261203-090000-up-2", "events-clean.jsonl")]}
    return lab, runs


def _render(result) -> str:
    buffer = io.StringIO()
    print_result(result, console=Console(file=buffer, width=160, color_system=None))
    return buffer.getvalue()


def test_the_runs_kept_oldest_first(kept):
    lab, _ = kept
    assert [r.ident for r in records.records(lab)] == [
        "20261203-090000-up", "20261203-090000-up-2", "20261203-090200-verify"]
    assert [r.playbook for r in records.records(lab)] == ["up", "up", "verify"]


def test_a_replayed_run_is_the_live_runs_result(kept):
    lab, runs = kept
    record = records.find(lab, "20261203-090200-verify")
    live = EventCollector("verify")
    for event in runs[record.ident]["events"]:
        live.feed(event)
    replayed = records.replay(record)
    assert (replayed.hosts, replayed.failures, replayed.verify) == (
        live.result.hosts, live.result.failures, live.result.verify)
    assert replayed.verify and replayed.status == "failed" and replayed.rc == 2
    assert replayed.duration > 0
    live.result.status, live.result.duration, live.result.log_path = "failed", replayed.duration, replayed.log_path
    assert _render(replayed) == _render(live.result)


def test_log_last_shows_the_verify_table_and_failures(kept, write_lab):
    lab, _ = kept
    out = CliRunner().invoke(main, ["log", "-f", str(lab.path), "--last"])
    assert out.exit_code == 0, out.output
    assert "20261203-090200-verify" in out.output
    assert "verify: failed" in out.output and "FAILED" in out.output


def test_log_by_the_start_of_a_runs_name(kept):
    lab, _ = kept
    out = CliRunner().invoke(main, ["log", "-f", str(lab.path), "20261203-090000-up-"])
    assert out.exit_code == 0, out.output
    assert "up: ok" in out.output


def test_log_lists_the_runs(kept):
    lab, _ = kept
    out = CliRunner().invoke(main, ["log", "-f", str(lab.path)])
    assert out.exit_code == 0
    for ident in ("20261203-090000-up", "20261203-090000-up-2", "20261203-090200-verify"):
        assert ident in out.output


def test_an_unknown_or_ambiguous_run_exits_2(kept):
    lab, _ = kept
    for run in ("20261203-1", "20261203-090000-up"[:12]):
        out = CliRunner().invoke(main, ["log", "-f", str(lab.path), run])
        assert out.exit_code == 2
        assert "labtool log" in out.stderr
