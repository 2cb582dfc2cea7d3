# Copyright: labtool maintainers
# Apache License 2.0 (see galaxy.yml)
"""Ansible's linear strategy, but the actions that only ever run on the controller run in the
strategy's own process instead of a forked worker."""

from __future__ import annotations

DOCUMENTATION = r"""
name: linear
short_description: Ansible's linear strategy, controller-only actions run without a fork
description:
  - Runs a play exactly as C(ansible.builtin.linear) does (task by task, every host finishing
    a task before any starts the next), with one difference in how a host-task is executed.
  - Ansible forks a worker process for every host and task, also for the actions that never
    leave the controller (set_fact, assert, debug, fail, include_vars, the argument spec
    validation, include_tasks, include_role). This strategy runs those in its own process,
    with Ansible's own C(TaskExecutor) on a copy of the task, and hands the result to the
    same results queue a worker would; callbacks, registered variables, facts, failures and
    the recap are unchanged.
  - A task of any other action that has a C(when) and no loop has its condition evaluated
    here first, as C(TaskExecutor) does; when it is false, the skipped result is sent from
    here, and when it holds the task goes to a worker, which evaluates it again and runs it.
  - Every template and condition is compiled once in this process and the workers forked
    from it, not every time it is rendered (the compiled code is kept; see
    C(plugins/plugin_utils/template_code_cache.py)).
  - It waits for results asleep, woken by each result, instead of looking for them every
    C(internal_poll_interval).
  - Everything else (a module on a node, a connection, a task with a C(timeout) or a
    C(loop_control.pause)) is forked to a worker as in C(ansible.builtin.linear).
  - Measured in labtool's bench/RESULTS.md.
author: labtool maintainers (@labtool)
"""

from collections import deque

from ansible import constants as C
from ansible._internal import _task
from ansible._internal._errors import _error_utils
from ansible.executor.task_executor import TaskExecutor
from ansible.errors import AnsibleError
from ansible.executor.task_result import _RawTaskResult
from ansible.plugins import loader as plugin_loader
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule
from ansible_collections.labtool.lab.plugins.plugin_utils import template_code_cache

# Actions whose plugins never open a connection nor run a module. A task with a loop or a
# delegate_to still qualifies: neither makes these actions touch a node.
CONTROLLER_ACTIONS = frozenset(
    C._ACTION_SET_FACT + C._ACTION_DEBUG + C._ACTION_INCLUDE_VARS + C._ACTION_ALL_INCLUDES
    + C.add_internal_fqcns(("assert", "fail", "validate_argument_spec"))
)


def runs_on_controller(task) -> bool:
    """A controller-only action, unless the task keeps a worker busy in a way that must not
    hold up this process: a task timeout (SIGALRM in the worker), a pause between loop items."""
    pauses = task.loop_control is not None and task.loop_control.pause
    return task.action in CONTROLLER_ACTIONS and not task.timeout and not pauses


def may_be_skipped_here(task) -> bool:
    """A loop's condition is evaluated per item, each item sending its own event: the
    condition of a task with a loop is left to the worker."""
    return bool(task.when) and task.loop is None and task.loop_with is None


class _ConditionHolds(BaseException):
    """Not an error: the task runs, on a worker. A BaseException so that neither
    TaskExecutor.run nor _execute turns it into a failed result."""


class _SkipOrHandOver(TaskExecutor):
    """TaskExecutor as far as the task's condition: the skipped result when it is false,
    _ConditionHolds when it holds."""

    def _execute_internal(self, templar, variables):
        resolve = self._task._resolve_conditional

        def resolve_or_hand_over(*args, **kwargs):
            if resolve(*args, **kwargs):
                raise _ConditionHolds()
            return False

        self._task._resolve_conditional = resolve_or_hand_over
        return super()._execute_internal(templar, variables)


# The longest the strategy waits for a result without looking at its workers (a dead worker,
# an interrupted run); a result wakes it at once.
WAKE_AT_LEAST_EVERY = 0.25


class _ResultsThatWake(deque):
    """The strategy's queue of results; the results thread appends to it holding
    ``_results_lock`` (a Condition), and each append wakes the waiting strategy."""

    def __init__(self, condition):
        super().__init__()
        self._condition = condition

    def append(self, x):
        super().append(x)
        self._condition.notify_all()


class StrategyModule(LinearStrategyModule):

    def __init__(self, tqm):
        super().__init__(tqm)
        self._results = _ResultsThatWake(self._results_lock)
        template_code_cache.install()  # before any worker is forked: they inherit it

    def _wait_on_pending_results(self, iterator):
        """As Ansible's, but asleep until a result arrives instead of looking every
        internal_poll_interval: no CPU spent while the nodes work, no poll's delay after."""
        results = []
        while self._pending_results > 0 and not self._tqm._terminated:
            if self._tqm.has_dead_workers():
                raise AnsibleError("A worker was found in a dead state")
            results.extend(self._process_pending_results(iterator))
            if self._pending_results > 0:
                with self._results_lock:
                    if not self._results:
                        self._results_lock.wait(WAKE_AT_LEAST_EVERY)
        return results

    def _queue_task(self, host, task, task_vars, play_context):
        # the results thread looks every result up here, a loop's item results included,
        # which TaskExecutor sends while it runs
        self._queued_task_cache[(host.name, task._uuid)] = {
            'host': host, 'task': task, 'task_vars': task_vars, 'play_context': play_context,
        }
        if runs_on_controller(task):
            self._tqm.send_callback('v2_runner_on_start', host, task)
            self._hand_in(self._execute_here(TaskExecutor, host, task, task_vars, play_context))
        elif may_be_skipped_here(task) and (skipped := self._skipped_here(host, task, task_vars, play_context)):
            self._tqm.send_callback('v2_runner_on_start', host, task)
            self._hand_in(skipped)
        else:
            super()._queue_task(host, task, task_vars, play_context)

    def _hand_in(self, result: _RawTaskResult) -> None:
        """Into the results queue, as a worker hands in its result."""
        self._final_q.send_task_result(result)
        self._pending_results += 1

    def _skipped_here(self, host, task, task_vars, play_context) -> _RawTaskResult | None:
        """The skipped result when the task's condition is false, else None (it holds, or
        evaluating it failed: the worker runs the task, or reports the error, as always)."""
        try:
            result = self._execute_here(_SkipOrHandOver, host, task, task_vars, play_context)
        except _ConditionHolds:
            return None
        return result if result.is_skipped() else None

    def _execute_here(self, executor, host, task, task_vars, play_context) -> _RawTaskResult:
        """What a worker would send for this host-task. TaskExecutor changes the task it runs
        (squash, post_validate), which a fork throws away: here it runs on a copy."""
        own_task = task.copy(exclude_tasks=True)
        try:
            with _task.TaskContext(own_task):
                result = executor(host, own_task, task_vars, play_context, self._loader,
                                  plugin_loader.get_plugin_loader_namespace(), self._final_q,
                                  self._variable_manager).run()
        except Exception as error:  # as the worker: a failed result, never a broken strategy
            result = _error_utils.result_dict_from_exception(error)
        return _RawTaskResult(host=host, task=own_task, return_data=result, task_fields=own_task.dump_attrs())
