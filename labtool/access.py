"""How labtool reaches a lab's nodes: the lab's own SSH key, the record of the nodes that
``labtool keys`` gave it to, and the lab's own ``known_hosts``.

- Host keys are trusted on first use into ``<state>/known_hosts`` (ssh's
  ``StrictHostKeyChecking=accept-new``, which records the key during the key exchange,
  before any password is sent). A changed key stops that node with ssh's own message;
  ``labtool keys --forget NODE`` accepts a machine known to be reimaged.
- ``<state>/keys.json`` records which node (name, user, address, port) accepts the lab's key
  ``<state>/id_ed25519``: those nodes are reached key-only from then on.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

KEY_NAME = "id_ed25519"
RECORD_NAME = "keys.json"

CHANGED_KEY_RE = re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|"
                            r"host key for .* has changed", re.I)


def lab_key(state: Path) -> Path:
    return state / KEY_NAME


def known_hosts(state: Path) -> Path:
    return state / "known_hosts"


def ensure_key(state: Path) -> Path:
    """The lab's own key pair, made when missing (no passphrase: labtool runs unattended)."""
    key = lab_key(state)
    if not key.exists():
        state.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"labtool-{state.name}",
                        "-f", str(key)], check=True, capture_output=True)
    return key


def _identity(node: Any) -> str:
    return f"{node.user}@{node.address}:{node.port}"


def read_record(state: Path) -> dict[str, str]:
    """{node name: user@address:port} of the nodes that accept the lab's key."""
    try:
        data = json.loads((state / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    nodes = data.get("nodes") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in nodes.items()} if isinstance(nodes, dict) else {}


def keyed_nodes(lab: Any, state: Path) -> set[str]:
    """The nodes of ``lab`` reached by the lab's key (``labtool keys`` gave it to them, and
    they still have the user, address and port they had then)."""
    if not lab_key(state).exists():
        return set()
    record = read_record(state)
    return {n.name for n in lab.nodes if n.key is None and record.get(n.name) == _identity(n)}


def record_keys(lab: Any, state: Path, nodes: list[str]) -> None:
    """Record that ``nodes`` of ``lab`` accept the lab's key."""
    record = read_record(state)
    by_name = {n.name: n for n in lab.nodes}
    record.update({name: _identity(by_name[name]) for name in nodes if name in by_name})
    path = state / RECORD_NAME
    path.write_text(json.dumps({"key": str(lab_key(state)), "nodes": record}, indent=1) + "\n",
                    encoding="utf-8")


def unrecord(state: Path, name: str) -> None:
    """Forget that node ``name`` accepts the lab's key."""
    record = read_record(state)
    if record.pop(name, None) is not None:
        (state / RECORD_NAME).write_text(
            json.dumps({"key": str(lab_key(state)), "nodes": record}, indent=1) + "\n", encoding="utf-8")


def host_patterns(address: str, port: int) -> list[str]:
    """How ssh names a host in known_hosts."""
    return [address] if port == 22 else [f"[{address}]:{port}"]


def forget(state: Path, address: str, port: int = 22) -> bool:
    """Remove a host's keys from the lab's known_hosts; True when there were any."""
    file = known_hosts(state)
    if not file.exists():
        return False
    found = False
    for pattern in host_patterns(address, port):
        done = subprocess.run(["ssh-keygen", "-R", pattern, "-f", str(file)], capture_output=True,
                              text=True)
        found = found or "updated" in done.stdout + done.stderr
    Path(f"{file}.old").unlink(missing_ok=True)
    return found


def is_changed_key(message: str) -> bool:
    return bool(CHANGED_KEY_RE.search(message or ""))


def ssh_reason(message: str) -> str:
    """ssh's own reason, in one line, from an unreachable node's message."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if is_changed_key(message):
        return "the node's SSH host key has changed (REMOTE HOST IDENTIFICATION HAS CHANGED)"
    for line in reversed(lines):
        text = re.sub(r"^(Task failed:\s*)?(Failed to connect to the host via ssh:\s*)?", "", line)
        if text and not text.startswith(("@", "Warning: Permanently added")):
            return text
    return lines[-1] if lines else "no answer"


def hint(node: Any, state: Path, message: str) -> str:
    """What to try for a node that could not be reached: the command to accept a changed key,
    or the plain ssh command that shows what labtool sees."""
    if is_changed_key(message):
        return (f"if {node.name} was reimaged, accept its new key: labtool keys --forget {node.name}"
                " (otherwise someone else may answer on its address: do not)")
    key = node.key or (lab_key(state) if lab_key(state).exists() else None)
    parts = ["ssh"] + (["-i", str(key)] if key else []) + (["-p", str(node.port)] if node.port != 22 else [])
    parts += ["-o", f"UserKnownHostsFile={known_hosts(state)}", f"{node.user}@{node.address}"]
    return "try: " + " ".join(parts)
