"""Contact files' YAML to plain data, fast: libyaml with a lean resolver, one object per distinct text.

Imported only when a file must be parsed: a command whose contacts all come from the cache
does not pay for importing PyYAML (8 ms).
"""

from __future__ import annotations

from typing import Any

import yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContactLoader(_Base):  # type: ignore[misc]
    """The C loader, except that an impossible date (2026-02-30) stays text for `check` to report."""


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


ContactLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


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

            def descend_resolver(self, *args: Any) -> None:
                pass

            def ascend_resolver(self, *args: Any) -> None:
                pass

        self.parser = Parser

    def load(self, data: bytes) -> Any:
        parser = self.parser(data)
        try:
            node = parser.get_single_node()
        finally:
            parser.dispose()
        if node is None:
            return None
        try:
            return self.convert(node)
        except (_Unusual, RecursionError):
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
