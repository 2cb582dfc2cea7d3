"""The labtool.lab.probe module: several read-only commands and file reads in one execution,
failing with the command's own error when one fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import ansible_module  # tests/plugins/ansible_module.py

MODULE = (Path(__file__).resolve().parents[2]
          / "plugins/modules/probe.py")


def run_module(tmp_path: Path, **args) -> dict:
    return ansible_module.run(MODULE, tmp_path, args)


def test_commands_and_files_come_back_in_order(tmp_path):
    (tmp_path / "a").write_text("1\n")
    result = run_module(tmp_path, commands=[["echo", "one"], ["printf", "two\nlines\n"]],
                        files=[str(tmp_path / "a"), str(tmp_path / "missing")])
    assert result["changed"] is False
    assert [c["stdout"] for c in result["commands"]] == ["one", "two\nlines"]
    assert result["files"] == {str(tmp_path / "a"): "1\n", str(tmp_path / "missing"): None}


def test_a_failing_command_fails_the_task_with_its_error(tmp_path):
    result = run_module(tmp_path, commands=[["true"], ["sh", "-c", "echo broken >&2; exit 3"]])
    assert result["failed"] is True
    assert result["msg"] == "sh -c echo broken >&2; exit 3 exited 3: broken"


def test_a_command_that_cannot_start_fails(tmp_path):
    result = run_module(tmp_path, commands=[["/no/such/program"]])
    assert result["failed"] is True and "/no/such/program" in result["msg"]


@pytest.mark.parametrize("name", ["files", "probe"])
def test_the_module_documentation_is_yaml_that_ansible_doc_can_read(name):
    text = (MODULE.parent / f"{name}.py").read_text()
    namespace: dict = {}
    for block in ("DOCUMENTATION", "RETURN"):
        start = text.index(block + ' = r"""') + len(block) + 7
        namespace[block] = yaml.safe_load(text[start:text.index('"""', start)])
    assert namespace["DOCUMENTATION"]["module"] == name
    assert isinstance(namespace["RETURN"], dict)


def test_paths_and_programs_are_looked_for_without_reading_them(tmp_path):
    (tmp_path / "key").write_text("secret\n")
    result = run_module(tmp_path, exists=[str(tmp_path / "key"), str(tmp_path / "missing")],
                        programs=["sh", "no-such-program-here"])
    assert result["exists"] == {str(tmp_path / "key"): True, str(tmp_path / "missing"): False}
    assert result["programs"]["sh"].endswith("/sh") and result["programs"]["no-such-program-here"] is None
    assert "secret" not in str(result)
