"""What every command shares: the global state, opening the store, saving with one commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..ladder import GateRules
    from ..model import Change, Contact
    from ..store import Loaded, Store


@dataclass
class State:
    directory: str | None = None
    today: str | None = None
    no_commit: bool = False
    debug: bool = False

    def reset(self, **values: object) -> None:
        self.__init__(**values)  # type: ignore[misc]


STATE = State()


@dataclass
class Session:
    """One command's work on the pipeline: the store, today, and the files it changed."""

    store: Store
    today: date
    changed: list[Path] = field(default_factory=list)
    new: list[Path] = field(default_factory=list)  # files this command created (git must learn of them)
    warned: bool = False

    @property
    def rules(self) -> GateRules:
        from ..ladder import GateRules

        return GateRules(mode=self.store.config["mode"], sales_cycle_days=self.store.config["sales_cycle_days"])

    def load_all(self) -> Loaded:
        """Every contact; unparseable files get one warning line each on stderr."""
        loaded = self.store.load_all()
        for broken in loaded.broken:
            typer.echo(f"pipe: warning: skipped {broken}", err=True)
        return loaded

    def resolve(self, query: str, loaded: Loaded | None = None) -> Contact:
        """A contact by slug or id (one file read), else by slug prefix or name (the whole folder)."""
        from ..store import pick

        if loaded is None:
            found = self.store.find_quick(query)
            if found is not None:
                return found
            loaded = self.load_all()
        return pick(query, loaded.contacts)

    def save(self, contact: Contact, changes: Sequence[Change]) -> None:
        self.changed.append(self.store.apply(contact, changes))

    def created(self, slug: str) -> None:
        path = self.store.path_of(slug)
        self.changed.append(path)
        self.new.append(path)

    def commit(self, message: str) -> None:
        """Record this command's changes: one git commit of exactly the changed files (see gitio).

        The message is what `git log --oneline` shows, starting with the command's name:
        `promote Zhang Wei (Huaxin Logistics): C -> B`. Call it once per command, after every save.
        """
        from ..gitio import commit_changes

        if self.changed and not STATE.no_commit:
            note = commit_changes(self.store.root, self.changed, message, self.store.config, new=self.new)
            if note:
                typer.echo(note, err=True)


def session() -> Session:
    from ..store import Store, today_from

    store = Store.open(STATE.directory)
    return Session(store, today_from(STATE.today))


def today() -> date:
    from ..store import today_from

    return today_from(STATE.today)


def register(app: typer.Typer) -> None:
    from . import board, check, contacts, git, review, stages, week

    for module in (contacts, stages, review, board, week, check, git):
        module.register(app)


FORMAT_HELP = "Output format: table, markdown, csv or json."
