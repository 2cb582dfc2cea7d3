"""The walkthrough's steps, by the role that does each (README: "The walkthrough, step by
step"), so that a failure is named in the user's words. Imports nothing of labtool."""

from __future__ import annotations

STEPS = {
    "iptables": "step 1, iptables and its service",
    "node_prep": "step 2a, node preparation (swap off, kernel modules, sysctls, host names, OS packages)",
    "container_node": "step 2a, node preparation (the node containers' adaptations)",
    "containerd": "step 2b, the container runtime (containerd)",
    "kube_packages": "step 2c, kubeadm, kubelet and kubectl",
    "control_plane": "step 2d, kubeadm init on the control plane",
    "workers": "step 2e, kubeadm join on the workers",
    "pod_network": "step 2f, the pod network",
    "workloads": "step 3, the Deployment dep01, the Service mysvc and the RC my-nginx",
    "verify": "step 4, the checks of the walkthrough",
    "reset": "rebuilding the machines (reset)",
    "converge_stamp": "comparing the nodes with the last up",
}


def step_of(role: str) -> str:
    """The walkthrough step a role belongs to ('' for a task of no role)."""
    return STEPS.get((role or "").rsplit(".", 1)[-1], "")
