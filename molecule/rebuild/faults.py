#!/usr/bin/env python3
"""Stopped, removed, dead and rebooted nodes on the local lab (issue 19), through the labtool
commands a user types, on the real node containers of a lab that is up and verified.

    faults.py LAB        # LABTOOL_HOME, LABTOOL_ARTIFACTS from the environment (molecule's)

Each case runs as a student would meet it and asserts what labtool must say and do:

1. dead worker: w2 stopped, the cluster says NotReady; `labtool up -f` exits 4, verify has
   rows for w2 (node-checked failed: unreachable, node-ready NotReady), the summary is not ok;
2. stopped node: `labtool up` (the local lab) starts w2 (not recreated: same container id)
   and the lab is green with no new join;
3. dead control plane: cp stopped; `labtool up -f` exits 4 and only cp is named unreachable,
   in up's failures and in verify's;
4. control plane rebooted: cp started again; the next `labtool up -f` and its verify pass in
   one run;
5. a node that fails mid-run: w1 removed by hand, made anew (a fresh /var) by `labtool local
   create`, its dpkg hidden; `labtool up -f` fails on w1 only, and cp and w2 finish without
   waiting out the Ready timeout for w1's stale node object;
6. removed by hand: with dpkg back, one `labtool up` rejoins w1 and verify passes.

Each case's wall time is printed at the end (for the record; nothing is asserted on it but
case 5's bound, the Ready timeout it must not wait out).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

LAB = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LABTOOL_LAB", "molecule")
HOME = Path(os.environ["LABTOOL_HOME"])
LAB_FILE = HOME / LAB / "lab.yml"
LABTOOL = str(Path(sys.executable).parent / "labtool")
READY_TIMEOUT = 180  # pod_network_ready_timeout's default
ARTIFACTS = ["--artifacts", os.environ["LABTOOL_ARTIFACTS"]] if os.environ.get("LABTOOL_ARTIFACTS") else []
times: dict[str, float] = {}


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        sys.exit(f"FAILED: {' '.join(argv)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def labtool(*args: str) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run([LABTOOL, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "220"})
    out = proc.stdout + proc.stderr
    print(f"--- labtool {' '.join(args)}: exit {proc.returncode}\n{out}", flush=True)
    return proc.returncode, out, time.monotonic() - started


def expect(ok: bool, what: str, out: str = "") -> None:
    if not ok:
        sys.exit(f"FAILED: {what}\n{out[-6000:]}")
    print(f"ok: {what}", flush=True)


def container(node: str) -> str:
    return f"{LAB}-{node}"


def container_id(node: str) -> str:
    return sh("docker", "inspect", "--format", "{{.Id}}", container(node)).stdout.strip()


def kubectl(*args: str) -> subprocess.CompletedProcess:
    return sh("docker", "exec", container("cp"), "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf",
              *args, check=False)


def wait_ssh(node: str, seconds: float = 60) -> None:
    """Until sshd on a node container just started answers (a machine that has booted)."""
    import socket

    address = sh("docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                 container(node)).stdout.strip()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex((address, 22)) == 0:
                return
        time.sleep(1)
    sys.exit(f"FAILED: sshd on {node} ({address}) did not answer within {seconds} s")


def ready_status(node: str) -> str:
    proc = kubectl("get", "node", node, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')
    return proc.stdout.strip()


def wait_not_ready(node: str, seconds: float = 90) -> None:
    """Until the cluster stops calling a powered-off node Ready (node-monitor-grace-period, 40 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready_status(node) not in ("True", ""):
            return
        time.sleep(2)
    sys.exit(f"FAILED: the cluster still calls {node} Ready after {seconds} s")


def row(out: str, check: str, node: str) -> str:
    """The verify table's row of ``check`` on ``node`` ('' when there is none); a row of the
    table itself (│ check │ node │ result │ detail), not the failures' one-line summary."""
    found = re.search(rf"^\s*│\s*{re.escape(check)}\s*│\s*{re.escape(node)}\s*│.*$", out, re.M)
    return found.group(0) if found else ""


def case(name: str):
    def wrap(fn):
        started = time.monotonic()
        print(f"\n=== {name}", flush=True)
        fn()
        times[name] = time.monotonic() - started
        print(f"=== {name}: done in {times[name]:.0f} s", flush=True)
        return fn
    return wrap


def main() -> None:
    expect(LAB_FILE.is_file(), f"the lab file {LAB_FILE} exists")

    @case("1 dead worker")
    def _dead_worker():
        sh("docker", "stop", "--time", "1", container("w2"))
        wait_not_ready("w2")
        code, out, _ = labtool("up", "-f", str(LAB_FILE), "--no-check")
        expect(code == 4, "up exits 4 (a node unreachable)", out)
        expect("unreachable" in row(out, "node-checked", "w2") and "FAILED" in row(out, "node-checked", "w2"),
               "verify has a failed node-checked row for w2 that says unreachable", out)
        expect("NotReady" in row(out, "node-ready", "w2"), "verify's node-ready row says what the cluster says: NotReady", out)
        expect("verify: ok" not in out and "verify ok" not in out, "the summary does not call the lab ok", out)

    @case("2 stopped node started")
    def _stopped():
        before = container_id("w2")
        code, out, _ = labtool("up", "--name", LAB, "--no-check", *ARTIFACTS)
        expect(code == 0, "up on the local lab exits 0", out)
        expect(re.search(rf"node {container('w2')}: \S+ \(started\)", out) is not None, "create started w2", out)
        expect("recreating" not in out and "(created)" not in out, "no node was recreated", out)
        expect(container_id("w2") == before, "w2 is the same container (its state kept)")
        expect("FAILED" not in out, "verify passes: no check failed", out)

    @case("3 dead control plane")
    def _dead_cp():
        sh("docker", "stop", "--time", "1", container("cp"))
        code, out, _ = labtool("up", "-f", str(LAB_FILE), "--no-check")
        expect(code == 4, "up exits 4", out)
        unreachable = set(re.findall(r"UNREACHABLE (\S+?):", out))
        expect(unreachable == {"cp"}, f"only cp is named unreachable (named: {sorted(unreachable)})", out)

    @case("4 control plane rebooted")
    def _rebooted():
        sh("docker", "start", container("cp"))
        wait_ssh("cp")
        code, out, _ = labtool("up", "-f", str(LAB_FILE), "--no-check")
        expect(code == 0, "up and its verify pass in one run after the control plane came back", out)
        expect("FAILED" not in out, "verify passes: no check failed", out)

    @case("5 a node fails mid-run")
    def _fails_mid_run():
        sh("docker", "rm", "--force", container("w1"))  # by hand: the /var volume stays
        proc = sh(LABTOOL, "local", "create", "--name", LAB, *ARTIFACTS)
        print(proc.stdout, flush=True)
        expect("left over, removed too" in proc.stdout and f"{container('w1')}:" in proc.stdout,
               "create removed w1's left-over /var volume and made w1 anew", proc.stdout)
        dpkg_status = sh("docker", "exec", container("w1"), "cat", "/var/lib/dpkg/status").stdout
        expect("Package: containerd" not in dpkg_status, "the new w1's dpkg database is fresh (no containerd)")
        sh("docker", "exec", container("w1"), "mv", "/usr/bin/dpkg", "/usr/bin/dpkg.hidden")
        code, out, took = labtool("up", "-f", str(LAB_FILE), "--no-check")
        expect(code != 0, "up fails", out)
        failed = set(re.findall(r"(?:FAILED|UNREACHABLE) (\S+?):", out))
        expect(failed == {"w1"}, f"only w1 is named as failed (named: {sorted(failed)})", out)
        expect(took < READY_TIMEOUT, f"the others finished in {took:.0f} s, without waiting out the"
               f" {READY_TIMEOUT} s Ready timeout for w1's stale node object", out)
        sh("docker", "exec", container("w1"), "mv", "/usr/bin/dpkg.hidden", "/usr/bin/dpkg")

    @case("6 removed node rejoins in one up")
    def _rejoins():
        code, out, _ = labtool("up", "-f", str(LAB_FILE), "--no-check")
        expect(code == 0, "one up rejoins w1 and verify passes", out)
        expect("FAILED" not in out, "verify passes: no check failed", out)
        expect(ready_status("w1") == "True", "the cluster calls w1 Ready")

    print("\ncase times (s): " + json.dumps({k: round(v, 1) for k, v in times.items()}), flush=True)


if __name__ == "__main__":
    main()
