"""Dates as people type them: ISO, relative forms (+3d, 2w, in 2 weeks, next month, end of month), weekday
and month names in English, the Chinese forms (10月12日, 下周五); ambiguous day/month orders refused.

No parsing library: every form here is a few lines, and pipe's start-up stays free of one.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from .errors import UsageError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december")
DATE_FORMS = ("YYYY-MM-DD, today, tomorrow, yesterday, +3d, 2w, -1w, +6m, in 2 weeks, 3 days ago, next week, "
              "next month, end of month, a weekday (fri, next fri), a month and day (oct 12, 12 October 2026), "
              "or in Chinese (10月12日, 下周五, 明天)")

_UNITS = {"d": "d", "day": "d", "days": "d", "w": "w", "wk": "w", "wks": "w", "week": "w", "weeks": "w",
          "m": "m", "mo": "m", "month": "m", "months": "m", "y": "y", "yr": "y", "year": "y", "years": "y"}
_OFFSET = re.compile(r"^([+-]?)\s*(\d+)\s*([a-z]+)$")
_IN = re.compile(r"^in\s+(\d+)\s*([a-z]+)$")
_AGO = re.compile(r"^(\d+)\s*([a-z]+)\s+ago$")
_ISO_LIKE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}|\d{2}))?$")
_CN_DATE = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]?$")
_CN_DAYS = {"日": 6, "天": 6, "一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5}
_CN_WEEKDAY = re.compile(r"^(上|下|这|本)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天])$")
_CN_WORDS = {"今天": 0, "明天": 1, "后天": 2, "昨天": -1, "前天": -2}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (Jan 31 + 1m = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    following = date(year + 1, 1, 1) if month == 11 else date(year, month + 2, 1)
    last = (following - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
RANGE = f"{EARLIEST.isoformat()} to {LATEST.isoformat()}"


def out_of_range(day: date) -> str | None:
    """Why a date is refused, or None: every date pipe reads or is given lies in EARLIEST..LATEST, so
    that adding a sales cycle, a deferral or a year to it never leaves the calendar."""
    if EARLIEST <= day <= LATEST:
        return None
    return f"{day.isoformat()} is outside the dates pipe works with ({RANGE})"


def parse_date(text: str, today: date, *, past: bool = False) -> date:
    """Read a date as a user typed it, relative to `today`; a date outside EARLIEST..LATEST (typed, or
    reached by an offset like +99999y) is a UsageError.

    `past` says what the date is of: something that happened (`log --date mon` is last Monday) or
    something planned (`--due fri`, the default, is the next Friday). It decides weekday names and
    a month and day without a year (the nearest such day before or after today).
    """
    raw = " ".join(text.strip().lower().replace(",", " ").split())
    try:
        day = _read(raw, today, past)
    except (OverflowError, ValueError):  # an offset past the calendar's end (year 9999)
        raise UsageError(f"'{text}' goes beyond the dates pipe works with ({RANGE})", f"give a date from {RANGE}") from None
    if day is None:
        raise UsageError(f"'{text}' is not a date", f"write a date as {DATE_FORMS}")
    problem = out_of_range(day)
    if problem:
        raise UsageError(problem, f"give a date from {RANGE}")
    return day


def _read(raw: str, today: date, past: bool) -> date | None:
    simple = {"today": 0, "now": 0, "tomorrow": 1, "tmr": 1, "yesterday": -1}
    if raw in simple:
        return today + timedelta(days=simple[raw])
    if raw in _CN_WORDS:
        return today + timedelta(days=_CN_WORDS[raw])
    for pattern, sign in ((_OFFSET, None), (_IN, 1), (_AGO, -1)):
        match = pattern.match(raw)
        if match:
            if sign is None:
                sign, amount, unit = -1 if match.group(1) == "-" else 1, int(match.group(2)), match.group(3)
            else:
                amount, unit = int(match.group(1)), match.group(2)
            moved = _offset(today, sign * amount, unit)
            if moved is not None:
                return moved
    match = _ISO_LIKE.match(raw)
    if match:
        return _real(int(match.group(1)), int(match.group(2)), int(match.group(3)), raw)
    match = _NUMERIC.match(raw)
    if match:
        return _numeric(raw, match, today, past)
    match = _CN_DATE.match(raw)
    if match:
        month, dom = int(match.group(2)), int(match.group(3))
        if match.group(1):
            return _real(int(match.group(1)), month, dom, raw)
        return _nearest(month, dom, today, past, raw)
    cn = _chinese_relative(raw, today, past)
    if cn is not None:
        return cn
    return _english(raw, today, past)


def _offset(today: date, amount: int, unit: str) -> date | None:
    kind = _UNITS.get(unit)
    if kind == "d":
        return today + timedelta(days=amount)
    if kind == "w":
        return today + timedelta(weeks=amount)
    if kind == "m":
        return add_months(today, amount)
    if kind == "y":
        return add_months(today, 12 * amount)
    return None


def _real(year: int, month: int, dom: int, raw: str) -> date:
    try:
        return date(year, month, dom)
    except ValueError:
        raise UsageError(f"'{raw}' is not a real date", "check the day and the month (2026-02-30 does not exist)") from None


def _nearest(month: int, dom: int, today: date, past: bool, raw: str) -> date:
    """A month and day without a year: the nearest such day on or after today (planned) or on or before it (past)."""
    for year in ((today.year, today.year - 1) if past else (today.year, today.year + 1)):
        try:
            day = date(year, month, dom)
        except ValueError:
            if month == 2 and dom == 29:
                continue  # the 29th of February is in some years only
            raise UsageError(f"'{raw}' is not a real date", "check the day and the month") from None
        if (day <= today) if past else (day >= today):
            return day
    nxt = today.year + (-4 if past else 4)  # 29 February: the nearest leap year
    while True:
        try:
            return date(nxt, month, dom)
        except ValueError:
            nxt += -1 if past else 1


def _numeric(raw: str, match: re.Match[str], today: date, past: bool) -> date:
    """12/10/2026: day and month in an order the numbers alone may not tell; refused when both readings exist."""
    a, b = int(match.group(1)), int(match.group(2))
    year_text = match.group(3)
    year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
    readings = []  # (month, day)
    if 1 <= b <= 12 and 1 <= a <= 31:
        readings.append((b, a))  # day first, as most of the world writes it
    if 1 <= a <= 12 and 1 <= b <= 31 and a != b:
        readings.append((a, b))  # month first, as the United States writes it
    if not readings:
        raise UsageError(f"'{raw}' is not a date", f"write a date as {DATE_FORMS}")
    if len(readings) > 1:
        shown = [f"{d} {MONTH_NAMES[m - 1].capitalize()}" for m, d in readings]
        iso = [f"{year if year else 'YYYY'}-{m:02d}-{d:02d}" for m, d in readings]
        raise UsageError(f"'{raw}' could be {shown[0]} or {shown[1]}{f' {year}' if year else ''}",
                         f"write it as {iso[0]} or {iso[1]}")
    month, dom = readings[0]
    if year is None:
        return _nearest(month, dom, today, past, raw)
    return _real(year, month, dom, raw)


def _weekday(word: str) -> int | None:
    for index, full in enumerate(DAY_NAMES):
        if len(word) >= 3 and full.startswith(word):
            return index
    return None


def _month(word: str) -> int | None:
    if len(word) < 3:
        return None
    word = "sep" if word == "sept" else word
    for index, full in enumerate(MONTH_NAMES):
        if full.startswith(word):
            return index + 1
    return None


def _around(today: date, weekday: int, past: bool) -> date:
    """The weekday nearest today in the direction asked, never today itself."""
    if past:
        return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _week_of(today: date, weeks: int, weekday: int = 0) -> date:
    """The given weekday of this week (0), next week (1) or last week (-1); weeks start on Monday."""
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks, days=weekday)


def _end_of_month(day: date) -> date:
    return add_months(day.replace(day=1), 1) - timedelta(days=1)


def _chinese_relative(raw: str, today: date, past: bool) -> date | None:
    match = _CN_WEEKDAY.match(raw)
    if match:
        weekday = _CN_DAYS[match.group(2)]
        which = match.group(1)
        if which is None:
            return _around(today, weekday, past)
        return _week_of(today, {"上": -1, "下": 1}.get(which, 0), weekday)
    words = {"下周": _week_of(today, 1), "上周": _week_of(today, -1), "本周": _week_of(today, 0),
             "下个月": add_months(today.replace(day=1), 1), "下月": add_months(today.replace(day=1), 1),
             "上个月": add_months(today.replace(day=1), -1), "上月": add_months(today.replace(day=1), -1),
             "月底": _end_of_month(today), "本月底": _end_of_month(today), "下个月底": _end_of_month(add_months(today, 1))}
    return words.get(raw)


def _english(raw: str, today: date, past: bool) -> date | None:
    words = raw.replace(".", " ").split()
    phrase = " ".join(words)
    fixed = {
        "next week": _week_of(today, 1), "last week": _week_of(today, -1), "this week": _week_of(today, 0),
        "next month": add_months(today.replace(day=1), 1), "last month": add_months(today.replace(day=1), -1),
        "this month": today.replace(day=1),
        "end of month": _end_of_month(today), "eom": _end_of_month(today), "end of the month": _end_of_month(today),
        "end of next month": _end_of_month(add_months(today, 1)),
        "end of week": _week_of(today, 0, 4), "eow": _week_of(today, 0, 4), "end of the week": _week_of(today, 0, 4),
        "next year": date(today.year + 1, 1, 1), "end of year": date(today.year, 12, 31),
    }
    if phrase in fixed:
        return fixed[phrase]
    if len(words) == 1 and (weekday := _weekday(words[0])) is not None:
        return _around(today, weekday, past)
    if len(words) == 2 and words[0] in ("next", "last", "this") and (weekday := _weekday(words[1])) is not None:
        return _week_of(today, {"next": 1, "last": -1, "this": 0}[words[0]], weekday)
    return _month_and_day(words, today, past, raw)


def _month_and_day(words: list[str], today: date, past: bool, raw: str) -> date | None:
    """oct 12, 12 oct, october 12th, 12 October 2026, oct 12 2026."""
    words = [re.sub(r"^(\d+)(st|nd|rd|th)$", r"\1", w) for w in words]
    if len(words) not in (2, 3):
        return None
    month = _month(words[0])
    if month is not None and words[1].isdigit():
        dom = int(words[1])
    else:
        month = _month(words[1]) if len(words) > 1 else None
        if month is None or not words[0].isdigit():
            return None
        dom = int(words[0])
    if len(words) == 3:
        if not (words[2].isdigit() and len(words[2]) == 4):
            return None
        return _real(int(words[2]), month, dom, raw)
    return _nearest(month, dom, today, past, raw)


def months_between(start: date, end: date) -> float:
    """Whole and fractional months from start to end, as a person counts them."""
    return (end.year - start.year) * 12 + (end.month - start.month) + (end.day - start.day) / 31
