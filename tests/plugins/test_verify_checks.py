"""The verify role's new checks fail on what a user would see broken: a Deployment short of
replicas, a kube-system pod in ErrImagePull or CrashLoopBackOff, no CoreDNS where it was
installed, the iptables service running although the walkthrough stops it, no kube-proxy
rules. The judgements are the role's filter plugin, evaluated here on kubectl's JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import ansible_module  # noqa: F401  (puts collections/ on sys.path: the plugin imports labtool.lab's filter)

_PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/verify_checks.py"
_spec = importlib.util.spec_from_file_location("verify_checks", _PLUGIN)
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)


def pod(name, phase="Running", ready=True, waiting="", labels=None, init_waiting=""):
    container = {"name": name.split("-")[0], "ready": ready,
                 "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}}}
    status = {"phase": phase, "containerStatuses": [container],
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if init_waiting:
        status["initContainerStatuses"] = [{"name": "init", "ready": False,
                                            "state": {"waiting": {"reason": init_waiting}}}]
    return {"metadata": {"name": name, "labels": labels or {}}, "status": status}


def listing(*pods):
    return {"items": list(pods)}


HEALTHY = [pod("etcd-cp"), pod("kube-apiserver-cp"), pod("kube-proxy-abcde"),
           pod("kube-scheduler-cp")]
COREDNS = pod("coredns-74ff55c5b-x2x9q", labels={"k8s-app": "kube-dns"})


def test_healthy_kube_system_passes():
    result = checks.verify_kube_system(listing(*HEALTHY))
    assert result == {"ok": True, "settled": True, "detail": "4 pods Running and ready"}


@pytest.mark.parametrize("broken,words", [
    (pod("kube-proxy-zzzzz", phase="Pending", ready=False, waiting="ErrImagePull"),
     "kube-proxy-zzzzz: kube ErrImagePull"),
    (pod("kube-proxy-zzzzz", ready=False, waiting="CrashLoopBackOff"), "CrashLoopBackOff"),
    (pod("kube-flannel-ds-q", phase="Pending", ready=False, init_waiting="ImagePullBackOff"),
     "init ImagePullBackOff"),
])
def test_a_pod_that_waiting_cannot_mend_fails_at_once(broken, words):
    result = checks.verify_kube_system(listing(*HEALTHY, broken))
    assert result["ok"] is False and result["settled"] is True
    assert words in result["detail"] and result["detail"].startswith("1 of 5 pods unhealthy")


@pytest.mark.parametrize("starting", [pod("kube-scheduler-cp", ready=False),
                                      pod("coredns-x", phase="Pending", ready=False)])
def test_a_starting_pod_fails_but_is_worth_waiting_for(starting):
    result = checks.verify_kube_system(listing(*HEALTHY[:3], starting))
    assert result["ok"] is False and result["settled"] is False


def test_no_pod_at_all_fails():
    assert checks.verify_kube_system({"items": []})["ok"] is False


def test_coredns_must_run_where_it_was_installed():
    assert checks.verify_coredns(listing(*HEALTHY, COREDNS))["ok"] is True
    missing = checks.verify_coredns(listing(*HEALTHY))
    assert missing == {"ok": False, "detail": "no CoreDNS pod (k8s-app=kube-dns) in kube-system"}
    pulling = pod("coredns-74ff55c5b-x2x9q", phase="Pending", ready=False, waiting="ErrImagePull",
                  labels={"k8s-app": "kube-dns"})
    assert checks.verify_coredns(listing(*HEALTHY, pulling))["ok"] is False


def deployment(spec_replicas, available, updated=None):
    return {"spec": {"replicas": spec_replicas},
            "status": {"availableReplicas": available,
                       "updatedReplicas": spec_replicas if updated is None else updated}}


def test_deployment_with_every_replica_available_passes():
    result = checks.verify_deployment(deployment(2, 2), "2")
    assert result == {"ok": True, "detail": "desired=2 updated=2 available=2 (expected 2)"}


@pytest.mark.parametrize("obj", [deployment(2, 1), deployment(2, 0), deployment(1, 1),
                                 deployment(2, 2, updated=1), {"spec": {"replicas": 2}, "status": {}},
                                 {}])
def test_deployment_short_of_replicas_fails(obj):
    assert checks.verify_deployment(obj, 2)["ok"] is False


NAT = ["*nat", ":KUBE-SERVICES - [0:0]", "-A PREROUTING -j KUBE-SERVICES",
       "-A KUBE-NODEPORTS -p tcp -m tcp --dport 30001 -j KUBE-SVC-ABC",
       "-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -j KUBE-SVC-NPX"]


def show(active, load="loaded"):
    return f"LoadState={load}\nActiveState={active}\n"


@pytest.mark.parametrize("wanted,active", [("stopped", "inactive"), ("stopped", "failed"),
                                           ("enabled", "active")])
def test_iptables_service_in_the_state_the_lab_asks_for_passes(wanted, active):
    result = checks.verify_iptables_service(show(active), "netfilter-persistent", wanted, NAT)
    assert result["ok"] is True
    assert result["detail"] == (f"netfilter-persistent {active} (the lab asks for {wanted}); "
                                "kube-proxy's rules: 3 KUBE-* rules in nat"
                                " (in KUBE-* chains or jumping to one)")


@pytest.mark.parametrize("wanted,unit,nat", [
    ("stopped", show("active"), NAT),             # someone started the service
    ("enabled", show("inactive"), NAT),           # iptables_service: enabled, yet stopped
    ("stopped", show("inactive", "not-found"), NAT),  # not installed at all
    ("stopped", show("inactive"), NAT[:3]),       # service stopped, but no kube-proxy rules
])
def test_iptables_service_or_kube_proxy_rules_wrong_fails(wanted, unit, nat):
    assert checks.verify_iptables_service(unit, "netfilter-persistent", wanted, nat)["ok"] is False


# ------------------------------------------------------------ the rows from the one-call reads

def test_kubectl_age_column():
    assert [checks.human_duration(s) for s in (-5, -1, 0, 119, 120, 300, 301, 600, 10799,
                                               10800, 3 * 3600 + 60, 47 * 3600, 3 * 86400 + 3600,
                                               30 * 86400, 3 * 365 * 86400 + 86400)] == [
        "<invalid>", "0s", "0s", "119s", "2m", "5m", "5m1s", "10m", "179m",
        "3h", "3h1m", "47h", "3d1h", "30d", "3y1d"]


SVC_JSON = {"kind": "Service", "metadata": {"name": "mysvc", "namespace": "default",
                                            "creationTimestamp": "2021-01-20T10:00:00Z"},
            "spec": {"type": "NodePort", "clusterIP": "10.107.14.71",
                     "ports": [{"port": 8080, "nodePort": 30001, "protocol": "TCP"}]}}
NOW = 1611136800.0 + 300  # five minutes after the Service was made


def test_svc_line_is_what_kubectl_get_svc_prints():
    assert checks.svc_line(SVC_JSON, NOW) == "mysvc NodePort 10.107.14.71 <none> 8080:30001/TCP 5m"
    plain = {**SVC_JSON, "spec": {"clusterIP": "10.96.0.10", "externalIPs": ["192.0.2.1"],
                                  "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}}
    assert checks.svc_line(plain, NOW) == "mysvc ClusterIP 10.96.0.10 192.0.2.1 53/UDP,53/TCP 5m"


def read(*items, rc=0, stderr=""):
    return {"rc": rc, "stdout": json.dumps({"kind": "List", "items": list(items)}) if rc == 0 else "",
            "stderr": stderr}


CLUSTER_ARGS = dict(node="cp", namespace="default", service={"name": "mysvc", "port": 8080, "node_port": 30001},
                    deployment={"name": "dep01", "replicas": 2},
                    replication_controller={"name": "my-nginx", "replicas": 2, "app_label": "nginx"},
                    coredns=True, now=NOW)


def test_service_ports_needs_the_walkthroughs_port_pair_in_the_right_namespace():
    rows = {r["check"]: r for r in checks.verify_cluster_checks(read(SVC_JSON), **CLUSTER_ARGS)}
    assert rows["service-ports"] == {"check": "service-ports", "node": "cp", "ok": True,
                                     "detail": "mysvc NodePort 10.107.14.71 <none> 8080:30001/TCP 5m"}
    elsewhere = {**SVC_JSON, "metadata": {**SVC_JSON["metadata"], "namespace": "other"}}
    rows = {r["check"]: r for r in checks.verify_cluster_checks(read(elsewhere), **CLUSTER_ARGS)}
    assert rows["service-ports"]["ok"] is False
    other_port = {**SVC_JSON, "spec": {**SVC_JSON["spec"], "ports": [{"port": 8080, "nodePort": 30002,
                                                                      "protocol": "TCP"}]}}
    rows = {r["check"]: r for r in checks.verify_cluster_checks(read(other_port), **CLUSTER_ARGS)}
    assert rows["service-ports"]["ok"] is False and "8080:30002/TCP" in rows["service-ports"]["detail"]


def test_a_failed_cluster_read_fails_every_cluster_row_with_kubectls_words():
    rows = checks.verify_cluster_checks(read(rc=1, stderr="Unable to connect to the server"), **CLUSTER_ARGS)
    assert [r["check"] for r in rows] == ["service-ports", "rc-ready", "deployment-available",
                                          "kube-system-pods", "coredns-ready"]
    assert all(not r["ok"] and "Unable to connect to the server" in r["detail"] for r in rows)
    assert checks.verify_cluster_settled(read(rc=1)) is False


def test_settled_follows_kube_system_only():
    starting = {**pod("kube-scheduler-cp", ready=False), "kind": "Pod"}
    starting["metadata"]["namespace"] = "kube-system"
    elsewhere = {**pod("dep01-x", ready=False), "kind": "Pod"}
    elsewhere["metadata"]["namespace"] = "default"
    healthy = [{**p, "kind": "Pod", "metadata": {**p["metadata"], "namespace": "kube-system"}} for p in HEALTHY]
    assert checks.verify_cluster_settled(read(*healthy, elsewhere)) is True
    assert checks.verify_cluster_settled(read(*healthy, starting)) is False


def test_the_kube_system_pods_of_a_node_unreachable_in_the_up_are_not_waited_for():
    # w2 powered off: its kube-proxy stays not ready until the machine is back
    stranded = {**pod("kube-proxy-w2", ready=False), "kind": "Pod", "spec": {"nodeName": "w2"}}
    stranded["metadata"]["namespace"] = "kube-system"
    healthy = [{**p, "kind": "Pod", "metadata": {**p["metadata"], "namespace": "kube-system"}} for p in HEALTHY]
    assert checks.verify_cluster_settled(read(*healthy, stranded)) is False
    assert checks.verify_cluster_settled(read(*healthy, stranded), ["w2"]) is True
    assert checks.verify_node_settled({**GIVEN, "cluster": read(*healthy, stranded)}, 30001, cluster=True,
                                      down=["w2"]) is True
    # the judgement still counts it
    rows = {r["check"]: r for r in checks.verify_cluster_checks(read(*healthy, stranded), **CLUSTER_ARGS)}
    assert rows["kube-system-pods"]["ok"] is False


NODE_ARGS = dict(node="w1", url="http://10.0.0.2:30001/", node_port=30001, page_text="Welcome to nginx",
                 services={"Debian": "netfilter-persistent", "RedHat": "iptables"})
ROUTES = ("default via 172.24.26.1 dev eth0\n"
          "10.244.0.0/24 via 172.24.26.10 dev eth0 proto 73\n"
          "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1\n"
          "10.244.2.0/24 via 172.24.26.12 dev eth0 proto 73\n"
          "172.24.26.0/24 dev eth0 proto kernel scope link src 172.24.26.11\n")
NODE_READ = {"nat": {"rc": 0, "stdout": "\n".join(NAT), "stderr": ""},
             "routes": {"argv": ["ip", "-4", "route", "show"], "rc": 0, "stdout": ROUTES, "stderr": ""},
             "units": {"argv": ["systemctl", "show", "--property=Id,LoadState,ActiveState",
                                "netfilter-persistent.service", "iptables.service"],
                       "rc": 0, "stderr": "",
                       "stdout": "Id=netfilter-persistent.service\nLoadState=loaded\nActiveState=inactive\n\n"
                                 "Id=iptables.service\nLoadState=not-found\nActiveState=inactive"}}


def node(name, cidr, ip, ready="True", message="kubelet is ready"):
    return {"kind": "Node", "metadata": {"name": name}, "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                       "conditions": [{"type": "Ready", "status": ready, "message": message}]}}


NODES = read(node("cp", "10.244.0.0/24", "172.24.26.10"), node("w1", "10.244.1.0/24", "172.24.26.11"),
             node("w2", "10.244.2.0/24", "172.24.26.12"))


def node_rows(node_read=NODE_READ, http=None, cluster=NODES, **kw):
    http = {"status": 200, "content": "<h1>Welcome to nginx!</h1>"} if http is None else http
    return {r["check"]: r for r in checks.verify_node_checks(node_read, http, cluster, **{**NODE_ARGS, **kw})}


def test_a_healthy_node_passes_with_the_old_details():
    rows = node_rows()
    assert {c: r["ok"] for c, r in rows.items()} == {
        "nodeport-serves-nginx": True, "iptables-nodeport-rule": True,
        "iptables-service-stopped": True, "node-ready": True, "pod-routes": True}
    assert rows["pod-routes"]["detail"] == ("own pods 10.244.1.0/24 here; routes 10.244.0.0/24 via 172.24.26.10 (cp),"
                                            " 10.244.2.0/24 via 172.24.26.12 (w2)")
    assert rows["nodeport-serves-nginx"]["detail"] == \
        'GET http://10.0.0.2:30001/: HTTP 200, "Welcome to nginx" on the page'
    assert rows["iptables-nodeport-rule"]["detail"] == \
        "1 KUBE-NODEPORTS rule(s) for dport 30001: -A KUBE-NODEPORTS -p tcp -m tcp --dport 30001 -j KUBE-SVC-ABC"
    assert rows["node-ready"]["detail"] == "Ready=True: kubelet is ready"


def test_the_iptables_service_of_the_nodes_os_family_counts_when_facts_say_it():
    # on a RHEL node only iptables counts, even if netfilter-persistent were there
    rows = node_rows(os_family="RedHat")
    assert rows["iptables-service-stopped"]["ok"] is False
    assert rows["iptables-service-stopped"]["detail"].startswith("iptables not installed (not-found)")


@pytest.mark.parametrize("http,words", [
    ({"status": 200, "content": "It works!"}, 'HTTP 200, no "Welcome to nginx" on the page'),
    ({"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] "
                           "Connection refused>"}, "HTTP -1: <urlopen error [Errno 111] Connection refused>"),
    ({"status": 502, "msg": "Status code was 502 and not [200]: HTTP Error 502"}, "HTTP 502: Status code was 502"),
])
def test_a_nodeport_that_does_not_serve_nginx_fails(http, words):
    row = node_rows(http=http)["nodeport-serves-nginx"]
    assert row["ok"] is False and words in row["detail"]


def test_a_node_without_the_nodeport_rule_or_a_failed_read_fails():
    no_rule = {**NODE_READ, "nat": {"rc": 0, "stdout": "*nat\nCOMMIT", "stderr": ""}}
    assert node_rows(no_rule)["iptables-nodeport-rule"]["detail"] == \
        "no KUBE-NODEPORTS rule for dport 30001 in iptables-save -t nat"
    failed = {"nat": {"rc": 1, "stdout": "", "stderr": "iptables-save: command not found"}, "units": {}}
    rows = node_rows(failed)
    assert rows["iptables-nodeport-rule"]["detail"].endswith("(iptables-save: command not found)")
    assert rows["iptables-service-stopped"]["ok"] is False
    module_failed = node_rows({"failed": True, "msg": "python not found"})
    assert not module_failed["iptables-nodeport-rule"]["ok"]
    assert "python not found" in module_failed["iptables-nodeport-rule"]["detail"]


def test_node_ready_says_why_it_is_not():
    assert node_rows(cluster=read())["node-ready"]["detail"] == "no node named w1 in the cluster"
    assert node_rows(cluster=read(rc=1, stderr="refused"))["node-ready"]["detail"] == \
        "kubectl get nodes failed: refused"


def routes_read(text, rc=0, stderr=""):
    return {**NODE_READ, "routes": {"argv": ["ip", "-4", "route", "show"], "rc": rc, "stdout": text, "stderr": stderr}}


@pytest.mark.parametrize("table,words", [
    # what the rebuild scenario met: a route of an earlier cluster sends w1's own pod CIDR to w2
    (ROUTES + "10.244.1.0/24 via 172.24.26.12 dev eth0\n",
     "its own pod CIDR 10.244.1.0/24 is routed away: 10.244.1.0/24 via 172.24.26.12 dev eth0"),
    (ROUTES.replace("10.244.2.0/24 via 172.24.26.12", "10.244.2.0/24 via 172.24.26.10"),
     "w2's pods 10.244.2.0/24 are routed wrong (expected via 172.24.26.12): 10.244.2.0/24 via 172.24.26.10"),
    (ROUTES.replace("10.244.0.0/24 via 172.24.26.10 dev eth0 proto 73\n", ""),
     "no route to cp's pods 10.244.0.0/24 (via 172.24.26.10)"),
    (ROUTES + "blackhole 10.244.2.0/24\n", "w2's pods 10.244.2.0/24 are routed wrong"),
])
def test_pod_routes_fail_on_a_route_that_sends_pods_elsewhere(table, words):
    row = node_rows(routes_read(table))["pod-routes"]
    assert row["ok"] is False and words in row["detail"], row


def test_pod_routes_pass_flannels_vxlan_routes_and_fail_without_a_read():
    vxlan = ("default via 172.24.26.1 dev eth0\n"
             "10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink\n"
             "10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1\n"
             "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink\n")
    assert node_rows(routes_read(vxlan))["pod-routes"]["ok"] is True
    failed = node_rows(routes_read("", rc=1, stderr="ip: command not found"))["pod-routes"]
    assert failed == {**failed, "ok": False, "detail": "ip -4 route show: ip: command not found"}
    assert node_rows({k: v for k, v in NODE_READ.items() if k != "routes"})["pod-routes"]["ok"] is False
    assert node_rows(cluster=read(rc=1, stderr="refused"))["pod-routes"]["detail"] == \
        "kubectl get nodes failed: refused"
    no_cidr = read(node("w1", "", "172.24.26.11"))
    assert node_rows(cluster=no_cidr)["pod-routes"]["detail"] == "the cluster gives w1 no pod CIDR"


def rc_pod(name, deleting=False, app="nginx", namespace="default"):
    meta = {"name": name, "namespace": namespace, "labels": {"app": app}}
    if deleting:
        meta["deletionTimestamp"] = "2021-01-20T10:00:00Z"
    return {"kind": "Pod", "metadata": meta, "status": {}}


def test_rc_replaces_pod():
    listing_ = read(rc_pod("my-nginx-b"), rc_pod("my-nginx-a"), rc_pod("my-nginx-old", deleting=True),
                    rc_pod("dep01-x", app="web"), rc_pod("my-nginx-z", namespace="other"))
    before = checks.verify_replace_before(listing_, "default", "nginx")
    assert before == ["my-nginx-a", "my-nginx-b"]
    after = ["my-nginx-a|2021-01-20T10:05:00Z|True", "my-nginx-b||True", "my-nginx-c||False"]
    assert checks.verify_replace_done(after, before, 2) is False
    after[2] = "my-nginx-c||True"
    assert checks.verify_replace_done(after, before, 2) is True
    args = dict(node="cp", before=before, delete={"changed": True, "rc": 0}, replicas=2, timeout=60,
                app_label="nginx")
    row = checks.verify_replace_check(after, elapsed=4.26, **args)
    assert row == {"check": "rc-replaces-pod", "node": "cp", "ok": True,
                   "detail": "deleted my-nginx-a; 2 of 2 pods Ready, new: my-nginx-c, after 4.3 s (limit 60 s)"}
    assert checks.verify_replace_check(after, elapsed=61, **args)["ok"] is False
    assert checks.verify_replace_check(after[1:2], elapsed=61, **args)["detail"].endswith(
        "1 of 2 pods Ready, new: none, after 61.0 s (limit 60 s)")
    failed = checks.verify_replace_check([], elapsed=0, **{**args, "delete": {"changed": False, "rc": 1,
                                                                               "stderr": "forbidden"}})
    assert failed["ok"] is False and failed["detail"] == "kubectl delete pod my-nginx-a failed: forbidden"
    none = checks.verify_replace_check([], elapsed=0, **{**args, "before": [], "delete": {}})
    assert none == {"check": "rc-replaces-pod", "node": "cp", "ok": False,
                    "detail": "no live pod labelled app=nginx to delete"}


def test_systemctl_show_is_read_per_unit_in_the_order_asked_or_by_its_id():
    states, error = checks._unit_states(NODE_READ["units"])
    assert states == {"netfilter-persistent": {"LoadState": "loaded", "ActiveState": "inactive"},
                      "iptables": {"LoadState": "not-found", "ActiveState": "inactive"}}
    assert error == ""
    # one block fewer than units asked: each block is named by its Id (an alias's real name)
    alias = {**NODE_READ["units"], "stdout": "Id=netfilter-persistent.service\nLoadState=loaded"}
    assert checks._unit_states(alias)[0] == {"netfilter-persistent": {"LoadState": "loaded"}}
    failed = {**NODE_READ["units"], "rc": 1, "stdout": "", "stderr": "Failed to connect to bus"}
    assert checks._unit_states(failed) == ({}, "Failed to connect to bus")
    rows = node_rows({**NODE_READ, "units": failed})
    assert rows["iptables-service-stopped"]["ok"] is False
    assert "Failed to connect to bus" in rows["iptables-service-stopped"]["detail"]


WANTED = {"nat": ["iptables-save", "-t", "nat"], "units": NODE_READ["units"]["argv"]}
GIVEN = {"nat": {**NODE_READ["nat"], "argv": WANTED["nat"]}, "units": NODE_READ["units"]}


def test_reads_given_by_an_earlier_play_count_only_when_they_are_the_same_commands():
    assert checks.verify_given_reads(GIVEN, WANTED) == GIVEN
    assert checks.verify_given_reads({}, WANTED) == {}
    assert checks.verify_given_reads(None, WANTED) == {}
    other_units = {**GIVEN, "units": {**GIVEN["units"], "argv": ["systemctl", "show", "iptables.service"]}}
    assert checks.verify_given_reads(other_units, WANTED) == {}
    # the control plane wants the cluster read too: reads without it do not stand in
    assert checks.verify_given_reads(GIVEN, {**WANTED, "cluster": ["kubectl", "get", "nodes"]}) == {}
    assert checks.verify_given_reads({**GIVEN, "extra": {"argv": ["true"]}}, WANTED) == {}


def test_a_node_is_settled_once_its_nodeport_rule_is_there_and_on_the_control_plane_kube_system():
    assert checks.verify_nodeport_programmed(GIVEN["nat"], 30001) is True
    assert checks.verify_nodeport_programmed({"rc": 0, "stdout": "*nat\nCOMMIT"}, 30001) is False
    assert checks.verify_nodeport_programmed({"rc": 1, "stderr": "not found"}, 30001) is True  # waiting will not mend it
    assert checks.verify_nodeport_programmed(GIVEN["nat"], 30002) is False
    assert checks.verify_node_settled(GIVEN, 30001) is True
    healthy = [{**p, "kind": "Pod", "metadata": {**p["metadata"], "namespace": "kube-system"}} for p in HEALTHY]
    starting = {**pod("kube-scheduler-cp", ready=False), "kind": "Pod"}
    starting["metadata"]["namespace"] = "kube-system"
    assert checks.verify_node_settled({**GIVEN, "cluster": read(*healthy)}, 30001, cluster=True) is True
    assert checks.verify_node_settled({**GIVEN, "cluster": read(*healthy, starting)}, 30001, cluster=True) is False
    assert checks.verify_node_settled(GIVEN, 30001, cluster=True) is False
