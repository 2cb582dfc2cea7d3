"""The local lab: three Kubernetes node containers on this host, and the host set-up they need.

The only Python in labtool that knows Docker (contract §4)::

    from labtool import local
    lab_file = local.create(name="labtool", artifacts=Path(...), echo=print)
    local.destroy("labtool", echo=print)
    local.status("labtool")  # [{"node", "container", "state", "address"}, ...]

Every host step is printed through ``echo``. ``create`` is idempotent: on a running lab it
changes nothing and only re-writes the lab file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labtool import _paths
from labtool.local import host, image, labfile, network, nodes
from labtool.local._run import LocalLabError, run

__all__ = ["LocalLabError", "create", "destroy", "status", "DEFAULT_ARTIFACTS"]

DEFAULT_ARTIFACTS = Path("/var/cache/labtool/artifacts/v1.20.2")
REPO_ROOT = Path(__file__).resolve().parents[2]
PUSH_SCRIPT = REPO_ROOT / "tests" / "artifacts" / "registry.sh"
RECORDS = Path("/var/lib/labtool/labs")  # host-side record of each lab's network (for destroy)
FENCED_CIDRS = (labfile.POD_CIDR, labfile.SERVICE_CIDR)

Echo = Callable[[str], None]


def _record_path(name: str) -> Path:
    return RECORDS / f"{name}.json"


def _write_record(name: str, net: network.LabNetwork) -> None:
    RECORDS.mkdir(parents=True, exist_ok=True)
    _record_path(name).write_text(
        json.dumps(
            {"subnet": str(net.subnet), "bridge": net.bridge, "route_metric": net.route_metric},
            indent=2,
        )
    )


def _read_record(name: str) -> dict:
    try:
        return json.loads(_record_path(name).read_text())
    except (OSError, ValueError):
        return {}


def _check_artifacts(artifacts: Path) -> None:
    if not (artifacts / "artifacts.yml").is_file():
        raise LocalLabError(
            f"no artifacts in {artifacts} (artifacts.yml missing): build them first with"
            f" `bash tests/artifacts/build.sh --out {artifacts}` (about half an hour, once)"
        )


def create(
    name: str = "labtool",
    artifacts: Path | None = None,
    echo: Echo = print,
    *,
    push_images: bool = True,
) -> Path:
    """Set up the host and start the lab's three node containers; return the lab file's path.

    ``push_images=False`` skips the artifacts check and the image push (nodes only: for
    working on roles that need no Kubernetes images); the lab file is the same.
    """
    started = time.monotonic()
    labfile.check_name(name)
    host.require_root()
    artifacts = Path(artifacts or DEFAULT_ARTIFACTS).expanduser().resolve()
    if push_images:
        _check_artifacts(artifacts)
    state = _paths.state_dir(name)

    echo(f"local lab {name!r}: host set-up")
    host.ensure_dockerd(echo)
    tag = image.ensure_image(echo)
    host.ensure_sysctls(echo)

    echo("traffic fence (before any node starts):")
    net = network.ensure_network(name, FENCED_CIDRS, echo)
    _write_record(name, net)
    network.ensure_fence(name, net, FENCED_CIDRS, echo)

    echo("caches on the host (shared by all labs):")
    host.ensure_apt_cacher(echo)
    host.ensure_registry(echo)
    if push_images:
        host.ensure_images_pushed(artifacts, PUSH_SCRIPT, echo)
    else:
        echo("  registry: artifact images not pushed (nodes only)")

    echo("nodes:")
    key = nodes.ensure_key(state, echo)
    known_hosts = state / "known_hosts"
    addresses: dict[str, str] = {}
    for index, (node, _role) in enumerate(labfile.NODES):
        address = str(net.node_address(index))
        addresses[node] = address
        if nodes.ensure_node(name, node, tag, net.name, address, key.with_suffix(".pub"), echo):
            nodes.forget_host(known_hosts, address)
    # the three waits for sshd side by side (one round trip each when the lab is running)
    with ThreadPoolExecutor(len(addresses)) as pool:
        waits = {node: pool.submit(nodes.wait_ssh, key, known_hosts, address) for node, address in addresses.items()}
        for node, done in waits.items():
            done.result()
            echo(f"  ssh root@{addresses[node]} ({node}): answers")

    content = labfile.render(name, addresses, str(net.gateway), artifacts, key=key.name)
    path = labfile.write(state / "lab.yml", content)
    echo(f"lab file: {path} ({time.monotonic() - started:.1f} s)")
    return path


def destroy(name: str = "labtool", echo: Echo = print) -> None:
    """Remove the lab's containers, volumes, network, fence rules and routes, key, known_hosts,
    lab file and fetched admin.conf. The node image and the host services stay (caches)."""
    labfile.check_name(name)
    host.require_root()
    echo(f"local lab {name!r}: destroy")
    if run(["docker", "info"], check=False).returncode != 0:
        raise LocalLabError("dockerd is not answering: start it (setsid dockerd &) and retry")
    for node, _role in labfile.NODES:
        nodes.remove(name, node, echo)
    net = network.inspect(name)
    record = _read_record(name)
    metric = net.route_metric if net else record.get("route_metric")
    network.remove_network(name, echo)
    network.remove_fence(name, metric, FENCED_CIDRS, echo)
    _record_path(name).unlink(missing_ok=True)
    state = _paths.state_dir(name)
    # what belongs to these nodes: their key, host keys, lab file, and what the playbooks
    # fetched from them (admin.conf); ansible-runner's logs (runner/) stay for reading
    for file in ("id_ed25519", "id_ed25519.pub", "known_hosts", "lab.yml", "inventory.yml", "admin.conf"):
        if (state / file).exists():
            (state / file).unlink()
            echo(f"  removed {state / file}")
    if state.is_dir() and not any(state.iterdir()):
        state.rmdir()
    echo(f"local lab {name!r}: gone (node image and host caches kept)")


def status(name: str = "labtool") -> list[dict]:
    """One entry per node container of the lab: node, container, state, address."""
    labfile.check_name(name)
    out = []
    net_name = network.network_name(name)
    for node, _role in labfile.NODES:
        container = nodes.container_name(name, node)
        info = nodes.inspect(container)
        if info is None:
            out.append({"node": node, "container": container, "state": "absent", "address": ""})
            continue
        address = info["NetworkSettings"]["Networks"].get(net_name, {}).get("IPAddress", "")
        out.append({"node": node, "container": container, "state": info["State"]["Status"], "address": address})
    return out
