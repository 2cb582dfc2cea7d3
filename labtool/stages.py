"""The walkthrough's stages that `labtool up --until` builds a lab up to: the nodes prepared
(iptables, node prep, containerd, kube packages), the cluster running (kubeadm init and
join, the pod network), or everything (the walkthrough's objects too: today's up).

A stage short of everything is an up with the stage's roles' tags only, after
playbooks/stage.yml brought a lab that is further along back to it; that playbook leaves
what it removed in <lab state dir>/stage.json, which :func:`removed` puts in words."""

from __future__ import annotations

import json
from pathlib import Path

NODES, CLUSTER, EVERYTHING = "nodes", "cluster", "everything"
STAGES = (NODES, CLUSTER, EVERYTHING)
# the roles' tags (playbooks/up.yml, nodes.yml) each stage short of everything runs
TAGS = {
    NODES: "node_prep,iptables,container_node,containerd,kube_packages",
    CLUSTER: "node_prep,iptables,container_node,containerd,kube_packages,control_plane,workers,pod_network",
}


def _active_units(stdout: str) -> list[str]:
    units = []
    for block in stdout.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("LoadState") == "loaded" and (props.get("ActiveState") == "active"
                                                   or props.get("UnitFileState") == "enabled"):
            units.append(props.get("Id", "").removesuffix(".service"))
    return units


def removed(report: dict, iptables_service: str = "stopped") -> list[str]:
    """What bringing the lab back removed, one line each, from stage.json's content."""
    out = []
    if report.get("cluster"):
        out.append("the cluster: kubeadm reset on every node (role reset)")
    out += [line.replace('"', "") for line in report.get("objects") or []]
    if iptables_service != "enabled":
        for node, stdout in sorted((report.get("iptables") or {}).items()):
            for unit in _active_units(stdout or ""):
                out.append(f"{node}: {unit} was running or enabled; stopped and disabled again "
                           f"(the iptables step's starting state)")
    return out


def removed_text(state_dir: Path, lab_name: str, iptables_service: str = "stopped") -> str:
    """One line a removed thing, prefixed by the lab, or what says nothing was removed."""
    try:
        report = json.loads((Path(state_dir) / "stage.json").read_text())
    except (OSError, ValueError):
        return ""
    lines = removed(report, iptables_service)
    if not lines:
        return f"{lab_name}: back to stage {report.get('until')}: nothing to remove"
    return "\n".join(f"{lab_name}: back to stage {report.get('until')}: removed {line}" for line in lines)
