"""Whose contacts: the owners of a folder, and which owner a name given on the command line means (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .model import Contact

NO_OWNER = "(no owner)"


def owner_names(contacts: Iterable[Contact]) -> list[str]:
    """The owners of these contacts (first spelling of each, any case), in name order; no owner left out."""
    names: dict[str, str] = {}
    for c in contacts:
        name = (c.owner or "").strip()
        if name:
            names.setdefault(name.casefold(), name)
    return [names[k] for k in sorted(names)]


def match_owner(names: Sequence[str], query: str) -> list[str]:
    """The owners `query` means: the name in any case, else its first word, else the start of the name.

    One name is a match; several are ambiguous; none is a miss (the caller lists the owners).
    """
    want = " ".join(query.split()).casefold()
    if not want:
        return []
    for test in (lambda n: n.casefold() == want,
                 lambda n: n.split()[0].casefold() == want,
                 lambda n: n.casefold().startswith(want),
                 lambda n: any(w.casefold().startswith(want) for w in n.split())):
        found = [n for n in names if test(n)]
        if found:
            return found
    return []


def owned_by(contacts: Iterable[Contact], owner: str) -> list[Contact]:
    want = owner.strip().casefold()
    return [c for c in contacts if (c.owner or "").strip().casefold() == want]


def by_owner(contacts: Iterable[Contact]) -> dict[str, list[Contact]]:
    """Contacts grouped by owner (case-insensitive, first spelling kept), in name order."""
    groups: dict[str, list[Contact]] = {}
    names: dict[str, str] = {}
    for c in contacts:
        key = (c.owner or "").strip().casefold()
        names.setdefault(key, (c.owner or "").strip() or NO_OWNER)
        groups.setdefault(key, []).append(c)
    return {names[k]: groups[k] for k in sorted(groups, key=lambda k: (k == "", k))}
