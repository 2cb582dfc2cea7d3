"""The local lab: three Kubernetes node containers on this host, and the host set-up they need.

The only Python in labtool that knows Docker (contract §4)::

    from labtool import local
    lab_file = local.create(name="labtool", artifacts=Path(...), echo=print)
    local.destroy("labtool", echo=print)
    local.status("labtool")  # [{"node", "container", "state", "address", "os"}, ...]

A node's Debian release (``node_os``, e.g. ``{"w1": "debian-11"}``; labtool.local.releases)
picks its node image; each release's image is built once and cached.

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
from labtool.labfile.manifest import DEBS_COMMAND
from labtool.local import host, image, labfile, network, nodes, releases
from labtool.local._run import LocalLabError, run

__all__ = ["LocalLabError", "create", "create_class", "destroy", "destroy_class", "status",
           "DEFAULT_ARTIFACTS"]

DEFAULT_ARTIFACTS = Path("/var/cache/labtool/artifacts/v1.20.2")
REPO_ROOT = Path(__file__).resolve().parents[2]
PUSH_SCRIPT = REPO_ROOT / "tools" / "artifacts" / "registry.sh"
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
            f" `bash tools/artifacts/build.sh --out {artifacts}` (about half an hour, once)"
        )


def create(
    name: str = "labtool",
    artifacts: Path | None = None,
    echo: Echo = print,
    *,
    push_images: bool = True,
    state: Path | None = None,
    node_os: dict[str, str] | None = None,
    air_gapped: bool = False,
    proxy_port: int | None = None,
) -> Path:
    """Set up the host and start the lab's three node containers; return the lab file's path.

    ``push_images=False`` skips the artifacts check and the image push (nodes only: for
    working on roles that need no Kubernetes images); the lab file is the same.
    ``state``: the lab's state directory (default ``<state root>/<name>``).
    ``node_os``: node -> Debian release (releases.node_releases); default debian-12 for all.
    ``air_gapped``: the nodes reach nothing but the host's SSH replies (network.air_gap_rules);
    the artifacts must carry every node release's OS packages; no host caches are used.
    ``proxy_port``: the nodes reach the host's caches and registry only through a proxy on
    the gateway at this port (yours to start there), which the lab file names as sources.proxy.
    """
    started = time.monotonic()
    labfile.check_name(name)
    host.require_root()
    artifacts = Path(artifacts or DEFAULT_ARTIFACTS).expanduser().resolve()
    if push_images:
        _check_artifacts(artifacts)
    state = state or _paths.state_dir(name)
    node_os = {**releases.node_releases(), **(node_os or {})}
    _check_releases(node_os, artifacts if push_images else None)
    if air_gapped:
        _check_air_gap(node_os, artifacts)

    echo(f"local lab {name!r}: host set-up")
    tags = _host_setup(artifacts, push_images, echo, set(node_os.values()), caches=not air_gapped)
    content = _lab_nodes(name, state, tags, artifacts, echo, node_os=node_os, air_gapped=air_gapped,
                         proxy_port=proxy_port)
    path = labfile.write(state / "lab.yml", content)
    version = content.get("kubernetes", {}).get("version")
    echo(f"lab file: {path}, Kubernetes {version or '(none in artifacts.yml)'}"
         f" ({time.monotonic() - started:.1f} s)")
    return path


def _check_releases(node_os: dict[str, str], artifacts: Path | None) -> None:
    """Refuse, before anything is made, a node whose release cannot run the artifacts'
    Kubernetes (Debian 11's containerd and kubelet 1.26 or later)."""
    problems = releases.kubernetes_problems(node_os, labfile.artifacts_version(artifacts) if artifacts else None)
    if problems:
        raise LocalLabError("; ".join(problems))


def _check_air_gap(node_os: dict[str, str], artifacts: Path) -> None:
    """Refuse, before anything is made, an air-gapped node whose release's OS packages the
    artifacts lack (they cannot be fetched later), naming the command that adds them."""
    carried = {entry.get("release") for entry in labfile.artifacts_debs(artifacts).values()}
    missing = sorted({release for release in node_os.values() if release not in carried})
    if missing:
        raise LocalLabError("; ".join(
            f"the artifacts in {artifacts} carry no OS packages for {release} (an air-gapped lab installs "
            f"them from there): add them with `{DEBS_COMMAND.format(release=release, path=artifacts)}`"
            for release in missing))


def _host_setup(artifacts: Path, push_images: bool, echo: Echo, wanted: set[str] | None = None,
                caches: bool = True) -> dict[str, str]:
    """What every local lab on this host needs (dockerd, the node images of the ``wanted``
    releases, the host sysctls, the caches unless ``caches`` is false: an air-gapped lab uses
    none); returns each release's node image tag."""
    host.ensure_dockerd(echo)
    tags = {release: image.ensure_image(echo, release)
            for release in sorted(wanted or {image.DEFAULT_RELEASE})}
    host.ensure_sysctls(echo)
    if not caches:
        echo("caches on the host: none (air-gapped: no package proxy, no registry)")
        return tags
    echo("caches on the host (shared by all labs):")
    host.ensure_apt_cacher(echo)
    port = host.registry_port(artifacts if push_images else None)  # these artifacts' own registry
    host.ensure_registry(echo, port)
    if push_images:
        host.ensure_images_pushed(artifacts, PUSH_SCRIPT, echo, port)
    else:
        echo("  registry: artifact images not pushed (nodes only)")
    return tags


def _lab_nodes(name: str, state: Path, tags: dict[str, str], artifacts: Path, echo: Echo, key_dir: str = "",
               node_os: dict[str, str] | None = None, air_gapped: bool = False,
               proxy_port: int | None = None) -> dict:
    """One lab's network and fence (before any of its nodes starts), then its three nodes
    reachable over SSH, each from the image (``tags``) of its release (``node_os``, default
    debian-12); returns its lab file's content (the key named relative to the lab file:
    ``key_dir`` is the state directory seen from there)."""
    node_os = {**releases.node_releases(), **(node_os or {})}
    state.mkdir(parents=True, exist_ok=True)  # first: a destroy finds what a failed create left
    echo(f"traffic fence of {name!r} (before any node starts):")
    net = network.ensure_network(name, FENCED_CIDRS, echo)
    _write_record(name, net)
    network.ensure_fence(name, net, FENCED_CIDRS, echo)
    if air_gapped or proxy_port:
        network.ensure_air_gap(name, net, echo, proxy_port)

    echo(f"nodes of {name!r}:")
    key = nodes.ensure_key(state, echo)
    known_hosts = state / "known_hosts"
    addresses = {node: str(net.node_address(index)) for index, (node, _role) in enumerate(labfile.NODES)}
    with ThreadPoolExecutor(len(addresses)) as pool:  # a few docker calls each, side by side
        starting = {node: pool.submit(nodes.ensure_node, name, node, tags[node_os[node]], net.name, address,
                                      key.with_suffix(".pub"), echo, node_os[node])
                    for node, address in addresses.items()}
        started = {node: done.result() for node, done in starting.items()}
    for node, was_started in started.items():  # one at a time: each rewrites known_hosts
        if was_started:
            nodes.forget_host(known_hosts, addresses[node])
    # sshd's answer (one round trip each, side by side) from a node just (re)started or whose
    # host key is not known yet; Ansible itself reports a running node that does not answer
    unsure = [node for node, was_started in started.items()
              if was_started or not nodes.host_known(known_hosts, addresses[node])]
    with ThreadPoolExecutor(max(len(unsure), 1)) as pool:
        waits = {node: pool.submit(nodes.wait_ssh, key, known_hosts, addresses[node]) for node in unsure}
        for node, done in waits.items():
            done.result()
            echo(f"  ssh root@{addresses[node]} ({node}): answers")
    return labfile.render(name, addresses, str(net.gateway), artifacts,
                          key=f"{key_dir}/{key.name}" if key_dir else key.name,
                          kubernetes_version=labfile.artifacts_version(artifacts),
                          registry_port=host.registry_port(artifacts), air_gapped=air_gapped,
                          proxy_port=proxy_port)


def destroy(name: str = "labtool", echo: Echo = print, *, state: Path | None = None) -> None:
    """Remove the lab's containers, volumes, network, fence rules and routes, key, known_hosts,
    lab file and fetched admin.conf. The node image and the host services stay (caches).
    ``state``: the lab's state directory (default ``<state root>/<name>``)."""
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
    state = state or _paths.state_dir(name)
    # what belongs to these nodes: their key, host keys, lab file, what the playbooks
    # fetched from them (admin.conf) and the mark that an up went through on them (new nodes
    # get the checks before their first up); ansible-runner's logs (runner/) stay for reading
    # with the key, the records of the containers it was copied into (nodes.authorize_key)
    records = sorted(p.name for p in state.glob("id_ed25519.pub.*")) if state.is_dir() else []
    for file in ("id_ed25519", "id_ed25519.pub", *records, "known_hosts", "known_hosts.old", "lab.yml",
                 "inventory.yml", "admin.conf", _paths.BUILT_MARK):
        if (state / file).exists():
            (state / file).unlink()
            echo(f"  removed {state / file}")
    if state.is_dir() and not any(state.iterdir()):
        state.rmdir()
    echo(f"local lab {name!r}: gone (node image and host caches kept)")


def status(name: str = "labtool") -> list[dict]:
    """One entry per node container of the lab: node, container, state (running, stopped,
    missing; a missing one's /var volume left over), address, os (its Debian release, e.g.
    debian-12), and what the next up does."""
    labfile.check_name(name)
    out = []
    net_name = network.network_name(name)
    for node, _role in labfile.NODES:
        container = nodes.container_name(name, node)
        info = nodes.inspect(container)
        volume_left = nodes.volume_exists(nodes.volume_name(name, node))
        if info is None:
            state, next_up = nodes.next_up(None, volume_left, False)
            out.append({"node": node, "container": container, "state": state, "address": "", "os": "",
                        "next up": next_up})
            continue
        address = nodes.configured_address(info, net_name)
        # the recipe's address is the one it was made with; its image is the lab's (a node of
        # another image or network is told apart by create, which knows the wanted image)
        state, next_up = nodes.next_up(info, volume_left, bool(address))
        out.append({"node": node, "container": container, "state": state, "address": address,
                    "os": _release_of(info), "next up": next_up})
    return out


def _release_of(info: dict) -> str:
    """A node container's Debian release: its label, else the release whose image it runs
    (a container made before the label existed), else "?"."""
    labels = info.get("Config", {}).get("Labels") or {}
    return labels.get("labtool.os") or image.release_of(info.get("Config", {}).get("Image", "")) or "?"


# --------------------------------------------------------------------------- a local class


def class_lab_names(class_name: str, n: int) -> list[str]:
    """The labs of a local class: ``<class>-1`` ... ``<class>-N``."""
    return [f"{class_name}-{i}" for i in range(1, n + 1)]


def create_class(
    class_name: str = "classroom",
    n: int = 2,
    artifacts: Path | None = None,
    echo: Echo = print,
    node_os: dict[str, str] | None = None,
) -> Path:
    """N local labs of three node containers each (each its own network and fence, as any
    two local labs), state in ``<state root>/<class>/<lab>/``, and the class file
    ``<state root>/<class>/class.yml`` for them; returns the class file's path.
    ``node_os``: as for :func:`create`, the same in every lab."""
    started = time.monotonic()
    names = class_lab_names(class_name, n)
    labfile.check_name(class_name)
    for name in names:
        labfile.check_name(name)
    host.require_root()
    artifacts = Path(artifacts or DEFAULT_ARTIFACTS).expanduser().resolve()
    _check_artifacts(artifacts)
    node_os = {**releases.node_releases(), **(node_os or {})}
    _check_releases(node_os, artifacts)
    root = _paths.state_dir(class_name)
    echo(f"local class {class_name!r}: {n} labs ({', '.join(names)}); host set-up")
    tags = _host_setup(artifacts, True, echo, set(node_os.values()))
    labs = [_lab_nodes(name, root / name, tags, artifacts, echo, key_dir=name, node_os=node_os) for name in names]
    path = labfile.write(root / "class.yml", labfile.render_class(class_name, labs))
    echo(f"class file: {path} ({time.monotonic() - started:.1f} s)")
    return path


def class_labs(class_name: str) -> list[str]:
    """The labs of the local class: those of its class file, and those a create that did
    not finish left (a state directory, or a record of a network, named <class>-<n>)."""
    import re

    import yaml

    root = _paths.state_dir(class_name)
    names: list[str] = []
    try:
        data = yaml.safe_load((root / "class.yml").read_text()) or {}
        names = [lab["name"] for lab in data.get("labs") or [] if isinstance(lab, dict) and "name" in lab]
    except (OSError, ValueError):
        pass
    pattern = re.compile(rf"^{re.escape(class_name)}-\d+$")
    left = [p.name for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    left += [p.stem for p in RECORDS.glob(f"{class_name}-*.json")] if RECORDS.is_dir() else []
    names += sorted({n for n in left if pattern.match(n)} - set(names), key=lambda n: int(n.rsplit("-", 1)[1]))
    return names


def destroy_class(class_name: str, echo: Echo = print) -> None:
    """Destroy every lab of the local class and remove its class file."""
    labfile.check_name(class_name)
    root = _paths.state_dir(class_name)
    for name in class_labs(class_name):
        destroy(name, echo, state=root / name)
    (root / "class.yml").unlink(missing_ok=True)
    echo(f"local class {class_name!r}: gone")
