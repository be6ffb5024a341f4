"""Cloud Scheduler's schedules: unix-cron (minute hour day-of-month month day-of-week) and
time zones. One reading of a schedule serves both the check and the local scheduler."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from ._common import got
from ._timezones import TIME_ZONES

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class Field:
    """One field of a cron expression: its range, and the names it takes (JAN = 1, SUN = 0)."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first: int = 0  # the number of the first name
    example: str = ""

    def value(self, token: str) -> int | None:
        """The number a token stands for, or None when the field does not take it."""
        if token.isdigit():
            number = int(token)
            return number if self.low <= number <= self.high else None
        upper = token.upper()
        return self.names.index(upper) + self.first if token and upper in self.names else None

    def values(self, text: str) -> set[int] | None:
        """Every number a field allows (`*`, `a-b`, `*/n`, `a-b/n`, lists), or None if invalid."""
        allowed: set[int] = set()
        for item in text.split(","):
            base, *steps = item.split("/")
            if len(steps) > 1 or (steps and not (steps[0].isdigit() and int(steps[0]) > 0)):
                return None
            step = int(steps[0]) if steps else 1
            if base == "*":
                allowed.update(range(self.low, self.high + 1, step))
                continue
            bounds = [self.value(b) for b in base.split("-")]
            if len(bounds) > 2 or None in bounds:
                return None
            if steps and len(bounds) == 1 and not base.isdigit():
                return None
            first = bounds[0]
            last = bounds[-1] if len(bounds) == 2 else (self.high if steps else first)
            assert first is not None
            assert last is not None
            if last < first:  # a reversed range, such as 30-10, matches nothing
                return None
            allowed.update(range(first, last + 1, step))
        return allowed


FIELDS = (
    Field("minute", 0, 59),
    Field("hour", 0, 23),
    Field("day-of-month", 1, 31),
    Field("month", 1, 12, MONTHS, first=1, example="JAN"),
    Field("day-of-week", 0, 7, DAYS, example="MON"),
)


def cron_error(value: str) -> str:
    fields = [field for field in value.split(" ") if field]
    if re.search("[^-0-9A-Za-z*/, ]", value):
        return (
            "schedule: must be a cron expression of digits, letters, * / , - and spaces, "
            f'such as "0 * * * *"{got(value)}'
        )
    if len(fields) != 5:
        return (
            "schedule: must be a cron expression with 5 fields (minute hour day-of-month month "
            f'day-of-week), such as "0 * * * *"; it has {len(fields)}{got(value)}'
        )
    for text, field in zip(fields, FIELDS, strict=True):
        if "" in text.split(",") or field.values(text) is None:
            such_as = f" or a name such as {field.example}" if field.example else ""
            return (
                f"schedule: the {field.name} field must be *, a number from {field.low} to "
                f"{field.high}{such_as}, a range a-b, a step */n or a-b/n, or a comma list of "
                f"those; {json.dumps(text)} is not{got(value)}"
            )
    return ""


def cron_matches(schedule: str, moment: datetime) -> bool:
    """Whether a valid schedule fires in `moment`'s minute (when both day fields are
    restricted, either one may match, as in cron)."""
    texts = schedule.split()
    minute, hour, day, month, weekday = (
        f.values(t) or set() for f, t in zip(FIELDS, texts, strict=True)
    )
    weekday = {d % 7 for d in weekday}
    day_ok = moment.day in day
    weekday_ok = moment.isoweekday() % 7 in weekday
    either = texts[2] != "*" and texts[4] != "*"
    on_day = (day_ok or weekday_ok) if either else (day_ok and weekday_ok)
    return moment.minute in minute and moment.hour in hour and moment.month in month and on_day


def time_zone_error(value: str) -> str:
    if value not in TIME_ZONES:
        return (
            "schedule_time_zone: must be a time zone name from the IANA database, such as "
            f"Etc/UTC, Europe/Paris or America/New_York{got(value)}"
        )
    return ""
