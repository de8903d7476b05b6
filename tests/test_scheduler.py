"""The parallel scheduler: dependencies respected, failures contained, concurrency bounded."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from src.deploy.scheduler import RunState, run_graph


@dataclass(frozen=True)
class Node:
    id: str
    depends_on: tuple[str, ...] = ()


# a -> b -> d ; a -> c ; e alone
GRAPH = [Node("a"), Node("b", ("a",)), Node("c", ("a",)), Node("d", ("b",)), Node("e")]


class Recorder:
    def __init__(self, fail=(), delay=0.0):
        self.fail, self.delay = set(fail), delay
        self.lock = threading.Lock()
        self.order: list[str] = []
        self.running = 0
        self.most = 0

    def __call__(self, node: Node) -> str:
        with self.lock:
            self.order.append(node.id)
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.delay)
        with self.lock:
            self.running -= 1
        if node.id in self.fail:
            raise RuntimeError(f"{node.id} broke")
        return node.id


def states(results) -> dict[str, RunState]:
    return {r.node.id: r.state for r in results}


def test_concurrency_one_runs_in_graph_order():
    action = Recorder()
    run_graph(GRAPH, action, concurrency=1)
    assert action.order == ["a", "b", "c", "d", "e"]


def test_a_stack_starts_only_after_its_dependencies():
    action = Recorder(delay=0.01)
    run_graph(GRAPH, action, concurrency=8)
    for node in GRAPH:
        for dep in node.depends_on:
            assert action.order.index(dep) < action.order.index(node.id)


def test_independent_stacks_run_at_the_same_time():
    barrier = threading.Barrier(2, timeout=5)  # breaks (and fails the run) unless both wait at once

    def action(node):
        barrier.wait()
        return node.id

    results = run_graph([Node("x"), Node("y")], action, concurrency=2)
    assert states(results) == {"x": RunState.SUCCEEDED, "y": RunState.SUCCEEDED}


def test_no_more_than_concurrency_stacks_run_at_once():
    action = Recorder(delay=0.02)
    run_graph([Node(str(i)) for i in range(12)], action, concurrency=3)
    assert action.most == 3


def test_a_failure_skips_its_dependents_and_lets_the_others_finish():
    results = run_graph(GRAPH, Recorder(fail={"b"}), concurrency=4)
    assert states(results) == {"a": RunState.SUCCEEDED, "b": RunState.FAILED, "c": RunState.SUCCEEDED,
                               "d": RunState.SKIPPED, "e": RunState.SUCCEEDED}
    by_id = {r.node.id: r for r in results}
    assert by_id["b"].error == "b broke"
    assert by_id["d"].error == "needs b, which failed"


def test_skips_propagate_down_the_chain():
    results = run_graph(GRAPH, Recorder(fail={"a"}), concurrency=1)
    assert states(results) == {"a": RunState.FAILED, "b": RunState.SKIPPED, "c": RunState.SKIPPED,
                               "d": RunState.SKIPPED, "e": RunState.SUCCEEDED}
    assert {r.node.id: r.error for r in results}["d"] == "needs b, which was skipped"


def test_reverse_runs_dependents_first():
    action = Recorder()
    run_graph(GRAPH, action, concurrency=1, reverse=True)
    for node in GRAPH:
        for dep in node.depends_on:
            assert action.order.index(node.id) < action.order.index(dep)


def test_a_rejected_value_counts_as_failed():
    results = run_graph(GRAPH, lambda n: "declined" if n.id == "a" else "ok", concurrency=2,
                        succeeded=lambda value: value != "declined")
    assert states(results)["a"] is RunState.FAILED and states(results)["d"] is RunState.SKIPPED


def test_results_come_in_the_order_given():
    results = run_graph(GRAPH, Recorder(delay=0.005), concurrency=8)
    assert [r.node.id for r in results] == ["a", "b", "c", "d", "e"]


def test_dependencies_outside_the_chosen_stacks_are_taken_as_done():
    results = run_graph([Node("b", ("a",))], Recorder(), concurrency=2)
    assert states(results) == {"b": RunState.SUCCEEDED}


def test_ctrl_c_in_a_worker_reaches_the_caller():
    def action(node):
        if node.id == "c":
            raise KeyboardInterrupt
        return node.id

    with pytest.raises(KeyboardInterrupt):
        run_graph(GRAPH, action, concurrency=4)


def test_a_cycle_is_reported_not_waited_on_forever():
    with pytest.raises(RuntimeError, match="dependency cycle"):
        run_graph([Node("p", ("q",)), Node("q", ("p",))], Recorder(), concurrency=2)


def logging_action(events: list[tuple[str, str]], slow: str = ""):
    """An action recording ("start"|"end", id) in order; `slow` takes longest."""
    lock = threading.Lock()

    def action(node):
        with lock:
            events.append(("start", node.id))
        time.sleep(0.05 if node.id == slow else 0.01)
        with lock:
            events.append(("end", node.id))

    return action


def test_each_stack_starts_after_its_dependencies_finished():
    events: list[tuple[str, str]] = []
    action = logging_action(events, slow="a")
    # Declared in an order that is not topological, so list order alone cannot satisfy it.
    graph = [Node("d", ("b",)), Node("b", ("a",)), Node("c", ("a",)), Node("a"), Node("e")]
    run_graph(graph, action, concurrency=8)
    for node in graph:
        for dep in node.depends_on:
            assert events.index(("end", dep)) < events.index(("start", node.id))


def test_reverse_waits_for_dependents_to_finish():
    events: list[tuple[str, str]] = []
    run_graph(GRAPH, logging_action(events, slow="d"), concurrency=8, reverse=True)
    for node in GRAPH:
        for dep in node.depends_on:
            assert events.index(("end", node.id)) < events.index(("start", dep))


def test_a_worker_dying_of_system_exit_stops_the_run_instead_of_hanging():
    def action(node):
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        run_graph(GRAPH, action, concurrency=4)


def test_the_cli_default_concurrency_is_the_schedulers():
    import build
    from src.deploy.scheduler import DEFAULT_CONCURRENCY

    assert build.DEFAULT_CONCURRENCY == DEFAULT_CONCURRENCY == 8
