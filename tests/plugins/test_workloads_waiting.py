"""labtool.lab.workloads_waiting, as the workloads role polls it after applying the
walkthrough's objects: every replica available, but those stranded on a node that is down."""

from __future__ import annotations

import ansible_module  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.labtool.lab.plugins.filter.workloads_waiting import workloads_waiting

WANTED = [{"kind": "Deployment", "name": "dep01", "replicas": "2"},
          {"kind": "ReplicationController", "name": "my-nginx", "replicas": 2}]


def node(name, ready="True"):
    return {"kind": "Node", "metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def pod(name, app, on, ready=True, deleting=False):
    meta = {"name": name, "labels": {"app": app, "pod-template-hash": "5c6f"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-05T05:00:00Z"
    return {"kind": "Pod", "metadata": meta, "spec": {"nodeName": on},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def deployment(available, updated=2, generation=1, observed=1):
    return {"kind": "Deployment", "metadata": {"name": "dep01", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}}},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "availableReplicas": available}}


def rc(available):
    return {"kind": "ReplicationController", "metadata": {"name": "my-nginx", "generation": 1},
            "spec": {"selector": {"app": "nginx"}}, "status": {"observedGeneration": 1, "availableReplicas": available}}


def listing(*items):
    return {"kind": "List", "items": list(items)}


def test_every_replica_available_is_all_there():
    lab = listing(node("cp"), node("w1"), node("w2"), pod("a", "web", "w1"), pod("b", "web", "w2"),
                  pod("c", "nginx", "w1"), pod("d", "nginx", "w2"), deployment(2), rc(2))
    assert workloads_waiting(lab, WANTED) == []


def test_a_replica_not_yet_ready_on_a_ready_node_is_waited_for():
    lab = listing(node("cp"), node("w1"), node("w2"), pod("a", "web", "w1"), pod("b", "web", "w2", ready=False),
                  pod("c", "nginx", "w1"), pod("d", "nginx", "w2"), deployment(1), rc(2))
    assert workloads_waiting(lab, WANTED) == ["deployment/dep01: 1 of 2 replicas available"]


def test_the_replicas_on_a_node_that_is_down_are_not_waited_for():
    lab = listing(node("cp"), node("w1"), node("w2", ready="Unknown"),
                  pod("a", "web", "w1"), pod("b", "web", "w2", ready=False),
                  pod("c", "nginx", "w2", ready=False), pod("d", "nginx", "w2", ready=False), deployment(1), rc(0))
    assert workloads_waiting(lab, WANTED) == []


def test_a_replica_on_a_ready_node_is_still_waited_for_when_another_node_is_down():
    lab = listing(node("cp"), node("w1", ready="False"), node("w2"),
                  pod("a", "web", "w1", ready=False), pod("b", "web", "w2", ready=False), deployment(0), rc(2))
    assert workloads_waiting(lab, WANTED) == ["deployment/dep01: 0 of 1 replicas available (and 1 on w1, not Ready)"]


def test_an_evicted_replica_on_a_node_that_is_down_is_replaced_and_waited_for():
    # after the five minutes of tolerations the pod is deleting, and its replacement counts
    lab = listing(node("w1"), node("w2", ready="Unknown"), pod("a", "web", "w1"),
                  pod("b", "web", "w2", ready=False, deleting=True), pod("b2", "web", "w1", ready=False),
                  deployment(1), rc(2))
    assert workloads_waiting(lab, WANTED) == ["deployment/dep01: 1 of 2 replicas available"]


def test_a_manifest_the_controller_has_not_seen_or_a_rollout_under_way_is_waited_for():
    seen_late = listing(deployment(2, generation=2, observed=1), rc(2))
    assert workloads_waiting(seen_late, WANTED) == ["deployment/dep01: its controller has not seen the applied manifest yet"]
    rolling = listing(deployment(2, updated=1), rc(2))
    assert workloads_waiting(rolling, WANTED) == ["deployment/dep01: 1 of 2 replicas of its current template exist"]


def test_a_workload_not_listed_is_waited_for():
    assert workloads_waiting(listing(rc(2)), WANTED) == ["deployment/dep01: not listed"]
