"""A node container's state and what the next up does about it (labtool.local.nodes)."""

from __future__ import annotations

from labtool.local import nodes


def _info(status: str, running: bool, image: str = "labtool-node:debian-12", ip: str = "172.30.0.11",
          runtime_ip: str = "") -> dict:
    return {"Id": "abc", "Config": {"Image": image}, "State": {"Status": status, "Running": running},
            "NetworkSettings": {"Networks": {"labtool-net": {
                "IPAMConfig": {"IPv4Address": ip}, "IPAddress": runtime_ip}}}}


def test_a_stopped_container_keeps_its_recipe_and_is_started():
    info = _info("exited", False)  # a stopped container has no runtime IPAddress
    assert nodes.configured_address(info, "labtool-net") == "172.30.0.11"
    assert nodes.same_recipe(info, "labtool-node:debian-12", "labtool-net", "172.30.0.11")
    assert nodes.next_up(info, True, True) == ("stopped", "starts it; its state is kept, no new join")


def test_another_image_or_address_is_recreated():
    info = _info("running", True, runtime_ip="172.30.0.11")
    assert not nodes.same_recipe(info, "labtool-node:debian-11", "labtool-net", "172.30.0.11")
    assert not nodes.same_recipe(info, "labtool-node:debian-12", "labtool-net", "172.30.0.99")
    assert nodes.next_up(info, True, False)[1].startswith("recreates the node")


def test_missing_container_with_and_without_its_volume():
    assert nodes.next_up(None, True, False) == (
        "missing, /var volume left over", "removes the old /var volume, creates the node anew, joins it again")
    assert nodes.next_up(None, False, False) == ("missing", "creates the node, joins it")


def test_running_node_is_left_alone():
    assert nodes.next_up(_info("running", True, runtime_ip="172.30.0.11"), True, True) == (
        "running", "nothing (running)")
