"""Grading each step of the walkthrough from the raw facts playbooks/progress.yml brings:
pure, it knows Kubernetes and iptables and nothing of Ansible.

``judge(facts, walkthrough, lab=..., unreachable=...)`` -> :class:`Progress`. The facts:
``{"nodes": {node: {"reads": {"units"|"iptables"|"cluster": {rc, stdout, stderr}},
"curl": {url, status, nginx, msg}}}}``; the cluster read is the control plane's
``kubectl get nodes,deployments,services,replicationcontrollers,pods -o json``.

A step done another way that meets the walkthrough's goal is done (an image other than
daocloud.io's nginx that is still nginx, other labels that the Service still selects, a
Service made with ``kubectl expose``); a difference that changes what the student sees
(a replica count, a port) is named with the walkthrough's fix."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from labtool.progress.model import (DIFFERS, DONE, NOT_STARTED, UNKNOWN, Difference, Progress,
                                    Step, Walkthrough, titles)

# a pod created this long after its RC is a replacement (the RC's first pods start together)
REPLACED_AFTER_S = 10
_UNIT_FIX = {"netfilter-persistent": "apt install iptables iptables-persistent",
             "iptables": "yum install iptables iptables-services"}


def _units(stdout: str) -> dict[str, dict[str, str]]:
    """systemctl show's blocks (one per unit, blank-line separated) by unit name."""
    out: dict[str, dict[str, str]] = {}
    for block in stdout.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            out[props["Id"].removesuffix(".service")] = props
    return out


def _read(node: dict[str, Any], name: str) -> dict[str, Any]:
    return (node.get("reads") or {}).get(name) or {}


def iptables(facts: dict[str, Any], w: Walkthrough, nodes: list[str]) -> Step:
    want_active = w.iptables_service == "enabled"
    missing, wrong, unit_seen = [], [], ""
    for name in nodes:
        node = facts[name]
        loaded = {u: p for u, p in _units(_read(node, "units").get("stdout", "")).items()
                  if p.get("LoadState") == "loaded"}
        if not loaded or _read(node, "iptables").get("rc", 1) != 0:
            missing.append(name)
            continue
        unit, props = next(iter(loaded.items()))
        unit_seen = unit
        active = props.get("ActiveState") in ("active", "activating", "reloading")
        if active != want_active:
            wrong.append((name, unit, props.get("ActiveState", "?")))
    title = titles(w)["iptables"]
    if len(missing) == len(nodes):
        return Step("iptables", title, NOT_STARTED,
                    note="install iptables and its service: apt install iptables iptables-persistent "
                         "(yum install iptables iptables-services)")
    diffs = []
    if missing:
        fix = _UNIT_FIX.get(unit_seen, _UNIT_FIX["netfilter-persistent"])
        diffs.append(Difference(f"iptables: not installed on {', '.join(missing)} (no iptables "
                                f"service unit or no iptables command)", f"on {', '.join(missing)}: {fix}"))
    for name, unit, state in wrong:
        if want_active:
            diffs.append(Difference(f"iptables: {unit} is {state} on {name}; this lab's iptables_service "
                                    f"is enabled", f"on {name}: systemctl enable --now {unit}"))
        else:
            diffs.append(Difference(f"iptables: {unit} is {state} on {name}; the walkthrough installs it "
                                    f"but leaves it stopped (its saved rules would fight kube-proxy's)",
                                    f"on {name}: systemctl disable --now {unit}"))
    return Step("iptables", title, DIFFERS if diffs else DONE, tuple(diffs))


def _objects(cluster: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]] | None:
    """(kind, name) -> object, from the control plane's kubectl read; None if it failed."""
    if cluster.get("rc", 1) != 0:
        return None
    try:
        items = json.loads(cluster.get("stdout") or "{}").get("items") or []
    except ValueError:
        return None
    return {(i.get("kind", ""), i.get("metadata", {}).get("name", "")): i for i in items}


def cluster_step(objects, cluster_read: dict[str, Any], w: Walkthrough) -> Step:
    title = titles(w)["cluster"]
    if objects is None:
        why = " ".join((cluster_read.get("stderr") or cluster_read.get("msg") or "no read").split())
        return Step("cluster", title, NOT_STARTED,
                    note=f"kubectl cannot read the cluster ({why[:160]}): kubeadm init on the control "
                         f"plane, kubeadm join on the workers, then the pod network")
    ready = {}
    for (kind, name), obj in objects.items():
        if kind == "Node":
            conds = {c.get("type"): c.get("status") for c in obj.get("status", {}).get("conditions", [])}
            ready[name] = conds.get("Ready") == "True"
    diffs = []
    absent = [n for n in w.nodes if n not in ready]
    if absent:
        diffs.append(Difference(f"cluster: {', '.join(absent)} not joined",
                                f"on {', '.join(absent)}: kubeadm join with the control plane's token "
                                f"(kubeadm token create --print-join-command)"))
    not_ready = [n for n in w.nodes if n in ready and not ready[n]]
    if not_ready:
        diffs.append(Difference(f"cluster: {', '.join(not_ready)} NotReady",
                                "set up the pod network; kubectl describe node " + not_ready[0]))
    return Step("cluster", title, DIFFERS if diffs else DONE, tuple(diffs))


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return ((obj.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}


def _images(obj: dict[str, Any]) -> list[str]:
    containers = ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    return [c.get("image", "") for c in containers]


def _pods(objects, owner_kind: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
    uid = owner.get("metadata", {}).get("uid")
    labels = _labels(owner)
    out = []
    for (kind, _), pod in objects.items():
        if kind != "Pod":
            continue
        refs = pod.get("metadata", {}).get("ownerReferences") or []
        mine = any(r.get("uid") == uid for r in refs) if owner_kind == "ReplicationController" else (
            labels and all(pod.get("metadata", {}).get("labels", {}).get(k) == v for k, v in labels.items()))
        if mine and not pod.get("metadata", {}).get("deletionTimestamp"):
            out.append(pod)
    return out


def _waiting(pods: list[dict[str, Any]]) -> str:
    """Why pods are not ready, from their containers' waiting reasons ('' when none says)."""
    reasons = sorted({s.get("state", {}).get("waiting", {}).get("reason", "")
                      for p in pods for s in p.get("status", {}).get("containerStatuses") or []} - {""})
    return f" ({', '.join(reasons)})" if reasons else ""


def _nginx_image(images: list[str], name: str, want: str, kind: str) -> tuple[list[Difference], str]:
    if any("nginx" in i for i in images):
        return [], ("" if want in images else f"done another way: image {', '.join(images)}")
    return [Difference(f"{name}: image is {', '.join(images) or 'none'}; the walkthrough runs nginx ({want})",
                       f"kubectl set image {kind}/{name} '*={want}'")], ""


def deployment(objects, w: Walkthrough) -> Step:
    title = titles(w)["deployment"]
    dep = objects.get(("Deployment", w.deployment))
    if dep is None:
        return Step("deployment", title, NOT_STARTED,
                    note=f"kubectl apply -f the Deployment {w.deployment} ({w.deployment_replicas} "
                         f"replicas, {w.deployment_label[0]}: {w.deployment_label[1]}, nginx on port 80)")
    diffs, note = _nginx_image(_images(dep), w.deployment, w.deployment_image, "deployment")
    replicas = (dep.get("spec") or {}).get("replicas", 1)
    if replicas != w.deployment_replicas:
        diffs.append(Difference(f"{w.deployment}: {replicas} replica{'s' if replicas != 1 else ''}; the "
                                f"walkthrough asks for {w.deployment_replicas}",
                                f"kubectl scale deployment {w.deployment} --replicas={w.deployment_replicas}"))
    available = (dep.get("status") or {}).get("availableReplicas") or 0
    if not diffs and available < replicas:
        pods = _pods(objects, "Deployment", dep)
        diffs.append(Difference(f"{w.deployment}: {available} of {replicas} replicas available{_waiting(pods)}",
                                f"wait, or: kubectl describe pods -l "
                                + ",".join(f"{k}={v}" for k, v in _labels(dep).items())))
    return Step("deployment", title, DIFFERS if diffs else DONE, tuple(diffs), note)


def service(objects, w: Walkthrough) -> Step:
    title = titles(w)["service"]
    svc = objects.get(("Service", w.service))
    if svc is None:
        return Step("service", title, NOT_STARTED,
                    note=f"kubectl apply -f the Service {w.service} (type NodePort, port {w.port}, "
                         f"nodePort {w.node_port}, targetPort {w.target_port}, selector "
                         f"{w.deployment_label[0]}: {w.deployment_label[1]})")
    spec = svc.get("spec") or {}
    diffs = []
    fix = f"kubectl edit service {w.service}: "
    if spec.get("type") != "NodePort":
        diffs.append(Difference(f"{w.service}: type is {spec.get('type')}; the walkthrough's Service is "
                                f"type: NodePort", fix + "set type: NodePort"))
    ports = spec.get("ports") or [{}]
    port = next((p for p in ports if p.get("port") == w.port), ports[0])
    for key, want, said in (("port", w.port, "port"), ("nodePort", w.node_port, "nodePort"),
                            ("targetPort", w.target_port, "targetPort")):
        have = port.get(key)
        if key == "nodePort" and spec.get("type") != "NodePort":
            continue
        if str(have) != str(want):
            diffs.append(Difference(f"{w.service}: {said} is {have}; the walkthrough's Service says {want}",
                                    fix + f"set {said}: {want}"))
    selector = spec.get("selector") or {}
    dep = objects.get(("Deployment", w.deployment))
    target = _labels(dep) if dep else dict([w.deployment_label])
    if not selector or any(target.get(k) != v for k, v in selector.items()):
        shown = ",".join(f"{k}={v}" for k, v in selector.items()) or "nothing"
        diffs.append(Difference(
            f"{w.service}: selects {shown}, not {w.deployment}'s pods "
            f"({','.join(f'{k}={v}' for k, v in target.items())})",
            fix + f"set selector: {{{w.deployment_label[0]}: {w.deployment_label[1]}}}"))
    return Step("service", title, DIFFERS if diffs else DONE, tuple(diffs))


def rc(objects, w: Walkthrough) -> Step:
    title = titles(w)["rc"]
    obj = objects.get(("ReplicationController", w.rc))
    if obj is None:
        return Step("rc", title, NOT_STARTED,
                    note=f"kubectl apply -f the ReplicationController {w.rc} ({w.rc_replicas} replicas, "
                         f"{w.rc_label[0]}: {w.rc_label[1]}, nginx)")
    diffs, note = _nginx_image(_images(obj), w.rc, w.rc_image, "rc")
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    if replicas != w.rc_replicas:
        diffs.append(Difference(f"{w.rc}: {replicas} replica{'s' if replicas != 1 else ''}; the walkthrough "
                                f"asks for {w.rc_replicas}", f"kubectl scale rc {w.rc} --replicas={w.rc_replicas}"))
    ready = (obj.get("status") or {}).get("readyReplicas") or 0
    if not diffs and ready < replicas:
        diffs.append(Difference(f"{w.rc}: {ready} of {replicas} pods ready{_waiting(_pods(objects, 'ReplicationController', obj))}",
                                f"wait, or: kubectl describe rc {w.rc}"))
    return Step("rc", title, DIFFERS if diffs else DONE, tuple(diffs), note)


def curl(facts: dict[str, Any], objects, w: Walkthrough, nodes: list[str]) -> Step:
    title = titles(w)["curl"]
    answers = {n: (facts[n].get("curl") or {}) for n in nodes}
    nginx = {n: str(a.get("nginx")).lower() == "true" for n, a in answers.items()}
    if all(nginx.values()):
        return Step("curl", title, DONE)
    svc = objects.get(("Service", w.service)) if objects else None
    if svc is None and not any(nginx.values()):
        return Step("curl", title, NOT_STARTED,
                    note=f"after {w.service}: curl http://<node>:{w.node_port}/ on every node")
    silent = [n for n in nodes if not nginx[n]]
    why = sorted({_curl_why(answers[n]) for n in silent})
    hint = ""
    if svc is not None:
        have = [p.get("nodePort") for p in (svc.get("spec") or {}).get("ports") or []]
        if have and w.node_port not in have:
            hint = f" ({w.service}'s nodePort is {have[0]})"
    return Step("curl", title, DIFFERS, (Difference(
        f"curl :{w.node_port}: no nginx page from {', '.join(silent)}: {'; '.join(why)}{hint}",
        f"make {w.service} serve on nodePort {w.node_port} with {w.deployment}'s pods behind it, "
        f"then curl http://<node>:{w.node_port}/"),))


def _curl_why(answer: dict[str, Any]) -> str:
    status = int(answer.get("status") or -1)
    if status == -1:
        msg = " ".join(str(answer.get("msg") or "no answer").split())
        return msg.split(": ", 1)[-1][:80] if "refused" not in msg else "connection refused"
    return f"HTTP {status}, not nginx's page"


def _time(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


def rc_replaces(objects, w: Walkthrough) -> Step:
    title = titles(w)["rc-replaces"]
    obj = objects.get(("ReplicationController", w.rc))
    how = (f"delete one of {w.rc}'s pods (kubectl delete pod <name>) and watch kubectl get pods: "
           f"the RC starts another")
    if obj is None:
        return Step("rc-replaces", title, NOT_STARTED, note=how)
    born = _time(obj.get("metadata", {}).get("creationTimestamp", ""))
    later = [p for p in _pods(objects, "ReplicationController", obj)
             if born and (t := _time(p.get("metadata", {}).get("creationTimestamp", "")))
             and (t - born).total_seconds() >= REPLACED_AFTER_S]
    if later:
        return Step("rc-replaces", title, DONE,
                    note=f"{later[0]['metadata']['name']} was started by the RC after its first pods")
    return Step("rc-replaces", title, NOT_STARTED, note=how)


def judge(facts: dict[str, Any], w: Walkthrough, *, lab: str, unreachable: dict[str, str] | None = None,
          read_at: str = "", control_plane: str | None = None) -> Progress:
    """Every step's grade. ``unreachable``: nodes the read could not reach, and why."""
    unreachable = dict(unreachable or {})
    nodes_facts = facts.get("nodes") or {}
    seen = [n for n in w.nodes if n in nodes_facts and n not in unreachable]
    cp = control_plane or (w.nodes[0] if w.nodes else "")
    t = titles(w)
    steps: list[Step] = []
    steps.append(iptables(nodes_facts, w, seen) if seen else Step("iptables", t["iptables"], UNKNOWN))
    if cp in seen:
        cluster_read = _read(nodes_facts[cp], "cluster")
        objects = _objects(cluster_read)
        steps.append(cluster_step(objects, cluster_read, w))
        known = objects or {}
        steps += [deployment(known, w), service(known, w), rc(known, w),
                  curl(nodes_facts, objects, w, seen), rc_replaces(known, w)]
    else:
        why = f"the control plane {cp} could not be read"
        steps += [Step(k, t[k], UNKNOWN, note=why) for k in t if k != "iptables"]
    if unreachable:
        steps = [s if s.state != DONE or s.key not in ("iptables", "curl") else
                 Step(s.key, s.title, s.state, s.differences,
                      f"read without {', '.join(sorted(unreachable))}") for s in steps]
    return Progress(lab=lab, steps=steps, unreachable=unreachable, read_at=read_at)
