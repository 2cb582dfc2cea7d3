"""`labtool explain`: the explanation built from facts recorded on the real local lab
(Kubernetes 1.20.2, tests/record_explain.py), its text, JSON, SVG (rendered to PNG by a
real renderer) and the command's exit codes."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from dataclasses import asdict

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, GOOD_LAB
from labtool import commands as cli
from labtool.explain import gather, picture, text
from labtool.explain.build import LabNode, build
from labtool.commands.explain import exit_code
from labtool.events import HostCounts, RunResult, TaskFailure


def load(name: str):
    record = json.loads((FIXTURES / f"explain-1.20{name}.json").read_text())
    lab = record["lab"]
    ex = build(record["facts"], lab_name=lab["name"], nodes=[LabNode(**n) for n in lab["nodes"]],
               deployment=lab["deployment"], replication_controller=lab["replication_controller"],
               unreachable=lab["unreachable"])
    return record, ex


@pytest.fixture(scope="module")
def probed():
    return load("-probe")


def _svc_json(record) -> dict:
    item = next(r for r in record["facts"]["kubectl"] if r["item"]["key"] == "service")
    return json.loads(item["stdout"])


def _node_ips(record) -> dict[str, str]:
    item = next(r for r in record["facts"]["kubectl"] if r["item"]["key"] == "nodes")
    return {n["metadata"]["name"]: next(a["address"] for a in n["status"]["addresses"]
                                        if a["type"] == "InternalIP")
            for n in json.loads(item["stdout"])["items"]}


def test_the_three_ports_with_the_labs_values(probed):
    record, ex = probed
    svc = _svc_json(record)
    assert ex.problems == []
    assert (ex.service.cluster_ip, ex.service.port, ex.service.node_port, ex.service.target_port) == \
        (svc["spec"]["clusterIP"], 8080, 30001, 80)
    ports = {p.name: p for p in ex.ports}
    assert ports["port"].number == 8080 and svc["spec"]["clusterIP"] in ports["port"].where
    assert ports["nodePort"].number == 30001
    assert all(ip in ports["nodePort"].where for ip in _node_ips(record).values())
    assert ports["targetPort"].number == 80


def test_endpoints_are_the_deployments_pods_and_the_rcs_pods_are_not(probed):
    _, ex = probed
    assert len(ex.endpoints) == 2
    for e in ex.endpoints:
        assert e.port == 80 and e.pod.startswith("dep01-") and e.in_deployment
        assert e.controller == "Deployment/dep01" and e.node in ("w1", "w2")
    assert len(ex.not_endpoints) == 2
    assert all(p.controller == "ReplicationController/my-nginx" for p in ex.not_endpoints)
    assert "app=web" in ex.not_endpoints_why and "app=nginx" in ex.not_endpoints_why
    assert {p.ip for p in ex.not_endpoints}.isdisjoint({e.ip for e in ex.endpoints})


def test_every_node_has_both_paths_ending_on_the_endpoints(probed):
    record, ex = probed
    ips = _node_ips(record)
    endpoints = {f"{e.ip}:{e.port}" for e in ex.endpoints}
    for node in ex.nodes:
        paths = {p.kind: p for p in node.paths}
        assert paths["nodeport"].destination == f"{ips[node.name]}:30001"
        assert paths["nodeport"].chains[:3] == ["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS"]
        assert paths["cluster-ip"].destination == f"{ex.service.cluster_ip}:8080"
        assert paths["cluster-ip"].entry == "OUTPUT"
        for p in node.paths:
            assert {b.dnat_to for b in p.branches} == endpoints
            assert all(b.is_endpoint and b.pod.startswith("dep01-") for b in p.branches)
            assert sum(b.probability for b in p.branches) == pytest.approx(1.0)
        assert node.masquerade.mark == "0x4000/0x4000"


def test_kube_proxy_mode_and_its_listeners(probed):
    _, ex = probed
    kp = ex.kube_proxy
    assert kp.mode == "iptables" and kp.version == "v1.20.2"
    assert kp.dnat_to_pods and kp.random_port_listeners == []
    assert "userspace" in kp.walkthrough_says and "carries no traffic" in kp.lab_does
    for node in ex.nodes:
        meanings = {(lst.port, lst.meaning) for lst in node.kube_proxy_listeners}
        # 1.20 holds the nodePort open (a reservation); metrics and healthz as configured
        assert meanings == {(10249, "metrics"), (10256, "healthz"), (30001, "nodeport-reservation")}


def test_iptables_service_stopped_while_the_rules_live(probed):
    _, ex = probed
    for node in ex.nodes:
        assert (node.iptables_service.unit, node.iptables_service.active,
                node.iptables_service.enabled) == ("netfilter-persistent.service", "inactive", "disabled")
        assert node.kube_rules > 10


def test_the_probe_counts_every_request_once(probed):
    _, ex = probed
    pr = ex.probe
    assert pr.requests == 20
    assert pr.sent == 4 * 20 and pr.answered == pr.sent  # 3 NodePorts + the ClusterIP from cp
    # one new connection per request, so one DNAT per request
    assert pr.total_packets == pr.sent
    assert {e.pod[:6] for e in pr.endpoints} == {"dep01-"} and len(pr.endpoints) == 2
    assert all(e.packets > 0 for e in pr.endpoints)
    cp = next(n for n in pr.nodes if n.node == "cp")
    assert cp.entry_packets == {"nodeport": 20, "cluster-ip": 20}
    for n in pr.nodes:
        assert sum(n.endpoints.values()) == n.nodeport_requests + n.cluster_ip_requests
        assert not n.counters_reset


def test_the_rc_lesson(probed):
    _, ex = probed
    rc = ex.rc
    assert (rc.desired, rc.current, rc.ready) == (2, 2, 2)
    assert all(p.owner == "ReplicationController/my-nginx" for p in rc.pods) and len(rc.pods) == 2
    assert "--cascade=orphan" in rc.cascade_says and "--cascade=false" in rc.cascade_says


def test_without_probe_there_is_no_probe():
    _, ex = load("")
    assert ex.probe is None and ex.problems == []


@pytest.mark.parametrize("name,kind,code,line", [
    ("-no-service", "no-service", 3, 'no Service nosuch in namespace default: Error from server (NotFound)'),
    ("-no-endpoints", "no-endpoints", 3, "Service ex-empty has no ready endpoints"),
    ("-unreachable", "unreachable", 4, "node w2 (172.24.78.99) unreachable: "),
])
def test_a_lab_that_is_not_up_gives_one_line_per_missing_piece(name, kind, code, line):
    _, ex = load(name)
    assert [p.kind for p in ex.problems] == [kind]
    assert ex.problems[0].message.startswith(line) and "\n" not in ex.problems[0].message
    assert exit_code(ex, None) == code


def test_an_unreachable_control_plane_leaves_the_workers_nat_tables():
    _, ex = load("-cp-unreachable")
    assert [(p.kind, p.node) for p in ex.problems] == [("unreachable", "cp")]
    assert "No route to host" in ex.problems[0].message  # the reason, not "All items completed"
    assert ex.service is None and ex.probe is None
    assert {n.name: (n.reached, n.kube_rules > 0) for n in ex.nodes} == \
        {"cp": (False, False), "w1": (True, True), "w2": (True, True)}
    assert exit_code(ex, None) == 4


def test_unreachable_node_keeps_the_others():
    _, ex = load("-unreachable")
    reached = {n.name: n.reached for n in ex.nodes}
    assert reached == {"cp": True, "w1": True, "w2": False}
    assert all(len(n.paths) == 2 for n in ex.nodes if n.reached)


def _assert_names_every_address(out, record, ex, endpoint="{}:80"):
    """Every node's IP with the nodePort, the ClusterIP with the port, each endpoint's pod IP."""
    for ip in _node_ips(record).values():
        assert f"{ip}:30001" in out
    assert f"{ex.service.cluster_ip}:8080" in out
    for e in ex.endpoints:
        assert endpoint.format(e.ip) in out


def test_plain_text_names_the_real_values(probed):
    record, ex = probed
    out = text.text(ex)
    _assert_names_every_address(out, record, ex, endpoint="DNAT {}:80")
    for e in ex.endpoints:
        assert e.pod in out
    assert "iptables mode" in out and "netfilter-persistent.service  inactive" in out
    assert "--cascade=orphan" in out
    assert all(len(line) < 200 for line in out.splitlines())
    # the workers carry the same chains as cp: said once, not three times
    assert "w1: the same rules as cp, for " in out and "w2: the same rules as cp, for " in out
    assert out.count("-> KUBE-NODEPORTS") == 1


def test_json_is_the_whole_model(probed):
    _, ex = probed
    data = json.loads(json.dumps(ex.to_dict()))
    assert data == asdict(ex)
    assert set(data) >= {"service", "ports", "endpoints", "nodes", "kube_proxy", "rc", "probe", "problems"}


def test_svg_renders_to_png_with_the_addresses(probed, tmp_path):
    record, ex = probed
    doc = picture.svg(ex)
    _assert_names_every_address(doc, record, ex)
    renderer = shutil.which("rsvg-convert")
    assert renderer, "rsvg-convert is missing: apt-get install librsvg2-bin (bootstrap.sh does)"
    (tmp_path / "x.svg").write_text(doc)
    subprocess.run([renderer, str(tmp_path / "x.svg"), "-o", str(tmp_path / "x.png")], check=True)
    png = (tmp_path / "x.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 1000 and height > 600  # three lanes of two paths
    assert len(png) > 20000  # not a blank page


def test_html_is_self_contained(probed):
    _, ex = probed
    page = picture.html(ex, text.text(ex))
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


# --------------------------------------------------------------------------- the command


def _fake_gather(record, status="successful", unreachable=()):
    def fake(lab, *, service=None, probe=0, verbosity=0, on_event=None):
        result = RunResult(playbook="explain", status=status, rc=0,
                           hosts={n: HostCounts(ok=1) for n in ("cp", "w1", "w2")})
        for host in unreachable:
            result.hosts[host].unreachable = 1
            result.failures.append(TaskFailure(host, "t", "", "ssh: no route", unreachable=True))
        return gather.Gathered(facts=record["facts"], result=result)
    return fake


def test_command_plain_json_svg(monkeypatch, write_lab, tmp_path, probed):
    record, _ = probed
    monkeypatch.setattr(gather, "gather", _fake_gather(record))
    path = write_lab(GOOD_LAB)
    svg = tmp_path / "p.svg"
    res = CliRunner().invoke(cli.main, ["explain", "-f", str(path), "--svg", str(svg)])
    assert res.exit_code == 0, res.output
    assert "1. The three ports of Service mysvc" in res.output
    assert svg.read_text().startswith("<svg")
    res = CliRunner().invoke(cli.main, ["explain", "-f", str(path), "--json"])
    assert res.exit_code == 0
    assert json.loads(res.output)["service"]["node_port"] == 30001


def test_command_exit_codes_and_one_line_errors(monkeypatch, write_lab):
    path = write_lab(GOOD_LAB)
    record = json.loads((FIXTURES / "explain-1.20-no-service.json").read_text())
    monkeypatch.setattr(gather, "gather", _fake_gather(record))
    res = CliRunner().invoke(cli.main, ["explain", "-f", str(path)])
    assert res.exit_code == 3
    errors = [line for line in res.stderr.splitlines() if line.startswith("labtool: explain:")]
    assert errors == ['labtool: explain: cp: no Service nosuch in namespace default: Error from '
                      'server (NotFound): services "nosuch" not found']


def test_help_lists_explain():
    res = CliRunner().invoke(cli.main, ["explain", "--help"])
    assert res.exit_code == 0 and "--probe" in res.output and "--svg" in res.output


def test_the_128_layout_builds_the_same_lesson():
    """The recorded 1.28 nat table of w1 (tests/fixtures/kube-proxy-1.28-nat.txt) with the
    objects its README describes: the path goes through KUBE-EXT-… and still ends on the pods."""
    nat = (FIXTURES / "kube-proxy-1.28-nat.txt").read_text()
    svc = {"metadata": {"name": "mysvc", "namespace": "default"},
           "spec": {"type": "NodePort", "clusterIP": "10.97.107.29", "selector": {"app": "web"},
                    "ports": [{"port": 8080, "nodePort": 30001, "targetPort": 80, "protocol": "TCP"}]}}
    eps = {"subsets": [{"ports": [{"port": 80}], "addresses": [
        {"ip": "10.244.1.3", "nodeName": "w1", "targetRef": {"kind": "Pod", "name": "dep01-a"}},
        {"ip": "10.244.2.3", "nodeName": "w2", "targetRef": {"kind": "Pod", "name": "dep01-b"}}]}]}
    facts = {"service": "mysvc", "kubectl": {
        "service": {"rc": 0, "stdout": json.dumps(svc)},
        "endpoints": {"rc": 0, "stdout": json.dumps(eps)},
        "kube_proxy_config": {"rc": 0, "stdout": json.dumps({"data": {"config.conf": "mode: \"\"\n"}})}},
        "nodes": {"w1": {"iptables_save": {"rc": 0, "stdout": nat}}}}
    ex = build(facts, lab_name="x", nodes=[LabNode("w1", "172.25.33.11", "172.25.33.11", "worker")],
               deployment="dep01", replication_controller="my-nginx")
    (node,) = ex.nodes
    nodeport = next(p for p in node.paths if p.kind == "nodeport")
    assert nodeport.chains[3] == "KUBE-EXT-BM6F4AVTDKG47F3K"
    assert {b.pod for b in nodeport.branches} == {"dep01-a", "dep01-b"}
    assert ex.kube_proxy.configured_mode == "" and ex.kube_proxy.mode == "iptables"
    assert "empty means iptables" in text.text(ex)
    assert "marks the packet for masquerade (KUBE-MARK-MASQ)" in text.text(ex)


def test_a_kube_proxy_listener_on_another_port_is_pointed_out():
    """The walkthrough's userspace mode would show kube-proxy on a random port: the recorded
    ss output of cp with such a line added."""
    record = json.loads((FIXTURES / "explain-1.20.json").read_text())
    ss = record["facts"]["nodes"]["cp"]["ss"]
    ss["stdout"] += '\nLISTEN 0 4096 0.0.0.0:41789 0.0.0.0:* users:(("kube-proxy",pid=2085,fd=20))'
    lab = record["lab"]
    ex = build(record["facts"], lab_name=lab["name"], nodes=[LabNode(**n) for n in lab["nodes"]],
               deployment=lab["deployment"], replication_controller=lab["replication_controller"])
    assert ex.kube_proxy.random_port_listeners == ["cp 0.0.0.0:41789"]
    out = text.text(ex)
    assert "kube-proxy also listens on cp 0.0.0.0:41789" in out and "No random port" not in out


def test_a_failed_gathering_run_exits_1_with_its_failure(monkeypatch, write_lab):
    def fake(lab, *, service=None, probe=0, verbosity=0, on_event=None):
        result = RunResult(playbook="explain", status="failed", rc=2,
                           hosts={"cp": HostCounts(failed=1)})
        result.failures.append(TaskFailure("cp", "Hand the facts to labtool (labtool_explain)", "",
                                           "template error"))
        return gather.Gathered(facts={}, result=result)
    monkeypatch.setattr(gather, "gather", fake)
    res = CliRunner().invoke(cli.main, ["explain", "-f", str(write_lab(GOOD_LAB))])
    assert res.exit_code == 1
    assert "labtool: explain: cp: Hand the facts to labtool (labtool_explain): template error" in res.stderr
