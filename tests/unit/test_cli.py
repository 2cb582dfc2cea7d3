"""The CLI: thin, fast to start, and its exit codes."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import GOOD_LAB
from labtool import commands as cli, flow, runner
from labtool.commands import _common
from labtool.events import HostCounts, RunResult


def test_help_lists_commands_and_exit_codes():
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    for word in ("up", "verify", "reset", "inventory", "local"):
        assert word in result.output
    for code in ("0", "1", "2", "3", "4", "130"):
        assert re.search(rf"^\s+{code}\s+\w", result.output, re.M), code


def test_no_ansible_import_for_help_and_inventory(write_lab):
    path = write_lab(GOOD_LAB)
    code = (
        "import sys\n"
        "from labtool import commands as cli\n"
        "try:\n"
        f"    cli.main(['inventory', '-f', {str(path)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ansible', 'ansible_runner', 'rich'))\n"
        "print('IMPORTED', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "IMPORTED []" in out.stdout


@pytest.fixture
def fake_runs(monkeypatch):
    """Replace the playbook runs; returns the list of (playbook, kwargs) that were asked for."""
    calls: list[tuple[str, dict]] = []
    outcomes: dict[str, RunResult] = {}

    def run_playbook(name, lab, **kwargs):
        calls.append((name, {k: v for k, v in kwargs.items() if k != "on_event"}))
        return outcomes.get(name) or RunResult(playbook=name, status="successful",
                                               hosts={"cp": HostCounts(ok=1)})

    monkeypatch.setattr(runner, "run_playbook", run_playbook)
    return calls, outcomes


def test_up_then_verify(write_lab, fake_runs):
    calls, _ = fake_runs
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in calls] == ["up", "verify"]


def test_up_with_tags_passes_through_and_skips_verify(write_lab, fake_runs):
    calls, _ = fake_runs
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB)), "--tags",
                                           "iptables", "--limit", "w1", "--check", "-vv"])
    assert result.exit_code == 0, result.output
    assert calls == [("up", {"limit": "w1", "tags": "iptables", "check": True, "verbosity": 2,
                             "extravars": None})]


def test_up_that_changed_something_runs_every_check(write_lab, fake_runs):
    calls, outcomes = fake_runs
    outcomes["up"] = RunResult(playbook="up", status="successful",
                               hosts={"cp": HostCounts(ok=5, changed=2), "w1": HostCounts(ok=4)})
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 0, result.output
    assert calls[1] == ("verify", {"limit": None, "verbosity": 0, "extravars": None})


def test_up_that_changed_nothing_skips_the_pod_deletion(write_lab, fake_runs):
    calls, _ = fake_runs  # the default outcome: ok on cp, nothing changed
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 0, result.output
    assert calls[1][1]["extravars"] == {"verify_replace_pod": False}
    assert "rc-replaces-pod" in result.output


def test_up_full_runs_every_role(write_lab, fake_runs):
    calls, _ = fake_runs
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB)), "--full"])
    assert result.exit_code == 0, result.output
    # verify follows in a run of its own: read-only when the full up changed nothing
    assert calls[0][1]["extravars"] == {"converge_stamp_skip_unchanged": False,
                                        "labtool_verify_unchanged": True}


def test_up_asks_for_the_read_only_checks_only_when_checks_follow(write_lab, fake_runs):
    calls, _ = fake_runs
    lab = str(write_lab(GOOD_LAB))
    for extra in ([], ["--no-verify"], ["--check"], ["--tags", "iptables"]):
        calls.clear()
        assert CliRunner().invoke(cli.main, ["up", "-f", lab, *extra]).exit_code == 0
        extravars = calls[0][1]["extravars"] or {}
        for asked in ("labtool_verify_unchanged", "labtool_verify_after_roles"):
            assert extravars.get(asked, False) is (not extra), (extra, asked)


UNCHANGED_AND_CHECKED = {
    "nodeport-serves-nginx/cp": {"check": "nodeport-serves-nginx", "node": "cp", "ok": True,
                                 "detail": 'GET http://10.0.0.1:30001/: HTTP 200, "Welcome to nginx" on the page'}}


def test_up_that_ran_the_read_only_checks_starts_no_second_run(write_lab, fake_runs):
    calls, outcomes = fake_runs
    outcomes["up"] = RunResult(playbook="up", status="successful", hosts={"cp": HostCounts(ok=9)},
                               verify=UNCHANGED_AND_CHECKED)
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in calls] == ["up"]
    assert "rc-replaces-pod" in result.output and "Welcome to nginx" in result.output


ALL_CHECKED = {**UNCHANGED_AND_CHECKED, "rc-replaces-pod/cp": {
    "check": "rc-replaces-pod", "node": "cp", "ok": True, "detail": "deleted my-nginx-x; 2 of 2 pods Ready"}}


def test_up_that_ran_every_check_itself_says_verify_ok_without_the_read_only_note(write_lab, fake_runs):
    calls, outcomes = fake_runs
    outcomes["up"] = RunResult(playbook="up", status="successful",
                               hosts={"cp": HostCounts(ok=9, changed=3)}, verify=ALL_CHECKED)
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 0, result.output
    assert [c[0] for c in calls] == ["up"]
    assert "rc-replaces-pod" in result.output and flow.READ_ONLY_NOTE not in result.output


def test_up_whose_own_checks_fail_exits_3(write_lab, fake_runs):
    calls, outcomes = fake_runs
    failed = {**ALL_CHECKED, "rc-replaces-pod/cp": {**ALL_CHECKED["rc-replaces-pod/cp"], "ok": False}}
    outcomes["up"] = RunResult(playbook="up", status="failed",
                               hosts={"cp": HostCounts(ok=8, changed=3, failed=1)}, verify=failed)
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 3, result.output
    assert [c[0] for c in calls] == ["up"] and flow.READ_ONLY_NOTE not in result.output


def test_up_whose_read_only_checks_fail_exits_3(write_lab, fake_runs):
    calls, outcomes = fake_runs
    failed = {k: {**v, "ok": False, "detail": "GET http://10.0.0.1:30001/: HTTP 502"}
              for k, v in UNCHANGED_AND_CHECKED.items()}
    outcomes["up"] = RunResult(playbook="up", status="failed",
                               hosts={"cp": HostCounts(ok=8, failed=1)}, verify=failed)
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 3, result.output
    assert [c[0] for c in calls] == ["up"] and "HTTP 502" in result.output


def test_failed_up_skips_verify_and_exits_1(write_lab, fake_runs):
    calls, outcomes = fake_runs
    outcomes["up"] = RunResult(playbook="up", status="failed", hosts={"cp": HostCounts(failed=1)})
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 1
    assert [c[0] for c in calls] == ["up"]


def test_verify_failed_check_exits_3(write_lab, fake_runs):
    _, outcomes = fake_runs
    outcomes["verify"] = RunResult(
        playbook="verify", status="failed", hosts={"cp": HostCounts(ok=4, failed=1)},
        verify={"rc/cp": {"check": "rc", "node": "cp", "ok": False, "detail": "1/2 ready"}})
    result = CliRunner().invoke(cli.main, ["verify", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 3
    assert "1/2 ready" in result.output


def test_unreachable_exits_4(write_lab, fake_runs):
    _, outcomes = fake_runs
    outcomes["verify"] = RunResult(playbook="verify", status="failed",
                                   hosts={"w2": HostCounts(unreachable=1)})
    result = CliRunner().invoke(cli.main, ["verify", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 4


def test_reset_without_terminal_and_without_yes_refuses(write_lab, fake_runs):
    calls, _ = fake_runs
    result = CliRunner().invoke(cli.main, ["reset", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert calls == []


def test_reset_asks_and_no_means_nothing(write_lab, fake_runs, monkeypatch):
    calls, _ = fake_runs
    monkeypatch.setattr(_common, "stdin_is_terminal", lambda: True)
    result = CliRunner().invoke(cli.main, ["reset", "-f", str(write_lab(GOOD_LAB))], input="n\n")
    assert "Wipe the Kubernetes cluster of lab 'workshop' on cp, w1, w2?" in result.output
    assert result.exit_code == 0 and calls == []


def test_reset_yes(write_lab, fake_runs):
    calls, _ = fake_runs
    result = CliRunner().invoke(cli.main, ["reset", "-f", str(write_lab(GOOD_LAB)), "--yes"])
    assert result.exit_code == 0
    assert [c[0] for c in calls] == ["reset"]


@pytest.mark.parametrize("command", [["up"], ["verify"], ["reset", "--yes"], ["inventory"]])
def test_bad_lab_file_exits_2_before_anything_runs(write_lab, fake_runs, command):
    calls, _ = fake_runs
    path = write_lab("name: workshop\nnodes: []\n")
    result = CliRunner().invoke(cli.main, [*command, "-f", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2: nodes:" in result.stderr
    assert calls == []


def test_ctrl_c_outside_a_run_exits_130(write_lab, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_playbook", interrupted)
    result = CliRunner().invoke(cli.main, ["verify", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
