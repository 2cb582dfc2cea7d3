#!/usr/bin/env python3
"""molecule workshop: the local lab's nodes made to behave like a workshop's VMs, then the
instructor's path on them, by password, with every file and command line searched for it.

The nodes (three node containers made by labtool.local, as every scenario's) become:
sshd allows password logins and refuses root; a user ``student`` whose sudo asks for its
password; w2 a clone of w1 (the same machine-id). Then:

1. ``labtool check`` names the clone and the fix (exit 3); the clone gets its own machine-id;
2. ``labtool up`` by password (LABTOOL_SSH_PASSWORD: CI has no terminal): the checks, the
   whole walkthrough, verify;
3. ``labtool keys`` gives the lab's key to every node (then again: nothing changed);
4. a second ``labtool up``, key-only (sudo's password alone), that changes nothing;
5. the password is searched for in every file under the state root (the runner's private
   data dir and artifacts), molecule's ephemeral dir, /tmp, /dev/shm and ~/.ansible, in
   ``labtool inventory``'s output, and in every process's command line;
6. w1's SSH host keys are made anew: verify refuses w1 alone (exit 4) with ssh's message and
   ``labtool keys --forget w1``; after that command, verify passes.

The password is made here, in memory, for this run; it reaches the nodes through docker
exec's stdin and labtool through its environment. Nothing here writes it anywhere. Prints a
table of each step's time. Exit 0 when every step did what it must.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import yaml

LAB = os.environ.get("LABTOOL_LAB") or "workshop"
HOME = Path(os.environ.get("LABTOOL_HOME") or ".labtool").resolve()
STATE = HOME / LAB
BIN = Path(sys.executable).parent
NODES = ("cp", "w1", "w2")
USER = "student"
PASSWORD = "Ws-" + secrets.token_urlsafe(18)
TIMES: list[tuple[str, float]] = []


def container(node: str) -> str:
    return f"{LAB}-{node}"


def docker(node: str, script: str, stdin: str | None = None) -> str:
    done = subprocess.run(["docker", "exec", "-i", container(node), "sh", "-c", script], input=stdin,
                          text=True, capture_output=True)
    if done.returncode:
        raise SystemExit(f"{node}: {script}: {done.stderr.strip()}")
    return done.stdout


def labtool(what: str, *args: str, ssh: bool = False, become: bool = False, rc: int = 0) -> str:
    """Run labtool with the passwords asked for in its environment; check its exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABTOOL_") or k == "LABTOOL_HOME"}
    if ssh:
        env["LABTOOL_SSH_PASSWORD"] = PASSWORD
    if become:
        env["LABTOOL_BECOME_PASSWORD"] = PASSWORD
    env["COLUMNS"] = "160"
    started = time.monotonic()
    done = subprocess.run([str(BIN / "labtool"), *args], env=env, text=True, capture_output=True)
    TIMES.append((what, time.monotonic() - started))
    out = done.stdout + done.stderr
    print(f"==> {what}: labtool {' '.join(args)} (exit {done.returncode})\n{out}", flush=True)
    if done.returncode != rc:
        raise SystemExit(f"{what}: exit {done.returncode}, expected {rc}")
    return out


def make_workshop_vms() -> Path:
    started = time.monotonic()
    for node in NODES:
        docker(node, f"id {USER} >/dev/null 2>&1 || useradd -m -s /bin/bash {USER}; chpasswd",
               stdin=f"{USER}:{PASSWORD}\n")
        docker(node, f"echo '{USER} ALL=(ALL) ALL' > /etc/sudoers.d/{USER}; chmod 440 /etc/sudoers.d/{USER}; "
                     "printf 'PasswordAuthentication yes\\nKbdInteractiveAuthentication no\\n"
                     "PermitRootLogin no\\n' > /etc/ssh/sshd_config.d/00-workshop.conf; "
                     "systemctl reload ssh")
    docker("w2", "cat > /etc/machine-id", stdin=docker("w1", "cat /etc/machine-id"))  # a clone
    lab = yaml.safe_load((STATE / "lab.yml").read_text())
    for node in lab["nodes"]:
        node.pop("key", None)
        node.pop("user", None)
    lab["user"] = USER
    path = HOME / f"{LAB}-vms.yml"
    path.write_text("# molecule workshop: the local lab's nodes as a workshop's VMs\n"
                    + yaml.safe_dump(lab, sort_keys=False))
    root = subprocess.run(["ssh", "-i", str(STATE / "id_ed25519"), "-o", "BatchMode=yes", "-o",
                           f"UserKnownHostsFile={STATE / 'known_hosts'}",
                           f"root@{lab['nodes'][0]['address']}", "true"], capture_output=True, text=True)
    assert root.returncode != 0, "root can still log in"
    TIMES.append(("make the nodes workshop VMs", time.monotonic() - started))
    return path


def search_for_the_password(lab_file: Path) -> None:
    started = time.monotonic()
    needle = PASSWORD.encode()
    roots = [HOME, Path("/tmp"), Path("/dev/shm"), Path.home() / ".ansible"]
    if os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"):
        roots.append(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]))
    hits, files = [], 0
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath, name)
                try:
                    if not path.is_file() or path.is_symlink() or path.stat().st_size > 64 << 20:
                        continue
                    files += 1
                    if needle in path.read_bytes():
                        hits.append(str(path))
                except OSError:
                    continue
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in (proc / "cmdline").read_bytes():
                    hits.append(f"the command line of process {proc.name}")
            except OSError:
                continue
    inventory = labtool("inventory", "inventory", "-f", str(lab_file))
    if PASSWORD in inventory:
        hits.append("labtool inventory's output")
    TIMES.append(("search for the password", time.monotonic() - started))
    print(f"==> searched {files} files under {', '.join(map(str, roots))}, every process's "
          f"command line and labtool inventory: {len(hits)} hit(s)", flush=True)
    assert not hits, f"the password was found in: {hits}"


def main() -> int:
    lab_file = make_workshop_vms()
    f = str(lab_file)
    found = json.loads(labtool("check (a clone among the nodes)", "check", "-f", f, "--json",
                               ssh=True, become=True, rc=3))
    failed = [x for x in found["findings"] if not x["ok"]]
    assert {(x["node"], x["check"]) for x in failed} == {("w1", "machine-id"), ("w2", "machine-id")}, failed
    assert all("systemd-machine-id-setup" in x["fix"] for x in failed)
    assert any("the same as w1" in x["result"] for x in failed)
    docker("w2", "rm -f /etc/machine-id && systemd-machine-id-setup >/dev/null")
    labtool("up by password", "up", "-f", f, ssh=True, become=True)
    out = labtool("keys", "keys", "-f", f, ssh=True, become=True)
    assert "the lab's key was added on cp, w1, w2" in out, out
    out = labtool("keys again", "keys", "-f", f, ssh=True, become=True)
    assert "had it already (nothing changed)" in out, out
    out = labtool("second up, key-only", "up", "-f", f, become=True)
    assert "nothing changed" in out, out
    search_for_the_password(lab_file)
    # not in CI: LABTOOL_WORKSHOP_BENCH=N times check and verify N times each (bench/check.py's
    # question, on this lab of VMs with a sudo password)
    for i in range(int(os.environ.get("LABTOOL_WORKSHOP_BENCH") or 0)):
        labtool(f"bench: check {i + 1}", "check", "-f", f, become=True)
        labtool(f"bench: verify {i + 1}", "verify", "-f", f, become=True)
    # a reimaged machine: new host keys, and the old sessions (the controller's ControlPersist
    # master) gone with it
    docker("w1", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh && "
                 f"(pkill -KILL -u {USER} || true)")
    out = labtool("verify after w1 was reimaged", "verify", "-f", f, become=True, rc=4)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in out and "labtool keys --forget w1" in out, out
    labtool("forget w1's host key", "keys", "-f", f, "--forget", "w1")
    labtool("verify after keys --forget w1", "verify", "-f", f, ssh=True, become=True)
    print("\n| step | seconds |\n|---|---:|")
    for what, seconds in TIMES:
        print(f"| {what} | {seconds:.1f} |")
    print(f"| all | {sum(s for _, s in TIMES):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
