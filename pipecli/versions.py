"""What git's history means for contacts: one contact's timeline, and what a sync brought in (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from .model import Contact, stage_letter

if TYPE_CHECKING:
    from .gitio import Commit, SyncResult

# a contact file on both sides of a sync: (before, after), None where there was no file
Sides = Mapping[str, tuple[Contact | None, Contact | None]]

TIMELINE_COLUMNS = ("date", "kind", "change", "author", "commit")
CHANGES_COLUMNS = ("date", "commit", "author", "change")


def timeline(contact: Contact, commits: Sequence[Commit]) -> list[dict[str, Any]]:
    """The file's stage history merged with the commits that touched the file, newest first.

    On the same day a commit is listed above the stage changes: it is what recorded them. Every row
    has the same keys (the JSON contract): date, kind (stage or commit), change, author, commit,
    from, to, reason, forced, imported.
    """
    made = [{"date": date.fromisoformat(c.date), "kind": "commit", "change": c.subject, "author": c.author,
             "commit": c.short, "from": None, "to": None, "reason": None, "forced": False, "imported": False}
            for c in commits]
    moves = []
    for change in reversed(contact.history):
        text = (f"{stage_letter(change.from_)} -> " if change.from_ else "-> ") + stage_letter(change.to)
        text += f": {change.reason}" if change.reason else ""
        text += " (forced)" if change.forced else ""
        text += " (imported)" if change.imported else ""
        text += f" [rule {change.rule}]" if change.rule else ""
        moves.append({"date": change.date, "kind": "stage", "change": text, "author": None, "commit": None,
                      "from": change.from_, "to": change.to, "reason": change.reason, "forced": change.forced,
                      "imported": change.imported})
    return sorted(made + moves, key=lambda row: row["date"], reverse=True)  # stable: commits first on a tie


def change_rows(commits: Sequence[Commit], since: date | None, author: str | None) -> list[dict[str, Any]]:
    """Pipe's commits as rows, kept when authored on or after `since` by someone matching `author`."""
    who = author.casefold() if author else None
    return [{"date": c.date, "commit": c.short, "author": c.author, "email": c.email, "command": c.command,
             "change": c.subject, "sha": c.sha}
            for c in commits
            if (since is None or date.fromisoformat(c.date) >= since)
            and (who is None or who in f"{c.author} <{c.email}>".casefold())]


def arrival(path: str, before: Contact | None, after: Contact | None) -> str:
    """One line on what happened to a contact file elsewhere: added, moved (with the stages), changed, removed."""
    if after is None:
        return f"removed  {before.label} ({path})" if before is not None else f"changed  {path}"
    if before is None:
        return f"added    {after.label} at {stage_letter(after.stage)}"
    what = _what_changed(before, after)
    if before.stage != after.stage:
        return f"moved    {after.label}: {stage_letter(before.stage)} -> {stage_letter(after.stage)}" + (
            f"; {what}" if what else "")
    return f"changed  {after.label}" + (f": {what}" if what else "")


def _what_changed(before: Contact, after: Contact) -> str:
    """The activities logged and the keys changed, in a few words ('1 activity logged; email, next')."""
    parts = []
    new = len(after.activities) - len(before.activities)
    if new > 0:
        parts.append(f"{_plural(new, 'activity').replace('activitys', 'activities')} logged")
    keys = [name for name in Contact._fields
            if name not in ("slug", "stage", "activities", "history", "problems")
            and getattr(before, name) != getattr(after, name)]
    if keys:
        parts.append(", ".join(keys))
    return "; ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def arrived_lines(result: SyncResult, sides: Sides, unread: Mapping[str, tuple[bool, bool]] | None = None) -> list[str]:
    """What came from the others: a header, then one line per contact file, also one that does not read
    as a contact on a side (`unread`: whether before and after do not read; `sides` holds None there)."""
    if not result.arrived:
        return []
    authors = ", ".join(sorted({c.author for c in result.arrived}))
    lines = [f"Arrived from {result.upstream}: {_plural(len(result.arrived), 'commit')} by {authors}"]
    for path, _, _ in result.files:
        before, after = sides.get(path, (None, None))
        was_bad, is_bad = (unread or {}).get(path, (False, False))
        if was_bad and is_bad:
            line = f"changed  {path}: changed by hand, does not read as a contact (before or now)"
        elif was_bad:
            line = (f"changed  {after.label}: changed by hand, did not read before" if after is not None
                    else f"removed  {path} (it did not read as a contact)")
        elif is_bad:
            line = (f"changed  {before.label} ({path}): changed by hand, does not read now" if before is not None
                    else f"added    {path}: does not read as a contact")
        else:
            line = arrival(path, before, after)
        lines.append("  " + line)
    return lines


def sent_line(result: SyncResult) -> str:
    if result.published:
        return f"Published this pipeline to {result.upstream} ({_plural(result.pushed, 'commit')})."
    if result.pushed:
        return f"Sent {_plural(result.pushed, 'commit')} to {result.upstream}."
    return f"Up to date with {result.upstream}." if not result.arrived else "Nothing to send."


def conflict_message(result: SyncResult, sides: Sides) -> str:
    """Which files changed on both sides, named by their contact, and why nothing is lost."""
    listed = []
    for path in result.conflicts:
        after = sides.get(path, (None, None))[1]
        listed.append(f"  {path}  {after.label}" if after else f"  {path}")
    return (f"sync stopped: {_plural(len(result.conflicts), 'file')} changed both here and on {result.upstream}:\n"
            + "\n".join(listed) + "\nNothing is lost: each file holds both versions, what arrived between <<<<<<< "
            "and =======, yours between ======= and >>>>>>>.")


def choice_message(chosen: Sequence[Any], upstream: str) -> str:
    """Contacts whose same keys changed to two values here and on the remote: each key with both values."""
    lines = []
    for choice in chosen:
        lines.append(f"  {choice.label} ({choice.path}):")
        lines += [f"    {key}: yours {mine!r}, the team's {team!r}" for key, mine, team in choice.keys]
    return (f"sync stopped: {_plural(len(chosen), 'contact')} changed both here and on {upstream} in ways that "
            "cannot both hold:\n" + "\n".join(lines)
            + "\nEverything else is merged; both versions stay in git until you pick one.")
