"""The Ansible inventory of a lab: a pure function of the lab model (contract §2).

Everything the playbooks need is in the inventory — no extra vars — so
``ansible-playbook -i inventory.yml playbooks/up.yml`` and AWX run the same thing.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from labtool import _paths
from labtool.lab import Lab, Node


def _host_vars(node: Node) -> dict[str, Any]:
    host: dict[str, Any] = {
        "ansible_host": node.address,
        "ansible_user": node.user,
        "ansible_port": node.port,
    }
    if node.key is not None:
        host["ansible_ssh_private_key_file"] = str(node.key)
    host["node_ip"] = node.node_ip
    return host


def build_inventory(lab: Lab, state_dir: Path | str | None = None) -> dict[str, Any]:
    """The inventory dict for ``lab``; ``state_dir`` defaults to ``<state root>/<lab name>``."""
    state = Path(state_dir) if state_dir is not None else _paths.state_dir(lab.name)
    state = state.expanduser().resolve()
    k8s, sources = lab.kubernetes, lab.sources
    return {
        "all": {
            "vars": {
                "lab_name": lab.name,
                "lab_state_dir": str(state),
                "lab_node_profile": lab.node_profile,
                "lab_iptables_service": lab.iptables_service,
                "lab_kubernetes_version": k8s.version,
                "lab_pod_cidr": k8s.pod_cidr,
                "lab_service_cidr": k8s.service_cidr,
                "lab_pod_network": k8s.pod_network,
                "lab_coredns": k8s.coredns,
                "lab_sources_mode": sources.mode,
                "lab_artifacts_dir": str(sources.artifacts) if sources.mode == "local" else "",
                "lab_package_proxy": sources.package_proxy,
                "lab_kube_packages_url": sources.kube_packages_url,
                "lab_image_repository": sources.image_repository,
                "lab_registry_mirrors": {h: list(e) for h, e in sources.registry_mirrors.items()},
                "lab_flannel_manifest_url": sources.flannel_manifest_url,
                "lab_local_images": sources.local_images,
                "lab_workloads": lab.workloads.model_dump(mode="json"),
                "ansible_ssh_common_args": (
                    "-o " + shlex.quote(f"UserKnownHostsFile={state / 'known_hosts'}")
                    + " -o StrictHostKeyChecking=accept-new"
                ),
            },
            "children": {
                "control_plane": {"hosts": {lab.control_plane.name: _host_vars(lab.control_plane)}},
                "workers": {"hosts": {n.name: _host_vars(n) for n in lab.workers}},
            },
        }
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # version-like strings ("1.20.2", "1.30") are quoted so that no reader takes them for numbers
    style = '"' if re.fullmatch(r"v?\d+(\.\d+)+", value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_inventory(inventory: dict[str, Any]) -> str:
    """The inventory as YAML text (what ``labtool inventory`` prints)."""
    return yaml.dump(inventory, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=10000)
