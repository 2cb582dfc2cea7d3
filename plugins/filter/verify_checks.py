"""The verify role's judgements that need more than a line of Jinja, as plain functions.

Each takes what kubectl, iptables-save or systemctl printed and returns one verify result's
``ok`` and ``detail`` (contract §5), so ``tests/plugins/test_verify_checks.py`` can show every check
failing on the broken states a user would meet.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from ansible_collections.labtool.lab.plugins.filter.pod_routes import pod_cidr_table, pod_route_problems

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
    return {"ok": False, "settled": all(not mendable for _text, mendable in problems),
            "detail": f"{len(problems)} of {len(pods)} pods unhealthy: "
                      + "; ".join(text for text, _mendable in problems)}


def verify_coredns(listing) -> dict:
    """The CoreDNS pods (label k8s-app=kube-dns) of the kube-system listing: at least one,
    every one Running and ready."""
    pods = [p for p in _items(listing)
            if ((p.get("metadata") or {}).get("labels") or {}).get("k8s-app") == "kube-dns"]
    if not pods:
        return {"ok": False, "detail": "no CoreDNS pod (k8s-app=kube-dns) in kube-system"}
    problems = [text for text, _mendable in filter(None, map(_pod_problem, pods))]
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
    # the rules of the KUBE-* chains and the jumps into them: what labtool explain counts
    # (labtool/explain/natpath.py kube_rule_count)
    kube = [line for line in nat_rules or []
            if line.startswith("-A KUBE-") or (line.startswith("-A ") and " -j KUBE-" in line)]
    service_ok = load == "loaded" and (
        active == "active" if wanted == "enabled" else active in ("inactive", "failed"))
    detail = (f"{unit} {active if load == 'loaded' else 'not installed (' + load + ')'}"
              f" (the lab asks for {wanted}); kube-proxy's rules: {len(kube)} KUBE-* rules in nat"
              " (in KUBE-* chains or jumping to one)")
    in_chains = any(line.startswith("-A KUBE-") for line in kube)  # a jump alone is no rule of kube-proxy's
    return {"ok": service_ok and in_chains, "detail": detail}


# ------------------------------------------------------------------ the role's result rows
#
# The role reads each node once (verify_read_commands: iptables-save -t nat, systemctl show;
# on the control plane also the cluster: kubectl get nodes,services,replicationcontrollers,
# deployments,pods --all-namespaces -o json), with its own module or through an earlier play
# of the same run (verify_node_reads), and curls each NodePort from the controller; these
# functions turn what those printed into the rows {check, node, ok, detail} of the report.


def _failed_read(read) -> str:
    """What a registered command (or module) result says about why it failed."""
    read = read or {}
    return str(read.get("stderr") or read.get("msg") or "")


def _listing(read) -> tuple[list[dict], str]:
    """The items of the cluster read, or ([], why it failed)."""
    read = read or {}
    if read.get("rc", 1) != 0:
        return [], _failed_read(read) or "no output"
    try:
        return _items(json.loads(read.get("stdout") or "{}")), ""
    except ValueError as exc:
        return [], f"kubectl printed no JSON ({exc})"


def _find(items, kind: str, name: str, namespace: str | None = None) -> dict:
    for item in items:
        meta = item.get("metadata") or {}
        if (item.get("kind") == kind and meta.get("name") == name
                and (namespace is None or meta.get("namespace") == namespace)):
            return item
    return {}


def _of_namespace(items, kind: str, namespace: str) -> dict:
    return {"items": [i for i in items if i.get("kind") == kind
                      and (i.get("metadata") or {}).get("namespace") == namespace]}


def human_duration(seconds: float) -> str:
    """kubectl's AGE column (apimachinery's duration.HumanDuration)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return f"{hours // 24 // 365}y{(hours // 24) % 365}d"
    return f"{hours // 24 // 365}y"


def _age(created: str, now: float) -> str:
    try:
        then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    return human_duration(float(now) - then.timestamp())


def svc_line(svc: dict, now: float) -> str:
    """The line ``kubectl get svc NAME`` prints for a Service (its printer, Kubernetes 1.20):
    NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, columns separated by one space."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        external = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")] + external
        external_ip = ",".join(external) if external else "<pending>"
    elif kind == "ExternalName":
        external_ip = spec.get("externalName") or "<none>"
    else:
        external_ip = ",".join(external) if external else "<none>"
    ports = ",".join(
        (f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}" if p.get("nodePort")
         else f"{p.get('port')}/{p.get('protocol', 'TCP')}") for p in spec.get("ports") or []) or "<none>"
    return " ".join([meta.get("name", "?"), kind, spec.get("clusterIP") or "<none>", external_ip, ports,
                     _age(meta.get("creationTimestamp"), now)])


def verify_given_reads(given, wanted) -> dict:
    """The reads an earlier play gave (name -> argv, rc, stdout, stderr) when they are exactly
    the commands this role would run (``wanted``: name -> argv), else {}: the role reads
    the node itself rather than judge what other commands printed."""
    given = given or {}
    same = set(given) == set(wanted) and all(
        isinstance(given[name], dict) and given[name].get("argv") == [str(a) for a in argv]
        for name, argv in wanted.items())
    return dict(given) if same else {}


def verify_nodeport_programmed(nat_read, node_port) -> bool:
    """The NAT read is worth no more waiting: kube-proxy's NodePort rule is there, or
    iptables-save failed (waiting does not mend that)."""
    nat_read = nat_read or {}
    return nat_read.get("rc", 1) != 0 or bool(nodeport_rules(nat_read.get("stdout"), node_port))


def verify_node_settled(reads, node_port, cluster: bool = False, down=()) -> bool:
    """A node's reads are worth no more waiting: its NodePort rule (verify_nodeport_programmed)
    and, with ``cluster``, the cluster read (verify_cluster_settled, ``down`` as there)."""
    reads = reads or {}
    return verify_nodeport_programmed(reads.get("nat"), node_port) and (
        not cluster or verify_cluster_settled(reads.get("cluster"), down))


def _unit_states(read) -> tuple[dict, str]:
    """``systemctl show`` of several units (the read's argv names them) prints one block per
    unit, in the order asked, split by an empty line; each block's Id names the unit (an alias
    shows its real name). Returns per unit (without .service) its properties, and what
    systemctl said when it failed."""
    if not read:
        return {}, ""
    names = [arg[:-len(".service")] for arg in read.get("argv") or [] if arg.endswith(".service")]
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
              for block in (read.get("stdout") or "").strip().split("\n\n") if block.strip()]
    if len(blocks) == len(names):
        states = dict(zip(names, blocks))
    else:
        states = {b["Id"][:-len(".service")]: b for b in blocks if b.get("Id", "").endswith(".service")}
    error = "" if read.get("rc", 1) == 0 else (
        read.get("stderr") or f"systemctl show exited with status {read.get('rc')}")
    return {name: {k: v for k, v in props.items() if k != "Id"} for name, props in states.items()}, error


def verify_cluster_settled(read, down=()) -> bool:
    """The cluster read is worth no more waiting: kubectl answered and kube-system has
    settled (every pod healthy, or one in a state waiting does not mend). The pods of the
    nodes ``down`` (unreachable in the up before) are not waited for: they cannot start
    until the machine is back; the judgement still counts them."""
    items, failed = _listing(read)
    pods = _of_namespace(items, "Pod", "kube-system")["items"]
    waited_for = [p for p in pods if (p.get("spec") or {}).get("nodeName") not in set(down or ())]
    return not failed and verify_kube_system({"items": waited_for})["settled"]


def verify_cluster_checks(read, *, node: str, namespace: str, service: dict, deployment: dict,
                          replication_controller: dict, coredns: bool, now: float) -> list[dict]:
    """The cluster's rows from the one cluster read: service-ports, rc-ready,
    deployment-available, kube-system-pods and (with ``coredns``) coredns-ready."""
    items, failed = _listing(read)
    rows = []

    def row(check, ok, detail):
        rows.append({"check": check, "node": node, "ok": bool(ok), "detail": detail})

    name = service["name"]
    svc = _find(items, "Service", name, namespace)
    wanted = f"{service['port']}:{service['node_port']}/TCP"
    line = svc_line(svc, now) if svc else ""
    row("service-ports", wanted in line.split(),
        line or f"kubectl get svc {name}: "
                + (failed or f"no Service {name} in namespace {namespace}"))

    rc_name, replicas = replication_controller["name"], int(replication_controller["replicas"])
    rc = _find(items, "ReplicationController", rc_name, namespace)
    if rc:
        counts = {"desired": int((rc.get("spec") or {}).get("replicas", 0)),
                  "current": int((rc.get("status") or {}).get("replicas", 0)),
                  "ready": int((rc.get("status") or {}).get("readyReplicas", 0))}
        row("rc-ready", all(v == replicas for v in counts.values()),
            " ".join(f"{k}={v}" for k, v in counts.items()) + f" (expected {replicas})")
    else:
        row("rc-ready", False,
            "kubectl get rc: " + (failed or f"no ReplicationController {rc_name} in namespace {namespace}"))

    dep_name = deployment["name"]
    dep = _find(items, "Deployment", dep_name, namespace)
    if dep:
        judged = verify_deployment(dep, deployment["replicas"])
        row("deployment-available", judged["ok"], judged["detail"])
    else:
        row("deployment-available", False, f"kubectl get deployment {dep_name}: "
            + (failed or f"no Deployment {dep_name} in namespace {namespace}"))

    pods = _of_namespace(items, "Pod", "kube-system")
    why = f"kubectl get pods -n kube-system: {failed}"
    judged = verify_kube_system(pods)
    row("kube-system-pods", judged["ok"] and not failed, why if failed else judged["detail"])
    if coredns:
        judged = verify_coredns(pods)
        row("coredns-ready", judged["ok"] and not failed, why if failed else judged["detail"])
    return rows


def nodeport_rules(nat_text: str, node_port) -> list[str]:
    """kube-proxy's KUBE-NODEPORTS rules for ``node_port`` in ``iptables-save -t nat``."""
    prefix, port = "-A KUBE-NODEPORTS ", f"--dport {node_port} "
    return [line for line in (nat_text or "").splitlines() if line.startswith(prefix) and port in line]


def _http_detail(http: dict, url: str, page_text: str) -> tuple[bool, str]:
    status = (http or {}).get("status", -1)
    ok = status == 200 and page_text in str((http or {}).get("content") or "")
    if ok:
        detail = f', "{page_text}" on the page'
    elif status == 200:
        detail = f', no "{page_text}" on the page'
    else:
        detail = ": " + re.sub(r"^Status code was -1 and not .200.: (Request failed: )?", "",
                               str((http or {}).get("msg") or ""))
    return ok, f"GET {url}: HTTP {status}{detail}"


def _node_ready(items, failed: str, name: str) -> tuple[bool, str]:
    found = _find(items, "Node", name)
    ready = [c for c in (found.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
    if ready and "status" in ready[0]:
        return ready[0]["status"] == "True", f"Ready={ready[0]['status']}: {ready[0].get('message', '')}"
    if failed:
        return False, f"kubectl get nodes failed: {failed}"
    return False, f"no node named {name} in the cluster"


def verify_pod_routes(routes_read, items, failed: str, node: str) -> tuple[bool, str]:
    """pod-routes: this node sends every other node's pod CIDR to that node and keeps its
    own. A route left from an earlier cluster makes the pods behind it unreachable while
    kube-proxy still sends them their share of the Service's requests, which a GET that
    may try again does not notice."""
    if failed:
        return False, f"kubectl get nodes failed: {failed}"
    routes_read = routes_read or {}
    if routes_read.get("rc", 1) != 0:
        return False, "ip -4 route show: " + (
            _failed_read(routes_read) or f"exited with status {routes_read.get('rc')}")
    table = [n for n in pod_cidr_table(items) if n["cidr"]]
    own = next((n["cidr"] for n in table if n["name"] == node), "")
    if not own:
        return False, f"the cluster gives {node} no pod CIDR"
    problems = pod_route_problems(routes_read.get("stdout"), table, node)
    if problems:
        return False, "; ".join(problems)
    others = ", ".join(f"{n['cidr']} via {n['via']} ({n['name']})" for n in table if n["name"] != node)
    return True, f"own pods {own} here; " + (f"routes {others}" if others else "no other node")


def verify_node_checks(node_read, http, cluster_read, *, node: str, url: str, node_port,
                       page_text: str, services: dict, os_family: str = "",
                       iptables_service: str = "stopped") -> list[dict]:
    """One node's rows: nodeport-serves-nginx (the controller's GET of ``url``),
    iptables-nodeport-rule and iptables-service-<state> (``node_read``: the node's reads,
    name -> argv, rc, stdout, stderr; or {msg} when the read failed), node-ready (the
    cluster read) and pod-routes (both).

    ``services`` maps an OS family to its iptables service; with the node's ``os_family``
    unknown (no facts gathered), the service is the one of them installed on the node."""
    rows = []

    def row(check, ok, detail):
        rows.append({"check": check, "node": node, "ok": bool(ok), "detail": detail})

    row("nodeport-serves-nginx", *_http_detail(http, url, page_text))

    node_read = node_read or {}
    nat = node_read.get("nat") or {"rc": 1, "stdout": "", "stderr": _failed_read(node_read)}
    rules = nodeport_rules(nat.get("stdout"), node_port)
    if rules:
        first = next((r for r in rules if "KUBE-SVC-" in r), rules[0])
        detail = f"{len(rules)} KUBE-NODEPORTS rule(s) for dport {node_port}: {first}"
    else:
        detail = f"no KUBE-NODEPORTS rule for dport {node_port} in iptables-save -t nat" + (
            f" ({_failed_read(nat)})" if nat.get("rc", 1) != 0 else "")
    row("iptables-nodeport-rule", rules, detail)

    units, units_error = _unit_states(node_read.get("units"))
    unit = services.get(os_family) or next(
        (u for u in services.values() if (units.get(u) or {}).get("LoadState") == "loaded"),
        " or ".join(dict.fromkeys(services.values())))
    props = units.get(unit) or next((units[u] for u in services.values() if u in units), None) or {
        "LoadState": units_error or _failed_read(node_read) or "?"}
    show = "\n".join(f"{k}={v}" for k, v in props.items())
    judged = verify_iptables_service(show, unit, iptables_service, (nat.get("stdout") or "").splitlines())
    row(f"iptables-service-{iptables_service}", judged["ok"], judged["detail"])

    items, failed = _listing(cluster_read)
    row("node-ready", *_node_ready(items, failed, node))
    row("pod-routes", *verify_pod_routes(node_read.get("routes") or {
        "rc": 1, "stderr": _failed_read(node_read) or "no route read"}, items, failed, node))
    return rows


def verify_dropped_checks(cluster_read, *, in_run=(), before=()) -> list[dict]:
    """Rows for the nodes this run could not check: ``in_run`` dropped out of this run (the
    controller could not reach them), ``before`` were unreachable in the up this verify
    follows and were left out of it. Each gets node-checked (failed) and node-ready, what
    the cluster says of it (a powered-off node: NotReady, Ready=Unknown)."""
    rows = []
    items, failed = _listing(cluster_read)
    reasons = {**{n: "not checked: unreachable in the up before this verify" for n in before or ()},
               **{n: "not checked: dropped out of this run (unreachable, or a task failed there:"
                     " see the failures)" for n in in_run or ()}}
    for node, reason in sorted(reasons.items()):
        rows.append({"check": "node-checked", "node": node, "ok": False, "detail": reason})
        ready, detail = _node_ready(items, failed, node)
        if not ready and detail.startswith("Ready="):
            detail = "the cluster says NotReady (" + detail + ")"
        rows.append({"check": "node-ready", "node": node, "ok": ready, "detail": detail})
    return rows


def _live_pods(lines) -> list[tuple[str, bool]]:
    """The RC's pods from lines ``name|deletionTimestamp|Ready``: (name, ready) of every pod
    not being deleted."""
    out = []
    for line in lines or []:
        fields = (line.split("|") + ["", ""])[:3]
        if fields[0] and not fields[1]:
            out.append((fields[0], fields[2] == "True"))
    return out


def verify_replace_before(cluster_read, namespace: str, app_label: str) -> list[str]:
    """The RC's live pods (label app=``app_label``, not being deleted) in the cluster read,
    by name; the check deletes the first."""
    items, _failed = _listing(cluster_read)
    return sorted(
        (p.get("metadata") or {}).get("name", "") for p in _of_namespace(items, "Pod", namespace)["items"]
        if ((p.get("metadata") or {}).get("labels") or {}).get("app") == app_label
        and not (p.get("metadata") or {}).get("deletionTimestamp"))


def verify_replace_done(lines, before, replicas) -> bool:
    """A Ready pod that was not there ``before`` has come, and ``replicas`` pods are Ready."""
    ready = [name for name, ok in _live_pods(lines) if ok]
    return any(name not in before for name in ready) and len(ready) >= int(replicas)


def verify_replace_check(after_lines, *, node: str, before, delete: dict, elapsed: float,
                         replicas, timeout, app_label: str) -> dict:
    """rc-replaces-pod: after the first of the pods ``before`` was deleted (``delete``: the
    kubectl delete result), a new pod is Ready and the RC has ``replicas`` Ready pods, within
    ``timeout`` seconds."""
    delete = delete or {}
    ready = [name for name, ok in _live_pods(after_lines) if ok]
    new = [name for name in ready if name not in before]
    deleted = bool(before) and bool(delete.get("changed"))
    ok = deleted and bool(new) and len(ready) >= int(replicas) and float(elapsed) <= int(timeout)
    if not before:
        detail = f"no live pod labelled app={app_label} to delete"
    elif not deleted:
        detail = f"kubectl delete pod {before[0]} failed: {_failed_read(delete)}"
    else:
        detail = (f"deleted {before[0]}; {len(ready)} of {replicas} pods Ready, new: {', '.join(new) or 'none'}"
                  f", after {float(elapsed):.1f} s (limit {timeout} s)")
    return {"check": "rc-replaces-pod", "node": node, "ok": ok, "detail": detail}


class FilterModule:
    def filters(self):
        return {
            "verify_kube_system": verify_kube_system,
            "verify_coredns": verify_coredns,
            "verify_deployment": verify_deployment,
            "verify_iptables_service": verify_iptables_service,
            "verify_cluster_settled": verify_cluster_settled,
            "verify_given_reads": verify_given_reads,
            "verify_nodeport_programmed": verify_nodeport_programmed,
            "verify_node_settled": verify_node_settled,
            "verify_cluster_checks": verify_cluster_checks,
            "verify_node_checks": verify_node_checks,
            "verify_dropped_checks": verify_dropped_checks,
            "verify_replace_before": verify_replace_before,
            "verify_replace_done": verify_replace_done,
            "verify_replace_check": verify_replace_check,
        }
