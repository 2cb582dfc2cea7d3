"""containerd's runc wrapper (roles/containerd/files/labtool-runc-bounded) as the role hands it
to labtool.lab.files: the file itself, byte for byte. A Debian 11 node container runs every pod
through it; one stray character and no pod sandbox starts there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WRAPPER = ROOT / "roles/containerd/files/labtool-runc-bounded"


def rendered_wrapper_files(tmp_path: Path) -> list[dict]:
    """_containerd_wrapper_files of roles/containerd/vars/main.yml, as Ansible renders it for a
    node container with containerd 1.4 (the play's files/ is the role's, as for the role's tasks)."""
    (tmp_path / "files").symlink_to(WRAPPER.parent)
    out = tmp_path / "wrapper-files.json"
    play = tmp_path / "render.yml"
    play.write_text(yaml.safe_dump([{
        "name": "Render the runc wrapper's file list", "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(ROOT / "roles/containerd/vars/main.yml")],
        "vars": {"containerd_bounded_capabilities": True, "_containerd_installed": "1.4.13"},
        "tasks": [{"name": "Write it out", "ansible.builtin.copy":
                   {"content": "{{ _containerd_wrapper_files | to_json }}", "dest": str(out)}}]}]))
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play)],
        capture_output=True, text=True, cwd=tmp_path,
        env={"ANSIBLE_NOCOLOR": "1", "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


def test_the_role_installs_the_wrapper_unchanged_and_it_compiles(tmp_path):
    [wrapper] = rendered_wrapper_files(tmp_path)
    assert wrapper["path"] == "/usr/local/sbin/labtool-runc-bounded" and wrapper["mode"] == "0755"
    assert wrapper["content"] == WRAPPER.read_text()
    compile(wrapper["content"], wrapper["path"], "exec")
