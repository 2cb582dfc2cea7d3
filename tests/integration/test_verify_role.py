"""The verify role as Ansible runs it (tasks, module, Jinja and filter together), against
stand-ins: a kubectl that prints the one List a healthy or broken cluster would, an
iptables-save and a systemctl that print a node's rules and service state, and an HTTP
server in place of the NodePort. Each check must come out FAIL when its fact is broken and
PASS when it holds; the rows reach the report through set_stats (labtool_verify)."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))  # run alone too
from test_verify_checks import COREDNS, HEALTHY, deployment, listing, pod  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

FAKE_KUBECTL = """#!/usr/bin/env python3
import os, sys
path = os.path.join(os.environ["FAKE_DIR"], "cluster.json")
if not os.path.exists(path):
    sys.stderr.write("The connection to the server 10.0.0.1:6443 was refused\\n")
    sys.exit(1)
sys.stdout.write(open(path).read())
"""
FAKE_PRINT = """#!/usr/bin/env python3
import os, sys
sys.stdout.write(open(os.path.join(os.environ["FAKE_DIR"], "{name}")).read())
"""

NODE = "localhost"
WORKER = "w1"  # a second inventory name for this machine: a worker checked without the control plane


def kind(obj, kind_, namespace="default", name=None):
    meta = {**obj.get("metadata", {}), "namespace": namespace}
    if name:
        meta["name"] = name
    return {**obj, "kind": kind_, "metadata": meta}


SVC = {"metadata": {"name": "mysvc", "creationTimestamp": "2021-01-20T10:00:00Z"},
       "spec": {"type": "NodePort", "clusterIP": "10.107.14.71",
                "ports": [{"port": 8080, "nodePort": 30001, "protocol": "TCP", "targetPort": 80}]}}
RC = {"metadata": {"name": "my-nginx"}, "spec": {"replicas": 2},
      "status": {"replicas": 2, "readyReplicas": 2}}
READY_NODE = {"metadata": {"name": NODE}, "spec": {"podCIDR": "10.244.0.0/24"}, "status": {
    "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
    "conditions": [{"type": "Ready", "status": "True", "message": "kubelet is posting ready status"}]}}
# a node of the cluster that is not in the inventory: the checked node must route its pods
OTHER_NODE = {"metadata": {"name": "w9"}, "spec": {"podCIDR": "10.244.9.0/24"}, "status": {
    "addresses": [{"type": "InternalIP", "address": "10.0.0.9"}],
    "conditions": [{"type": "Ready", "status": "True", "message": "kubelet is posting ready status"}]}}
ROUTES = ("default via 10.0.0.254 dev eth0\n10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1\n"
          "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1\n"
          "10.244.9.0/24 via 10.0.0.9 dev eth0 proto 73\n")


def cluster(port, svc=SVC, rc=RC, dep=None, pods=None, nodes=(READY_NODE, OTHER_NODE)):
    """The List of the one kubectl call; the Service's nodePort is the stand-in's ``port``."""
    items = [kind(n, "Node", namespace=None) for n in nodes]
    if svc:
        ports = [{**p, "nodePort": port} if p.get("nodePort") else p for p in svc["spec"]["ports"]]
        items.append(kind({**svc, "spec": {**svc["spec"], "ports": ports}}, "Service"))
    items += [kind(rc, "ReplicationController")] if rc else []
    items += [kind(dep or deployment(2, 2), "Deployment", name="dep01")] if dep is not False else []
    items += [kind(p, "Pod", "kube-system") for p in (pods if pods is not None else [*HEALTHY, COREDNS])]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def nat(port):
    return ("*nat\n:KUBE-NODEPORTS - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n"
            f"-A KUBE-NODEPORTS -p tcp -m tcp --dport {port} -j KUBE-SVC-ABC\n"
            "-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -j KUBE-SVC-NPX\nCOMMIT\n")


SHOW_STOPPED = ("Id=netfilter-persistent.service\nLoadState=loaded\nActiveState=inactive\n\n"
                "Id=iptables.service\nLoadState=not-found\nActiveState=inactive\n")


@pytest.fixture(scope="module")
def nodeport():
    """An HTTP server standing in for the NodePort: nginx's welcome page."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<title>Welcome to nginx!</title>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def run_role(tmp_path: Path, port: int, *, objects, rules=None, show=SHOW_STOPPED, routes=ROUTES,
             coredns=True, limit=None, given=None) -> tuple[int, dict[str, dict]]:
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, text in {"kubectl": FAKE_KUBECTL, "iptables-save": FAKE_PRINT.format(name="nat"),
                       "systemctl": FAKE_PRINT.format(name="show"), "ip": FAKE_PRINT.format(name="routes")}.items():
        (fake / name).write_text(text)
        (fake / name).chmod(0o755)
    data = tmp_path / "data"
    data.mkdir()
    if objects is not None:
        (data / "cluster.json").write_text(json.dumps(objects))
    (data / "nat").write_text(nat(port) if rules is None else rules)
    (data / "show").write_text(show)
    (data / "routes").write_text(routes)
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "name": "The verify role", "hosts": "control_plane:workers", "gather_facts": False,
        "roles": [{"role": "verify", "verify_replace_pod": False, "verify_coredns": coredns,
                   "verify_kube_system_timeout": 3, "verify_kube_proxy_timeout": 0,
                   "verify_node_address": "127.0.0.1",
                   "verify_service": {"name": "mysvc", "port": 8080, "node_port": port},
                   **({"verify_node_reads": given} if given is not None else {})}]}]))
    inventory = tmp_path / "hosts.yml"
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "control_plane": {"hosts": {NODE: local}},
        "workers": {"hosts": {WORKER: local} if limit else {}}}}}))
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
           "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_SHOW_CUSTOM_STATS": "1",
           "FAKE_DIR": str(data), "PATH": f"{fake}:{BIN}:/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(play),
                           *(["--limit", limit] if limit else [])],
                          capture_output=True, text=True, env={**os.environ, **env}, cwd=tmp_path)
    assert done.returncode in (0, 2), done.stdout[-3000:] + done.stderr
    rows = json.loads(done.stdout)["global_custom_stats"]["labtool_verify"]
    assert set(rows) == {f"{r['check']}/{r['node']}" for r in rows.values()}
    return done.returncode, {r["check"]: r for r in rows.values()}


def test_a_healthy_lab_passes_every_check(tmp_path, nodeport):
    code, results = run_role(tmp_path, nodeport, objects=cluster(nodeport))
    assert code == 0
    assert {c: r["ok"] for c, r in results.items()} == {
        "nodeport-serves-nginx": True, "iptables-nodeport-rule": True,
        "iptables-service-stopped": True, "node-ready": True, "pod-routes": True,
        "service-ports": True, "rc-ready": True, "deployment-available": True,
        "kube-system-pods": True, "coredns-ready": True}
    assert results["kube-system-pods"]["detail"] == "5 pods Running and ready"
    assert results["service-ports"]["detail"].startswith(
        f"mysvc NodePort 10.107.14.71 <none> 8080:{nodeport}/TCP ")
    assert results["iptables-service-stopped"]["detail"] == (
        "netfilter-persistent inactive (the lab asks for stopped); kube-proxy's rules: 3 KUBE-* rules in nat"
                                " (in KUBE-* chains or jumping to one)")
    assert results["nodeport-serves-nginx"]["detail"] == (
        f'GET http://127.0.0.1:{nodeport}/: HTTP 200, "Welcome to nginx" on the page')


# Two broken labs, each with one broken fact per check (the checks read different facts, so
# one run shows each of them failing on its own fact): what each check must then say.
BROKEN = {
    "some broken": (
        {"dep": deployment(2, 1), "rc": {**RC, "status": {"replicas": 2, "readyReplicas": 1}},
         "svc": {**SVC, "spec": {**SVC["spec"], "type": "ClusterIP", "ports": [{"port": 8080, "protocol": "TCP"}]}},
         "pods": [*HEALTHY, COREDNS, pod("kube-proxy-q", "Pending", False, "ErrImagePull")],
         "nodes": [{**READY_NODE, "status": {**READY_NODE["status"], "conditions": [
             {"type": "Ready", "status": "False", "message": "container runtime is down"}]}}, OTHER_NODE]},
        None, SHOW_STOPPED.replace("ActiveState=inactive", "ActiveState=active", 1),
        ROUTES + "10.244.0.0/24 via 10.0.0.9 dev eth0\n",
        {"pod-routes": "its own pod CIDR 10.244.0.0/24 is routed away: 10.244.0.0/24 via 10.0.0.9 dev eth0",
         "deployment-available": "available=1 (expected 2)", "rc-ready": "ready=1 (expected 2)",
         "service-ports": "mysvc ClusterIP 10.107.14.71 <none> 8080/TCP ",
         "kube-system-pods": "1 of 6 pods unhealthy: kube-proxy-q: kube ErrImagePull",
         "node-ready": "Ready=False: container runtime is down",
         "iptables-service-stopped": "netfilter-persistent active (the lab asks for stopped)"}),
    "others missing": (
        {"dep": False, "svc": None, "nodes": [],
         "pods": [*HEALTHY, pod("coredns-x", ready=False, waiting="CrashLoopBackOff",
                                labels={"k8s-app": "kube-dns"})]},
        "*nat\nCOMMIT\n", SHOW_STOPPED.replace("LoadState=loaded", "LoadState=not-found"), ROUTES,
        {"pod-routes": f"the cluster gives {NODE} no pod CIDR",
         "deployment-available": "kubectl get deployment dep01: no Deployment dep01 in namespace default",
         "service-ports": "kubectl get svc mysvc: no Service mysvc in namespace default",
         "node-ready": f"no node named {NODE} in the cluster",
         "coredns-ready": "coredns-x: coredns CrashLoopBackOff",
         "kube-system-pods": "coredns-x: coredns CrashLoopBackOff",
         "iptables-nodeport-rule": "no KUBE-NODEPORTS rule for dport",
         "iptables-service-stopped": "netfilter-persistent or iptables not installed"}),
}


@pytest.mark.parametrize("lab", BROKEN)
def test_each_check_fails_when_its_fact_is_broken(tmp_path, nodeport, lab):
    broken, rules, show, routes, expected = BROKEN[lab]
    code, results = run_role(tmp_path, nodeport, objects=cluster(nodeport, **broken), rules=rules, show=show,
                             routes=routes)
    assert code == 2
    assert {c for c, r in results.items() if not r["ok"]} == set(expected)
    for check, words in expected.items():
        assert words in results[check]["detail"], results[check]


def test_no_api_server_fails_every_cluster_check_with_kubectls_words(tmp_path, nodeport):
    code, results = run_role(tmp_path, nodeport, objects=None)
    assert code == 2
    failed = {c for c, r in results.items() if not r["ok"]}
    assert failed == {"service-ports", "rc-ready", "deployment-available", "kube-system-pods",
                      "coredns-ready", "node-ready", "pod-routes"}
    assert all("was refused" in results[c]["detail"] for c in failed)


def test_coredns_is_not_expected_where_it_was_not_installed(tmp_path, nodeport):
    code, results = run_role(tmp_path, nodeport, objects=cluster(nodeport, pods=HEALTHY), coredns=False)
    assert code == 0
    assert "coredns-ready" not in results
    assert results["kube-system-pods"]["ok"] is True


_LOOKUP = ROOT / "plugins/lookup/verify_get.py"


def _verify_get():
    import importlib.util

    spec = importlib.util.spec_from_file_location("verify_get", _LOOKUP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_controllers_get_says_what_the_uri_module_said(nodeport):
    lookup = _verify_get()
    answer = lookup.get(f"http://127.0.0.1:{nodeport}/", 5)
    assert answer["status"] == 200 and "Welcome to nginx" in answer["content"]
    with socket_closed() as port:
        refused = lookup.get(f"http://127.0.0.1:{port}/", 5)
    assert refused["status"] == -1
    assert refused["msg"] == ("Status code was -1 and not [200]: Request failed: "
                              "<urlopen error [Errno 111] Connection refused>")


def test_the_get_tries_again_only_while_the_page_is_not_there():
    lookup = _verify_get()
    answers = [{"status": -1, "content": "", "msg": "refused"},
               {"status": 200, "content": "It works!", "msg": "OK"},
               {"status": 200, "content": "Welcome to nginx!", "msg": "OK"}]
    slept = []
    got = lookup.get_until("http://x/", "Welcome to nginx", 5, 5, 2, sleep=slept.append,
                           fetch=lambda url, timeout: dict(answers.pop(0)))
    assert got["attempts"] == 3 and got["status"] == 200 and slept == [2, 2]
    never = lookup.get_until("http://x/", "Welcome to nginx", 5, 5, 2, sleep=slept.append,
                             fetch=lambda url, timeout: {"status": 502, "content": "", "msg": "bad"})
    assert never["attempts"] == 5 and never["status"] == 502


@contextlib.contextmanager
def socket_closed():
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


def test_without_the_control_plane_among_the_checked_nodes_the_cluster_is_still_read(tmp_path, nodeport):
    worker = {**OTHER_NODE, "metadata": {"name": WORKER}}
    worker_routes = ("10.244.0.0/24 via 10.0.0.1 dev eth0 proto 73\n"
                     "10.244.9.0/24 dev cni0 proto kernel scope link src 10.244.9.1\n")
    code, results = run_role(tmp_path, nodeport, objects=cluster(nodeport, nodes=(READY_NODE, worker)),
                             routes=worker_routes, limit=WORKER)
    assert code == 0
    rows = {(r["check"], r["node"]) for r in results.values()}
    assert ("node-ready", WORKER) in rows and ("rc-ready", NODE) in rows
    assert ("node-ready", NODE) not in rows


# what the role's verify_read_commands are on the control plane, with no facts gathered
READ_COMMANDS = {
    "nat": ["iptables-save", "-t", "nat"],
    "routes": ["ip", "-4", "route", "show"],
    "units": ["systemctl", "show", "--property=Id,LoadState,ActiveState",
              "netfilter-persistent.service", "iptables.service"],
    "cluster": ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get",
                "nodes,services,replicationcontrollers,deployments,pods", "--all-namespaces",
                "--output", "json"]}


def given_reads(port, rules=None, commands=READ_COMMANDS):
    """What an earlier play's run of the read commands printed on a healthy node."""
    out = {"nat": nat(port) if rules is None else rules, "units": SHOW_STOPPED, "routes": ROUTES,
           "cluster": json.dumps(cluster(port))}
    return {name: {"argv": argv, "rc": 0, "stdout": out[name], "stderr": ""} for name, argv in commands.items()}


def test_reads_an_earlier_play_made_stand_in_for_the_nodes_own(tmp_path, nodeport):
    # the stand-ins would show a broken node (no API server, no rule): the given reads are used
    code, results = run_role(tmp_path, nodeport, objects=None, rules="*nat\nCOMMIT\n",
                             given=given_reads(nodeport))
    assert code == 0, results
    assert all(r["ok"] for r in results.values())


@pytest.mark.parametrize("why", ["other commands", "no nodeport rule yet"])
def test_the_node_is_read_again_when_the_given_reads_cannot_stand_in(tmp_path, nodeport, why):
    if why == "other commands":
        given = given_reads(nodeport, commands={**READ_COMMANDS, "nat": ["iptables-save"]})
    else:
        given = given_reads(nodeport, rules="*nat\nCOMMIT\n")
    code, results = run_role(tmp_path, nodeport, objects=None, given=given)
    assert code == 2
    assert "The connection to the server" in results["service-ports"]["detail"]
