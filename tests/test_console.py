"""Output of many stacks at once: prefixed lines, and a live status line only on terminals."""

from __future__ import annotations

import io
from dataclasses import dataclass

from src.deploy.console import Console, wants_live_view
from src.deploy.scheduler import RunResult, RunState


@dataclass(frozen=True)
class Record:
    name: str
    region: str = "eu-west-1"

    @property
    def id(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.name


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_are_prefixed_with_the_stack_and_lined_up():
    out = io.StringIO()
    console = Console(stream=out, live=False)
    console.begin(["a@eu-west-1", "longer-name@us-east-1"])
    console.for_stack("a@eu-west-1")("created")
    assert out.getvalue() == "a@eu-west-1           | created\n"


def test_plain_output_has_no_status_line_or_escape_codes():
    out = io.StringIO()
    console = Console(stream=out)
    console.begin(["a@eu-west-1"])
    console.started(Record("a"))
    console.for_stack("a@eu-west-1")("working")
    assert "\x1b" not in out.getvalue() and "running" not in out.getvalue()


def test_a_terminal_gets_a_status_line_that_is_cleared_around_each_line():
    out = Tty()
    console = Console(stream=out, live=True, color=False)
    console.begin(["a@eu-west-1", "b@eu-west-1"])
    console.started(Record("a"))
    console.for_stack("a@eu-west-1")("working")
    console.finished(RunResult(Record("a"), RunState.SUCCEEDED))
    console.end()
    text = out.getvalue()
    assert "[0/2 done] running: a@eu-west-1 0s" in text
    assert "\r\x1b[2Ka@eu-west-1 | working\n[0/2 done] running: a@eu-west-1" in text
    assert "[1/2 done] running: -" in text
    assert text.endswith("\r\x1b[2K")  # nothing left on screen after the run


def test_no_color_turns_the_live_view_off(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_live_view(Tty())
    monkeypatch.delenv("NO_COLOR")
    assert wants_live_view(Tty()) and not wants_live_view(io.StringIO())


def test_a_skipped_stack_says_why_under_its_prefix():
    out = io.StringIO()
    console = Console(stream=out, live=False)
    console.begin(["b@eu-west-1"])
    console.finished(RunResult(Record("b"), RunState.SKIPPED, error="needs a, which failed"))
    assert out.getvalue() == "b@eu-west-1 | skipped: needs a, which failed\n"


def test_the_status_line_fits_one_terminal_row(monkeypatch):
    import os

    monkeypatch.setattr("shutil.get_terminal_size", lambda *a, **k: os.terminal_size((40, 24)))
    out = Tty()
    console = Console(stream=out, live=True, color=False)
    console.begin(["x"] * 9)
    for i in range(9):
        console.started(Record(f"stack-number-{i}"))
    last = out.getvalue().rsplit("\r\x1b[2K", 1)[-1]
    assert len(last) == 39 and last.endswith("...")


def test_the_status_line_keeps_counting_while_stacks_wait(monkeypatch):
    import time

    monkeypatch.setattr("src.deploy.console.TICK_SECONDS", 0.01)
    out = Tty()
    console = Console(stream=out, live=True, color=False)
    console.begin(["a@eu-west-1"])
    console.started(Record("a"))
    before = out.getvalue().count("running: a@eu-west-1")
    time.sleep(0.2)
    console.end()
    assert out.getvalue().count("running: a@eu-west-1") > before + 3  # redrawn with nothing else happening
