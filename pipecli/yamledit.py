"""Surgical edits of a YAML document's text: change only the keys that change, keep every other byte.

A composer locates each node's exact span in the text (start and end as character indexes); the
edit is then a splice of that span. Re-dumping the whole document, even with ruamel.yaml's
round-trip dumper, would re-indent sequences and re-wrap long lines the user wrote; splicing keeps
them, and the comments between them, byte for byte by construction.

The composer is libyaml's, through PyYAML: the same parser that reads the contacts, so an edit
sees the document exactly as the reader did. It gives the same spans as ruamel.yaml's round-trip
composer (a test compares them on every demo file) about ten times faster, and without importing
ruamel.yaml (6 ms): a command that edits one contact should cost little more than start-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .model import FIELD_ORDER, Append, Change, Delete, SetKey

_WIDTH = 1 << 30
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class EditError(Exception):
    """The document's shape does not allow the edit (for example a key holding a list, not a mapping)."""


_RESOLVER = yaml.resolver.Resolver()
_QUOTABLE = re.compile(r"[\w .\-/@()&+':,#]+")
_PLAIN = re.compile(r"[\w .\-/@()&+']+")  # letters, digits and these: safe in plain text after its first character
_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null"})  # plain, YAML 1.1 reads these as bool or null


def fast_text(value: Any) -> str | None:
    """The text PyYAML writes for the common values (plain words, numbers, dates, flat mappings and lists),
    without its emitter; None for anything else. A new file has about 40 values: PyYAML's emitter made
    writing 10,000 imported contacts take half a minute (a test compares the two on random values)."""
    kind = type(value)
    if kind is str:
        if not value or value[-1] == " " or _PLAIN.fullmatch(value) is None:
            if value and value[0] != " " and value[-1] != " " and (": " in value or " #" in value) \
                    and _QUOTABLE.fullmatch(value):
                return "'" + str(value).replace("'", "''") + "'"  # never plain, in a line or in braces: quoted
            return None
        if value[0].isalpha() and value.casefold() not in _WORDS:
            return value  # type: ignore[no-any-return]
        if value[0].isalnum() or value[0] == "+":  # 1000, 2026-10-01, +47 22 00: plain unless it reads as a number or date
            tag = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
            if tag == "tag:yaml.org,2002:str":
                return value  # type: ignore[no-any-return]
            return None if "'" in value else f"'{value}'"
        return None
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is date:
        return value.isoformat()  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if kind is dict:
        parts = []
        for k, v in value.items():
            key, text = fast_text(k), fast_text(v)
            if key is None or text is None or type(k) is not str:
                return None
            parts.append(f"{key}: {text}")
        return "{" + ", ".join(parts) + "}"
    if kind is list:
        items = [fast_text(v) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return None


def scalar_text(value: Any) -> str:
    """One value as YAML flow text, quoted only where PyYAML would misread it."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    fast = fast_text(value)
    return fast if fast is not None else emitted_text(value)


def emitted_text(value: Any) -> str:
    """What PyYAML's emitter writes for a value, escaped when the readable form would not read back the same."""
    for readable in (True, False):
        text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=readable, width=_WIDTH, sort_keys=False)
        if text.endswith("\n...\n"):
            text = text[: -len("\n...\n")]
        text = text.rstrip("\n")
        # Unicode line breaks (NEL, U+2028) written raw read back as spaces: then escape everything.
        if not readable or yaml.load(text, Loader=_Loader) == value:  # noqa: S506 - a safe loader
            break
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def flow_text(value: Any) -> str:
    """A mapping or list on one line, so appended items stay one per line (merge-friendly)."""
    return scalar_text(_clean(value))


def block_lines(key: str, value: Any, indent: int) -> list[str]:
    """`key: value` as block YAML lines at `indent`: mappings nested, lists of mappings one per line."""
    pad = " " * indent
    if isinstance(value, Mapping):
        lines = [f"{pad}{scalar_text(key)}:"]
        for k, v in value.items():
            if v is not None:
                lines.extend(block_lines(str(k), v, indent + 2))
        return lines
    if isinstance(value, (list, tuple)):
        items = list(value)
        if items and all(isinstance(i, Mapping) for i in items):
            return [f"{pad}{scalar_text(key)}:"] + [f"{pad}  - {flow_text(i)}" for i in items]
        return [f"{pad}{scalar_text(key)}: {flow_text(items)}"]
    if isinstance(value, str) and "\n" in value:
        body = value if value.endswith("\n") else value + "\n"
        return [f"{pad}{scalar_text(key)}: |"] + [f"{pad}  {line}" if line else "" for line in body.splitlines()]
    return [f"{pad}{scalar_text(key)}: {scalar_text(value)}"]


def dump_new(data: Mapping[str, Any]) -> str:
    """A new document in the given key order."""
    lines: list[str] = []
    for key, value in data.items():
        lines.extend(block_lines(key, value, 0))
    return "\n".join(lines) + "\n"


def _compose(text: str) -> Node | None:
    from .yamlread import ContactLoader  # guarded: no alias bomb, no key written twice, no endless nesting

    try:
        return yaml.compose(text, Loader=ContactLoader)  # noqa: S506 - composing builds no objects
    except yaml.YAMLError as exc:
        raise EditError(f"it does not parse as YAML: {getattr(exc, 'problem', None) or exc}") from None


def _content_end(node: Node, text: str) -> int:
    """Index just past the last meaningful character of a node (trailing blanks and comments excluded)."""
    if isinstance(node, (MappingNode, SequenceNode)) and node.value and not node.flow_style:
        last = node.value[-1]
        return _content_end(last[1] if isinstance(node, MappingNode) else last, text)
    end: int = node.end_mark.index
    start: int = node.start_mark.index
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    return end


def _line_end(text: str, index: int) -> int:
    """Index just past the newline ending the line that holds `index - 1`."""
    nl = text.find("\n", max(index - 1, 0))
    return len(text) if nl < 0 else nl + 1


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and str(node.tag).endswith(":null")


def _find(mapping: MappingNode, key: str) -> tuple[Node, Node] | None:
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


class _Doc:
    def __init__(self, text: str, order: Sequence[str] = (), newline: str = "\n") -> None:
        self.text = text if text.endswith("\n") or not text else text + newline
        self.order = tuple(order)
        self.newline = newline  # what the file's lines end with: what is spliced in ends its lines the same way
        self._root: MappingNode | None = None

    def root(self) -> MappingNode:
        node = _compose(self.text)
        if not isinstance(node, MappingNode):
            raise EditError("the file does not hold a mapping of keys")
        self._root = node
        return node

    def splice(self, start: int, end: int, new: str) -> None:
        if self.newline != "\n":
            new = new.replace("\n", self.newline)
        self.text = self.text[:start] + new + self.text[end:]

    def set(self, path: Sequence[str], value: Any) -> None:
        node: MappingNode = self.root()
        for depth, key in enumerate(path):
            found = _find(node, key)
            rest = path[depth + 1 :]
            if found is None:
                self._add_key(node, key, _nest(rest, value))
                return
            key_node, value_node = found
            if not rest:
                self._replace(key_node, value_node, value)
                return
            if _is_null(value_node):
                self._replace(key_node, value_node, _nest(rest, value))
                return
            if not isinstance(value_node, MappingNode):
                raise EditError(f"'{'.'.join(path[: depth + 1])}' holds {_what(value_node)}, not a mapping of keys")
            node = value_node

    def _replace(self, key_node: Node, old: Node, value: Any) -> None:
        if isinstance(value, (Mapping, list, tuple)) or (isinstance(value, str) and "\n" in value):
            lines = block_lines(str(key_node.value), value, key_node.start_mark.column)
            colon = self.text.index(":", key_node.end_mark.index)
            # an empty value ends at the colon; a written one (`null`, `~`) is replaced with the rest
            end = colon + 1 if _is_null(old) and not old.value else _content_end(old, self.text)
            rest = "".join("\n" + line for line in lines[1:])
            self.splice(colon + 1, max(end, colon + 1), lines[0].split(":", 1)[1] + rest)
            return
        new = scalar_text(value)
        if isinstance(old, (MappingNode, SequenceNode)) and not old.flow_style and old.value:
            # a block of lines becomes one value on the key's own line (`next: null`, not a null below it)
            colon = self.text.index(":", key_node.end_mark.index)
            self.splice(colon + 1, _content_end(old, self.text), " " + new)
            return
        start, end = old.start_mark.index, _content_end(old, self.text)
        if _is_null(old) and start == end:
            colon = self.text.index(":", key_node.end_mark.index)
            self.splice(colon + 1, colon + 1, " " + new)
        else:
            self.splice(start, end, new)

    def _add_key(self, mapping: MappingNode, key: str, value: Any) -> None:
        if mapping.flow_style:
            close = mapping.end_mark.index - 1
            sep = ", " if mapping.value else ""
            self.splice(close, close, f"{sep}{scalar_text(key)}: {flow_text(value)}")
            return
        if not mapping.value:
            raise EditError("cannot add a key to an empty mapping")
        indent = mapping.value[0][0].start_mark.column
        at = _line_end(self.text, _content_end(mapping, self.text))
        if self.order and key in self.order and mapping is self._root:
            # A known key goes where a new file would have it: before the first key that follows it.
            later = set(self.order[self.order.index(key) + 1 :])
            follower = next((k for k, _ in mapping.value if isinstance(k, ScalarNode) and k.value in later), None)
            if follower is not None:
                at = self.text.rfind("\n", 0, follower.start_mark.index) + 1
                while at > 0:
                    prev = self.text.rfind("\n", 0, at - 1) + 1
                    if not self.text[prev:at].lstrip().startswith("#"):
                        break
                    at = prev
        lines = "\n".join(block_lines(key, value, indent)) + "\n"
        if at > len(self.text) or (at == len(self.text) and self.text and not self.text.endswith("\n")):
            lines = "\n" + lines
        self.splice(at, at, lines)

    def append(self, path: Sequence[str], item: Any) -> None:
        node: MappingNode = self.root()
        for depth, key in enumerate(path):
            found = _find(node, key)
            if found is None:
                self._add_key(node, key, [item])
                return
            key_node, value_node = found
            if depth < len(path) - 1:
                if not isinstance(value_node, MappingNode):
                    raise EditError(f"'{'.'.join(path[: depth + 1])}' holds {_what(value_node)}, not a mapping")
                node = value_node
                continue
            if _is_null(value_node):
                self._replace(key_node, value_node, [item])
                return
            if not isinstance(value_node, SequenceNode):
                raise EditError(f"'{'.'.join(path)}' holds {_what(value_node)}, not a list")
            seq = value_node
            if seq.flow_style:
                close = seq.end_mark.index - 1
                self.splice(close, close, (", " if seq.value else "") + flow_text(item))
                return
            first = seq.value[0]
            line_start = self.text.rfind("\n", 0, first.start_mark.index) + 1
            prefix = self.text[line_start : first.start_mark.index]
            if prefix.strip() != "-":
                prefix = " " * seq.start_mark.column + "- "
            at = _line_end(self.text, _content_end(seq, self.text))
            self.splice(at, at, f"{prefix}{flow_text(item)}\n")
            return


def _nest(path: Sequence[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


def _what(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    return f"the value {node.value!r}"


def apply_changes(text: str, changes: Sequence[Change], order: Sequence[str] = FIELD_ORDER) -> str:
    """The text with every change applied; bytes outside the changed keys are unchanged.

    A top-level key that is added goes where `order` puts it among the keys present. A byte order
    mark is kept (and kept out of the composer's positions); lines added end as the file's first
    line does (CRLF or LF).
    """
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    first = body.find("\n")
    newline = "\r\n" if first > 0 and body[first - 1] == "\r" else "\n"
    doc = _Doc(body, order, newline)
    for change in changes:
        if isinstance(change, SetKey):
            _apply_set(doc, change.path, change.value)
        elif isinstance(change, Append):
            doc.append(change.path, change.item)
        elif isinstance(change, Delete):
            try:
                doc.text = delete_key(doc.text, change.path)
            except EditError:  # a key inside a flow mapping: it says null instead
                _apply_set(doc, change.path, None)
    return bom + doc.text


def _apply_set(doc: _Doc, path: Sequence[str], value: Any) -> None:
    # A mapping is applied one leaf at a time against a freshly composed tree, so that
    # keys the user added inside it survive and every splice sees current positions.
    if isinstance(value, Mapping) and value:
        root = doc.root()
        node: Node | None = root
        for key in path:
            found = _find(node, key) if isinstance(node, MappingNode) else None
            node = found[1] if found else None
        if isinstance(node, MappingNode) and node.value:
            for k, v in value.items():
                if v is not None:
                    _apply_set(doc, (*path, str(k)), v)
            return
    doc.set(path, value)




def _comments_above(text: str, at: int) -> int:
    """The start of the comment lines directly above the line starting at `at` (they belong to that line)."""
    while at > 0:
        prev = text.rfind("\n", 0, at - 1) + 1
        if not text[prev:at].lstrip().startswith("#"):
            break
        at = prev
    return at


def insert_items(text: str, key: str, inserts: Sequence[tuple[int, str]]) -> str:
    """Insert whole lines into the block list under top-level `key`: each (index, line) goes before the item
    at `index` (and the comments just above it), or after the last item when `index` is the list's length.

    `line` is one item as written after the dash (its trailing comment included). Every other byte is kept.
    """
    doc = _Doc(text)
    found = _find(doc.root(), key)
    if found is None or not isinstance(found[1], SequenceNode) or found[1].flow_style or not found[1].value:
        raise EditError(f"'{key}' is not a block list")
    seq = found[1]
    first = seq.value[0]
    line_start = doc.text.rfind("\n", 0, first.start_mark.index) + 1
    prefix = doc.text[line_start : first.start_mark.index]
    if prefix.strip() != "-":
        prefix = " " * seq.start_mark.column + "- "
    starts = [_comments_above(doc.text, doc.text.rfind("\n", 0, item.start_mark.index) + 1) for item in seq.value]
    starts.append(_line_end(doc.text, _content_end(seq, doc.text)))
    going: dict[int, list[str]] = {}
    for index, line in inserts:
        going.setdefault(index, []).append(f"{prefix}{line}\n")
    out = doc.text
    for index in sorted(going, reverse=True):  # from the end, so the earlier positions stay true
        at = starts[index]
        new = "".join(going[index])
        if at == len(out) and out and not out.endswith("\n"):
            new = "\n" + new
        out = out[:at] + new + out[at:]
    return out


def delete_key(text: str, path: Sequence[str]) -> str:
    """The text without the block-style key at `path` (its lines, nested content included); unchanged if absent."""
    doc = _Doc(text)
    node: Node = doc.root()
    found = None
    for key in path:
        if not isinstance(node, MappingNode) or node.flow_style:
            raise EditError(f"'{'.'.join(path)}' is not in a block mapping")
        found = _find(node, key)
        if found is None:
            return doc.text
        node = found[1]
    assert found is not None
    start = doc.text.rfind("\n", 0, found[0].start_mark.index) + 1
    end = _line_end(doc.text, max(_content_end(found[1], doc.text), found[0].end_mark.index + 1))
    return doc.text[:start] + doc.text[end:]
