"""Passwords (labtool.secrets, the lab file's password_file:) and host keys (labtool.access):
where a password may come from, and that it never lands in the model, the inventory or the
environment of a child process."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from labtool import access, secrets
from labtool.inventory import build_inventory, render_inventory
from labtool.labfile import LabFileError, load_lab

SECRET = "s3cret-Pa55"

LAB = """\
name: workshop
user: student
password_file: ./pw
sources: {mode: local, artifacts: ./artifacts}
nodes:
  - {name: cp, address: 192.168.56.10, role: control-plane}
  - {name: w1, address: 192.168.56.11, role: worker, user: root}
  - {name: w2, address: 192.168.56.12, role: worker, port: 2222}
"""


@pytest.fixture
def pw(lab_dir):
    path = lab_dir / "pw"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return path


def test_a_password_file_gives_login_and_sudo_without_the_password_in_the_inventory(write_lab, pw, tmp_path):
    lab = load_lab(write_lab(LAB))
    assert [n.user for n in lab.nodes] == ["student", "root", "student"]
    assert all(n.password_file == pw for n in lab.nodes)
    assert SECRET not in lab.model_dump_json()
    text = render_inventory(build_inventory(lab, tmp_path / "state"))
    assert SECRET not in text
    hosts = yaml.safe_load(text)["all"]["children"]
    cp = hosts["control_plane"]["hosts"]["cp"]
    assert cp["ansible_password"] == f"{{{{ lookup('ansible.builtin.file', '{pw}') }}}}"
    assert cp["ansible_become_password"] == cp["ansible_password"]
    assert "ansible_become_password" not in hosts["workers"]["hosts"]["w1"]  # root: no sudo


def test_a_password_file_others_can_read_is_refused_with_the_reason(write_lab, pw):
    pw.chmod(0o640)
    with pytest.raises(LabFileError) as err:
        load_lab(write_lab(LAB))
    assert "can be read by others (mode 640)" in str(err.value) and f"chmod 600 {pw}" in str(err.value)


@pytest.mark.parametrize("key", ["password", "ansible_password", "sudo_password"])
def test_a_clear_text_password_is_refused_naming_the_three_ways(write_lab, pw, key):
    text = LAB.replace("role: control-plane}", f"role: control-plane, {key}: {SECRET}}}")
    with pytest.raises(LabFileError) as err:
        load_lab(write_lab(text))
    message = str(err.value)
    assert f"nodes[0].{key}" in message
    for way in ("--ask-pass", "LABTOOL_SSH_PASSWORD", "password_file"):
        assert way in message
    assert SECRET not in message


def test_nodes_given_the_lab_key_are_reached_by_it_alone(write_lab, pw, tmp_path):
    lab = load_lab(write_lab(LAB))
    state = tmp_path / "state"
    access.ensure_key(state)
    access.record_keys(lab, state, ["cp", "w2"])
    assert access.keyed_nodes(lab, state) == {"cp", "w2"}
    hosts = build_inventory(lab, state, access.keyed_nodes(lab, state))["all"]["children"]
    cp = hosts["control_plane"]["hosts"]["cp"]
    assert cp["ansible_ssh_private_key_file"] == str(state / "id_ed25519")
    assert "ansible_password" not in cp and "ansible_become_password" in cp  # sudo still asks
    assert "ansible_password" in hosts["workers"]["hosts"]["w1"]
    access.unrecord(state, "cp")
    assert access.keyed_nodes(lab, state) == {"w2"}
    moved = lab.model_copy(deep=True)
    moved.nodes[2].address = "192.168.56.99"  # another machine now: the record does not hold
    assert access.keyed_nodes(moved, state) == set()


def test_secrets_are_taken_out_of_the_environment_and_never_shown(monkeypatch):
    env = {secrets.SSH_ENV: SECRET, "OTHER": "x"}
    got = secrets.take_from_env(env)
    assert got.ssh == SECRET and got.become is None and secrets.SSH_ENV not in env
    assert SECRET not in repr(got) and SECRET not in str(got)
    assert got.flags() == ["--ask-pass", "--ask-become-pass"]
    assert got.prompts() == {secrets.SSH_PROMPT: SECRET, secrets.BECOME_PROMPT: SECRET}
    assert secrets.Secrets(become="b").flags() == ["--ask-become-pass"]


def test_a_class_asks_once_per_user():
    asked = []

    def ask(prompt):
        asked.append(prompt)
        return SECRET

    got = secrets.gather(["student", "student", "ubuntu"], ask_pass=True, ask_become_pass=False,
                         ask=ask)
    assert list(got) == ["student", "ubuntu"] and len(asked) == 2


def test_forget_removes_a_nodes_host_key(tmp_path):
    state = tmp_path
    key = access.ensure_key(state)
    line = key.with_name(key.name + ".pub").read_text().split()
    (state / "known_hosts").write_text(f"10.0.0.11 {line[0]} {line[1]}\n[10.0.0.12]:2222 {line[0]} {line[1]}\n")
    assert access.forget(state, "10.0.0.11", 22)
    assert not access.forget(state, "10.0.0.11", 22)
    assert access.forget(state, "10.0.0.12", 2222)
    assert (state / "known_hosts").read_text().strip() == ""


CHANGED = """Failed to connect to the host via ssh: @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Host key for 10.0.0.11 has changed and you have requested strict checking.
Host key verification failed."""


def test_a_changed_host_key_gets_the_one_command_that_accepts_it(write_lab, pw, tmp_path):
    lab = load_lab(write_lab(LAB))
    tmp_path = tmp_path / "state"  # no lab key made yet
    assert access.is_changed_key(CHANGED)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in access.ssh_reason(CHANGED)
    assert "labtool keys --forget w2" in access.hint(lab.nodes[2], tmp_path, CHANGED)
    refused = "Failed to connect to the host via ssh: ssh: connect to host 192.168.56.12 port 2222: Connection refused"
    assert access.ssh_reason(refused) == "ssh: connect to host 192.168.56.12 port 2222: Connection refused"
    assert access.hint(lab.nodes[2], tmp_path, refused).startswith("try: ssh -p 2222 -o UserKnownHostsFile=")
    assert access.hint(lab.nodes[2], tmp_path, refused).endswith("student@192.168.56.12")


def test_the_runner_turns_host_key_checking_on():
    import inspect

    from labtool import runner

    assert '"ANSIBLE_HOST_KEY_CHECKING": "True"' in inspect.getsource(runner.run_playbook)


def test_ssh_keygen_is_there():
    assert subprocess.run(["ssh-keygen", "-?"], capture_output=True).returncode != 127


def test_an_unreachable_node_gets_one_line_with_sshs_reason_and_what_to_try(write_lab, pw):
    from labtool.events import RunResult, TaskFailure
    from labtool.session import unreachable_lines

    lab = load_lab(write_lab(LAB))
    result = RunResult(playbook="up")
    result.failures = [
        TaskFailure("w2", "Read the node", "", "Failed to connect to the host via ssh: ssh: connect to "
                    "host 192.168.56.12 port 2222: No route to host", unreachable=True),
        TaskFailure("w1", "Read the node", "", CHANGED, unreachable=True),
        TaskFailure("cp", "Install", "kube_packages", "E: broken", unreachable=False),
    ]
    lines = unreachable_lines(lab, result)
    assert len(lines) == 2
    assert lines[0].startswith("w2 could not be reached: ssh: connect to host 192.168.56.12 port 2222: "
                               "No route to host; try: ssh -p 2222 ")
    assert lines[0].endswith("student@192.168.56.12")
    assert "labtool keys --forget w1" in lines[1]


def test_a_failed_step_is_named_by_the_walkthrough_step_it_belongs_to():
    from labtool.events import RunResult, TaskFailure
    from labtool.session import step_lines

    result = RunResult(playbook="up")
    result.failures = [TaskFailure("cp", "Initialise the control plane", "labtool.lab.control_plane", "x"),
                       TaskFailure("w1", "Join", "workers", "y"), TaskFailure("w2", "Join", "workers", "z")]
    assert step_lines(result) == ["failed in step 2d, kubeadm init on the control plane, on cp",
                                  "failed in step 2e, kubeadm join on the workers, on w1, w2"]


def test_the_runner_gives_passwords_to_ansible_playbooks_prompts_only(write_lab, pw, tmp_path, monkeypatch):
    import ansible_runner

    from labtool import runner

    monkeypatch.setenv("LABTOOL_HOME", str(tmp_path / "home"))
    got = {}

    class Done:
        status, rc = "successful", 0

        class config:
            artifact_dir = str(tmp_path)

    def run(**kwargs):
        got.update(kwargs)
        return Done()

    monkeypatch.setattr(ansible_runner, "run", run)
    lab = load_lab(write_lab(LAB)).with_secrets(secrets.Secrets(ssh=SECRET))
    runner.run_playbook("verify", lab, check=True)
    assert got["cmdline"] == "--check --ask-pass --ask-become-pass"
    assert got["passwords"] == {secrets.SSH_PROMPT: SECRET, secrets.BECOME_PROMPT: SECRET}
    assert got["envvars"]["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert SECRET not in json.dumps(got["envvars"]) and SECRET not in str(got["extravars"])
    written = "".join(p.read_text() for p in (tmp_path / "home").rglob("*") if p.is_file())
    assert SECRET not in written  # the private data dir: the inventory holds none


def test_container_only_tasks_skipped_on_a_real_machine_are_not_shown():
    from labtool.report import plain_line

    skipped = {"event": "runner_on_skipped", "event_data": {
        "host": "cp", "task": "Load the container-node adaptations because the nodes are Docker containers",
        "res": {"skipped": True, "false_condition": "lab_node_profile == 'container'"}}}
    assert plain_line(skipped) is None
    other = {"event": "runner_on_skipped", "event_data": {
        "host": "cp", "task": "Install", "res": {"skipped": True, "false_condition": "x is changed"}}}
    assert plain_line(other).startswith("skipped")
