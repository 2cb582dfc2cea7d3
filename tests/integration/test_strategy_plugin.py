"""labtool.lab.linear (ansible.cfg's strategy) beside Ansible's own linear, on three local hosts
through ansible-runner: the same recap and the same events host by host, while the
controller-only actions and the false-condition skips run in ansible-playbook's own process
instead of a forked worker each."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Every kind of result a play can hand the strategy: ok, changed, skipped, failed, ignored,
# rescued, registered, looped, included, run_once, delegated facts, no_log, a role with an
# argument spec, a failing condition.
PLAY = [{
    "name": "Exercise the strategy",
    "hosts": "all",
    "gather_facts": False,
    "vars": {"mine": "{{ inventory_hostname }}-x"},
    "tasks": [
        {"name": "A fact from a host variable", "ansible.builtin.set_fact": {"fact": "{{ mine }}"}},
        {"name": "The fact is the host's own", "ansible.builtin.assert": {"that": ["fact == inventory_hostname ~ '-x'"]}},
        {"name": "A looped fact", "ansible.builtin.set_fact": {"looped": "{{ item }}"}, "loop": [1, 2]},
        {"name": "A secret", "ansible.builtin.debug": {"msg": "s3cret-{{ inventory_hostname }}"}, "no_log": True},
        {"name": "A module on the host", "ansible.builtin.command": {"argv": ["echo", "{{ fact }}"]},
         "register": "echoed", "changed_when": "inventory_hostname == 'h1'"},
        {"name": "Its output", "ansible.builtin.assert": {"that": ["echoed.stdout == fact"], "quiet": True}},
        {"name": "A skipped module", "ansible.builtin.command": {"argv": ["false"]},
         "when": "inventory_hostname == 'nobody'", "register": "skipped_one"},
        {"name": "Registered as skipped", "ansible.builtin.assert": {"that": ["skipped_one is skipped"]}},
        {"name": "A module on one host only", "ansible.builtin.command": {"argv": ["true"]},
         "when": "inventory_hostname == 'h2'", "changed_when": False},
        {"name": "A condition that fails", "ansible.builtin.command": {"argv": ["true"]},
         "when": "no_such_variable", "ignore_errors": True},
        {"name": "A looped module with a condition", "ansible.builtin.command": {"argv": ["echo", "{{ item }}"]},
         "loop": [1, 2], "when": "item == 2", "changed_when": False},
        {"name": "A block", "block": [
            {"name": "Fail on h3", "ansible.builtin.fail": {"msg": "h3 fails"}, "when": "inventory_hostname == 'h3'"}],
         "rescue": [{"name": "Rescued", "ansible.builtin.debug": {"msg": "rescued"}}]},
        {"name": "Once for all", "ansible.builtin.set_fact": {"once": "{{ ansible_play_hosts | length }}"},
         "run_once": True},
        {"name": "A delegated fact", "ansible.builtin.set_fact": {"given": "by {{ inventory_hostname }}"},
         "delegate_to": "h1", "delegate_facts": True, "run_once": True},
        {"name": "Include tasks", "ansible.builtin.include_tasks": "included.yml"},
        {"name": "Include a role", "ansible.builtin.include_role": {"name": "spec_role"},
         "vars": {"spec_role_size": 3}},
        {"name": "Fail on h2 for real", "ansible.builtin.fail": {"msg": "h2 fails"}, "when": "inventory_hostname == 'h2'"},
    ],
}, {
    "name": "The hosts left",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [
        {"name": "Facts carried over", "ansible.builtin.assert": {
            "that": ["once | int == 3", "hostvars['h1'].given == 'by h1'", "looped | int == 2"]}},
        {"name": "Read a vars file", "ansible.builtin.include_vars": {"file": "extra.yml"}},
        {"name": "Its variable", "ansible.builtin.debug": {"var": "from_file"}},
    ],
}]

# Where each host-task ran: the condition of a task that is skipped, and a controller-only
# task, each write the PID of the process that evaluates them.
PIDS_PLAY = [{
    "name": "Who runs what",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [
        {"name": "A fact", "ansible.builtin.set_fact": {"pid": "{{ lookup('pipe', 'echo $PPID') }}"}},
        {"name": "Write it", "ansible.builtin.lineinfile": {"path": "{{ pids_file }}", "line": "set_fact {{ pid }}",
                                                          "create": True}, "delegate_to": "localhost",
         "throttle": 1},
        {"name": "A skipped module", "ansible.builtin.command": {"argv": ["false"]},
         "when": "lookup('pipe', 'echo when $PPID >> ' ~ pids_file) == 'never'"},
        {"name": "A fact under a task timeout", "ansible.builtin.set_fact": {
            "timed": "{{ lookup('pipe', 'echo timeout $PPID >> ' ~ pids_file) }}"}, "timeout": 60},
    ],
}]


def run(tmp_path: Path, play: list, strategy: str, **extravars):
    import ansible_runner

    work = tmp_path / strategy
    (work / "roles" / "spec_role" / "meta").mkdir(parents=True)
    (work / "roles" / "spec_role" / "tasks").mkdir()
    (work / "roles" / "spec_role" / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(
        {"argument_specs": {"main": {"options": {"spec_role_size": {"type": "int", "required": True}}}}}))
    (work / "roles" / "spec_role" / "tasks" / "main.yml").write_text(yaml.safe_dump(
        [{"name": "The role's task", "ansible.builtin.debug": {"msg": "{{ spec_role_size * 2 }}"}}]))
    (work / "included.yml").write_text(yaml.safe_dump(
        [{"name": "An included task", "ansible.builtin.debug": {"msg": "in {{ inventory_hostname }}"}}]))
    (work / "extra.yml").write_text("from_file: 42\n")
    (work / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    (work / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"h1": None, "h2": None, "h3": None}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}))
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(work / "roles"),
           "ANSIBLE_NOCOLOR": "1", "PATH": os.pathsep.join([str(BIN), "/usr/bin", "/bin"])}
    if strategy == "linear":
        env["ANSIBLE_STRATEGY"] = "ansible.builtin.linear"
    return ansible_runner.run(private_data_dir=str(work), playbook=str(work / "play.yml"),
                              inventory=str(work / "hosts.yml"), envvars=env, extravars=extravars,
                              quiet=True, suppress_env_files=True, settings={"pexpect_timeout": 0.5})


def by_host(result) -> dict[str, list[tuple]]:
    """Each host's events in order: the event, the task, and what the result says."""
    seen: dict[str, list[tuple]] = {}
    for event in result.events:
        data = event.get("event_data", {})
        if not event["event"].startswith("runner_") or "host" not in data:
            continue
        res = data.get("res") or {}
        said = (res.get("msg"), res.get("stdout"), res.get("ansible_facts"), res.get("skip_reason"),
                res.get("changed"), res.get("censored"), data.get("item"))
        seen.setdefault(data["host"], []).append((event["event"], data.get("task"), repr(said)))
    return seen


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("strategies")
    return {strategy: run(tmp, PLAY, strategy) for strategy in ("linear", "labtool")}


def test_labtool_s_strategy_is_the_one_ansible_cfg_names(both):
    stdout = both["labtool"].stdout.read()
    assert "[DEPRECATION WARNING]: Use of strategy plugins not included in ansible.builtin" in stdout
    assert "not included in ansible.builtin" not in both["linear"].stdout.read()


def test_the_same_recap(both):
    linear, labtool = both["linear"], both["labtool"]
    assert linear.status == labtool.status == "failed"
    assert linear.stats == labtool.stats
    assert linear.stats["failures"] == {"h2": 1} and linear.stats["rescued"] == {"h3": 1}


def test_the_same_events_host_by_host(both):
    linear, labtool = by_host(both["linear"]), by_host(both["labtool"])
    assert sorted(linear) == sorted(labtool) == ["h1", "h2", "h3"]
    for host in linear:
        assert labtool[host] == linear[host], host
    assert "s3cret" not in "".join(map(str, labtool.values()))


def test_controller_only_tasks_and_skips_run_in_one_process_not_a_worker_each(tmp_path):
    pids = {}
    for strategy in ("linear", "labtool"):
        pids_file = tmp_path / f"pids-{strategy}"
        assert run(tmp_path, PIDS_PLAY, strategy, pids_file=str(pids_file)).status == "successful"
        lines = pids_file.read_text().split("\n")
        pids[strategy] = {kind: {line.split()[1] for line in lines if line.startswith(kind)}
                          for kind in ("set_fact", "when", "timeout")}
    # Ansible's linear: a worker for each host and task; ours: ansible-playbook itself
    assert len(pids["linear"]["set_fact"]) == 3 and len(pids["linear"]["when"]) == 3
    assert len(pids["labtool"]["set_fact"] | pids["labtool"]["when"]) == 1
    # a task timeout is a SIGALRM in the process that runs the task: a worker's, as in linear
    assert len(pids["labtool"]["timeout"]) == len(pids["linear"]["timeout"]) == 3
