"""What every command shares: the global state, opening the store, saving with one commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

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
    # What this command loaded, kept until the process ends (see cli.main: freeing 10,000
    # contacts one object at a time would cost more than the exit it precedes).
    kept: list[object] = field(default_factory=list)
    opened: list[Store] = field(default_factory=list)  # their locks are released when the command ends

    def reset(self, **values: object) -> None:
        self.__init__(**values)  # type: ignore[misc]

    def release(self) -> None:
        """Drop every lock this command took (the process's end would; a test runs many commands in one)."""
        for store in self.opened:
            store.unlock()


STATE = State()


@dataclass
class Session:
    """One command's work on the pipeline: the store and today.

    A command that writes holds the pipeline's lock from before it reads until its commit is made
    (session(write=True) takes it at once; the first save takes it otherwise), and its writes are
    staged until commit(): they land together, in one commit, or not at all.
    """

    store: Store
    today: date
    checked_git: bool = False
    by_hand: set[str] | None = None  # contact files edited outside pipe since the last commit
    asked_all: bool = False  # by_hand covers the whole contacts folder, not just the first file saved

    @property
    def rules(self) -> GateRules:
        from ..ladder import GateRules

        return GateRules(mode=self.store.config["mode"], sales_cycle_days=self.store.config["sales_cycle_days"])

    def load_all(self) -> Loaded:
        """Every contact; unparseable files get one warning line each on stderr."""
        loaded = self.store.load_all()
        STATE.kept.append(loaded)
        for broken in loaded.broken:
            typer.echo(f"pipe: warning: skipped {broken}", err=True)
        return loaded

    def resolve(self, query: str, loaded: Loaded | None = None) -> Contact:
        """A contact by slug or id (one file read), else by slug prefix or name (the whole folder)."""
        from ..errors import ContactNotFound, UsageError
        from ..store import pick

        if not query.strip():
            raise UsageError("the contact's name is empty", "name a contact by slug, id or name: pipe show anna-berg")
        if loaded is None:
            found = self.store.find_quick(query)
            if found is not None:
                return found
            loaded = self.load_all()
        try:
            return pick(query, loaded.contacts)
        except ContactNotFound as exc:
            if loaded.broken:  # it may be one of the files that could not be read
                n = len(loaded.broken)
                raise ContactNotFound(exc.message, f"{n} file{'s' if n != 1 else ''} could not be read and "
                                      f"{'were' if n != 1 else 'was'} skipped (see the warnings, or pipe check)") from None
            raise

    def owner_named(self, contacts: Sequence[Contact], query: str) -> str:
        """The owner `query` means: any case, the first word or the start of the name; else an error listing them."""
        from ..errors import OwnerNotFound
        from ..owners import match_owner, owner_names

        names = owner_names(contacts)
        if not contacts:
            return query
        found = match_owner(names, query)
        if len(found) == 1:
            return found[0]
        if found:
            raise OwnerNotFound(f"'{query}' matches several owners: {', '.join(found)}", "give more of the name")
        raise OwnerNotFound(f"no contact has the owner '{query}'",
                            f"the owners are: {', '.join(names)}" if names else "no contact has an owner yet")

    def owned(self, contacts: Sequence[Contact], owner: str) -> list[Contact]:
        """The contacts of one owner (see owner_named); a name nobody has is an error listing the owners."""
        from ..owners import owned_by

        return owned_by(contacts, self.owner_named(contacts, owner)) if contacts else []

    def me(self) -> str | None:
        """Who runs this clone: pipe.yaml's (or .pipe/local.yaml's) owner, else git's user.name."""
        from ..gitio import user_name

        return self.store.config["owner"] or user_name(self.store.root)

    def whose(self, contacts: Sequence[Contact], owner: str | None, team: bool) -> tuple[list[Contact], str | None]:
        """The contacts a personal view shows, and whose they are (None: the only owner's, "team": everyone's).

        --owner: that owner's; --team: everyone's; else, on a folder several owners share, your own.
        """
        from ..errors import UsageError
        from ..owners import match_owner, owned_by, owner_names

        if owner is not None and team:
            raise UsageError("--owner and --team do not go together", "choose one")
        if owner is not None:
            name = self.owner_named(contacts, owner)
            return owned_by(contacts, name), name
        names = owner_names(contacts)
        if len(names) <= 1:
            return list(contacts), None
        if team:
            return list(contacts), "team"
        me = self.me()
        found = match_owner(names, me) if me else []
        if len(found) != 1 and me:
            found = [n for n in names if n.casefold() == me.split()[0].casefold()]
        if len(found) == 1:
            return owned_by(contacts, found[0]), found[0]
        typer.echo(f"pipe: note: {len(names)} owners share this folder and you ({me or 'no owner set'}) are not one "
                   "of them: showing everyone's; --owner NAME shows one owner's (set yours: owner in "
                   ".pipe/local.yaml)", err=True)
        return list(contacts), "team"

    def writable(self) -> None:
        """Refuse to change contacts while git is in the middle of a rebase or merge (a stopped sync).

        A change written then would block `git rebase --continue` and could not be committed.
        """
        if self.checked_git:
            return
        from ..errors import GitError
        from ..gitio import locate

        repo = locate(self.store.root)
        busy = repo.busy() if repo is not None else None
        if busy:
            raise GitError(f"{busy} is in progress in this repository: pipe changes nothing until it is finished",
                           "run 'pipe sync' to see what the stopped sync waits for, then 'pipe resolve CONTACT --mine' "
                           "(or --theirs), or remove the conflict markers and run 'pipe sync --continue'; "
                           "'pipe sync --abort' puts everything back as it was before the sync")
        if repo is not None and not STATE.no_commit and self.store.config["git.autocommit"] and repo.detached():
            raise GitError("HEAD is detached (a commit is checked out, not a branch): a change committed now would "
                           "belong to no branch and be lost at the next checkout; nothing was written",
                           "go back to your branch first: git switch -  (or git switch main); to keep working "
                           "here, make a branch: git switch -c NAME")
        self.checked_git = True
        self.store.begin()

    def refuse_unwritable(self, changes: Sequence[Change] = (), data: dict[str, Any] | None = None) -> None:
        """A usage error, before anything is written, when text to be written holds a NUL, a line break
        or another control character where it does not belong (see model.unwritable_text)."""
        from ..errors import UsageError
        from ..model import unwritable_text

        found = unwritable_text((), data) if data is not None else None
        for change in changes:
            found = found or unwritable_text(change.path, getattr(change, "value", getattr(change, "item", None)))
        if found is not None:
            where, char = found
            what = {"\0": "a NUL", "\t": "a tab", "\n": "a line break", "\r": "a line break", "\u2028": "a line break",
                    "\u2029": "a line break"}.get(char, "a control character")
            raise UsageError(f"the {where} holds {what} (U+{ord(char):04X}); nothing was written",
                             "type it on one line, without control characters (only notes may have line breaks)")

    def save(self, contact: Contact, changes: Sequence[Change]) -> None:
        self.refuse_unwritable(changes)
        self.writable()
        self.commit_hand_edit(contact)
        self.store.apply(contact, changes)
        if contact.problems:  # written anyway (only the changed keys), but the user should know
            n = len(contact.problems)
            typer.echo(f"pipe: warning: {self.store.rel(self.store.path_of(contact.slug))} has {n} problem"
                       f"{'s' if n != 1 else ''} ({contact.problems[0].message}{'; ...' if n > 1 else ''}): "
                       "see pipe check", err=True)

    def commit_hand_edit(self, contact: Contact) -> None:
        """A contact file edited by hand since the last commit is committed on its own first, named as a hand edit
        with the stage change it made, so that the command's commit holds only the command's change."""
        if STATE.no_commit or not self.store.config["git.autocommit"]:
            return
        from ..gitio import commit_by_hand, committed_text, edited_outside
        from ..model import CONTACTS_DIR, stage_letter
        from ..store import Unreadable, contact_of

        rel = self.store.rel(self.store.path_of(contact.slug))
        # The first file saved is asked about alone (git looks at one path: fast at any size); a command that
        # saves more asks once about the whole folder.
        if self.by_hand is None:
            self.by_hand = edited_outside(self.store.root, rel)
            self.asked_all = False
        elif not self.asked_all:
            self.by_hand = edited_outside(self.store.root, CONTACTS_DIR)
            self.asked_all = True
        if rel not in self.by_hand:
            return
        self.by_hand.discard(rel)
        message = f"hand edit of {contact.label}"
        before = committed_text(self.store.root, rel)
        try:
            old = contact_of(before, rel) if before is not None else None
        except Unreadable:
            old = None
        if before is None:
            message += ": a new file"
        elif old is not None and old.stage != contact.stage:
            message += f": stage {stage_letter(old.stage)} -> {stage_letter(contact.stage)} (edited in the file: no gate checked)"
        note = commit_by_hand(self.store.root, rel, message)
        if note:
            typer.echo(note, err=True)

    def create(self, data: dict[str, Any], name: str, company: str | None) -> str:
        """Write a new contact's file; returns its slug."""
        self.refuse_unwritable(data=data)
        self.writable()
        return self.store.create(data, name, company)

    def replace(self, slug: str, text: bytes) -> None:
        """Replace a contact's whole file (an edit by hand that passed validation)."""
        self.writable()
        self.store.replace_text(slug, text)

    def commit(self, message: str, progress: Callable[[int], None] | None = None) -> None:
        """Write this command's changes and record them: one git commit of exactly the changed files (see gitio).

        The message is what `git log --oneline` shows, starting with the command's name:
        `promote Zhang Wei (Huaxin Logistics): C -> B`. Call it once per command, after every save:
        nothing is written before it. `progress` hears how many files are written so far (an import's bar).
        """
        _, note = self.store.finish(message, commit=not STATE.no_commit, progress=progress)
        if note:
            typer.echo(note, err=True)


def session(write: bool = False) -> Session:
    """The pipeline this command works on. `write`: the command changes contacts, so it takes the
    lock now, before it reads anything (a writer that waited then reads what the other one wrote)."""
    from ..store import Store, today_from

    store = Store.open(STATE.directory)
    STATE.opened.append(store)
    if store.config["git.autocommit"] and not STATE.no_commit:  # a clone without the merge driver gets it
        from ..mergesetup import ensure

        note = ensure(store.root, store.config["git.merge"])
        if note:
            typer.echo(note, err=True)
    s = Session(store, today_from(STATE.today))
    if write:
        s.writable()
    for note in store.notes:
        typer.echo(note, err=True)
    store.notes.clear()
    return s


# Which module holds each command, in the order `pipe --help` lists them (a test checks this
# against what the modules register).
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("init", "add", "list", "show", "edit"), "contacts"),
    **dict.fromkeys(("log", "done", "meet", "qualify", "promote", "demote", "defer"), "stages"),
    "review": "review",
    **dict.fromkeys(("board", "stats", "classify"), "board"),
    **dict.fromkeys(("plan", "report"), "week"),
    "check": "check",
    **dict.fromkeys(("import", "export"), "interop"),
    **dict.fromkeys(("history", "undo", "changes", "sync", "resolve", "merge-file"), "git"),
    "help": "help",
}


def register(app: typer.Typer, command: str | None = None) -> None:
    """Every command, or only those of the module that holds `command` when it is one of them."""
    import importlib

    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(f"{__package__}.{name}").register(app)


FORMAT_HELP = "Output format: table, markdown, csv or json."


def source_of(text: str) -> str:
    """The kind of opportunity the user meant (English or Chinese); a usage error otherwise."""
    from ..errors import UsageError
    from ..model import SOURCES, source_id

    found = source_id(text)
    if found is None:
        raise UsageError(f"unknown source '{text}'", f"use one of: {', '.join(SOURCES)}")
    return found


def stage_ids(names: list[str]) -> tuple[str, ...]:
    """Stage ids from what the user typed (ids, letters or Chinese); a usage error names the bad one."""
    from ..errors import UsageError
    from ..model import stage_id, stage_names_help

    out = []
    for name in names:
        sid = stage_id(name)
        if sid is None:
            raise UsageError(f"unknown stage '{name}'", f"use one of: {stage_names_help()}")
        out.append(sid)
    return tuple(out)




def confirm(question: str, default: bool = False, flag: str | None = None, unanswered: bool | None = None) -> bool:
    """Ask on stderr and read the answer from stdin. With nothing to read (a script, cron): `unanswered`
    if given, else a clear error naming the flag that answers in advance."""
    import sys

    from ..errors import UsageError

    while True:
        typer.echo(f"{question} [{'Y/n' if default else 'y/N'}]: ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            typer.echo("", err=True)  # end the question's line before anything else is said
            if unanswered is not None:
                return unanswered
            raise UsageError(f"no answer to '{question}': stdin is closed or not a terminal",
                             f"run it in a terminal{f', or add {flag}' if flag else ''}")
        answer = line.strip().lower()
        if not answer:
            return default
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        typer.echo("Answer y or n.", err=True)
