"""labtool.lab.linear waits for results asleep: a result wakes it at once, and it does not
look for results in between (Ansible's linear looks every internal_poll_interval)."""

from __future__ import annotations

import threading
import time
import warnings
from types import SimpleNamespace

import ansible_module  # noqa: F401  (puts collections/ on sys.path)

with warnings.catch_warnings():
    # the strategy imports ansible-core's ssh-agent support, whose cryptography import warns
    # that DSA is deprecated (a UserWarning); nothing here uses it
    warnings.simplefilter("ignore")
    from ansible_collections.labtool.lab.plugins.strategy import linear


def a_waiting_strategy(pending: int):
    strategy = linear.StrategyModule.__new__(linear.StrategyModule)  # no TQM, no results thread
    strategy._results_lock = threading.Condition(threading.Lock())
    strategy._results = linear._ResultsThatWake(strategy._results_lock)
    strategy._pending_results = pending
    strategy._tqm = SimpleNamespace(_terminated=False, has_dead_workers=lambda: False)
    strategy.looks = 0

    def process(_iterator):
        strategy.looks += 1
        with strategy._results_lock:
            taken = list(strategy._results)
            strategy._results.clear()
        strategy._pending_results -= len(taken)
        return taken

    strategy._process_pending_results = process
    return strategy


def hand_in(strategy, result, after: float) -> threading.Thread:
    def later():
        time.sleep(after)
        with strategy._results_lock:  # as Ansible's results thread appends
            strategy._results.append(result)

    thread = threading.Thread(target=later)
    thread.start()
    return thread


def test_a_result_wakes_the_wait_at_once():
    strategy = a_waiting_strategy(pending=2)
    threads = [hand_in(strategy, "r1", 0.3), hand_in(strategy, "r2", 0.6)]
    started = time.monotonic()
    results = strategy._wait_on_pending_results(iterator=None)
    waited = time.monotonic() - started
    for thread in threads:
        thread.join()
    assert sorted(results) == ["r1", "r2"]
    assert waited < 0.6 + linear.WAKE_AT_LEAST_EVERY / 2  # not a whole wake-up period late
    # one look at the start, one a result, and at most one a WAKE_AT_LEAST_EVERY in between:
    # polling every 10 ms would have looked some 60 times
    assert strategy.looks <= 3 + 0.6 / linear.WAKE_AT_LEAST_EVERY


def test_no_pending_result_returns_without_waiting():
    strategy = a_waiting_strategy(pending=0)
    assert strategy._wait_on_pending_results(iterator=None) == [] and strategy.looks == 0
