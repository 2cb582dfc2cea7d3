"""labtool.lab.workloads_waiting: what the workloads role still waits for, from ``kubectl get
nodes,pods,deployments,replicationcontrollers -o json`` (one List).

A workload is there when its controller has seen the manifest just applied, every replica
of it exists (a Deployment's of its current template), and every replica is available but
those stranded on a node the cluster does not call Ready. pod_network waits until every node
still in the run is Ready, so a node that is not Ready here is one the run lost (a machine
that is down): its replicas cannot become ready until it is back, or until Kubernetes evicts
them after five minutes. Waiting for them would only hold the up until its timeout and keep
verify, which reports the node and the missing replica, from running.
"""

from __future__ import annotations


def _ready(obj: dict) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _selector(obj: dict) -> dict:
    selector = (obj.get("spec") or {}).get("selector") or {}
    return selector.get("matchLabels", {}) if obj.get("kind") == "Deployment" else selector


def _matches(selector: dict, labels: dict) -> bool:
    # key by key: Ansible hands filters lazy containers, whose items() views do not compare
    return all(labels.get(key) == value for key, value in selector.items())


def _stranded(pods: list[dict], selector: dict, nodes_down: set[str]) -> list[str]:
    """The nodes of the selector's not-ready pods that sit on a node that is down (one entry a pod)."""
    return [p["spec"]["nodeName"] for p in pods
            if selector and _matches(selector, (p.get("metadata") or {}).get("labels") or {})
            and (p.get("spec") or {}).get("nodeName") in nodes_down
            and not (p.get("metadata") or {}).get("deletionTimestamp") and not _ready(p)]


def _waiting_for(obj: dict, replicas: int, pods: list[dict], nodes_down: set[str]) -> str:
    """'' when the workload is there; else what is missing, in a few words."""
    what = f"{obj['kind'].lower()}/{obj['metadata']['name']}"
    status = obj.get("status") or {}
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 1):
        return f"{what}: its controller has not seen the applied manifest yet"
    if obj["kind"] == "Deployment" and status.get("updatedReplicas", 0) < replicas:
        return f"{what}: {status.get('updatedReplicas', 0)} of {replicas} replicas of its current template exist"
    stranded = _stranded(pods, _selector(obj), nodes_down)
    wanted = replicas - len(stranded)
    available = status.get("availableReplicas", 0)
    if available >= wanted:
        return ""
    down = f" (and {len(stranded)} on {', '.join(sorted(set(stranded)))}, not Ready)" if stranded else ""
    return f"{what}: {available} of {wanted} replicas available{down}"


def workloads_waiting(listing: dict, workloads: list[dict]) -> list[str]:
    """What is missing of ``workloads`` (each: kind, name, replicas); [] when they are all there."""
    items = (listing or {}).get("items") or []
    nodes_down = {n["metadata"]["name"] for n in items if n.get("kind") == "Node" and not _ready(n)}
    pods = [p for p in items if p.get("kind") == "Pod"]
    waiting = []
    for workload in workloads:
        obj = next((o for o in items if o.get("kind") == workload["kind"]
                    and o["metadata"]["name"] == workload["name"]), None)
        if obj is None:
            waiting.append(f"{workload['kind'].lower()}/{workload['name']}: not listed")
            continue
        missing = _waiting_for(obj, int(workload["replicas"]), pods, nodes_down)
        if missing:
            waiting.append(missing)
    return waiting


class FilterModule:
    def filters(self):
        return {"workloads_waiting": workloads_waiting}
