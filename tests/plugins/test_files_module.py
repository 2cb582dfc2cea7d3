"""The labtool.lab.files module (plugins/modules/files.py): several files
written in one execution, idempotent by content, mode and owner, with check mode, diffs,
stale-file removal and the removal event that makes containerd reload its CNI directory."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path


import ansible_module  # tests/plugins/ansible_module.py

MODULE = (Path(__file__).resolve().parents[2]
          / "plugins/modules/files.py")
spec = importlib.util.spec_from_file_location("labtool_node_files", MODULE)
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)

ME = {"owner": str(os.getuid()), "group": str(os.getgid())}


def run_module(tmp_path: Path, check: bool = False, diff: bool = False, **args) -> dict:
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    return ansible_module.run(MODULE, tmp_path, args)


def entry(path: Path, content: str, **extra) -> dict:
    return dict(ME, path=str(path), content=content, **extra)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_every_file_with_its_parents_then_changes_nothing(tmp_path):
    a = tmp_path / "etc/x/a.conf"
    b = tmp_path / "etc/y/z/b.sh"
    want = [entry(a, "a = 1\n"), entry(b, "#!/bin/sh\n", mode="0755")]
    first = run_module(tmp_path, files=want)
    assert first["changed"] is True
    assert first["changed_paths"][-2:] == [str(a), str(b)]
    assert str(tmp_path / "etc/y/z") in first["changed_paths"]  # a created parent is a change too
    assert a.read_text() == "a = 1\n" and mode(a) == 0o644
    assert b.read_text() == "#!/bin/sh\n" and mode(b) == 0o755
    assert mode(tmp_path / "etc/y/z") == 0o755
    assert [p.name for p in a.parent.iterdir()] == ["a.conf"]  # no temporary file left
    second = run_module(tmp_path, files=want)
    assert second["changed"] is False and second["changed_paths"] == []


def test_only_the_file_that_differs_is_reported(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_module(tmp_path, files=[entry(a, "1\n"), entry(b, "2\n")])
    result = run_module(tmp_path, files=[entry(a, "1\n"), entry(b, "3\n")])
    assert result["changed_paths"] == [str(b)]
    assert b.read_text() == "3\n"


def test_a_mode_change_alone_is_a_change(tmp_path):
    a = tmp_path / "a"
    run_module(tmp_path, files=[entry(a, "1\n")])
    result = run_module(tmp_path, files=[entry(a, "1\n", mode="0600")])
    assert result["changed_paths"] == [str(a)] and mode(a) == 0o600


def test_check_mode_reports_and_writes_nothing_and_diff_shows_the_content(tmp_path):
    a = tmp_path / "d/a"
    result = run_module(tmp_path, check=True, diff=True, files=[entry(a, "new\n")])
    assert result["changed"] is True and result["changed_paths"] == [str(a)]
    assert not (tmp_path / "d").exists()
    assert result["diff"][0]["after"] == "new\n" and result["diff"][0]["before"] == ""
    run_module(tmp_path, files=[entry(a, "old\n")])
    result = run_module(tmp_path, check=True, diff=True, files=[entry(a, "new\n")])
    assert result["diff"][0]["before"] == "old\n" and a.read_text() == "old\n"


def test_directories_get_their_mode_and_an_unknown_owner_fails(tmp_path):
    d = tmp_path / "conf.d"
    d.mkdir(mode=0o700)
    result = run_module(tmp_path, directories=[dict(ME, path=str(d), mode="0755")])
    assert result["changed_paths"] == [str(d)] and mode(d) == 0o755
    assert run_module(tmp_path, directories=[dict(ME, path=str(d), mode="0755")])["changed"] is False
    failed = run_module(tmp_path, files=[dict(entry(d / "x", "1"), owner="no-such-user-here")])
    assert failed["failed"] is True and "no-such-user-here" in failed["msg"]


def test_a_file_without_content_or_with_a_bad_mode_fails(tmp_path):
    assert "content is required" in run_module(tmp_path, files=[dict(ME, path=str(tmp_path / "a"))])["msg"]
    assert "octal" in run_module(tmp_path, files=[entry(tmp_path / "a", "", mode="rw")])["msg"]


def test_prune_removes_only_marked_files_that_are_no_longer_wanted(tmp_path):
    certs = tmp_path / "certs.d"
    keep = entry(certs / "docker.io/hosts.toml", "# labtool: registry mirrors\n")
    run_module(tmp_path, files=[keep, entry(certs / "quay.io/hosts.toml", "# labtool: registry mirrors\n")])
    foreign = certs / "ghcr.io/hosts.toml"
    foreign.parent.mkdir()
    foreign.write_text("# written by someone else\n")
    rule = {"path": str(certs), "name": "hosts.toml", "contains": "^# labtool: registry mirrors"}
    result = run_module(tmp_path, files=[keep], prune=[rule])
    assert result["changed_paths"] == [str(certs / "quay.io/hosts.toml")]
    assert not (certs / "quay.io/hosts.toml").exists()
    assert (certs / "docker.io/hosts.toml").exists() and foreign.exists()
    assert run_module(tmp_path, files=[keep], prune=[rule])["changed"] is False


def test_state_absent_removes_a_file(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    assert run_module(tmp_path, files=[dict(ME, path=str(a), state="absent")])["changed_paths"] == [str(a)]
    assert not a.exists()
    assert run_module(tmp_path, files=[dict(ME, path=str(a), state="absent")])["changed"] is False


def test_every_run_ends_with_a_removal_event_in_each_watched_directory(tmp_path, monkeypatch):
    net = tmp_path / "net.d"
    events = []
    monkeypatch.setattr(files, "removal_event", events.append)
    params = dict(files=[entry(net / "10.conflist", "{}\n")], directories=[], dir_mode="0755",
                  prune=[], removal_event_dirs=[str(net)])
    assert files.run(params, check_mode=False)[0] == [str(net), str(net / "10.conflist")]
    assert events == [str(net)]
    # unchanged: still an event (a watcher that missed the last write catches up), no change
    assert files.run(params, check_mode=False)[0] == []
    assert events == [str(net), str(net)]
    files.run(params, check_mode=True)
    assert events == [str(net), str(net)]


def test_the_removal_event_leaves_the_directory_as_it_was(tmp_path):
    (tmp_path / "10.conflist").write_text("{}")
    files.removal_event(str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["10.conflist"]


def test_a_file_in_a_watched_directory_is_never_half_there_in_it(tmp_path, monkeypatch):
    """Its temporary file is made in the parent: a watcher reloading on writes sees only the
    finished file."""
    net = tmp_path / "net.d"
    net.mkdir()
    seen = []
    real = files.tempfile.mkstemp
    monkeypatch.setattr(files.tempfile, "mkstemp", lambda **kw: seen.append(kw["dir"]) or real(**kw))
    files.run(dict(files=[entry(net / "10.conflist", "{}\n")], directories=[], dir_mode="0755",
                   prune=[], removal_event_dirs=[str(net)]), check_mode=False)
    assert seen == [str(tmp_path)]
    assert [p.name for p in tmp_path.iterdir()] == ["net.d"] and (net / "10.conflist").read_text() == "{}\n"
