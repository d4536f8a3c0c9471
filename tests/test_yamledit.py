"""Round-trip byte preservation: an edit rewrites only the keys it changes."""

from __future__ import annotations

import difflib
from datetime import date
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecli.model import Append, SetKey, apply_to_data
from pipecli.yamledit import apply_changes, dump_new

HAND_WRITTEN = """\
# Zhang Wei: met at the fair.   Comments, odd spacing and key order are the user's.
name:   张伟        # the name as he writes it
id: 'x-17'
wechat: zw_1988     # a key pipe does not know
stage: c            # C since the warehouse visit
criteria:
    budget: true    # four-space indent, kept
    decision_maker: false
tags: [logistics,shanghai]
notes: >
    Folded text
    over two lines.
activities:
- {date: 2026-10-01, kind: call, outcome: talked}   # first call
- date: 2026-10-05
  kind: meeting
  outcome: held
history:
- {date: 2026-09-30, to: opportunity}
- {date: 2026-10-05, from: opportunity, to: c, forced: true, reason: fair}
# the end
"""


def test_promotion_keeps_every_untouched_byte() -> None:
    changes = [SetKey(("stage",), "b"),
               Append(("history",), {"date": date(2026, 11, 30), "from": "c", "to": "b"})]
    out = apply_changes(HAND_WRITTEN, changes)
    expected = HAND_WRITTEN.replace("stage: c            # C since", "stage: b            # C since").replace(
        "reason: fair}\n", "reason: fair}\n- {date: 2026-11-30, from: c, to: b}\n")
    assert out == expected


def test_nested_keys_follow_the_users_indent_and_flow_lists_grow_in_place() -> None:
    out = apply_changes(HAND_WRITTEN, [SetKey(("criteria", "proposal_fits"), True), Append(("tags",), "vip"),
                                       SetKey(("criteria", "decision_maker"), True)])
    assert "    decision_maker: true\n    proposal_fits: true\n" in out
    assert "tags: [logistics,shanghai, vip]\n" in out
    assert out.replace("    proposal_fits: true\n", "").replace("decision_maker: true", "decision_maker: false").replace(
        ", vip]", "]") == HAND_WRITTEN


def test_a_block_item_list_gets_a_flow_item_on_one_line() -> None:
    out = apply_changes(HAND_WRITTEN, [Append(("activities",), {"date": date(2026, 11, 2), "kind": "note"})])
    assert "  outcome: held\n- {date: 2026-11-02, kind: note}\nhistory:" in out


def test_new_keys_take_their_place_in_the_stable_order() -> None:
    text = "id: a\nname: N\nstage: c\nactivities:\n  - {date: 2026-10-01, kind: call}\nhistory:\n  - {date: 2026-10-01, to: c}\n"
    out = apply_changes(text, [SetKey(("next",), {"action": "call", "due": date(2026, 12, 1)})])
    assert out == ("id: a\nname: N\nstage: c\nnext:\n  action: call\n  due: 2026-12-01\n"
                   "activities:\n  - {date: 2026-10-01, kind: call}\nhistory:\n  - {date: 2026-10-01, to: c}\n")


def test_a_null_key_becomes_a_mapping_and_values_with_colons_are_quoted() -> None:
    out = apply_changes("id: a\nname: N\nnext:\n", [SetKey(("next", "action"), "call: about price"),
                                                      SetKey(("stage",), "yes")])
    assert yaml.safe_load(out) == {"id": "a", "name": "N", "next": {"action": "call: about price"}, "stage": "yes"}


def test_a_file_without_final_newline_keeps_its_last_line() -> None:
    out = apply_changes("id: a\nname: N", [SetKey(("stage",), "c")])
    assert yaml.safe_load(out) == {"id": "a", "name": "N", "stage": "c"}
    assert out.startswith("id: a\nname: N\n")


def test_dump_new_round_trips() -> None:
    data: dict[str, Any] = {"id": "007", "name": "O'Neil: the CEO", "tags": ["a b", "yes"], "value": 12000.0,
                            "notes": "two\nlines", "first_meeting": {"date": date(2026, 1, 2), "held": False},
                            "history": [{"date": date(2026, 1, 1), "to": "opportunity", "reason": "added"}]}
    parsed = yaml.safe_load(dump_new(data))
    assert parsed == dict(data, value=12000, notes="two\nlines\n")


# Property: any sequence of edits gives the data the edits describe, and the only lines that
# differ from the original are lines of the keys that were set.

KEYS = st.sampled_from(["stage", "owner", "value", "company", "verbal_yes"])
SCALARS = st.one_of(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
                    st.integers(-10**6, 10**6), st.booleans(), st.dates(date(2000, 1, 1), date(2100, 1, 1)))
NESTED = st.tuples(st.sampled_from(["criteria", "next", "first_meeting", "deferred"]),
                   st.sampled_from(["budget", "due", "held", "reason"]))
ITEMS = st.fixed_dictionaries({"date": st.dates(date(2020, 1, 1), date(2030, 1, 1)),
                               "kind": st.sampled_from(["call", "email"])},
                              optional={"note": st.text(max_size=10)})
CHANGE = st.one_of(
    st.builds(lambda k, v: SetKey((k,), v), KEYS, SCALARS),
    st.builds(lambda kk, v: SetKey(kk, v), NESTED, SCALARS),
    st.builds(lambda i: Append(("activities",), i), ITEMS),
    st.builds(lambda i: Append(("history",), i), ITEMS),
    st.builds(lambda t: Append(("tags",), t), st.text(alphabet="abcxyz-", min_size=1, max_size=6)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(CHANGE, min_size=1, max_size=6))
def test_random_edits_keep_every_untouched_line(changes: list[Any]) -> None:
    out = apply_changes(HAND_WRITTEN, changes)
    expected = yaml.safe_load(HAND_WRITTEN)
    apply_to_data(expected, changes)
    assert yaml.safe_load(out) == expected
    touched = {c.path[-1] for c in changes if isinstance(c, SetKey)}
    for line in difflib.ndiff(HAND_WRITTEN.splitlines(), out.splitlines()):
        if line.startswith("- "):  # a line of the original that is gone or altered
            assert any(f"{key}:" in line for key in touched) or "tags:" in line, line


# --- the composer: libyaml's spans are the spans ruamel.yaml's round-trip composer gives ---------

TRICKY = [
    HAND_WRITTEN,
    "name: Anna\nstage: c\nnotes: |\n  two\n  lines\n\n# trailing comment\n",
    "name: Anna\ncriteria:\nhistory: []\nactivities: {}\nstage: ~\nempty:\n",
    "name: \"Anna \\u00e9\"\nstage: 'c'\ntags:\n  - a   # x\n  -   b\n  - [c, d]\n",
    "name: Ånne Ødegård\ncompany: 华信物流  # 中文注释\nnext: {action: 打电话, due: 2026-12-01}\n",
    "name: Anna\nnotes: >-\n    folded\n    text\n\n\nstage: c\n",
    "- not\n- a mapping\n",
    "---\nname: Anna\nstage: c\n...\n",
    "name: Anna\r\nstage: c\r\nhistory:\r\n- {date: 2026-01-01, to: c}\r\n",
    "name: Anna\nbase: &b {x: 1}\nother: *b\nstage: c\n",
    "name: Anna\nplain: a long plain\n  scalar over lines\nstage: c   \n\n\n",
    "name: Anna\nquoted: 'it''s'\ndq: \"a\\\"b\"\nkey with spaces: v\n? complex\n: value\n",
]


def _spans(node: Any) -> Any:
    """Each node as (kind, start, end, start column, flow style, null?), children after: what
    yamledit reads of a composed document."""
    kind = type(node).__name__
    null = kind == "ScalarNode" and str(node.tag).endswith(":null")
    if null and node.start_mark.index == node.end_mark.index:
        # `key:` with nothing after it: an edit splices after the key's colon, never at this
        # empty span (libyaml puts it after the colon, ruamel at the start of the next line).
        return (kind, "empty null")
    flow = bool(getattr(node, "flow_style", False)) if kind != "ScalarNode" else None
    head = (kind, node.start_mark.index, node.end_mark.index, node.start_mark.column, flow, null)
    if kind == "MappingNode":
        return (head, [(_spans(k), _spans(v)) for k, v in node.value])
    if kind == "SequenceNode":
        return (head, [_spans(v) for v in node.value])
    return (head, node.value.replace("\a", ""))  # ruamel marks the folds of a folded scalar with BEL


def _documents() -> list[str]:
    from pathlib import Path

    demo = Path(__file__).resolve().parent.parent / "examples" / "demo"
    return TRICKY + [p.read_text(encoding="utf-8") for p in sorted((demo / "contacts").glob("*.yaml"))] + [
        (demo / "pipe.yaml").read_text(encoding="utf-8")]


def test_the_composer_gives_the_spans_ruamels_round_trip_composer_gives() -> None:
    from ruamel.yaml import YAML

    from pipecli.yamledit import _compose

    documents = _documents()
    assert len(documents) > 40
    for text in documents:
        assert _spans(_compose(text)) == _spans(YAML(typ="rt").compose(text)), text
