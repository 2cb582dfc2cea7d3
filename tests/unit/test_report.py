"""Progress, recap and exit codes, fed with ansible-runner events recorded from REAL runs
against the local lab's node containers (tests/record_events.py; see tests/fixtures/README.md).
"""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from conftest import FIXTURES
from labtool.exitcodes import for_run as exit_code_for
from labtool.report import Progress, is_quiet, plain_line, print_result, result_word
from labtool.events import EventCollector, HostCounts, RunResult

RESULT_EVENTS = {"runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped"}


def load(name: str) -> tuple[list[dict], dict]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    meta = events.pop()["labtool_result"]
    return events, meta


def collect(name: str) -> tuple[RunResult, list[dict]]:
    events, meta = load(name)
    collector = EventCollector(meta["playbook"])
    for event in events:
        collector.feed(event)
    collector.result.status = meta["status"]
    collector.result.rc = meta["rc"]
    return collector.result, events


def stats_of(events: list[dict]) -> dict:
    (stats,) = [e["event_data"] for e in events if e["event"] == "playbook_on_stats"]
    return stats


def render(result: RunResult) -> str:
    buffer = io.StringIO()
    print_result(result, console=Console(file=buffer, width=160, color_system=None))
    return buffer.getvalue()


FIXTURE_FILES = ["events-clean.jsonl", "events-unreachable.jsonl", "events-failed.jsonl",
                 "events-verify.jsonl"]


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_recap_is_ansibles_own(name):
    """Per-host counts equal the playbook_on_stats recap of the recorded run."""
    result, events = collect(name)
    stats = stats_of(events)
    names = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable",
             "skipped": "skipped", "ignored": "ignored", "rescued": "rescued"}
    expected: dict[str, HostCounts] = {h: HostCounts() for h in stats["processed"]}
    for key, attr in names.items():
        for host, n in stats[key].items():
            setattr(expected[host], attr, n)
    assert result.hosts == expected


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_failures_are_the_failed_and_unreachable_events(name):
    result, events = collect(name)
    failed = [e["event_data"] for e in events
              if e["event"] == "runner_on_failed" and not e["event_data"].get("ignore_errors")]
    unreachable = [e["event_data"] for e in events if e["event"] == "runner_on_unreachable"]
    assert [(f.host, f.task) for f in result.failures if not f.unreachable] == \
        [(d["host"], d["task"]) for d in failed]
    assert [(f.host, f.task) for f in result.failures if f.unreachable] == \
        [(d["host"], d["task"]) for d in unreachable]
    for failure in result.failures:
        assert failure.message, f"no message for {failure}"


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_plain_progress_one_line_per_task_result(name):
    events, _ = load(name)
    buffer = io.StringIO()
    progress = Progress(console=Console(file=buffer, width=200, color_system=None), live=False)
    for event in events:
        progress(event)
    progress.close()
    lines = buffer.getvalue().splitlines()
    results = [e for e in events if e["event"] in RESULT_EVENTS and not is_quiet(e)]
    plays = [e for e in events if e["event"] == "playbook_on_play_start"]
    retries = [e for e in events if e["event"] == "runner_retry"]
    assert len(lines) == len(results) + len(plays) + len(retries)
    for event in results:
        data = event["event_data"]
        line = plain_line(event)
        assert line in lines
        assert line.split()[0] == result_word(event)
        assert data["host"] in line and data["task"] in line


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_live_progress_runs_over_the_events(name):
    events, _ = load(name)
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, force_terminal=True, color_system=None)
    progress = Progress(console=console, live=True)
    for event in events:
        progress(event)
    progress.close()
    out = buffer.getvalue()
    # one line stays for every finished task that had a result to show
    tasks = {e["event_data"]["task"] for e in events
             if e["event"] in RESULT_EVENTS and not is_quiet(e)}
    missing = [task for task in tasks if task not in out]
    assert not missing


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_final_report_names_every_node_and_the_log(name, tmp_path):
    result, _ = collect(name)
    result.log_path = tmp_path / "stdout"
    out = render(result)
    for host in result.hosts:
        assert host in out
    assert str(tmp_path / "stdout") in out
    for failure in result.failures:
        assert failure.task in out
        if failure.role == "verify" and result.failed_checks:  # the table says it all
            assert f"{len(result.failed_checks)} failed check(s): see the verify table" in out
        else:
            assert failure.message.splitlines()[0][:400] in out


def test_argument_checks_are_quiet_unless_they_fail():
    events, _ = load("events-clean.jsonl")
    checks = [e for e in events if e["event"] == "runner_on_ok"
              and e["event_data"].get("task_action") == "ansible.builtin.validate_argument_spec"]
    assert checks and all(plain_line(e) is None for e in checks)
    failed = dict(checks[0], event="runner_on_failed")
    assert plain_line(failed).startswith("failed")


def test_clean_run():
    """up --tags node_prep,iptables on three fresh node containers."""
    result, _ = collect("events-clean.jsonl")
    assert result.failures == [] and not result.failed_hosts and not result.unreachable_hosts
    assert sorted(result.hosts) == ["cp", "w1", "w2"]
    assert all(c.changed > 0 for c in result.hosts.values())  # a first run changes the nodes
    assert result.verify == {}
    assert exit_code_for(result) == 0


def test_unreachable_node():
    """The same run again with the node container events-w2 stopped."""
    result, _ = collect("events-unreachable.jsonl")
    assert result.unreachable_hosts == ["w2"]
    (failure,) = [f for f in result.failures if f.unreachable]
    assert failure.host == "w2" and "ssh" in failure.message.lower()
    assert all(result.hosts[h].changed == 0 for h in ("cp", "w1"))  # the second run changes nothing
    assert exit_code_for(result) == 4
    assert "UNREACHABLE w2" in render(result)


def test_failed_task():
    """up --tags iptables on fresh nodes: without node_prep's apt proxy, apt cannot fetch."""
    result, _ = collect("events-failed.jsonl")
    assert sorted(result.failed_hosts) == ["cp", "w1", "w2"] and not result.unreachable_hosts
    assert {(f.role, f.task) for f in result.failures} == {
        ("iptables", "Install iptables and iptables-persistent")}
    assert all("Failed to fetch" in f.message for f in result.failures)
    assert exit_code_for(result) == 1
    out = render(result)
    assert "FAILED cp: iptables : Install iptables and iptables-persistent" in out


def test_verify_on_nodes_without_a_cluster():
    """verify.yml on node containers with no cluster: every check recorded, all failed."""
    result, events = collect("events-verify.jsonl")
    checks = stats_of(events)["artifact_data"]["labtool_verify"]
    assert result.verify == checks and len(checks) >= 6
    assert {c["check"] for c in result.failed_checks} == {c["check"] for c in checks.values()}
    assert {c["node"] for c in result.failed_checks} == {"cp", "w1", "w2"}
    assert exit_code_for(result) == 3
    out = render(result)
    for check in checks.values():
        assert check["check"] in out
    assert out.count("FAILED") >= len(checks)


def test_verify_table_and_exit_code_3():
    result = RunResult(playbook="verify", status="failed", rc=2,
                       hosts={"cp": HostCounts(ok=5, failed=1)})
    result.verify = {
        "nodeport/cp": {"check": "nodeport", "node": "cp", "ok": True, "detail": "200 Welcome to nginx!"},
        "nodeport/w1": {"check": "nodeport", "node": "w1", "ok": False, "detail": "connection refused"},
    }
    out = render(result)
    assert "nodeport" in out and "FAILED" in out and "connection refused" in out
    assert exit_code_for(result) == 3


@pytest.mark.parametrize("status,hosts,code", [
    ("successful", {"cp": HostCounts(ok=3)}, 0),
    ("failed", {"cp": HostCounts(ok=3, failed=1)}, 1),
    ("failed", {"cp": HostCounts(ok=1), "w2": HostCounts(unreachable=1)}, 4),
    ("canceled", {"cp": HostCounts(ok=1)}, 130),
    ("failed", {}, 1),  # ansible-playbook died before any task
])
def test_exit_codes(status, hosts, code):
    assert exit_code_for(RunResult(playbook="up", status=status, hosts=hosts)) == code


def test_a_no_log_failure_shows_ansibles_error_line():
    """A real failed event of a no_log task (workers role, first full `labtool up` on the
    local lab, 2026-11-27): the result is censored; Ansible's own [ERROR] line is kept."""
    event = json.loads((FIXTURES / "event-failed-no-log.json").read_text())
    collector = EventCollector("up")
    collector.feed(event)
    (failure,) = collector.result.failures
    assert "censored" in event["event_data"]["res"]
    assert failure.message.splitlines() == [
        "[ERROR]: Task failed: Module failed: Destination directory /etc/kubernetes does not exist",
        "(the result is hidden: no_log: true)"]
    assert plain_line(event).endswith("— [ERROR]: Task failed: Module failed: Destination "
                                      "directory /etc/kubernetes does not exist")


def test_a_retrying_task_says_which_attempt():
    """A real runner_retry event (pod_network waiting for the nodes, full up on the local lab)."""
    event = json.loads((FIXTURES / "event-retry.json").read_text())
    line = plain_line(event)
    res = event["event_data"]["res"]
    assert line.startswith("retrying     cp           pod_network : Wait until every node is Ready")
    assert f"attempt {res['attempts']}, {res['retries'] - res['attempts']} retries left" in line
    progress = Progress(console=Console(file=io.StringIO()), live=False)
    progress(event)
    assert progress.note == f"cp: attempt {res['attempts']}, {res['retries'] - res['attempts']} retries left"


def test_an_until_loop_that_gives_up_shows_its_last_output():
    """A real failed until-loop (pod_network: nodes never Ready): rc 0, no msg, the state is
    in stdout."""
    event = json.loads((FIXTURES / "event-failed-until.json").read_text())
    collector = EventCollector("up")
    collector.feed(event)
    (failure,) = collector.result.failures
    lines = failure.message.splitlines()
    assert lines[0] == "still not there after 60 attempts; the last said:"
    assert lines[1].split()[:2] == ["cp", "NotReady"]
