"""A task delegated to a node (delegate_to) that fails or cannot reach it there is that
node's failure: the event data below is what ansible-core 2.19 puts in ansible-runner's
events (measured with a delegated task to a dead address and to a failing local host)."""

from __future__ import annotations

import io

from rich.console import Console

from labtool.events import EventCollector, delegated_to
from labtool.report import print_result

ADDRESSES = {"cp": "cp", "w1": "w1", "w2": "w2",
             "10.77.0.10": "cp", "10.77.0.11": "w1", "10.77.0.12": "w2"}


def _unreachable(host: str, address: str, task: str = "List the nodes the control plane knows") -> dict:
    return {"event": "runner_on_unreachable", "event_data": {
        "host": host, "remote_addr": host, "task": task, "role": "workers",
        "res": {"unreachable": True, "changed": False, "_ansible_no_log": False,
                "msg": "Task failed: Failed to connect to the host via ssh: ssh: connect to host "
                       f"{address} port 22: No route to host"}}}


def _stats(**kinds) -> dict:
    return {"event": "playbook_on_stats", "event_data": {
        "ok": {"w1": 5, "w2": 5}, "changed": {}, "failures": {}, "skipped": {}, "ignored": {},
        "rescued": {}, "processed": {"w1": 1, "w2": 1}, **kinds}}


def test_unreachable_delegated_task_is_the_control_planes():
    collector = EventCollector("up", ADDRESSES)
    collector.feed(_unreachable("w1", "10.77.0.10"))
    collector.feed(_unreachable("w2", "10.77.0.10"))
    collector.feed(_stats(dark={"w1": 1, "w2": 1}))
    result = collector.result
    assert result.unreachable_hosts == ["cp"]
    assert [(f.host, f.waiting) for f in result.failures] == [("cp", ["w1", "w2"])]
    assert result.waiting_hosts == {"w1": "cp", "w2": "cp"}
    out = io.StringIO()
    print_result(result, Console(file=out, width=200))
    text = out.getvalue()
    assert "UNREACHABLE cp: workers : List the nodes the control plane knows" in text
    assert "UNREACHABLE w1" not in text and "UNREACHABLE w2" not in text
    assert "w1, w2: waiting on cp" in text


def test_failed_delegated_task_names_the_delegated_node():
    res = {"rc": 1, "msg": "non-zero return code", "stderr": "boom",
           "_ansible_delegated_vars": {"ansible_host": "10.77.0.10", "ansible_port": None,
                                       "ansible_user": None, "ansible_connection": "ssh"}}
    collector = EventCollector("verify", ADDRESSES)
    collector.feed({"event": "runner_on_failed", "event_data": {
        "host": "w2", "task": "Read the cluster's objects from the control plane", "role": "verify", "res": res}})
    collector.feed(_stats(failures={"w2": 1}))
    assert collector.result.failed_hosts == ["cp"]
    assert collector.result.hosts["w2"].failed == 0
    assert collector.result.failures[0].host == "cp"


def test_own_failure_stays_the_nodes():
    collector = EventCollector("up", ADDRESSES)
    collector.feed(_unreachable("w2", "10.77.0.12", task="Gathering Facts"))
    collector.feed(_stats(dark={"w2": 1}))
    assert collector.result.unreachable_hosts == ["w2"]
    assert collector.result.failures[0].waiting == []


def test_delegated_to_without_addresses_or_delegation():
    assert delegated_to({"unreachable": True, "msg": "connect to host 10.77.0.10 port 22"}, {}) == ""
    assert delegated_to({"rc": 1}, ADDRESSES) == ""
    assert delegated_to({"unreachable": True, "msg": "Connection timed out during banner exchange\r\n"
                         "Connection to 10.77.0.11 port 22 timed out"}, ADDRESSES) == "w1"
    assert delegated_to({"unreachable": True, "msg": 'Data could not be sent to remote host "10.77.0.10". '
                         "Make sure this host can be reached over ssh: "}, ADDRESSES) == "cp"


def test_live_progress_names_the_delegated_node():
    from labtool.class_report import ClassProgress
    from labtool.report import Progress

    out = io.StringIO()
    progress = Progress(Console(file=out, width=200), live=False, addresses=ADDRESSES)
    progress(_unreachable("w1", "10.77.0.10"))
    assert "(delegated from w1, which waits on cp)" in out.getvalue()
    out = io.StringIO()
    classes = ClassProgress({"alice": 3}, Console(file=out, width=200), live=False,
                            addresses={"alice": ADDRESSES})
    classes("alice", _unreachable("w1", "10.77.0.10"))
    classes("alice", _unreachable("w2", "10.77.0.10"))
    assert out.getvalue().count("[alice] cp: unreachable at") == 1
    assert "[alice] w1" not in out.getvalue()
