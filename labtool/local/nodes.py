"""The three node containers: flags, SSH key, start, and the wait for sshd."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from labtool.local._run import LocalLabError, run

# Measured on this kind of host (shared NODE-CONTAINERS.md, first group).
NODE_FLAGS = [
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-signal", "SIGRTMIN+3",
    "--device", "/dev/kmsg", "--device-cgroup-rule", "a *:* rwm",
    "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "net.ipv4.conf.all.route_localnet=1",
]  # fmt: skip


def container_name(lab: str, node: str) -> str:
    return f"{lab}-{node}"


def volume_name(lab: str, node: str) -> str:
    return f"{lab}-{node}-var"


def run_args(lab: str, node: str, image: str, network: str, address: str, release: str = "") -> list[str]:
    """`docker create` arguments for one node container (``release``: its OS, e.g. debian-12,
    kept as the label labtool.os for `labtool local status`)."""
    return [
        "docker", "create",
        "--name", container_name(lab, node),
        "--hostname", node,
        "--network", network, "--ip", address,
        "--label", f"labtool.lab={lab}", "--label", f"labtool.node={node}",
        *(["--label", f"labtool.os={release}"] if release else []),
        *NODE_FLAGS,
        "-v", f"{volume_name(lab, node)}:/var",
        image,
    ]  # fmt: skip


def ensure_key(state: Path, echo: Callable[[str], None]) -> Path:
    key = state / "id_ed25519"
    if key.exists() and key.with_suffix(".pub").exists():
        return key
    state.mkdir(parents=True, exist_ok=True)
    for stale in (key, key.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"labtool-{state.name}", "-f", str(key)])
    echo(f"  SSH key {key} (generated)")
    return key


def inspect(name: str) -> dict | None:
    proc = run(["docker", "container", "inspect", name], check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0]


def ensure_node(
    lab: str, node: str, image: str, network: str, address: str, pubkey: Path, echo: Callable[[str], None],
    release: str = "",
) -> bool:
    """Create and start one node container from ``image`` (the node image of ``release``);
    True when it was (re)started. A container of another image (another release) is made anew."""
    name = container_name(lab, node)
    info = inspect(name)
    if info is not None and not same_recipe(info, image, network, address):
        echo(f"  node {name}: image or address differs from this recipe; recreating it (a fresh /var)")
        run(["docker", "rm", "-f", name])
        run(["docker", "volume", "rm", "-f", volume_name(lab, node)], check=False)
        info = None
    elif info is None and volume_exists(volume_name(lab, node)):
        # a container removed by hand (docker rm -f) leaves its /var: dpkg's database and
        # kubelet's state that the new root filesystem does not match. A node made anew gets a
        # fresh /var, as a reimaged machine would, and rejoins the cluster.
        run(["docker", "volume", "rm", "-f", volume_name(lab, node)])
        echo(f"  node {name}: the container was removed; its /var volume, left over, removed too")
    if info is None:
        container_id = run(run_args(lab, node, image, network, address, release)).stdout.strip()  # docker create prints it
        authorize_key(name, pubkey, container_id)
        run(["docker", "start", name])
        echo(f"  node {name}: {address}{f', {release}' if release else ''} (created)")
        return True
    # the lab's current key (the state directory may have been made anew since)
    authorize_key(name, pubkey, info["Id"])
    if not info["State"]["Running"]:
        run(["docker", "start", name])
        echo(f"  node {name}: {address} (started)")
        return True
    echo(f"  node {name}: {address} (running)")
    return False


def configured_address(info: dict, network: str) -> str:
    """The address the container was made with on ``network`` (``--ip``): kept while it is
    stopped, when docker inspect's runtime IPAddress is empty."""
    net = info["NetworkSettings"]["Networks"].get(network) or {}
    return (net.get("IPAMConfig") or {}).get("IPv4Address") or net.get("IPAddress") or ""


def same_recipe(info: dict, image: str, network: str, address: str) -> bool:
    """Whether a node container (docker inspect) was made from ``image`` with ``address``:
    running or stopped."""
    return info["Config"]["Image"] == image and configured_address(info, network) == address


def volume_exists(volume: str) -> bool:
    return run(["docker", "volume", "inspect", volume], check=False).returncode == 0


def next_up(info: dict | None, volume_left: bool, same: bool) -> tuple[str, str]:
    """A node container's state and what the next `labtool up` (its create) does about it:
    ``info`` docker inspect's (None: no container), ``volume_left`` whether its /var volume
    exists, ``same`` whether it matches this lab's recipe (image, address)."""
    if info is None:
        if volume_left:
            return ("missing, /var volume left over",
                    "removes the old /var volume, creates the node anew, joins it again")
        return "missing", "creates the node, joins it"
    state = info["State"]["Status"]
    state = "stopped" if state in ("exited", "created") else state
    if not same:
        return state, "recreates the node (image or address differs), a fresh /var, joins it again"
    if not info["State"]["Running"]:
        return state, "starts it; its state is kept, no new join"
    return state, "nothing (running)"


def authorize_key(name: str, pubkey: Path, container_id: str) -> None:
    """Make ``pubkey`` the node's authorized key, unless this key was copied into this very
    container before (a record next to the key says so: one docker call fewer a node)."""
    record = pubkey.with_name(f"{pubkey.name}.{name}")
    wanted = f"{container_id} {hashlib.sha256(pubkey.read_bytes()).hexdigest()}\n"
    if record.exists() and record.read_text() == wanted:
        return
    run(["docker", "cp", str(pubkey), f"{name}:/root/.ssh/authorized_keys"])
    record.write_text(wanted)


def ssh_command(key: Path, known_hosts: Path, address: str, *command: str) -> list[str]:
    return [
        "ssh", "-i", str(key),
        "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=accept-new",
        "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
        f"root@{address}", *command,
    ]  # fmt: skip


def forget_host(known_hosts: Path, address: str) -> None:
    if known_hosts.exists():
        run(["ssh-keygen", "-R", address, "-f", str(known_hosts)], check=False)


def host_known(known_hosts: Path, address: str) -> bool:
    """Whether known_hosts holds a host key for ``address`` (port 22), plain or hashed
    (``|1|salt|HMAC-SHA1(salt, host)``, as ssh's HashKnownHosts writes it): what
    `ssh-keygen -F` finds, without a process a node."""
    try:
        lines = known_hosts.read_text().splitlines()
    except FileNotFoundError:
        return False
    for line in lines:
        hosts = line.split(maxsplit=1)[0] if line.strip() and not line.startswith("#") else ""
        if hosts.startswith("|1|"):
            salt, digest = (base64.b64decode(part) for part in hosts[3:].split("|", 1))
            if hmac.compare_digest(hmac.new(salt, address.encode(), hashlib.sha1).digest(), digest):
                return True
        elif address in hosts.split(","):
            return True
    return False


def wait_ssh(key: Path, known_hosts: Path, address: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            ssh_command(key, known_hosts, address, "true"), capture_output=True, text=True, check=False, timeout=30
        )
        if proc.returncode == 0:
            return
        last = proc.stderr.strip()
        time.sleep(1)
    raise LocalLabError(f"sshd on {address} did not answer within {seconds:.0f} s: {last}")


def remove(lab: str, node: str, echo: Callable[[str], None]) -> None:
    name = container_name(lab, node)
    if inspect(name) is not None:
        run(["docker", "rm", "-f", "-v", name])
        echo(f"  node {name} removed")
    volume = volume_name(lab, node)
    if run(["docker", "volume", "inspect", volume], check=False).returncode == 0:
        run(["docker", "volume", "rm", volume])
        echo(f"  volume {volume} removed")
