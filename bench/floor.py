#!/usr/bin/env python3
"""The floor: the walkthrough's minimum on a fresh local lab, without Ansible.

    /opt/labtool-venv/bin/python bench/floor.py [--name pffloor] [--artifacts DIR] [--keep]

A measuring stick for ``labtool up``, not a second installer: the same packages, files and
kubeadm calls as the roles do on a container node (Debian 12, sources local with the host
registry as mirror, host-gw), as plain shell over SSH, each step on every node at once
where that is possible. Prints the seconds of each step. Any failing command stops it with
that command's output. ``bench/up.py`` runs it on fresh nodes in the same bench run.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labtool import _paths, local  # noqa: E402

ROLES = REPO / "roles"


class FloorError(RuntimeError):
    pass


class Lab:
    """The lab file's nodes and SSH access, one ControlMaster connection per node."""

    def __init__(self, lab_file: Path):
        data = yaml.safe_load(lab_file.read_text())
        self.state = lab_file.parent
        self.nodes = {n["name"]: n["address"] for n in data["nodes"]}
        self.cp = next(n["name"] for n in data["nodes"] if n["role"] == "control-plane")
        self.workers = [n for n in self.nodes if n != self.cp]
        self.sources = data["sources"]
        self.artifacts = Path(self.sources["artifacts"])
        self.manifest = yaml.safe_load((self.artifacts / "artifacts.yml").read_text())
        self.sockets = Path(tempfile.mkdtemp(prefix="floor-ssh-"))

    def ssh(self, node: str) -> list[str]:
        return [
            "ssh", "-i", str(self.state / "id_ed25519"),
            "-o", f"UserKnownHostsFile={self.state / 'known_hosts'}", "-o", "StrictHostKeyChecking=accept-new",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ControlMaster=auto",
            "-o", f"ControlPath={self.sockets}/%h", "-o", "ControlPersist=120s",
            f"root@{self.nodes[node]}",
        ]  # fmt: skip

    def sh(self, node: str, script: str, stdin: bytes | None = None) -> str:
        """Run a shell script on one node (set -eu); its stdout, or FloorError with its output."""
        command = self.ssh(node) + ["bash", "-euo", "pipefail", "-c", shlex.quote(script)]
        proc = subprocess.run(command, input=stdin, capture_output=True, check=False)
        if proc.returncode != 0:
            out = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()[-20:]
            raise FloorError(f"{node}: exit {proc.returncode}: {script.strip().splitlines()[0]} ...\n" + "\n".join(out))
        return proc.stdout.decode(errors="replace")

    def on(self, nodes: list[str], script) -> dict[str, str]:
        """The same script (or script(node)) on several nodes at once."""
        with ThreadPoolExecutor(len(nodes)) as pool:
            futures = {n: pool.submit(self.sh, n, script(n) if callable(script) else script) for n in nodes}
            return {n: f.result() for n, f in futures.items()}

    def close(self) -> None:
        for node in self.nodes:
            subprocess.run(self.ssh(node)[:-1] + ["-O", "exit", self.nodes[node]], capture_output=True, check=False)


def heredoc(path: str, content: str, mode: str = "0644") -> str:
    return f"mkdir -p {shlex.quote(str(Path(path).parent))}\ncat > {path} <<'FLOOR_EOF'\n{content}FLOOR_EOF\nchmod {mode} {path}\n"


def step_packages(lab: Lab) -> None:
    """node_prep, iptables, containerd and kube_packages' OS packages, one apt run a node."""
    hosts = "".join(f"grep -q '\\s{n}$' /etc/hosts || printf '%s\\t%s\\n' {a} {n} >> /etc/hosts\n" for n, a in lab.nodes.items())
    script = (
        heredoc("/etc/apt/apt.conf.d/01labtool-proxy", f'Acquire::http::Proxy "{lab.sources["package_proxy"]}";\n')
        + hosts
        + heredoc("/etc/sysctl.d/90-kubernetes.conf",
                  "net.bridge.bridge-nf-call-iptables=1\nnet.bridge.bridge-nf-call-ip6tables=1\nnet.ipv4.ip_forward=1\n")
        + "test \"$(sysctl -n net.bridge.bridge-nf-call-iptables net.ipv4.ip_forward | tr -d '\\n')\" = 11\n"
        + "printf 'iptables-persistent iptables-persistent/autosave_v%s boolean false\\n' 4 6 | debconf-set-selections\n"
        + "apt-get update -qq\n"
        + "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables iptables-persistent containerd conntrack socat ethtool >/dev/null\n"
        + "systemctl disable --now netfilter-persistent 2>/dev/null\n"
    )  # fmt: skip
    lab.on(list(lab.nodes), script)


def step_files(lab: Lab) -> None:
    """kube_packages' files (binaries, kubelet unit, CNI plugins), container_node's cgroup unit,
    containerd's configuration and mirrors, then containerd restarted and kubelet enabled."""
    files = [k for k in lab.manifest["files"] if k.startswith(("bin/", "systemd/", "cni/bin/"))]
    tar = subprocess.run(["tar", "-C", str(lab.artifacts), "-cf", "-", *files], capture_output=True, check=True).stdout
    images = lab.manifest["images"]
    mirrors = lab.sources["registry_mirrors"]
    hosts_toml = "".join(
        heredoc(f"/etc/containerd/certs.d/{reg}/hosts.toml",
                f'server = "https://{"registry-1.docker.io" if reg == "docker.io" else reg}"\n'
                + "".join(f'\n[host."{e}"]\n  capabilities = ["pull", "resolve"]\n' for e in ends))
        for reg, ends in mirrors.items()
    )  # fmt: skip
    unit = (ROLES / "container_node/templates/cgroup.service.j2").read_text().splitlines()[1:]
    unit = "\n".join(unit).replace("{{ container_node_cgroup_script }}", "/usr/local/libexec/labtool-kubelet-cgroups")
    unit = unit.replace("{{ container_node_kubelet_cgroup_name }}", "kubelet") + "\n"
    script = (
        "mkdir -p /tmp/floor && tar -C /tmp/floor -xf -\n"
        "install -m 0755 /tmp/floor/bin/* /usr/bin/\n"
        "install -D -m 0644 /tmp/floor/systemd/kubelet.service /etc/systemd/system/kubelet.service\n"
        "install -D -m 0644 /tmp/floor/systemd/10-kubeadm.conf /etc/systemd/system/kubelet.service.d/10-kubeadm.conf\n"
        "mkdir -p /opt/cni/bin && install -m 0755 /tmp/floor/cni/bin/* /opt/cni/bin/ && rm -rf /tmp/floor\n"
        + heredoc("/usr/local/libexec/labtool-kubelet-cgroups",
                  (ROLES / "container_node/files/labtool-kubelet-cgroups").read_text(), "0755")
        + heredoc("/etc/systemd/system/labtool-kubelet-cgroups.service", unit)
        + "containerd config default > /etc/containerd/config.toml\n"
        f"sed -i -e 's|^\\( *sandbox_image = \\).*|\\1\"{images['pause']}\"|'"
        " -e 's|^\\( *restrict_oom_score_adj = \\).*|\\1true|' -e 's|^\\( *SystemdCgroup = \\).*|\\1false|'"
        " -e '/registry\\]$/,/^ *\\[/s|^\\( *config_path = \\).*|\\1\"/etc/containerd/certs.d\"|'"
        " /etc/containerd/config.toml\n"
        + heredoc("/etc/systemd/system/containerd.service.d/10-labtool.conf",
                  "[Service]\nOOMScoreAdjust=0\nLimitNOFILE=20000\n")
        + hosts_toml
        + "systemctl daemon-reload\n"
        "systemctl enable -q --now labtool-kubelet-cgroups\n"
        "systemctl restart containerd\n"
        "systemctl enable -q kubelet\n"
        "kubeadm version -o short; kubelet --version; ctr version >/dev/null\n"
    )  # fmt: skip
    with ThreadPoolExecutor(len(lab.nodes)) as pool:
        for f in [pool.submit(lab.sh, n, script, tar) for n in lab.nodes]:
            f.result()


def kubelet_args(lab: Lab, node: str) -> str:
    root = lab.sh(node, "cat /run/labtool/kubelet-cgroup-root").strip()
    return f'    "cgroup-root": "{root}"\n    "node-ip": "{lab.nodes[node]}"\n'


def step_init(lab: Lab) -> None:
    """control_plane: kubeadm init with the role's configuration, admin.conf for root."""
    address = lab.nodes[lab.cp]
    etcd_tag = lab.manifest["images"]["etcd"].rsplit(":", 1)[1]
    config = (
        "apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n"
        f'localAPIEndpoint:\n  advertiseAddress: "{address}"\n  bindPort: 6443\n'
        f'nodeRegistration:\n  name: "{lab.cp}"\n  criSocket: "unix:///run/containerd/containerd.sock"\n'
        f"  kubeletExtraArgs:\n{kubelet_args(lab, lab.cp)}"
        "---\napiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n"
        f'kubernetesVersion: "v1.20.2"\nimageRepository: "registry.k8s.io"\ncontrolPlaneEndpoint: "{address}:6443"\n'
        'networking:\n  podSubnet: "10.244.0.0/16"\n  serviceSubnet: "10.96.0.0/12"\n'
        f'etcd:\n  local:\n    imageTag: "{etcd_tag}"\n'
        "---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: cgroupfs\n"
        "syncFrequency: 10s\n"  # as control_plane sets it before Kubernetes 1.21
        "---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n"
        "conntrack:\n  maxPerCore: 0\n  tcpCloseWaitTimeout: 0s\n  tcpEstablishedTimeout: 0s\n"
    )  # fmt: skip
    lab.sh(lab.cp, heredoc("/etc/kubernetes/kubeadm-init.yaml", config, "0600")
           + "kubeadm init --config /etc/kubernetes/kubeadm-init.yaml --skip-token-print"
             " --skip-phases=preflight,addon/coredns >/tmp/floor-init.log 2>&1 || { tail -20 /tmp/floor-init.log; exit 1; }\n"
           + "install -D -m 0600 /etc/kubernetes/admin.conf /root/.kube/config\n")  # fmt: skip


def step_join(lab: Lab) -> None:
    """workers: a bootstrap token, then kubeadm join on both workers at once."""
    join = lab.sh(lab.cp, "kubeadm token create --ttl 15m --print-join-command").split()
    token = join[join.index("--token") + 1]
    ca_hash = join[join.index("--discovery-token-ca-cert-hash") + 1]

    def script(node: str) -> str:
        config = (
            "apiVersion: kubeadm.k8s.io/v1beta2\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n"
            f'    apiServerEndpoint: "{lab.nodes[lab.cp]}:6443"\n    token: "{token}"\n'
            f'    caCertHashes:\n      - "{ca_hash}"\n  tlsBootstrapToken: "{token}"\n'
            f'nodeRegistration:\n  name: "{node}"\n  criSocket: "unix:///run/containerd/containerd.sock"\n'
            f"  kubeletExtraArgs:\n{kubelet_args(lab, node)}"
            "  ignorePreflightErrors:\n    - FileExisting-crictl\n"
        )  # fmt: skip
        return (heredoc("/etc/kubernetes/kubeadm-join.yaml", config, "0600")
                + "timeout 120 kubeadm join --config /etc/kubernetes/kubeadm-join.yaml >/tmp/floor-join.log 2>&1"
                  " || { tail -20 /tmp/floor-join.log; exit 1; }\nrm /etc/kubernetes/kubeadm-join.yaml\n")  # fmt: skip

    lab.on(lab.workers, script)


def wait(what: str, seconds: float, probe) -> object:
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except FloorError as exc:
            last = exc
        time.sleep(1)
    raise FloorError(f"{what}: not within {seconds:.0f} s (last: {last})")


def kubectl(lab: Lab, args: str) -> str:
    return lab.sh(lab.cp, f"kubectl {args}")


def step_pod_network(lab: Lab) -> None:
    """pod_network host-gw: each node's bridge conflist and routes to the others' pod CIDRs,
    containerd restarted where the CNI plugin is not ready yet, then every node Ready."""

    def cidrs():
        nodes = json.loads(kubectl(lab, "get nodes -o json"))["items"]
        table = {n["metadata"]["name"]: (n["spec"].get("podCIDR"),
                 next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")) for n in nodes}  # fmt: skip
        return table if len(table) == len(lab.nodes) and all(c for c, _ in table.values()) else None

    table = wait("every node has a pod CIDR", 60, cidrs)

    def script(node: str) -> str:
        conflist = render("pod_network/templates/10-labtool.conflist.j2",
                          pod_network_bridge="cni0", _pod_network_own_cidr=table[node][0])
        routes = "".join(f"ip route replace {c} via {via}\n" for n, (c, via) in sorted(table.items()) if n != node)
        return heredoc("/etc/cni/net.d/10-labtool.conflist", conflist) + routes + (
            "systemctl restart containerd\n")

    lab.on(list(lab.nodes), script)

    def ready():
        lines = kubectl(lab, "get nodes --no-headers").splitlines()
        return len(lines) == len(lab.nodes) and all(line.split()[1] == "Ready" for line in lines)

    wait("every node Ready", 180, ready)


def step_workloads(lab: Lab) -> None:
    """workloads: the roles' three manifests applied, every replica available."""
    defaults = yaml.safe_load((ROLES / "workloads/defaults/main.yml").read_text())
    manifests = "".join("---\n" + render(f"workloads/templates/{name}.yaml.j2", **defaults)
                        for name in ("deployment", "service", "replication-controller"))
    lab.sh(lab.cp, heredoc("/etc/kubernetes/labtool/workloads/all.yaml", manifests)
           + "kubectl apply -f /etc/kubernetes/labtool/workloads/all.yaml >/dev/null\n"
           + "kubectl rollout status deployment/dep01 --timeout=180s >/dev/null\n")  # fmt: skip
    wait("rc/my-nginx 2 ready", 180,
         lambda: kubectl(lab, "get rc my-nginx -o jsonpath={.status.readyReplicas}").strip() == "2")  # fmt: skip


def render(template: str, **values) -> str:
    """A role's template (jinja2, as Ansible renders it) with the given values."""
    import jinja2

    env = jinja2.Environment(keep_trailing_newline=True, trim_blocks=True)
    env.filters["to_json"] = json.dumps
    return env.from_string((ROLES / template).read_text()).render(ansible_managed="floor", **values)


def step_curl(lab: Lab) -> None:
    """The walkthrough's check: nginx's page on port 30001 of every node, from the host."""

    def page(address: str) -> bool:
        try:
            with urllib.request.urlopen(f"http://{address}:30001/", timeout=5) as resp:
                return resp.status == 200 and b"Welcome to nginx" in resp.read()
        except OSError:
            return False

    for node, address in lab.nodes.items():
        wait(f"curl {node}:30001", 60, lambda a=address: page(a))


STEPS = [
    ("packages (apt: iptables, containerd, conntrack...)", step_packages),
    ("files, containerd config, cgroup unit", step_files),
    ("kubeadm init", step_init),
    ("token + kubeadm join x2", step_join),
    ("pod network (host-gw) + all Ready", step_pod_network),
    ("workloads applied + ready", step_workloads),
    ("curl :30001 on every node", step_curl),
]


def run_floor(lab_file: Path, echo=print) -> list[tuple[str, float]]:
    """Every step on the lab's fresh nodes; [(step, seconds)]. Raises FloorError."""
    lab = Lab(lab_file)
    timings = []
    try:
        for title, step in STEPS:
            started = time.monotonic()
            step(lab)
            timings.append((title, time.monotonic() - started))
            echo(f"  floor: {title:50} {timings[-1][1]:6.1f} s")
    finally:
        lab.close()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="pffloor")
    parser.add_argument("--artifacts", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the lab afterwards")
    args = parser.parse_args()
    local.destroy(args.name, echo=lambda _m: None)
    lab_file = local.create(args.name, args.artifacts, echo=lambda _m: None)
    try:
        timings = run_floor(lab_file)
    except FloorError as exc:
        print(f"floor: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            local.destroy(args.name, echo=lambda _m: None)
    print(f"\n{'floor step':52} {'seconds':>8}")
    for title, secs in timings:
        print(f"{title:52} {secs:8.1f}")
    print(f"{'total':52} {sum(s for _t, s in timings):8.1f}")
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}  state: {_paths.state_dir(args.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
