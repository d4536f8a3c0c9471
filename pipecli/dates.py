"""Dates as people type them: ISO, today/tomorrow/yesterday, +3d/-1w/+6m/+1y, weekday names."""

from __future__ import annotations

import re
from datetime import date, timedelta

from .errors import UsageError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OFFSET = re.compile(r"^([+-])(\d+)([dwmy])$")
DATE_FORMS = "YYYY-MM-DD, today, tomorrow, yesterday, +3d, +2w, +6m, +1y, -1w, or a weekday (fri)"


DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1m = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    following = date(year + 1, 1, 1) if month == 11 else date(year, month + 2, 1)
    last = (following - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


def parse_date(text: str, today: date) -> date:
    """Read a date as a user typed it, relative to `today`; a weekday means the next one after today."""
    raw = text.strip().lower()
    if raw == "today":
        return today
    if raw == "tomorrow":
        return today + timedelta(days=1)
    if raw == "yesterday":
        return today - timedelta(days=1)
    match = _OFFSET.match(raw)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        amount = sign * int(match.group(2))
        unit = match.group(3)
        if unit == "d":
            return today + timedelta(days=amount)
        if unit == "w":
            return today + timedelta(weeks=amount)
        if unit == "m":
            return add_months(today, amount)
        return add_months(today, 12 * amount)
    for index, name in enumerate(WEEKDAYS):
        full = DAY_NAMES[index]
        if len(raw) >= 3 and name.startswith(raw[:3]) and full.startswith(raw):
            ahead = (index - today.weekday() - 1) % 7 + 1
            return today + timedelta(days=ahead)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"'{text}' is not a date", f"write a date as {DATE_FORMS}") from None


def months_between(start: date, end: date) -> float:
    """Whole and fractional months from start to end, as a person counts them."""
    return (end.year - start.year) * 12 + (end.month - start.month) + (end.day - start.day) / 31
