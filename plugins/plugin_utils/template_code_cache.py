# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Compile each Jinja template and expression once a process, not once every time it is rendered.

ansible-core 2.19 compiles a template from its text every time it renders it: lexing,
parsing, Python code generation and Python's compile(), for every host, task and variable.
In the strategy's process of a lab's up that was about a sixth of its CPU (bench/RESULTS.md).
This keeps the compiled Python code object, which depends only on the template's text and on
the environment settings that shape the generated code, and binds it to the environment that
asks for it, as Jinja's from_string does. A Template object is never shared: it holds its
environment, whose loader has the basedir of the task that made it.

``install()`` wraps AnsibleEnvironment.compile and compile_expression; a process forked after
it (a worker) inherits both the wrappers and the code compiled so far.
"""

from __future__ import annotations

import contextvars
import typing as t

from jinja2 import nodes
from jinja2.environment import TemplateExpression

from ansible._internal._templating import _jinja_bits
from ansible._internal._templating._jinja_common import _TemplateConfig

MAX_ENTRIES = 4096

_code: dict[tuple, t.Any] = {}
_expression_key: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("labtool_expression_key", default=None)


def _settings(env) -> tuple | None:
    """What, besides a template's text, decides the code Jinja generates for it in ``env``;
    None when the code must not be kept (template debugging writes it to files)."""
    # exactly Ansible's class: a subclass may generate other code for the same settings
    if type(env) is not _jinja_bits.AnsibleEnvironment or env._debuggable_template_source:  # pylint: disable=unidiomatic-typecheck
        return None
    compile_context = _jinja_bits._TemplateCompileContext.current(optional=True)
    return (
        tuple(getattr(env, name) for name in _jinja_bits._TEMPLATE_OVERRIDE_FIELD_NAMES),
        compile_context.escape_backslashes if compile_context else None,
        env.optimized, env.autoescape, env.is_async, env.finalize, env.code_generator_class,
        tuple(env.extensions), _TemplateConfig.allow_embedded_templates,
    )


def _remember(key: tuple, code: t.Any) -> t.Any:
    if len(_code) >= MAX_ENTRIES:
        _code.clear()
    _code[key] = code
    return code


def install() -> None:
    env_class = _jinja_bits.AnsibleEnvironment
    if getattr(env_class, "_labtool_code_cache", False):
        return
    compile_uncached = env_class.compile
    compile_expression_uncached = env_class.compile_expression

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw:
            return compile_uncached(self, source, name, filename, raw, defer_init)
        if isinstance(source, nodes.Template):  # an expression's tree, keyed by its text
            key = _expression_key.get()
            _expression_key.set(None)  # nested compiles of the same expression have their own
            if key is None:
                return compile_uncached(self, source, name, filename, raw, defer_init)
            return _remember(key, compile_uncached(self, source, name, filename, raw, defer_init))
        settings = _settings(self)
        if settings is None:
            return compile_uncached(self, source, name, filename, raw, defer_init)
        key = ("template", str(source), name, filename, defer_init, settings)
        code = _code.get(key)
        if code is None:
            code = _remember(key, compile_uncached(self, source, name, filename, raw, defer_init))
        return code

    def compile_expression(self, source, undefined_to_none=True):
        settings = _settings(self)
        if settings is None:
            return compile_expression_uncached(self, source, undefined_to_none)
        key = ("expression", str(source), settings)
        code = _code.get(key)
        if code is None:
            token = _expression_key.set(key)
            try:
                return compile_expression_uncached(self, source, undefined_to_none)
            finally:
                _expression_key.reset(token)
        template = self.template_class.from_code(self, code, self.make_globals(None), None)
        return TemplateExpression(template, undefined_to_none)

    env_class.compile = compile
    env_class.compile_expression = compile_expression
    env_class._labtool_code_cache = True
