"""Build contacts and whole boards for the board, stats and classify tests: as records, or as real files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from pipecli.model import LADDER, Contact, contact_from_data

TODAY = date(2026, 11, 30)
STAGE_FOR = {"O": "opportunity", "FA": "first-appointment", "C": "c", "B": "b", "A": "a",
             "closed": "closed", "reserve": "reserve"}


def evidence(stage: str, today: date = TODAY) -> dict[str, Any]:
    """The fields that meet every gate up to `stage`, so the contact is classified exactly there."""
    data: dict[str, Any] = {}
    rank = LADDER.index(stage) if stage in LADDER else 0
    if rank >= 1:
        data["first_meeting"] = {"date": today - timedelta(days=40), "held": rank >= 2}
    if rank >= 2:
        data["next"] = {"action": "send the proposal", "due": today + timedelta(days=7)}
    if rank >= 3:
        data["criteria"] = {"decision_maker": True, "proposal_fits": True, "budget": True,
                            "decision_date": today + timedelta(days=20), "start_date": today + timedelta(days=50),
                            "next_step": "workshop with IT"}
    if rank >= 4:
        data["verbal_yes"] = today - timedelta(days=3)
    if rank >= 5:
        data["closed"] = {"date": today - timedelta(days=10), "value": 1000}
    return data


def climb(stage: str, start: date, step_days: int = 5) -> list[dict[str, Any]]:
    """A history that walks up the ladder one class at a time from `start` to `stage`."""
    if stage == "reserve":
        return [{"date": start, "to": "opportunity", "reason": "added"},
                {"date": start + timedelta(days=step_days), "from": "opportunity", "to": "reserve", "reason": "no"}]
    out: list[dict[str, Any]] = [{"date": start, "to": "opportunity", "reason": "added"}]
    for i, sid in enumerate(LADDER[1 : LADDER.index(stage) + 1], start=1):
        out.append({"date": start + timedelta(days=i * step_days), "from": LADDER[i - 1], "to": sid})
    return out


def data_for(slug: str, stage: str, *, owner: str = "tester", history: list[dict[str, Any]] | None = None,
             start: date | None = None, **extra: Any) -> dict[str, Any]:
    """A whole contact file's data: evidence that fits the class, and a history leading to it."""
    sid = STAGE_FOR.get(stage, stage)
    start = start or TODAY - timedelta(days=60)
    data: dict[str, Any] = {"id": f"id-{slug}", "name": slug.replace("-", " ").title(), "owner": owner,
                            "stage": sid, "created": start}
    data.update(evidence(sid))
    data["history"] = history if history is not None else climb(sid, start)
    data.update(extra)
    return data


def contact(slug: str, stage: str, **kwargs: Any) -> Contact:
    return contact_from_data(slug, data_for(slug, stage, **kwargs))


def shaped(counts: Mapping[str, int], **kwargs: Any) -> list[Contact]:
    """A board of this shape: {"O": 60, "FA": 20, ...}, as contact records."""
    return [contact(f"{stage.lower()}-{i}", stage, **kwargs) for stage, n in counts.items() for i in range(n)]


def write(root: Path, slug: str, data: Mapping[str, Any]) -> Path:
    path = root / "contacts" / f"{slug}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_shape(root: Path, counts: Mapping[str, int], **kwargs: Any) -> None:
    """Real contact files for a board of this shape."""
    for stage, n in counts.items():
        for i in range(n):
            slug = f"{stage.lower()}-{i}"
            write(root, slug, data_for(slug, stage, **kwargs))


def write_all(root: Path, items: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    for slug, data in items:
        write(root, slug, data)


# O 09-01, FA 09-10, C 10-01, B 10-20, back to C 11-10, reserve 11-25: a board on another day rebuilds each.
UP_AND_DOWN: list[dict[str, Any]] = [
    {"date": date(2026, 9, 1), "to": "opportunity", "reason": "added"},
    {"date": date(2026, 9, 10), "from": "opportunity", "to": "first-appointment"},
    {"date": date(2026, 10, 1), "from": "first-appointment", "to": "c"},
    {"date": date(2026, 10, 20), "from": "c", "to": "b"},
    {"date": date(2026, 11, 10), "from": "b", "to": "c", "reason": "no decision-maker after all"},
    {"date": date(2026, 11, 25), "from": "c", "to": "reserve", "reason": "call me in six months"},
]
