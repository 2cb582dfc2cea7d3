"""Judging a lab's nodes before anything is installed (``labtool check``): raw facts in, one
finding per node and check out. Pure: it knows kubeadm's requirements, not Ansible.

The facts of a node (:class:`NodeFacts`) are what ``playbooks/check.yml`` brings: the
``setup`` module's ``ansible_facts`` as it reports them, and the plain output of a few
read-only probes. :func:`judge` turns the facts of every node of a lab into a
:class:`Preflight`: a table of (node, check, result, what to do) and an exit code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from labtool import exitcodes
from labtool.labfile import Lab
from labtool.labfile.manifest import DEBS_COMMAND, manifest_debs, read_manifest

# as roles/node_prep/defaults/main.yml (node_prep_supported_os): distribution -> first major
SUPPORTED_OS = {"Debian": 11, "Ubuntu": 20, "Rocky": 9, "AlmaLinux": 9, "RedHat": 9, "CentOS": 9}
MIN_PYTHON = (3, 8)
# kubeadm's preflight (NumCPU, Mem): 2 CPUs and 1700 MB on a control plane
CP_MIN_CPUS, CP_MIN_MEMORY_MB = 2, 1700
MAX_CLOCK_SKEW_S = 30
SSH, SUDO = "ssh", "sudo"
CHECKS = (SSH, SUDO, "os", "os-packages", "python", "cpus", "memory", "swap", "hostname", "machine-id",
          "product_uuid", "mac", "ports", "reach-cp", "clock", "sources")


@dataclass
class NodeFacts:
    """What the check playbook brought from one node (every part optional)."""

    unreachable: str = ""  # ssh's reason, in one line, when the node could not be reached
    raw_message: str = ""  # ssh's whole message then
    python: str = ""  # python3's version ("3.10.12"), or "none"
    sudo: dict[str, Any] | None = None  # the setup run through sudo: {"failed": ...} (msg)
    setup: dict[str, Any] = field(default_factory=dict)  # ansible_facts
    listening: str = ""  # /proc/net/tcp and tcp6 (and kubelet.conf's path when it exists)
    reach_cp: dict[str, Any] | None = None  # a worker's TCP connect to the control plane: failed, msg
    sources: list[dict[str, Any]] = field(default_factory=list)  # [{url, ok, msg}]
    seen_at: float | None = None  # the controller's clock when the facts arrived (epoch s)


@dataclass(frozen=True)
class Finding:
    node: str
    check: str
    ok: bool
    result: str
    fix: str = ""


@dataclass
class Preflight:
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    @property
    def unreachable(self) -> list[str]:
        return [f.node for f in self.failed if f.check == SSH]

    @property
    def exit_code(self) -> int:
        if self.unreachable:
            return exitcodes.UNREACHABLE
        return exitcodes.VERIFY_FAILED if self.failed else exitcodes.OK

    def to_dict(self) -> dict[str, Any]:
        return {"ok": not self.failed, "findings": [f.__dict__ for f in self.findings]}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def listening_ports(proc_net_tcp: str) -> set[int]:
    """The TCP ports in LISTEN state (0A) in /proc/net/tcp and tcp6."""
    ports = set()
    for line in proc_net_tcp.splitlines():
        parts = line.split()
        if len(parts) > 3 and ":" in parts[1] and parts[3] == "0A":
            try:
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
            except ValueError:
                continue
    return ports


def _macs(setup: dict[str, Any]) -> set[str]:
    """The MAC addresses of the node's own interfaces (not loopback, bridges or veths)."""
    out = set()
    for name in setup.get("interfaces") or []:
        iface = setup.get(name.replace("-", "_")) or {}
        mac = str(iface.get("macaddress") or "").lower()
        kind = str(iface.get("type") or "")
        if (mac and mac != "00:00:00:00:00:00" and kind != "loopback"
                and not name.startswith(("veth", "docker", "cni", "flannel", "br-", "virbr", "lo"))):
            out.add(mac)
    return out


class _Judge:
    def __init__(self, lab: Lab, facts: dict[str, NodeFacts]):
        self.lab, self.facts, self.out = lab, facts, Preflight()
        self.container = lab.node_profile == "container"
        self.debs = _artifacts_debs(lab) if lab.sources.air_gapped else {}

    def add(self, node: str, check: str, ok: bool, result: str, fix: str = "") -> None:
        self.out.findings.append(Finding(node, check, ok, result, "" if ok else fix))

    def node(self, name: str, f: NodeFacts) -> None:
        node = next(n for n in self.lab.nodes if n.name == name)
        if f.unreachable:
            self.add(name, SSH, False, f.unreachable,
                     f"ssh -p {node.port} {node.user}@{node.address} must log in "
                     "(labtool keys, --ask-pass or password_file:)")
            return
        self.add(name, SSH, True, f"{node.user}@{node.address}:{node.port}")
        self._sudo(node, f)
        self._python(name, f.python)
        s = f.setup
        if not s:
            return
        self._os(name, s)
        self._os_packages(name, s)
        control_plane = node.role == "control-plane"
        cpus = int(s.get("processor_vcpus") or s.get("processor_count") or 0)
        mem = int(s.get("memtotal_mb") or 0)
        need_cpus, need_mem = (CP_MIN_CPUS, CP_MIN_MEMORY_MB) if control_plane else (1, 0)
        self.add(name, "cpus", cpus >= need_cpus, f"{cpus}" + (f" (at least {need_cpus})" if control_plane else ""),
                 f"give the VM {need_cpus} CPUs: kubeadm init refuses fewer on a control plane")
        self.add(name, "memory", mem >= need_mem, f"{mem} MB" + (f" (at least {need_mem})" if control_plane else ""),
                 f"give the VM at least {need_mem} MB: kubeadm init refuses less on a control plane")
        swap = int(s.get("swaptotal_mb") or 0)
        self.add(name, "swap", True, "on: labtool turns it off (swapoff, fstab)" if swap else "off")
        self._ports(name, f.listening)
        if f.reach_cp is not None:
            cp = self.lab.control_plane
            reached = not f.reach_cp.get("failed")
            self.add(name, "reach-cp", reached, f"{cp.node_ip}:22 " + ("answers" if reached else
                     "does not answer: " + str(f.reach_cp.get("msg") or "").strip()),
                     f"let {name} reach {cp.name} ({cp.node_ip}) over TCP: firewall, routes, VLAN")
        self._clock(name, s, f.seen_at)
        for source in f.sources:
            self.add(name, "sources", bool(source.get("ok")),
                     f"{source.get('url')} " + ("answers" if source.get("ok") else
                                                 f"does not answer: {source.get('msg', '')}".strip()),
                     "the node needs it for this sources mode: DNS, firewall, or sources.mode: "
                     "mirror/local; where the nodes reach the outside only through an HTTP proxy, "
                     "name it: sources.proxy: http://[USER@]HOST:PORT (its password in "
                     "sources.proxy_password_file)")

    def _sudo(self, node: Any, f: NodeFacts) -> None:
        if not node.become:
            self.add(node.name, SUDO, True, "root: not needed")
            return
        res = f.sudo or {}
        ok = bool(res) and not res.get("failed")
        msg = " ".join(str(res.get("msg") or res.get("module_stderr") or res.get("stderr") or "").split())
        self.add(node.name, SUDO, ok, f"{node.user} becomes root" if ok else (msg[:160] or "no answer"),
                 f"{node.user} must run any command as root with sudo: give the sudo password by "
                 "--ask-become-pass or LABTOOL_BECOME_PASSWORD (or password_file:), or add "
                 f"'{node.user} ALL=(ALL) ALL' to /etc/sudoers.d/")

    def _python(self, name: str, text: str) -> None:
        version = _version(text) if text and text.strip() != "none" else ()
        ok = len(version) >= 2 and version[:2] >= MIN_PYTHON
        self.add(name, "python", ok, ".".join(map(str, version)) or "no python3",
                 "install python3 (3.8 or later): Ansible's modules run with it")

    def _os(self, name: str, s: dict[str, Any]) -> None:
        dist, version = str(s.get("distribution", "?")), str(s.get("distribution_version", ""))
        major = int((_version(str(s.get("distribution_major_version", ""))) or (0,))[0])
        first = SUPPORTED_OS.get(dist)
        ok = first is not None and major >= first
        why = ("" if ok else f"{dist} is not one labtool knows" if first is None
               else f"{dist} {first} or later is needed")
        self.add(name, "os", ok, f"{dist} {version}" + (f": {why}" if why else ""),
                 "use " + ", ".join(f"{d} {v}+" for d, v in SUPPORTED_OS.items()))

    def _os_packages(self, name: str, s: dict[str, Any]) -> None:
        """An air-gapped node installs its OS packages from the artifacts: its release's."""
        if not self.lab.sources.air_gapped:
            return
        suite = str(s.get("distribution_release", "?"))
        release = f"{str(s.get('distribution', '?')).lower()}-{s.get('distribution_major_version', '?')}"
        carried = suite in self.debs
        self.add(name, "os-packages", carried,
                 f"{release} ({suite}): " + ("in the artifacts" if carried else "not in the artifacts"),
                 "on a machine with network: " + DEBS_COMMAND.format(release=release, path=self.lab.sources.artifacts))

    def _ports(self, name: str, listening: str) -> None:
        wanted = {6443: "kube-apiserver", 10250: "kubelet", self.lab.workloads.service.node_port: "the NodePort"}
        taken = sorted(p for p in wanted if p in listening_ports(listening))
        if taken and "/etc/kubernetes/kubelet.conf" in listening:
            self.add(name, "ports", True, "in use by this node's Kubernetes (built before): "
                     + ", ".join(map(str, taken)))
            return
        self.add(name, "ports", not taken, "free: " + ", ".join(map(str, wanted)) if not taken else
                 "in use: " + ", ".join(f"{p} ({wanted[p]})" for p in taken),
                 "stop what listens there (ss -ltnp shows it), or reset a cluster left from before "
                 "(labtool reset)")

    def _clock(self, name: str, s: dict[str, Any], seen_at: float | None) -> None:
        epoch = (s.get("date_time") or {}).get("epoch")
        if seen_at is None or not epoch:
            return
        skew = float(epoch) - seen_at
        ok = abs(skew) <= MAX_CLOCK_SKEW_S
        self.add(name, "clock", ok, f"{skew:+.0f} s from this machine",
                 "set the clock (timedatectl set-ntp true): certificates and tokens are timed")

    def unique(self) -> None:
        """Cloned VMs share what kubeadm needs unique across the cluster."""
        setups = {n: f.setup for n, f in self.facts.items() if f.setup}
        kinds = {
            "hostname": (lambda s: {str(s.get("nodename") or s.get("hostname") or "")},
                         "give each node its own host name (labtool sets it to the node's name)"),
            "machine-id": (lambda s: {str(s.get("machine_id") or "")},
                           "make a new one: rm /etc/machine-id && systemd-machine-id-setup, then reboot"),
            "product_uuid": (lambda s: {str(s.get("product_uuid") or "")},
                             "clone the VM with a new UUID (the hypervisor's setting)"),
            "mac": (_macs, "clone the VM with new MAC addresses (the hypervisor's setting)"),
        }
        for check, (values, fix) in kinds.items():
            if check == "product_uuid" and self.container:
                for node in setups:
                    self.add(node, check, True, "shared with the host (node containers): not checked")
                continue
            owners: dict[str, list[str]] = defaultdict(list)
            for node, s in setups.items():
                for value in values(s) - {"", "NA", "None"}:
                    owners[value].append(node)
            for node, s in setups.items():
                shared = sorted({o for v in values(s) if len(owners.get(v, [])) > 1 for o in owners[v]} - {node})
                seen = values(s) - {"", "NA", "None"}
                if check == "hostname":  # labtool names every node after itself (node_prep)
                    self.add(node, check, True, ", ".join(sorted(seen)) + (
                        f" (as {', '.join(shared)}; labtool renames it {node})" if shared else ""))
                elif not seen:
                    self.add(node, check, True, "not readable (needs root): not checked")
                else:
                    self.add(node, check, not shared, "unique" if not shared else
                             f"the same as {', '.join(shared)} (a cloned VM?)", fix)


def _artifacts_debs(lab: Lab) -> dict[str, Any]:
    try:
        return manifest_debs(read_manifest(lab.sources.artifacts))
    except ValueError:
        return {}  # the lab file's check says why


def judge(lab: Lab, facts: dict[str, NodeFacts]) -> Preflight:
    """Every check of every node of ``lab``, in the lab's node order, then the checks that
    compare the nodes with each other."""
    j = _Judge(lab, facts)
    for node in lab.nodes:
        j.node(node.name, facts.get(node.name) or NodeFacts(unreachable="no answer"))
    j.unique()
    order = {n.name: i for i, n in enumerate(lab.nodes)}
    j.out.findings.sort(key=lambda f: (order.get(f.node, 99), CHECKS.index(f.check) if f.check in CHECKS else 99))
    return j.out


def first_failures(preflight: Preflight, limit: int = 5) -> Iterable[Finding]:
    return preflight.failed[:limit]


def event_time(created: str | None) -> float | None:
    """An ansible-runner event's ``created`` (ISO, UTC) as epoch seconds."""
    if not created:
        return None
    try:
        stamp = datetime.fromisoformat(created)
    except ValueError:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()
