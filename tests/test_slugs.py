from __future__ import annotations

from itertools import islice
from pathlib import Path

import pytest

from pipecli.store import candidate_slugs, is_safe_slug, slugify


@pytest.mark.parametrize(("name", "slug"), [
    ("Anna Berg", "anna-berg"),
    ("张伟", "zhang-wei"),
    ("王芳", "wang-fang"),
    ("Zoë Ångström", "zoe-angstrom"),
    ("  O'Brien,  Seán  ", "o-brien-sean"),
    ("Anna 张", "anna-zhang"),
    ("Bjørn Dæhlie", "bjorn-daehlie"),
    ("Søren Ærø", "soren-aero"),
    ("Łukasz Straße", "lukasz-strasse"),
    ("Иван Петров", "ivan-petrov"),
])
def test_slugs_are_readable_ascii(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "/etc/passwd", "..", "a/../../b", "C:\\Windows\\x",
                                     "name\x00.yaml", ".hidden", "~root"])
def test_hostile_names_cannot_leave_the_folder(hostile: str, tmp_path: Path) -> None:
    slug = next(iter(candidate_slugs(hostile, None)))
    assert is_safe_slug(slug), slug
    assert "/" not in slug and ".." not in slug and "\\" not in slug
    assert (tmp_path / f"{slug}.yaml").resolve().parent == tmp_path.resolve()


def test_collisions_take_the_company_then_a_number() -> None:
    assert list(islice(candidate_slugs("Anna Berg", "Nordlys AS"), 3)) == [
        "anna-berg", "anna-berg-nordlys-as", "anna-berg-nordlys-as-2"]
    assert list(islice(candidate_slugs("张伟", None), 2)) == ["zhang-wei", "zhang-wei-2"]


def test_a_name_without_letters_still_gets_a_slug() -> None:
    assert next(iter(candidate_slugs("???", None))) == "contact"
