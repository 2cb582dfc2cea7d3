"""The verify role's new checks fail on what a user would see broken: a Deployment short of
replicas, a kube-system pod in ErrImagePull or CrashLoopBackOff, no CoreDNS where it was
installed, the iptables service running although the walkthrough stops it, no kube-proxy
rules. The judgements are the role's filter plugin, evaluated here on kubectl's JSON."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PLUGIN = Path(__file__).resolve().parents[1] / "roles/verify/filter_plugins/verify_checks.py"
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
                                "kube-proxy's rules: 2 KUBE-* rules in nat")


@pytest.mark.parametrize("wanted,unit,nat", [
    ("stopped", show("active"), NAT),             # someone started the service
    ("enabled", show("inactive"), NAT),           # iptables_service: enabled, yet stopped
    ("stopped", show("inactive", "not-found"), NAT),  # not installed at all
    ("stopped", show("inactive"), NAT[:3]),       # service stopped, but no kube-proxy rules
])
def test_iptables_service_or_kube_proxy_rules_wrong_fails(wanted, unit, nat):
    assert checks.verify_iptables_service(unit, "netfilter-persistent", wanted, nat)["ok"] is False
