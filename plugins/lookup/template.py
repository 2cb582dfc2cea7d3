# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""ansible.builtin.template's lookup, without a deep copy of every variable for each file."""

from __future__ import annotations

DOCUMENTATION = r"""
name: template
author: labtool maintainers (@labtool)
short_description: Render a template file, as ansible.builtin.template's lookup does, without copying every variable
description:
  - Returns, for each template file, the result of rendering it with the task's variables,
    exactly as the C(ansible.builtin.template) lookup does (the same search path, template
    variables and options).
  - The only difference is the copy of the task's variables that the template is rendered with.
    The builtin lookup deep-copies every variable of the host (its facts, every hostvar) for
    each file. This one puts an empty layer over them for the template variables, and the
    variables below are read, never changed.
  - Measured in labtool's bench/RESULTS.md; a lab's up renders some 30 files.
options:
  _terms:
    description: Template files, looked up as C(ansible.builtin.template) looks them up.
  template_vars:
    description: A dictionary, the keys become additional variables available for templating.
    default: {}
    type: dict
  variable_start_string:
    description: The string marking the beginning of a print statement.
    default: '{{'
    type: str
  variable_end_string:
    description: The string marking the end of a print statement.
    default: '}}'
    type: str
  comment_start_string:
    description: The string marking the beginning of a comment statement.
    default: '{#'
    type: str
  comment_end_string:
    description: The string marking the end of a comment statement.
    default: '#}'
    type: str
  trim_blocks:
    description: Whether the first newline after a block is removed.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Write the unit
  labtool.lab.files:
    files:
      - path: /etc/systemd/system/pod-routes.service
        content: "{{ lookup('labtool.lab.template', 'pod-routes.service.j2') }}"
"""

RETURN = r"""
_raw:
  description: The rendered files.
  type: list
  elements: raw
"""

from collections import ChainMap

from ansible.plugins.lookup.template import LookupModule as BuiltinTemplateLookup


class _LayeredOnCopy(ChainMap):
    """The task's variables. The builtin lookup takes ``deepcopy(variables)`` and adds the
    template variables to it; here that copy is a new empty layer over the same variables."""

    def __deepcopy__(self, memo):
        return ChainMap({}, *self.maps)


class LookupModule(BuiltinTemplateLookup):
    def run(self, terms, variables=None, **kwargs):
        return super().run(terms, variables=_LayeredOnCopy(variables or {}), **kwargs)
