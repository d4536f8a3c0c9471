"""vCard 3.0 and 4.0 (one or many cards, as Google, Apple, Outlook and khard export them) to draft
contacts, and contacts to vCard 3.0 cards whose UID is pipe's id (pure; vobject does the format)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from ..model import Contact
from .fields import BadRow, Draft, Preset, Row, to_draft

VCARD = Preset(name="vcard", label="vCard", system="", columns={})
# vCard properties pipe has a field for; every other one is kept under crm.columns
_FIELDS = {"FN": "name", "UID": "id", "ORG": "company", "TITLE": "title", "EMAIL": "email", "TEL": "phone",
           "NOTE": "notes", "CATEGORIES": "tags"}
_SKIP = {"VERSION", "PRODID", "REV", "PHOTO", "LOGO", "SOUND", "KEY"}  # format details and binary data


_BINARY = ("PHOTO", "LOGO", "SOUND", "KEY")


def _binary(line: str) -> bool:
    name = line.split(":", 1)[0].split(";", 1)[0].rsplit(".", 1)[-1].strip().upper()  # item1.PHOTO;TYPE=JPEG:...
    return name in _BINARY


def _without_binary(lines: list[str]) -> list[str]:
    """The lines without photos, logos, sounds and keys (with their folded lines): pipe keeps none of them, and a
    damaged photo should not cost the card."""
    out: list[str] = []
    skipping = False
    for line in lines:
        if skipping and (line[:1] in (" ", "\t") or not line.strip()):
            continue
        skipping = _binary(line)
        if not skipping:
            out.append(line)
    return out


def chunks(text: str) -> Iterator[tuple[int, int, str]]:
    """(card number, line it starts on, its text) for each BEGIN:VCARD ... END:VCARD."""
    lines = text.splitlines()
    start = None
    number = 0
    for index, line in enumerate(lines):
        head = line.strip().upper()
        if head == "BEGIN:VCARD":
            start = index
        elif head == "END:VCARD" and start is not None:
            number += 1
            yield number, start + 1, "\n".join(_without_binary(lines[start : index + 1])) + "\n"
            start = None
    if start is not None:
        yield number + 1, start + 1, "\n".join(_without_binary(lines[start:])) + "\n"  # no END: vobject says what is wrong


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value if str(v).strip())
    return str(value).strip()


def read(text: str, rel: str, today: date, default_owner: str | None) -> list[Draft | BadRow]:
    import vobject

    out: list[Draft | BadRow] = []
    for number, line, chunk in chunks(text):
        try:
            card = vobject.readOne(chunk, ignoreUnreadable=False)
        except Exception as exc:  # vobject raises ParseError, and others, on a malformed card
            out.append(BadRow(line, f"card {number} does not read as a vCard: {str(exc).splitlines()[0]}"))
            continue
        cells: dict[str, str] = {}
        for prop in card.getChildren():
            key = prop.name.upper()
            if key in _SKIP or not isinstance(key, str):
                continue
            field = _FIELDS.get(key)
            if key == "N" and not isinstance(prop.value, str):
                n = prop.value
                cells.setdefault("N", " ".join(p for p in (_text(n.given), _text(n.family)) if p))
                continue
            if key == "ORG":
                value = _text(prop.value[0] if isinstance(prop.value, list) and prop.value else prop.value)
            elif key == "TEL":
                value = _text(prop.value).removeprefix("tel:")
            else:
                value = _text(prop.value)
            if field and field in cells:
                continue  # the first e-mail or phone: the preferred one comes first in every exporter we know
            cells[field or key] = value
        name = cells.pop("name", "") or cells.pop("N", "")
        cells.pop("N", None)
        if not name.strip():
            out.append(BadRow(line, f"card {number} has no name (neither FN nor N)"))
            continue
        cells["name"] = name
        header = list(cells)
        fields = [h if h in _FIELDS.values() else None for h in header]
        out.append(to_draft(Row(line, cells), header, fields, VCARD, {}, (), today, default_owner))
    if not out:
        out.append(BadRow(1, f"{rel} holds no card (no BEGIN:VCARD line)"))
    return out


def _split(name: str) -> tuple[str, str]:
    """(given, family) for vCard's N: the last word is the family name; Chinese writes it first."""
    if " " not in name.strip() and any("\u3400" <= ch <= "\u9fff" for ch in name):
        return name[1:], name[:1]
    given, _, family = name.strip().rpartition(" ")
    return given, family


def write(contacts: Sequence[Contact]) -> str:
    import vobject

    out = []
    for c in contacts:
        card = vobject.vCard()
        card.add("uid").value = c.id
        card.add("fn").value = c.name
        given, family = _split(c.name)
        card.add("n").value = vobject.vcard.Name(family=family, given=given)
        if c.company:
            card.add("org").value = [c.company]
        if c.title:
            card.add("title").value = c.title
        if c.email:
            mail = card.add("email")
            mail.value = c.email
            mail.type_param = "INTERNET"
        if c.phone:
            card.add("tel").value = c.phone
        if c.tags:
            card.add("categories").value = list(c.tags)
        if c.notes:
            card.add("note").value = c.notes
        out.append(card.serialize())
    return "".join(out)
