"""The pipeline folder: find its root, read contacts fast, edit them byte-carefully, write atomically."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
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

    from .yamlread import load_yaml

    try:
        return load_yaml(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and opened is not None and opened is not mark:
            problem += f" ({context} at line {opened.line + 1})"
        line = min(mark.line + 1, data.count(b"\n") or 1) if mark is not None else None
        raise Unreadable(rel, line, f"YAML does not parse: {problem}",
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
    text = unicodedata.normalize("NFKC", text)
    if _has_cjk(text):
        from pypinyin import lazy_pinyin

        text = " ".join(lazy_pinyin(text))
    ascii_text = unicodedata.normalize("NFKD", text.lower().translate(_LATIN)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:60].rstrip("-")


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
            key = cache.key_of(os.stat(file))
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
        if not path.is_file():
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
        text = path.read_bytes()
        for problem in problems:
            more = f" ({problem.hint})" if problem.hint and problem.hint.startswith("did you mean") else ""
            found.append(Broken(rel, line_of(text, problem.key), problem.message + more))
    return sorted(found, key=lambda b: (b.path, b.line or 0))


def _read_settings(path: Path, rel: str) -> Any:
    import yaml

    from .yamlread import ContactLoader

    try:
        return yaml.load(path.read_bytes(), Loader=ContactLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{rel}{line}: does not parse: {getattr(exc, 'problem', exc)}") from None


@dataclass
class Loaded:
    contacts: list[Contact]
    broken: list[Broken]


@dataclass
class Store:
    """One pipeline folder. The only code that reads or writes contact files."""

    root: Path
    config: Config = field(default_factory=Config)
    _digests: dict[str, str] = field(default_factory=dict)
    _entries: dict[str, Any] = field(default_factory=dict)  # the last load_all's cache entries
    _cache_seen: tuple[int, dict[str, Any]] | None = None

    @classmethod
    def open(cls, explicit: str | None = None) -> Store:
        root = find_root(explicit)
        return cls(root, load_config(root))

    @property
    def contacts_dir(self) -> Path:
        return self.root / CONTACTS_DIR

    def path_of(self, slug: str) -> Path:
        return self.contacts_dir / f"{slug}{SUFFIX}"

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def slugs(self) -> list[str]:
        """The contact files' slugs (their names without .yaml), sorted."""
        try:
            names = os.listdir(self.contacts_dir)
        except FileNotFoundError:
            return []
        slugs = [n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX) and not n.startswith(".")]
        slugs.sort()
        return slugs

    # reading

    def _read(self, slug: str) -> Contact:
        path = self.path_of(slug)
        data = path.read_bytes()
        self._digests[slug] = sha1(data).hexdigest()
        return contact_of(data, self.rel(path))

    def text_of(self, slug: str) -> str:
        """A contact file's text as it is on disk (remembered, so a later write can refuse a concurrent change)."""
        data = self.path_of(slug).read_bytes()
        self._digests[slug] = sha1(data).hexdigest()
        return data.decode("utf-8")

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
        broken: list[Broken] = []
        worth_writing = False
        folder = f"{self.contacts_dir}{os.sep}"
        key_of, trusted = cache.key_of, cache.trusted
        with _opened_dir(self.contacts_dir) as fd:
            # stat relative to the open folder: the kernel walks one name, not the whole path
            stat = functools.partial(os.stat, dir_fd=fd) if fd is not None else None
            for slug in self.slugs():
                name = slug + SUFFIX
                try:
                    # before reading: a change after this stat shows as a new stat next time
                    key = key_of(stat(name) if stat is not None else os.stat(folder + name))
                    seen: cache.Entry | None = old.get(slug)
                    entry: cache.Entry
                    if seen is not None and trusted(seen, key, cache_started):
                        entry = seen
                    else:
                        with open(folder + name, "rb") as handle:
                            data = handle.read()
                        digest = sha1(data).hexdigest()
                        rel = f"{CONTACTS_DIR}/{name}"
                        try:
                            entry = (key, cache.CONTACT, to_plain(contact_of(data, rel)), digest)
                        except Unreadable as exc:
                            entry = (key, cache.BROKEN, tuple(exc.broken), digest)
                        worth_writing = worth_writing or cache.worth_writing(seen, entry, started)
                except OSError as exc:
                    broken.append(Broken(f"{CONTACTS_DIR}/{name}", None, f"cannot read: {exc.strerror}"))
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
                except (ContactNotFound, FileProblem):
                    return None
                return found if found.id == cid else None
        return None

    def find_quick(self, query: str) -> Contact | None:
        """A contact named by its slug or id, found without parsing the folder; None otherwise."""
        query = query.strip()
        if is_safe_slug(query) and self.path_of(query).is_file():
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
            try:  # a file that parses but is no contact (no name or stage): report all its problems
                raw = (self.root / broken.path).read_bytes()
                whole = contact_from_data(Path(broken.path).stem, parse(raw, broken.path))
                located += [(whole, p) for p in contact_problems(whole, today)]
            except (Unreadable, OSError):
                found.append(broken)
        located += [(c, p) for c in loaded.contacts for p in contact_problems(c, today)]
        located += cross_problems(loaded.contacts)
        texts: dict[str, bytes] = {}
        for contact, problem in located:
            data = texts.get(contact.slug)
            if data is None:
                data = texts[contact.slug] = self.path_of(contact.slug).read_bytes()
            found.append(Broken(self.rel(self.path_of(contact.slug)), line_of(data, problem.key), problem.message))
        found += self.rule_problems()
        return sorted(found, key=lambda b: (b.path, b.line or 0))

    def rule_problems(self) -> list[Broken]:
        """The user's rules in pipe.yaml that do not read, each at its line."""
        from .rules import rule_problems

        problems = rule_problems(self.config.values)
        data = (self.root / CONFIG_FILE).read_bytes() if problems else b""
        return [Broken(CONFIG_FILE, line_of(data, ("rules", "custom", *p.key)), p.message) for p in problems]

    # writing

    def create(self, data: dict[str, Any], name: str, company: str | None) -> str:
        """Write a new contact file under a fresh slug; never overwrites. Returns the slug."""
        from .yamledit import dump_new

        self.contacts_dir.mkdir(parents=True, exist_ok=True)
        text = dump_new(data).encode("utf-8")
        for slug in candidate_slugs(name, company):
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
        old = path.read_bytes()
        self._refuse_if_changed(contact.slug, old, path)
        try:
            new = apply_changes(old.decode("utf-8"), changes).encode("utf-8")
        except EditError as exc:
            raise FileProblem(f"{self.rel(path)}: cannot change it: {exc}", "fix the file by hand (pipe edit)") from None
        write_atomic(path, new, before_replace=lambda: self._refuse_if_changed(contact.slug, path.read_bytes(), path))
        self._digests[contact.slug] = sha1(new).hexdigest()
        return path

    def replace_text(self, slug: str, new: bytes) -> Path:
        path = self.path_of(slug)
        write_atomic(path, new, before_replace=lambda: self._refuse_if_changed(slug, path.read_bytes(), path))
        self._digests[slug] = sha1(new).hexdigest()
        return path

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
    """Resolve a query against loaded contacts: id, slug, unique slug prefix, name, unique name part."""
    q = _norm(query)
    for test in (
        lambda c: c.id == query or c.slug == q,
        lambda c: c.slug.startswith(q),
        lambda c: _norm(c.name) == q,
        lambda c: q in _norm(c.name) or (c.company is not None and q == _norm(c.company)),
    ):
        found = [c for c in contacts if test(c)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = "\n  ".join(f"{c.slug}  {c.label}  [{stage_letter(c.stage)}]" for c in found[:20])
            raise AmbiguousContact(f"'{query}' matches {len(found)} contacts:\n  {names}",
                                   "name one by its slug (the first column)")
    raise ContactNotFound(f"no contact matches '{query}'", "see 'pipe list --all' for names and slugs")


def _write_new(path: Path, data: bytes) -> None:
    tmp = _temp_with(path, data)
    try:
        os.link(tmp, path)  # fails if the name is taken: never overwrites
    finally:
        os.unlink(tmp)


def _new_file_mode() -> int:
    """The mode a new file gets from the user's umask (mkstemp alone would make it private, 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _temp_with(path: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _new_file_mode())  # write_atomic keeps an existing file's own mode instead
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


@contextlib.contextmanager
def _opened_dir(path: Path) -> Iterator[int | None]:
    """The folder opened for *at() calls where the platform has them; None where it does not (or it is gone)."""
    fd = None
    if os.stat in os.supports_dir_fd:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def write_atomic(path: Path, data: bytes, before_replace: Any = None) -> None:
    """Write to a temporary file in the same folder, flush, then rename: old file or new, never torn."""
    tmp = _temp_with(path, data)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def today_from(text: str | None, fallback: date | None = None) -> date:
    from .dates import parse_date

    real = fallback or datetime.now().date()
    return parse_date(text, real) if text else real


def line_of(data: bytes, key: tuple[str | int, ...]) -> int | None:
    """The line (1-based) where a key path stands in a file's text, as near as it exists."""
    import yaml

    from .yamlread import ContactLoader

    try:
        node = yaml.compose(data, Loader=ContactLoader)  # noqa: S506
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
