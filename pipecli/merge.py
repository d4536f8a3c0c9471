"""The three-way merge of one contact file by its meaning, for git's merge driver (pure: text in, text out).

Git's line merge is the wrong tool for a contact file: two people who each log a call append to
the same lines. This merge reads the common ancestor and both sides, decides key by key what the
merged contact holds, and writes it by splicing into one side's text (yamledit), so every byte
outside the keys that take the other side's change stays as that side wrote it:

- a top-level key whose text changed on one side only takes that side's text (value, comments,
  formatting and all); keys pipe does not know are merged like the others;
- `activities`, `history` and `past_actions`: the union of both sides, in date order, each entry once;
- mappings (criteria, next, deferred, ...): merged key by key, the same way;
- other lists (tags): what both kept, plus what either added;
- the same key changed on both sides to the same value: that value; to different values: a
  `Conflict` (the merge keeps one side's value in the text and says so; `prefer` picks a side);
- `stage` moved on both sides to different stages: the stage the merged evidence supports when
  exactly one of the two is supported (a history entry says why), else a Conflict;
- comment lines one side added inside a key both changed are carried into the merged text.

Anything this cannot read as a contact mapping raises `Unmergeable`: the driver then leaves the
file to git's own line merge, unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .ladder import GateRules, supported_stage
from .model import CLOSED, LADDER, RESERVE, A, contact_from_data, stage_id, stage_letter
from .yamledit import EditError, _content_end, _line_end, apply_changes, delete_key, flow_text, insert_items
from .yamlread import ContactLoader

UNIONS = ("activities", "history", "past_actions")  # lists whose entries are only ever added: merged as a union
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "(absent)"})()
CONFLICT_MARK = ("<<<<<<<", ">>>>>>>")


class Unmergeable(Exception):
    """The files cannot be merged by meaning (one does not parse, is no mapping, ...): git's merge does it."""


@dataclass(frozen=True)
class Conflict:
    """One key changed on both sides to different values (MISSING where a side removed it)."""

    path: tuple[str, ...]
    ours: Any
    theirs: Any

    @property
    def key(self) -> str:
        return ".".join(self.path)


@dataclass
class Result:
    text: str  # the merged file (on a conflict: ours' value, or the preferred side's, at that key)
    conflicts: list[Conflict] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TwoPeople:
    """Both sides hold a file of this name for different persons (different ids): both must be kept."""

    ours_id: str
    theirs_id: str


# --- reading -----------------------------------------------------------------------------------


@dataclass
class _Side:
    text: str
    data: dict[str, Any]
    order: list[str]
    blocks: dict[str, str]  # each top-level key's text: its comment lines above it, its lines
    tail: str  # what follows the last key (comments, blank lines)
    items: dict[str, list[str]]  # for each union list in block style: each item's line after the dash


def _read(text: str, what: str) -> _Side:
    if any(line.startswith(CONFLICT_MARK) or line.rstrip("\r") == "=======" for line in text.splitlines()):
        raise Unmergeable(f"{what} holds git conflict markers")
    try:
        node = yaml.compose(text, Loader=ContactLoader)  # noqa: S506 - composing builds no objects
        data = yaml.load(text, Loader=ContactLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise Unmergeable(f"{what} does not parse as YAML: {getattr(exc, 'problem', None) or exc}") from None
    if node is None:
        return _Side(text, {}, [], {}, text, {})
    if not isinstance(node, MappingNode) or node.flow_style or not isinstance(data, dict):
        raise Unmergeable(f"{what} does not hold a mapping of keys")
    order: list[str] = []
    blocks: dict[str, str] = {}
    items: dict[str, list[str]] = {}
    start = 0
    for key_node, value_node in node.value:
        key = key_node.value
        if not isinstance(key_node, ScalarNode) or key not in data:
            raise Unmergeable(f"{what} has a key that is not plain text")
        if key in blocks:
            raise Unmergeable(f"{what} has the key '{key}' twice")
        end = _line_end(text, max(_content_end(value_node, text), key_node.end_mark.index + 1))
        if key_node.start_mark.column != 0 or text.rfind("\n", 0, key_node.start_mark.index) + 1 < start:
            raise Unmergeable(f"{what} is not one key per line")
        order.append(key)
        blocks[key] = text[start:end]
        if key in UNIONS and isinstance(value_node, SequenceNode) and not value_node.flow_style:
            items[key] = [_item_line(text, item) for item in value_node.value]
        start = end
    if set(order) != set(data):
        raise Unmergeable(f"{what} has keys that are not plain text")
    return _Side(text, data, order, blocks, text[start:], items)


def _item_line(text: str, item: Node) -> str:
    """One list item as written after its dash, trailing comment included, when it stands on one line."""
    line_start = text.rfind("\n", 0, item.start_mark.index) + 1
    end = _content_end(item, text)
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start : item.start_mark.index].strip() == "-" and "\n" not in text[item.start_mark.index : end]:
        return text[item.start_mark.index : line_end].rstrip()
    return ""  # written over several lines: the item is written anew on one


# --- values ------------------------------------------------------------------------------------


def canon(value: Any) -> Hashable:
    """A value as a hashable form in which equal means equal in YAML too (1 is not true, '2026-01-01' is no date)."""
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(k), canon(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("list", tuple(canon(v) for v in value))
    if isinstance(value, float) and value.is_integer():
        return ("int", int(value))
    return (type(value).__name__, value)


def _same(a: Any, b: Any) -> bool:
    return canon(a) == canon(b)


def _day(entry: Any) -> str:
    """An entry's date for ordering (text, so that a broken date sorts too)."""
    when = entry.get("date") if isinstance(entry, dict) else None
    return when.isoformat() if isinstance(when, date) else str(when or "")


def _order_key(entry: Any) -> tuple[str, str]:
    return (_day(entry), repr(canon(entry)))


def union(ours: Sequence[Any], theirs: Sequence[Any]) -> list[Any]:
    """Both lists' entries, each once (an entry one side holds twice is kept twice), in date order.

    Each side's own order is kept; where the sides differ, the earlier date goes first (same date: a
    fixed order of the entries' content), so the union is the same whichever side is "ours".
    """
    wanted = Counter(canon(e) for e in ours) | Counter(canon(e) for e in theirs)
    taken: Counter[Hashable] = Counter()
    out: list[Any] = []
    i = j = 0

    def take(entry: Any) -> None:
        key = canon(entry)
        if taken[key] < wanted[key]:
            taken[key] += 1
            out.append(entry)

    while i < len(ours) or j < len(theirs):
        if i < len(ours) and j < len(theirs) and _same(ours[i], theirs[j]):
            take(ours[i])
            i, j = i + 1, j + 1
        elif j >= len(theirs) or (i < len(ours) and _order_key(ours[i]) <= _order_key(theirs[j])):
            take(ours[i])
            i += 1
        else:
            take(theirs[j])
            j += 1
    return out


def _set_merge(base: Any, ours: list[Any], theirs: list[Any]) -> list[Any]:
    """A plain list changed on both sides: what neither removed, then what either added (a fixed order)."""
    base_list = base if isinstance(base, list) else []
    removed = {canon(v) for v in base_list if all(not _same(v, o) for o in ours) or all(not _same(v, t) for t in theirs)}
    kept = [v for v in base_list if canon(v) not in removed]
    seen = {canon(v) for v in kept}
    added = []
    for v in sorted(ours + theirs, key=lambda v: repr(canon(v))):
        if canon(v) not in seen and canon(v) not in removed:
            seen.add(canon(v))
            added.append(v)
    return kept + added


def merge_value(path: tuple[str, ...], base: Any, ours: Any, theirs: Any, conflicts: list[Conflict]) -> Any:
    """The merged value of one key (MISSING: the key goes); a true conflict is recorded and ours' value kept."""
    if _same(ours, theirs):
        return ours
    if _same(ours, base):
        return theirs
    if _same(theirs, base):
        return ours
    if len(path) == 1 and path[0] in UNIONS and isinstance(ours, list) and isinstance(theirs, list):
        return union(ours, theirs)
    if isinstance(ours, dict) and isinstance(theirs, dict):
        below = base if isinstance(base, dict) else {}
        out = {}
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            value = merge_value((*path, str(key)), below.get(key, MISSING), ours.get(key, MISSING),
                                theirs.get(key, MISSING), conflicts)
            if value is not MISSING:
                out[key] = value
        return out
    if isinstance(ours, list) and isinstance(theirs, list):
        return _set_merge(base, ours, theirs)
    if ours is MISSING:  # removed on one side, changed on the other: the change is kept
        return theirs
    if theirs is MISSING:
        return ours
    conflicts.append(Conflict(path, ours, theirs))
    return ours


# --- the stage ---------------------------------------------------------------------------------


def _supported(data: dict[str, Any], stage: str, slug: str, today: date, rules: GateRules) -> bool:
    """Whether the merged evidence supports `stage` exactly (the reserve never: it is a decision, not evidence)."""
    contact = contact_from_data(slug, {**data, "stage": stage})
    if stage == CLOSED:
        return contact.closed is not None
    if stage not in LADDER:
        return False
    reached = supported_stage(contact, today, rules)
    return (A if reached == CLOSED else reached) == stage


def merge_stage(data: dict[str, Any], ours: Any, theirs: Any, slug: str, today: date,
                rules: GateRules) -> tuple[str, str] | None:
    """Both sides moved the stage to different stages: the one the merged evidence supports, and why;
    None when the evidence supports both or neither."""
    mine, other = stage_id(str(ours)), stage_id(str(theirs))
    if mine is not None and mine == other:  # one stage, written two ways
        return mine, "merge: one stage written two ways"
    if mine is None or other is None or RESERVE in (mine, other):
        return None
    held = [s for s in (mine, other) if _supported(data, s, slug, today, rules)]
    if len(held) != 1:
        return None
    return held[0], f"merge: both sides moved it ({_both(mine, other)}); the evidence supports {stage_letter(held[0])}"


def _both(one: Any, two: Any) -> str:
    """Two stages in words, in the same order whichever side each came from."""
    return " and ".join(sorted((_letter(one), _letter(two))))


def _closing_entry(data: dict[str, Any], stage: str, reason: str, today: date) -> dict[str, Any] | None:
    """A history entry that brings a merged history (two sides' moves, by date) to the stage the merge took;
    None when it already ends there."""
    history = [h for h in data.get("history") or [] if isinstance(h, dict)]
    last = stage_id(str(history[-1].get("to"))) if history else None
    if not history or last == stage_id(stage):
        return None
    days = [h["date"] for h in history if isinstance(h.get("date"), date)]
    return {"date": max(days, default=today), "from": last or str(history[-1].get("to")), "to": stage,
            "reason": reason}


# --- the merge ---------------------------------------------------------------------------------


def merge(base: str, ours: str, theirs: str, *, slug: str, today: date, rules: GateRules,
          prefer: str | None = None) -> Result | TwoPeople:
    """Merge one contact file three ways. `prefer` ("ours" or "theirs") settles every conflict that side's way.

    Raises Unmergeable when a side cannot be read as a contact mapping.
    """
    b, o, t = _read(base, "the common version"), _read(ours, "one side"), _read(theirs, "the other side")
    ids = (o.data.get("id"), t.data.get("id"))
    if all(isinstance(i, (str, int)) and str(i).strip() for i in ids) and str(ids[0]) != str(ids[1]):
        return TwoPeople(str(ids[0]), str(ids[1]))
    conflicts: list[Conflict] = []
    keys = list(o.order)
    for at, key in enumerate(t.order):  # a key only theirs has goes after the key before it there
        if key not in keys:
            before = next((k for k in reversed(t.order[:at]) if k in keys), None)
            keys.insert(keys.index(before) + 1 if before is not None else 0, key)
    data: dict[str, Any] = {}
    blocks: list[str] = []
    both: list[str] = []  # keys changed on both sides: ours' text, edited below
    for key in keys:
        ob, tb, bb = o.blocks.get(key), t.blocks.get(key), b.blocks.get(key)
        if ob == tb or tb == bb:
            chosen = ob
        elif ob == bb:
            chosen = tb
        else:
            chosen = ob if ob is not None else tb
            if ob is not None and tb is not None:
                both.append(key)
        if chosen is None:
            continue  # removed on one side, untouched on the other
        side = o if chosen is ob else t
        data[key] = side.data[key]
        blocks.append(chosen if chosen.endswith("\n") else chosen + "\n")
    tail = o.tail if t.tail in (o.tail, b.tail) else t.tail if o.tail == b.tail else o.tail + _new_comments(
        t.tail, b.tail + o.tail)
    text = "".join(blocks) + tail
    stage_moves = None
    for key in both:
        value = merge_value((key,), b.data.get(key, MISSING), o.data[key], t.data[key], conflicts)
        if key == "stage" and conflicts and conflicts[-1].path == ("stage",):
            stage_moves = conflicts.pop()
            continue
        data[key] = value
        text = _edit(text, key, o, t, value)
    if stage_moves is not None:
        settled = merge_stage(data, stage_moves.ours, stage_moves.theirs, slug, today, rules)
        if settled is None:
            conflicts.append(stage_moves)
        else:
            data["stage"] = settled[0]
            text = apply_changes(text, [_set(("stage",), settled[0])], order=())
            text = _lead_to(text, data, b.data.get("history"), settled[0], settled[1], today)
    if prefer == "theirs":
        for conflict in conflicts:
            data = _put(data, conflict.path, conflict.theirs)
            text = (delete_key(text, conflict.path) if conflict.theirs is MISSING
                    else apply_changes(text, [_set(conflict.path, conflict.theirs)], order=()))
    if prefer is not None and any(c.path == ("stage",) for c in conflicts):
        c = next(c for c in conflicts if c.path == ("stage",))
        picked = c.theirs if prefer == "theirs" else c.ours
        text = _lead_to(text, data, b.data.get("history"), str(picked),
                        f"merge: both sides moved it ({_both(c.ours, c.theirs)}); {_letter(picked)} was picked", today)
    for key in both:
        text = _carry_comments(text, key, t.blocks[key], b.blocks.get(key, "") + o.blocks[key])
    if not text.endswith("\n"):
        text += "\n"
    check = _read(text, "the merged file")
    if canon(check.data) != canon(data):
        raise Unmergeable("the merged text does not read back as the merged contact")
    return Result(text, conflicts, data)


def _letter(stage: Any) -> str:
    sid = stage_id(str(stage))
    return stage_letter(sid) if sid else str(stage)


def _lead_to(text: str, data: dict[str, Any], base: Any, stage: str, reason: str, today: date) -> str:
    """Make the merged history one chain that leads to `stage`, as the merge took it.

    Both sides' moves are kept, in date order; where a move of one side leaves a stage other than the one
    the move before it (the other side's) led to, a connecting entry goes between them, dated as the move
    it leads into: back to where that move started. A closing entry then ends the history at `stage`. Only
    the entries new since the common version are looked at: what was there before is left as it was.
    """
    history = data.get("history")
    if not isinstance(history, list):
        return _close_history(text, data, stage, reason, today)
    old = base if isinstance(base, list) else []
    start = 0
    while start < min(len(old), len(history)) and _same(old[start], history[start]):
        start += 1
    inserts: list[tuple[int, dict[str, Any]]] = []
    for i in range(max(start, 1), len(history)):
        before, entry = history[i - 1], history[i]
        if not (isinstance(before, dict) and isinstance(entry, dict)):
            continue
        led, leaves = stage_id(str(before.get("to"))), stage_id(str(entry.get("from")))
        if led and leaves and led != leaves:
            inserts.append((i, {"date": entry.get("date", today), "from": led, "to": leaves,
                                "reason": f"{reason}: back to {stage_letter(leaves)} for the other side's move"}))
    if inserts:
        merged = list(history)
        for i, entry in reversed(inserts):
            merged.insert(i, entry)
        data["history"] = merged
        try:
            text = insert_items(text, "history", [(i, flow_text(entry)) for i, entry in inserts])
        except EditError:
            text = apply_changes(text, [_set(("history",), merged)], order=())
    return _close_history(text, data, stage, reason, today)


def _close_history(text: str, data: dict[str, Any], stage: str, reason: str, today: date) -> str:
    entry = _closing_entry(data, stage, reason, today)
    if entry is None:
        return text
    data["history"] = [*data["history"], entry]
    return _append(text, entry)


def _set(path: tuple[str, ...], value: Any) -> Any:
    from .model import SetKey

    return SetKey(path, value)


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = dict(data)
    if len(path) == 1:
        if value is MISSING:
            out.pop(path[0], None)
        else:
            out[path[0]] = value
        return out
    inner = out.get(path[0])
    out[path[0]] = _put(inner if isinstance(inner, dict) else {}, path[1:], value)
    return out


def _append(text: str, entry: dict[str, Any]) -> str:
    from .model import Append

    return apply_changes(text, [Append(("history",), entry)], order=())


def _edit(text: str, key: str, o: _Side, t: _Side, value: Any) -> str:
    """Ours' text of a key both sides changed, edited to hold the merged value."""
    ours = o.data[key]
    if _same(ours, value):
        return text
    if key in UNIONS and key in o.items and isinstance(value, list) and all(o.items[key]):
        inserts = _insertions(ours, value, t.data.get(key), t.items.get(key, []))
        if inserts is not None:
            try:
                return insert_items(text, key, inserts)
            except EditError:
                pass
    if isinstance(ours, dict) and isinstance(value, dict):
        return _edit_mapping(text, (key,), ours, value)
    return apply_changes(text, [_set((key,), value)], order=())


def _edit_mapping(text: str, path: tuple[str, ...], ours: dict[str, Any], value: dict[str, Any]) -> str:
    for key in ours:
        if key not in value:
            text = delete_key(text, (*path, str(key)))
    for key, v in value.items():
        old = ours.get(key, MISSING)
        if _same(old, v):
            continue
        if isinstance(old, dict) and isinstance(v, dict) and old:
            text = _edit_mapping(text, (*path, str(key)), old, v)
        else:
            text = apply_changes(text, [_set((*path, str(key)), v)], order=())
    return text


def _insertions(ours: list[Any], merged: list[Any], theirs: Any, their_lines: list[str]) -> list[tuple[int, str]] | None:
    """Where each entry the merge adds goes among ours' items, written as theirs wrote it; None when ours'
    entries are not in the merged order (then the list is written anew)."""
    lines: dict[Hashable, str] = {}
    if isinstance(theirs, list):
        for entry, line in zip(theirs, their_lines, strict=False):
            lines.setdefault(canon(entry), line)
    out: list[tuple[int, str]] = []
    index = 0
    for entry in merged:
        if index < len(ours) and _same(ours[index], entry):
            index += 1
            continue
        out.append((index, lines.get(canon(entry)) or flow_text(entry)))
    return out if index == len(ours) else None


def _new_comments(text: str, known: str) -> str:
    seen = {line.strip() for line in known.splitlines()}
    return "".join(line + "\n" for line in text.splitlines() if line.strip().startswith("#") and line.strip() not in seen)


def _code(line: str) -> str:
    """A line without its trailing comment (a '#' after a blank, outside quotes), stripped."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].strip()
    return line.strip()


def _carry_comments(text: str, key: str, theirs_block: str, known: str) -> str:
    """Comments theirs added inside a key both sides changed: a comment line goes before the line it stood
    before there; a comment at the end of a line goes onto the same line here, when that has none."""
    seen = {line.strip() for line in known.splitlines()}
    lines = theirs_block.splitlines()
    for at, line in enumerate(lines):
        if line.strip() in seen or "#" not in line:
            continue
        side = _read(text, "the merged file")
        block = side.blocks.get(key)
        if block is None:
            break
        start = _block_start(side, key)
        here = block.splitlines(keepends=True)
        if _code(line):  # a line with a comment at its end: put it on the same line here, if that has none
            pos = 0
            for existing in here:
                if _code(existing) == _code(line) and existing.strip() == _code(existing):
                    ending = existing[len(existing.rstrip("\r\n")):]
                    text = text[: start + pos] + line + ending + text[start + pos + len(existing):]
                    break
                pos += len(existing)
            seen.add(line.strip())
            continue
        anchor = next((_code(n) for n in lines[at + 1 :] if _code(n)), None)
        offset = len(block)
        if anchor is not None:
            pos = 0
            for existing in here:
                if _code(existing) == anchor:
                    offset = pos
                    break
                pos += len(existing)
        text = text[: start + offset] + line + "\n" + text[start + offset :]
        seen.add(line.strip())
    return text


def _block_start(side: _Side, key: str) -> int:
    start = 0
    for k in side.order:
        if k == key:
            return start
        start += len(side.blocks[k])
    return start
