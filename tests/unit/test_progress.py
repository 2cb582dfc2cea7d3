"""labtool progress's grading, on the raw facts recorded from a real local lab
(tests/fixtures/progress/record.sh says how each was made), and its renderings."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from labtool.progress.judge import judge
from labtool.progress.model import DIFFERS, DONE, NOT_STARTED, UNKNOWN, Walkthrough
from labtool.progress.page import board_html
from labtool.progress.serve import Board, parse_address
from labtool.progress.text import board_text, lab_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "progress"
NAMES = {"deployment": "dep01", "service": "mysvc", "rc": "my-nginx"}
KEYS = ["iptables", "cluster", "deployment", "service", "rc", "curl", "rc-replaces"]


def record(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def grade(rec: dict, w: Walkthrough = Walkthrough(), lab: str = "teach-a"):
    return judge(rec["facts"], w, lab=lab, unreachable=rec["unreachable"], read_at="2026-12-04T17:40:00+00:00")


def states(p) -> dict[str, str]:
    return {s.key: s.state for s in p.steps}


D, N, X, U = DONE, NOT_STARTED, DIFFERS, UNKNOWN


@pytest.mark.parametrize("fixture, expected", [
    ("cluster-only", [D, D, N, N, N, N, N]),
    ("dep01-one-replica", [D, D, X, N, N, N, N]),
    ("dep01", [D, D, D, N, N, N, N]),
    ("service-30002", [D, D, D, X, N, X, N]),
    ("rc-applied", [D, D, D, D, D, D, N]),
    ("rc-replaced", [D, D, D, D, D, D, D]),
    ("built", [D, D, D, D, D, D, N]),
    ("iptables-started", [X, D, D, D, D, D, N]),
])
def test_each_step_of_a_student_s_way_through_the_walkthrough(fixture, expected):
    assert states(grade(record(fixture))) == dict(zip(KEYS, expected))


def test_the_wrong_nodeport_is_named_with_the_walkthrough_s_value_and_fix():
    p = grade(record("service-30002"))
    (diff,) = p.step("service").differences
    assert diff.what == "mysvc: nodePort is 30002; the walkthrough's Service says 30001"
    assert "nodePort: 30001" in diff.fix
    (curl,) = p.step("curl").differences
    assert "connection refused" in curl.what and "mysvc's nodePort is 30002" in curl.what
    assert p.at == "3b. Service mysvc"


def test_one_replica_is_named():
    (diff,) = grade(record("dep01-one-replica")).step("deployment").differences
    assert diff.what == "dep01: 1 replica; the walkthrough asks for 2"
    assert diff.fix == "kubectl scale deployment dep01 --replicas=2"


def test_a_started_iptables_service_is_named_on_its_node():
    (diff,) = grade(record("iptables-started")).step("iptables").differences
    assert diff.what.startswith("iptables: netfilter-persistent is active on w1;")
    assert diff.fix == "on w1: systemctl disable --now netfilter-persistent"


def test_iptables_service_enabled_is_what_such_a_lab_asks_for():
    p = grade(record("built"), Walkthrough(iptables_service="enabled"))
    assert p.step("iptables").state == DIFFERS
    assert all("systemctl enable --now" in d.fix for d in p.step("iptables").differences)
    assert grade(record("iptables-started"), Walkthrough(iptables_service="enabled")).step("iptables").state == DIFFERS


def test_the_rc_replacing_a_pod_is_seen_from_the_pods_ages():
    step = grade(record("rc-replaced")).step("rc-replaces")
    assert step.state == DONE and "was started by the RC after its first pods" in step.note
    assert "kubectl delete pod" in grade(record("rc-applied")).step("rc-replaces").note


def test_an_unreachable_worker_is_said_and_the_rest_graded():
    p = grade(record("w2-unreachable"))
    assert list(p.unreachable) == ["w2"]
    assert p.step("deployment").state == DONE
    assert "read without w2" in p.step("iptables").note


def test_an_unreachable_control_plane_leaves_the_cluster_steps_unknown():
    rec = record("built")
    rec["unreachable"] = {"cp": "ssh: connect to host: No route to host"}
    p = grade(rec)
    assert [s.state for s in p.steps[1:]] == [UNKNOWN] * 6


# ------------------------------------------------------------------ done another way, or not

def _edit(rec: dict, kind: str, name: str, change) -> dict:
    rec = copy.deepcopy(rec)
    cp = rec["facts"]["nodes"]["cp"]["reads"]["cluster"]
    data = json.loads(cp["stdout"])
    for item in data["items"]:
        if item["kind"] == kind and item["metadata"]["name"] == name:
            change(item)
    data["items"] = [i for i in data["items"] if i.get("kind")]
    cp["stdout"] = json.dumps(data)
    return rec


def _set_image(image):
    def change(item):
        item["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return change


def test_another_nginx_image_counts_as_done_another_way():
    p = grade(_edit(record("rc-replaced"), "Deployment", "dep01", _set_image("nginx:1.25")))
    assert p.step("deployment").state == DONE
    assert p.step("deployment").note == "done another way: image nginx:1.25"


def test_an_image_that_is_not_nginx_differs():
    p = grade(_edit(record("rc-replaced"), "ReplicationController", "my-nginx", _set_image("httpd:2.4")))
    (diff,) = p.step("rc").differences
    assert diff.what.startswith("my-nginx: image is httpd:2.4; the walkthrough runs nginx")


def test_other_labels_that_the_service_still_selects_count_as_done():
    def relabel(item):
        item["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "front"}
    p = grade(_edit(record("rc-replaced"), "Deployment", "dep01", relabel))
    assert p.step("service").state == DONE


def test_a_service_selecting_the_rc_s_pods_differs():
    def select(item):
        item["spec"]["selector"] = {"app": "nginx"}
    (diff,) = grade(_edit(record("rc-replaced"), "Service", "mysvc", select)).step("service").differences
    assert diff.what == "mysvc: selects app=nginx, not dep01's pods (app=web)"


def test_a_clusterip_service_and_another_port_differ():
    def change(item):
        item["spec"]["type"] = "ClusterIP"
        item["spec"]["ports"][0]["port"] = 80
    whats = [d.what for d in grade(_edit(record("rc-replaced"), "Service", "mysvc", change)).step("service").differences]
    assert "mysvc: type is ClusterIP; the walkthrough's Service is type: NodePort" in whats
    assert "mysvc: port is 80; the walkthrough's Service says 8080" in whats


def test_the_lab_s_own_values_are_the_walkthrough_s():
    p = grade(record("rc-replaced"), Walkthrough(node_port=30002))
    assert p.step("service").differences[0].what == "mysvc: nodePort is 30001; the walkthrough's Service says 30002"


# ------------------------------------------------------------------ renderings

def test_one_lab_s_text_names_each_difference_and_its_fix():
    out = lab_text(grade(record("service-30002")))
    assert "done differently  3b. Service mysvc" in out
    assert "mysvc: nodePort is 30002; the walkthrough's Service says 30001" in out
    assert "fix: kubectl edit service mysvc: set nodePort: 30001" in out
    assert "3 of 7 steps done; next: 3b. Service mysvc" in out


def test_the_board_has_a_row_per_lab_a_column_per_step_and_failures_underneath():
    a, b = grade(record("rc-replaced"), lab="alice"), grade(record("service-30002"), lab="bob")
    out = board_text("wednesday", [a, b], NAMES)
    lines = out.splitlines()
    assert lines[1].split() == ["lab", "1", "iptables", "2", "cluster", "3a", "dep01", "3b", "mysvc",
                                "3c", "my-nginx", "4a", "curl", "4b", "replace", "read"]
    assert lines[3].split()[:8] == ["alice"] + ["done"] * 7
    assert lines[4].split()[:8] == ["bob", "done", "done", "done", "DIFFERS", "-", "DIFFERS", "-"]
    assert "bob: mysvc: nodePort is 30002; the walkthrough's Service says 30001 (fix: kubectl edit service mysvc: set nodePort: 30001)" in lines


def test_the_page_is_self_contained_and_its_cells_carry_lab_step_and_state():
    page = board_html("wednesday", [grade(record("cluster-only"), lab="alice"),
                                    grade(record("service-30002"), lab="bob")], NAMES, refresh=15)
    # nothing to run and nothing to fetch: no script, no linked file, no URL in the style
    assert not [t for t in ("<script", " src=", " href=", "url(", "@import") if t in page]
    assert '<meta http-equiv="refresh" content="15">' in page
    assert 'data-lab="bob" data-step="service" data-state="done differently"' in page
    assert 'data-lab="alice" data-step="deployment" data-state="not started"' in page
    assert "mysvc: nodePort is 30002; the walkthrough&#x27;s Service says 30001" in page


def test_an_unreachable_lab_keeps_its_last_good_read_time_and_says_so():
    from labtool.progress.model import Progress

    board = Board("c", ["alice", "bob"], NAMES, 10)
    board.update({"alice": grade(record("rc-replaced"), lab="alice"), "bob": grade(record("dep01"), lab="bob")})
    board.update({"alice": grade(record("rc-replaced"), lab="alice"),
                  "bob": Progress(lab="bob", read_at="2026-12-04T17:41:00+00:00", error="unreachable: cp")})
    bob = {p.lab: p for p in board.progresses()}["bob"]
    assert bob.read_at == "2026-12-04T17:40:00+00:00"
    page = board.html()
    assert 'data-lab="bob" data-step="deployment" data-state="unreachable"' in page
    assert "17:40:00 UTC (unreachable)" in page
    assert 'data-lab="alice" data-step="rc-replaces" data-state="done"' in page


@pytest.mark.parametrize("text, expected", [("8000", ("127.0.0.1", 8000)),
                                            ("0.0.0.0:8080", ("0.0.0.0", 8080)),
                                            ("172.25.19.1:9000", ("172.25.19.1", 9000))])
def test_the_serve_address(text, expected):
    assert parse_address(text) == expected


def test_a_bad_serve_address_is_refused():
    with pytest.raises(ValueError):
        parse_address("localhost:http")


def test_a_lab_none_of_whose_nodes_answered_is_unreachable_as_a_whole():
    from types import SimpleNamespace

    from labtool.progress.gather import grade as grade_read

    lab = SimpleNamespace(name="bob", nodes=[SimpleNamespace(name=n) for n in ("cp", "w1", "w2")])
    msg = ('Task failed: Data could not be sent to remote host "172.25.19.50". Make sure this host can be '
           'reached over ssh: ssh: connect to host 172.25.19.50 port 22: No route to host')
    result = SimpleNamespace(failures=[SimpleNamespace(host=n, unreachable=True, message=msg) for n in ("cp", "w1", "w2")],
                             unreachable_hosts=["cp", "w1", "w2"], status="failed")
    p = grade_read(lab, {}, result, "2026-12-04T17:48:00+00:00")
    assert p.error == "unreachable: cp, w1, w2 (connect to host 172.25.19.50 port 22: No route to host)"
    assert p.read_at == ""  # no good read: the board keeps the last one
    assert "bob" in board_text("c", [p], NAMES) and "could not be read (never read)" in board_text("c", [p], NAMES)
