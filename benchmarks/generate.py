"""Generate a realistic pipeline of N contacts: every class and the reserve, activities and histories.

    python benchmarks/generate.py DIR --count 10000 [--seed 1] [--today 2026-11-27] [--owners 5]

With more owners than the eight short names (--owners 30: a sales team), the owners are full
names ("Anna Berg", "Ben Hansen", ...), and .pipe/local.yaml makes the first of them this
clone's owner, as on a team member's laptop.

Every generated file passes `pipe check` on or after --today: histories lead to the stage,
dates are real and not in the future, evidence matches the class (an A has its verbal yes, a B
its five criteria). Some contacts are soft no's on purpose (unanswered calls, long deferrals,
stalled classes) so the rules engine has something to find. The same seed gives the same files.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

FIRST = ("Anna", "Ben", "Carla", "David", "Eva", "Felix", "Grace", "Henrik", "Ines", "Jonas", "Kari", "Lars",
         "Maria", "Nils", "Olga", "Paul", "Rita", "Sven", "Tara", "Ulla", "Victor", "Wenche", "Yusuf", "Zoe")
LAST = ("Berg", "Hansen", "Johansen", "Larsen", "Nilsen", "Olsen", "Pedersen", "Dahl", "Moe", "Lie", "Strand",
        "Haugen", "Bakke", "Lund", "Holm", "Eriksen", "Fischer", "Moreau", "Rossi", "Novak", "Kowalski")
CHINESE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄婷", "周杰", "吴昊", "徐丽", "孙强")
COMPANIES = ("Nordlys AS", "Huaxin Logistics", "Fjord Foods", "Polar Tech", "Atlas Bygg", "Kvikk Transport",
             "Solberg Energi", "Vest Media", "华信物流", "东方电子", "Bergen Marine", "Trondheim Data",
             "Aurora Health", "Nordic Paper", "Granite Software", "Skog Retail", "Lotus Import", "长城软件")
TITLES = ("CEO", "CFO", "Head of purchasing", "IT manager", "Operations director", "Procurement lead", "COO")
OWNERS = ("anna", "ben", "li.na", "marit", "ola", "sara", "tom", "wei")
STEPS = ("send the proposal", "call back about the budget", "book a demo", "workshop with IT",
         "meet the CFO", "send references", "follow up on the quote", "confirm the start date")

# Share of each class, roughly the method's funnel plus closed and a reserve.
WEIGHTS = (("opportunity", 38), ("first-appointment", 13), ("c", 11), ("b", 6), ("a", 3), ("closed", 9),
           ("reserve", 20))
LADDER = ("opportunity", "first-appointment", "c", "b", "a", "closed")
RESERVE_REASONS = ("never returned calls", "call me in six months", "no budget this year",
                   "chose a competitor", "discuss with my wife next month")
SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9 .@'/()-]*$")


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, date)):
        return str(value)
    text = str(value)
    if SAFE.match(text) and not text.endswith((" ", ":")) and ": " not in text and text.lower() not in (
            "yes", "no", "on", "off", "true", "false", "null"):
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(item: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in item.items() if v is not None) + "}"


def dump(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {scalar(v)}" for k, v in value.items() if v is not None)
        elif isinstance(value, list) and key == "tags":
            lines.append(f"{key}: [{', '.join(scalar(v) for v in value)}]")
        elif isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"  - {flow(v)}" for v in value)
        elif isinstance(value, str) and "\n" in value:
            lines.append(f"{key}: |")
            lines.extend(f"  {line}" for line in value.splitlines())
        else:
            lines.append(f"{key}: {scalar(value)}")
    return "\n".join(lines) + "\n"


def slugify(name: str, pinyin: dict[str, str]) -> str:
    text = pinyin.get(name, name)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


PINYIN = {"张伟": "zhang wei", "王芳": "wang fang", "李娜": "li na", "刘洋": "liu yang", "陈静": "chen jing",
          "杨磊": "yang lei", "赵敏": "zhao min", "黄婷": "huang ting", "周杰": "zhou jie", "吴昊": "wu hao",
          "徐丽": "xu li", "孙强": "sun qiang"}


def person(rng: random.Random, used: set[tuple[str, str]]) -> tuple[str, str]:
    """A name and company not used yet: the same person twice is a problem `pipe check` reports."""
    for attempt in range(1000):
        chinese = rng.random() < 0.2
        name = rng.choice(CHINESE) if chinese else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        company = rng.choice(COMPANIES)
        if attempt > 3:
            company = f"{company} {rng.choice(('Oslo', 'Bergen', 'Shanghai', 'Hamburg', 'Lyon'))} {rng.randint(2, 9999)}"
        if (name, company) not in used:
            used.add((name, company))
            return name, company
    raise RuntimeError("no unused name left")


def contact(rng: random.Random, index: int, today: date, owners: tuple[str, ...],
            used: set[tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    stage = rng.choices([s for s, _ in WEIGHTS], [w for _, w in WEIGHTS])[0]
    name, company = person(rng, used)
    created = today - timedelta(days=rng.randint(20, 100))
    data: dict[str, Any] = {
        "id": f"{rng.getrandbits(48):012x}",
        "name": name,
        "company": company,
        "title": rng.choice(TITLES),
        "email": f"{slugify(name, PINYIN).replace('-', '.')}.{index}@{slugify(company, PINYIN) or 'firm'}.example",
        "phone": f"+47 {rng.randint(400, 999)} {rng.randint(10, 99)} {rng.randint(100, 999)}",
        "owner": rng.choice(owners),
        "source": rng.choice(("candidate", "suspect", "inbound", "referral")),
        "stage": stage,
        "value": rng.choice((6000, 12000, 18000, 24000, 36000, 48000, 90000)),
        "tags": rng.sample(("logistics", "retail", "energy", "public", "export", "vip"), rng.randint(0, 2)),
        "created": created,
    }
    activities: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = [{"date": created, "to": "opportunity", "reason": "added"}]
    top = stage if stage != "reserve" else rng.choice(("opportunity", "opportunity", "first-appointment", "c"))
    climb = LADDER[: LADDER.index(top) + 1]
    # Spread the climb over the time since creation; the last step leaves room for time in the class.
    span = (today - created).days
    moments = sorted(rng.sample(range(1, max(span - 3, len(climb) + 1)), len(climb) - 1))
    day = created
    meeting: date | None = None
    for step, offset in zip(climb[1:], moments, strict=True):
        when = created + timedelta(days=offset)
        when = max(when, day)
        if step == "first-appointment":
            activities.append({"date": when, "kind": "call", "outcome": "talked", "note": "agreed to meet"})
            meeting = when + timedelta(days=rng.randint(3, 14))
        if step == "c":
            meeting = max(day, when - timedelta(days=rng.randint(0, 2)))
            activities.append({"date": meeting, "kind": "meeting", "outcome": "held"})
        if step in ("b", "a", "closed"):
            kind = rng.choice(("call", "email", "meeting"))
            activities.append({"date": when, "kind": kind,
                               "outcome": {"call": "talked", "email": "replied", "meeting": "held"}[kind]})
        history.append({"date": when, "from": history[-1]["to"], "to": step})
        day = when
    if meeting is not None:
        data["first_meeting"] = {"date": meeting, "held": top not in ("opportunity", "first-appointment")}
    if top in ("b", "a", "closed"):
        decision = today + timedelta(days=rng.randint(7, 80))
        data["criteria"] = {"decision_maker": True, "proposal_fits": True, "budget": True,
                            "decision_date": decision, "start_date": decision + timedelta(days=rng.randint(14, 60)),
                            "next_step": rng.choice(STEPS)}
    elif top == "c":
        data["criteria"] = {"decision_maker": rng.random() < 0.6, "budget": rng.random() < 0.4}
    if top in ("a", "closed"):
        data["verbal_yes"] = history[LADDER.index("a")]["date"] if len(history) > 4 else day
    if top == "closed":
        data["closed"] = {"date": day, "value": data["value"]}
    # Soft no's for the rules engine, and ordinary recent work for everyone else.
    kind = rng.random()
    if top == "opportunity" and kind < 0.3:
        for i in range(rng.randint(1, 4)):
            when = created + timedelta(days=2 + 6 * i)
            if when <= today:
                activities.append({"date": when, "kind": "call", "outcome": rng.choice(("no-answer", "left-message"))})
    elif top != "closed" and kind < 0.12:
        asked = max(day, today - timedelta(days=rng.randint(1, 20)))
        data["deferred"] = {"until": asked + timedelta(days=rng.choice((45, 120, 200))),
                            "reason": rng.choice(("call me in the summer", "call me in six months",
                                                  "discuss it with my wife next month")), "asked": asked}
    elif top != "closed" and kind < 0.8:
        when = max(day, today - timedelta(days=rng.randint(0, 25)))
        activities.append({"date": when, "kind": rng.choice(("call", "email")),
                           "outcome": rng.choice(("talked", "replied", "talked", "no-answer"))})
    if top in ("first-appointment", "c", "b", "a") and stage != "reserve" and rng.random() < 0.85:
        data["next"] = {"action": rng.choice(STEPS), "due": today + timedelta(days=rng.randint(-6, 20))}
    if top == "c" and stage != "reserve":
        data["next"] = {"action": rng.choice(STEPS), "due": today + timedelta(days=rng.randint(-6, 20))}
    if stage == "reserve":
        when = max(day, today - timedelta(days=rng.randint(1, 30)))
        history.append({"date": when, "from": top, "to": "reserve", "reason": rng.choice(RESERVE_REASONS)})
    elif top in ("first-appointment", "c") and rng.random() < 0.15 and len(history) >= 3:
        # A fall-back: promoted once more, then demoted for lack of commitment.
        when = max(day, today - timedelta(days=rng.randint(1, 20)))
        higher = LADDER[LADDER.index(top) + 1]
        history.append({"date": when, "from": top, "to": higher})
        history.append({"date": when, "from": higher, "to": top, "reason": "no commitment to a next step"})
    activities.sort(key=lambda a: a["date"])
    if rng.random() < 0.15:
        data["notes"] = rng.choice(("Met at the trade fair.", "Referred by a happy customer.\nPrefers e-mail."))
    data["activities"] = activities or None
    data["history"] = history
    return slugify(name, PINYIN), data


def team(owners: int) -> tuple[str, ...]:
    """The owners of the pipeline: the short names, or for a bigger team as many distinct full names."""
    if owners <= len(OWNERS):
        return OWNERS[: max(1, owners)]
    return tuple(f"{FIRST[i % len(FIRST)]} {LAST[(i + i // len(FIRST)) % len(LAST)]}" for i in range(owners))


def generate(root: Path, count: int, seed: int, today: date, owners: int) -> None:
    rng = random.Random(seed)
    contacts = root / "contacts"
    contacts.mkdir(parents=True, exist_ok=True)
    config = root / "pipe.yaml"
    if not config.exists():
        config.write_text("mode: field\nsales_cycle_days: 90\ntarget_closes: 4\n", encoding="utf-8")
    chosen = team(owners)
    if owners > len(OWNERS):
        (root / ".pipe").mkdir(exist_ok=True)
        (root / ".pipe" / "local.yaml").write_text(f"owner: {chosen[0]}\n", encoding="utf-8")
    used: set[tuple[str, str]] = set()
    slugs: set[str] = set()
    for index in range(count):
        slug, data = contact(rng, index, today, chosen, used)
        if slug in slugs:
            slug = f"{slug}-{slugify(data['company'], PINYIN) or index}"
        while slug in slugs:
            slug = f"{slug}-{index}"
        slugs.add(slug)
        (contacts / f"{slug}.yaml").write_text(dump(data), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 27))
    parser.add_argument("--owners", type=int, default=5)
    args = parser.parse_args()
    generate(args.dir, args.count, args.seed, args.today, args.owners)


if __name__ == "__main__":
    main()
