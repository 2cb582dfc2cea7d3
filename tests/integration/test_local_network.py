"""The local lab's node network and traffic fence, rendered without docker."""

from __future__ import annotations

import ipaddress

import pytest

from labtool.local import network
from labtool.local._run import LocalLabError

POD = ipaddress.ip_network("10.244.0.0/16")
SERVICE = ipaddress.ip_network("10.96.0.0/12")


def test_subnet_is_a_24_in_the_pool_and_clear_of_pod_and_service_ranges():
    subnet = network.choose_subnet("workshop", taken=[], avoid=[POD, SERVICE])
    assert subnet.prefixlen == 24
    assert subnet.subnet_of(network.SUBNET_POOL)
    assert not subnet.overlaps(POD) and not subnet.overlaps(SERVICE)


def test_subnet_is_stable_for_a_name_and_differs_between_names():
    a1 = network.choose_subnet("alpha", taken=[])
    a2 = network.choose_subnet("alpha", taken=[])
    b = network.choose_subnet("beta", taken=[])
    assert a1 == a2
    assert a1 != b


def test_subnet_skips_networks_in_use():
    first = network.choose_subnet("alpha", taken=[])
    second = network.choose_subnet("alpha", taken=[first])
    assert second != first
    assert not second.overlaps(first)
    # a wide route covering the first candidate is also skipped
    wide = ipaddress.ip_network(f"{first.network_address}/20", strict=False)
    third = network.choose_subnet("alpha", taken=[wide])
    assert not third.overlaps(wide)


def test_pool_exhausted_is_an_error_naming_the_lab():
    with pytest.raises(LocalLabError, match="'alpha'"):
        network.choose_subnet("alpha", taken=[network.SUBNET_POOL])


def test_route_metric_is_unique_per_subnet_and_below_the_safety_routes():
    subnets = list(network.SUBNET_POOL.subnets(new_prefix=24))
    metrics = {network.route_metric(s) for s in subnets}
    assert len(metrics) == len(subnets)
    assert min(metrics) == network.ROUTE_METRIC_BASE
    assert max(metrics) < 9999  # the host's own `unreachable ... metric 9999` pair stays apart


def test_route_metric_refuses_a_subnet_outside_the_pool():
    with pytest.raises(LocalLabError):
        network.route_metric(ipaddress.ip_network("192.168.1.0/24"))


def test_fence_routes_make_pod_and_service_ranges_unreachable_with_the_lab_metric():
    routes = network.fence_routes(1042, ["10.244.0.0/16", "10.96.0.0/12"])
    assert routes == [
        ["unreachable", "10.244.0.0/16", "metric", "1042"],
        ["unreachable", "10.96.0.0/12", "metric", "1042"],
    ]


def test_fence_rule_drops_everything_leaving_the_bridge_and_names_the_lab():
    rule = network.fence_rule("workshop", "lt-0123456789")
    text = " ".join(rule)
    assert text.startswith("-i lt-0123456789 ! -o lt-0123456789 ")
    assert rule[-2:] == ["-j", "DROP"]
    assert "labtool fence workshop" in rule


def test_bridge_name_fits_a_linux_interface_and_is_distinct_per_lab():
    names = {network.bridge_name(f"lab-{i}") for i in range(200)}
    assert len(names) == 200
    assert all(len(n) <= 15 for n in names)
    assert network.bridge_name("x" * 40) == network.bridge_name("x" * 40)


def test_node_addresses_are_fixed_inside_the_subnet():
    net = network.LabNetwork(
        "l-nodes", "lt-x", ipaddress.ip_network("172.24.3.0/24"), ipaddress.ip_address("172.24.3.1")
    )
    assert [str(net.node_address(i)) for i in range(3)] == ["172.24.3.10", "172.24.3.11", "172.24.3.12"]
    assert net.route_metric == network.ROUTE_METRIC_BASE + 3


def test_the_proxy_fence_lets_the_nodes_reach_the_host_only_through_the_proxy():
    rules = network.air_gap_rules("h21p", "lt-0123456789", ("172.24.7.1", 3128))
    assert [r[-1] for r in rules] == ["ACCEPT", "ACCEPT", "DROP"]
    assert " ".join(rules[1]).startswith("-i lt-0123456789 -d 172.24.7.1 -p tcp --dport 3128 ")
    assert all("labtool fence h21p" in r for r in rules)  # removed with the lab's other rules
