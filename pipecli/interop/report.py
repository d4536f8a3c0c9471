"""What an import says (the dry run, the bad rows, the summary, the commit message) and what an export
writes, as text and bytes (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from ..errors import InputError
from ..ladder import GateRules, classify
from ..model import PIPELINE, Contact, stage_letter
from .fields import BadRow
from .plan import Plan, Source

SHOWN = 3  # files shown in full by a dry run


def _what(source: Source) -> str:
    return source.preset.label


def _counts(plan: Plan) -> str:
    return f"{len(plan.new)} new, {len(plan.updated)} updated, {len(plan.unchanged)} unchanged"


def bad_rows(rel: str, bad: Sequence[BadRow]) -> InputError:
    lines = "\n  ".join(f"{rel}:{b.line}: {b.message}" for b in bad)
    n = len(bad)
    return InputError(f"{n} bad row{'s' if n != 1 else ''}; nothing was imported:\n  {lines}",
                      "fix them in the file, or import the other rows with --skip-bad")


def dry_run(rel: str, source: Source, plan: Plan) -> str:
    """Counts per stage and owner, the first files as they would be written, and the bad rows; nothing is written."""
    from ..yamledit import dump_new

    out = [f"Dry run: {rel} read as {_what(source)}"
           + (f", {source.encoding}" if source.encoding else "") + f": {_counts(plan)}"
           + (f", {len(source.bad)} bad" if source.bad else "") + "."]
    written = [(d.stage, d.data.get("owner")) for d in plan.new] + [(u.draft.stage, u.draft.data.get("owner"))
                                                                     for u in plan.updated]
    if written:
        by_stage = Counter(stage for stage, _ in written)
        by_owner = Counter(owner or "(no owner)" for _, owner in written)
        out.append("By stage: " + ", ".join(f"{stage_letter(s)} {n}" for s, n in sorted(by_stage.items(), key=_rank)))
        out.append("By owner: " + ", ".join(f"{o} {n}" for o, n in sorted(by_owner.items())))
    for d in plan.new[:SHOWN]:
        out.append(f"\n# new, from line {d.line}:\n{dump_new(d.data).rstrip()}")
    if len(plan.new) > SHOWN:
        out.append(f"\n# and {len(plan.new) - SHOWN} more new, not shown")
    for u in plan.updated[:SHOWN]:
        what = ", ".join(".".join(ch.path) for ch in u.changes)
        out.append(f"\n# update {u.contact.slug}, from line {u.draft.line}: {what}")
    if len(plan.updated) > SHOWN:
        out.append(f"# and {len(plan.updated) - SHOWN} more updated, not shown")
    if source.bad:
        out.append(f"\n{len(source.bad)} bad row{'s' if len(source.bad) != 1 else ''} (a real run stops, "
                   "or skips them with --skip-bad):")
        out.extend(f"  {rel}:{b.line}: {b.message}" for b in source.bad)
    out.append("\nNothing was written (dry run).")
    return "\n".join(out)


def _rank(item: tuple[str, int]) -> int:
    from ..listing import ORDER

    return ORDER.get(item[0], 99)


def commit_message(rel: str, source: Source, plan: Plan) -> str:
    return f"import {rel} ({_what(source)}): {_counts(plan)}"


def summary(rel: str, source: Source, plan: Plan, today: date, rules: GateRules) -> str:
    out = [f"Imported {rel} ({_what(source)}): {_counts(plan)}"
           + (f"; {len(source.bad)} bad row{'s' if len(source.bad) != 1 else ''} skipped" if source.bad else "") + "."]
    from ..model import contact_from_data

    above = sum(1 for d in plan.new if d.stage in PIPELINE and classify(contact_from_data("new", d.data), today, rules))
    if above:
        verb = "sits" if above == 1 else "sit"
        out.append(f"{above} of the new contacts {verb} in a class their recorded evidence does not support: "
                   "a CRM's stage is not evidence. See what each lacks with 'pipe classify'.")
    return "\n".join(out)


def exported(fmt: str, contacts: Sequence[Contact], today: date, *, to_file: bool) -> bytes:
    if fmt == "csv":
        from .pipecsv import to_csv

        # a byte-order mark in a file: Excel reads UTF-8 (Chinese names) right only with one
        return to_csv(contacts, today).encode("utf-8-sig" if to_file else "utf-8")
    if fmt == "json":
        from ..render import to_json
        from .pipecsv import record

        return (to_json([record(c, today) for c in contacts]) + "\n").encode("utf-8")
    if fmt == "vcf":
        from .vcard import write

        return write(contacts).encode("utf-8")
    from .ical import write as calendar

    return calendar(contacts, today)
