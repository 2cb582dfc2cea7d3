#!/usr/bin/env python3
"""molecule workshop: the local lab's nodes made to behave like a workshop's VMs behind a
proxy with a password, then the instructor's path on them, by password, with every file and
command line searched for both passwords.

The nodes (three node containers made by labtool.local, as every scenario's) become:
sshd allows password logins and refuses root; a user ``student`` whose sudo asks for its
password; w2 a clone of w1 (the same machine-id). The fence lets them reach the host's
package cache and registry only through squid on the gateway (squid.py), which asks for a
user and a password; the lab file names it (sources.proxy, sources.proxy_password_file). Then:

1. ``labtool check`` names the clone and the fix (exit 3); the clone gets its own machine-id;
2. ``labtool up`` of the same lab without the proxy stops at the first fetch (up's checks:
   the package source does not answer), naming the source and suggesting sources.proxy;
3. ``labtool up`` by password (LABTOOL_SSH_PASSWORD: CI has no terminal): the checks, the
   whole walkthrough through the proxy, verify;
3. ``labtool keys`` gives the lab's key to every node (then again: nothing changed);
4. a second ``labtool up``, key-only (sudo's password alone), that changes nothing;
5. both passwords are searched for in every file under the state root (the runner's private
   data dir and artifacts), molecule's ephemeral dir, /tmp, /dev/shm, ~/.ansible and the
   proxy's directory (but the proxy password file the lab file names), in ``labtool
   inventory``'s output, and in every process's command line; the proxy's drop-ins on the
   nodes are root's alone; the proxy's log shows package and image requests by its user;
6. w1's SSH host keys are made anew: verify refuses w1 alone (exit 4) with ssh's message and
   ``labtool keys --forget w1``; after that command, verify passes.

The passwords are made here, in memory, for this run; the login's reaches the nodes through
docker exec's stdin and labtool through its environment, the proxy's squid as a hash and
labtool as the file an instructor would write. Prints a table of each step's time. Exit 0
when every step did what it must.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from squid import Squid

LAB = os.environ.get("LABTOOL_LAB") or "workshop"
HOME = Path(os.environ.get("LABTOOL_HOME") or ".labtool").resolve()
STATE = HOME / LAB
BIN = Path(sys.executable).parent
NODES = ("cp", "w1", "w2")
USER = "student"
PASSWORD = "Ws-" + secrets.token_urlsafe(18)
PROXY_USER = "labproxy"
PROXY_PASSWORD = "Px-" + secrets.token_urlsafe(18)
PROXY_PASSWORD_FILE = HOME / f"{LAB}-proxy.pass"
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


def make_workshop_vms() -> tuple[Path, Path]:
    """The nodes made workshop VMs; returns the lab files behind the proxy and without it."""
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
    gateway = urlsplit(lab["sources"].pop("proxy")).hostname
    PROXY_PASSWORD_FILE.write_text(PROXY_PASSWORD + "\n")
    PROXY_PASSWORD_FILE.chmod(0o600)
    proxied = {**lab, "sources": {**lab["sources"], "proxy": f"http://{PROXY_USER}@{gateway}:3128",
                                  "proxy_password_file": str(PROXY_PASSWORD_FILE)}}
    direct = {**lab, "sources": {**lab["sources"], "package_proxy": f"http://{gateway}:3142"}}
    paths = (HOME / f"{LAB}-vms.yml", HOME / f"{LAB}-vms-no-proxy.yml")
    for path, content in zip(paths, (proxied, direct)):
        path.write_text("# molecule workshop: the local lab's nodes as a workshop's VMs\n"
                        + yaml.safe_dump(content, sort_keys=False))
    root = subprocess.run(["ssh", "-i", str(STATE / "id_ed25519"), "-o", "BatchMode=yes", "-o",
                           f"UserKnownHostsFile={STATE / 'known_hosts'}",
                           f"root@{lab['nodes'][0]['address']}", "true"], capture_output=True, text=True)
    assert root.returncode != 0, "root can still log in"
    TIMES.append(("make the nodes workshop VMs", time.monotonic() - started))
    return paths


def gateway_of(lab_file: Path, key: str = "proxy") -> str:
    """The lab network's gateway, where sources.<key> of the lab file listens."""
    return urlsplit(yaml.safe_load(lab_file.read_text())["sources"][key]).hostname


def search_for_the_passwords(lab_file: Path, proxy: Squid) -> None:
    started = time.monotonic()
    needles = (PASSWORD.encode(), PROXY_PASSWORD.encode())
    roots = [HOME, Path("/tmp"), Path("/dev/shm"), Path.home() / ".ansible", proxy.dir]
    if os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY"):
        roots.append(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]))
    hits, files = [], 0
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath, name)
                try:
                    if (path == PROXY_PASSWORD_FILE or not path.is_file() or path.is_symlink()
                            or path.stat().st_size > 64 << 20):
                        continue
                    files += 1
                    if any(needle in path.read_bytes() for needle in needles):
                        hits.append(str(path))
                except OSError:
                    continue
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if any(needle in (proc / "cmdline").read_bytes() for needle in needles):
                    hits.append(f"the command line of process {proc.name}")
            except OSError:
                continue
    inventory = labtool("inventory", "inventory", "-f", str(lab_file))
    if PASSWORD in inventory or PROXY_PASSWORD in inventory:
        hits.append("labtool inventory's output")
    TIMES.append(("search for the passwords", time.monotonic() - started))
    print(f"==> searched {files} files under {', '.join(map(str, roots))} (but {PROXY_PASSWORD_FILE}, "
          f"the proxy password file the lab file names), every process's command line and labtool "
          f"inventory: {len(hits)} hit(s)", flush=True)
    assert not hits, f"a password was found in: {hits}"


def check_the_drop_ins() -> None:
    """On every node the proxy sits in the drop-ins of containerd and kubelet, root's alone."""
    for node in NODES:
        for unit in ("containerd", "kubelet"):
            path = f"/etc/systemd/system/{unit}.service.d/20-labtool-proxy.conf"
            mode = docker(node, f"stat -c '%a %U' {path}").strip()
            assert mode == "600 root", f"{node}: {path} is {mode}"
            assert PROXY_PASSWORD in docker(node, f"cat {path}"), f"{node}: {path} lacks the proxy's password"
    print("==> containerd's and kubelet's proxy drop-ins: on every node, mode 600, root's", flush=True)


def read_the_proxy_log(proxy: Squid) -> None:
    served = proxy.requests()
    packages = [r for r in served if "deb.debian.org/" in r and r.startswith(PROXY_USER + " ")]
    images = [r for r in served if "/v2/" in r and "/manifests/" in r and r.startswith(PROXY_USER + " ")]
    print(f"==> the proxy served {len(served)} requests: {len(packages)} for packages, {len(images)} "
          "image manifests; for instance:", *packages[:3], *images[:5], sep="\n    ", flush=True)
    assert packages and images, served[-20:]


def up_without_the_proxy(lab_file: Path) -> None:
    """The same lab without sources.proxy: up stops at its first fetch (its checks, before it
    changes anything), naming the package source and suggesting the proxy."""
    out = labtool("up without the proxy", "up", "-f", str(lab_file), ssh=True, become=True, rc=3)
    assert "stopped before changing anything: sources on cp" in out, out
    found = json.loads(labtool("check without the proxy", "check", "-f", str(lab_file), "--json",
                               ssh=True, become=True, rc=3))
    source = f"http://{gateway_of(lab_file, 'package_proxy')}:3142"
    failed = [x for x in found["findings"] if not x["ok"]]
    assert failed and all(x["check"] == "sources" and source in x["result"] and "sources.proxy" in x["fix"]
                          for x in failed), failed


def main() -> int:
    lab_file, without_proxy = make_workshop_vms()
    proxy = Squid(LAB, gateway_of(lab_file), PROXY_USER, PROXY_PASSWORD)
    proxy.start()
    try:
        walk(lab_file, without_proxy, proxy)
    finally:
        proxy.stop()
    print("\n| step | seconds |\n|---|---:|")
    for what, seconds in TIMES:
        print(f"| {what} | {seconds:.1f} |")
    print(f"| all | {sum(s for _, s in TIMES):.1f} |")
    return 0


def walk(lab_file: Path, without_proxy: Path, proxy: Squid) -> None:
    f = str(lab_file)
    found = json.loads(labtool("check (a clone among the nodes)", "check", "-f", f, "--json",
                               ssh=True, become=True, rc=3))
    failed = [x for x in found["findings"] if not x["ok"]]
    assert {(x["node"], x["check"]) for x in failed} == {("w1", "machine-id"), ("w2", "machine-id")}, failed
    assert all("systemd-machine-id-setup" in x["fix"] for x in failed)
    assert any("the same as w1" in x["result"] for x in failed)
    docker("w2", "rm -f /etc/machine-id && systemd-machine-id-setup >/dev/null")
    up_without_the_proxy(without_proxy)
    labtool("up by password, through the proxy", "up", "-f", f, ssh=True, become=True)
    out = labtool("keys", "keys", "-f", f, ssh=True, become=True)
    assert "the lab's key was added on cp, w1, w2" in out, out
    out = labtool("keys again", "keys", "-f", f, ssh=True, become=True)
    assert "had it already (nothing changed)" in out, out
    out = labtool("second up, key-only", "up", "-f", f, become=True)
    assert "nothing changed since the last up, so the up ran the read-only checks" in out, out
    assert "│ rc-ready" in out and "│ rc-replaces-pod" not in out, out  # the read-only checks ran
    search_for_the_passwords(lab_file, proxy)
    check_the_drop_ins()
    read_the_proxy_log(proxy)
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


if __name__ == "__main__":
    sys.exit(main())
