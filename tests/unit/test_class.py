"""The class file (labs:): every bad class gets exit code 2 and one message per problem,
naming the file, the line and the key path; the README's example validates; a class run's
exit code and --lab."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from labtool import commands as cli, runner, session
from labtool.inventory import build_class_inventory, build_inventory, class_group
from labtool.labfile import Classroom, Lab, LabFileError, load, merge_lab
from labtool.events import HostCounts, RunResult
from labtool.runner import LabRun

README = Path(__file__).resolve().parents[2] / "README.md"

HEAD = "name: wed\nsources: {mode: local, artifacts: ./artifacts}\nlabs:\n"


def _lab(name: str, net: int, *nodes: str) -> str:
    nodes = nodes or ("cp:control-plane", "w1:worker")
    lines = [f"  - name: {name}\n    nodes:\n"]
    for i, node in enumerate(nodes):
        node_name, role = node.split(":")
        lines.append(f"      - {{name: {node_name}, address: 10.0.{net}.{10 + i}, role: {role}}}\n")
    return "".join(lines)


GOOD = HEAD + _lab("s1", 1) + _lab("s2", 2)

# (case id, class file text, key path named in the message, words the message must contain)
BAD_CLASSES = [
    ("no-class-name", "sources: {mode: local, artifacts: ./artifacts}\nlabs:\n" + _lab("s1", 1),
     "name", "required key is missing"),
    ("bad-class-name", HEAD.replace("wed", "Wed_1") + _lab("s1", 1), "name", "not a valid class name"),
    ("empty-labs", "name: wed\nlabs: []\n", "labs", "must be a list of labs"),
    ("labs-not-a-list", "name: wed\nlabs: {s1: {}}\n", "labs", "must be a list of labs"),
    ("lab-not-a-mapping", HEAD + "  - s1\n", "labs[0]", "must be a mapping"),
    ("nodes-beside-labs", HEAD + _lab("s1", 1) + "nodes: []\n", "nodes", "each lab of labs: has its own nodes"),
    ("unknown-class-key", HEAD + _lab("s1", 1) + "kubernetis: {}\n", "kubernetis", "did you mean 'kubernetes'"),
    ("unknown-lab-key", HEAD + _lab("s1", 1) + "    nodez: []\n", "labs[0].nodez", "did you mean 'nodes'"),
    ("duplicate-lab-names", HEAD + _lab("s1", 1) + _lab("s1", 2), "labs[1].name", "already the name of labs[0]"),
    ("lab-name-not-a-directory-name", HEAD + _lab("../s1", 1), "labs[0].name", "not a valid lab name"),
    ("lab-name-missing", HEAD + "  - nodes:\n      - {name: cp, address: 10.0.1.10, role: control-plane}\n"
     "      - {name: w1, address: 10.0.1.11, role: worker}\n", "labs[0].name", "required key is missing"),
    ("lab-without-nodes", HEAD + "  - name: s1\n", "labs[0].nodes", "lab 's1': required key is missing"),
    ("lab-without-control-plane", HEAD + _lab("s1", 1) + _lab("s2", 2, "w1:worker", "w2:worker"),
     "labs[1].nodes", "lab 's2': no node has role: control-plane"),
    ("lab-without-worker", HEAD + _lab("s1", 1) + _lab("s2", 2, "cp:control-plane"),
     "labs[1].nodes", "lab 's2': no node has role: worker"),
    ("address-in-two-labs", HEAD + _lab("s1", 1) + _lab("s2", 1),
     "labs[1].nodes[0].address", "already used by labs[0].nodes[0] (lab 's1')"),
    ("bad-node-in-a-lab", HEAD + _lab("s1", 1, "cp:control-plane", "w1:wrker"),
     "labs[0].nodes[1].role", "lab 's1': 'wrker' is not one of"),
    ("bad-shared-key", HEAD.replace("labs:", "kubernetes: {version: '1.9.0'}\nlabs:") + _lab("s1", 1),
     "kubernetes.version", "not supported"),
    ("bad-lab-override", HEAD + _lab("s1", 1) + "    kubernetes: {pod_network: calico}\n",
     "labs[0].kubernetes.pod_network", "'calico' is not one of"),
    ("duplicate-key-in-a-lab", HEAD + _lab("s1", 1) + "    name: s9\n", "labs[0].name", "duplicate key"),
]


@pytest.mark.parametrize("text,key,words", [c[1:] for c in BAD_CLASSES], ids=[c[0] for c in BAD_CLASSES])
def test_bad_class_names_the_key(write_lab, text, key, words):
    path = write_lab(text, "class.yml")
    with pytest.raises(LabFileError) as exc:
        load(path)
    hits = [p for p in exc.value.problems if p.key == key and words in p.message]
    assert hits, f"no problem at {key!r} saying {words!r}: {exc.value}"
    assert all(p.file == str(path) and (p.line or "missing" in p.message) for p in hits)


@pytest.mark.parametrize("text", [c[1] for c in BAD_CLASSES], ids=[c[0] for c in BAD_CLASSES])
def test_bad_class_exits_2_and_runs_nothing(write_lab, monkeypatch, text):
    calls = []
    monkeypatch.setattr(runner, "run_playbook", lambda *a, **k: calls.append(a))
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(text, "class.yml"))])
    assert result.exit_code == 2
    assert "nothing was run" in result.output
    assert calls == []


def test_a_shared_problem_is_reported_once_not_per_lab(write_lab):
    text = HEAD.replace("labs:", "kubernetes: {version: '1.9.0'}\nlabs:") + _lab("s1", 1) + _lab("s2", 2)
    with pytest.raises(LabFileError) as exc:
        load(write_lab(text, "class.yml"))
    assert [p.key for p in exc.value.problems] == ["kubernetes.version"]
    assert exc.value.problems[0].line == 3


def test_the_line_is_the_labs_own(write_lab):
    text = HEAD + _lab("s1", 1) + _lab("s2", 1)
    with pytest.raises(LabFileError) as exc:
        load(write_lab(text, "class.yml"))
    (problem,) = [p for p in exc.value.problems if p.key == "labs[1].nodes[0].address"]
    assert text.splitlines()[problem.line - 1].strip().startswith("- {name: cp, address: 10.0.1.10")
    assert problem.line == 10


def test_good_class_every_lab_with_the_shared_keys_and_its_own(write_lab):
    text = GOOD.replace("labs:", "kubernetes: {pod_network: host-gw, version: '1.20.2'}\nlabs:")
    text += "    kubernetes: {pod_network: flannel}\n"
    classroom = load(write_lab(text, "class.yml"))
    assert isinstance(classroom, Classroom)
    assert classroom.name == "wed" and classroom.lab_names == ["s1", "s2"]
    s1, s2 = classroom.labs
    assert (s1.kubernetes.pod_network, s2.kubernetes.pod_network) == ("host-gw", "flannel")
    assert s2.kubernetes.version == "1.20.2"  # the class's, kept by the lab's override
    assert s1.sources.mode == s2.sources.mode == "local"
    assert (s1.state_name, s2.state_name) == ("wed/s1", "wed/s2")


def test_a_lab_file_stays_a_single_lab(write_lab):
    from conftest import GOOD_LAB

    lab = load(write_lab(GOOD_LAB))
    assert isinstance(lab, Lab) and lab.state_name == "workshop" and lab.class_name is None


def test_merge_lab_mappings_key_by_key_anything_else_replaced():
    shared = {"name": "wed", "iptables_service": "stopped", "kubernetes": {"version": "1.20.2"},
              "workloads": {"service": {"node_port": 30001, "port": 8080}}}
    own = {"name": "s1", "iptables_service": "enabled", "workloads": {"service": {"node_port": 30002}}}
    assert merge_lab(shared, own) == {
        "name": "s1", "iptables_service": "enabled", "kubernetes": {"version": "1.20.2"},
        "workloads": {"service": {"node_port": 30002, "port": 8080}}}


def test_readme_class_example_validates(lab_dir):
    text = README.read_text()
    example = re.search(r"```yaml\n# class\.yml\n(.*?)```", text, re.S)
    assert example, "README has no ```yaml block starting with '# class.yml'"
    path = lab_dir / "class.yml"
    path.write_text(example.group(1))
    classroom = load(path)
    assert classroom.lab_names == ["alice", "bob"]
    assert classroom.lab("bob").kubernetes.pod_network == "flannel"


def test_readme_bad_class_messages_are_what_labtool_says(lab_dir):
    """The README's three example messages come from this class file."""
    text = README.read_text()
    shown = re.search(r"```\n(class\.yml:\d+: labs.*?)```", text, re.S).group(1).strip().splitlines()
    bad = re.search(r"```yaml\n# class\.yml\n(.*?)```", text, re.S).group(1)
    bad = bad.replace("  - name: bob", "  - name: alice", 1)
    bad = bad.replace("192.168.57.10", "192.168.56.10").replace(
        "      - {name: w1, address: 192.168.57.11, role: worker, key: ./id_ed25519}\n", "")
    (lab_dir / "class.yml").write_text(bad)
    with pytest.raises(LabFileError) as exc:
        load(lab_dir / "class.yml")
    said = [str(p).replace(str(lab_dir / "class.yml"), "class.yml") for p in exc.value.problems]
    for line in shown[:-1]:
        assert line in said, f"{line!r} not in {said}"


# --------------------------------------------------------------------------- inventory


def test_each_lab_has_its_own_inventory_and_state(write_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    classroom = load(write_lab(GOOD, "class.yml"))
    inv = build_inventory(classroom.lab("s2"))["all"]
    assert inv["vars"]["lab_name"] == "s2"
    assert inv["vars"]["lab_state_dir"] == str(tmp_path / "home" / "wed" / "s2")
    assert list(inv["children"]["control_plane"]["hosts"]) == ["cp"]
    assert inv["children"]["control_plane"]["hosts"]["cp"]["ansible_host"] == "10.0.2.10"


def test_class_inventory_a_group_per_lab(write_lab):
    classroom = load(write_lab(GOOD, "class.yml"))
    inv = build_class_inventory(classroom)["all"]
    assert list(inv["children"]) == ["lab_s1", "lab_s2"]
    s2 = inv["children"]["lab_s2"]
    assert s2["vars"]["lab_name"] == "s2"
    assert s2["children"]["lab_s2_control_plane"]["hosts"]["s2-cp"]["node_name"] == "cp"
    assert s2["children"]["lab_s2_workers"]["hosts"]["s2-w1"]["ansible_host"] == "10.0.2.11"
    assert class_group("cr-1") == "lab_cr_1"


def test_inventory_command_lab_and_class(write_lab):
    path = str(write_lab(GOOD, "class.yml"))
    one = CliRunner().invoke(cli.main, ["inventory", "-f", path, "--lab", "s1"])
    assert one.exit_code == 0 and "lab_name: s1" in one.output and "control_plane:" in one.output
    every = CliRunner().invoke(cli.main, ["inventory", "-f", path])
    assert every.exit_code == 0 and "lab_s1:" in every.output and "lab_s2:" in every.output
    bad = CliRunner().invoke(cli.main, ["inventory", "-f", path, "--lab", "s3"])
    assert bad.exit_code == 2 and "no lab named 's3' (labs: s1, s2)" in bad.output


# --------------------------------------------------------------------------- a class run


@pytest.fixture
def fake_class_runs(monkeypatch):
    """Replace the playbook runs; outcomes[(lab, playbook)] is what a run returns."""
    calls: list[tuple[str, str, dict]] = []
    outcomes: dict[tuple[str, str], RunResult] = {}

    def run_playbook(name, lab, **kwargs):
        calls.append((lab.name, name, {k: v for k, v in kwargs.items()
                                       if k not in ("on_event", "interrupt")}))
        return outcomes.get((lab.name, name)) or RunResult(
            playbook=name, status="successful", hosts={"cp": HostCounts(ok=1, changed=1)})

    monkeypatch.setattr(runner, "run_playbook", run_playbook)
    return calls, outcomes


def test_class_up_runs_up_then_verify_for_every_lab(write_lab, fake_class_runs):
    calls, _ = fake_class_runs
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD, "class.yml"))])
    assert result.exit_code == 0, result.output
    assert sorted((c[0], c[1]) for c in calls) == [("s1", "up"), ("s1", "verify"),
                                                    ("s2", "up"), ("s2", "verify")]


def test_class_up_that_ran_the_roles_and_every_check_in_one_run(write_lab, fake_class_runs):
    calls, outcomes = fake_class_runs
    checks = {"node-ready/cp": {"check": "node-ready", "node": "cp", "ok": True, "detail": "Ready=True"},
              "rc-replaces-pod/cp": {"check": "rc-replaces-pod", "node": "cp", "ok": True, "detail": "replaced"}}
    for lab in ("s1", "s2"):
        outcomes[(lab, "up")] = RunResult(playbook="up", status="successful",
                                          hosts={"cp": HostCounts(ok=9, changed=4)}, verify=checks)
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD, "class.yml"))])
    assert result.exit_code == 0, result.output
    assert sorted((c[0], c[1]) for c in calls) == [("s1", "up"), ("s2", "up")]
    assert "[s1] up ok, verify ok" in result.output and "read-only" not in result.output


def test_class_up_of_an_unchanged_lab_verifies_in_the_up_run(write_lab, fake_class_runs):
    calls, outcomes = fake_class_runs
    checks = {"node-ready/cp": {"check": "node-ready", "node": "cp", "ok": True, "detail": "Ready=True"}}
    outcomes[("s1", "up")] = RunResult(playbook="up", status="successful", hosts={"cp": HostCounts(ok=9)},
                                       verify=checks)
    outcomes[("s2", "up")] = RunResult(playbook="up", status="failed", hosts={"cp": HostCounts(ok=8, failed=1)},
                                       verify={"node-ready/cp": {**checks["node-ready/cp"], "ok": False}})
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD, "class.yml"))])
    assert result.exit_code == 3, result.output
    assert sorted((c[0], c[1]) for c in calls) == [("s1", "up"), ("s2", "up")]
    assert all(c[2]["extravars"] == {"labtool_verify_unchanged": True, "labtool_verify_after_roles": True}
               for c in calls)
    assert "verify failed: 1 check(s)" in result.output and "failed: cp" not in result.output
    # the words molecule's classroom scenario looks for
    assert "[s1] up ok, nothing changed, read-only verify ok" in result.output
    assert "[s2] up ok, nothing changed, read-only verify failed" in result.output


def test_class_up_lab_picks_labs(write_lab, fake_class_runs):
    calls, _ = fake_class_runs
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD, "class.yml")), "--lab", "s2"])
    assert result.exit_code == 0, result.output
    assert {c[0] for c in calls} == {"s2"}


def test_class_up_unreachable_node_verifies_the_others_and_exits_4(write_lab, fake_class_runs):
    calls, outcomes = fake_class_runs
    outcomes[("s2", "up")] = RunResult(playbook="up", status="failed", hosts={
        "cp": HostCounts(ok=5, changed=2), "w1": HostCounts(ok=5, changed=1),
        "w2": HostCounts(unreachable=1)})
    text = GOOD.replace(_lab("s2", 2), _lab("s2", 2, "cp:control-plane", "w1:worker", "w2:worker"))
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(text, "class.yml"))])
    assert result.exit_code == 4, result.output
    verify_s2 = [c for c in calls if c[:2] == ("s2", "verify")]
    assert verify_s2 and verify_s2[0][2]["limit"] == "all:!w2"
    assert ("s1", "verify") in [(c[0], c[1]) for c in calls]


def test_class_up_failed_task_in_one_lab_exits_1_and_the_other_is_verified(write_lab, fake_class_runs):
    calls, outcomes = fake_class_runs
    outcomes[("s1", "up")] = RunResult(playbook="up", status="failed",
                                       hosts={"cp": HostCounts(failed=1), "w1": HostCounts(ok=3)})
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD, "class.yml"))])
    assert result.exit_code == 1, result.output
    assert [(c[0], c[1]) for c in calls if c[0] == "s1"] == [("s1", "up")]
    assert ("s2", "verify") in [(c[0], c[1]) for c in calls]


def test_single_lab_up_with_a_dead_worker_verifies_the_others(write_lab, fake_class_runs):
    from conftest import GOOD_LAB

    calls, outcomes = fake_class_runs
    outcomes[("workshop", "up")] = RunResult(playbook="up", status="failed", hosts={
        "cp": HostCounts(ok=5, changed=2), "w1": HostCounts(ok=5), "w2": HostCounts(unreachable=1)})
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD_LAB))])
    assert result.exit_code == 4, result.output
    assert [(c[1], c[2].get("limit")) for c in calls] == [("up", None), ("verify", "all:!w2")]


def test_class_reset_without_terminal_refuses(write_lab, fake_class_runs):
    calls, _ = fake_class_runs
    result = CliRunner().invoke(cli.main, ["reset", "-f", str(write_lab(GOOD, "class.yml"))])
    assert result.exit_code == 2 and "Add --yes" in result.output and calls == []
    result = CliRunner().invoke(cli.main, ["reset", "-y", "-f", str(write_lab(GOOD, "class.yml"))])
    assert result.exit_code == 0 and sorted(c[0] for c in calls) == ["s1", "s2"]


@pytest.mark.parametrize("codes,expected", [
    ([[0], [0, 0]], 0), ([[4, 0], [0, 0]], 4), ([[1], [4, 0]], 4), ([[1], [0, 0]], 1),
    ([[0, 3], [0, 0]], 3), ([[130], [4]], 130)])
def test_class_exit_code_worst_first(codes, expected):
    outcome = {0: RunResult("up", "successful", hosts={"cp": HostCounts(ok=1)}),
               1: RunResult("up", "failed", hosts={"cp": HostCounts(failed=1)}),
               3: RunResult("verify", "failed", verify={"x/cp": {"ok": False}}),
               4: RunResult("up", "failed", hosts={"w2": HostCounts(unreachable=1)}),
               130: RunResult("up", "canceled")}
    runs = {f"l{i}": LabRun(f"l{i}", runs=[outcome[c] for c in lab]) for i, lab in enumerate(codes)}
    assert session.class_exit_code(runs) == expected


def test_up_labs_creates_the_local_class_then_builds_it(write_lab, fake_class_runs, monkeypatch):
    from labtool import local

    calls, _ = fake_class_runs
    path = write_lab(GOOD, "class.yml")
    asked = []
    monkeypatch.setattr(local, "create_class", lambda name, n, **kw: asked.append((name, n)) or path)
    result = CliRunner().invoke(cli.main, ["up", "--labs", "2", "--name", "wed"])
    assert result.exit_code == 0, result.output
    assert asked == [("wed", 2)]
    assert sorted((c[0], c[1]) for c in calls) == [("s1", "up"), ("s1", "verify"),
                                                    ("s2", "up"), ("s2", "verify")]


def test_local_class_file_validates(tmp_path):
    from labtool.local import labfile

    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "artifacts.yml").write_text("kubernetes_version: v1.20.2\n")
    labs = []
    for i, net in ((1, 7), (2, 8)):
        name = f"cr-{i}"
        (tmp_path / name).mkdir()
        (tmp_path / name / "id_ed25519").write_text("key\n")
        addresses = {n: f"172.24.{net}.{10 + j}" for j, n in enumerate(("cp", "w1", "w2"))}
        labs.append(labfile.render(name, addresses, f"172.24.{net}.1", tmp_path / "artifacts",
                                   key=f"{name}/id_ed25519"))
    path = labfile.write(tmp_path / "class.yml", labfile.render_class("cr", labs))
    classroom = load(path)
    assert classroom.lab_names == ["cr-1", "cr-2"]
    assert classroom.lab("cr-2").sources.package_proxy == "http://172.24.8.1:3142"
    assert classroom.lab("cr-1").node_profile == "container"
    assert classroom.lab("cr-1").nodes[0].key == tmp_path / "cr-1" / "id_ed25519"


def test_class_up_a_lab_whose_checks_fail_stops_alone_and_the_others_go_on(write_lab, fake_class_runs,
                                                                          monkeypatch):
    from labtool import checks

    calls, _ = fake_class_runs
    monkeypatch.setattr(checks, "before_up", lambda labs, check_command, **kw: {"s1": 3})
    result = CliRunner().invoke(cli.main, ["up", "-f", str(write_lab(GOOD, "class.yml"))])
    assert result.exit_code == 3, result.output
    assert sorted((c[0], c[1]) for c in calls) == [("s2", "up"), ("s2", "verify")]
