"""Keep git's merge driver for contact files registered in this clone: a cheap check on every command.

The check reads two small files (the clone's git config and the pipeline's .gitattributes) and
runs no git process; only when something is missing does gitio register the driver (a fresh
clone, a pipeline made before the driver existed, a new Python for pipe).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DRIVER = "pipe-contacts"  # the driver's name in git config and in .gitattributes
ATTRIBUTES = ".gitattributes"
ATTRIBUTE_LINE = f"contacts/*.yaml merge={DRIVER}"


def driver_command() -> str:
    """What git runs to merge a contact file: this Python's pipe (git quotes the %-paths itself)."""
    return f"{_quoted(sys.executable)} -m pipecli merge-file %O %A %B %P"


def _quoted(text: str) -> str:
    """A word for the shell, as shlex.quote makes it (without importing shlex on every command)."""
    if text and all(ch.isascii() and (ch.isalnum() or ch in "@%+=:,./-_") for ch in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def git_dirs(root: Path) -> tuple[Path, Path] | None:
    """(the work tree's git dir, the dir holding its config), found as git finds them, without git."""
    if os.environ.get("GIT_DIR"):
        gitdir = Path(os.environ["GIT_DIR"])
    else:
        here = root.resolve()
        for folder in (here, *here.parents):
            dot = folder / ".git"
            if dot.is_dir():
                gitdir = dot
                break
            if dot.is_file():
                text = dot.read_text(encoding="utf-8", errors="replace").strip()
                if not text.startswith("gitdir:"):
                    return None
                target = Path(text[len("gitdir:"):].strip())
                gitdir = target if target.is_absolute() else folder / target
                break
        else:
            return None
    common = gitdir
    try:
        pointer = (gitdir / "commondir").read_text(encoding="utf-8").strip()
        common = Path(pointer) if Path(pointer).is_absolute() else gitdir / pointer
    except OSError:
        pass
    return gitdir, common


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def registered(root: Path) -> tuple[bool, bool] | None:
    """(the driver is in this clone's git config, the attribute is in the pipeline's .gitattributes);
    None outside git."""
    dirs = git_dirs(root)
    if dirs is None:
        return None
    try:
        config = (dirs[1] / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        config = ""
    in_config = f'[merge "{DRIVER}"]' in config and _escaped(driver_command()) in config
    try:
        attributes = (root / ATTRIBUTES).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        attributes = []
    return in_config, ATTRIBUTE_LINE in (line.strip() for line in attributes)


def ensure(root: Path, wanted: bool) -> str | None:
    """Register the driver when it is wanted and missing (or remove it from the config when not wanted);
    a note for the user when something was done, else None. Cheap when all is in place."""
    state = registered(root)
    if state is None or state == (wanted, True) or (not wanted and not state[0]):
        return None
    from . import gitio

    return gitio.set_merge_driver(root, wanted, has_attribute=state[1])
