"""The verify role's judgements that need more than a line of Jinja, as plain functions.

Each takes what kubectl, iptables-save or systemctl printed and returns one verify result's
``ok`` and ``detail`` (contract §5), so ``tests/test_verify_checks.py`` can show every check
failing on the broken states a user would meet.
"""

from __future__ import annotations

# container waiting reasons that do not go away by waiting
BROKEN_REASONS = ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff", "InvalidImageName",
                  "CreateContainerConfigError", "CreateContainerError", "RunContainerError")


def _items(listing) -> list[dict]:
    return list((listing or {}).get("items") or []) if isinstance(listing, dict) else []


def _pod_problem(pod: dict) -> tuple[str, bool] | None:
    """What is wrong with one pod, and whether waiting could mend it; None when healthy."""
    status = pod.get("status") or {}
    name = (pod.get("metadata") or {}).get("name", "?")
    containers = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for container in containers:
        reason = ((container.get("state") or {}).get("waiting") or {}).get("reason", "")
        if reason in BROKEN_REASONS:
            return f"{name}: {container.get('name', '?')} {reason}", False
    if status.get("phase") != "Running":
        return f"{name}: {status.get('phase', 'no phase')}", True
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True":
        waiting = [c.get("name", "?") for c in status.get("containerStatuses") or [] if not c.get("ready")]
        return f"{name}: not ready ({', '.join(waiting) or 'Ready condition not True'})", True
    return None


def verify_kube_system(listing) -> dict:
    """``kubectl get pods -n kube-system -o json``: every pod Running and ready.

    ``settled`` is false while waiting could still help (a pod starting), so the role can
    retry until it is true; a pod in ErrImagePull or CrashLoopBackOff settles it at once.
    """
    pods = _items(listing)
    problems = [p for p in map(_pod_problem, pods) if p]
    if not pods:
        return {"ok": False, "settled": True, "detail": "no pod in kube-system"}
    if not problems:
        return {"ok": True, "settled": True,
                "detail": f"{len(pods)} pods Running and ready"}
    return {"ok": False, "settled": all(not mendable for _, mendable in problems),
            "detail": f"{len(problems)} of {len(pods)} pods unhealthy: "
                      + "; ".join(text for text, _ in problems)}


def verify_coredns(listing) -> dict:
    """The CoreDNS pods (label k8s-app=kube-dns) of the kube-system listing: at least one,
    every one Running and ready."""
    pods = [p for p in _items(listing)
            if ((p.get("metadata") or {}).get("labels") or {}).get("k8s-app") == "kube-dns"]
    if not pods:
        return {"ok": False, "detail": "no CoreDNS pod (k8s-app=kube-dns) in kube-system"}
    problems = [text for text, _ in filter(None, map(_pod_problem, pods))]
    if problems:
        return {"ok": False, "detail": "; ".join(problems)}
    return {"ok": True, "detail": f"{len(pods)} CoreDNS pod(s) Running and ready"}


def verify_deployment(obj, replicas) -> dict:
    """``kubectl get deployment NAME -o json``: spec.replicas as expected, all available."""
    if not isinstance(obj, dict) or not obj:
        return {"ok": False, "detail": "no such Deployment"}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted, available = int(spec.get("replicas", 0)), int(status.get("availableReplicas", 0))
    updated = int(status.get("updatedReplicas", 0))
    ok = wanted == int(replicas) and available == wanted and updated == wanted
    return {"ok": ok, "detail": f"desired={wanted} updated={updated} available={available}"
                                f" (expected {int(replicas)})"}


def verify_iptables_service(show: str, unit: str, wanted: str, nat_rules) -> dict:
    """The walkthrough's claim: the iptables service is installed but stopped (or active,
    with ``iptables_service: enabled``) while kube-proxy's KUBE-* rules are live.

    ``show`` is ``systemctl show -p LoadState -p ActiveState UNIT``; ``nat_rules`` the lines
    of ``iptables-save -t nat``.
    """
    props = dict(line.split("=", 1) for line in (show or "").splitlines() if "=" in line)
    load, active = props.get("LoadState", "?"), props.get("ActiveState", "?")
    kube = [line for line in nat_rules or [] if line.startswith("-A KUBE-")]
    service_ok = load == "loaded" and (
        active == "active" if wanted == "enabled" else active in ("inactive", "failed"))
    detail = (f"{unit} {active if load == 'loaded' else 'not installed (' + load + ')'}"
              f" (the lab asks for {wanted}); kube-proxy's rules: {len(kube)} KUBE-* rules in nat")
    return {"ok": service_ok and len(kube) > 0, "detail": detail}


class FilterModule:
    def filters(self):
        return {
            "verify_kube_system": verify_kube_system,
            "verify_coredns": verify_coredns,
            "verify_deployment": verify_deployment,
            "verify_iptables_service": verify_iptables_service,
        }
