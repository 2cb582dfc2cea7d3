"""``labtool check``: gather (playbooks/check.yml through labtool.runner), judge
(labtool.preflight), render (one table: node, check, result, what to do). Read-only.

``labtool up`` runs the same before it changes anything (:func:`run_preflight`)."""

from __future__ import annotations

import re
import shlex
from typing import Any, Callable

from labtool import _paths, access, exitcodes
from labtool.preflight import Finding, NodeFacts, Preflight, event_time, judge

PLAYBOOK = "check"
# the tasks of playbooks/check.yml, by name
_PROBE_ROOT = "Check: log in, become root with sudo, and read python3, the OS, the hardware, the ports, the reach"
_PROBE = "Check: log in and read the same without sudo"


def sources_needed(lab: Any) -> list[str]:
    """The URLs every node must reach in the lab's sources mode (none in mode local: the
    controller brings the artifacts); behind a proxy, the proxy itself (and the package proxy)."""
    s = lab.sources
    if s.proxy:
        return [u for u in (re.sub(r"//[^@/]*@", "//", s.proxy) + "/", s.package_proxy) if u]
    urls: list[str] = []
    # flannel's manifest: GitHub's latest release, unless a mirror lab names its own copy
    flannel_from_github = lab.kubernetes.pod_network == "flannel" and not s.flannel_manifest_url
    if s.mode == "online":
        urls += ["https://pkgs.k8s.io/", f"https://{s.image_repository}/v2/"]
    elif s.mode == "mirror":
        urls += [u for u in (s.kube_packages_url, s.flannel_manifest_url) if u]
        urls += [e.rstrip("/") + "/v2/" for endpoints in s.registry_mirrors.values() for e in endpoints]
    if flannel_from_github and s.mode != "local":
        urls.append("https://github.com/")
    if s.package_proxy:
        urls.append(s.package_proxy)
    return list(dict.fromkeys(urls))


class FactsCatcher:
    """An ``on_event`` callback that keeps what each check task brought, per node."""

    def __init__(self, then: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.facts: dict[str, NodeFacts] = {}
        self._then = then

    def __call__(self, event: dict[str, Any]) -> None:
        self.feed(event)
        if self._then is not None:
            self._then(event)

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host, task = data.get("host"), data.get("task", "")
        if not host or kind not in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            return
        f = self.facts.setdefault(host, NodeFacts())
        res = data.get("res") or {}
        if kind == "runner_on_unreachable":
            f.unreachable = f.unreachable or access.ssh_reason(str(res.get("msg") or ""))
            f.raw_message = f.raw_message or str(res.get("msg") or "")
        elif task in (_PROBE_ROOT, _PROBE):
            if task == _PROBE_ROOT:
                f.sudo = {"failed": True, **res} if kind == "runner_on_failed" else {"failed": False}
            if kind == "runner_on_ok":
                self._probe(f, str(res.get("stdout") or ""))
                f.seen_at = event_time(event.get("created"))

    @staticmethod
    def _probe(f: NodeFacts, stdout: str) -> None:
        """The raw probe's one line of JSON (ssh may add lines of its own around it)."""
        import json

        for line in reversed(stdout.splitlines()):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                f.python = str(data.get("python") or "none")
                f.listening = str(data.get("listening") or "")
                if data.get("kubelet_conf"):
                    f.listening += "\n/etc/kubernetes/kubelet.conf\n"
                f.reach_cp = data.get("reach_cp")
                f.sources = [s for s in data.get("sources") or [] if isinstance(s, dict)]
                if isinstance(data.get("facts"), dict):
                    f.setup = {**data["facts"], **distribution_facts(data.get("release_files") or {})}
                return
        f.python = "none"


def distribution_facts(files: dict[str, Any]) -> dict[str, str]:
    """What setup's distribution subset reports, from the release files the probe read
    ({path: text}), derived as ansible-core does: os-release's ID, VERSION_ID and code name
    (the more precise point release of Debian and CentOS from their own files), then the name
    given by the first release file that names the distribution."""
    text = {path: body.strip() for path, body in files.items() if isinstance(body, str) and body.strip()}
    fields = _os_release_fields(text.get("/etc/os-release") or text.get("/usr/lib/os-release", ""))
    ident, version = fields.get("ID", "").lower(), fields.get("VERSION_ID", "")
    own_file = {"debian": text.get("/etc/debian_version", ""),
                "centos": text.get("/etc/centos-release", "")}.get(ident, "")
    precise = (re.search(r"\d+(?:\.\d+)*", own_file) or [""])[0] if ident == "centos" else own_file
    if precise.count(".") > version.count(".") or not version:
        version = ".".join(precise.split(".")[:2]) if ident == "centos" else precise
    coded = re.search(r"\((\D+)\)|,\s*(\D+)", fields.get("VERSION", ""))
    release = fields.get("VERSION_CODENAME", fields.get("UBUNTU_CODENAME",
                                                        coded and (coded[1] or coded[2]) or ""))
    guess = {"amzn": "Amazon", "rhel": "Redhat"}.get(ident, ident.capitalize()) or "OtherLinux"
    name, release = _named_by_release_file(text, fields, guess, release)
    return {"distribution": name, "distribution_version": version or "NA",
            "distribution_major_version": version.split(".")[0] or "NA",
            "distribution_release": release or "NA"}


def _os_release_fields(os_release: str) -> dict[str, str]:
    try:
        return dict(t.split("=", 1) for t in shlex.split(os_release, comments=True) if "=" in t)
    except ValueError:  # an unbalanced quote
        return {}


def _named_by_release_file(text: dict[str, str], fields: dict[str, str], guess: str,
                           release: str) -> tuple[str, str]:
    """setup's distribution name (and Debian's and CentOS Stream's release), from the release
    files in ansible-core's order: Oracle's, CentOS Stream's, Red Hat's family, then
    /etc/os-release (Debian, Raspbian, Ubuntu, else its NAME)."""
    redhat, os_release = text.get("/etc/redhat-release", ""), text.get("/etc/os-release", "")
    if "/etc/oracle-release" in text:
        oracle = text["/etc/oracle-release"]
        return ("OracleLinux" if "Oracle Linux" in oracle else oracle.split()[0]), release
    if "CentOS Stream" in text.get("/etc/centos-release", ""):
        return "CentOS", "Stream"
    if redhat:
        return ("RedHat" if "Red Hat" in redhat else redhat.split()[0]), release
    if "Debian" in os_release or "Raspbian" in os_release:
        pretty = re.search(r"PRETTY_NAME=[^(]+ \(?([^)]+?)\)", os_release)
        return "Debian", pretty[1] if pretty else release
    if "Ubuntu" in os_release:
        return "Ubuntu", release
    return (fields.get("NAME") or guess) if os_release else guess, release


def gather(lab: Any, *, verbosity: int = 0, on_event: Callable[[dict[str, Any]], None] | None = None):
    """Run the check playbook; return (facts by node, the run's RunResult)."""
    from labtool import runner

    catcher = FactsCatcher(on_event)
    result = runner.run_playbook(PLAYBOOK, lab, verbosity=verbosity, on_event=catcher,
                                 extravars={"check_sources": sources_needed(lab)})
    return catcher.facts, result


def run_check(lab: Any, *, verbosity: int = 0) -> tuple[Preflight, Any]:
    facts, result = gather(lab, verbosity=verbosity)
    return judge(lab, facts), result


def _fix(lab: Any, finding: Any, facts: dict[str, NodeFacts]) -> str:
    """What to do, with ssh's own advice for a node that could not be reached."""
    if finding.check != "ssh" or finding.ok:
        return finding.fix
    node = next(n for n in lab.nodes if n.name == finding.node)
    raw = facts[finding.node].raw_message if finding.node in facts else finding.result
    return access.hint(node, _paths.state_dir(lab.state_name), raw)


def table(lab: Any, preflight: Preflight, facts: dict[str, NodeFacts] | None = None):
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"check: lab {lab.name}", title_justify="left")
    for name in ("node", "check", "result", "what to do"):
        t.add_column(name, overflow="fold")
    for f in preflight.findings:
        t.add_row(f.node, f.check, Text(("ok: " if f.ok else "FAILED: ") + f.result,
                                        style="green" if f.ok else "bold red"),
                  _fix(lab, f, facts or {}))
    return t


def print_check(lab: Any, preflight: Preflight, result: Any, facts: dict[str, NodeFacts] | None = None,
                console: Any = None) -> None:
    from labtool import report

    console = console or report.default_console()
    console.print(table(lab, preflight, facts))
    words = {0: "all checks passed", 3: f"{len(preflight.failed)} check(s) failed",
             4: "a node could not be reached"}
    log = f"; log: {result.log_path}" if result is not None and result.log_path else ""
    console.print(f"check: {words.get(preflight.exit_code, '')}{log}", soft_wrap=True)


def check_lab(lab: Any, *, verbosity: int = 0, console: Any = None, as_json: bool = False) -> int:
    """`labtool check` on one lab: gather, judge, print; the exit code (0, 3 or 4)."""
    facts, result = gather(lab, verbosity=verbosity)
    preflight = judge(lab, facts)
    if as_json:
        import json
        import sys

        data = preflight.to_dict()
        for f in data["findings"]:
            if f["check"] == "ssh" and not f["ok"]:
                f["fix"] = _fix(lab, Finding(**f), facts)
        sys.stdout.write(json.dumps({"lab": lab.name, **data}, indent=1) + "\n")
    else:
        print_check(lab, preflight, result, facts, console)
    if result.canceled:
        return 130
    return preflight.exit_code


def check_class(classroom: Any, *, verbosity: int = 0, console: Any = None) -> int:
    """Every lab of a class at once (one thread a lab), then one table a lab."""
    from labtool import runner

    gathered: dict[str, Any] = {}

    def plan(lab: Any, run: Any) -> None:
        gathered[lab.name] = gather(lab, verbosity=verbosity)

    runner.run_class(classroom.labs, plan)
    codes = []
    for lab in classroom.labs:
        if lab.name not in gathered:
            codes.append(exitcodes.TASK_FAILED)
            continue
        facts, result = gathered[lab.name]
        preflight = judge(lab, facts)
        print_check(lab, preflight, result, facts, console)
        codes.append(preflight.exit_code)
    return exitcodes.worst(codes)


# --------------------------------------------------------------------------- before an up

def needs_preflight(lab: Any) -> bool:
    """The checks run before the first up of a lab, until an up goes through."""
    return not (_paths.state_dir(lab.state_name) / _paths.BUILT_MARK).exists()


def mark_built(lab: Any) -> None:
    state = _paths.state_dir(lab.state_name)
    if state.is_dir():
        (state / _paths.BUILT_MARK).write_text("an up went through; labtool check runs the checks again\n")


def before_up(labs: list[Any], check_command: Callable[[Any], str], *, verbosity: int = 0,
              console: Any = None) -> dict[str, int]:
    """The checks of ``labtool check`` before an up changes anything, on the labs that have
    not been built yet, side by side: the labs that must not go on, with their exit codes.

    A node that cannot be reached does not stop its lab: the up leaves it out, as it does any
    node that drops out, and the run ends with exit code 4 naming it. Any other failed check
    stops that lab before anything is changed; in a class, the other labs go on."""
    from labtool import report, runner

    console = console or report.default_console()
    gathered: dict[str, Any] = {}

    def plan(lab: Any, run: Any) -> None:
        gathered[lab.name] = gather(lab, verbosity=verbosity)

    runner.run_class([lab for lab in labs if needs_preflight(lab)], plan)
    return {lab.name: code for lab in labs if lab.name in gathered
            if (code := _judged_before_up(lab, *gathered[lab.name], check_command(lab), console))}


def _judged_before_up(lab: Any, facts: dict[str, NodeFacts], result: Any, check_command: str,
                      console: Any) -> int:
    """0 when the lab's up may go on (unreachable nodes are left out), else its exit code."""
    if result.canceled:
        return 130
    preflight = judge(lab, facts)
    blocking = [f for f in preflight.failed if f.check != "ssh"]
    if not preflight.failed:
        console.print(f"check: lab {lab.name}: every check passed ({len(preflight.findings)})")
        return 0
    print_check(lab, preflight, result, facts, console)
    if not blocking:
        console.print(f"check: lab {lab.name}: the up leaves out {', '.join(preflight.unreachable)} "
                      "(unreachable) and goes on with the other nodes", soft_wrap=True)
        return 0
    failed = ", ".join(f"{f.check} on {f.node}" for f in blocking[:6])
    console.print(f"up: lab {lab.name} stopped before changing anything: {failed} failed. Run "
                  f"only the checks with: {check_command}", style="bold red", soft_wrap=True)
    return exitcodes.VERIFY_FAILED
