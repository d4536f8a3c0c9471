"""The pipeline folder: find its root, read contacts fast, edit them byte-carefully, write atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .config import CONFIG_FILE, Config, validate
from .errors import AmbiguousContact, ConcurrentChange, ConfigError, ContactNotFound, FileProblem, NoPipelineError
from .model import Change, Contact, contact_from_data

CONTACTS_DIR = "contacts"
SUFFIX = ".yaml"
CONFLICT = re.compile(rb"^(<<<<<<<|>>>>>>>)( |$)|^=======$", re.MULTILINE)

# --- parsing ----------------------------------------------------------------------------------

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ContactLoader(_Base):  # type: ignore[misc]
    """The C loader, except that an impossible date (2026-02-30) stays text for `check` to report."""


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return str(node.value)


ContactLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


@dataclass(frozen=True)
class Broken:
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
    line = conflict_line(data)
    if line is not None:
        raise Unreadable(rel, line, "unresolved git merge conflict",
                         "keep the right version, remove the <<<<<<< ======= >>>>>>> lines, then 'git add' the file")
    try:
        return yaml.load(data, Loader=ContactLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise Unreadable(rel, mark.line + 1 if mark is not None else None, f"YAML does not parse: {problem}",
                         "fix the file by hand (pipe edit CONTACT), then run 'pipe check'") from None
    except UnicodeDecodeError:
        raise Unreadable(rel, None, "not UTF-8 text", "save the file as UTF-8") from None


# --- slugs ------------------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def slugify(text: str) -> str:
    """ASCII lower-case words joined by '-': Chinese becomes pinyin; nothing that could leave the folder."""
    text = unicodedata.normalize("NFKC", text)
    if _CJK.search(text):
        from pypinyin import lazy_pinyin

        text = " ".join(lazy_pinyin(text))
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
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
            raise NoPipelineError(f"no pipeline in {chosen}: it has no {CONFIG_FILE}",
                                  f"create one with 'pipe init {chosen}'")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise NoPipelineError("no pipeline here: no pipe.yaml in this folder or any above it",
                          "create one with 'pipe init', or point to one with -C DIR or PIPE_DIR")


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILE
    try:
        data = yaml.load(path.read_bytes(), Loader=ContactLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{CONFIG_FILE}{line}: does not parse: {getattr(exc, 'problem', exc)}") from None
    return validate(data, CONFIG_FILE)


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
        try:
            names = os.listdir(self.contacts_dir)
        except FileNotFoundError:
            return []
        return sorted(n[: -len(SUFFIX)] for n in names if n.endswith(SUFFIX) and not n.startswith("."))

    # reading

    def _read(self, slug: str) -> Contact:
        path = self.path_of(slug)
        data = path.read_bytes()
        self._digests[slug] = hashlib.sha1(data).hexdigest()
        return contact_from_data(slug, parse(data, self.rel(path)))

    def text_of(self, slug: str) -> str:
        """A contact file's text as it is on disk (remembered, so a later write can refuse a concurrent change)."""
        data = self.path_of(slug).read_bytes()
        self._digests[slug] = hashlib.sha1(data).hexdigest()
        return data.decode("utf-8")

    def load(self, slug: str) -> Contact:
        try:
            return self._read(slug)
        except FileNotFoundError:
            raise ContactNotFound(f"no contact '{slug}'", "list them with 'pipe list --all'") from None

    def load_all(self) -> Loaded:
        """Every contact; a file that cannot be parsed is reported as Broken and skipped, never written."""
        contacts: list[Contact] = []
        broken: list[Broken] = []
        for slug in self.slugs():
            try:
                contacts.append(self._read(slug))
            except Unreadable as exc:
                broken.append(exc.broken)
            except OSError as exc:
                broken.append(Broken(self.rel(self.path_of(slug)), None, f"cannot read: {exc.strerror}"))
        return Loaded(contacts, broken)

    def resolve(self, query: str, loaded: Loaded | None = None) -> Contact:
        """A contact named by slug, id, unique slug prefix or name (case-insensitive)."""
        query = query.strip()
        if is_safe_slug(query) and self.path_of(query).is_file():
            return self.load(query)
        loaded = loaded or self.load_all()
        return pick(query, loaded.contacts)

    def check(self, today: date) -> list[Broken]:
        """Every problem in every file, each located at its line: parse errors, schema, cross-file."""
        from .checks import contact_problems, cross_problems

        loaded = self.load_all()
        found = list(loaded.broken)
        located: list[tuple[Contact, Any]] = [(c, p) for c in loaded.contacts for p in contact_problems(c, today)]
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
            self._digests[slug] = hashlib.sha1(text).hexdigest()
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
        self._digests[contact.slug] = hashlib.sha1(new).hexdigest()
        return path

    def replace_text(self, contact: Contact, new: bytes) -> Path:
        path = self.path_of(contact.slug)
        write_atomic(path, new, before_replace=lambda: self._refuse_if_changed(contact.slug, path.read_bytes(), path))
        self._digests[contact.slug] = hashlib.sha1(new).hexdigest()
        return path

    def _refuse_if_changed(self, slug: str, data: bytes, path: Path) -> None:
        seen = self._digests.get(slug)
        if seen is not None and seen != hashlib.sha1(data).hexdigest():
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
            names = "\n  ".join(f"{c.slug}  {c.label}  [{c.stage}]" for c in found[:20])
            raise AmbiguousContact(f"'{query}' matches {len(found)} contacts:\n  {names}",
                                   "name one by its slug (the first column)")
    raise ContactNotFound(f"no contact matches '{query}'", "see 'pipe list --all' for names and slugs")


def _write_new(path: Path, data: bytes) -> None:
    tmp = _temp_with(path, data)
    try:
        os.link(tmp, path)  # fails if the name is taken: never overwrites
    finally:
        os.unlink(tmp)


def _temp_with(path: Path, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


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
    try:
        node = yaml.compose(data, Loader=ContactLoader)  # noqa: S506
    except yaml.YAMLError:
        return None
    line = 1 if node is None else node.start_mark.line + 1
    for part in key:
        child = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    line, child = k.start_mark.line + 1, v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
