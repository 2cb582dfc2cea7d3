"""The converge_stamp module (plugins/modules/converge_stamp.py): the fingerprint that lets a second
`up` skip every role must change whenever something a role manages changes."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

import ansible_module  # tests/plugins/ansible_module.py

MODULE = Path(__file__).resolve().parents[2] / "plugins/modules/converge_stamp.py"
spec = importlib.util.spec_from_file_location("converge_stamp", MODULE)
stamp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stamp)


def run_module(tmp_path: Path, **args) -> dict:
    return ansible_module.run(MODULE, tmp_path, args)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "etc"
    (root / "sub").mkdir(parents=True)
    (root / "a.conf").write_text("a = 1\n")
    (root / "sub/b.conf").write_text("b = 2\n")
    (root / "link").symlink_to("a.conf")
    return root


def test_a_missing_path_is_part_of_the_fingerprint(tmp_path):
    assert stamp.path_digest(str(tmp_path / "nope")) == "absent"


@pytest.mark.parametrize("change", [
    lambda r: (r / "a.conf").write_text("a = 2\n"),
    lambda r: (r / "sub/new.conf").write_text(""),
    lambda r: (r / "sub/b.conf").unlink(),
    lambda r: os.chmod(r / "a.conf", 0o600),
    lambda r: ((r / "link").unlink(), (r / "link").symlink_to("sub/b.conf")),
], ids=["content", "new file", "removed file", "mode", "symlink target"])
def test_any_change_in_a_directory_changes_its_digest(tree, change):
    before = stamp.path_digest(str(tree))
    change(tree)
    assert stamp.path_digest(str(tree)) != before


def test_a_big_file_is_fingerprinted_by_size_and_time(tmp_path):
    big = tmp_path / "kubelet"
    big.write_bytes(b"\0" * (stamp.CONTENT_LIMIT + 1))
    before = stamp.path_digest(str(big))
    os.utime(big, ns=(1, 1))
    assert stamp.path_digest(str(big)) != before


def test_differences_name_what_changed():
    state = {"path /etc/a": "1", "unit kubelet.service": "active"}
    assert stamp.differences(None, "in", state) == ["no stamp"]
    recorded = {"inputs": "in", "state": dict(state)}
    assert stamp.differences(recorded, "in", state) == []
    assert stamp.differences(recorded, "other", state) == ["inputs"]
    assert stamp.differences(recorded, "in", {**state, "path /etc/a": "2"}) == ["path /etc/a"]
    assert stamp.differences(recorded, "in", {"path /etc/a": "1"}) == ["unit kubelet.service"]


def test_record_then_compare_then_drift(tmp_path, tree):
    args = {"stamp": str(tmp_path / "state/up-stamp.json"), "inputs": "digest-1",
            "paths": [str(tree)], "sysctls": ["kernel.ostype"],
            "commands": [["sh", "-c", f"cat {tree}/a.conf"]]}
    first = run_module(tmp_path, **args)
    assert first["unchanged"] is False and first["differences"] == ["no stamp"]

    recorded = run_module(tmp_path, record=True, **args)
    assert recorded["changed"] is True
    assert run_module(tmp_path, record=True, **args)["changed"] is False
    assert run_module(tmp_path, **args)["unchanged"] is True

    (tree / "a.conf").write_text("a = 3\n")
    drifted = run_module(tmp_path, **args)
    assert drifted["unchanged"] is False
    assert drifted["differences"] == [f"command sh -c cat {tree}/a.conf", f"path {tree}"]
    assert run_module(tmp_path, **{**args, "inputs": "digest-2"})["differences"][0] == "inputs"


def test_reads_come_back_as_printed_and_never_count_in_the_fingerprint(tmp_path, tree):
    args = {"stamp": str(tmp_path / "up-stamp.json"), "inputs": "digest-1", "paths": [str(tree)]}
    reads = {"nat": ["sh", "-c", "date +%N; echo rules"], "broken": ["sh", "-c", "echo no >&2; exit 3"],
             "missing": ["/no/such/program"]}
    # a first up (no stamp yet): nothing to compare, so nothing is read for a later play either
    assert run_module(tmp_path, reads=reads, **args)["reads"] == {}
    run_module(tmp_path, record=True, **args)
    result = run_module(tmp_path, reads=reads, **args)
    assert result["unchanged"] is True  # the reads' output (a different time each run) is not state
    assert result["reads"]["nat"]["argv"] == reads["nat"] and result["reads"]["nat"]["rc"] == 0
    assert result["reads"]["nat"]["stdout"].endswith("\nrules")
    assert {k: result["reads"]["broken"][k] for k in ("rc", "stdout", "stderr")} == {"rc": 3, "stdout": "", "stderr": "no"}
    assert result["reads"]["missing"]["rc"] == 127 and "/no/such/program" in result["reads"]["missing"]["stderr"]
    assert not any(key.startswith("command") for key in result["state"])


@pytest.mark.parametrize("args,words", [
    ({"inputs": "d"}, "missing required argument: stamp"),
    ({"stamp": "/s", "inputs": "d", "pathz": []}, "unsupported parameters: pathz"),
    ({"stamp": "/s", "inputs": "d", "paths": "/etc"}, "paths must be a list"),
])
def test_arguments_are_checked_as_an_argument_spec_would(tmp_path, args, words):
    result = run_module(tmp_path, **args)
    assert result["failed"] is True and words in result["msg"]


def test_check_mode_records_nothing(tmp_path, tree):
    args = {"stamp": str(tmp_path / "up-stamp.json"), "inputs": "d", "paths": [str(tree)], "record": True}
    assert run_module(tmp_path, _ansible_check_mode=True, **args)["changed"] is True
    assert not (tmp_path / "up-stamp.json").exists()
    assert run_module(tmp_path, **args)["changed"] is True and (tmp_path / "up-stamp.json").exists()


LOOKUP = Path(__file__).resolve().parents[2] / "plugins/lookup/converge_stamp_tree.py"
lookup_spec = importlib.util.spec_from_file_location("converge_stamp_tree", LOOKUP)
tree_lookup = importlib.util.module_from_spec(lookup_spec)
lookup_spec.loader.exec_module(tree_lookup)


def test_the_code_digest_changes_with_any_file_but_not_with_bytecode(tmp_path):
    """The roles' and playbooks' digest (an input of the stamp): a changed, added or renamed
    file changes it; Python's bytecode caches do not."""
    roles = tmp_path / "roles"
    (roles / "r/tasks").mkdir(parents=True)
    (roles / "r/tasks/main.yml").write_text("---\n")
    first = tree_lookup.tree_digest([str(roles)])
    (roles / "r/__pycache__").mkdir()
    (roles / "r/__pycache__/x.cpython-311.pyc").write_bytes(b"\0")
    (roles / "r/y.pyc").write_bytes(b"\0")
    assert tree_lookup.tree_digest([str(roles)]) == first
    (roles / "r/tasks/main.yml").write_text("---\n# changed\n")
    changed = tree_lookup.tree_digest([str(roles)])
    assert changed != first
    (roles / "r/tasks/main.yml").rename(roles / "r/tasks/other.yml")
    assert tree_lookup.tree_digest([str(roles)]) not in (first, changed)
    assert tree_lookup.tree_digest([str(roles), str(tmp_path / "missing")]) != tree_lookup.tree_digest([str(roles)])
