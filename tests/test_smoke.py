from __future__ import annotations

from conftest import Run


def test_add_then_list_shows_the_contact(run: Run) -> None:
    assert run("add", "Anna Berg", "--company", "Nordlys AS").exit_code == 0
    result = run("list")
    assert result.exit_code == 0
    assert "anna-berg" in result.stdout
