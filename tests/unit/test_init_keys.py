"""labtool init (a lab file that validates as written) and labtool keys (the lab key given
to every node, recorded; --forget), with the runner faked."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from labtool import access, exitcodes, runner
from labtool.commands import main
from labtool.events import HostCounts, RunResult
from labtool.labfile import Classroom, load, load_lab


def test_init_writes_a_commented_lab_file_that_validates_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "--cp", "192.168.56.10", "--worker", "192.168.56.11",
                                       "--worker", "192.168.56.12", "--user", "student"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "lab.yml").read_text()
    assert text.startswith("# The lab file of labtool") and "LABTOOL_SSH_PASSWORD" in text
    lab = load_lab(tmp_path / "lab.yml")
    assert [(n.name, n.address, n.user) for n in lab.nodes] == [
        ("cp", "192.168.56.10", "student"), ("w1", "192.168.56.11", "student"),
        ("w2", "192.168.56.12", "student")]
    again = CliRunner().invoke(main, ["init", "--cp", "10.0.0.1", "--worker", "10.0.0.2"])
    assert again.exit_code == exitcodes.BAD_INPUT and "--force" in again.output


def test_init_labs_writes_a_class_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["init", "--labs", "--user", "ubuntu"]
    for lab in (1, 2, 3):
        args += ["--cp", f"10.0.{lab}.10", "--worker", f"10.0.{lab}.11", "--worker", f"10.0.{lab}.12"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    classroom = load(tmp_path / "class.yml")
    assert isinstance(classroom, Classroom) and len(classroom.labs) == 3
    assert classroom.labs[2].control_plane.address == "10.0.3.10"
    assert {n.user for lab in classroom.labs for n in lab.nodes} == {"ubuntu"}


def test_init_refuses_what_labtool_would_refuse_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init", "--cp", "1.2.3", "--worker", "10.0.0.2"])
    assert result.exit_code == exitcodes.BAD_INPUT
    assert "nodes[0].address" in result.output and not list(tmp_path.iterdir())


LAB = """\
name: workshop
user: student
nodes:
  - {name: cp, address: 192.168.56.10, role: control-plane}
  - {name: w1, address: 192.168.56.11, role: worker}
  - {name: w2, address: 192.168.56.12, role: worker, key: ./id_ed25519}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_keys_gives_the_lab_key_once_and_says_which_nodes_changed(write_lab, home, monkeypatch):
    seen = []
    have = set()

    def run_playbook(name, lab, **options):
        seen.append((name, options.get("limit"), options["extravars"]["keys_public_key"]))
        hosts = {}
        for host in options["limit"].split(","):
            hosts[host] = HostCounts(ok=2, changed=0 if host in have else 1)
            have.add(host)
        return RunResult(playbook=name, status="successful", rc=0, hosts=hosts)

    monkeypatch.setattr(runner, "run_playbook", run_playbook)
    path = write_lab(LAB)
    first = CliRunner().invoke(main, ["keys", "-f", str(path)])
    assert first.exit_code == 0, first.output
    assert "added on cp, w1" in first.output and "w2 use the key the lab file names" in first.output
    assert seen[0][0] == "keys" and seen[0][1] == "cp,w1" and seen[0][2].startswith("ssh-ed25519 ")
    lab = load_lab(path)
    assert access.keyed_nodes(lab, home / "workshop") == {"cp", "w1"}
    second = CliRunner().invoke(main, ["keys", "-f", str(path)])
    assert "cp, w1 had it already (nothing changed)" in second.output


def test_keys_forget_accepts_a_reimaged_nodes_new_host_key(write_lab, home):
    path = write_lab(LAB)
    state = home / "workshop"
    key = access.ensure_key(state)
    kind, blob = key.with_name(key.name + ".pub").read_text().split()[:2]
    (state / "known_hosts").write_text(f"192.168.56.11 {kind} {blob}\n")
    access.record_keys(load_lab(path), state, ["w1"])
    result = CliRunner().invoke(main, ["keys", "-f", str(path), "--forget", "w1"])
    assert result.exit_code == 0, result.output
    assert "w1 (192.168.56.11): its host key is forgotten" in result.output
    assert "192.168.56.11" not in (state / "known_hosts").read_text()
    assert access.keyed_nodes(load_lab(path), state) == set()  # it lost the key with its disk
    unknown = CliRunner().invoke(main, ["keys", "-f", str(path), "--forget", "w9"])
    assert unknown.exit_code == exitcodes.BAD_INPUT and "no node w9" in unknown.output


def test_ask_pass_without_a_terminal_says_what_works_instead(write_lab, home):
    result = CliRunner().invoke(main, ["check", "-f", str(write_lab(LAB)), "--ask-pass"])
    assert result.exit_code == exitcodes.BAD_INPUT
    assert "LABTOOL_SSH_PASSWORD" in result.output and "password_file" in result.output
