"""Table rendering: columns line up in a terminal whatever the script of the names."""

from __future__ import annotations

import pytest

from pipecli.render import _width, table


@pytest.mark.parametrize(("text", "columns"), [
    ("Anna Berg", 9),
    ("张伟", 4),                 # Chinese characters take two columns
    ("华信物流 AS", 11),
    ("Bjørn Ødegård", 13),       # precomposed Nordic letters take one
    ("e\u0301clair", 6),         # a combining accent takes none
    ("한국어", 6),               # Hangul syllables take two
    ("Ａｂｃ", 6),               # fullwidth forms take two
    ("ok 👍", 5),                # so does an emoji
    ("a\u200bb", 2),             # a zero-width space takes none
    ("", 0),
])
def test_width(text: str, columns: int) -> None:
    assert _width(text) == columns
    assert _width(text) == columns  # the second time comes from the table of seen characters


def test_table_lines_up_wide_and_narrow_names() -> None:
    out = table([["张伟", "华信物流", "12"], ["Anna Berg", "Nordlys", "3"]], ["name", "company", "days"],
                [False, False, True])
    lines = out.splitlines()
    assert lines[0] == "name       company   days"
    assert lines[1] == "---------  --------  ----"
    assert lines[2] == "张伟       华信物流    12"
    assert lines[3] == "Anna Berg  Nordlys      3"
