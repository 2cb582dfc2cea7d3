"""The iptables-save parser and the packet walk, on nat tables recorded from real labs:
Kubernetes 1.20.2 (the local lab, with counters) and 1.28.7 (shared fixture, no counters)."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from labtool.explain import iptables as ipt
from labtool.explain.natpath import kube_rule_count, masquerade, packet_path

NAT_120 = (FIXTURES / "kube-proxy-1.20-nat.txt").read_text()
NAT_128 = (FIXTURES / "kube-proxy-1.28-nat.txt").read_text()


def test_parse_reads_chains_rules_and_counters():
    table = ipt.parse_table(NAT_120)
    assert table.chains["PREROUTING"].policy == "ACCEPT"
    assert table.chains["KUBE-SERVICES"].policy is None
    dnat = [r for r in table.rules() if r.target == "DNAT" and r.chain.startswith("KUBE-SEP-")]
    assert {r.to_destination for r in dnat} >= {"10.244.1.3:80", "10.244.2.2:80"}
    assert all(isinstance(r.packets, int) for r in table.rules())  # saved with -c
    stat = next(r for r in table.rules() if r.probability is not None)
    assert stat.probability == 0.5 and stat.target.startswith("KUBE-SEP-")


def test_parse_without_counters_and_quoted_comments():
    table = ipt.parse_table(NAT_128)
    assert all(r.packets is None for r in table.rules())
    cni = next(r for r in table.rules() if r.chain == "POSTROUTING" and r.target.startswith("CNI-"))
    assert cni.comment.startswith('name: "labtool" id: "0e32')
    neg = next(r for r in table.rules() if r.chain == "KUBE-POSTROUTING" and r.target == "RETURN")
    assert neg.find("--mark") == ipt.Match("mark", "--mark", "0x4000/0x4000", negated=True)
    masq = next(r for r in table.rules() if r.target == "MASQUERADE" and r.chain == "KUBE-POSTROUTING")
    assert "--random-fully" in masq.target_options


def test_parse_rejects_what_is_not_iptables_save():
    with pytest.raises(ipt.ParseError):
        ipt.parse_table("hello\n")
    with pytest.raises(ipt.ParseError):
        ipt.parse_table("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "nat")


def _chains(table, entry, pkt):
    path = packet_path(table, "x", entry, pkt, {}, {})
    return path


def test_128_nodeport_goes_through_kube_ext_to_both_pods():
    table = ipt.parse_table(NAT_128)
    path = _chains(table, "PREROUTING", ipt.Packet("172.25.33.11", 30001, dst_local=True))
    assert path.chains[:5] == ["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS",
                               "KUBE-EXT-BM6F4AVTDKG47F3K", "KUBE-SVC-BM6F4AVTDKG47F3K"]
    assert {b.dnat_to: b.probability for b in path.branches} == {"10.244.1.3:80": 0.5,
                                                                 "10.244.2.3:80": 0.5}
    assert path.entry_rule.startswith("-A KUBE-NODEPORTS ") and "--dport 30001" in path.entry_rule
    # KUBE-EXT marks unconditionally; the endpoint chains only for a pod reaching itself
    marks = [h for h in path.hops if h.target == "KUBE-MARK-MASQ"]
    assert [h.chain for h in marks if not h.condition] == ["KUBE-EXT-BM6F4AVTDKG47F3K"]
    assert all("source 10.244." in h.condition for h in marks if h.condition)


def test_120_nodeport_jumps_from_kube_nodeports_straight_to_kube_svc():
    table = ipt.parse_table(NAT_120)
    path = _chains(table, "PREROUTING", ipt.Packet("172.24.78.11", 30001, dst_local=True))
    assert path.chains[:4] == ["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS",
                               "KUBE-SVC-BM6F4AVTDKG47F3K"]
    assert not any(c.startswith("KUBE-EXT-") for c in path.chains)
    assert sorted(b.dnat_to for b in path.branches) == ["10.244.1.3:80", "10.244.2.2:80"]
    assert sum(b.probability for b in path.branches) == pytest.approx(1.0)


@pytest.mark.parametrize("nat,cluster_ip", [(NAT_120, "10.109.42.232"), (NAT_128, "10.97.107.29")])
def test_cluster_ip_from_a_node_enters_output_and_marks_only_non_pod_sources(nat, cluster_ip):
    table = ipt.parse_table(nat)
    path = _chains(table, "OUTPUT", ipt.Packet(cluster_ip, 8080))
    assert path.chains[:3] == ["OUTPUT", "KUBE-SERVICES", "KUBE-SVC-BM6F4AVTDKG47F3K"]
    assert len(path.branches) == 2
    assert "KUBE-NODEPORTS" not in path.chains  # a ClusterIP is no address of the node
    first_mark = next(h for h in path.hops if h.target == "KUBE-MARK-MASQ")
    assert first_mark.condition == "when source not 10.244.0.0/16"


def test_a_wrong_port_or_address_reaches_no_pod():
    table = ipt.parse_table(NAT_128)
    assert _chains(table, "PREROUTING", ipt.Packet("172.25.33.11", 30002, dst_local=True)).branches == []
    assert _chains(table, "OUTPUT", ipt.Packet("10.97.107.29", 80)).branches == []


def test_dockers_dns_chains_are_not_kube_proxys():
    table = ipt.parse_table(NAT_128)
    assert "DOCKER_OUTPUT" in table.chains
    path = _chains(table, "OUTPUT", ipt.Packet("10.97.107.29", 8080))
    assert not any(h.chain.startswith("DOCKER") or h.target.startswith("DOCKER") for h in path.hops)
    # the walk itself is generic: Docker's DNS DNAT is found for its own address
    dns = _chains(table, "OUTPUT", ipt.Packet("127.0.0.11", 53))
    assert [b.dnat_to for b in dns.branches] == ["127.0.0.11:45815"]
    # and the rule count is kube-proxy's only (KUBE-* chains and jumps into them)
    # 21 rules in KUBE-* chains, 3 jumps into them from PREROUTING, OUTPUT and POSTROUTING
    assert kube_rule_count(table) == 24


def test_masquerade_mark_and_rule():
    for nat in (NAT_120, NAT_128):
        masq = masquerade(ipt.parse_table(nat))
        assert masq is not None
        assert (masq.mark, masq.mark_chain, masq.postrouting_chain) == \
            ("0x4000/0x4000", "KUBE-MARK-MASQ", "KUBE-POSTROUTING")


def test_three_endpoints_get_a_third_each():
    text = "\n".join([
        "*nat", ":PREROUTING ACCEPT [0:0]", ":SVC - [0:0]", ":A - [0:0]", ":B - [0:0]", ":C - [0:0]",
        "-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 80 -j SVC",
        "-A SVC -m statistic --mode random --probability 0.33333333349 -j A",
        "-A SVC -m statistic --mode random --probability 0.50000000000 -j B",
        "-A SVC -j C",
        "-A A -p tcp -j DNAT --to-destination 10.1.0.1:8080",
        "-A B -p tcp -j DNAT --to-destination 10.1.0.2:8080",
        "-A C -p tcp -j DNAT --to-destination 10.1.0.3:8080",
        "COMMIT"])
    path = _chains(ipt.parse_table(text), "PREROUTING", ipt.Packet("10.0.0.1", 80))
    assert [b.chain for b in path.branches] == ["A", "B", "C"]
    assert [b.probability for b in path.branches] == pytest.approx([1 / 3] * 3, abs=1e-6)
    assert [b.rule_probability for b in path.branches] == [0.33333333349, 0.5, None]


def test_return_and_goto():
    text = "\n".join([
        "*nat", ":OUTPUT ACCEPT [0:0]", ":X - [0:0]", ":Y - [0:0]",
        "-A OUTPUT -j X",
        "-A OUTPUT -j Y",
        "-A X -p tcp -m tcp --dport 80 -j RETURN",
        "-A X -j DNAT --to-destination 10.9.9.9:1",
        "-A Y -j DNAT --to-destination 10.8.8.8:80",
        "COMMIT"])
    table = ipt.parse_table(text)
    assert [b.dnat_to for b in _chains(table, "OUTPUT", ipt.Packet("1.2.3.4", 80)).branches] == ["10.8.8.8:80"]
    assert [b.dnat_to for b in _chains(table, "OUTPUT", ipt.Packet("1.2.3.4", 81)).branches] == ["10.9.9.9:1"]
