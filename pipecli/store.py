"""The pipeline folder: find its root, read contacts fast, edit them byte-carefully, write atomically."""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import os
import re
import stat
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .config import CONFIG_FILE, LOCAL_FILE, Config, validate
from .errors import AmbiguousContact, ConcurrentChange, ConfigError, ContactNotFound, FileProblem, NoPipelineError
from .model import CONTACTS_DIR, Change, Contact, contact_from_data, stage_letter

if TYPE_CHECKING:
    from hashlib import sha1
else:
    try:  # the builtin SHA-1: hashlib would load OpenSSL first (2 ms of every command's start)
        from _sha1 import sha1
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import sha1

SUFFIX = ".yaml"
CACHE_DIR = ".pipe"  # this clone's own folder (never committed): local settings, the lock, the journal
LOCK_FILE = "lock"
JOURNAL_NAME = "journal"
SYNC_ONCE_FROM = 64  # files in one command from which they are synced together, not each (see _write_journal)
JOURNAL = f"{CACHE_DIR}/{JOURNAL_NAME}"  # the files a command is writing, so the next one can finish it
TEMP_DIR = "tmp"  # .pipe/tmp: new texts before they are renamed into contacts/
CONFLICT = re.compile(rb"^(<<<<<<<|>>>>>>>)( |$)|^=======$", re.MULTILINE)

# --- parsing ----------------------------------------------------------------------------------

class Broken(NamedTuple):
    """A file that could not be read as a contact at all, with where and why."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


def conflict_line(data: bytes) -> int | None:
    match = CONFLICT.search(data)
    return data.count(b"\n", 0, match.start()) + 1 if match else None


class Unreadable(FileProblem):
    """A file that cannot be parsed at all: where, and why."""

    def __init__(self, rel: str, line: int | None, problem: str, hint: str) -> None:
        self.broken = Broken(rel, line, problem)
        super().__init__(str(self.broken), hint)


def parse(data: bytes, rel: str) -> Any:
    """The file's plain data, or Unreadable with path and line when it cannot be parsed."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise Unreadable(rel, None, "not UTF-8 text (it is UTF-16 or UTF-32)", "save the file as UTF-8")
    line = conflict_line(data)
    if line is not None:
        raise Unreadable(rel, line, "unresolved git merge conflict",
                         "keep the right version, remove the <<<<<<< ======= >>>>>>> lines, then 'git add' the file")
    import yaml

    from .yamlread import Refused, load_yaml

    try:
        return load_yaml(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and opened is not None and opened is not mark:
            problem += f" ({context} at line {opened.line + 1})"
        line = min(mark.line + 1, data.count(b"\n") or 1) if mark is not None else None
        raise Unreadable(rel, line, f"refused: {problem}" if isinstance(exc, Refused) else f"YAML does not parse: {problem}",
                         f"fix it by hand (pipe edit {Path(rel).stem}), then run 'pipe check'") from None
    except UnicodeDecodeError:
        raise Unreadable(rel, None, "not UTF-8 text", "save the file as UTF-8") from None


FATAL = ((), ("name",), ("stage",))  # without these a file is no contact: never guess a class for it


def contact_of(data: bytes, rel: str) -> Contact:
    """The contact in a file's bytes, read from disk or from git.

    Unreadable when it does not parse, or when it has no mapping, name or known stage: such a file
    is reported and skipped like a broken one, not counted as an opportunity.
    """
    contact = contact_from_data(Path(rel).stem, parse(data, rel))
    for problem in contact.problems:
        if problem.key in FATAL:
            raise Unreadable(rel, line_of(data, problem.key), problem.message,
                             f"fix it by hand (pipe edit {Path(rel).stem}), then run 'pipe check'")
    return contact


# --- only what is what it claims to be ----------------------------------------------------------
# A clone can hold anything: a contact file that is a symlink to a private key, a FIFO that would
# block a reader forever, a link to /dev/zero, a folder named x.yaml. pipe reads and writes only
# regular files and real folders inside the pipeline, and only up to a size limit.

SETTINGS_MAX_BYTES = 1024 * 1024  # pipe.yaml and .pipe/local.yaml, read before any limit is set
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


class NotPlain(Exception):
    """A path pipe will not read: not a regular file (what it is instead), or over the size limit."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def kind_of(mode: int) -> str | None:
    """What a path is when it is not a regular file ("a symbolic link", "a folder" ...); None for a file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def too_big(size: int, limit: int, key: str | None) -> str:
    where = f" ({key} in {CONFIG_FILE})" if key else ""
    return f"is {size:,} bytes, over the limit of {limit:,}{where}: not read"


def read_plain(path: str | Path, limit: int, dir_fd: int | None = None, key: str | None = "files.max_size_kb") -> bytes:
    """A regular file's bytes, never through a symlink, never blocking on a FIFO, never more than `limit`.

    NotPlain says why a path is refused; other OSErrors (missing, no permission) pass through.
    """
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd) if dir_fd is not None else os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise NotPlain("is a symbolic link: pipe reads only regular files inside the pipeline") from None
        raise
    try:
        st = os.fstat(fd)
        kind = kind_of(st.st_mode)
        if kind is not None:
            raise NotPlain(f"is {kind}: pipe reads only regular files inside the pipeline")
        if st.st_size > limit:
            raise NotPlain(too_big(st.st_size, limit, key))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, max(limit + 1 - size, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise NotPlain(too_big(size, limit, key))
        return b"".join(chunks)
    finally:
        os.close(fd)


def folder_problem(path: Path) -> str | None:
    """Why a folder of the pipeline cannot be used (a symlink, a file ...), or None (fine, or not there)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(st.st_mode):
        return None
    kind = kind_of(st.st_mode) or "a file"
    if stat.S_ISLNK(st.st_mode):
        with contextlib.suppress(OSError):
            kind += f" (to {os.readlink(path)})"
    return f"is {kind}, not a folder"


# --- slugs ------------------------------------------------------------------------------------

def _has_cjk(text: str) -> bool:
    # Not a regular expression: compiling that character class costs 1.3 ms of every start-up.
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


# Letters that Unicode does not decompose into a base letter (ø is not o + a mark), and Cyrillic;
# applied after lower-casing.
_LATIN = str.maketrans({
    **dict(zip("øæœßđłþðıħ", ["o", "ae", "oe", "ss", "d", "l", "th", "d", "i", "h"], strict=True)),
    **dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l",
           "m", "n", "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
           strict=True)),
})


def slugify(text: str) -> str:
    """ASCII lower-case words joined by '-': Chinese becomes pinyin; nothing that could leave the folder."""
    return "-".join(ascii_words(text))[:60].rstrip("-")


_ALNUM = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=1 << 16)  # a lookup that misses compares every name up to three ways
def ascii_words(text: str) -> tuple[str, ...]:
    """The words of a name as typed on any keyboard: lower case, no accents or punctuation, Chinese as pinyin
    (张伟 -> zhang, wei; Seán O'Brien -> sean, o, brien)."""
    if text.isascii():  # most names: nothing to normalise or decompose
        return tuple(_ALNUM.findall(text.lower()))
    text = unicodedata.normalize("NFKC", text)
    if _has_cjk(text):
        from pypinyin import lazy_pinyin

        text = " ".join(lazy_pinyin(text))
    ascii_text = unicodedata.normalize("NFKD", text.lower().translate(_LATIN)).encode("ascii", "ignore").decode("ascii")
    return tuple(_ALNUM.findall(ascii_text))


@functools.lru_cache(maxsize=1 << 16)
def _spelled(text: str) -> tuple[str, tuple[int, ...]]:
    """A name's words run together (o'brien -> obrien) and where each word starts in that."""
    words = ascii_words(text)
    starts, at = [], 0
    for word in words:
        starts.append(at)
        at += len(word)
    return "".join(words), tuple(starts)


def _begins(typed: str, spelled: tuple[str, tuple[int, ...]]) -> bool:
    """Whether the typed letters begin at a word and run on through the words after it (`obrien` in
    o-brien, `annab` in anna-berg, `wei` in zhang-wei)."""
    compact, starts = spelled
    return typed in compact and any(compact.startswith(typed, at) for at in starts)


def is_safe_slug(slug: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug))


# --- the pipeline -----------------------------------------------------------------------------


def find_root(explicit: str | None, start: Path | None = None) -> Path:
    """--dir, else $PIPE_DIR, else the nearest folder upwards that holds pipe.yaml (as git finds .git)."""
    chosen = explicit or os.environ.get("PIPE_DIR")
    if chosen:
        root = Path(chosen).expanduser()
        if not (root / CONFIG_FILE).is_file():
            outer = next((f for f in root.resolve().parents if (f / CONFIG_FILE).is_file()), None)
            hint = f"did you mean -C {outer}?" if outer else f"create one with 'pipe init {chosen}'"
            raise NoPipelineError(f"no pipeline in {chosen}: it has no {CONFIG_FILE}", hint)
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NoPipelineError("no pipeline here: no pipe.yaml in this folder or any above it",
                          "create one with 'pipe init', or point to one with -C DIR or PIPE_DIR")


def load_config(root: Path) -> Config:
    """pipe.yaml (shared through git), overlaid with this clone's .pipe/local.yaml when there is one."""
    shared, local = _settings_data(root)
    config = validate(shared, CONFIG_FILE)
    if local is not None:
        config = config.overlaid(validate(local, LOCAL_FILE))
    return config


_ABSENT = (-1, -1, -1, -1)  # the stat key of a settings file that is not there


def _settings_data(root: Path) -> tuple[Any, Any]:
    """pipe.yaml's data and .pipe/local.yaml's (None without one), from the settings cache when
    it can be trusted (the rules of the contacts cache, see cache.py), else parsed and cached."""
    from . import cache

    started = time.time_ns()
    path = cache.path_in(root, cache.SETTINGS_FILE)
    cache_started, old = cache.read(path)
    fresh: dict[str, cache.Entry] = {}
    write = False
    for rel in (CONFIG_FILE, LOCAL_FILE):
        file = root / rel
        try:
            if rel == LOCAL_FILE and folder_problem(root / CACHE_DIR):
                raise FileNotFoundError(rel)  # never read through a .pipe that is a link (Store.folder_problems says so)
            key = cache.key_of(os.lstat(file))
        except FileNotFoundError:
            if rel != LOCAL_FILE:
                raise ConfigError(f"{CONFIG_FILE} is gone from {root}", "create one with 'pipe init'") from None
            key = _ABSENT
        seen = old.get(rel)
        if seen is not None and cache.trusted(seen, key, cache_started):
            fresh[rel] = seen
        else:
            fresh[rel] = (key, cache.CONTACT, None if key == _ABSENT else _read_settings(file, rel), "")
            write = write or cache.worth_writing(seen, fresh[rel], started)
    if write:
        cache.write(path, started, fresh)
    return fresh[CONFIG_FILE][2], fresh[LOCAL_FILE][2]


def settings_problems(root: Path) -> list[Broken]:
    """Every problem in pipe.yaml and .pipe/local.yaml, each at its line (for pipe check: a command
    stops at the first)."""
    from .config import SettingProblem

    found: list[Broken] = []
    for rel in (CONFIG_FILE, LOCAL_FILE):
        path = root / rel
        if not os.path.lexists(path) or (rel == LOCAL_FILE and folder_problem(root / CACHE_DIR)):
            continue
        try:
            data = _read_settings(path, rel)
        except ConfigError as exc:  # does not parse: the message has the file and line
            head, _, rest = exc.message.partition(": ")
            where, _, line = head.partition(":")
            found.append(Broken(where, int(line) if line.isdigit() else None, rest))
            continue
        problems: list[SettingProblem] = []
        validate(data, rel, problems)
        text = read_plain(path, SETTINGS_MAX_BYTES, key=None)
        for problem in problems:
            more = f" ({problem.hint})" if problem.hint and problem.hint.startswith("did you mean") else ""
            found.append(Broken(rel, line_of(text, problem.key), problem.message + more))
    return sorted(found, key=lambda b: (b.path, b.line or 0))


def _read_settings(path: Path, rel: str) -> Any:
    import yaml

    from .yamlread import ContactLoader, Refused

    try:
        data = read_plain(path, SETTINGS_MAX_BYTES, key=None)
    except NotPlain as exc:
        raise ConfigError(f"{rel}: {exc.problem}", f"make {rel} a plain file of your own (replace a link by a copy)") from None
    try:
        return yaml.load(data, Loader=ContactLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        said = "refused" if isinstance(exc, Refused) else "does not parse"
        raise ConfigError(f"{rel}{line}: {said}: {getattr(exc, 'problem', exc)}", f"fix {rel} by hand") from None


@dataclass
class Loaded:
    contacts: list[Contact]
    broken: list[Broken]


@dataclass
class _Pending:
    """A write staged by a transaction: the file's new bytes, and whether the file is new."""

    data: bytes
    new: bool


@dataclass
class Store:
    """One pipeline folder. The only code that reads or writes contact files.

    Writers hold the pipeline's lock (.pipe/lock) from before they read until their commit is
    made, so two pipe commands never interleave. Inside a transaction (begin ... finish) every
    write is staged; finish writes them all: one file by an atomic rename, several through a
    journal (.pipe/journal) that the next pipe command finishes if this one is killed, so a
    command's files land together, in one commit, or not at all.
    """

    root: Path
    config: Config = field(default_factory=Config)
    _digests: dict[str, str] = field(default_factory=dict)
    _entries: dict[str, Any] = field(default_factory=dict)  # the last load_all's cache entries
    _cache_seen: tuple[int, dict[str, Any]] | None = None
    _pending: dict[str, _Pending] | None = None  # staged writes while a transaction is open
    _lock_fd: int | None = None
    notes: list[str] = field(default_factory=list)  # what the user should hear (a finished interrupted command)

    @classmethod
    def open(cls, explicit: str | None = None) -> Store:
        root = find_root(explicit)
        store = cls(root, load_config(root))
        if os.path.lexists(root / JOURNAL):  # a command was killed while writing: finish its work first
            with contextlib.suppress(ConcurrentChange, FileProblem):
                store.lock()
                store.unlock()
        return store

    @property
    def contacts_dir(self) -> Path:
        return self.root / CONTACTS_DIR

    @property
    def max_bytes(self) -> int:
        return int(self.config["files.max_size_kb"]) * 1024

    def path_of(self, slug: str) -> Path:
        return self.contacts_dir / f"{slug}{SUFFIX}"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def folder_problems(self) -> list[Broken]:
        """contacts/ or .pipe/ that are not real folders (a symlink elsewhere...): pipe does not use them."""
        found = []
        for name, use in ((CONTACTS_DIR, "its contacts are skipped; make it a real folder"),
                          (CACHE_DIR, "its local settings are ignored and nothing can be written; remove it")):
            problem = folder_problem(self.root / name)
            if problem:
                found.append(Broken(name, None, f"{problem}: pipe never reads or writes through it, so {use}"))
        return found

    def slugs(self) -> list[str]:
        """The contact files' slugs (their names without .yaml), sorted; none when contacts/ is not a real folder."""
        if folder_problem(self.contacts_dir):
            return []
        try:
            names = os.listdir(self.contacts_dir)
        except FileNotFoundError:
            return []
        slugs = [n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX) and not n.startswith(".")]
        slugs.sort()
        return slugs

    # reading

    def _bytes(self, slug: str, remember: bool = True) -> bytes:
        """A contact file's bytes (staged ones first), refused when it is not what it claims to be.

        `remember`: take this as the version read (a later write refuses a file changed since)."""
        pending = self._pending.get(slug) if self._pending is not None else None
        if pending is not None:
            return pending.data
        path = self.path_of(slug)
        problem = folder_problem(self.contacts_dir)
        if problem:
            raise FileProblem(f"{CONTACTS_DIR} {problem}: pipe never reads or writes through it; nothing was written",
                              "make contacts/ a real folder inside the pipeline")
        try:
            data = read_plain(path, self.max_bytes)
        except NotPlain as exc:
            raise FileProblem(f"{self.rel(path)} {exc.problem}", "make it a plain file of its own (pipe check lists "
                              "what pipe skips)") from None
        if remember:
            self._digests[slug] = sha1(data).hexdigest()
        return data

    def _read(self, slug: str) -> Contact:
        return contact_of(self._bytes(slug), self.rel(self.path_of(slug)))

    def text_of(self, slug: str) -> str:
        """A contact file's text as it is on disk (remembered, so a later write can refuse a concurrent change)."""
        return self._bytes(slug).decode("utf-8")

    def is_contact_file(self, slug: str) -> bool:
        """Whether contacts/<slug>.yaml is there as a regular file (not a link, a FIFO, a folder)."""
        if not is_safe_slug(slug) or folder_problem(self.contacts_dir):
            return False
        try:
            return stat.S_ISREG(os.lstat(self.path_of(slug)).st_mode)
        except OSError:
            return False

    def load(self, slug: str) -> Contact:
        try:
            return self._read(slug)
        except FileNotFoundError:
            raise ContactNotFound(f"no contact '{slug}'", "list them with 'pipe list --all'") from None

    def load_all(self) -> Loaded:
        """Every contact; a file that cannot be parsed is reported as Broken and skipped, never written.

        Files unchanged since the cache saw them come from the cache; the rest are parsed.
        """
        # Building 10,000 contacts makes ~100,000 tuples; the cyclic GC would walk the growing heap
        # again and again (a quarter of a warm load). They hold no cycles: pause it meanwhile, then
        # freeze what was loaded so later collections do not walk it either.
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._load_all()
        finally:
            gc.freeze()
            if paused:
                gc.enable()

    def _load_all(self) -> Loaded:
        from . import cache
        from .model import from_plain, to_plain

        started = time.time_ns()
        cache_started, old = self._read_cache()
        self._cache_seen = None  # used up: what this load writes is newer
        self._digests.clear()  # what this load reads is newer than any file read before it
        fresh: dict[str, cache.Entry] = {}
        contacts: list[Contact] = []
        broken: list[Broken] = self.folder_problems()
        worth_writing = False
        folder = f"{self.contacts_dir}{os.sep}"
        key_of, trusted, limit = cache.key_of, cache.trusted, self.max_bytes
        with _opened_dir(self.contacts_dir) as fd:
            # stat relative to the open folder: the kernel walks one name, not the whole path
            lstat = functools.partial(os.stat, dir_fd=fd, follow_symlinks=False) if fd is not None else os.lstat
            for slug in self.slugs():
                name = slug + SUFFIX
                rel = f"{CONTACTS_DIR}/{name}"
                try:
                    # before reading: a change after this stat shows as a new stat next time
                    st = lstat(name) if fd is not None else lstat(folder + name)
                    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:  # never read: not cached either
                        kind = kind_of(st.st_mode)
                        broken.append(Broken(rel, None, f"is {kind}: pipe reads only regular files inside the pipeline; "
                                             "skipped" if kind else too_big(st.st_size, limit, "files.max_size_kb")))
                        continue
                    key = key_of(st)
                    seen: cache.Entry | None = old.get(slug)
                    entry: cache.Entry
                    if seen is not None and trusted(seen, key, cache_started):
                        entry = seen
                    else:
                        data = read_plain(name if fd is not None else folder + name, limit, dir_fd=fd)
                        digest = sha1(data).hexdigest()
                        try:
                            entry = (key, cache.CONTACT, to_plain(contact_of(data, rel)), digest)
                        except Unreadable as exc:
                            entry = (key, cache.BROKEN, tuple(exc.broken), digest)
                        worth_writing = worth_writing or cache.worth_writing(seen, entry, started)
                except NotPlain as exc:  # it changed into a link, a FIFO or a big file since the stat
                    broken.append(Broken(rel, None, f"{exc.problem}; skipped"))
                    continue
                except OSError as exc:
                    broken.append(Broken(rel, None, f"cannot read: {exc.strerror}"))
                    continue
                fresh[slug] = entry
                if entry[1] == cache.CONTACT:
                    contacts.append(from_plain(entry[2]))
                else:
                    broken.append(Broken(*entry[2]))
        self._entries = fresh  # the digests of what was read, for _refuse_if_changed
        if worth_writing or not fresh.keys() >= old.keys():
            cache.write(cache.path_in(self.root), started, fresh)
        return Loaded(contacts, broken)

    def _read_cache(self) -> tuple[int, dict[str, Any]]:
        """The cache as on disk, read once per process: a name looked up by id first, then by the
        whole folder, would otherwise read it twice."""
        from . import cache

        if self._cache_seen is None:
            self._cache_seen = cache.read(cache.path_in(self.root))
        return self._cache_seen

    def find_by_id(self, cid: str) -> Contact | None:
        """A contact by id through the cache's index, checked against its file; None if not known there."""
        from . import cache

        _, entries = self._read_cache()
        for slug, entry in entries.items():
            if entry[1] == cache.CONTACT and entry[2][1] == cid:
                try:
                    found = self.load(slug)
                except (ContactNotFound, FileProblem, OSError):
                    return None
                return found if found.id == cid else None
        return None

    def find_quick(self, query: str) -> Contact | None:
        """A contact named by its slug or id, found without parsing the folder; None otherwise."""
        query = query.strip()
        if self.is_contact_file(query):
            return self.load(query)
        return self.find_by_id(query)

    def check(self, today: date, loaded: Loaded | None = None) -> list[Broken]:
        """Every problem in every file, each located at its line: parse errors, schema, cross-file.

        `loaded` is the folder as a command already loaded it (to read it once).
        """
        from .checks import contact_problems, cross_problems

        loaded = loaded if loaded is not None else self.load_all()
        found: list[Broken] = []
        located: list[tuple[Contact, Any]] = []
        for broken in loaded.broken:
            if not broken.path.startswith(f"{CONTACTS_DIR}/"):  # contacts/ or .pipe/ themselves: no file to parse
                found.append(broken)
                continue
            try:  # a file that parses but is no contact (no name or stage): report all its problems
                raw = read_plain(self.root / broken.path, self.max_bytes)
                whole = contact_from_data(Path(broken.path).stem, parse(raw, broken.path))
                located += [(whole, p) for p in contact_problems(whole, today)]
            except (Unreadable, NotPlain, OSError):
                found.append(broken)
        located += [(c, p) for c in loaded.contacts for p in contact_problems(c, today)]
        located += cross_problems(loaded.contacts)
        texts: dict[str, bytes] = {}
        for contact, problem in located:
            data = texts.get(contact.slug)
            if data is None:
                try:
                    data = texts[contact.slug] = read_plain(self.path_of(contact.slug), self.max_bytes)
                except (NotPlain, OSError):
                    data = texts[contact.slug] = b""
            found.append(Broken(self.rel(self.path_of(contact.slug)), line_of(data, problem.key), problem.message))
        found += self.rule_problems()
        return sorted(found, key=lambda b: (b.path, b.line or 0))

    def rule_problems(self) -> list[Broken]:
        """The user's rules in pipe.yaml that do not read, each at its line."""
        from .rules import rule_problems

        problems = rule_problems(self.config.values)
        data = read_plain(self.root / CONFIG_FILE, SETTINGS_MAX_BYTES, key=None) if problems else b""
        return [Broken(CONFIG_FILE, line_of(data, ("rules", "custom", *p.key)), p.message) for p in problems]

    # the lock and the transaction

    def _own_folder(self) -> Path:
        """.pipe/, made when missing; refused when it is a link or a file (nothing is written through it)."""
        folder = self.root / CACHE_DIR
        problem = folder_problem(folder)
        if problem:
            raise FileProblem(f"{CACHE_DIR} {problem}: pipe never writes through it; nothing was written",
                              f"remove it (it holds only this clone's own files): rm {CACHE_DIR}, then run the command again")
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise FileProblem(f"cannot write in {self.root}: {exc.strerror}; nothing was written",
                              "check the folder's permissions and free space") from None
        return folder

    def lock(self) -> None:
        """Take the pipeline's write lock (waiting up to files.lock_timeout seconds); then finish any
        command that was killed while writing, and clear the temporary files such a command left."""
        if self._lock_fd is not None:
            return
        from .locking import LockTimeout, acquire

        folder = self._own_folder()
        timeout = float(self.config["files.lock_timeout"])
        try:
            self._lock_fd = acquire(str(folder / LOCK_FILE), timeout)
        except LockTimeout:
            raise ConcurrentChange(f"another pipe command is changing this pipeline (waited {timeout:g} s for "
                                   f"{CACHE_DIR}/{LOCK_FILE}); nothing was written",
                                   "run the command again when that one has finished (a stopped command never "
                                   "leaves the lock behind; files.lock_timeout in pipe.yaml sets the wait)") from None
        except OSError as exc:
            raise FileProblem(f"cannot lock {CACHE_DIR}/{LOCK_FILE}: {exc.strerror}; nothing was written",
                              f"check {CACHE_DIR}/ and its permissions") from None
        self._recover()

    def unlock(self) -> None:
        if self._lock_fd is not None:
            from .locking import release

            release(self._lock_fd)
            self._lock_fd = None

    def begin(self) -> None:
        """Lock, and stage every write from now until finish(): they land together or not at all."""
        self.lock()
        if self._pending is None:
            self._pending = {}

    def finish(self, message: str, commit: bool = True,
               progress: Callable[[int], None] | None = None) -> tuple[list[Path], str | None]:
        """Write what the transaction staged and commit it as one commit; (the files written, a note for the user).

        One file is replaced by an atomic rename. Several go through the journal: all their new
        texts are written and flushed first, then the journal naming them, then the renames, then
        the commit. A command killed before the journal is complete changed nothing; one killed
        after it is finished (written and committed) by the next pipe command.
        """
        pending, self._pending = self._pending or {}, None
        try:
            if not pending:
                return [], None
            items = sorted(pending.items())
            paths = [self.path_of(slug) for slug, _ in items]
            news = [self.path_of(slug) for slug, p in items if p.new]
            if len(items) == 1:
                slug, one = items[0]
                self._put_now(slug, one.data, one.new, tmp_dir=self._temp_folder())
                note = self._commit(paths, news, message) if commit else None
                return paths, note
            journal = self._write_journal(items, message, commit, progress)
            note = self._finish_journal(journal)
            return paths, note
        finally:
            self.unlock()

    def _commit(self, paths: Sequence[Path], news: Sequence[Path], message: str) -> str | None:
        from .gitio import commit_changes

        return commit_changes(self.root, paths, message, self.config, new=news)

    def _temp_folder(self) -> Path | None:
        """.pipe/tmp when it is on the same file system as contacts/ (a rename cannot cross file systems)."""
        folder = self.root / CACHE_DIR / TEMP_DIR
        try:
            folder.mkdir(exist_ok=True)
            if os.stat(folder).st_dev == os.stat(self.contacts_dir).st_dev:
                return folder
        except OSError:
            pass
        return None

    def _write_journal(self, items: list[tuple[str, _Pending]], message: str, commit: bool,
                       progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        self.contacts_dir.mkdir(parents=True, exist_ok=True)
        tmp_dir = self._temp_folder()
        written: list[str] = []
        # Many files (an import): one sync for all before the journal, not an fsync each (10,000 of
        # those take minutes on a disk); the journal is written only once every one is on disk either way.
        each = len(items) < SYNC_ONCE_FROM
        try:
            files = []
            for done, (slug, pending) in enumerate(items, 1):
                path = self.path_of(slug)
                if pending.new:
                    if os.path.lexists(path):
                        raise FileProblem(f"{self.rel(path)} appeared while pipe was working; nothing written",
                                          "run the command again")
                else:
                    self._check_target(slug, path)
                tmp = _temp_with(path, pending.data, folder=tmp_dir, mode_of=None if pending.new else path, sync=each)
                written.append(tmp)
                # relpath: mkstemp names the file by its absolute path, the root may be relative (-C sales)
                files.append([Path(os.path.relpath(tmp, self.root)).as_posix(), self.rel(path), pending.new])
                if progress is not None:
                    progress(done)
            if not each:
                sync_all = getattr(os, "sync", None)
                if sync_all is not None:
                    sync_all()
                else:  # pragma: no cover - Windows has no sync(): flush each file after all
                    for tmp in written:
                        with open(tmp, "rb+") as handle:
                            os.fsync(handle.fileno())
            journal = {"format": 1, "message": message, "commit": commit, "files": files}
            import json

            write_atomic(self.root / JOURNAL, json.dumps(journal, ensure_ascii=False).encode("utf-8"))
        except BaseException:
            for tmp in written:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise
        for slug, pending in items:
            self._digests[slug] = sha1(pending.data).hexdigest()
        return journal

    def _finish_journal(self, journal: dict[str, Any], recovering: bool = False) -> str | None:
        """Rename every file the journal names into place, commit them as one, then drop the journal.

        `recovering`: the command that wrote the journal was killed, perhaps after its commit was made
        or while its git was still making it (git outlives a killed pipe): wait for git's index lock,
        and name no file as new, since taking back the "new" files of a failed commit would stage their
        deletion when they were committed already (commit_changes makes the untracked ones known)."""
        paths, news = [], []
        for tmp, target, new in journal["files"]:
            source, path = self.root / tmp, self.root / target
            if os.path.lexists(source):
                try:
                    os.replace(source, path)
                except OSError as exc:
                    raise FileProblem(f"{target}: cannot be put in place: {exc.strerror}; the journal keeps this "
                                      "command's files", "fix the cause; the next pipe command finishes it") from None
            paths.append(path)
            if new:
                news.append(path)
        _sync_folder(self.contacts_dir)
        if recovering:
            news = []
            self._wait_for_git()
        note = self._commit(paths, news, journal["message"]) if journal["commit"] else None
        os.unlink(self.root / JOURNAL)
        return note

    def _wait_for_git(self, seconds: float = 5.0) -> None:
        """Until git's index lock is gone (a commit still being made), at most `seconds`."""
        from .gitio import locate

        repo = locate(self.root)
        deadline = time.monotonic() + seconds
        while repo is not None and (repo.gitdir / "index.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _recover(self) -> None:
        """Under the lock: finish the command a journal says was interrupted, and remove stale temporary files."""
        path = self.root / JOURNAL
        if os.path.lexists(path):
            try:
                journal = _valid_journal(read_plain(path, 64 * 1024 * 1024, key=None))
            except (NotPlain, OSError, ValueError) as exc:
                aside = path.with_name(f"{JOURNAL_NAME}.rejected")
                os.replace(path, aside)
                self.notes.append(f"pipe: warning: {self.rel(path)} did not read ({exc}); moved aside to "
                                  f"{self.rel(aside)}, nothing of it was applied")
            else:
                note = self._finish_journal(journal, recovering=True)
                n = len(journal["files"])
                committed = " and committed" if journal["commit"] else ""
                self.notes.append(f"pipe: note: finished an interrupted command: '{journal['message']}' "
                                  f"({n} file{'s' if n != 1 else ''} written{committed})")
                if note:
                    self.notes.append(note)
        tmp_dir = self.root / CACHE_DIR / TEMP_DIR
        with contextlib.suppress(OSError):
            for name in os.listdir(tmp_dir):  # no writer holds the lock, and the journal is done: all stale
                with contextlib.suppress(OSError):
                    os.unlink(tmp_dir / name)

    # writing

    def create(self, data: dict[str, Any], name: str, company: str | None) -> str:
        """Write (or stage) a new contact file under a fresh slug; never overwrites. Returns the slug."""
        from .yamledit import dump_new

        problem = folder_problem(self.contacts_dir)
        if problem:
            raise FileProblem(f"{CONTACTS_DIR} {problem}: pipe never reads or writes through it; nothing was written",
                              "make contacts/ a real folder inside the pipeline")
        self.contacts_dir.mkdir(parents=True, exist_ok=True)
        text = dump_new(data).encode("utf-8")
        for slug in candidate_slugs(name, company):
            if self._pending is not None:
                if slug in self._pending or os.path.lexists(self.path_of(slug)):
                    continue
                self._pending[slug] = _Pending(text, True)
            else:
                try:
                    _write_new(self.path_of(slug), text)
                except FileExistsError:
                    continue
                self._digests[slug] = sha1(text).hexdigest()
            return slug
        raise FileProblem("could not find a free file name")  # pragma: no cover - candidates never run out

    def apply(self, contact: Contact, changes: Sequence[Change]) -> Path:
        """Apply changes to the contact's file, refusing if the file changed since it was read."""
        from .yamledit import EditError, apply_changes

        path = self.path_of(contact.slug)
        staged = self._pending is not None and contact.slug in self._pending
        old = self._bytes(contact.slug, remember=False)
        if not staged:  # a staged text is this command's own
            self._refuse_if_changed(contact.slug, old, path)
        try:
            new = apply_changes(old.decode("utf-8"), changes).encode("utf-8")
        except EditError as exc:
            raise FileProblem(f"{self.rel(path)}: cannot change it: {exc}", "fix the file by hand (pipe edit)") from None
        self._put(contact.slug, new)
        return path

    def replace_text(self, slug: str, new: bytes) -> Path:
        self._put(slug, new)
        return self.path_of(slug)

    def _put(self, slug: str, data: bytes) -> None:
        if self._pending is not None:  # the digest of what was read stays, for the check when it is written
            was = self._pending.get(slug)
            self._pending[slug] = _Pending(data, was is not None and was.new)
            return
        self._put_now(slug, data, new=False)

    def _put_now(self, slug: str, data: bytes, new: bool, tmp_dir: Path | None = None) -> None:
        path = self.path_of(slug)
        if new:
            _write_new(path, data, folder=tmp_dir)
        else:
            write_atomic(path, data, before_replace=lambda: self._check_target(slug, path), folder=tmp_dir)
        self._digests[slug] = sha1(data).hexdigest()

    def _check_target(self, slug: str, path: Path) -> None:
        """Refuse to replace what is not a regular file inside contacts/, or a file changed since pipe read it."""
        try:
            current = read_plain(path, max(self.max_bytes, 1 << 30))
        except NotPlain as exc:
            raise FileProblem(f"{self.rel(path)} {exc.problem}; nothing was written", "pipe check lists it") from None
        self._refuse_if_changed(slug, current, path)

    def _refuse_if_changed(self, slug: str, data: bytes, path: Path) -> None:
        seen = self._digests.get(slug)
        if seen is None and slug in self._entries:
            seen = self._entries[slug][3]
        if seen is not None and seen != sha1(data).hexdigest():
            raise ConcurrentChange(f"{self.rel(path)} changed on disk while pipe was working on it; nothing written",
                                   "run the command again")


def candidate_slugs(name: str, company: str | None) -> Iterable[str]:
    base = slugify(name) or "contact"
    yield base
    if company and slugify(company):
        with_company = f"{base}-{slugify(company)}"[:60].rstrip("-")
        yield with_company
        base = with_company
    n = 2
    while True:
        yield f"{base}-{n}"
        n += 1


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def pick(query: str, contacts: Sequence[Contact]) -> Contact:
    """Resolve a query against loaded contacts: id, slug, unique slug prefix, name, unique name part; then
    forgivingly, ignoring case, accents and punctuation, Chinese names by their pinyin (`obrien` finds
    O'Brien, `zhang wei` and `zhangwei` find 张伟), any word of the name or company. A miss suggests the
    closest names."""
    q = _norm(query)
    for test in (
        lambda c: c.id == query or c.slug == q,
        lambda c: c.slug.startswith(q),
        lambda c: _norm(c.name) == q,
        lambda c: q in _norm(c.name) or (c.company is not None and q == _norm(c.company)),
    ):
        if (one := _one_of([c for c in contacts if test(c)], query)) is not None:
            return one
    typed = "".join(ascii_words(query))
    if typed:  # the whole name spelled alike, else any word of the name or the company on
        spelled = [(c, _spelled(c.name)) for c in contacts]
        if (one := _one_of([c for c, (compact, _) in spelled if compact == typed], query)) is not None:
            return one
        started = [c for c, name in spelled
                   if _begins(typed, name) or (c.company is not None and _begins(typed, _spelled(c.company)))]
        if (one := _one_of(started, query)) is not None:
            return one
    close = closest(typed or q, contacts)
    maybe = f"; did you mean {' or '.join([', '.join(close[:-1]), close[-1]] if len(close) > 1 else close)}?" if close else ""
    raise ContactNotFound(f"no contact matches '{query}'{maybe}", "see 'pipe list --all' for names and slugs")


def _one_of(found: list[Contact], query: str) -> Contact | None:
    """The one contact found; AmbiguousContact listing them when several; None when none."""
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        names = "\n  ".join(f"{c.slug}  {c.label}  [{stage_letter(c.stage)}]" for c in found[:20])
        raise AmbiguousContact(f"'{query}' matches {len(found)} contacts:\n  {names}",
                               "name one by its slug (the first column)")
    return None


def closest(typed: str, contacts: Sequence[Contact], n: int = 3) -> list[str]:
    """The slugs of the contacts whose slug, name or a word of it is closest to what was typed: the best
    match and those nearly as close (difflib's ratio, at least 0.6 as get_close_matches asks)."""
    from difflib import SequenceMatcher

    if not typed:
        return []
    owners: dict[str, list[str]] = {}
    for c in contacts:
        words = ascii_words(c.name)
        for key in {_spelled(c.name)[0], *words}:
            owners.setdefault(key, []).append(c.slug)
    matcher = SequenceMatcher()
    matcher.set_seq2(typed)
    scored: list[tuple[float, str]] = []
    for key in owners:
        matcher.set_seq1(key)
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6 and (score := matcher.ratio()) >= 0.6:
            scored.append((score, key))
    scored.sort(key=lambda sk: (-sk[0], sk[1]))
    out: list[str] = []
    for score, key in scored:
        if score < scored[0][0] - 0.05:
            break
        out += [slug for slug in owners[key] if slug not in out]
    return out[:n]


def _write_new(path: Path, data: bytes, folder: Path | None = None) -> None:
    tmp = _temp_with(path, data, folder)
    try:
        os.link(tmp, path)  # fails if the name is taken: never overwrites
    finally:
        os.unlink(tmp)


def _new_file_mode() -> int:
    """The mode a new file gets from the user's umask (mkstemp alone would make it private, 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _temp_with(path: Path, data: bytes, folder: Path | None = None, mode_of: Path | None = None,
               sync: bool = True) -> str:
    """`data` in a new temporary file, flushed to disk (unless `sync` is false: the caller syncs them all),
    with the mode `mode_of` has (or a new file's): in `folder`, else beside `path`. Removed again if
    anything fails, a full disk included."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder or path.parent)
    try:
        mode = _new_file_mode()
        if mode_of is not None:
            with contextlib.suppress(FileNotFoundError):
                mode = os.lstat(mode_of).st_mode & 0o7777
        with contextlib.suppress(OSError):  # a file system without modes keeps its own
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
    except OSError as exc:  # a full disk, a file size limit: say which file could not be written
        os.unlink(tmp)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _sync_folder(path: Path) -> None:
    """Flush a folder's entries (the renames into it) to disk, where the platform can."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _valid_journal(data: bytes) -> dict[str, Any]:
    """The journal's content, checked to name only pipe's own temporary files and contact files:
    .pipe/ is this clone's own, but a repository could still carry a forged one."""
    import json

    journal = json.loads(data.decode("utf-8"))
    if not (isinstance(journal, dict) and journal.get("format") == 1 and isinstance(journal.get("message"), str)
            and isinstance(journal.get("commit"), bool) and isinstance(journal.get("files"), list)):
        raise ValueError("not a journal pipe wrote")
    for entry in journal["files"]:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], bool)
                and all(isinstance(part, str) for part in entry[:2])):
            raise ValueError("not a journal pipe wrote")
        tmp, target = entry[0].split("/"), entry[1].split("/")
        tmp_ok = (len(tmp) == 3 and tmp[:2] == [CACHE_DIR, TEMP_DIR]) or (len(tmp) == 2 and tmp[0] == CONTACTS_DIR)
        if not (tmp_ok and tmp[-1].startswith(".") and tmp[-1].endswith(".tmp") and len(target) == 2
                and target[0] == CONTACTS_DIR and target[1].endswith(SUFFIX) and is_safe_slug(target[1][: -len(SUFFIX)])):
            raise ValueError(f"it names a file outside pipe's own: {entry[0]} -> {entry[1]}")
    return journal


@contextlib.contextmanager
def _opened_dir(path: Path) -> Iterator[int | None]:
    """The folder opened for *at() calls where the platform has them; None where it does not (or it is gone)."""
    fd = None
    if os.stat in os.supports_dir_fd:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def write_atomic(path: Path, data: bytes, before_replace: Any = None, folder: Path | None = None) -> None:
    """Write to a temporary file (in `folder`, else the same folder), flush, then rename: old file or new, never torn."""
    tmp = _temp_with(path, data, folder, mode_of=path)
    try:
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def refuse_own_files(root: Path, output: str) -> None:
    """A UsageError when a file pipe writes for the user (a report, an export) would land on the pipeline's own
    files: inside contacts/, .pipe/ or a .git folder, or onto pipe.yaml. Symbolic links and '..' are
    resolved first, and folders are compared as the file system sees them (a case-insensitive one too)."""
    from .errors import UsageError

    target = Path(os.path.realpath(output))
    own = {name: Path(os.path.realpath(root / name)) for name in (CONTACTS_DIR, ".pipe", ".git", CONFIG_FILE)}
    hit = next((f"{name}/" for name, path in own.items() if name != CONFIG_FILE and (path == target or path in target.parents)),
               None)
    if hit is None and ".git" in target.parts:
        hit = ".git/"
    if hit is None:
        existing = [p for p in (target, *target.parents) if p.exists()]
        for name, path in own.items():
            if path.exists() and any(_same(p, path) for p in (existing if name != CONFIG_FILE else existing[:1])):
                hit = f"{name}/" if name != CONFIG_FILE else name
                break
    if hit is not None:
        where = f"points at {hit}" if hit == CONFIG_FILE else f"is inside {hit}"
        raise UsageError(f"--output {output} {where}: pipe writes no report or export over the pipeline's own files",
                         "write it elsewhere, e.g. --output reports/week.md")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def today_from(text: str | None, fallback: date | None = None) -> date:
    from .dates import parse_date

    real = fallback or datetime.now().date()
    return parse_date(text, real) if text else real


def line_of(data: bytes, key: tuple[str | int, ...]) -> int | None:
    """The line (1-based) where a key path stands in a file's text, as near as it exists."""
    import yaml

    from .yamlread import LocatingLoader

    try:
        node = yaml.compose(data, Loader=LocatingLoader)  # noqa: S506
    except yaml.YAMLError:
        return None
    line = 1 if node is None else node.start_mark.line + 1
    for part in key:
        child = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:  # a key written twice: the last one counts, as when loading
                if k.value == part:
                    line, child = k.start_mark.line + 1, v
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
