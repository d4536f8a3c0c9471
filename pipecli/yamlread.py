"""Contact files' YAML to plain data, fast: libyaml with a lean resolver, one object per distinct text.

Every file is untrusted input, so every document is guarded while it is composed, before any value
is built: nesting deeper than MAX_DEPTH, aliases that would expand beyond MAX_ALIAS_NODES values
(a "billion laughs"), an alias that refers to its own node, and a key written twice in one mapping
are each refused as `Refused`, a YAML error with the line it stands at. Both readers (the lean
one and ContactLoader, which settings, `line_of` and the editor use too) apply the same guard.

Imported only when a file must be parsed: a command whose contacts all come from the cache
does not pay for importing PyYAML (8 ms).
"""

from __future__ import annotations

from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 100  # levels of nesting: a contact needs 4, a custom rule a dozen or two
MAX_ALIAS_NODES = 100_000  # values that aliases may add to a document beyond the ones written out


class Refused(yaml.MarkedYAMLError):
    """A document pipe will not read: too deep, an alias bomb or cycle, or a key written twice."""


class _TooDeep(Exception):
    pass


def _too_deep(data: bytes | str) -> Refused:
    """The error for a document nested beyond MAX_DEPTH, at the line where it goes too deep.

    The composer cannot say where it was, so the events are read again up to that depth only
    (libyaml slows down quadratically with depth: never read further than needed).
    """
    depth = 0
    mark: Any = None
    try:
        for event in yaml.parse(data, Loader=_Base):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH - 1:
                    mark = event.start_mark
                    break
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        pass
    return Refused(problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=mark)


def _duplicate(first: yaml.Node, again: yaml.Node) -> Refused:
    return Refused(problem=f"the key {again.value!r} is written twice in one mapping (first at line "
                           f"{first.start_mark.line + 1}): pipe would edit one copy and read the other; keep one",
                   problem_mark=again.start_mark)


def guard(root: yaml.Node | None, duplicates: bool = True) -> None:
    """Refuse a composed document whose aliases expand beyond MAX_ALIAS_NODES values or form a cycle,
    that nests deeper than MAX_DEPTH (counting through aliases), or (with `duplicates`) that writes
    a key twice in one mapping. Linear in the distinct nodes: each is measured once."""
    if root is None:
        return
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values it expands to, its height)
    distinct = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, int]] = [(root, 1, 0)]  # node, depth, 0 = entering / 1 = leaving
    while stack:
        node, depth, leaving = stack.pop()
        key = id(node)
        if leaving:
            on_path.discard(key)
            size, height = 1, 1
            for child in _children(node):
                child_size, child_height = sizes[id(child)]
                size += child_size
                height = max(height, child_height + 1)
            sizes[key] = (size, height)
            if size > distinct + MAX_ALIAS_NODES:
                raise Refused(problem=f"aliases (*name) make this value expand to more than {MAX_ALIAS_NODES:,} "
                                      "values (an alias bomb?): write the values out", problem_mark=node.start_mark)
            continue
        if key in on_path:
            raise Refused(problem="an alias (*name) refers to a node that contains it (a cycle)",
                          problem_mark=node.start_mark)
        seen = sizes.get(key)
        if seen is not None:
            if depth + seen[1] - 1 > MAX_DEPTH:
                raise Refused(problem=f"nested more than {MAX_DEPTH} levels deep (through an alias)",
                              problem_mark=node.start_mark)
            continue
        if depth > MAX_DEPTH:
            raise Refused(problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=node.start_mark)
        distinct += 1
        on_path.add(key)
        stack.append((node, depth, 1))
        if isinstance(node, yaml.MappingNode) and duplicates:
            keys: dict[tuple[str, str], yaml.Node] = {}
            for k, _ in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    first = keys.setdefault((k.tag, k.value), k)
                    if first is not k:
                        raise _duplicate(first, k)
        stack.extend((child, depth + 1, 0) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class ContactLoader(_Base):  # type: ignore[misc]
    """The C loader, guarded (see guard), except that an impossible date (2026-02-30) stays text for `check`."""

    _depth = 0
    duplicates = True  # refuse a key written twice (LocatingLoader only looks for lines)

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep
        super().descend_resolver(current_node, current_index)

    def ascend_resolver(self) -> None:
        self._depth -= 1
        super().ascend_resolver()

    def get_single_node(self) -> Any:
        try:
            node = super().get_single_node()
        except _TooDeep:
            raise _too_deep(self._source) from None
        guard(node, self.duplicates)
        return node

    def __init__(self, stream: Any) -> None:
        self._source = stream
        super().__init__(stream)


_DAYS: dict[str, Any] = {}


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    # Interned: a pipeline has few distinct days, and one shared date object per day keeps
    # parsing and the cache (pickle stores a shared object once) fast.
    value = _DAYS.get(node.value)
    if value is None:
        try:
            value = yaml.SafeLoader.construct_yaml_timestamp(loader, node)
        except ValueError:
            return str(node.value)
        _DAYS[node.value] = value
    return value


class LocatingLoader(ContactLoader):
    """ContactLoader for finding a key's line in a file: a key written twice is located, not refused."""

    duplicates = False


def _int(loader: Any, node: yaml.ScalarNode) -> Any:
    """An integer, refused past about 3,900 digits: Python reads and prints no more than 4,300
    (a 0x... of 5,000 hex digits reads, then fails in every message that shows it)."""
    try:
        value = yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        value = None
    if value is None or value.bit_length() > 13_000:
        raise Refused(problem=f"a number of {len(node.value):,} characters: pipe reads whole numbers of at most "
                              "3,900 digits", problem_mark=node.start_mark)
    return value


ContactLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
ContactLoader.add_constructor("tag:yaml.org,2002:int", _int)


class _LeanReader:
    """libyaml's parser with a lean resolver and constructor for the plain YAML of contact files.

    Same results as ContactLoader (a test compares them on every demo and benchmark file), about
    a third faster: most scalars are names and words whose first character rules out any type but
    text, and the few other values (dates, stages, true/false) repeat, so each is resolved and
    built once. Anything unusual (merge keys, recursive aliases) goes to ContactLoader.
    """

    STR, MAP, SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
    _first = frozenset(ch for ch in yaml.resolver.Resolver.yaml_implicit_resolvers if ch)
    _tags: dict[tuple[str, bool], str] = {}
    _values: dict[tuple[str, str], Any] = {}
    # One object per distinct text: kinds, outcomes, owners, companies and reasons repeat across
    # thousands of files, and the cache's pickle stores a shared object once (a quarter smaller,
    # a third quicker to load).
    _texts: dict[str, str] = {}
    _constructor = yaml.constructor.SafeConstructor()

    def __init__(self) -> None:
        from yaml._yaml import CParser

        resolve: Any = yaml.resolver.Resolver().resolve
        tags, first = self._tags, self._first
        levels = [0]

        class Parser(CParser):
            def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
                if kind is yaml.ScalarNode:
                    if not implicit[0] or (value and value[0] not in first):
                        return _LeanReader.STR
                    tag = tags.get((value, implicit[1]))
                    if tag is None:
                        tag = resolve(kind, value, implicit)
                        if len(tags) < 100_000:
                            tags[(value, implicit[1])] = tag
                    return tag
                return _LeanReader.MAP if kind is yaml.MappingNode else _LeanReader.SEQ

            # The composer calls these around every node: count the levels, and stop at the first
            # one too deep (libyaml slows down quadratically with depth, and Python's stack ends).
            # The count is a list cell bound at definition: an attribute of self costs more.
            def descend_resolver(self, parent: Any, index: Any, depth: list[int] = levels) -> None:
                depth[0] += 1
                if depth[0] > MAX_DEPTH:
                    raise _TooDeep

            def ascend_resolver(self, depth: list[int] = levels) -> None:
                depth[0] -= 1

        self.parser, self.levels = Parser, levels

    def load(self, data: bytes) -> Any:
        self.levels[0] = 0
        parser = self.parser(data)
        try:
            node = parser.get_single_node()
        except _TooDeep:
            raise _too_deep(data) from None
        finally:
            parser.dispose()
        if node is None:
            return None
        if b"*" in data:  # an alias: measure what it expands to before building anything
            guard(node, duplicates=False)  # convert finds those
        try:
            return self.convert(node)
        except _Unusual:
            return yaml.load(data, Loader=ContactLoader)  # noqa: S506 - a safe loader

    def convert(self, node: Any) -> Any:
        kind = type(node)
        if kind is yaml.ScalarNode:
            tag = node.tag
            if tag == self.STR:
                text: str = node.value
                return self._texts.setdefault(text, text) if len(self._texts) < 1_000_000 else text
            key = (tag, node.value)
            try:
                return self._values[key]
            except KeyError:
                pass
            if tag == "tag:yaml.org,2002:timestamp":
                value = _timestamp(self._constructor, node)
            elif tag == "tag:yaml.org,2002:int":
                value = _int(self._constructor, node)
            elif tag.startswith("tag:yaml.org,2002:") and tag != "tag:yaml.org,2002:merge":
                value = self._constructor.construct_object(node, deep=True)
            else:
                raise _Unusual(tag)
            if len(self._values) < 100_000:
                self._values[key] = value
            return value
        if kind is yaml.MappingNode:
            if node.tag != self.MAP:
                raise _Unusual(node.tag)
            out = {}
            for key_node, value_node in node.value:
                key = self.convert(key_node)
                if key_node.tag == "tag:yaml.org,2002:merge" or isinstance(key, (list, dict)):
                    raise _Unusual("merge or complex key")
                if key in out:
                    raise _duplicate(next(k for k, _ in node.value if k.value == key_node.value), key_node)
                out[key] = self.convert(value_node)
            return out
        if node.tag != self.SEQ:
            raise _Unusual(node.tag)
        return [self.convert(item) for item in node.value]


class _Unusual(Exception):
    pass




_lean: _LeanReader | None = None


def load_yaml(data: bytes) -> Any:
    """Parse a contact file's bytes into plain data, the fast way when libyaml is there."""
    global _lean
    if _lean is None:
        if not hasattr(yaml, "CSafeLoader"):
            return yaml.load(data, Loader=ContactLoader)  # noqa: S506
        _lean = _LeanReader()
    return _lean.load(data)
