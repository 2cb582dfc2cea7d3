"""The local lab on this host: create, the fence, a second create, destroy (docker, root)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import time

import pytest

from labtool import _paths, local
from labtool.local import image, network, nodes

pytestmark = pytest.mark.nodes

LAB = "pytest-local"


def _have_docker() -> bool:
    return (
        os.geteuid() == 0
        and shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
    )


if not _have_docker():
    pytest.skip("needs root and a running dockerd", allow_module_level=True)


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("labtool-home")
    old = os.environ.get("LABTOOL_HOME")
    os.environ["LABTOOL_HOME"] = str(home)
    lines: list[str] = []
    try:
        local.destroy(LAB, echo=lambda _m: None)
        started = time.monotonic()
        path = local.create(LAB, echo=lines.append, push_images=False)
        yield {"path": path, "home": home, "lines": lines, "seconds": time.monotonic() - started}
    finally:
        local.destroy(LAB, echo=lambda _m: None)
        if old is None:
            os.environ.pop("LABTOOL_HOME", None)
        else:
            os.environ["LABTOOL_HOME"] = old


def test_three_nodes_run_with_their_names_and_addresses(lab):
    rows = local.status(LAB)
    assert [r["node"] for r in rows] == ["cp", "w1", "w2"]
    assert all(r["state"] == "running" for r in rows)
    net = network.inspect(LAB)
    assert net is not None
    assert all(ipaddress.ip_address(r["address"]) in net.subnet for r in rows)
    for row in rows:
        assert sh("docker", "exec", row["container"], "hostname").stdout.strip() == row["node"]


def test_each_node_answers_ssh_as_root_with_the_lab_key(lab):
    state = lab["path"].parent
    for row in local.status(LAB):
        proc = sh(*nodes.ssh_command(state / "id_ed25519", state / "known_hosts", row["address"], "id", "-u"))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "0"


def test_systemd_runs_in_each_node(lab):
    for row in local.status(LAB):
        state = sh("docker", "exec", row["container"], "systemctl", "is-system-running", "--wait").stdout.strip()
        assert state in {"running", "degraded"}
        assert sh("docker", "exec", row["container"], "systemctl", "is-active", "ssh").stdout.strip() == "active"


def test_the_fence_is_in_place(lab):
    net = network.inspect(LAB)
    rules = sh("iptables", "-S", "DOCKER-USER").stdout
    assert rules.count(f'"labtool fence {LAB}"') == 1
    routes = sh("ip", "route", "show", "type", "unreachable").stdout
    for cidr in ("10.244.0.0/16", "10.96.0.0/12"):
        assert f"unreachable {cidr} metric {net.route_metric}" in routes


def test_a_node_reaches_the_host_but_nothing_forwarded_out_of_its_network(lab):
    """A web server in a container on docker's default bridge (on this machine) answers the
    host, but not a node: the node's packets would be forwarded out of the lab's bridge."""
    probe = "pytest-local-fence-probe"
    sh("docker", "rm", "-f", probe)
    run = sh(
        "docker", "run", "-d", "--name", probe, "--network", "bridge", "--entrypoint", "python3",
        image.image_tag(), "-m", "http.server", "8000",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    try:
        address = sh("docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", probe).stdout.strip()
        url = f"http://{address}:8000/"
        for _ in range(20):
            if sh("curl", "-s", "-m", "2", "-o", "/dev/null", url).returncode == 0:
                break
            time.sleep(0.5)
        assert sh("curl", "-s", "-m", "2", "-o", "/dev/null", url).returncode == 0  # host: yes
        blocked = sh("docker", "exec", f"{LAB}-cp", "curl", "-s", "-m", "3", "-o", "/dev/null", url)
        assert blocked.returncode != 0  # node: dropped by the fence
        gateway = str(network.inspect(LAB).gateway)
        registry = sh("docker", "exec", f"{LAB}-cp", "curl", "-s", "-m", "3", f"http://{gateway}:5000/v2/")
        assert registry.returncode == 0  # the host's registry on the gateway: allowed
        service = sh("docker", "exec", f"{LAB}-cp", "curl", "-s", "-m", "3", "http://10.96.0.1/")
        assert service.returncode != 0
    finally:
        sh("docker", "rm", "-f", probe)


def test_a_second_create_changes_nothing_and_is_fast(lab):
    lines: list[str] = []
    started = time.monotonic()
    path = local.create(LAB, echo=lines.append, push_images=False)
    seconds = time.monotonic() - started
    assert path == lab["path"]
    assert not [line for line in lines if "(created)" in line or "(added)" in line or "(built)" in line]
    assert seconds < 15


def test_a_stopped_node_is_started_and_a_removed_one_made_anew_on_a_fresh_var(lab):
    """A student's `docker stop` and `docker rm -f` of a node container (issue 19): status says
    what it finds and what the next create does; a stopped node is started as it was, a removed
    one is made anew with a fresh /var (its left-over volume removed)."""
    w2, w1 = nodes.container_name(LAB, "w2"), nodes.container_name(LAB, "w1")
    container_id = sh("docker", "inspect", "--format", "{{.Id}}", w2).stdout.strip()
    assert sh("docker", "stop", "--time", "1", w2).returncode == 0
    assert sh("docker", "exec", w1, "touch", "/var/lib/old-var").returncode == 0
    assert sh("docker", "rm", "-f", w1).returncode == 0
    states = {r["node"]: (r["state"], r["next up"]) for r in local.status(LAB)}
    assert states["w2"] == ("stopped", "starts it; its state is kept, no new join")
    assert states["w1"] == ("missing, /var volume left over",
                            "removes the old /var volume, creates the node anew, joins it again")
    assert states["cp"] == ("running", "nothing (running)")
    lines: list[str] = []
    local.create(LAB, echo=lines.append, push_images=False)
    text = "\n".join(lines)
    assert f"node {w2}: " in text and "(started)" in text and "recreating" not in text
    assert sh("docker", "inspect", "--format", "{{.Id}}", w2).stdout.strip() == container_id
    assert f"node {w1}: the container was removed; its /var volume, left over, removed too" in text
    assert sh("docker", "exec", w1, "test", "-e", "/var/lib/old-var").returncode != 0  # a fresh /var
    assert [r["state"] for r in local.status(LAB)] == ["running"] * 3


def test_destroy_removes_only_this_lab(lab):
    safety = "unreachable 10.244.0.0/16 metric 9999"
    had_safety = safety in sh("ip", "route", "show", "type", "unreachable").stdout
    other = "pytest-local-other"
    (lab["path"].parent / _paths.BUILT_MARK).write_text("an up went through\n")
    try:
        local.create(other, echo=lambda _m: None, push_images=False)  # a failed create is cleaned too
        other_net = network.inspect(other)
        local.destroy(LAB, echo=lambda _m: None)
        # new nodes of the same name get the checks before their first up again
        assert not (lab["path"].parent / _paths.BUILT_MARK).exists()
        assert [r["state"] for r in local.status(LAB)] == ["missing"] * 3  # and no /var volume left
        assert not list(lab["path"].parent.glob("id_ed25519.pub.*"))  # nor a key record
        assert network.inspect(LAB) is None
        assert f'"labtool fence {LAB}"' not in sh("iptables", "-S", "DOCKER-USER").stdout
        assert sh("docker", "volume", "inspect", f"{LAB}-cp-var").returncode != 0
        assert not (lab["path"].parent / "id_ed25519").exists()
        # the other lab keeps its rule and routes
        assert f'"labtool fence {other}"' in sh("iptables", "-S", "DOCKER-USER").stdout
        routes = sh("ip", "route", "show", "type", "unreachable").stdout
        assert f"unreachable 10.244.0.0/16 metric {other_net.route_metric}" in routes
    finally:
        local.destroy(other, echo=lambda _m: None)
    routes = sh("ip", "route", "show", "type", "unreachable").stdout
    assert f"metric {other_net.route_metric}" not in routes
    assert (safety in routes) == had_safety  # a host's own safety routes are left alone
