"""labtool.lab.template renders a file as ansible.builtin.template's lookup does, without
deep-copying the task's variables, and leaves them as they were."""

from __future__ import annotations

import copy

import pytest
import yaml

import ansible_module  # noqa: F401  (puts collections/ on sys.path)
from ansible import constants as C
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.lookup import template as builtin_template
from ansible.template import Templar, trust_as_template
from ansible_collections.labtool.lab.plugins.lookup import template as labtool_template

TEMPLATE = """\
# {{ name }} on {{ nodes | join(',') }}
{% for n in nodes %}
{{ n }}: {{ ports[n] | default(port) }} {{ extra | default('-') }}
{% endfor %}
{{ derived }}
"""


def a_lookup(module, name, loader, templar):
    """The plugin as Ansible's loader gives it: its options known to Ansible's config."""
    options = yaml.safe_load(module.DOCUMENTATION)["options"]
    C.config.initialize_plugin_configuration_definitions("lookup", name, options)
    plugin = module.LookupModule(loader=loader, templar=templar)
    plugin._load_name = name
    return plugin


@pytest.fixture
def rendered_by(tmp_path):
    path = tmp_path / "nodes.j2"
    path.write_text(TEMPLATE)
    variables = {"name": "lab", "nodes": ["cp", "w1"], "port": 30001, "ports": {"w1": 8080},
                 "derived": trust_as_template("{{ name }}-{{ port + 1 }}")}
    loader = DataLoader()
    loader.set_basedir(str(tmp_path))

    def render(module, name, **options):
        templar = Templar(loader=loader, variables=variables)
        before = copy.deepcopy(variables)
        result = a_lookup(module, name, loader, templar).run([str(path)], variables=variables, **options)
        assert variables == before, "the task's variables are left as they were"
        return result

    return render


@pytest.mark.parametrize("options", [{}, {"template_vars": {"extra": "x", "port": 1}},
                                     {"variable_start_string": "[%", "variable_end_string": "%]"}])
def test_it_renders_as_the_builtin_lookup(rendered_by, options):
    ours = rendered_by(labtool_template, "labtool.lab.template", **options)
    builtin = rendered_by(builtin_template, "ansible.builtin.template", **options)
    assert ours == builtin
    if not options:
        assert ours == ["# lab on cp,w1\ncp: 30001 -\nw1: 8080 -\nlab-30002\n"]


def test_the_template_variables_are_a_layer_over_the_task_variables():
    variables = {"port": 1, "nodes": ["cp"]}
    layered = copy.deepcopy(labtool_template._LayeredOnCopy(variables))
    layered.update({"port": 2})
    assert layered["port"] == 2 and layered["nodes"] is variables["nodes"]
    assert variables == {"port": 1, "nodes": ["cp"]}
