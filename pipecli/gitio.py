"""git through subprocess argument lists, never a shell string: one commit per command."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRAILER = "Pipe-Command"  # marks a commit pipe made; `pipe undo` and `pipe changes` look for it
UNDOES = "Pipe-Undoes"  # on an undo commit: the commit it reverted
NOTED = Path(".pipe") / "unversioned-noted"  # "nothing is versioned" is said once per pipeline
_BUSY = (("rebase-merge", "a rebase"), ("rebase-apply", "a rebase"), ("MERGE_HEAD", "a merge"),
         ("CHERRY_PICK_HEAD", "a cherry-pick"), ("REVERT_HEAD", "a revert"))
_FORMAT = ("%H%x1f%as%x1f%an%x1f%ae%x1f%s%x1f"
           f"%(trailers:key={TRAILER},valueonly,separator=%x2C)%x1f%(trailers:key={UNDOES},valueonly,separator=%x2C)%x1e")


def git(args: list[str], cwd: Path, check: bool = False, input: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", check=check, input=input,
                          env={**os.environ, **env} if env else None)


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
    """The name git would write as the author here (user.name, or GIT_AUTHOR_NAME when set)."""
    if not have_git():
        return None
    result = git(["var", "GIT_AUTHOR_IDENT"], path)
    name = result.stdout.rsplit(" <", 1)[0].strip() if result.returncode == 0 and " <" in result.stdout else ""
    return name or None


# --- where the repository is -------------------------------------------------------------------


@dataclass(frozen=True)
class Repo:
    """The git work tree that holds a pipeline: `root` is the pipeline folder, `top` the work tree's top."""

    root: Path
    top: Path
    gitdir: Path

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return git(list(args), self.root, input=input, env=env)

    def busy(self) -> str | None:
        """The git operation left unfinished in this work tree (a stopped rebase...), or None."""
        return next((what for name, what in _BUSY if (self.gitdir / name).exists()), None)

    def from_top(self, path: str) -> str:
        """A path git printed relative to the work tree's top, made relative to the pipeline folder."""
        try:
            return (self.top / path).relative_to(self.root).as_posix()
        except ValueError:
            return path


def locate(root: Path) -> Repo | None:
    """The work tree holding `root`, found as git finds it (the nearest .git upwards) without running git."""
    if not have_git():
        return None
    here = root.resolve()
    env_dir = os.environ.get("GIT_DIR")
    if env_dir:
        return Repo(here, Path(os.environ.get("GIT_WORK_TREE") or here).resolve(), Path(env_dir).resolve())
    for folder in (here, *here.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return Repo(here, folder, dot)
        if dot.is_file():  # a linked worktree or a submodule: "gitdir: <path>"
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            target = Path(text[len("gitdir:"):].strip())
            return Repo(here, folder, target if target.is_absolute() else (folder / target).resolve())
    return None


def shown(path: Path) -> str:
    """A folder as the user would type it from here: relative when it is below the current folder."""
    try:
        rel = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)
    return rel or "."


# --- one commit per command --------------------------------------------------------------------


def command_of(message: str) -> str:
    """The command a commit message starts with: 'promote Zhang Wei ...' -> 'promote'."""
    return (message.split() or ["pipe"])[0].rstrip(":")


def commit_changes(root: Path, paths: Sequence[Path], message: str, config: Any,
                   new: Sequence[Path] = ()) -> str | None:
    """Commit exactly `paths` (of which `new` did not exist before) with `message`; a note for the user, or None.

    `git commit --only -- paths` takes those files as they are on disk and leaves everything else in
    the index alone: what the user staged stays staged. New files are first made known to git with
    `git add --intent-to-add`, which stages no content. So a command costs one git process, two when
    it creates a file. A failure leaves the files written and says what to run by hand.
    """
    if not config["git.autocommit"] or not paths:
        return None
    repo = locate(root)
    if repo is None:
        return _unversioned(root)
    rels = _unique(_rel(root, p) for p in paths)
    news = _unique(_rel(root, p) for p in new)
    command = command_of(message)
    busy = repo.busy()
    if busy:
        return _by_hand(repo, rels, message, command, f"{busy} is in progress, so pipe did not commit this change",
                        "finish it first (see git status), then run")
    if news:
        added = _intend(repo, news)
        if added.returncode != 0:
            return _failed(repo, rels, message, command, added)
    done = _commit(repo, rels, message, command)
    if done.returncode != 0:
        # a file an earlier command left uncommitted (--no-commit, a failed commit) is unknown to git: learn it, retry once
        untracked = [path for state, path in _status(repo, rels) if state == "??" and path not in news]
        if untracked and _intend(repo, untracked).returncode == 0:
            news += untracked
            done = _commit(repo, rels, message, command)
    if done.returncode == 0:
        return None
    if news:  # take back the intent-to-add entries: the index is as the user left it
        repo.run("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *news)
    if not _status(repo, rels):
        return None  # the command rewrote its files with what they held already: nothing to commit
    return _failed(repo, rels, message, command, done)


def _commit(repo: Repo, rels: list[str], message: str, command: str) -> subprocess.CompletedProcess[str]:
    return repo.run("commit", "--quiet", "--only", "-m", message, "-m", f"{TRAILER}: {command}", "--", *rels)


def _intend(repo: Repo, rels: list[str]) -> subprocess.CompletedProcess[str]:
    """Make new files known to git without staging their content (so `commit --only` can take them)."""
    return repo.run("add", "--intent-to-add", "--", *rels)


def _status(repo: Repo, rels: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(XY state, path relative to the pipeline folder) for each changed or untracked path among `rels`."""
    out = repo.run("status", "--porcelain", "-z", "--", *rels, env={"GIT_OPTIONAL_LOCKS": "0"}).stdout
    return [(entry[:2], repo.from_top(entry[3:])) for entry in out.split("\0") if len(entry) > 3]


def _git_prefix(root: Path) -> str:
    """'git', or 'git -C FOLDER' when the pipeline is not the current folder: commands to copy as they are."""
    where = shown(root)
    return "git" if where == "." else f"git -C {shlex.quote(where)}"


def _rel(root: Path, path: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _unversioned(root: Path) -> str | None:
    marker = root / NOTED
    if marker.exists():
        return None
    mark_unversioned(root)
    why = "git is not installed" if not have_git() else f"{shown(root)} is not in a git repository"
    return (f"pipe: note: nothing is versioned: {why}. The change is saved; to keep every version, run 'git init' "
            "in the pipeline folder (this note is shown once; git.autocommit: false in pipe.yaml turns commits off)")


def mark_unversioned(root: Path) -> None:
    """Remember that the user knows this pipeline is not versioned, so it is said only once."""
    marker = root / NOTED
    try:
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
    except OSError:
        pass


def _failed(repo: Repo, rels: list[str], message: str, command: str, result: subprocess.CompletedProcess[str]) -> str:
    said = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    first: list[str] = []
    if (repo.gitdir / "index.lock").exists():
        first.append(f"rm {shlex.quote(shown(repo.gitdir / 'index.lock'))}    # only if no other git command is running")
    if repo.run("var", "GIT_AUTHOR_IDENT").returncode != 0 or repo.run("var", "GIT_COMMITTER_IDENT").returncode != 0:
        first += ['git config --global user.name "Your Name"', 'git config --global user.email "you@example.com"']
    reason = "git did not commit this change:\n    " + "\n    ".join(said[:12] or [f"git exited with {result.returncode}"])
    return _by_hand(repo, rels, message, command, reason, "to commit them by hand, run", first)


def _by_hand(repo: Repo, rels: list[str], message: str, command: str, reason: str, lead: str,
             first: Sequence[str] = ()) -> str:
    files = " ".join(shlex.quote(r) for r in rels)
    prefix = _git_prefix(repo.root)
    steps = [s.replace("git ", f"{prefix} ", 1) if s.startswith("git ") else s for s in first]
    steps += [f"{prefix} add -- {files}",
              f"{prefix} commit -m {shlex.quote(message)} -m {shlex.quote(f'{TRAILER}: {command}')} -- {files}"]
    return f"pipe: warning: {reason}\n  The contact files are written; {lead}:\n    " + "\n    ".join(steps)
