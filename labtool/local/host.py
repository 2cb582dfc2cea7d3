"""Host set-up shared by every local lab: dockerd, kernel sysctls, apt-cacher-ng, the registry.

The host has no systemd: services are started under ``setsid`` and left running (they are
caches shared by all labs; destroy leaves them).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

from labtool.local._run import LocalLabError, ok, run
from labtool.local.image import CACHE_DIR, host_mirror

HERE = Path(__file__).resolve().parent
LOG_DIR = Path("/var/log/labtool")

# Not namespaced: kubelet cannot set them from inside a node container and refuses to start.
HOST_SYSCTLS = {
    "vm.overcommit_memory": "1",
    "kernel.panic": "10",
    "kernel.panic_on_oops": "1",
    "vm.panic_on_oom": "0",
    "kernel.keys.root_maxkeys": "1000000",
    "kernel.keys.root_maxbytes": "25000000",
}
# Also host-wide, and shared by every process of root on the host: each node's kubelet,
# containerd and kube-proxy take inotify instances, and past the default 128 (a few labs on
# one machine) kube-proxy dies with "too many open files". Raised to these, never lowered.
HOST_SYSCTL_MINIMUMS = {
    "fs.inotify.max_user_instances": 8192,
    "fs.inotify.max_user_watches": 524288,
}
APT_CACHER_PORT = 3142
REGISTRY_PORT = 5000  # the first artifacts' registry; other artifacts get the next ports
REGISTRY_CONFIG = HERE / "registry.yml"
REGISTRY_STORAGE = Path("/var/lib/docker-registry")  # the first registry's; the others: -<port>
PUSHED_STAMP = CACHE_DIR / "registry-pushed"  # which artifacts' images the last push pushed
# Each artifacts directory's images get a registry of their own (a port and a storage each),
# so that a lab made from other artifacts (another Kubernetes build) never overwrites a tag
# another lab pulls: artifacts.yml's sha256 -> port
REGISTRIES = Path("/var/lib/labtool/registries.json")


def require_root() -> None:
    if os.geteuid() != 0:
        raise LocalLabError(
            "the local lab sets up this host (docker, iptables, routes, sysctls, services): run it as root"
        )


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def _wait(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise LocalLabError(f"{what} did not come up within {seconds:.0f} s")


def _start_detached(args: list[str], log: str) -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / log, "ab") as out:
        subprocess.Popen(  # noqa: S603 - fixed argument lists
            ["setsid", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def ensure_dockerd(echo: Callable[[str], None]) -> None:
    if ok(["docker", "info"]):
        echo("  dockerd: running")
        return
    echo(f"  dockerd: not answering, starting it (setsid dockerd, log {LOG_DIR / 'dockerd.log'})")
    _start_detached(["dockerd"], "dockerd.log")
    _wait(lambda: ok(["docker", "info"]), 60, "dockerd")
    echo("  dockerd: running")


def sysctl_value(key: str) -> str:
    """A kernel parameter's live value, read from /proc/sys as `sysctl -n` prints it."""
    try:
        return " ".join(Path("/proc/sys", *key.split(".")).read_text().split())
    except OSError:
        return run(["sysctl", "-n", key]).stdout.strip()  # its own words for what is wrong


def ensure_sysctls(echo: Callable[[str], None]) -> None:
    echo("  host sysctls (not namespaced: they apply to the whole host, not only the nodes):")
    for key, value in HOST_SYSCTLS.items():
        current = sysctl_value(key)
        if current == value:
            echo(f"    {key} = {value}")
        else:
            run(["sysctl", "-w", f"{key}={value}"])
            echo(f"    {key} = {value} (was {current})")
    for key, minimum in HOST_SYSCTL_MINIMUMS.items():
        current = sysctl_value(key)
        if current.isdigit() and int(current) >= minimum:
            echo(f"    {key} = {current} (at least {minimum})")
        else:
            run(["sysctl", "-w", f"{key}={minimum}"])
            echo(f"    {key} = {minimum} (was {current})")


def ensure_apt_cacher(echo: Callable[[str], None]) -> None:
    if listening(APT_CACHER_PORT):
        echo(f"  apt-cacher-ng: listening on {APT_CACHER_PORT}")
        return
    if not Path("/usr/sbin/apt-cacher-ng").exists():
        raise LocalLabError("apt-cacher-ng is not installed: apt-get install apt-cacher-ng")
    for d in ("/run/apt-cacher-ng", "/var/cache/apt-cacher-ng", "/var/log/apt-cacher-ng"):
        Path(d).mkdir(parents=True, exist_ok=True)
        run(["chown", "apt-cacher-ng:apt-cacher-ng", d], check=False)
    mirror = host_mirror()
    echo(f"  apt-cacher-ng: starting it (setsid, port {APT_CACHER_PORT}, Debian from {mirror})")
    _start_detached(
        [
            "runuser", "-u", "apt-cacher-ng", "--",
            "/usr/sbin/apt-cacher-ng", "-c", "/etc/apt-cacher-ng", "ForeGround=1",
            f"Port={APT_CACHER_PORT}",
            "SocketPath=/run/apt-cacher-ng/socket",
            # Debian requests go to the host's own mirror (apt-cacher-ng's built-in list
            # would send them to ftp.debian.org etc., which need not resolve here).
            f"Remap-debrep=file:deb_mirror*.gz /debian ; {mirror}/",
        ],
        "apt-cacher-ng.log",
    )  # fmt: skip
    _wait(lambda: listening(APT_CACHER_PORT), 30, "apt-cacher-ng")
    echo(f"  apt-cacher-ng: listening on {APT_CACHER_PORT}")


def _registry_status(port: int = REGISTRY_PORT) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def artifacts_key(artifacts: Path) -> str:
    """What tells one artifacts directory's images from another's: artifacts.yml's sha256
    (it holds every image tarball's sha256)."""
    return hashlib.sha256((artifacts / "artifacts.yml").read_bytes()).hexdigest()


def registry_port(artifacts: Path | None) -> int:
    """The host registry port that serves these artifacts' images: the first artifacts seen
    get REGISTRY_PORT, each other one the next free port, kept in REGISTRIES. Without
    artifacts (nodes only), REGISTRY_PORT."""
    if artifacts is None or not (artifacts / "artifacts.yml").is_file():
        return REGISTRY_PORT
    key = artifacts_key(artifacts)
    try:
        ports = json.loads(REGISTRIES.read_text())
    except (OSError, ValueError):
        ports = {}
    if key not in ports:
        taken = set(ports.values())
        ports[key] = next(p for p in range(REGISTRY_PORT, REGISTRY_PORT + 100) if p not in taken)
        REGISTRIES.parent.mkdir(parents=True, exist_ok=True)
        REGISTRIES.write_text(json.dumps(ports, indent=2) + "\n")
    return int(ports[key])


def _registry_config(port: int) -> Path:
    """REGISTRY_CONFIG for the first port; for another, the same with its address and its
    own storage directory."""
    if port == REGISTRY_PORT:
        return REGISTRY_CONFIG
    config = yaml.safe_load(REGISTRY_CONFIG.read_text())
    config["http"]["addr"] = f":{port}"
    config["storage"]["filesystem"]["rootdirectory"] = f"{REGISTRY_STORAGE}-{port}"
    path = REGISTRIES.parent / f"registry-{port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def ensure_registry(echo: Callable[[str], None], port: int = REGISTRY_PORT) -> None:
    if not listening(port):
        if not Path("/usr/bin/docker-registry").exists():
            raise LocalLabError("docker-registry is not installed: apt-get install docker-registry")
        # Debian's /etc/docker/registry/config.yml asks for htpasswd auth, which containerd's
        # mirror configuration has no credentials for; ours is the same without auth.
        config = _registry_config(port)
        echo(f"  registry: starting docker-registry serve {config} (port {port})")
        _start_detached(["docker-registry", "serve", str(config)],
                        "registry.log" if port == REGISTRY_PORT else f"registry-{port}.log")
        _wait(lambda: _registry_status(port) == 200, 30, f"the registry on port {port}")
    status = _registry_status(port)
    if status != 200:
        raise LocalLabError(
            f"something listens on port {port} but GET /v2/ answers {status}: the nodes need"
            f" an anonymous registry there (e.g. docker-registry serve {REGISTRY_CONFIG})"
        )
    echo(f"  registry: answering on {port}")


def artifact_images(artifacts: Path) -> dict[str, str]:
    data = yaml.safe_load((artifacts / "artifacts.yml").read_text()) or {}
    return {k: v for k, v in (data.get("images") or {}).items() if v}


def image_path(reference: str) -> tuple[str, str]:
    """registry.k8s.io/kube-proxy:v1.20.2 -> ("kube-proxy", "v1.20.2"): the repository and tag
    a registry mirror is asked for."""
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        name, tag = reference, "latest"
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, name = first, rest
    else:
        registry = "docker.io"
    if registry in {"docker.io", "index.docker.io"} and "/" not in name:
        name = f"library/{name}"  # Docker Hub's official images
    return name, tag


def registry_has(reference: str, port: int = REGISTRY_PORT) -> bool:
    repo, tag = image_path(reference)
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/{repo}/manifests/{tag}",
        method="HEAD",
        headers={
            "Accept": ", ".join(
                [
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.oci.image.index.v1+json",
                ]
            )
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except (urllib.error.HTTPError, OSError):
        return False


def images_fingerprint(artifacts: Path) -> str:
    """artifacts.yml and each image tarball's name, size and time: what a push depends on."""
    digest = hashlib.sha256((artifacts / "artifacts.yml").read_bytes())
    for tarball in sorted((artifacts / "images").glob("*.tar")):
        st = tarball.stat()
        digest.update(f"{tarball.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def ensure_images_pushed(artifacts: Path, push_script: Path, echo: Callable[[str], None],
                         port: int = REGISTRY_PORT) -> None:
    """Push the artifacts' image tarballs to the registry on ``port`` (registry_port: these
    artifacts' own; the script skips images the registry already serves with the same config
    digest), then check that every image in artifacts.yml is served under the path a
    containerd mirror asks for. When the same artifacts were pushed before and the registry
    still serves every image, the push (seconds) is skipped."""
    images = artifact_images(artifacts)
    fingerprint = images_fingerprint(artifacts)
    stamp = PUSHED_STAMP if port == REGISTRY_PORT else PUSHED_STAMP.with_name(f"{PUSHED_STAMP.name}-{port}")
    pushed = stamp.read_text().strip() if stamp.exists() else ""
    if pushed == fingerprint and all(registry_has(ref, port) for ref in images.values()):
        echo(f"  registry {port}: serves all {len(images)} artifact images (pushed before from these artifacts)")
        return
    if not push_script.exists():
        raise LocalLabError(f"{push_script} is missing: it pushes the artifacts' images to the registry")
    proc = run(["bash", str(push_script), "push", str(artifacts), f"localhost:{port}"], timeout=1800)
    summary = (proc.stdout.strip().splitlines() or [""])[-1]
    echo(f"  registry {port}: {push_script.name} push: {summary.split('] ', 1)[-1]}")
    missing = [ref for ref in images.values() if not registry_has(ref, port)]
    if missing:
        asked = ", ".join(f"{ref} (as /v2/{'/manifests/'.join(image_path(ref))})" for ref in missing)
        raise LocalLabError(
            f"after {push_script.name} push the registry does not serve, under the path a containerd"
            f" mirror asks for: {asked}"
        )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n")
    echo(f"  registry {port}: serves all {len(images)} artifact images")
