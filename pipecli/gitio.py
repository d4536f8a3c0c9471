"""git through subprocess argument lists, never a shell string: one commit per command, history, undo, sync."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import GitError, UndoRefused

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
    """The author name git writes here: GIT_AUTHOR_NAME when set, else user.name (never a guess from the host)."""
    if os.environ.get("GIT_AUTHOR_NAME", "").strip():
        return os.environ["GIT_AUTHOR_NAME"].strip()
    if not have_git():
        return None
    return git(["config", "user.name"], path).stdout.strip() or None


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

    def detached(self) -> bool:
        """Whether HEAD names a commit rather than a branch (read from the file: no git process)."""
        try:
            with open(self.gitdir / "HEAD", encoding="utf-8", errors="replace") as handle:
                return not handle.read(5).startswith("ref:")
        except OSError:
            return False

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


def require(root: Path, what: str) -> Repo:
    repo = locate(root)
    if repo is None:
        why = "git is not installed" if not have_git() else f"{shown(root)} is not in a git repository"
        raise GitError(f"{what} needs git: {why}", "run 'git init' in the pipeline folder, or clone the team's repository")
    return repo


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


def edited_outside(root: Path, folder: str) -> set[str]:
    """Files under `folder` (a folder or one file, relative to the pipeline) changed since the last commit, or new
    and not yet known to git: edits made outside pipe."""
    repo = locate(root)
    if repo is None or repo.run("rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        return set()
    entries = iter(repo.run("status", "--porcelain", "-z", "--untracked-files=all", "--", folder,
                            env={"GIT_OPTIONAL_LOCKS": "0"}).stdout.split("\0"))
    found = set()
    for entry in entries:
        if len(entry) > 3 and ("M" in entry[:2] or entry[:2] == "??"):
            found.add(repo.from_top(entry[3:]))
        if entry[:1] in ("R", "C"):  # a rename or copy: the next entry is where it came from
            next(entries, None)
    return found


def committed_text(root: Path, rel: str) -> bytes | None:
    """A file as the last commit holds it (None when it holds none)."""
    result = subprocess.run(["git", "show", f"HEAD:./{rel}"], cwd=root, capture_output=True, check=False)
    return result.stdout if result.returncode == 0 else None


def commit_by_hand(root: Path, rel: str, message: str) -> str | None:
    """Commit one file's edit made outside pipe, on its own, before a command changes it; a note if git refused."""
    repo = locate(root)
    if repo is None:
        return None
    if committed_text(root, rel) is None:  # a file made by hand: git must know it before commit --only takes it
        repo.run("add", "--intent-to-add", "--", rel)
    done = repo.run("commit", "--quiet", "--only", "-m", _message(message), "--", rel)
    if done.returncode == 0:
        return None
    said = (done.stderr + done.stdout).strip().splitlines()
    return f"pipe: warning: the hand edit of {rel} was not committed on its own: {said[0] if said else 'git failed'}"


def _commit(repo: Repo, rels: list[str], message: str, command: str) -> subprocess.CompletedProcess[str]:
    return repo.run("commit", "--quiet", "--only", "-m", _message(message), "-m", f"{TRAILER}: {command}", "--", *rels)


def _message(text: str) -> str:
    """A commit message with control characters shown escaped: names from the files go into it, git
    takes no NUL in an argument, and `git log` should not recolour the reader's terminal."""
    from .render import visible

    return visible(text)


def _intend(repo: Repo, rels: list[str]) -> subprocess.CompletedProcess[str]:
    """Make new files known to git without staging their content (so `commit --only` can take them)."""
    return repo.run("add", "--intent-to-add", "--", *rels)


def _status(repo: Repo, rels: Sequence[str] = (), untracked: bool = True) -> list[tuple[str, str]]:
    """(XY state, path relative to the pipeline folder) for each changed path (among `rels`, when given)."""
    args = ["status", "--porcelain", "-z"] + ([] if untracked else ["--untracked-files=no"])
    entries = iter(repo.run(*args, "--", *rels, env={"GIT_OPTIONAL_LOCKS": "0"}).stdout.split("\0"))
    out = []
    for entry in entries:
        if len(entry) > 3:
            out.append((entry[:2], repo.from_top(entry[3:])))
            if entry[0] in "RC":  # a rename or copy: the next entry is where it came from
                next(entries, None)
    return out


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
        if os.path.islink(marker.parent):  # never write through a link a clone brought
            return
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644))
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


# --- what git holds that it should not, and what it lacks ---------------------------------------


def state_warnings(root: Path, contacts: str, own: str) -> list[str]:
    """For pipe check: `own` (.pipe/) tracked by git, which a clone must never bring; and contact
    files not committed (left by a failed commit, --no-commit, or edits by hand), with the commands
    that commit them. Nothing outside a git work tree."""
    repo = locate(root)
    if repo is None:
        return []
    out = []
    tracked = [p for p in repo.run("ls-files", "-z", "--", own).stdout.split("\0") if p]
    if tracked:
        shown_files = ", ".join(tracked[:5]) + (" ..." if len(tracked) > 5 else "")
        out.append(f"{own}/ is tracked by git ({shown_files}): it is this clone's own (local settings, lock, "
                   f"journal) and must not travel with the repository\n  hint: untrack it: "
                   f"{_git_prefix(root)} rm -r --cached --quiet -- {own} && {_git_prefix(root)} commit -m 'untrack {own}/'")
    busy = repo.busy()
    if busy:
        out.append(f"{busy} is in progress (a pipe sync that stopped?): contact files stay uncommitted until it is "
                   "finished\n  hint: see 'pipe sync' for the way to finish it")
        return out
    if os.path.islink(root / contacts):
        return out  # pipe check reports the link itself; nothing beyond it is pipe's
    loose = [(state, path) for state, path in _status(repo, [contacts])
             if path.endswith(".yaml") and _regular(root / path)]  # links and the like are reported, never committed
    if loose:
        names = [path for _, path in loose]
        untracked = sum(1 for state, _ in loose if state == "??")
        files = " ".join(shlex.quote(n) for n in names)
        what = (f"{len(names)} contact file{'s are' if len(names) != 1 else ' is'} not committed"
                + (f" ({untracked} never added)" if untracked else "") + ": " + ", ".join(names[:10])
                + (" ..." if len(names) > 10 else ""))
        out.append(f"{what}\n  hint: if they are right, commit them: {_git_prefix(root)} add -- {files} && "
                   f"{_git_prefix(root)} commit -m 'contacts changed outside pipe' -- {files}")
    return out


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


# --- reading history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # the author date, YYYY-MM-DD
    author: str
    email: str
    subject: str
    command: str | None = None  # the Pipe-Command trailer: None for a commit pipe did not make
    undoes: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.sha[:7]


def log(repo: Repo, *args: str) -> list[Commit]:
    result = repo.run("log", f"--format={_FORMAT}", *args)
    if result.returncode != 0:
        if repo.run("rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
            return []  # a branch with no commit yet
        raise GitError(f"git log failed: {result.stderr.strip()}")
    out = []
    for record in result.stdout.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) < 7:
            continue
        sha, day, author, email, subject, command, undoes = fields[:7]
        out.append(Commit(sha, day, author, email, subject, command.strip() or None,
                          tuple(u.strip() for u in undoes.split(",") if u.strip())))
    return out


def pipe_commits(repo: Repo, *args: str) -> list[Commit]:
    """The commits pipe made (those with the trailer), newest first."""
    return [c for c in log(repo, f"--grep=^{TRAILER}:", *args) if c.command]


def file_commits(repo: Repo, rel: str) -> list[Commit]:
    """Every commit that touched one file, newest first.

    Not --follow: contact files are alike, so git's rename guess would take another contact's
    creation for this one's; pipe never renames a contact's file.
    """
    return log(repo, "--", rel)


# --- undo --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UndoPlan:
    commit: Commit
    files: list[str]
    stat: str


def plan_undo(repo: Repo) -> UndoPlan:
    """The newest pipe commit not undone yet, checked so that `git revert` can take it back cleanly."""
    busy = repo.busy()
    if busy:
        raise UndoRefused(f"{busy} is in progress", "finish it first (see git status)")
    undone: set[str] = set()
    target = None
    for commit in pipe_commits(repo):
        if commit.command == "init":  # creating a pipeline is not taken back
            continue
        if commit.command == "undo":
            undone.update(commit.undoes)
        elif commit.sha not in undone:
            target = commit
            break
    if target is None:
        raise UndoRefused("nothing to undo: no change made by pipe on this branch (pipe init is not undone)",
                          f"pipe marks its commits with a '{TRAILER}:' trailer; see 'pipe changes'")
    shown_stat = repo.run("show", "--stat", "--format=", "--relative", target.sha).stdout.rstrip()
    files = [f for f in repo.run("diff-tree", "--no-commit-id", "--name-only", "-r", "-z", "--root", "--relative",
                                 target.sha).stdout.split("\0") if f]
    # a file as the commit left it (even when changed and changed back since) reverts cleanly
    since = [f for f in repo.run("diff", "--name-only", "-z", "--relative", target.sha, "HEAD", "--", *files)
             .stdout.split("\0") if f] if files else []
    if since:
        newest = log(repo, "-1", f"{target.sha}..HEAD", "--", *since)
        by = "".join(f"; {c.short} '{c.subject}' ({c.author}, {c.date}) changed it since" for c in newest)
        raise UndoRefused(f"cannot undo {target.short} '{target.subject}': it is not the newest change to {', '.join(since)}{by}",
                          "undo only takes back the newest change to a contact; change it back with a pipe command, or by hand")
    entries = _status(repo, untracked=False)
    if any(state[0] != " " for state, _ in entries):
        raise UndoRefused("you have staged changes, and git revert needs them out of the way",
                          "commit them, or unstage them (git restore --staged FILE), then pipe undo")
    dirty = sorted({path for state, path in entries if state[1] != " "} & set(files))
    if dirty:
        raise UndoRefused(f"{', '.join(dirty)} {'has' if len(dirty) == 1 else 'have'} changes not committed yet",
                          "commit them, or drop them (git restore FILE), then pipe undo")
    return UndoPlan(target, files, shown_stat)


def undo(repo: Repo, plan: UndoPlan) -> str:
    """Revert the planned commit with git revert, as one commit marked as pipe's; returns the new commit's sha."""
    target = plan.commit
    reverted = repo.run("revert", "--no-commit", target.sha)
    if reverted.returncode != 0:
        repo.run("revert", "--abort")
        raise GitError(f"git revert failed: {reverted.stderr.strip() or reverted.stdout.strip()}",
                       "nothing was changed; see git status")
    message = f"undo {target.subject}"
    done = repo.run("commit", "--quiet", "-m", message, "-m", f"{TRAILER}: undo\n{UNDOES}: {target.sha}")
    if done.returncode != 0:
        said = (done.stderr + done.stdout).strip()
        raise GitError(f"the revert is applied but git did not commit it: {said}",
                       f"commit it: git commit -m {shlex.quote(message)} -m '{TRAILER}: undo' -m '{UNDOES}: {target.sha}'"
                       "; or drop it: git revert --abort")
    return repo.run("rev-parse", "HEAD").stdout.strip()


# --- sync --------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    upstream: str
    arrived: list[Commit] = field(default_factory=list)  # commits that came from the others, newest first
    files: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)  # (path, before, after)
    pushed: int = 0
    published: bool = False  # the branch did not exist on the remote: it was pushed there first
    conflicts: list[str] = field(default_factory=list)  # files the rebase left unmerged
    # (file, new file, why it may be one person) of yours, named anew because the team took the name
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    committed: list[str] = field(default_factory=list)  # contact files committed before syncing (--commit)


def _not_committable(path: Path, limit: int) -> str | None:
    """Why a contact file must not be committed by pipe sync --commit (not a regular file, not a contact), or None."""
    from .store import NotPlain, Unreadable, contact_of, read_plain

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None  # removed by hand: the removal is committed
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    try:
        data = read_plain(path, limit)
    except NotPlain as exc:
        if stat.S_ISLNK(st.st_mode):
            with contextlib.suppress(OSError):
                return f"is a symbolic link (to {os.readlink(path)}): pipe never commits or reads through links"
        return exc.problem
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    try:
        contact_of(data, path.name)
    except Unreadable as exc:
        where = f" (line {exc.broken.line})" if exc.broken.line else ""
        return f"does not read as a contact{where}: {exc.broken.message}"
    return None


def unsaved_contacts(repo: Repo, folder: str) -> list[tuple[str, str]]:
    """Contact files under `folder` that are untracked or changed and not committed: (state, path)."""
    out = []
    for state, path in _status(repo, [folder]):
        if path.endswith(".yaml") and not Path(path).name.startswith("."):
            out.append(("new" if state == "??" else "changed", path))
    return out


def sync(repo: Repo, folder: str, commit_first: bool = False, resume: bool = False,
         limit: int = 1 << 20) -> SyncResult:
    """Commit nothing behind the user's back, pull with rebase, then push.

    Contact files left uncommitted are refused by name (or committed first, with `commit_first`). A
    rebase that stops (a true conflict, a file git had to merge line by line) is left for the user:
    `conflicts` names its files. With `resume`, a rebase the user has just settled is continued first.
    """
    busy = repo.busy()
    if busy and not resume:
        raise GitError(f"{busy} is in progress (an earlier pipe sync stopped on a conflict?)", resolve_hint(repo))
    if busy:
        step = ("rebase", "--continue") if rebasing(repo) else ("commit", "--no-edit", "--quiet")
        done = repo.run("-c", "core.editor=true", *step, env={"GIT_EDITOR": "true"})
        if done.returncode != 0:
            result = SyncResult("the team's branch")
            result.conflicts = unmerged(repo)
            if not result.conflicts:
                raise GitError(f"git {' '.join(step)} failed: {(done.stderr + done.stdout).strip()}",
                               "see git status")
            return result
    committed: list[str] = []
    moved = set(renamed(repo).values())  # written by the merge driver in a sync that stopped: committed below
    unsaved = [(state, path) for state, path in unsaved_contacts(repo, folder) if path not in moved]
    if unsaved and not commit_first:
        listed = "\n  ".join(f"{path}  ({state}, not committed)" for state, path in unsaved)
        raise GitError(f"contact files not committed would be left out of the sync:\n  {listed}",
                       "commit them and sync: pipe sync --commit   (or put them aside: git stash -u)")
    # everything that can be checked is checked before anything is committed
    if unsaved:
        refused = [f"{path} {why}" for _, path in unsaved if (why := _not_committable(repo.root / path, limit))]
        if refused:
            raise GitError("nothing was committed or synced: pipe commits only regular files that read as "
                           "contacts, and these do not:\n  " + "\n  ".join(refused),
                           "run 'pipe check' to see each problem; fix the file (pipe edit SLUG), or replace a "
                           "link by a copy of the file, or move it out of contacts/; then pipe sync --commit")
    own = {path for _, path in unsaved}
    dirty = [path for _, path in _status(repo, untracked=False) if path not in own]
    if dirty:
        raise GitError("uncommitted changes in " + ", ".join(dirty[:10]) + (" ..." if len(dirty) > 10 else ""),
                       "commit them (git commit -- FILE) or put them aside (git stash), then pipe sync")
    branch = repo.run("symbolic-ref", "--quiet", "--short", "HEAD").stdout.strip()
    if not branch:
        raise GitError("HEAD is detached: not on a branch", "check out your branch: git switch main")
    if repo.run("rev-parse", "--verify", "--quiet", "HEAD").returncode != 0 and not unsaved:
        raise GitError(f"{branch} has no commit yet", "get the team's history first: git pull")
    remote, ref, configured = _upstream(repo, branch)
    _ok(repo.run("fetch", "--quiet", remote), "git fetch failed", "check the network and the remote: git remote -v")
    if unsaved:
        paths = [repo.root / path for _, path in unsaved]
        news = [repo.root / path for state, path in unsaved if state == "new"]
        n = len(paths)
        note = commit_changes(repo.root, paths, f"edit by hand: {n} contact file{'s' if n != 1 else ''}",
                              {"git.autocommit": True}, new=news)
        if note:
            raise GitError("could not commit the contact files before syncing", note)
        committed = [path for _, path in unsaved]
    name = ref.removeprefix("refs/heads/")
    tracking = f"refs/remotes/{remote}/{name}"
    result = SyncResult(f"{remote}/{name}", committed=committed)
    if repo.run("rev-parse", "--verify", "--quiet", tracking).returncode != 0:  # not on the remote yet
        result.published = True
        result.pushed = int(repo.run("rev-list", "--count", "HEAD").stdout.strip() or 0)
        _ok(repo.run("push", "--quiet", remote, f"HEAD:{ref}"), "git push failed",
            "check the network and your rights on the remote: git remote -v")
        repo.run("fetch", "--quiet", remote)
        repo.run("branch", "--quiet", f"--set-upstream-to={remote}/{name}")
        return result
    if not configured:
        repo.run("branch", "--quiet", f"--set-upstream-to={remote}/{name}")
    head, up = repo.run("rev-parse", "HEAD", tracking).stdout.split()
    base = _ok(repo.run("merge-base", "HEAD", tracking), "this branch and the remote share no history",
               "check that the remote is the team's repository: git remote -v").stdout.strip()
    if up != base:
        result.arrived = log(repo, f"{head}..{up}")
        result.files = _changed_files(repo, base, up, folder)
        if not resume:
            (repo.gitdir / RENAMED).unlink(missing_ok=True)
            result.renamed = _rename_taken(repo, base, up, folder, branch)
        rebased = repo.run("rebase", "--quiet", tracking)
        if rebased.returncode != 0:
            result.conflicts = unmerged(repo)
            if not result.conflicts:
                said = (rebased.stderr + rebased.stdout).strip()
                if repo.busy():
                    repo.run("rebase", "--abort")
                raise GitError(f"git rebase failed: {said}", "nothing was changed; see git status")
            return result
    _commit_renamed(repo, result)
    result.pushed = int(repo.run("rev-list", "--count", f"{tracking}..HEAD").stdout.strip() or 0)
    if result.pushed:
        _ok(repo.run("push", "--quiet", remote, f"HEAD:{ref}"), "git push failed",
            "if someone pushed in the meantime, run pipe sync again")
    return result


def _commit_renamed(repo: Repo, result: SyncResult) -> None:
    """Your contacts the merge driver wrote under a new name (their old name was taken by another person
    from the team): committed, so that they are sent too."""
    moved = renamed(repo)
    (repo.gitdir / RENAMED).unlink(missing_ok=True)
    for (old, _), new in moved.items():
        path = repo.root / new
        if not path.exists():
            continue
        theirs = _cat_file(repo, [f"HEAD:./{old}"])[0]
        why = same_person(theirs, path.read_bytes(), old) if theirs is not None else ""
        note = commit_changes(repo.root, [path], f"add {Path(new).stem}: renamed from {Path(old).stem}, which is "
                              + (f"probably the same person ({why})" if why else "another person from the team"),
                              {"git.autocommit": True}, new=[path])
        if note:
            raise GitError(f"could not commit {new}", note)
        result.renamed.append((old, new, why))


def same_person(theirs: bytes, mine: bytes, rel: str) -> str:
    """Why two contact files with different ids are probably one person ("same e-mail ..."), or ""."""
    from .store import Unreadable, contact_of

    try:
        one, two = contact_of(theirs, rel), contact_of(mine, rel)
    except Unreadable:
        return ""
    if one.email and two.email and one.email.strip().casefold() == two.email.strip().casefold():
        return f"same e-mail, {one.email.strip()}"
    if one.name.strip().casefold() == two.name.strip().casefold() and (one.company or "").strip().casefold() == (
            two.company or "").strip().casefold():
        return "same name and company" if one.company else "same name, no company"
    return ""


def _rename_taken(repo: Repo, base: str, up: str, folder: str, branch: str) -> list[tuple[str, str, str]]:
    """Contact files you added whose name the team also took for a person with another id: renamed, before the
    rebase, in every commit of yours that holds them (each commit stays one commit, with its message, author
    and date), so the rebase replays them without a conflict. (file, new file, why it may be one person)."""
    from .store import Unreadable, candidate_slugs, contact_of

    def added(rev: str) -> set[str]:
        out = repo.run("diff", "--name-only", "--diff-filter=A", "-z", "--no-renames", "--relative", base, rev,
                       "--", folder).stdout
        return {p for p in out.split("\0") if p.endswith(".yaml")}

    both = sorted(added(up) & added("HEAD"))
    if not both or repo.run("rev-list", "--merges", f"{base}..HEAD").stdout.strip():
        return []  # nothing taken twice; or merges of yours to rewrite: the merge driver renames instead
    blobs = _cat_file(repo, [f"{rev}:./{p}" for p in both for rev in (up, "HEAD")])
    taken = {p for rev in (up, "HEAD") for p in repo.run("ls-tree", "-r", "--name-only", "-z", rev, "--", folder)
             .stdout.split("\0") if p}
    taken = {repo.from_top(p) for p in taken}
    moves: list[tuple[str, str, str]] = []
    for i, rel in enumerate(both):
        theirs, mine = blobs[2 * i], blobs[2 * i + 1]
        if theirs is None or mine is None:
            continue
        try:
            team, yours = contact_of(theirs, rel), contact_of(mine, rel)
        except Unreadable:
            continue  # left to the merge driver, then to git's line merge
        if not (team.id and yours.id) or str(team.id) == str(yours.id):
            continue  # one person: merged by meaning
        folder_of = rel.rsplit("/", 1)[0]
        new = next(f"{folder_of}/{slug}.yaml" for slug in candidate_slugs(yours.name, yours.company)
                   if f"{folder_of}/{slug}.yaml" not in taken and not (repo.root / folder_of / f"{slug}.yaml").exists())
        taken.add(new)
        moves.append((rel, new, same_person(theirs, mine, rel)))
    if moves and not _rewrite(repo, base, branch, [(old, new) for old, new, _ in moves]):
        return []
    return moves


def _rewrite(repo: Repo, base: str, branch: str, moves: list[tuple[str, str]]) -> bool:
    """Each of your commits since `base` made anew with the files moved (old -> new), one commit for one; the
    branch and the work tree then stand on the last. False (and nothing changed) when git refuses a step."""
    import tempfile

    prefix = repo.root.relative_to(repo.top).as_posix()
    top = [(f"{prefix}/{o}" if prefix != "." else o, f"{prefix}/{n}" if prefix != "." else n) for o, n in moves]
    old_head = repo.run("rev-parse", "HEAD").stdout.strip()

    def at_top(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return git(list(args), repo.top, input=input, env=env)

    parent = base
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        for sha in repo.run("rev-list", "--reverse", f"{base}..HEAD").stdout.split():
            if at_top("read-tree", sha, env=env).returncode != 0:
                return False
            lines = []
            for old, new in top:
                entry = at_top("ls-files", "-s", "--full-name", "--", old, env=env).stdout.split()
                if entry:  # mode, blob, stage, path
                    lines += [f"0 {'0' * 40}\t{old}", f"{entry[0]} {entry[1]}\t{new}"]
            if lines and at_top("update-index", "--index-info", input="\n".join(lines) + "\n",
                                env=env).returncode != 0:
                return False
            tree = at_top("write-tree", env=env).stdout.strip()
            who = repo.run("log", "-1", "--format=%an%x00%ae%x00%ad", "--date=raw", sha).stdout.rstrip("\n").split("\0")
            message = repo.run("cat-file", "commit", sha).stdout.split("\n\n", 1)[-1]  # the message exactly
            made = repo.run("commit-tree", tree, "-p", parent, "-F", "-", input=message,
                            env={"GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1], "GIT_AUTHOR_DATE": who[2]})
            if made.returncode != 0 or len(who) != 3:
                return False
            parent = made.stdout.strip()
    moved = repo.run("reset", "--quiet", "--keep", parent)
    if moved.returncode != 0:
        repo.run("update-ref", f"refs/heads/{branch}", old_head)
        return False
    return True


def resolve_hint(repo: Repo | None = None, files: Sequence[str] = ()) -> str:
    """How to finish a sync that stopped on git's conflict markers: pipe's own commands."""
    named = " ".join(shlex.quote(f) for f in files) if files else "each file"
    return (f"in {named} keep the right lines and delete the <<<<<<< ======= >>>>>>> lines ('pipe check' shows "
            "where), then run:\n          pipe sync --continue   (it adds each file once its markers are gone)\n"
            "        or put everything back as it was before the sync: pipe sync --abort")


def _ok(result: subprocess.CompletedProcess[str], what: str, hint: str) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        said = (result.stderr + result.stdout).strip()
        raise GitError(f"{what}: {said}" if said else what, hint)
    return result


def _upstream(repo: Repo, branch: str) -> tuple[str, str, bool]:
    """The branch's remote and its ref there, and whether that is configured (else the obvious remote's same name)."""
    line = repo.run("for-each-ref", "--format=%(upstream:remotename)%00%(upstream:remoteref)", f"refs/heads/{branch}")
    remote, _, ref = line.stdout.strip().partition("\0")
    if remote and ref:
        return remote, ref, True
    remotes = repo.run("remote").stdout.split()
    if not remotes:
        raise GitError("no remote to sync with", "add the team's shared repository: git remote add origin URL")
    if "origin" not in remotes and len(remotes) > 1:
        raise GitError(f"{branch} has no upstream and there are several remotes",
                       f"choose one: git branch --set-upstream-to=REMOTE/{branch}")
    return ("origin" if "origin" in remotes else remotes[0]), f"refs/heads/{branch}", False


def _changed_files(repo: Repo, base: str, up: str, folder: str) -> list[tuple[str, bytes | None, bytes | None]]:
    """Each file under `folder` that changed between base and up, with its text on both sides (one git cat-file)."""
    listed = repo.run("diff", "--name-only", "-z", "--no-renames", "--relative", base, up, "--", folder).stdout
    paths = [p for p in listed.split("\0") if p]
    if not paths:
        return []
    wanted = [f"{rev}:./{p}" for p in paths for rev in (base, up)]
    blobs = _cat_file(repo, wanted)
    return [(p, blobs[2 * i], blobs[2 * i + 1]) for i, p in enumerate(paths)]


def _cat_file(repo: Repo, names: list[str]) -> list[bytes | None]:
    result = subprocess.run(["git", "cat-file", "--batch"], cwd=repo.root, capture_output=True,
                            input=("\n".join(names) + "\n").encode("utf-8"), check=False)
    data, pos = result.stdout, 0
    out: list[bytes | None] = []
    for _ in names:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            out.append(data[pos:pos + size])
            pos += size + 1
        else:
            out.append(None)
    return out


# --- the merge driver for contact files ----------------------------------------------------------


def set_merge_driver(root: Path, wanted: bool, has_attribute: bool) -> str | None:
    """Register pipe's merge driver in this clone's git config and the attribute in a committed
    .gitattributes (or, when not wanted, take the driver out of the config); a note, or None."""
    from .mergesetup import ATTRIBUTES, DRIVER, driver_command

    repo = locate(root)
    if repo is None or repo.busy():  # never in the middle of a rebase or merge
        return None
    if not wanted:
        repo.run("config", "--remove-section", f"merge.{DRIVER}")
        return None
    repo.run("config", f"merge.{DRIVER}.name", "pipe: merge contact files by their meaning")
    repo.run("config", f"merge.{DRIVER}.driver", driver_command())
    if has_attribute:
        return None
    path = root / ATTRIBUTES
    existed = path.exists()
    if not write_attribute(root):
        return None
    if not existed or repo.run("ls-files", "--error-unmatch", "--", ATTRIBUTES).returncode == 0:
        from .config import Config

        return commit_changes(root, [path], "init: contact files merge by their meaning (.gitattributes)",
                              Config(), new=[] if existed else [path])
    return None


def write_attribute(root: Path) -> bool:
    """Add the merge driver's line to the pipeline's .gitattributes (made if missing); False if it cannot."""
    from .mergesetup import ATTRIBUTE_LINE, ATTRIBUTES

    path = root / ATTRIBUTES
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if ATTRIBUTE_LINE in (line.strip() for line in text.splitlines()):
            return True
        path.write_text(text + ("" if not text or text.endswith("\n") else "\n")
                        + "# contact files merge by their meaning (pipe's merge driver: see pipe's docs/git.md)\n"
                        + ATTRIBUTE_LINE + "\n", encoding="utf-8")
    except OSError:
        return False
    return True


def unmerged(repo: Repo) -> list[str]:
    """The files a stopped rebase or merge left unmerged, relative to the pipeline folder."""
    listed = repo.run("diff", "--name-only", "--diff-filter=U", "-z", "--relative").stdout.split("\0")
    return [p for p in listed if p]


def stages(repo: Repo, rel: str) -> tuple[bytes | None, bytes | None, bytes | None]:
    """An unmerged file's three versions: the common ancestor, git's "ours" and git's "theirs"."""
    base, ours, theirs = _cat_file(repo, [f":{n}:./{rel}" for n in (1, 2, 3)])
    return base, ours, theirs


def rebasing(repo: Repo) -> bool:
    """Whether a rebase is under way: then git's "ours" is the team's side and "theirs" is yours."""
    return (repo.gitdir / "rebase-merge").exists() or (repo.gitdir / "rebase-apply").exists()


RENAMED = "pipe-renamed"  # in the git dir, during a sync: contact files the driver gave a new name


def renamed(repo: Repo) -> dict[tuple[str, str], str]:
    """(file, id) -> the new file the driver wrote that person to, during this sync."""
    try:
        lines = (repo.gitdir / RENAMED).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        parts = line.split("\t")
        if len(parts) == 3:
            out[(parts[0], parts[1])] = parts[2]
    return out


def note_renamed(repo: Repo, rel: str, cid: str, new: str) -> None:
    with open(repo.gitdir / RENAMED, "a", encoding="utf-8") as handle:
        handle.write(f"{rel}\t{cid}\t{new}\n")


def git_merge_file(ours: str, base: str, theirs: str, labels: tuple[str, str, str]) -> int:
    """git's own line merge of the three files into `ours` (the driver's fallback); git's exit status."""
    done = subprocess.run(["git", "merge-file", "-L", labels[0], "-L", labels[1], "-L", labels[2], ours, base, theirs],
                          capture_output=True, check=False)
    return done.returncode
