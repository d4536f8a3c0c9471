"""Shared fixtures: real pipelines in temporary folders, driven through the real CLI."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipecli.cli import app

TODAY = "2026-11-30"  # a Monday


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIPE_DIR", "PIPE_TODAY", "EDITOR", "VISUAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Seller")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "seller@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Seller")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "seller@example.com")


Run = Callable[..., Result]


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    """An initialised pipeline without git."""
    root = tmp_path / "sales"
    result = CliRunner().invoke(app, ["init", str(root), "--no-git"])
    assert result.exit_code == 0, result.output
    config = (root / "pipe.yaml").read_text(encoding="utf-8")
    (root / "pipe.yaml").write_text(config.replace("\nowner:\n", "\nowner: tester\n"), encoding="utf-8")
    return root


@pytest.fixture
def run(pipeline: Path) -> Run:
    """Run `pipe -C <pipeline> --today TODAY ARGS...` in-process; returns the click Result."""

    def invoke(*args: str, input: str | None = None, today: str = TODAY) -> Result:
        return CliRunner().invoke(app, ["-C", str(pipeline), "--today", today, *args], input=input)

    return invoke


def contact_file(root: Path, slug: str) -> Path:
    return root / "contacts" / f"{slug}.yaml"


os.environ.setdefault("PYTHONHASHSEED", "0")


DOC_PAGES = ("commands", "file-format", "settings", "board", "rules", "week", "json", "git", "speed")


def docs_text() -> str:
    """The README and every page of docs/, in reading order: where a command or key must be documented."""
    root = Path(__file__).parent.parent
    pages = [root / "README.md", *(root / "docs" / f"{name}.md" for name in DOC_PAGES)]
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


@pytest.fixture(autouse=True)
def _own_cache_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's caches in a folder of its own (pipe keeps them in the user's cache folder)."""
    monkeypatch.setenv("PIPE_CACHE_DIR", str(tmp_path_factory.mktemp("pipe-cache")))
