"""The parse caches: contacts as parsed, keyed by each file's stat, never trusted blindly, never from the repository.

An entry is used only when the file's size, mtime, ctime and inode are what they were when it
was parsed, and the file had already been unchanged for a safe margin before the cache run
started; otherwise the file is parsed again. The margin is git's answer to the "racily clean"
problem: a file rewritten within the same timestamp tick as it was read keeps its mtime, so a
recent mtime proves nothing. ctime catches an mtime set back with os.utime. A cache that is
missing, corrupt, truncated or from another version of pipe or Python is ignored and rebuilt.

The caches live in the user's own cache folder (as todoman's do), one folder per pipeline keyed
by its real path, never inside the pipeline: a clone or a `git pull` can put any file in the
pipeline, `.pipe/` included. And they are read by an unpickler that can build nothing but plain
data and dates, so even a cache file someone else wrote can never run code.
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:  # the C pickler alone: pickle.py around it costs 0.7 ms to import, on every command
    from _pickle import Unpickler, dump
except ImportError:  # pragma: no cover - a Python without it
    from pickle import Unpickler, dump

from . import __version__

if TYPE_CHECKING:
    from hashlib import sha1
else:
    try:  # the builtin SHA-1: hashlib would load OpenSSL first
        from _sha1 import sha1
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import sha1
from .model import SHAPE

CACHE_FILE = "cache"
SETTINGS_FILE = "settings-cache"  # pipe.yaml and .pipe/local.yaml as parsed, by the same rules
FORMAT = 2  # 2: values, dates and keys are bounded and refused as issue 11 says; older entries are parsed again
STAMP = ("pipe-cache", FORMAT, __version__, sys.version_info[:2], SHAPE)
MARGIN_NS = 2_000_000_000  # older than this before the run started: no tick can hide a change

# An entry: (stat key, kind, payload, digest); kind CONTACT has model.to_plain's tuple as payload
# (in the settings cache: the file's parsed data), kind BROKEN has (path, line, message).
CONTACT, BROKEN = 0, 1
Entry = tuple[tuple[int, int, int, int], int, Any, str]


def home() -> Path:
    """The user's cache folder for pipe: $PIPE_CACHE_DIR, else the platform's own place for caches."""
    chosen = os.environ.get("PIPE_CACHE_DIR")
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "pipe" / "Cache"
    if sys.platform == "darwin":  # pragma: no cover - macOS only
        return Path.home() / "Library" / "Caches" / "pipe"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipe"


def path_in(root: Path, name: str = CACHE_FILE) -> Path:
    """Where the cache `name` of the pipeline at `root` lives: a folder of the user's cache per
    pipeline, named after the pipeline's real path (its last part, for a reader, and a digest)."""
    real = os.path.realpath(root)
    tag = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in os.path.basename(real))[:40]
    return home() / f"{tag}-{sha1(real.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}" / name


# What a cache may hold: tuples, lists, dicts, text, numbers, None, and the dates and times a YAML
# file can hold. Pickle builds anything else through a global, and these are the only globals it may name.
_ALLOWED = {("datetime", n): getattr(datetime, n) for n in ("date", "datetime", "time", "timedelta", "timezone")}


class _PlainUnpickler(Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is None:
            raise ValueError(f"a cache may not name {module}.{name}")
        return found


def key_of(st: os.stat_result) -> tuple[int, int, int, int]:
    """What identifies a file's version: size, mtime, ctime (set by the kernel, so an mtime set back
    still shows) and inode (a file replaced by git or an editor)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def trusted(seen: Entry, key: tuple[int, int, int, int], cache_started: int) -> bool:
    """Whether a cached entry stands for the file: the same key, and the file unchanged for the
    margin before the run that wrote the cache started."""
    return seen[0] == key and max(key[1], key[2]) < cache_started - MARGIN_NS


def worth_writing(seen: Entry | None, parsed: Entry, started: int) -> bool:
    """Whether a file parsed again should make this run rewrite the cache: the parse found something
    new, or a cache written now would trust the file. A file parsed again only because it changed
    within the margin, and unchanged since the cache saw it, would be as untrusted in a new cache:
    parsing it again next time beats rewriting the whole cache on every run right after an edit."""
    return (seen is None or seen[0] != parsed[0] or seen[2] != parsed[2]
            or max(parsed[0][1], parsed[0][2]) < started - MARGIN_NS)


def read(path: Path) -> tuple[int, dict[str, Entry]]:
    """(the time the cached run started, entries by slug); (0, {}) when there is no usable cache."""
    try:
        with open(path, "rb") as handle:
            stamp, started, entries = _PlainUnpickler(handle).load()
        if stamp == STAMP and isinstance(started, int) and isinstance(entries, dict):
            return started, entries
    except Exception:  # noqa: BLE001 - any damage at all means: rebuild
        pass
    return 0, {}


def write(path: Path, started: int, entries: dict[str, Entry]) -> None:
    """Replace the cache atomically; two processes writing at once leave one valid cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".cache.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                dump((STAMP, started, entries), handle, protocol=5)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a read-only pipeline works, only slower
