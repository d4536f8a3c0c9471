"""Amounts as people type them (24,000 · 24 000 · 24k · 1.2m · €24,000 · ¥24,000), the currency kept;
sums kept apart by currency, so that euros and yuan are never added together."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from .errors import UsageError
from .model import MAX_AMOUNT

# ¥ is read as the yuan (pipe's users write Chinese); yen are written JPY. NFKC folds ￥ into ¥.
SYMBOLS: dict[str, str] = {"€": "EUR", "$": "USD", "us$": "USD", "£": "GBP", "¥": "CNY", "元": "CNY", "rmb": "CNY",
                           "₩": "KRW", "₹": "INR", "₽": "RUB", "chf": "CHF", "fr": "CHF"}
SCALES: dict[str, int] = {"k": 1_000, "m": 1_000_000, "mn": 1_000_000, "b": 1_000_000_000, "bn": 1_000_000_000,
                          "万": 10_000, "亿": 100_000_000}
AMOUNT_FORMS = "24000, 24,000, 24 000, 24k, 1.2m, €24,000, ¥24,000, 24000 EUR"

_SHAPE = re.compile(r"^(?P<pre>[^\d.\s]*)\s*(?P<num>\d[\d,' ]*(?:\.\d+)?)\s*(?P<scale>[kmb]n?|万|亿)?\s*(?P<post>[^\d\s]*)$")


class Amount(NamedTuple):
    value: float | int
    currency: str | None = None


def parse_amount(text: str) -> Amount:
    """Read an amount; a currency symbol or code typed before or after it is kept as an ISO code."""
    raw = unicodedata.normalize("NFKC", text).strip().replace("\u00a0", " ").replace("\u202f", " ")
    bad = UsageError(f"'{text}' is not an amount", f"write an amount of 0 or more as {AMOUNT_FORMS}")
    match = _SHAPE.match(raw.lower()) if raw and not raw.startswith("-") else None
    if match is None:
        raise bad
    currency = _currency(match.group("pre"), match.group("post"), text)
    scale = match.group("scale")
    number = _number(match.group("num").strip(), text, scaled=scale is not None)
    if scale is not None:
        number *= SCALES[scale]
    if number > MAX_AMOUNT:  # before isfinite: an int of 400 digits is no float
        raise UsageError(f"'{text}' is more than pipe stores exactly ({MAX_AMOUNT:,})",
                         f"write an amount from 0 to {MAX_AMOUNT:,}")
    if not math.isfinite(number) or number < 0:
        raise bad
    rounded = round(number, 2)
    return Amount(int(rounded) if float(rounded).is_integer() else rounded, currency)


def _currency(pre: str, post: str, text: str) -> str | None:
    marks = [m for m in (pre, post) if m]
    codes = {_code(m, text) for m in marks}
    if len(codes) > 1:
        raise UsageError(f"'{text}' names two currencies", "write one: €24,000 or 24000 EUR")
    return codes.pop() if codes else None


def _code(mark: str, text: str) -> str:
    if mark in SYMBOLS:
        return SYMBOLS[mark]
    if len(mark) == 3 and mark.isascii() and mark.isalpha():
        return mark.upper()
    raise UsageError(f"'{text}' is not an amount: '{mark}' is not a currency",
                     "write a currency as a symbol (€ $ £ ¥) or a three-letter code (EUR, USD, CNY, NOK)")


def _number(digits: str, text: str, *, scaled: bool) -> float | int:
    whole, _, decimals = digits.partition(".")
    groups = re.split(r"[,' ]+", whole)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise UsageError(f"'{text}' is not an amount: its digits are not grouped in thousands",
                         "write 24,000 or 24 000 or 24000; decimals after a point: 24000.50")
    if len(groups) == 1 and len(decimals) == 3 and not scaled:  # 24.000: a European 24000, or 24?
        raise UsageError(f"'{text}' is ambiguous: {whole}.{decimals} or {whole}{decimals}",
                         f"write {whole}{decimals}, or {whole} if you meant {whole}")
    whole_number = "".join(groups)
    if not decimals and len(whole_number) <= 16:  # read as a whole number, not through a float: 2**53 + 1 stays itself
        return int(whole_number)
    return float(whole_number + (f".{decimals}" if decimals else ""))  # longer: beyond MAX_AMOUNT, refused


def fmt_money(value: float, currency: str | None = None) -> str:
    """24,000 or 24,000.50, with the currency's code after it when there is one."""
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{shown} {currency}" if currency else shown


def by_currency(amounts: Iterable[tuple[float | None, str | None]]) -> dict[str | None, float]:
    """Sums per currency (None: amounts written without one): currencies in alphabetical order, None last."""
    out: dict[str | None, float] = {}
    for value, currency in amounts:
        if value is not None:
            out[currency] = out.get(currency, 0.0) + value
    return dict(sorted(out.items(), key=lambda kv: (kv[0] is None, kv[0] or "")))


def fmt_sums(sums: dict[str | None, float]) -> str:
    """One sum, or each currency's sum side by side: '24,000 EUR + 10,000 CNY' (never one added-up number)."""
    if not sums:
        return fmt_money(0)
    parts = [fmt_money(v, c) if c or len(sums) == 1 else f"{fmt_money(v)} (no currency)" for c, v in sums.items()]
    return " + ".join(parts)
