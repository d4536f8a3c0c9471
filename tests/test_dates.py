from __future__ import annotations

from datetime import date

import pytest

from pipecli.dates import add_months, parse_date
from pipecli.errors import UsageError

MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-03", date(2026, 12, 3)),
    ("today", MONDAY),
    ("Today", MONDAY),
    ("tomorrow", date(2026, 12, 1)),
    ("yesterday", date(2026, 11, 29)),
    ("+3d", date(2026, 12, 3)),
    ("+2w", date(2026, 12, 14)),
    ("-1w", date(2026, 11, 23)),
    ("+6m", date(2027, 5, 30)),
    ("-2m", date(2026, 9, 30)),
    ("+1y", date(2027, 11, 30)),
    ("fri", date(2026, 12, 4)),
    ("friday", date(2026, 12, 4)),
    ("mon", date(2026, 12, 7)),  # the next Monday, not today
    ("sun", date(2026, 12, 6)),
])
def test_every_date_form(text: str, expected: date) -> None:
    assert parse_date(text, MONDAY) == expected


def test_months_clamp_to_the_last_day() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert parse_date("+1m", date(2027, 1, 31)) == date(2027, 2, 28)


@pytest.mark.parametrize("text", ["+3x", "3 apples", "fr", "", "next moon", "13/13/2026", "oct 12 26"])
def test_malformed_dates_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_date(text, MONDAY)
    assert "is not a date" in str(caught.value)
    assert "+3d" in str(caught.value)  # the hint lists the forms


@pytest.mark.parametrize("text", ["2026-02-30", "31/04/2026", "2026年2月30日", "feb 30 2026"])
def test_impossible_days_are_named_as_such(text: str) -> None:
    with pytest.raises(UsageError, match="is not a real date"):
        parse_date(text, MONDAY)
