"""git through subprocess argument lists, never a shell string."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def git(args: list[str], cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check)


def have_git() -> bool:
    return shutil.which("git") is not None


def in_work_tree(path: Path) -> bool:
    if not have_git():
        return False
    result = git(["rev-parse", "--is-inside-work-tree"], path)
    return result.returncode == 0 and result.stdout.strip() == "true"


def init(path: Path) -> None:
    git(["init", "--quiet"], path, check=True)


def user_name(path: Path) -> str | None:
    if not have_git():
        return None
    result = git(["config", "user.name"], path)
    return result.stdout.strip() or None


def commit_changes(root: Path, paths: list[Path], message: str, config: object) -> str | None:
    """Commit exactly `paths` with `message`; returns a note for the user, or None.

    The full behaviour (autocommit setting, one commit per command, leaving staged work alone)
    belongs to the git issue; until then changes are left for the user to commit.
    """
    return None
