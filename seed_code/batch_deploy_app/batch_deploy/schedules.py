"""EventBridge Scheduler expressions and time zones, checked for shape.

Forms (EventBridge Scheduler user guide, "Schedule types"):

* ``rate(<n> <unit>)``: n a whole number >= 1; unit ``minute``, ``hour`` or ``day``
  for 1, ``minutes``, ``hours`` or ``days`` above 1.
* ``cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)``: six
  fields; exactly one of day-of-month and day-of-week is ``?``.
* ``at(yyyy-mm-ddThh:mm:ss)``: one run at that local time.

Each check returns ``None`` when the value is fine, else a short reason. Value
ranges inside cron fields are left to Scheduler, which rejects them when the
stack is deployed.
"""

from __future__ import annotations

import re
from datetime import datetime

MAX_EXPRESSION_LENGTH = 256  # AWS::Scheduler::Schedule ScheduleExpression
MAX_TIMEZONE_LENGTH = 50  # AWS::Scheduler::Schedule ScheduleExpressionTimezone

_RATE = re.compile(r"^rate\((\d+) (minute|hour|day)(s?)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")

_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# Characters (and names) each cron field may use, in field order.
_CRON_FIELDS = (
    ("minutes", re.compile(r"^[0-9*,/-]+$")),
    ("hours", re.compile(r"^[0-9*,/-]+$")),
    ("day-of-month", re.compile(r"^[0-9*?,/LW-]+$")),
    ("month", re.compile(rf"^(?:[0-9*,/-]|{_MONTHS})+$", re.IGNORECASE)),
    ("day-of-week", re.compile(rf"^(?:[0-9*?,L#-]|{_DAYS})+$", re.IGNORECASE)),
    ("year", re.compile(r"^[0-9*,/-]+$")),
)

# An IANA zone name such as UTC, Europe/Paris or America/Argentina/Buenos_Aires.
_TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*$")


def _rate_problem(match: re.Match) -> str | None:
    value, unit, plural = int(match.group(1)), match.group(2), match.group(3)
    if value < 1:
        return "needs a rate value of at least 1"
    if value == 1 and plural:
        return f"must use the singular unit with 1: 'rate(1 {unit})'"
    if value > 1 and not plural:
        return f"must use the plural unit above 1: 'rate({value} {unit}s)'"
    return None


def _cron_problem(match: re.Match) -> str | None:
    fields = match.group(1).split()
    if len(fields) != len(_CRON_FIELDS):
        return (
            f"needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    for value, (name, allowed) in zip(fields, _CRON_FIELDS):
        if not allowed.match(value):
            return f"has an invalid {name} field {value!r}"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "must use '?' in exactly one of the day-of-month and day-of-week fields"
    return None


def _at_problem(match: re.Match) -> str | None:
    try:
        datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return f"has no such date and time {match.group(1)!r}"
    return None


def schedule_expression_problem(value) -> str | None:
    if not isinstance(value, str):
        return "must be a string: rate(...), cron(...) or at(...)"
    if len(value) > MAX_EXPRESSION_LENGTH:
        return f"must be at most {MAX_EXPRESSION_LENGTH} characters"
    for pattern, check in ((_RATE, _rate_problem), (_CRON, _cron_problem), (_AT, _at_problem)):
        match = pattern.match(value)
        if match:
            return check(match)
    return (
        "must be 'rate(<n> minute(s)|hour(s)|day(s))', 'cron(<6 fields>)' "
        "or 'at(yyyy-mm-ddThh:mm:ss)'"
    )


def timezone_problem(value) -> str | None:
    if not isinstance(value, str) or not _TIMEZONE.match(value) or len(value) > MAX_TIMEZONE_LENGTH:
        return (
            f"must be an IANA time zone name such as 'UTC' or 'Europe/Paris' "
            f"(at most {MAX_TIMEZONE_LENGTH} characters)"
        )
    return None
