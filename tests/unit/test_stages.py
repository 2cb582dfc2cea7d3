"""labtool up --until: the rule (labtool.flow) and what bringing a lab back says it removed."""

from __future__ import annotations

import json
from types import SimpleNamespace

from labtool import flow, stages


class _Run:
    def __init__(self):
        self.calls = []

    def __call__(self, playbook, **options):
        self.calls.append((playbook, options))
        return SimpleNamespace(status="successful", hosts={"cp": SimpleNamespace(changed=1, unreachable=0, failed=0)},
                               verify={}, failed_hosts=[], unreachable_hosts=[], failed_checks=[], rc=0,
                               canceled=False)


LAB = SimpleNamespace(nodes=[1, 2, 3])


def test_until_cluster_brings_the_lab_back_then_runs_the_stage_s_roles_only_and_no_verify():
    run = _Run()
    outcome = flow.up_then_verify(LAB, run, flow.UpRequest(until="cluster"))
    assert [c[0] for c in run.calls] == ["stage", "up"]
    assert run.calls[0][1]["extravars"] == {"stage_until": "cluster"}
    assert run.calls[1][1]["tags"] == stages.TAGS["cluster"]
    assert "control_plane" in run.calls[1][1]["tags"] and "workloads" not in run.calls[1][1]["tags"]
    assert outcome.summary == "ok, up to stage cluster"


def test_until_nodes_runs_no_cluster_role():
    run = _Run()
    flow.up_then_verify(LAB, run, flow.UpRequest(until="nodes"))
    assert run.calls[0][1]["extravars"] == {"stage_until": "nodes"}
    assert not {"control_plane", "workers", "pod_network", "workloads"} & set(run.calls[1][1]["tags"].split(","))


def test_everything_is_today_s_up_then_verify():
    run = _Run()
    flow.up_then_verify(LAB, run, flow.UpRequest())
    assert [c[0] for c in run.calls] == ["up", "verify"]
    assert run.calls[0][1]["tags"] is None


_SHOW = ("Id=netfilter-persistent.service\nLoadState=loaded\nActiveState={a}\nUnitFileState={e}\n\n"
         "Id=iptables.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n")


def test_what_was_removed_is_said_lab_by_lab(tmp_path):
    (tmp_path / "stage.json").write_text(json.dumps({
        "until": "cluster", "cluster": False,
        "objects": ['deployment.apps "dep01" deleted', 'service "mysvc" deleted'],
        "iptables": {"cp": _SHOW.format(a="inactive", e="disabled"), "w1": _SHOW.format(a="active", e="enabled")}}))
    assert stages.removed_text(tmp_path, "alice").splitlines() == [
        "alice: back to stage cluster: removed deployment.apps dep01 deleted",
        "alice: back to stage cluster: removed service mysvc deleted",
        "alice: back to stage cluster: removed w1: netfilter-persistent was running or enabled; "
        "stopped and disabled again (the iptables step's starting state)"]


def test_nothing_removed_is_said_too(tmp_path):
    (tmp_path / "stage.json").write_text(json.dumps({"until": "nodes", "cluster": False, "objects": [], "iptables": {}}))
    assert stages.removed_text(tmp_path, "bob") == "bob: back to stage nodes: nothing to remove"
    assert stages.removed_text(tmp_path / "none", "bob") == ""
