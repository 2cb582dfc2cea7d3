"""Task names are templated before a task's loop runs: a name that uses the loop's item
prints an error in place of the item when the loop is empty (the task is skipped)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ITEM_IN_TEMPLATE = re.compile(r"{{[^}]*\bitem\b[^}]*}}")


def tasks_in(entries):
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        yield entry
        for section in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from tasks_in(entry.get(section))


def task_files():
    yield from sorted(ROOT.glob("roles/*/tasks/*.yml"))
    yield from sorted(ROOT.glob("roles/*/handlers/*.yml"))
    yield from sorted(ROOT.glob("playbooks/**/*.yml"))


def test_no_looped_task_names_its_item():
    offenders = [f"{path.relative_to(ROOT)}: {task['name']}"
                 for path in task_files()
                 for task in tasks_in(yaml.safe_load(path.read_text()))
                 if ("loop" in task or any(k.startswith("with_") for k in task))
                 and ITEM_IN_TEMPLATE.search(str(task.get("name", "")))]
    assert not offenders, "name the item in loop_control.label instead:\n" + "\n".join(offenders)


def test_the_check_finds_a_name_that_uses_the_item():
    task = {"name": "Set {{ item.key }}", "loop": [1]}
    assert list(tasks_in([{"block": [task]}]))[1:] == [task]
    assert ITEM_IN_TEMPLATE.search(task["name"])
