"""Output of commands that work on many stacks at once.

Every line is prefixed with its stack, so interleaved output stays readable. On a terminal
(and without NO_COLOR) a live status line under the output shows what is running and how
far the run is; elsewhere output is plain lines. Messages go to stderr when stdout carries
a JSON document (`--output json`). All writes are serialised: workers run in threads.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from typing import Callable, TextIO

import click

from src.deploy.scheduler import RunResult, RunState

TICK_SECONDS = 1.0


def wants_live_view(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Console:
    def __init__(self, *, stream: TextIO | None = None, live: bool | None = None, color: bool | None = None):
        self.stream = stream or sys.stdout
        self.live = wants_live_view(self.stream) if live is None else live
        self.color = self.live if color is None else color
        self._lock = threading.RLock()
        self._status = ""
        self._running: dict[str, float] = {}
        self._finished = 0
        self._total = 0
        self._width = 0
        self._ticking = threading.Event()

    # -- lines -------------------------------------------------------------------------------
    def echo(self, text: str = "") -> None:
        with self._lock:
            self._clear_status()
            click.echo(text, file=self.stream)
            self._draw_status()

    def for_stack(self, prefix: str) -> Callable[[str], None]:
        """An echo that prefixes each line with the stack (padded to line up)."""
        with self._lock:
            self._width = max(self._width, len(prefix))

        def echo(text: str) -> None:
            label = click.style(prefix.ljust(self._width), bold=True) if self.color else prefix.ljust(self._width)
            for line in text.splitlines() or [""]:
                self.echo(f"{label} | {line}")

        return echo

    def ask(self, question: Callable[[], bool]) -> bool:
        """Run a prompt with the status line out of the way and no other output in between."""
        with self._lock:
            self._clear_status()
            try:
                return question()
            finally:
                self._draw_status()

    # -- live progress -----------------------------------------------------------------------
    def begin(self, prefixes: list[str]) -> None:
        """A run over stacks with these prefixes starts (they are lined up to the longest)."""
        with self._lock:
            self._total, self._finished = len(prefixes), 0
            self._width = max([self._width, *map(len, prefixes)])
        if self.live:  # keep the elapsed seconds moving while stacks wait on CloudFormation
            self._ticking.clear()
            threading.Thread(target=self._tick, daemon=True, name="console ticker").start()

    def _tick(self) -> None:
        while not self._ticking.wait(TICK_SECONDS):
            with self._lock:
                self._refresh()

    def started(self, node) -> None:
        with self._lock:
            self._running[prefix_of(node)] = time.monotonic()
            self._refresh()

    def finished(self, result: RunResult) -> None:
        with self._lock:
            self._running.pop(prefix_of(result.node), None)
            self._finished += 1
            if result.state is not RunState.SUCCEEDED and result.error:
                self.for_stack(prefix_of(result.node))(f"{result.state.value}: {result.error}")
            self._refresh()

    def end(self) -> None:
        self._ticking.set()
        with self._lock:
            self._clear_status()
            self._status = ""

    def _refresh(self) -> None:
        if not self.live:
            return
        now = time.monotonic()
        running = ", ".join(f"{name} {now - since:.0f}s" for name, since in self._running.items())
        self._clear_status()
        status = f"[{self._finished}/{self._total} done] running: {running or '-'}"
        width = shutil.get_terminal_size().columns - 1  # one row only: \r and clear-line erase it
        self._status = status if len(status) <= width else status[: max(width - 3, 0)] + "..."
        self._draw_status()

    def _clear_status(self) -> None:
        if self.live and self._status:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def _draw_status(self) -> None:
        if self.live and self._status:
            self.stream.write(click.style(self._status, dim=True) if self.color else self._status)
            self.stream.flush()


def prefix_of(record) -> str:
    return f"{record.name}@{record.region}" if hasattr(record, "region") else str(record.id)
