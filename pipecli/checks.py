"""What `pipe check` finds beyond parse errors: a contact at odds with itself or with the others (pure)."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from .model import Contact, Problem, stage_letter


def contact_problems(c: Contact, today: date) -> list[Problem]:
    """The file's own problems plus history and dates that cannot be true."""
    problems = list(c.problems)
    stage_known = c.problem_at("stage") is None
    if c.history:
        last = c.history[-1]
        if stage_known and last.to != c.stage:
            problems.append(Problem(("stage",), f"stage is {stage_letter(c.stage)} but the history ends at "
                                    f"{stage_letter(last.to)}: use pipe promote/demote, or fix the history"))
        reached = {c.history[0].to, c.history[0].from_}
        for i in range(1, len(c.history)):
            before, after = c.history[i - 1], c.history[i]
            # two clones' moves merged by date interleave: a move may leave a stage reached before the last one
            if after.from_ is not None and after.from_ != before.to and after.from_ not in reached:
                problems.append(Problem(("history", i, "from"),
                                        f"history entry {i + 1} leaves {stage_letter(after.from_)} but the entry "
                                        f"before it led to {stage_letter(before.to)}"))
            reached.update((after.to, after.from_))
            if after.date < before.date:
                problems.append(Problem(("history", i, "date"),
                                        f"history entry {i + 1} ({after.date}) is dated before the one above it ({before.date})"))
        for i, change in enumerate(c.history):
            if change.date > today:
                problems.append(Problem(("history", i, "date"), f"history entry {i + 1} is dated in the future ({change.date})"))
    for i, act in enumerate(c.activities):
        if act.date > today:
            problems.append(Problem(("activities", i, "date"),
                                    f"activity {i + 1} ({act.kind}) is dated in the future ({act.date}): "
                                    "plan it as the next action instead"))
    cr = c.criteria
    if cr.decision_date and cr.start_date and cr.start_date < cr.decision_date:
        problems.append(Problem(("criteria", "start_date"),
                                f"start date {cr.start_date} is before the decision date {cr.decision_date}"))
    if c.created and c.created > today:
        problems.append(Problem(("created",), f"created is in the future ({c.created})"))
    return problems


def undated(contacts: Sequence[Contact]) -> list[Contact]:
    """Contacts with no date at all (no created, no history): a board --as-of leaves them out, dated rules cannot run."""
    return [c for c in contacts if c.created is None and not c.history]


def _norm(text: str | None) -> str:
    if not text:
        return ""
    if text.isascii():  # NFKC leaves ASCII as it is: skip it, a third of pipe check's time on a large folder
        return text.casefold().strip()
    return unicodedata.normalize("NFKC", text).casefold().strip()


def cross_problems(contacts: Sequence[Contact]) -> list[tuple[Contact, Problem]]:
    """Duplicate ids, and two files that are the same person (same e-mail, or same name and company).

    Cards for different deals of one person (`deal:`, written by pipe import) share the person's
    e-mail by design: only a second card for the same deal counts as a duplicate then."""
    out: list[tuple[Contact, Problem]] = []
    groups: dict[tuple[str, str], list[Contact]] = defaultdict(list)
    for c in contacts:
        if c.id:
            groups[("id", c.id)].append(c)
        if c.email and c.email.strip() and not c.deal:
            groups[("email", _norm(c.email))].append(c)
        # two deals of one person are two cards, not the same person twice
        groups[("person", f"{_norm(c.name)}\0{_norm(c.company)}\0{_norm(c.deal)}")].append(c)
    for (kind, _), members in groups.items():
        if len(members) < 2:
            continue
        for c in members:
            others = ", ".join(o.slug for o in members if o is not c)
            if kind == "id":
                out.append((c, Problem(("id",), f"duplicate id {c.id!r}, also in {others}: give each contact its own id")))
            elif kind == "email":
                out.append((c, Problem(("email",), f"same e-mail as {others}: the same person twice? "
                                                   "merge the files and move one to the reserve")))
            else:
                out.append((c, Problem(("name",), f"same name and company as {others}: the same person twice?")))
    return out
