"""verify's rows for nodes it could not check: a dead worker is named, with what the cluster
says of it (issue 19, case 5)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import ansible_module  # noqa: F401  (puts collections/ on sys.path: the plugin imports labtool.lab's filter)

_PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/verify_checks.py"
_spec = importlib.util.spec_from_file_location("verify_checks_dropped", _PLUGIN)
vc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vc)


def _cluster(ready: str, message: str) -> dict:
    node = {"kind": "Node", "metadata": {"name": "w2"}, "status": {"conditions": [
        {"type": "Ready", "status": ready, "message": message}]}}
    return {"rc": 0, "stdout": json.dumps({"kind": "List", "items": [node]})}


def test_a_dead_worker_gets_unreachable_and_notready_rows():
    rows = vc.verify_dropped_checks(_cluster("Unknown", "Kubelet stopped posting node status."), before=["w2"])
    assert [(r["check"], r["node"], r["ok"]) for r in rows] == [
        ("node-checked", "w2", False), ("node-ready", "w2", False)]
    assert "unreachable" in rows[0]["detail"]
    assert rows[1]["detail"].startswith("the cluster says NotReady (Ready=Unknown")


def test_dropped_in_run_and_nothing_dropped():
    rows = vc.verify_dropped_checks({"rc": 1, "stderr": "connection refused"}, in_run=["cp"])
    assert rows[0]["detail"].startswith("not checked: dropped out of this run")
    assert rows[1]["ok"] is False and "kubectl get nodes failed" in rows[1]["detail"]
    assert vc.verify_dropped_checks(_cluster("True", "ok")) == []
