"""Running playbooks for the commands: one lab with its live progress and its report, or
every lab of a class side by side with the class board. Returns exit codes; the commands
only parse and print."""

from __future__ import annotations

from typing import Any

from labtool import exitcodes, flow


def run_lab(playbook: str, lab: Any, **options: Any):
    """One playbook on one lab, shown live, then its recap, checks and failures."""
    from labtool import report, runner

    from labtool.events import node_addresses

    progress = report.Progress(addresses=node_addresses(lab.nodes))
    try:
        result = runner.run_playbook(playbook, lab, on_event=progress, **options)
    finally:
        progress.close()
    report.print_result(result, console=progress.console)
    from labtool.fetch_hints import fetch_lines

    for line in unreachable_lines(lab, result) + step_lines(result) + fetch_lines(lab, result):
        progress.console.print(line, style="bold red", soft_wrap=True)
    return result


def step_lines(result: Any) -> list[str]:
    """One line a failed step: the walkthrough step its role belongs to, and where."""
    from labtool.steps import step_of

    failed: dict[str, list[str]] = {}
    for f in result.failures:
        step = step_of(f.role)
        if not f.unreachable and step and not (f.role.endswith("verify") and result.failed_checks):
            failed.setdefault(step, [])
            if f.host not in failed[step]:
                failed[step].append(f.host)
    return [f"failed in {step}, on {', '.join(hosts)}" for step, hosts in failed.items()]


def unreachable_lines(lab: Any, result: Any) -> list[str]:
    """One line a node that could not be reached: ssh's own reason and what to try (the
    ssh command that shows what labtool sees, or the one that accepts a reimaged node's key)."""
    from labtool import _paths, access

    by_name = {n.name: n for n in lab.nodes}
    lines, seen = [], set()
    for failure in result.failures:
        if not failure.unreachable or failure.host in seen or failure.host not in by_name:
            continue
        seen.add(failure.host)
        state = _paths.state_dir(lab.state_name)
        lines.append(f"{failure.host} could not be reached: {access.ssh_reason(failure.message)}; "
                     f"{access.hint(by_name[failure.host], state, failure.message)}")
    return lines


def run_one(playbook: str, lab: Any, **options: Any) -> int:
    return exitcodes.for_run(run_lab(playbook, lab, **options))


def up_lab(lab: Any, request: flow.UpRequest) -> tuple[int, flow.UpOutcome]:
    """`labtool up` on one lab: up, then the checks when the rule says so."""
    results = []

    def run(playbook: str, **options: Any):
        results.append(run_lab(playbook, lab, **options))
        return results[-1]

    outcome = flow.up_then_verify(lab, run, request)
    return exitcodes.worst(exitcodes.for_run(r) for r in results), outcome


def class_exit_code(runs: dict[str, Any]) -> int:
    """A class run's exit code, from every lab's runs: as for one lab, worst first."""
    codes = [exitcodes.for_run(r) for run in runs.values() for r in run.runs]
    if any(run.error for run in runs.values()):
        codes.append(exitcodes.TASK_FAILED)
    return exitcodes.worst(codes)


def _in_class(classroom: Any, title: str, verbosity: int, plan) -> int:
    """plan(lab, run, progress) for every lab at once, then the class's report."""
    from labtool import class_report, runner

    from labtool.events import node_addresses

    progress = class_report.ClassProgress({lab.name: len(lab.nodes) for lab in classroom.labs},
                                    verbose=verbosity > 0,
                                    addresses={lab.name: node_addresses(lab.nodes) for lab in classroom.labs})
    try:
        runs = runner.run_class(classroom.labs, lambda lab, run: plan(lab, run, progress),
                                on_event=progress)
    finally:
        progress.close()
    class_report.print_class_result(
        runs, {lab.name: [n.name for n in lab.nodes] for lab in classroom.labs},
        {lab.name: lab.workloads.service.node_port for lab in classroom.labs},
        title=f"{classroom.name}: {title}", console=progress.console, verbose=verbosity > 0)
    for lab in classroom.labs:
        for run in runs[lab.name].runs[:1]:
            for line in unreachable_lines(lab, run):
                progress.console.print(f"{lab.name}: {line}", style="bold red", soft_wrap=True)
    return class_exit_code(runs)


def run_class(classroom: Any, playbook: str, **options: Any) -> int:
    """One playbook on every lab of the class at once."""

    def plan(lab, run, progress):
        progress.finished(lab.name, f"{playbook}: {flow.run_word(run(playbook, **options))}")

    return _in_class(classroom, playbook, options.get("verbosity", 0), plan)


def up_class(classroom: Any, request: flow.UpRequest) -> int:
    """`labtool up` on every lab of the class at once, each by the same rule as one lab."""

    def plan(lab, run, progress):
        progress.finished(lab.name, f"up {flow.up_then_verify(lab, run, request).summary}")

    return _in_class(classroom, "up", request.verbosity, plan)
