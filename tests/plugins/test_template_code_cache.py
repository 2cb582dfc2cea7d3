"""labtool.lab's template code cache: a template or condition compiled once renders as it
does uncompiled, whatever the environment settings that shape its code."""

from __future__ import annotations

import contextlib

import pytest

import ansible_module  # noqa: F401  (puts collections/ on sys.path)
from ansible._internal._templating import _jinja_bits
from ansible.template import Templar, trust_as_template
from ansible_collections.labtool.lab.plugins.plugin_utils import template_code_cache

VARIABLES = {"nodes": ["cp", "w1", "w2"], "port": 30001, "path": "C:\\new"}
TEMPLATES = [
    "{{ nodes | join(',') }}:{{ port }}",
    "{% for n in nodes %}{{ n }}={{ loop.index }};{% endfor %}",
    "{{ 'a\\1b' | regex_replace('^(a)', 'x') }}",  # escape_backslashes decides this one
    "#jinja2:variable_start_string:'[%', variable_end_string:'%]'\n[% port + 1 %]",
    "{{ path }} and {{ '{{ port }}' }}",
]


def render_all(templar: Templar) -> list:
    rendered = [templar.template(trust_as_template(t)) for t in TEMPLATES]
    rendered += [templar.template(trust_as_template(t), escape_backslashes=False) for t in TEMPLATES]
    rendered += [templar.evaluate_conditional(trust_as_template(c))
                 for c in ("port == 30001", "'w1' in nodes", "nodes | length > 3")]
    return rendered


@contextlib.contextmanager
def code_cache():
    """install(), undone afterwards: the class gets back exactly what it had."""
    env_class = _jinja_bits.AnsibleEnvironment
    names = ("compile", "compile_expression", "_labtool_code_cache")
    own = {name: env_class.__dict__[name] for name in names if name in env_class.__dict__}
    template_code_cache._code.clear()
    template_code_cache.install()
    try:
        yield
    finally:
        for name in names:
            if name in own:
                setattr(env_class, name, own[name])
            else:
                delattr(env_class, name)
        template_code_cache._code.clear()


@pytest.fixture
def installed():
    with code_cache():
        yield


def test_cached_code_renders_as_uncached_code():
    uncached = render_all(Templar(variables=VARIABLES))
    with code_cache():
        first, second = (render_all(Templar(variables=VARIABLES)) for _ in range(2))
    assert first == uncached and second == uncached
    assert uncached[2] != uncached[len(TEMPLATES) + 2], "escape_backslashes changes the code"
    assert uncached[3] == 30002


def test_a_template_rendered_again_is_not_compiled_again(installed, monkeypatch):
    render_all(Templar(variables=VARIABLES))
    kept = dict(template_code_cache._code)
    assert {key[0] for key in kept} == {"template", "expression"}
    render_all(Templar(variables={**VARIABLES, "port": 1}))  # new values, same texts
    assert template_code_cache._code == kept


def test_a_syntax_error_is_raised_every_time_and_never_kept(installed):
    templar = Templar(variables=VARIABLES)
    for _ in range(2):
        with pytest.raises(Exception, match="(?i)syntax|unexpected"):
            templar.template(trust_as_template("{{ port + }}"))
    assert not any("port + " in key[1] for key in template_code_cache._code)


def test_the_cache_is_bounded(installed, monkeypatch):
    monkeypatch.setattr(template_code_cache, "MAX_ENTRIES", 3)
    templar = Templar(variables=VARIABLES)
    for n in range(10):
        assert templar.template(trust_as_template(f"{{{{ port + {n} }}}}")) == 30001 + n
    assert len(template_code_cache._code) <= 3
