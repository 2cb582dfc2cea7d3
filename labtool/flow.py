"""The rule "up, then verify", in one place for a single lab and for every lab of a class.

``up_then_verify(lab, run, request)`` runs the lab's playbooks through ``run(playbook,
**options) -> RunResult`` (the caller decides how a run is shown) and returns what happened
in one line. The exit code comes from the runs themselves (exitcodes.worst).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from labtool import exitcodes, stages

READ_ONLY_NOTE = ("verify: nothing changed since the last up, so the up ran the read-only checks; "
                  "rc-replaces-pod, which deletes a pod, runs with 'labtool verify'")


@dataclass(frozen=True)
class UpRequest:
    """What the user asked of `labtool up`."""

    limit: str | None = None
    tags: str | None = None
    check: bool = False
    verbosity: int = 0
    no_verify: bool = False
    full: bool = False
    extravars: dict[str, Any] = field(default_factory=dict)
    until: str = stages.EVERYTHING  # --until: build up to this stage of the walkthrough, no further

    @property
    def short_of_everything(self) -> bool:
        return self.until in stages.TAGS

    @property
    def run_tags(self) -> str | None:
        """The up run's tags: the stage's roles when --until stops short of everything."""
        return stages.TAGS[self.until] if self.short_of_everything else self.tags

    @property
    def verify_follows(self) -> bool:
        """Whether the checks follow an up that went well: not after a partial or dry run,
        nor short of everything (verify checks the finished lab; `labtool progress` says
        where a lab built up to a stage is)."""
        return not (self.tags or self.check or self.no_verify or self.short_of_everything)

    def up_extravars(self) -> dict[str, Any] | None:
        """The up run's extra vars. When the checks would follow, the up runs them itself (the
        last play of playbooks/up.yml), one ansible-playbook run instead of two: the read-only
        ones if it finds every node as the last up left it, all of them if the roles ran and
        every node is still in the run. Not after --full, whose checks are read-only when it
        changed nothing, which only the finished run can tell."""
        extra = dict(self.extravars)
        if self.full:
            extra["converge_stamp_skip_unchanged"] = False
        if self.verify_follows:
            extra["labtool_verify_unchanged"] = True
            if not self.full:
                extra["labtool_verify_after_roles"] = True
        return extra or None


@dataclass(frozen=True)
class UpOutcome:
    summary: str  # e.g. "ok, verify ok" or "done without w2 (unreachable), verify failed"
    read_only_verify: bool  # the checks ran without the pod deletion (nothing changed)


def changed_nothing(result: Any) -> bool:
    return bool(result.hosts) and all(c.changed == 0 for c in result.hosts.values())


def read_only_checks(result: Any) -> bool:
    """Whether the run's checks left out rc-replaces-pod (the only one that changes the lab)."""
    return bool(result.verify) and not any(c.get("check") == "rc-replaces-pod" for c in result.verify.values())


def without(limit: str | None, hosts: list[str], node_count: int) -> str | None:
    """An Ansible limit for the nodes of ``limit`` (default all) except ``hosts``; None when
    no node is left."""
    if len(set(hosts)) >= node_count:
        return None
    return ":".join([limit or "all"] + [f"!{h}" for h in sorted(hosts)])


def run_word(result: Any) -> str:
    if result.status == "successful":
        return "ok"
    return {"canceled": "interrupted"}.get(result.status, result.status)


def _verify_limit(lab: Any, up: Any, request: UpRequest) -> tuple[bool, str | None]:
    """Whether the checks follow this up, and on which nodes: those that answered."""
    code = exitcodes.for_run(up)
    if up.verify or up.failed_hosts or not request.verify_follows:
        return False, None
    if code == exitcodes.OK:
        return True, request.limit
    if code == exitcodes.UNREACHABLE:
        nodes = without(request.limit, up.unreachable_hosts, len(lab.nodes))
        return nodes is not None, nodes
    return False, None


def _up_word(up: Any) -> str:
    if up.verify:  # the up ran the checks itself, after every node went through it
        checks = "failed" if up.failed_checks else run_word(up)
        return f"ok, nothing changed, read-only verify {checks}" if read_only_checks(up) else f"ok, verify {checks}"
    if up.unreachable_hosts and not up.failed_hosts and up.status == "failed":
        return f"done without {', '.join(up.unreachable_hosts)} (unreachable)"
    return run_word(up) + (", nothing changed" if changed_nothing(up) else "")


def up_then_verify(lab: Any, run: Callable[..., Any], request: UpRequest) -> UpOutcome:
    """up on the lab, then the checks on the nodes that answered, when the rule says so.
    Short of everything (--until), the lab is first brought back to the stage
    (playbooks/stage.yml), then built up to it."""
    if request.short_of_everything and not request.check:
        back = run("stage", limit=request.limit, verbosity=request.verbosity,
                   extravars={"stage_until": request.until})
        if back.status != "successful":
            return UpOutcome(f"back to stage {request.until}: {run_word(back)}", read_only_verify=False)
    up = run("up", limit=request.limit, tags=request.run_tags, check=request.check,
             verbosity=request.verbosity, extravars=request.up_extravars())
    word = _up_word(up) + (f", up to stage {request.until}" if request.short_of_everything else "")
    follows, nodes = _verify_limit(lab, up, request)
    if not follows:
        return UpOutcome(word, read_only_verify=read_only_checks(up))
    # the pod-deletion check is itself a change: an up that changed nothing skips it
    read_only = changed_nothing(up)
    extra: dict[str, Any] = {"verify_replace_pod": False} if read_only else {}
    if up.unreachable_hosts:  # left out of the checks: verify gives them rows that say so
        extra["verify_unreachable_nodes"] = sorted(up.unreachable_hosts)
    verify = run("verify", limit=nodes, verbosity=request.verbosity, extravars=extra or None)
    return UpOutcome(f"{word}, verify {run_word(verify)}", read_only_verify=read_only)
