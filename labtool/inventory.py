"""The Ansible inventory of a lab: a pure function of the lab model (contract §2).

Everything the playbooks need is in the inventory — no extra vars — so
``ansible-playbook -i inventory.yml playbooks/up.yml`` and AWX run the same thing.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, Collection

import yaml

from labtool import _paths
from labtool.labfile import Lab, Node
from labtool.labfile.proxy import completed_no_proxy


def _password(path: Path) -> str:
    """Ansible reads a password file on the controller when it connects: the inventory holds
    the file's path, never the password."""
    return "{{ lookup('ansible.builtin.file', " + repr(str(path)) + ") }}"


def _proxy(sources: Any) -> str:
    """The proxy URL the nodes use; with a password file, a template that puts the password
    in on the controller when a task needs it (the inventory never holds the password)."""
    if sources.proxy_password_file is None:
        return sources.proxy
    scheme, rest = sources.proxy.split("://", 1)
    user, host = rest.split("@", 1)
    password = _password(sources.proxy_password_file)[:-3] + " | urlencode | replace('/', '%2F') }}"
    return f"{scheme}://{user}:{password}@{host}"


def _host_vars(node: Node, lab_key: Path | None = None) -> dict[str, Any]:
    """``lab_key``: the lab's own key, when ``labtool keys`` gave it to this node."""
    host: dict[str, Any] = {
        "ansible_host": node.address,
        "ansible_user": node.user,
        "ansible_port": node.port,
    }
    key = node.key or lab_key
    if key is not None:
        host["ansible_ssh_private_key_file"] = str(key)
    if node.password_file is not None and key is None:
        host["ansible_password"] = _password(node.password_file)
    # the playbooks' plays say become: true themselves (a user other than root gets there with
    # sudo and this password); ansible_become here would also override the tasks that say
    # become: false (those delegated to the controller)
    if node.become and node.password_file is not None:
        host["ansible_become_password"] = _password(node.password_file)
    host["node_ip"] = node.node_ip
    return host


def build_inventory(lab: Lab, state_dir: Path | str | None = None,
                    keyed: Collection[str] = ()) -> dict[str, Any]:
    """The inventory dict for ``lab``; ``state_dir`` defaults to ``<state root>/<lab name>``
    (``<state root>/<class>/<lab>`` for a lab of a class). ``keyed``: the nodes reached by the
    lab's own key ``<state>/id_ed25519`` (labtool.access.keyed_nodes)."""
    state = Path(state_dir) if state_dir is not None else _paths.state_dir(lab.state_name)
    state = state.expanduser().resolve()
    lab_key = state / "id_ed25519"

    def host(node: Node) -> dict[str, Any]:
        return _host_vars(node, lab_key if node.name in keyed else None)
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
                "lab_proxy": _proxy(sources),
                "lab_no_proxy": ",".join(completed_no_proxy(lab)) if sources.proxy else "",
                "lab_kube_packages_url": sources.kube_packages_url,
                "lab_kube_packages_layout": sources.kube_packages_layout,
                "lab_image_repository": sources.image_repository,
                "lab_registry_mirrors": {h: list(e) for h, e in sources.registry_mirrors.items()},
                "lab_flannel_manifest_url": sources.flannel_manifest_url,
                "lab_docker_repo_url": sources.docker_repo_url,
                "lab_coredns_image_repository": sources.coredns_image_repository,
                "lab_coredns_image_tag": sources.coredns_image_tag,
                "lab_pause_image": sources.pause_image,
                "lab_local_images": sources.local_images,
                "lab_air_gapped": sources.air_gapped,
                "lab_workloads": lab.workloads.model_dump(mode="json"),
                "ansible_ssh_common_args": (
                    "-o " + shlex.quote(f"UserKnownHostsFile={state / 'known_hosts'}")
                    + " -o StrictHostKeyChecking=accept-new"
                ),
            },
            "children": {
                "control_plane": {"hosts": {lab.control_plane.name: host(lab.control_plane)}},
                "workers": {"hosts": {n.name: host(n) for n in lab.workers}},
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


# --------------------------------------------------------------------------- a class of labs


def class_group(lab_name: str) -> str:
    """The Ansible group of one lab in the class inventory (``cr-1`` -> ``lab_cr_1``:
    Ansible group names take no '-'; lab names have no '_', so no two labs share one)."""
    return "lab_" + lab_name.replace("-", "_")


def build_class_inventory(classroom: Any) -> dict[str, Any]:
    """One inventory for a whole class (a :class:`labtool.labfile.Classroom`): a group per lab,
    ``lab_<name>``, holding that lab's variables, with the lab's own groups inside it as
    ``lab_<name>_control_plane`` and ``lab_<name>_workers``; hosts are ``<lab>-<node>`` (node
    names repeat from lab to lab), each with its ``node_name``.

    It reaches every machine of the class (``ansible -i ... lab_cr_1 -m ping``, an AWX
    inventory of the class); the playbooks build one lab per run, from the lab's own
    inventory (:func:`build_inventory`, ``labtool inventory -f class.yml --lab NAME``), since
    their groups (``control_plane``, ``workers``) are global in Ansible."""
    children: dict[str, Any] = {}
    for lab in classroom.labs:
        single = build_inventory(lab)["all"]
        group = class_group(lab.name)
        lab_children = {}
        for kind, sub in single["children"].items():
            lab_children[f"{group}_{kind}"] = {"hosts": {
                f"{lab.name}-{host}": {**hostvars, "node_name": host}
                for host, hostvars in sub["hosts"].items()}}
        children[group] = {"vars": single["vars"], "children": lab_children}
    return {"all": {"vars": {"lab_class": classroom.name}, "children": children}}
