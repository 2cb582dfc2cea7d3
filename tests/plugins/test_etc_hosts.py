"""labtool.lab.etc_hosts, the /etc/hosts node_prep writes."""

from __future__ import annotations

import ansible_module  # noqa: F401 - puts collections/ on sys.path

from ansible_collections.labtool.lab.plugins.filter.etc_hosts import etc_hosts  # noqa: E402

NODES = {"cp": "172.25.73.10", "w1": "172.25.73.11", "w2": "172.25.73.12"}
DOCKER = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
          "172.25.73.11\tlab-w1-container\n")


def test_a_fresh_nodes_file_gets_every_node_after_its_own_lines():
    assert etc_hosts(DOCKER, NODES) == DOCKER + "172.25.73.10\tcp\n172.25.73.11\tw1\n172.25.73.12\tw2\n"


def test_a_file_already_as_wanted_comes_back_the_same():
    done = etc_hosts(DOCKER, NODES)
    assert etc_hosts(done, NODES) == done


def test_a_node_at_a_new_address_is_moved_in_place_and_a_second_line_for_it_dropped():
    old = "127.0.0.1 localhost\n10.0.0.5   w1  # old\n172.25.73.10\tcp\n10.0.0.6 w1\n"
    assert etc_hosts(old, NODES) == (
        "127.0.0.1 localhost\n172.25.73.11\tw1\n172.25.73.10\tcp\n172.25.73.12\tw2\n")


def test_lines_that_name_a_node_among_other_names_and_comments_stay():
    text = "# w1 is the first worker\n172.25.73.11 w1 w1.lab\n"
    assert etc_hosts(text, {"w1": "172.25.73.11"}) == text + "172.25.73.11\tw1\n"


def test_no_file_yet():
    assert etc_hosts(None, {"cp": "10.0.0.1"}) == "10.0.0.1\tcp\n"
