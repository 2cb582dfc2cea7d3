"""labtool/strategy.py: the environment that LABTOOL_STRATEGY asks ansible-playbook for."""

from __future__ import annotations

import os

from labtool import strategy


def test_ansible_cfg_s_strategy_by_default_and_by_name():
    assert strategy.strategy_env({}) == {}
    assert strategy.strategy_env({"LABTOOL_STRATEGY": "labtool"}) == {}


def test_ansible_s_own_linear_by_name():
    assert strategy.strategy_env({"LABTOOL_STRATEGY": "Linear"}) == {"ANSIBLE_STRATEGY": "ansible.builtin.linear"}


def test_an_unknown_strategy_is_reported_and_the_default_is_used(capsys):
    assert strategy.strategy_env({"LABTOOL_STRATEGY": "turbo"}) == {}
    assert "LABTOOL_STRATEGY" in capsys.readouterr().err


def test_mitogen_points_ansible_at_its_strategy_plugins():
    env = strategy.strategy_env({"LABTOOL_STRATEGY": "Mitogen", "ANSIBLE_STRATEGY_PLUGINS": "/mine"})
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    first, rest = env["ANSIBLE_STRATEGY_PLUGINS"].split(os.pathsep, 1)
    assert rest == "/mine"
    assert os.path.isfile(os.path.join(first, "mitogen_linear.py"))  # the test extra installs mitogen


def test_mitogen_missing_leaves_the_error_to_ansible(monkeypatch, capsys):
    monkeypatch.setattr(strategy, "mitogen_strategy_dir", lambda: None)
    assert strategy.strategy_env({"LABTOOL_STRATEGY": "mitogen"}) == {"ANSIBLE_STRATEGY": "mitogen_linear"}
    assert "pip install 'labtool[speed]'" in capsys.readouterr().err
