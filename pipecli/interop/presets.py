"""Every preset, and which one a file's header row says it is."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UsageError
from . import hubspot, pipecsv, pipedrive, salesforce
from .fields import GENERIC, Preset, norm

PRESETS: tuple[Preset, ...] = (pipecsv.PIPE, pipedrive.DEALS, hubspot.DEALS, hubspot.CONTACTS,
                               salesforce.OPPORTUNITIES, GENERIC)
BY_NAME = {p.name: p for p in PRESETS}


def recognise(header: Sequence[str]) -> Preset:
    """The first preset whose identifying columns the header has all of; the generic CSV otherwise."""
    present = {norm(h) for h in header}
    for preset in PRESETS:
        if preset.identifies and all(norm(h) in present for h in preset.identifies):
            return preset
    return GENERIC


def named(name: str) -> Preset:
    found = BY_NAME.get(name.strip().casefold())
    if found is None:
        raise UsageError(f"unknown preset '{name}'", f"use one of: {', '.join(BY_NAME)}")
    return found
