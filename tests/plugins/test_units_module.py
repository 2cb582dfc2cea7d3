"""labtool.lab.units (an AnsibleModule) against a stand-in systemctl that keeps the units'
states in a JSON file and logs every call."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import ansible_module

MODULE = ansible_module.REPO / "plugins/modules/units.py"

FAKE_SYSTEMCTL = f"""#!{sys.executable}
import json, os, sys
path = os.environ["FAKE_UNITS"]
units = json.load(open(path))
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
verb, names = args[0], [a for a in args[1:] if not a.startswith("-")]
if verb == "show":
    blocks = []
    for name in names:
        u = units.get(name, {{"LoadState": "not-found", "UnitFileState": "", "ActiveState": "inactive"}})
        blocks.append("\\n".join(["Id=" + name] + ["%s=%s" % kv for kv in sorted(u.items())]))
    print("\\n\\n".join(blocks))
    sys.exit(0)
if verb == "daemon-reload":
    sys.exit(0)
for name in names:
    if verb in ("start", "restart") and name == "broken.service":
        sys.stderr.write("Job for broken.service failed because the control process exited with error code.\\n")
        sys.exit(1)
    unit = units[name]
    if verb == "enable": unit["UnitFileState"] = "enabled"
    if verb == "disable": unit["UnitFileState"] = "disabled"
    if verb in ("start", "restart"): unit["ActiveState"] = "active"
    if verb == "stop": unit["ActiveState"] = "inactive"
json.dump(units, open(path, "w"))
"""


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    """run(known units' states, **module arguments) -> (the module's result, the calls it made)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "systemctl").write_text(FAKE_SYSTEMCTL)
    (fake / "systemctl").chmod(0o755)
    units_file, log = tmp_path / "units.json", tmp_path / "calls.log"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_UNITS", str(units_file))
    monkeypatch.setenv("FAKE_LOG", str(log))

    def run(known: dict, **args) -> tuple[dict, list[str]]:
        units_file.write_text(json.dumps({
            name: dict(zip(("LoadState", "UnitFileState", "ActiveState"), state)) for name, state in known.items()}))
        log.write_text("")
        result = ansible_module.run(MODULE, tmp_path, args)
        return result, [line for line in log.read_text().splitlines() if not line.startswith("show")]

    return run


def test_a_stopped_and_disabled_unit_is_enabled_and_started_in_two_calls(systemd):
    result, calls = systemd({"containerd.service": ("loaded", "disabled", "inactive")},
                            units=[{"name": "containerd", "enabled": True, "state": "started"}])
    assert calls == ["enable -- containerd.service", "start -- containerd.service"]
    assert result["changed"] is True
    assert result["actions"] == ["enable containerd.service", "start containerd.service"]
    assert result["states"]["containerd.service"]["UnitFileState"] == "disabled"


def test_a_unit_already_as_asked_is_not_touched(systemd):
    result, calls = systemd({"kubelet.service": ("loaded", "enabled", "activating"),
                             "netfilter-persistent.service": ("loaded", "disabled", "inactive")},
                            units=[{"name": "kubelet", "enabled": True},
                                   {"name": "netfilter-persistent", "enabled": False, "state": "stopped"}])
    assert calls == []
    assert result["changed"] is False and result["actions"] == []


def test_the_walkthroughs_iptables_service_is_stopped_and_disabled(systemd):
    result, calls = systemd({"netfilter-persistent.service": ("loaded", "enabled", "active")},
                            units=[{"name": "netfilter-persistent", "enabled": False, "state": "stopped"}])
    assert calls == ["disable -- netfilter-persistent.service", "stop -- netfilter-persistent.service"]
    assert result["changed"] is True


def test_restarted_always_restarts_and_daemon_reload_comes_first(systemd):
    result, calls = systemd({"labtool-pod-routes.service": ("loaded", "enabled", "active")},
                            units=[{"name": "labtool-pod-routes.service", "enabled": True, "state": "restarted"}],
                            daemon_reload=True)
    assert calls == ["daemon-reload", "restart -- labtool-pod-routes.service"]
    assert result["changed"] is True


def test_a_reload_alone_is_no_change(systemd):
    result, calls = systemd({"kubelet.service": ("loaded", "enabled", "active")},
                            units=[{"name": "kubelet", "enabled": True}], daemon_reload=True)
    assert calls == ["daemon-reload"]
    assert result["changed"] is False


def test_check_mode_says_what_it_would_do_and_does_nothing(systemd):
    result, calls = systemd({"containerd.service": ("loaded", "disabled", "inactive")},
                            units=[{"name": "containerd", "enabled": True, "state": "started"}],
                            daemon_reload=True, _ansible_check_mode=True)
    assert calls == []
    assert result["changed"] is True
    assert result["actions"] == ["enable containerd.service", "start containerd.service"]


def test_an_unknown_unit_fails_before_anything_changes(systemd):
    result, calls = systemd({"containerd.service": ("loaded", "disabled", "inactive")},
                            units=[{"name": "containerd", "enabled": True}, {"name": "kubelet", "state": "started"}])
    assert result["failed"] is True
    assert result["msg"] == "systemd has no unit kubelet.service"
    assert calls == []


def test_a_unit_that_fails_to_start_fails_the_task_with_systemctls_words(systemd):
    result, _calls = systemd({"broken.service": ("loaded", "enabled", "failed")},
                             units=[{"name": "broken", "state": "started"}])
    assert result["failed"] is True
    assert "systemctl start -- broken.service exited 1" in result["msg"]
    assert "control process exited with error code" in result["msg"]


@pytest.mark.parametrize("units, words", [
    ([{"name": "kubelet", "state": "running"}], ["state", "started, stopped, restarted", "running"]),
    ([{"name": "kubelet", "enable": True}], ["Unsupported parameters", "enable"]),
    ([{"state": "started"}], ["missing required arguments: name"]),
    ([{"name": "kubelet", "enabled": "maybe"}], ["enabled", "bool"]),
])
def test_bad_arguments_are_named(systemd, units, words):
    result, calls = systemd({}, units=units)
    assert result["failed"] is True and all(w in result["msg"] for w in words), result["msg"]
    assert calls == []
