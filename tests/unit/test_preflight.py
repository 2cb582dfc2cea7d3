"""labtool check's judging (labtool.preflight) on node facts as the setup module reports them
(tests/fixtures/preflight/README.md names their sources), and the check table's command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labtool import exitcodes
from labtool.checks import FactsCatcher, distribution_facts, sources_needed
from labtool.labfile import load_lab, parse_lab
from labtool.preflight import NodeFacts, event_time, judge, listening_ports

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "preflight"
NOW = 1764868000.0

LAB = """\
name: workshop
user: student
nodes:
  - {name: cp, address: 192.168.56.10, role: control-plane}
  - {name: w1, address: 192.168.56.11, role: worker}
  - {name: w2, address: 192.168.56.12, role: worker}
"""

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0A00000A:0016 0B00000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1
"""


def setup_facts(name: str, **override) -> dict:
    """A fixture's ansible_facts as labtool.checks keeps them (the ansible_ prefix dropped)."""
    raw = json.loads((FIXTURES / name).read_text())["ansible_facts"]
    facts = {k.removeprefix("ansible_"): v for k, v in raw.items()}
    facts.update(override)
    return facts


def node(name: str, *, become_ok: bool = True, **override) -> NodeFacts:
    return NodeFacts(python=setup_facts(name)["python_version"],
                     sudo={"failed": False} if become_ok else
                     {"failed": True, "msg": "Missing sudo password"},
                     setup=setup_facts(name, **override), listening=PROC_NET_TCP,
                     seen_at=NOW)


def lab(text: str = LAB, tmp_path: Path = Path(".")):
    return parse_lab(text, "lab.yml", base_dir=tmp_path)


def by(preflight, node_name: str, check: str):
    found = [f for f in preflight.findings if f.node == node_name and f.check == check]
    assert len(found) == 1, (node_name, check, preflight.findings)
    return found[0]


def three_distinct():
    return {"cp": node("ubuntu-24.04.json"),
            "w1": node("ubuntu-22.04.json", reach_cp=None),
            "w2": node("ubuntu-24.04.json", machine_id="1" * 32, product_uuid="u-w2",
                       enp1s0={"type": "ether", "macaddress": "52:54:00:00:00:02"},
                       hostname="w2-vm", nodename="w2-vm")}


def test_three_good_vms_pass_every_check():
    facts = three_distinct()
    for name in ("w1", "w2"):
        facts[name].reach_cp = {"changed": False, "elapsed": 0}
    result = judge(lab(), facts)
    assert [f for f in result.failed] == []
    assert result.exit_code == exitcodes.OK
    assert by(result, "cp", "os").result == "Ubuntu 24.04"
    assert by(result, "w1", "python").result == "3.10.12"
    assert by(result, "cp", "sudo").result == "student becomes root"
    assert by(result, "cp", "ports").ok and by(result, "w1", "reach-cp").ok


def test_a_cloned_vm_is_named_with_the_fix():
    facts = three_distinct()
    facts["w2"] = node("ubuntu-22.04.json")  # w1's clone: same machine-id, uuid, MAC, name
    result = judge(lab(), facts)
    clone = by(result, "w2", "machine-id")
    assert not clone.ok and "w1" in clone.result
    assert "systemd-machine-id-setup" in clone.fix
    assert not by(result, "w1", "product_uuid").ok and not by(result, "w2", "mac").ok
    assert by(result, "w2", "hostname").ok  # labtool renames the nodes itself
    assert result.exit_code == exitcodes.VERIFY_FAILED


def test_the_container_profile_knows_its_nodes_share_the_hosts_product_uuid():
    facts = {n: node("ubuntu-22.04.json", machine_id=str(i) * 32,
                     enp1s0={"type": "ether", "macaddress": f"52:54:00:00:00:0{i}"})
             for i, n in enumerate(("cp", "w1", "w2"))}
    result = judge(lab(LAB.replace("name: workshop", "name: workshop\nnode_profile: container")), facts)
    assert by(result, "w1", "product_uuid").ok and "host" in by(result, "w1", "product_uuid").result
    assert result.exit_code == exitcodes.OK


def test_rocky_9_with_one_cpu_is_too_small_for_a_control_plane_but_fine_as_a_worker():
    facts = three_distinct()
    facts["cp"] = node("rocky-9.json")
    facts["w1"] = node("rocky-9.json", machine_id="2" * 32, product_uuid="u-w1",
                       eth0={"type": "ether", "macaddress": "52:54:00:00:00:01"})
    result = judge(lab(), facts)
    assert by(result, "cp", "os").ok and by(result, "cp", "os").result == "Rocky 9.3"
    assert not by(result, "cp", "cpus").ok and "kubeadm" in by(result, "cp", "cpus").fix
    assert by(result, "cp", "memory").ok  # 1763 MB >= 1700
    assert by(result, "w1", "cpus").ok
    assert "turns it off" in by(result, "cp", "swap").result


@pytest.mark.parametrize("override,check,word", [
    ({"memtotal_mb": 1500}, "memory", "1700"),
    ({"distribution": "CentOS", "distribution_version": "7.9.2009", "distribution_major_version": "7"},
     "os", "CentOS 9 or later"),
    ({"distribution": "Gentoo", "distribution_version": "2.15", "distribution_major_version": "2"},
     "os", "not one labtool knows"),
    ({"date_time": {"epoch": str(int(NOW) + 300)}}, "clock", "+300 s"),
])
def test_one_bad_fact_fails_its_check(override, check, word):
    facts = three_distinct()
    facts["cp"] = node("ubuntu-24.04.json", **override)
    finding = by(judge(lab(), facts), "cp", check)
    assert not finding.ok and word in finding.result + finding.fix


def test_python_older_than_3_8_and_sudo_without_password_fail():
    facts = three_distinct()
    facts["w1"].python = "3.6.8"
    facts["cp"] = node("ubuntu-24.04.json", become_ok=False)
    result = judge(lab(), facts)
    assert not by(result, "w1", "python").ok
    sudo = by(result, "cp", "sudo")
    assert not sudo.ok and "Missing sudo password" in sudo.result and "--ask-become-pass" in sudo.fix


def test_a_port_in_use_and_an_unreachable_node():
    facts = three_distinct()
    facts["cp"].listening = PROC_NET_TCP + "   3: 00000000:192B 00000000:0000 0A 0 0 0 0 0 0\n"
    facts["w2"] = NodeFacts(unreachable="ssh: connect to host 192.168.56.12 port 22: No route to host")
    result = judge(lab(), facts)
    assert "6443 (kube-apiserver)" in by(result, "cp", "ports").result
    assert not by(result, "w2", "ssh").ok
    assert [f.check for f in result.findings if f.node == "w2"] == ["ssh"]
    assert result.exit_code == exitcodes.UNREACHABLE


def test_listening_ports_reads_proc_net_tcp():
    assert listening_ports(PROC_NET_TCP) == {22, 53}


def test_sources_by_mode(tmp_path):
    online = lab()
    assert sources_needed(online) == ["https://pkgs.k8s.io/", "https://registry.k8s.io/v2/"]
    mirror = lab(LAB + "sources:\n  mode: mirror\n  kube_packages_url: http://10.0.0.1/k8s\n"
                 "  registry_mirrors: {registry.k8s.io: ['http://10.0.0.1:5000']}\n"
                 "  package_proxy: http://10.0.0.1:3142\n")
    assert sources_needed(mirror) == ["http://10.0.0.1/k8s", "http://10.0.0.1:5000/v2/",
                                      "http://10.0.0.1:3142"]


def test_behind_a_proxy_the_nodes_must_reach_the_proxy_named_without_its_user():
    proxied = lab(LAB + "sources:\n  mode: mirror\n  kube_packages_url: http://10.0.0.1/k8s\n"
                  "  proxy: http://student@10.0.0.1:3128\n")
    assert sources_needed(proxied) == ["http://10.0.0.1:3128/"]


def test_a_source_that_does_not_answer_suggests_the_proxy():
    found = judge(lab(), {"cp": NodeFacts(setup={"distribution": "Debian"},
                                          sources=[{"url": "https://pkgs.k8s.io/", "ok": False, "msg": "timed out"}])})
    row = next(f for f in found.findings if f.check == "sources")
    assert "https://pkgs.k8s.io/" in row.result and "sources.proxy" in row.fix


PROBE = "Check: log in, become root with sudo, and read python3, the OS, the hardware, the ports, the reach"
PLAIN = "Check: log in and read the same without sudo"
RELEASE_FILES = json.loads((FIXTURES / "release-files.json").read_text())
DISTRIBUTION = ("distribution", "distribution_version", "distribution_major_version", "distribution_release")


def probe_output(name: str, **extra) -> str:
    """The raw probe's JSON line for a node whose setup would report fixture ``name``: its
    facts but for the distribution, which the probe brings as the release files."""
    facts = {k: v for k, v in setup_facts(name).items() if k not in DISTRIBUTION}
    return json.dumps({"python": facts["python_version"], "listening": PROC_NET_TCP, "facts": facts,
                       "release_files": RELEASE_FILES[name], **extra}) + "\r\n"


@pytest.mark.parametrize("name", ["ubuntu-22.04.json", "ubuntu-24.04.json", "rocky-9.json"])
def test_the_release_files_give_setups_distribution_facts(name):
    setup = setup_facts(name)
    assert distribution_facts(RELEASE_FILES[name]) == {k: setup[k] for k in DISTRIBUTION}


def test_debian_takes_its_point_release_from_debian_version():
    assert distribution_facts(RELEASE_FILES["debian-12"]) == {
        "distribution": "Debian", "distribution_version": "12.15", "distribution_major_version": "12",
        "distribution_release": "bookworm"}


def test_oracle_linux_is_not_taken_for_red_hat():
    facts = three_distinct()
    facts["cp"] = node("ubuntu-24.04.json", **distribution_facts(RELEASE_FILES["oracle-9"]))
    finding = by(judge(lab(), facts), "cp", "os")
    assert not finding.ok and finding.result.startswith("OracleLinux 9.3: OracleLinux is not one labtool knows")


def test_unreadable_release_files_leave_an_unknown_os():
    assert distribution_facts({"/etc/os-release": 'NAME="unbalanced'})["distribution"] == "OtherLinux"
    assert distribution_facts({})["distribution_major_version"] == "NA"


def test_the_catcher_keeps_each_tasks_result_by_node():
    catcher = FactsCatcher()
    raw = setup_facts("ubuntu-22.04.json")
    sources = [{"url": "https://pkgs.k8s.io/", "ok": True}]
    events = [
        {"event": "runner_on_ok", "created": "2026-12-04T17:00:00.000000", "event_data": {
            "host": "cp", "task": PROBE, "res": {"stdout": probe_output(
                "ubuntu-22.04.json", reach_cp={"failed": False}, sources=sources)}}},
        {"event": "runner_on_failed", "event_data": {"host": "w2", "ignore_errors": True, "task": PROBE,
         "res": {"msg": "Missing sudo password", "failed": True}}},
        {"event": "runner_on_ok", "event_data": {"host": "w2", "task": PLAIN,
                                                  "res": {"stdout": '{"python": "none"}'}}},
        {"event": "runner_on_unreachable", "event_data": {"host": "w1", "task": PROBE,
         "res": {"msg": "Failed to connect to the host via ssh: ssh: connect to host 10.0.0.11 port 22: "
                        "Connection refused", "unreachable": True}}},
    ]
    for e in events:
        catcher(e)
    cp, w2 = catcher.facts["cp"], catcher.facts["w2"]
    assert cp.python == "3.10.12" and listening_ports(cp.listening) == {22, 53}
    assert cp.reach_cp == {"failed": False} and cp.sources[0]["ok"]
    assert cp.setup == raw and cp.sudo == {"failed": False}
    assert cp.seen_at == event_time("2026-12-04T17:00:00.000000")
    assert w2.sudo["failed"] and w2.sudo["msg"] == "Missing sudo password"
    assert w2.setup == {} and w2.python == "none"
    assert catcher.facts["w1"].unreachable == "ssh: connect to host 10.0.0.11 port 22: Connection refused"


@pytest.mark.preflight
def test_up_stops_before_changing_anything_when_a_check_fails(write_lab, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from labtool import checks, runner
    from labtool.commands import main
    from labtool.events import RunResult

    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    ran = []

    def run_playbook(name, lab, **options):
        ran.append(name)
        if options.get("on_event") is not None:
            for host in ("cp", "w1", "w2"):  # three clones
                options["on_event"]({"event": "runner_on_ok", "event_data": {
                    "host": host, "task": PROBE, "res": {"stdout": probe_output("ubuntu-22.04.json")}}})
        return RunResult(playbook=name, status="successful", rc=0)

    monkeypatch.setattr(runner, "run_playbook", run_playbook)
    path = write_lab(LAB.replace("user: student\n", ""))
    result = CliRunner().invoke(main, ["up", "-f", str(path)])
    assert result.exit_code == exitcodes.VERIFY_FAILED, result.output
    assert ran == ["check"]  # no up
    assert "machine-id" in result.output and "stopped before changing anything" in result.output
    assert f"labtool check -f {path}" in result.output
    assert checks.needs_preflight(load_lab(path))  # no up went through: the next one checks again


def _before_up(facts):
    import io

    from rich.console import Console

    from labtool import checks
    from labtool.events import RunResult

    out = io.StringIO()
    code = checks._judged_before_up(lab(), facts, RunResult(playbook="check", status="successful"),
                                    "labtool check -f lab.yml", Console(file=out, width=200))
    return code, out.getvalue()


def test_an_unreachable_node_alone_does_not_stop_the_up_it_is_left_out():
    facts = three_distinct()
    for name in ("w1",):
        facts[name].reach_cp = {"changed": False, "elapsed": 0}
    facts["w2"] = NodeFacts(unreachable="ssh: connect to host 192.168.56.12 port 22: No route to host")
    code, said = _before_up(facts)
    assert code == 0
    assert "leaves out w2 (unreachable)" in said


def test_a_failed_check_on_a_node_that_answered_stops_the_lab():
    facts = three_distinct()
    facts["w2"] = node("ubuntu-24.04.json")  # a clone of cp: same machine-id, product_uuid, MAC
    code, said = _before_up(facts)
    assert code == exitcodes.VERIFY_FAILED
    assert "stopped before changing anything" in said and "labtool check -f lab.yml" in said
