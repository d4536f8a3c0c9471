"""Shell completion of what pipe's arguments name: contacts, stages, kinds, outcomes, owners, rules, settings.

Completion runs on every Tab, so contacts come from the parse cache (no YAML is parsed when it is
warm) and the folder's listing; only a pipeline never loaded before is parsed, once, which writes
the cache. Values are returned as the shell should insert them: a name with spaces is quoted for
bash and PowerShell, which insert a completion as it is; zsh and fish quote it themselves.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

# What a parameter names, by its name in the commands (one table: commands stay untouched).
KIND_OF_PARAMETER: dict[str, str] = {
    "contact": "contact", "contacts": "contact", "explain": "contact",
    "stage": "stage", "to": "stage",
    "kind": "kind", "outcome": "outcome", "step": "step",
    "owner": "owner", "by": "by",
    "rule": "rule", "source": "source",
    "key": "setting", "setting": "setting",
}


FORMATS = ("table", "text", "yaml", "markdown", "csv", "html", "json")  # every --format value some command takes


class Item(NamedTuple):
    """A completion as click's shell classes read it (value, help, type), without importing click."""

    value: str
    help: str | None = None
    type: str = "plain"


def _fold(text: str) -> str:
    """Lower case without accents: what a typed prefix is compared by."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _quoted(value: str, shell: str) -> str:
    if shell in ("bash", "powershell", "pwsh") and any(ch.isspace() or ch in "'\"$`;&|()<>" for ch in value):
        return "'" + value.replace("'", "'\\''" if shell == "bash" else "''") + "'"
    return value


def _starting(words: Iterable[tuple[str, str | None]], incomplete: str) -> list[Item]:
    typed = _fold(incomplete)
    return [Item(w, h) for w, h in words if _fold(w).startswith(typed)]


def _root(directory: str | None) -> Path | None:
    from .errors import PipeError
    from .store import find_root

    try:
        return find_root(directory)
    except PipeError:
        return None


def _people(root: Path) -> list[tuple[Any, ...]]:
    """(slug, id, name, stage, company, ..., owner, ...) of every contact: from the cache, whose entries
    are checked against the folder's listing (a file gone is left out; a new one offers its slug)."""
    from . import cache
    from .model import CONTACTS_DIR, OPPORTUNITY
    from .store import SUFFIX

    _, entries = cache.read(cache.path_in(root))
    try:
        names = os.listdir(root / CONTACTS_DIR)
    except OSError:
        return []
    slugs = sorted(n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX) and not n.startswith("."))
    if not entries and slugs:  # never loaded: parse once (this writes the cache for the next Tab)
        from .model import to_plain
        from .store import Store, load_config

        loaded = Store(root, load_config(root)).load_all()
        return [to_plain(c) for c in loaded.contacts]
    out: list[tuple[Any, ...]] = []
    for slug in slugs:
        entry = entries.get(slug)
        if entry is not None and entry[1] == cache.CONTACT:
            out.append(entry[2])
        else:
            out.append((slug, "", slug, OPPORTUNITY, None, None, None, None, None))
    return out


def contacts(root: Path | None, incomplete: str, shell: str) -> list[Item]:
    """Slugs starting with what was typed, then names (any case, accents ignored) for what no slug starts with."""
    if root is None:
        return []
    from .model import STAGE_BY_ID

    people = _people(root)
    typed = _fold(incomplete.strip("'\""))
    out: list[Item] = []
    for p in people:
        if p[0].startswith(typed):
            stage = STAGE_BY_ID.get(p[3])
            label = f"{p[2]} ({p[4]})" if p[4] else p[2]
            out.append(Item(p[0], f"{label} [{stage.letter if stage else p[3]}]"))
    if typed:
        seen = {i.value for i in out}
        for p in people:
            name = p[2]
            if p[0] not in seen and name != p[0] and _fold(name).startswith(typed):
                out.append(Item(_quoted(name, shell), p[0]))
    return out


def vocabulary(ids: Iterable[str], aliases: dict[str, tuple[str, ...]], incomplete: str) -> list[Item]:
    """A vocabulary's ids, then the Chinese words the model accepts for them (as for stages), each with its id."""
    words: list[tuple[str, str | None]] = [(i, None) for i in ids]
    words += [(a, key) for key, more in aliases.items() for a in more if not a.isascii()]
    return _starting(words, incomplete)


def choices(words: Iterable[str], incomplete: str) -> list[Item]:
    return _starting(((w, None) for w in words), incomplete)


def stages(incomplete: str) -> list[Item]:
    """Ids, letters and the Chinese names of the method, each with what it is."""
    from .model import STAGES

    words: list[tuple[str, str | None]] = []
    for s in STAGES:
        words.append((s.id, s.label))
        if s.letter.casefold() != s.id:
            words.append((s.letter, s.label))
        words += [(a, s.label) for a in s.aliases if not a.isascii()]
    return _starting(words, incomplete)


def owners(root: Path | None, incomplete: str, shell: str) -> list[Item]:
    if root is None:
        return []
    found = sorted({p[8] for p in _people(root) if p[8]}, key=str.casefold)
    return [Item(_quoted(i.value, shell)) for i in _starting(((o, None) for o in found), incomplete.strip("'\""))]


def rules(root: Path | None, incomplete: str) -> list[Item]:
    """The built-in rules and the user's own (rules.custom in pipe.yaml)."""
    from .rules import BUILTIN_IDS

    words: list[tuple[str, str | None]] = [(r, "built-in") for r in BUILTIN_IDS]
    if root is not None:
        try:
            from .rules import rules_from
            from .store import load_config

            words += [(r.id, "yours") for r in rules_from(load_config(root).values) if r.id not in BUILTIN_IDS]
        except Exception:  # noqa: BLE001 - a broken pipe.yaml still completes the built-ins
            pass
    return _starting(words, incomplete)


def settings(incomplete: str) -> list[Item]:
    from .config import SETTINGS

    return _starting(((s.key, s.help) for s in SETTINGS), incomplete)


def values(kind: str, incomplete: str, directory: str | None, shell: str) -> list[Item]:
    """The completions of one kind of value for what was typed so far."""
    from . import model

    if kind == "contact":
        return contacts(_root(directory), incomplete, shell)
    if kind == "stage":
        return stages(incomplete)
    if kind == "kind":
        return vocabulary(model.ACTIVITY_KINDS, getattr(model, "KIND_ALIASES", {}), incomplete)
    if kind == "outcome":
        return vocabulary(model.OUTCOMES, getattr(model, "OUTCOME_ALIASES", {}), incomplete)
    if kind == "step":
        return vocabulary(getattr(model, "STEPS", ()), getattr(model, "STEP_ALIASES", {}), incomplete)
    if kind == "source":
        return _starting(((s, names[0] if names else None) for s, names in model.SOURCES.items()), incomplete)
    if kind == "owner":
        return owners(_root(directory), incomplete, shell)
    if kind == "by":
        return _starting([("owner", None)], incomplete)
    if kind == "rule":
        return rules(_root(directory), incomplete)
    if kind == "setting":
        return settings(incomplete)
    return []
