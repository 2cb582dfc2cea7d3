"""No lab or class file crashes labtool: whatever the file holds, loading it ends in a
model or in LabFileError with a message (exit 2), in bounded time and memory."""

from __future__ import annotations

import resource
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import GOOD_LAB
from labtool.labfile import Classroom, Lab, LabFileError, load

GOOD_CLASS = """\
name: wednesday
sources: {mode: local, artifacts: ./artifacts}
labs:
  - name: alice
    nodes:
      - {name: cp, address: 192.168.56.10, role: control-plane, key: ./id_ed25519}
      - {name: w1, address: 192.168.56.11, role: worker, key: ./id_ed25519}
  - name: bob
    kubernetes: {pod_network: flannel}
    nodes:
      - {name: cp, address: 192.168.57.10, role: control-plane, key: ./id_ed25519}
      - {name: w1, address: 192.168.57.11, role: worker, key: ./id_ed25519}
"""

ALIAS_BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
nodes: *h
"""


def _problem_of(path) -> str:
    with pytest.raises(LabFileError) as err:
        load(path)
    return str(err.value)


@pytest.mark.parametrize("text", ["nodes: &a [*a]\n", "a: &a {b: *a}\nnodes: []\n",
                                  "nodes:\n  - &n {name: cp, more: [*n]}\n"])
def test_a_recursive_alias_is_refused_with_its_line(write_lab, text):
    assert "a recursive alias" in _problem_of(write_lab(text))


def test_an_alias_bomb_is_refused_in_under_a_second_and_200_mb(write_lab):
    path = write_lab(ALIAS_BOMB)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    message = _problem_of(path)
    elapsed = time.monotonic() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert "expands to more than" in message
    assert elapsed < 1.0, elapsed
    assert grown_mb < 200, grown_mb


def test_aliases_that_stay_small_are_fine(write_lab):
    lab = load(write_lab(GOOD_LAB + "workloads:\n  deployment: &pods {replicas: 3}\n"
                         "  replication_controller: *pods\n"))
    assert lab.workloads.replication_controller.replicas == 3


def test_deep_nesting_is_refused_not_a_traceback(write_lab):
    assert "nested too deeply" in _problem_of(write_lab("nodes: " + "[" * 5000 + "]" * 5000 + "\n"))


def test_a_huge_file_is_refused_before_it_is_parsed(write_lab):
    assert "characters" in _problem_of(write_lab("# " + "x" * 1_100_000 + "\n" + GOOD_LAB))


# --------------------------------------------------------------------------- mutated files

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                     st.text(max_size=30), st.sampled_from(["cp", "worker", "control-plane",
                                                            "1.20.2", "10.244.0.1", "local", "-1",
                                                            "./pw", "./pw-open", "student", "root"]))

# a workshop's VMs: a user with sudo, and the password in a file (issue 24's keys)
WORKSHOP_LAB = """\
name: workshop
user: student
password_file: ./pw
sources: {mode: local, artifacts: ./artifacts}
nodes:
  - {name: cp, address: 192.168.56.10, role: control-plane}
  - {name: w1, address: 192.168.56.11, role: worker, user: root, password_file: ./pw}
  - {name: w2, address: 192.168.56.12, role: worker}
"""
WORKSHOP_CLASS = """\
name: room
user: student
password_file: ./pw
sources: {mode: local, artifacts: ./artifacts}
labs:
  - name: a
    nodes:
      - {name: cp, address: 192.168.56.10, role: control-plane}
      - {name: w1, address: 192.168.56.11, role: worker, password_file: ./pw}
"""
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)


def _paths(data, prefix=()):
    """Every key path in the data, as the mutations pick them."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, prefix + (index,))


def _mutate(data, path, action, value):
    if not path:
        return value if action != "delete" else None
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif isinstance(parent, dict):
        parent[f"{last}x"] = value  # a near-miss key
    else:
        parent.append(value)
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from([GOOD_LAB, GOOD_CLASS, WORKSHOP_LAB, WORKSHOP_CLASS]),
       pick=st.integers(0, 10_000), action=st.sampled_from(["delete", "replace", "add"]), value=_values)
def test_a_mutated_lab_or_class_file_is_accepted_or_refused_never_crashes(write_lab, lab_dir, which,
                                                                          pick, action, value):
    for name, mode in (("pw", 0o600), ("pw-open", 0o644)):
        (lab_dir / name).write_text("secret\n")
        (lab_dir / name).chmod(mode)
    data = yaml.safe_load(which)
    paths = list(_paths(data))
    data = _mutate(data, paths[pick % len(paths)], action, value)
    path = write_lab(yaml.safe_dump(data, allow_unicode=True))
    try:
        result = load(path)
    except LabFileError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
    else:
        assert isinstance(result, Lab | Classroom)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet="abnodes:-[]{}&*!|>'\"\n #0123456789.", max_size=200))
def test_any_text_is_accepted_or_refused_never_crashes(write_lab, text):
    try:
        load(write_lab(text))
    except LabFileError as exc:
        assert exc.problems
