"""labtool.lab.pod_route_problems, as the pod_network role uses it after routing: with the
routing protocol its host-gw routes carry, a route an earlier cluster left is a problem even
where no node has its pod CIDR now."""

from __future__ import annotations

import ansible_module  # noqa: F401  (puts collections/ on sys.path)
from ansible_collections.labtool.lab.plugins.filter.pod_routes import parse_routes, pod_route_problems

NODES = [{"name": "cp", "cidr": "10.244.0.0/24", "via": "172.24.26.10"},
         {"name": "w1", "cidr": "10.244.1.0/24", "via": "172.24.26.11"},
         {"name": "w2", "cidr": "10.244.3.0/24", "via": "172.24.26.12"}]
ON_CP = ("default via 172.24.26.1 dev eth0 \n"
         "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 \n"
         "10.244.1.0/24 via 172.24.26.11 dev eth0 proto 73 \n"
         "10.244.3.0/24 via 172.24.26.12 dev eth0 proto 73 \n"
         "172.24.26.0/24 dev eth0 proto kernel scope link src 172.24.26.10 \n")


def test_the_routes_the_unit_makes_have_no_problem():
    assert pod_route_problems(ON_CP, NODES, "cp", protocol=73) == []


def test_a_route_of_an_earlier_cluster_is_a_problem_only_with_the_protocol():
    # w2 was reimaged and joined again: it had 10.244.2.0/24 before, 10.244.3.0/24 now
    left = ON_CP + "10.244.2.0/24 via 172.24.26.12 dev eth0 proto 73 \n"
    assert pod_route_problems(left, NODES, "cp") == []
    assert pod_route_problems(left, NODES, "cp", protocol=73) == [
        "a route of an earlier cluster is left: 10.244.2.0/24 via 172.24.26.12 dev eth0 proto 73"]


def test_a_route_of_the_protocol_to_the_right_cidr_via_another_node_is_a_problem():
    moved = ON_CP.replace("10.244.3.0/24 via 172.24.26.12", "10.244.3.0/24 via 172.24.26.11")
    assert pod_route_problems(moved, NODES, "cp", protocol=73) == [
        "w2's pods 10.244.3.0/24 are routed wrong (expected via 172.24.26.12): "
        "10.244.3.0/24 via 172.24.26.11 dev eth0 proto 73",
        "a route of an earlier cluster is left: 10.244.3.0/24 via 172.24.26.11 dev eth0 proto 73"]


def test_route_types_and_multipath_lines_are_read():
    routes = parse_routes("unreachable 10.244.0.0/16 metric 1026\n"
                          "10.244.5.0/24 proto static \n"
                          "\tnexthop via 10.0.0.1 dev eth0 weight 1\n"
                          "blackhole 10.244.6.0/24 proto 73\n")
    assert [(r["type"], r["dst"], r["via"], r["proto"]) for r in routes] == [
        ("unreachable", "10.244.0.0/16", "", ""), ("unicast", "10.244.5.0/24", "", "static"),
        ("blackhole", "10.244.6.0/24", "", "73")]


def test_the_table_comes_from_the_node_objects_and_skips_other_kinds():
    from ansible_collections.labtool.lab.plugins.filter.pod_routes import pod_cidr_table
    items = [{"kind": "Node", "metadata": {"name": "cp"}, "spec": {"podCIDR": "10.244.0.0/24"},
              "status": {"addresses": [{"type": "Hostname", "address": "cp"},
                                       {"type": "InternalIP", "address": "172.24.26.10"}]}},
             {"kind": "Node", "metadata": {"name": "w1"}, "spec": {}, "status": {}},
             {"kind": "Pod", "metadata": {"name": "dep01-x"}}]
    assert pod_cidr_table(items) == [{"name": "cp", "cidr": "10.244.0.0/24", "via": "172.24.26.10"},
                                     {"name": "w1", "cidr": "", "via": ""}]
