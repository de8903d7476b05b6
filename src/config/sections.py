"""The machinery every config section is read with: typed getters that record where each
field is, and a report of every problem found, listed in document order."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Sequence, TypeVar

from src.regions import known_regions

_ACCOUNT_RE = re.compile(r"^\d{12}$")
E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class Problem:
    field: str  # path like `account_sets[1].prod_account`; "" for the file as a whole
    message: str


class ConfigError(ValueError):
    """Every problem found in the config file, each with the file and the field it concerns.

    `field` and `message` are the first problem's, for callers that show one; `lines` has one
    `<file>: <field>: <message>` line per problem, and `str()` joins them.
    """

    def __init__(self, source: str, field: str = "", message: str = "", *, problems: Sequence[Problem] = ()):
        self.source = source
        self.problems = list(problems) or [Problem(field, message)]
        self.field, self.message = self.problems[0].field, self.problems[0].message
        self.lines = [f"{source}: {p.field}: {p.message}" if p.field else f"{source}: {p.message}"
                      for p in self.problems]
        super().__init__("\n".join(self.lines))


class Report:
    """The problems found so far, each with its place in the file (a tuple of key and list
    positions) so they can be listed in document order."""

    def __init__(self, source: str):
        self.source = source
        self._found: dict[Problem, tuple[int, ...]] = {}  # a dict: the same problem once

    def add(self, where: tuple[int, ...], field: str, message: str) -> None:
        self._found.setdefault(Problem(field, message), where)

    def raise_if_any(self) -> None:
        if self._found:
            # sorted() is stable: problems at the same place keep the order they were found in.
            ordered = sorted(self._found, key=self._found.__getitem__)
            raise ConfigError(self.source, problems=ordered)


class Section:
    """One mapping in the file: typed getters that record the field path for messages.

    A getter whose value is wrong reports it and returns None. Missing required keys and
    unknown keys are reported by `finish()`, once every allowed key has been asked for.
    """

    def __init__(self, report: Report, path: str, data: dict, where: tuple[int, ...] = ()):
        self.report, self.path, self.data, self.where = report, path, data, where
        self._position = {str(key): i for i, key in enumerate(data)}
        self.used: set[str] = set()
        self.missing: dict[str, None] = {}  # an ordered set

    @classmethod
    def of(cls, report: Report, path: str, data: Any, where: tuple[int, ...]) -> Section | None:
        """The section, or None (reported) when `data` is not a mapping: its keys go unchecked."""
        if isinstance(data, dict):
            return cls(report, path, data, where)
        report.add(where, path, f"must be a mapping, got {kind_of(data)}")
        return None

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def at(self, key: str, *index: int) -> tuple[int, ...]:
        """Place of `key` (or of an item of its list) in the file; absent keys sort last."""
        return (*self.where, self._position.get(key, len(self._position)), *index)

    def reject(self, key: str, message: str, index: int | None = None) -> None:
        if index is None:
            self.report.add(self.at(key), self.field(key), message)
        else:
            self.report.add(self.at(key, index), f"{self.field(key)}[{index}]", message)

    def raw(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        value = self.data.get(key)
        if value is not None:
            return value
        if default is ...:
            self.missing[key] = None  # reported by finish(), unless a misspelling explains it
            return None
        return default

    def section(self, key: str, default: Any = ...) -> Section | None:
        value = self.raw(key, default)
        return None if value is None else Section.of(self.report, self.field(key), value, self.at(key))

    def text(
        self,
        key: str,
        default: Any = ...,
        *,
        pattern: re.Pattern[str] | None = None,
        allowed: str = "",
        min_len: int = 1,
        max_len: int = 255,
        check: Callable[[str], str | None] | None = None,
    ) -> str | None:
        value = self.raw(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str):
            return self.reject(key, f"must be a string, got {kind_of(value)}")
        if not min_len <= len(value) <= max_len:
            return self.reject(key, f"must be {min_len}-{max_len} characters, got {len(value)}")
        if pattern is not None and not pattern.match(value):
            return self.reject(key, f"'{value}' is not allowed: {allowed}")
        problem = check(value) if check else None
        return self.reject(key, problem) if problem else value

    def account_id(self, key: str, default: Any = ...) -> str | None:
        value = self.raw(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.reject(
                key,
                f"must be a quoted string of 12 digits, got the number {value} "
                "(unquoted numbers lose leading zeros)",
            )
        return self.text(
            key, default, pattern=_ACCOUNT_RE, allowed="an AWS account id is exactly 12 digits", max_len=64
        )

    def flag(self, key: str, default: bool) -> bool | None:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            return self.reject(key, f"must be true or false, got {kind_of(value)}")
        return value

    def integer(self, key: str, default: Any, *, low: int, high: int) -> int | None:
        value = self.raw(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return self.reject(key, f"must be a whole number from {low} to {high}, got {kind_of(value)}")
        if not low <= value <= high:
            return self.reject(key, f"must be from {low} to {high}, got {value}")
        return value

    def choice(self, key: str, default: Any, kind: type[E]) -> E | None:
        """One of an enum's values, e.g. `mode: stackset`."""
        value = self.raw(key, default)
        if value is None or isinstance(value, kind):
            return value
        allowed = ", ".join(member.value for member in kind)
        try:
            return kind(value)
        except ValueError:
            return self.reject(key, f"{value!r} is not allowed (allowed: {allowed})")

    def strings(self, key: str, default: Any, *, check: Callable[[Any], str | None], what: str
                ) -> tuple[str, ...] | None:
        """A list of strings, each passing `check` (which returns a problem or None)."""
        raw = self.raw(key, default)
        if raw is None:
            return None
        if not isinstance(raw, list):
            return self.reject(key, f"must be a list of {what}, got {kind_of(raw)}")
        problems = [check(item) for item in raw]
        for index, problem in enumerate(problems):
            if problem:
                self.reject(key, problem, index)
        return None if any(problems) else tuple(dict.fromkeys(raw))

    def refuse(self, key: str, why: str) -> None:
        """A key that is allowed in this section, but not with the rest of its values."""
        self.used.add(key)
        if key in self.data:
            self.reject(key, why)

    def region(self, key: str) -> str | None:
        return self.text(key, check=_region_problem, max_len=64)

    def finish(self) -> None:
        """Report unknown keys and missing required ones; a missing key that an unknown key
        looks like a misspelling of gets only the hint, since the hint is the fix."""
        allowed = sorted(self.used)
        meant: set[str] = set()
        for key in (str(k) for k in self.data if k not in self.used):
            guess = _closest(key, list(self.missing)) or _closest(key, allowed)
            if guess:
                meant.add(guess)
                self.reject(key, f"unknown key '{key}' (did you mean '{guess}'?)")
            else:
                self.reject(key, f"unknown key (allowed here: {', '.join(allowed)})")
        for key in self.missing:
            if key not in meant:
                self.reject(key, "is required")


def _closest(key: str, candidates: list[str]) -> str | None:
    # difflib's default cutoff (0.6) still matches keys with two letters swapped or missing.
    close = difflib.get_close_matches(key, candidates, n=1)
    return close[0] if close else None


def complete(cls: Callable[..., Any], **values: Any) -> Any:
    """cls(**values) when every value passed its checks (a failed one is None), else None."""
    return None if any(value is None for value in values.values()) else cls(**values)


def kind_of(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _region_problem(value: str) -> str | None:
    if value in known_regions():
        return None
    close = difflib.get_close_matches(value, sorted(known_regions()), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"'{value}' is not an AWS region name{hint}"


