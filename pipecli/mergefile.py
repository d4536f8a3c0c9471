"""Git's merge driver for contact files, and settling what it could not: the files around merge.py's pure merge.

Git runs `pipe merge-file %O %A %B %P` for each contact file changed on both sides of a merge or
rebase: the common ancestor, git's "ours" (the result goes there), git's "theirs", the file's path.
During a rebase (how `pipe sync` pulls) git's "ours" is the team's side and "theirs" is yours.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .config import CONFIG_FILE, Config
from .ladder import GateRules
from .merge import MISSING, Conflict, Result, TwoPeople, Unmergeable, merge
from .model import CONTACTS_DIR, stage_id, stage_letter


def _root_of(file: Path) -> Path | None:
    """The pipeline folder holding a contact file (contacts/NAME.yaml below its pipe.yaml), if any."""
    root = file.parent.parent
    return root if file.parent.name == CONTACTS_DIR and (root / CONFIG_FILE).is_file() else None


def _rules(root: Path | None) -> GateRules:
    config = Config()
    if root is not None:
        from .errors import PipeError
        from .store import load_config

        with contextlib.suppress(PipeError):
            config = load_config(root)
    return GateRules(mode=config["mode"], sales_cycle_days=config["sales_cycle_days"])


def _text(data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unmergeable("a side is not UTF-8 text") from None


def merge_bytes(base: bytes | None, ours: bytes | None, theirs: bytes | None, rel: str, root: Path | None,
                today: date, prefer: str | None = None) -> Result | TwoPeople:
    return merge(_text(base), _text(ours), _text(theirs), slug=Path(rel).stem, today=today, rules=_rules(root),
                 prefer=prefer)


def driver(base: str, ours: str, theirs: str, rel: str, today: date) -> int:
    """What git's merge driver does: 0 when the file is merged, 1 when it is left conflicted."""
    from . import gitio

    file = Path.cwd() / rel
    root = _root_of(file)
    paths = Path(base), Path(ours), Path(theirs)
    try:
        result = merge_bytes(paths[0].read_bytes(), paths[1].read_bytes(), paths[2].read_bytes(), rel, root, today)
    except Unmergeable as exc:
        print(f"pipe: {rel}: {exc}; git merges it line by line", file=sys.stderr)
        repo = gitio.locate(Path.cwd())
        labels = ("arrived", "base", "yours") if repo and gitio.rebasing(repo) else ("yours", "base", "theirs")
        return 1 if gitio.git_merge_file(ours, base, theirs, labels) != 0 else 0
    if isinstance(result, TwoPeople):
        return _keep_both(paths[2].read_bytes(), rel, root, result)
    paths[1].write_bytes(result.text.encode("utf-8"))
    for conflict in result.conflicts:
        print(f"pipe: {rel}: '{conflict.key}' changed on both sides: {shown(conflict.ours)} and "
              f"{shown(conflict.theirs)}", file=sys.stderr)
    return 1 if result.conflicts else 0


def _keep_both(theirs: bytes, rel: str, root: Path | None, people: TwoPeople) -> int:
    """Two different persons under one file name: git's "theirs" (yours, in a rebase) goes to a new file."""
    from . import gitio
    from .store import Store, candidate_slugs, contact_of, write_atomic

    repo = gitio.locate(Path.cwd())
    if root is None or repo is None:
        print(f"pipe: {rel}: two different persons (ids {people.ours_id} and {people.theirs_id}) under one file "
              "name, outside a pipeline: git merges it line by line", file=sys.stderr)
        return 1
    store = Store(root)
    rel_in_root = store.rel(Path.cwd() / rel)
    target = gitio.renamed(repo).get((rel_in_root, people.theirs_id))
    if target is None:
        try:
            person = contact_of(theirs, rel_in_root)
            name, company = person.name, person.company
        except Exception:  # noqa: BLE001 - any unreadable person still gets a free name
            name, company = Path(rel).stem, None
        taken = set(gitio.renamed(repo).values())
        slug = next(s for s in candidate_slugs(name, company)
                    if not store.path_of(s).exists() and store.rel(store.path_of(s)) not in taken)
        target = store.rel(store.path_of(slug))
        gitio.note_renamed(repo, rel_in_root, people.theirs_id, target)
    write_atomic(root / target, theirs)
    print(f"pipe: {rel_in_root} holds two different persons on the two sides (ids {people.ours_id} and "
          f"{people.theirs_id}): one is kept there, the other goes to {target}", file=sys.stderr)
    return 0


def shown(value: Any) -> str:
    if value is MISSING:
        return "(removed)"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        from .yamledit import flow_text

        return flow_text(value)
    return str(value)


# --- a stopped sync: what cannot both hold, and settling it ----------------------------------------


@dataclass(frozen=True)
class Choice:
    """A contact file a stopped sync left for the user to choose: each key as yours and as the team's."""

    path: str
    label: str
    keys: tuple[tuple[str, str, str], ...]  # (key, yours, the team's), as shown to the user


def choices(repo: Any, root: Path, rels: list[str], today: date) -> tuple[list[Choice], list[str]]:
    """The unmerged files split in two: contacts to choose a side for (pipe resolve) and files git merged by lines."""
    from . import gitio
    from .store import Unreadable, contact_of

    rebase = gitio.rebasing(repo)
    chosen: list[Choice] = []
    by_lines: list[str] = []
    for rel in rels:
        if not rel.startswith(f"{CONTACTS_DIR}/"):  # pipe.yaml and other files: git's merge, as always
            by_lines.append(rel)
            continue
        sides = gitio.stages(repo, rel)
        try:
            result = merge_bytes(*sides, rel, root, today)
        except Unmergeable:
            by_lines.append(rel)
            continue
        if isinstance(result, TwoPeople) or not result.conflicts:
            by_lines.append(rel)
            continue
        label = Path(rel).stem
        with contextlib.suppress(Unreadable):
            label = contact_of(result.text.encode("utf-8"), rel).label
        keys = []
        for conflict in result.conflicts:
            mine, team = (conflict.theirs, conflict.ours) if rebase else (conflict.ours, conflict.theirs)
            keys.append((conflict.key, _value(conflict, mine), _value(conflict, team)))
        chosen.append(Choice(rel, label, tuple(keys)))
    return chosen, by_lines


def _value(conflict: Conflict, value: Any) -> str:
    if conflict.path == ("stage",) and stage_id(str(value)):
        return stage_letter(stage_id(str(value)) or "")
    return shown(value)


def settle(repo: Any, root: Path, query: str, mine: bool, today: date) -> str:
    """Write one unmerged contact file merged, each conflicting key taking your side or the team's; git add it."""
    from . import gitio
    from .errors import ContactNotFound, UsageError
    from .store import write_atomic

    if repo.busy() is None:
        raise UsageError("nothing to resolve: no sync is stopped here", "run pipe sync")
    rels = [r for r in gitio.unmerged(repo) if r.startswith(f"{CONTACTS_DIR}/")]
    wanted = query.strip().casefold()
    found = [r for r in rels if Path(r).stem == wanted or r == query]
    if not found:
        listed, _ = choices(repo, root, rels, today)
        found = [c.path for c in listed if wanted in c.label.casefold()]
    if len(found) != 1:
        names = ", ".join(Path(r).stem for r in rels) or "none"
        raise ContactNotFound(f"no contact '{query}' waits to be resolved (waiting: {names})",
                              "name it as the stopped sync did: pipe resolve SLUG --mine or --theirs")
    rel = found[0]
    rebase = gitio.rebasing(repo)
    prefer = ("theirs" if rebase else "ours") if mine else ("ours" if rebase else "theirs")
    try:
        result = merge_bytes(*gitio.stages(repo, rel), rel, root, today, prefer=prefer)
    except Unmergeable as exc:
        raise UsageError(f"{rel} cannot be merged by its meaning ({exc})",
                         f"edit it by hand, then: git add -- {rel} and pipe sync --continue") from None
    if isinstance(result, TwoPeople):
        raise UsageError(f"{rel} holds two different persons", "see git status")
    text = result.text
    for conflict in result.conflicts:
        if conflict.path != ("stage",):  # both stage moves stay in the history; a value needs a note
            text = _note_set_aside(repo, rel, text, conflict, prefer, today)
    write_atomic(root / rel, text.encode("utf-8"))
    repo.run("add", "--", rel)
    return rel


def _note_set_aside(repo: Any, rel: str, text: str, conflict: Conflict, prefer: str, today: date) -> str:
    """A comment line above the key saying which value was set aside, whose it was and since when, and what
    was kept: so the value not picked stays in the contact file (and in the commit that settles it)."""
    kept_side, aside_side = ("theirs", "ours") if prefer == "theirs" else ("ours", "theirs")

    def side(name: str) -> str:
        value = conflict.theirs if name == "theirs" else conflict.ours
        return f"{shown(value)!r} ({_set_by(repo, rel, name)})"

    line = (f"# {today.isoformat()} pipe resolve: {conflict.key} {side(aside_side)} set aside for "
            f"{side(kept_side)}\n")
    top = conflict.path[0]
    at = 0
    for part in text.splitlines(keepends=True):
        if part.startswith((f"{top}:", f"'{top}':", f'"{top}":')):
            return text[:at] + line + text[at:]
        at += len(part)
    return text + ("" if text.endswith("\n") or not text else "\n") + line


def _set_by(repo: Any, rel: str, side: str) -> str:
    """Who last changed the file on git's side `side` ("ours": HEAD; "theirs": the commit being replayed or
    merged), and on which day."""
    revs = ("HEAD",) if side == "ours" else ("REBASE_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD")
    for rev in revs:
        done = repo.run("log", "-1", "--format=%an, %as", rev, "--", rel)
        if done.returncode == 0 and done.stdout.strip():
            return str(done.stdout.strip())
    return "author unknown"
