"""runner.run_playbook with the real ansible-runner and ansible-playbook, on this machine's
implicit localhost (connection local): no node, no docker."""

from __future__ import annotations

import textwrap

import pytest

from conftest import GOOD_LAB
from labtool import runner
from labtool.labfile import load_lab

PLAYBOOK = """\
- name: Exercise the runner on the controller
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: See the lab's inventory variables
      ansible.builtin.assert:
        that: lab_name == 'workshop' and lab_workloads.service.node_port == 30001
    - name: See labtool's ansible.cfg
      ansible.builtin.assert:
        that: lookup('env', 'ANSIBLE_CONFIG') is search('ansible.cfg$')
    - name: See that Ansible reads the strategy's poll interval from it (no environment variable sets it)
      ansible.builtin.assert:
        that: lookup('ansible.builtin.config', 'DEFAULT_INTERNAL_POLL_INTERVAL') | float == 0.01
    - name: See that the playbook runs under labtool's strategy (plugins/strategy/linear.py)
      ansible.builtin.assert:
        that: lookup('ansible.builtin.config', 'DEFAULT_STRATEGY') == 'labtool.lab.linear'
    - name: Change something
      ansible.builtin.command: "true"
      changed_when: true
    - name: Fail but carry on
      ansible.builtin.command: "false"
      ignore_errors: true
    - name: Record two checks
      ansible.builtin.set_stats:
        aggregate: true
        per_host: false
        data:
          labtool_verify:
            demo/cp: {check: demo, node: cp, ok: true, detail: fine}
            demo/w1: {check: demo, node: w1, ok: false, detail: "not fine"}
    - name: Fail for real
      ansible.builtin.shell: echo boom >&2; exit 3
"""


@pytest.fixture
def lab(write_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    return load_lab(write_lab(GOOD_LAB))


def test_run_playbook_collects_the_result(lab, tmp_path):
    playbook = tmp_path / "pb.yml"
    playbook.write_text(textwrap.dedent(PLAYBOOK))
    events = []
    result = runner.run_playbook(str(playbook), lab, on_event=events.append)

    assert result.status == "failed" and result.rc == 2
    counts = result.hosts["localhost"]
    # Ansible's recap: an ignored failure counts as ok and ignored; command reports changed
    assert (counts.ok, counts.changed, counts.failed, counts.ignored) == (7, 2, 1, 1)
    (failure,) = result.failures
    assert (failure.host, failure.task) == ("localhost", "Fail for real")
    assert "boom" in failure.message
    assert result.verify["demo/w1"] == {"check": "demo", "node": "w1", "ok": False,
                                        "detail": "not fine"}
    assert [c["node"] for c in result.failed_checks] == ["w1"]

    private = tmp_path / "home" / "workshop" / "runner"
    assert (private / "inventory" / "hosts.yml").is_file()
    assert result.log_path.parent.parent == private / "artifacts"
    assert "Fail for real" in result.log_path.read_text()
    assert not (private / "env").exists() or not any((private / "env").iterdir())
    assert any(e["event"] == "playbook_on_stats" for e in events)


def test_missing_playbook(lab):
    result = runner.run_playbook("no-such-playbook", lab)
    assert result.status == "error"
    assert "not found" in result.failures[0].message
