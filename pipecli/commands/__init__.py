"""Thin Typer commands, grouped by what the user does: parse, store, core, render."""
