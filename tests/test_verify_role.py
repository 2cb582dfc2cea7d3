"""The verify role's cluster checks as Ansible runs them (tasks, Jinja and filter together),
against a stand-in kubectl that prints what a broken or a healthy cluster would: each new
check must come out FAIL when its fact is broken, and PASS when it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from test_verify_checks import COREDNS, HEALTHY, deployment, listing, pod

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

FAKE_KUBECTL = """#!/usr/bin/env python3
import os, sys
args = sys.argv[1:]
kind = args[args.index("get") + 1]
name = {"svc": "svc", "replicationcontroller": "rc", "deployment": "deployment", "pods": "pods"}[kind]
path = os.path.join(os.environ["FAKE_KUBE_DIR"], name)
if not os.path.exists(path):
    sys.stderr.write(f'Error from server (NotFound): {kind} not found\\n')
    sys.exit(1)
sys.stdout.write(open(path).read())
"""

SVC = ("NAME    TYPE       CLUSTER-IP     EXTERNAL-IP   PORT(S)          AGE\n"
       "mysvc   NodePort   10.107.14.71   <none>        8080:30001/TCP   5m\n")
RC = {"spec": {"replicas": 2}, "status": {"replicas": 2, "readyReplicas": 2}}


def run_cluster_checks(tmp_path: Path, objects: dict, coredns: bool) -> dict[str, dict]:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "kubectl").write_text(FAKE_KUBECTL)
    (fake / "kubectl").chmod(0o755)
    kube = tmp_path / "kube"
    kube.mkdir()
    for name, content in objects.items():
        (kube / name).write_text(content if isinstance(content, str) else json.dumps(content))
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "name": "The verify role's cluster checks", "hosts": "localhost", "gather_facts": False,
        "vars": {"verify_control_plane_host": "localhost", "verify_coredns": coredns,
                 "verify_kube_system_timeout": 3},
        "tasks": [
            {"name": "Run the cluster checks", "ansible.builtin.include_role":
             {"name": "verify", "tasks_from": "cluster"}},
            {"name": "Show the results", "ansible.builtin.debug": {"var": "_verify_cluster_results"}},
        ]}]))
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
           "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "FAKE_KUBE_DIR": str(kube),
           "PATH": f"{fake}:{BIN}:/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play)],
                          capture_output=True, text=True, env={**os.environ, **env}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    tasks = json.loads(done.stdout)["plays"][0]["tasks"]
    results = tasks[-1]["hosts"]["localhost"]["_verify_cluster_results"]
    return {r["check"]: r for r in results}


GOOD = {"svc": SVC, "rc": RC, "deployment": deployment(2, 2),
        "pods": listing(*HEALTHY, COREDNS)}


def test_a_healthy_cluster_passes_every_check(tmp_path):
    results = run_cluster_checks(tmp_path, GOOD, coredns=True)
    assert {c: r["ok"] for c, r in results.items()} == {
        "service-ports": True, "rc-ready": True, "deployment-available": True,
        "kube-system-pods": True, "coredns-ready": True}
    assert results["kube-system-pods"]["detail"] == "5 pods Running and ready"


@pytest.mark.parametrize("broken,check,words", [
    ({"deployment": deployment(2, 1)}, "deployment-available", "available=1 (expected 2)"),
    ({"deployment": None}, "deployment-available", "NotFound"),  # no such Deployment
    ({"pods": listing(*HEALTHY, COREDNS, pod("kube-proxy-q", "Pending", False, "ErrImagePull"))},
     "kube-system-pods", "kube-proxy-q: kube ErrImagePull"),
    ({"pods": listing(*HEALTHY, pod("coredns-x", ready=False, waiting="CrashLoopBackOff",
                                    labels={"k8s-app": "kube-dns"}))},
     "coredns-ready", "CrashLoopBackOff"),
    ({"pods": listing(*HEALTHY)}, "coredns-ready", "no CoreDNS pod"),
])
def test_each_new_check_fails_when_its_fact_is_broken(tmp_path, broken, check, words):
    objects = {name: obj for name, obj in {**GOOD, **broken}.items() if obj is not None}
    results = run_cluster_checks(tmp_path, objects, coredns=True)
    assert results[check]["ok"] is False, results[check]
    assert words in results[check]["detail"]


def test_coredns_is_not_expected_where_it_was_not_installed(tmp_path):
    results = run_cluster_checks(tmp_path, {**GOOD, "pods": listing(*HEALTHY)}, coredns=False)
    assert "coredns-ready" not in results
    assert results["kube-system-pods"]["ok"] is True
