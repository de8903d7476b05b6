"""Run one action per stack, in parallel where the graph allows.

A stack starts once every stack it depends on (among those chosen) has succeeded; with
`reverse` (destroy) once every stack depending on it is gone. At most `concurrency` run at
once, picked in graph order, so `concurrency=1` is the serial order. A failure skips the
stacks that need it (transitively) and lets unrelated ones finish.

Workers are daemon threads: on Ctrl-C the main thread reports and exits without waiting for
CloudFormation (a rerun waits for stacks still in progress). A KeyboardInterrupt raised
inside a worker is re-raised in the main thread the same way.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Generic, Hashable, Protocol, Sequence, TypeVar


class Node(Protocol):
    @property
    def id(self) -> Hashable: ...

    @property
    def depends_on(self) -> tuple: ...


DEFAULT_CONCURRENCY = 8

N = TypeVar("N", bound=Node)
R = TypeVar("R")


class RunState(str, Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class RunResult(Generic[N, R]):
    node: N
    state: RunState
    value: R | None = None
    error: str = ""  # why it failed, or which failed stack it needed
    seconds: float = 0.0


class Listener(Protocol):
    def started(self, node) -> None: ...

    def finished(self, result: RunResult) -> None: ...


class _Quiet:
    def started(self, node) -> None:
        pass

    def finished(self, result: RunResult) -> None:
        pass


def run_graph(
    nodes: Sequence[N],
    action: Callable[[N], R],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    reverse: bool = False,
    succeeded: Callable[[R], bool] = lambda _: True,
    describe_error: Callable[[BaseException], str] = str,
    listener: Listener | None = None,
) -> list[RunResult[N, R]]:
    """Results in the order of `nodes`. `action` raising counts as failed (its message via
    `describe_error`); so does a value `succeeded` rejects (e.g. a declined approval)."""
    listener = listener or _Quiet()
    waits = _waits(nodes, reverse)
    order = list(reversed(nodes)) if reverse else list(nodes)
    results: dict[Hashable, RunResult] = {}
    running: set[Hashable] = set()
    done: queue.Queue = queue.Queue()

    def work(node: N) -> None:
        start = time.monotonic()
        try:
            value = action(node)
            state = RunState.SUCCEEDED if succeeded(value) else RunState.FAILED
            done.put(RunResult(node, state, value, seconds=time.monotonic() - start))
        except Exception as exc:  # noqa: BLE001 - reported per stack, the others go on
            try:
                error = describe_error(exc)
            except Exception:  # noqa: BLE001 - a broken description must not lose the result
                error = repr(exc)
            done.put(RunResult(node, RunState.FAILED, error=error, seconds=time.monotonic() - start))
        except BaseException as exc:  # Ctrl-C, SystemExit: stop the whole run, in the main thread
            done.put(exc)

    while len(results) < len(order):
        _skip_blocked(order, waits, results, listener)
        for node in order:
            if len(running) >= max(concurrency, 1):
                break
            if node.id in results or node.id in running or not all(
                results.get(d) is not None and results[d].state is RunState.SUCCEEDED for d in waits[node.id]
            ):
                continue
            running.add(node.id)
            listener.started(node)
            if concurrency <= 1:
                work(node)  # serial: in this thread, exactly the old behaviour
            else:
                threading.Thread(target=work, args=(node,), daemon=True, name=f"stack {node.id}").start()
        if not running:
            if len(results) < len(order) and not _skip_blocked(order, waits, results, listener):
                raise RuntimeError(f"dependency cycle among {sorted(str(n.id) for n in order if n.id not in results)}")
            continue  # everything left was skipped
        item = done.get()
        if isinstance(item, BaseException):
            raise item
        running.discard(item.node.id)
        results[item.node.id] = item
        listener.finished(item)
    return [results[n.id] for n in nodes]


def _waits(nodes: Sequence[N], reverse: bool) -> dict[Hashable, set[Hashable]]:
    """node id -> ids it must wait for, among `nodes`."""
    ids = {n.id for n in nodes}
    waits: dict[Hashable, set[Hashable]] = {n.id: set() for n in nodes}
    for n in nodes:
        for dep in n.depends_on:
            if dep in ids:
                (waits[dep] if reverse else waits[n.id]).add(n.id if reverse else dep)
    return waits


def _skip_blocked(order, waits, results, listener) -> bool:
    """Mark every node that waits, directly or not, for a failed or skipped one."""
    changed, any_skipped = True, False
    while changed:
        changed = False
        for node in order:
            if node.id in results:
                continue
            blocking = [d for d in waits[node.id] if d in results and results[d].state is not RunState.SUCCEEDED]
            if blocking:
                first = results[blocking[0]]
                reason = f"needs {_name(first.node)}, which {'failed' if first.state is RunState.FAILED else 'was skipped'}"
                results[node.id] = RunResult(node, RunState.SKIPPED, error=reason)
                listener.finished(results[node.id])
                changed = any_skipped = True
    return any_skipped


def _name(node) -> str:
    return getattr(node, "label", str(node.id))
