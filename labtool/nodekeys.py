"""``labtool keys``: the ssh-copy-id step for a lab (the lab's own key to every node's login
user, with the password once), and ``--forget``, which accepts a reimaged node's new host key.
Which nodes took the key is recorded in the lab's state (labtool.access)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labtool import _paths, access

PLAYBOOK = "keys"


@dataclass
class KeysOutcome:
    changed: list[str] = field(default_factory=list)  # the key was added
    unchanged: list[str] = field(default_factory=list)  # it was there already
    own_key: list[str] = field(default_factory=list)  # the lab file names a key for them
    failed: list[str] = field(default_factory=list)
    result: Any = None  # the run's RunResult

    def lines(self, lab: str) -> list[str]:
        out = []
        if self.changed:
            out.append(f"keys: lab {lab}: the lab's key was added on {', '.join(self.changed)}")
        if self.unchanged:
            out.append(f"keys: lab {lab}: {', '.join(self.unchanged)} had it already (nothing changed)")
        if self.own_key:
            out.append(f"keys: lab {lab}: {', '.join(self.own_key)} use the key the lab file names")
        if self.failed:
            out.append(f"keys: lab {lab}: not done on {', '.join(self.failed)} (see above)")
        if not self.failed and (self.changed or self.unchanged):
            out.append(f"keys: lab {lab}: later runs reach these nodes by the key alone; sudo "
                       "still needs its password if the user is not root")
        return out


def give_keys(lab: Any, *, verbosity: int = 0, on_event: Any = None) -> KeysOutcome:
    from labtool import runner

    state = _paths.state_dir(lab.state_name)
    runner.prepare_private_dir(lab)  # the state directory, 0700
    key = access.ensure_key(state)
    out = KeysOutcome(own_key=[n.name for n in lab.nodes if n.key is not None])
    targets = [n.name for n in lab.nodes if n.key is None]
    if not targets:
        return out
    public = key.with_name(key.name + ".pub").read_text(encoding="utf-8").strip()
    # the key is not used to log in until it is recorded: this run is by password
    result = runner.run_playbook(PLAYBOOK, lab, limit=",".join(targets), verbosity=verbosity,
                                 extravars={"keys_public_key": public}, on_event=on_event)
    out.result = result
    bad = set(result.failed_hosts) | set(result.unreachable_hosts)
    for name in targets:
        counts = result.hosts.get(name)
        if counts is None or name in bad:
            out.failed.append(name)
        elif counts.changed:
            out.changed.append(name)
        else:
            out.unchanged.append(name)
    access.record_keys(lab, state, out.changed + out.unchanged)
    return out


def forget(lab: Any, names: list[str]) -> list[str]:
    """Forget the host keys of the named nodes (and that they took the lab's key: a
    reimaged machine has lost it); one line a node."""
    state = _paths.state_dir(lab.state_name)
    by_name = {n.name: n for n in lab.nodes}
    lines = []
    for name in names:
        node = by_name[name]
        known = access.forget(state, node.address, node.port)
        access.unrecord(state, name)
        lines.append(f"keys: {name} ({node.address}): " + (
            "its host key is forgotten; the next run records the key it presents"
            if known else "no host key was recorded for it"))
    return lines
