"""At home in the shell: completion, forgiving names, dates and amounts as typed, one voice for errors, docs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import TODAY, Run, contact_file
from typer.testing import CliRunner

from pipecli.amounts import Amount, parse_amount
from pipecli.cli import app
from pipecli.dates import parse_date
from pipecli.errors import AmbiguousContact, ContactNotFound, UsageError
from pipecli.model import contact_from_data
from pipecli.store import pick


def environ() -> dict[str, str]:
    """This test's environment (its own cache folder included), buffered as pipe's output is in a pipe."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

MONDAY = date(2026, 11, 30)

# --- completion -----------------------------------------------------------------------------------


def people(root: Path) -> None:
    files = {
        "anna-berg": "id: a1\nname: Anna Berg\ncompany: Nordlys AS\nowner: Kari Nordmann\nstage: c\n",
        "zhang-wei": "id: z1\nname: 张伟\ncompany: 华信物流\nowner: bo\nstage: b\n",
        "sean-o-brien": "id: s1\nname: Seán O'Brien\ncompany: Brien & Sons\nowner: bo\nstage: opportunity\n",
        "juergen-mueller": "id: j1\nname: Jürgen Müller\nstage: first-appointment\n",
    }
    for slug, text in files.items():
        contact_file(root, slug).write_text(text, encoding="utf-8")


def complete(shell: str, line: str, *, root: Path | None = None, importtime: bool = False,
             word: str | None = None) -> subprocess.CompletedProcess[str]:
    """What the shell's completion script runs on Tab, for the command line typed so far (`word`: the
    word being completed, as the shell splits it, when it holds a space)."""
    env = {**environ(), "_PIPE_COMPLETE": f"complete_{shell}"}
    if root is not None:
        env["PIPE_DIR"] = str(root)
    if shell == "bash":
        words = line.split(" ") if word is None else [*line.removesuffix(word).split(" ")[:-1], word]
        env.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    else:
        env["_TYPER_COMPLETE_ARGS"] = line
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
        if shell == "powershell":
            env["_TYPER_COMPLETE_WORD_TO_COMPLETE"] = line.rsplit(" ", 1)[-1] if word is None else word
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *flags, "-m", "pipecli"], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_each_shell_gets_its_completion_script(shell: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pipecli", "--show-completion", shell], capture_output=True, text=True,
                          env=environ())
    assert done.returncode == 0, done.stderr
    assert "_PIPE_COMPLETE" in done.stdout
    assert f"complete_{shell}" in done.stdout
    assert re.search(r"\bpipe\b", done.stdout)  # completes the command `pipe`, whatever ran the script


@pytest.mark.parametrize(("shell", "script"), [("bash", ".bash_completions/pipe.sh"), ("zsh", ".zfunc/_pipe"),
                                               ("fish", ".config/fish/completions/pipe.fish")])
def test_install_completion_writes_the_script_and_says_where(tmp_path: Path, shell: str, script: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pipecli", "--install-completion", shell], capture_output=True,
                          text=True, env={**environ(), "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / script) in done.stdout
    assert "_PIPE_COMPLETE=complete_" in (tmp_path / script).read_text(encoding="utf-8")


def test_install_completion_is_offered_in_the_help() -> None:
    out = CliRunner().invoke(app, ["--help"]).stdout
    assert "--install-completion" in out
    assert "--show-completion" in out


@pytest.mark.parametrize(("shell", "line", "word", "expected"), [
    ("bash", "pipe show ", None, ["anna-berg", "juergen-mueller", "sean-o-brien", "zhang-wei"]),
    ("bash", "pipe show s", None, ["sean-o-brien"]),
    ("bash", "pipe promote 'Anna B", "'Anna B", ["'Anna Berg'"]),  # a name with a space, quoted for bash
    ("bash", "pipe log 张", None, ["张伟"]),
    ("bash", "pipe log Jü", None, ["juergen-mueller"]),  # accents folded: ü typed finds the slug too
    ("fish", "pipe history an", None, ["anna-berg\tAnna Berg (Nordlys AS) [C]"]),
    ("fish", "pipe history Anna\\ B", None, ["Anna Berg\tanna-berg"]),  # fish quotes what it inserts itself
    ("powershell", "pipe show Anna", None, ["anna-berg:::Anna Berg (Nordlys AS) [C]"]),
    ("powershell", "pipe show 'Anna B", "'Anna B", ["'Anna Berg':::anna-berg"]),
])
def test_contacts_complete_by_slug_and_by_name(pipeline: Path, shell: str, line: str, word: str | None,
                                              expected: list[str]) -> None:
    people(pipeline)
    done = complete(shell, line, root=pipeline, word=word)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected


def test_zsh_gets_values_with_their_descriptions(pipeline: Path) -> None:
    people(pipeline)
    done = complete("zsh", "pipe show zh", root=pipeline)
    assert done.stdout == "_arguments '*: :((\"zhang-wei\":\"张伟 (华信物流) [B]\"))'\n"


@pytest.mark.parametrize(("line", "expected"), [
    ("pipe promote anna --to ", ["opportunity", "O", "销售机会", "机会", "first-appointment", "FA"]),
    ("pipe list --stage 有效", ["有效潜在客户一", "有效潜在客户二", "有效潜在客户三"]),
    ("pipe demote anna --to r", ["reserve"]),
    ("pipe log anna ", ["call", "email", "meeting", "visit", "note"]),
    ("pipe log anna call --outcome n", ["no-answer", "no-reply"]),
    ("pipe list --owner ", ["bo", "'Kari Nordmann'"]),
    ("pipe review --rule no", ["no-response", "no-show", "no-next-step"]),
    ("pipe add X --source re", ["referral"]),
    ("pipe list --format ", ["table", "markdown", "csv", "json"]),  # each command's own formats
    ("pipe report -f ", ["markdown", "html", "json"]),
    ("pipe check --format ", ["text", "json"]),
])
def test_values_complete_by_what_they_name(pipeline: Path, line: str, expected: list[str]) -> None:
    people(pipeline)
    out = complete("bash", line, root=pipeline).stdout.splitlines()
    assert out[: len(expected)] == expected


def test_a_user_rule_completes_beside_the_built_in_ones(pipeline: Path) -> None:
    config = pipeline / "pipe.yaml"
    text = config.read_text(encoding="utf-8")  # the rule goes in place: a second rules: would be a key written twice
    config.write_text(text.replace("  custom: []\n", "  custom:\n    - id: no-budget-talk\n"
                                   "      action: flag\n      when: {stage: b}\n"), encoding="utf-8")
    assert complete("bash", "pipe review --rule no", root=pipeline).stdout.splitlines() == [
        "no-response", "no-show", "no-next-step", "no-budget-talk"]


def test_kinds_and_outcomes_complete_with_the_chinese_words_the_model_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipecli import model
    from pipecli.complete import values

    monkeypatch.setattr(model, "KIND_ALIASES", {"call": ("phone", "电话", "打电话"), "email": ("邮件",)}, raising=False)
    assert [(i.value, i.help) for i in values("kind", "电", None, "bash")] == [("电话", "call")]
    assert [i.value for i in values("kind", "", None, "bash")] == [*model.ACTIVITY_KINDS, "电话", "打电话", "邮件"]


def test_settings_keys_complete() -> None:
    from pipecli.complete import values

    keys = [i.value for i in values("setting", "funnel.ratios.", None, "bash")]
    assert keys == ["funnel.ratios.opportunity", "funnel.ratios.first-appointment", "funnel.ratios.c",
                    "funnel.ratios.b", "funnel.ratios.a"]


def test_completing_a_contact_reads_the_cache_not_the_files(pipeline: Path) -> None:
    people(pipeline)
    assert CliRunner().invoke(app, ["-C", str(pipeline), "list"]).exit_code == 0  # the cache is written
    done = complete("bash", f"pipe -C {pipeline} show an", importtime=True)
    assert done.stdout.splitlines() == ["anna-berg"]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pipecli.complete" in imported
    assert not {"yaml", "pipecli.yamlread", "pypinyin", "pipecli.commands.board"} & imported
    # a contact added since is offered by its slug at once
    contact_file(pipeline, "anne-new").write_text("id: n\nname: Anne New\nstage: opportunity\n", encoding="utf-8")
    assert complete("bash", f"pipe -C {pipeline} show an").stdout.splitlines() == ["anna-berg", "anne-new"]


def test_completion_outside_a_pipeline_offers_nothing(tmp_path: Path) -> None:
    done = complete("bash", f"pipe -C {tmp_path} show a")
    assert done.returncode == 0
    assert done.stdout.strip() == ""


# --- finding contacts -----------------------------------------------------------------------------

CONTACTS = [contact_from_data(slug, data) for slug, data in [
    ("anna-berg", {"id": "a1", "name": "Anna Berg", "company": "Nordlys AS", "stage": "c"}),
    ("zhang-wei", {"id": "z1", "name": "张伟", "company": "华信物流", "stage": "b"}),
    ("sean-o-brien", {"id": "s1", "name": "Seán O'Brien", "stage": "opportunity"}),
    ("juergen-mueller", {"id": "j1", "name": "Jürgen Müller", "company": "Müller-Lüdenscheidt GmbH", "stage": "a"}),
    ("li-na", {"id": "l1", "name": "李娜", "company": "Acme", "stage": "c"}),
    ("lina-olsen", {"id": "l2", "name": "Lina Olsen", "company": "Acme", "stage": "c"}),
]]


@pytest.mark.parametrize(("typed", "slug"), [
    ("anna-berg", "anna-berg"), ("a1", "anna-berg"), ("anna", "anna-berg"), ("ANNA BERG", "anna-berg"),
    ("berg", "anna-berg"), ("nordlys", "anna-berg"), ("Nordlys AS", "anna-berg"), ("anna b", "anna-berg"),
    ("obrien", "sean-o-brien"), ("O'Brien", "sean-o-brien"), ("o brien", "sean-o-brien"), ("sean", "sean-o-brien"),
    ("Seán", "sean-o-brien"), ("SEAN O'BRIEN", "sean-o-brien"), ("brien", "sean-o-brien"),
    ("张伟", "zhang-wei"), ("zhang wei", "zhang-wei"), ("zhangwei", "zhang-wei"), ("Zhang Wei", "zhang-wei"),
    ("wei", "zhang-wei"), ("huaxin", "zhang-wei"), ("华信", "zhang-wei"),
    ("jurgen muller", "juergen-mueller"), ("Müller", "juergen-mueller"), ("muller", "juergen-mueller"),
    ("ludenscheidt", "juergen-mueller"), ("李娜", "li-na"), ("olsen", "lina-olsen"),
])
def test_names_as_people_type_them(typed: str, slug: str) -> None:
    assert pick(typed, CONTACTS).slug == slug


@pytest.mark.parametrize(("typed", "slugs"), [
    ("acme", ["li-na", "lina-olsen"]),  # a company two contacts share
    ("li", ["li-na", "lina-olsen"]),
])
def test_an_ambiguous_name_lists_the_candidates(typed: str, slugs: list[str]) -> None:
    with pytest.raises(AmbiguousContact) as caught:
        pick(typed, CONTACTS)
    listed = re.findall(r"^  (\S+)  ", caught.value.message, re.MULTILINE)
    assert listed == slugs


@pytest.mark.parametrize(("typed", "message"), [
    ("anan", "no contact matches 'anan'; did you mean anna-berg?"),
    ("zhnag wei", "no contact matches 'zhnag wei'; did you mean zhang-wei?"),
    ("obrian", "no contact matches 'obrian'; did you mean sean-o-brien?"),
    ("xyzzy", "no contact matches 'xyzzy'"),
])
def test_a_miss_suggests_the_closest_names(typed: str, message: str) -> None:
    with pytest.raises(ContactNotFound) as caught:
        pick(typed, CONTACTS)
    assert caught.value.message == message


def test_a_forgiving_name_works_through_the_commands(pipeline: Path, run: Run) -> None:
    people(pipeline)
    result = run("log", "obrien", "call", "--outcome", "talked")
    assert result.exit_code == 0, result.output
    assert "activities" in yaml.safe_load(contact_file(pipeline, "sean-o-brien").read_text(encoding="utf-8"))
    miss = run("show", "anan")
    assert miss.exit_code == 1
    assert miss.stderr.startswith("pipe: error: no contact matches 'anan'; did you mean anna-berg?\n")


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "planned", "happened"), [
    ("2w", "2026-12-14", "2026-12-14"),
    ("in 2 weeks", "2026-12-14", "2026-12-14"),
    ("in 3 days", "2026-12-03", "2026-12-03"),
    ("3 days ago", "2026-11-27", "2026-11-27"),
    ("next week", "2026-12-07", "2026-12-07"),
    ("last week", "2026-11-23", "2026-11-23"),
    ("next month", "2026-12-01", "2026-12-01"),
    ("end of month", "2026-11-30", "2026-11-30"),
    ("fri", "2026-12-04", "2026-11-27"),
    ("mon", "2026-12-07", "2026-11-23"),  # never today itself
    ("Wednesday", "2026-12-02", "2026-11-25"),
    ("next fri", "2026-12-11", "2026-12-11"),
    ("last fri", "2026-11-27", "2026-11-27"),
    ("oct 12", "2027-10-12", "2026-10-12"),
    ("12 oct", "2027-10-12", "2026-10-12"),
    ("dec 3", "2026-12-03", "2025-12-03"),
    ("12 October 2026", "2026-10-12", "2026-10-12"),
    ("October 12, 2026", "2026-10-12", "2026-10-12"),
    ("3rd dec", "2026-12-03", "2025-12-03"),
    ("2026/10/12", "2026-10-12", "2026-10-12"),
    ("25/12/2026", "2026-12-25", "2026-12-25"),
    ("12/25/2026", "2026-12-25", "2026-12-25"),
    ("10月12日", "2027-10-12", "2026-10-12"),
    ("2026年10月12日", "2026-10-12", "2026-10-12"),
    ("12月3号", "2026-12-03", "2025-12-03"),
    ("下周五", "2026-12-11", "2026-12-11"),
    ("上周五", "2026-11-27", "2026-11-27"),
    ("周五", "2026-12-04", "2026-11-27"),
    ("星期一", "2026-12-07", "2026-11-23"),
    ("明天", "2026-12-01", "2026-12-01"),
    ("下个月", "2026-12-01", "2026-12-01"),
    ("月底", "2026-11-30", "2026-11-30"),
])
def test_dates_as_people_type_them(text: str, planned: str, happened: str) -> None:
    assert parse_date(text, MONDAY).isoformat() == planned
    assert parse_date(text, MONDAY, past=True).isoformat() == happened


@pytest.mark.parametrize(("text", "message", "hint"), [
    ("12/10/2026", "'12/10/2026' could be 12 October or 10 December 2026", "2026-10-12 or 2026-12-10"),
    ("3/4", "'3/4' could be 3 April or 4 March", "YYYY-04-03 or YYYY-03-04"),
    ("2026-02-30", "'2026-02-30' is not a real date", "check the day"),
    ("3000-01-01", "3000-01-01 is outside the dates pipe works with (1900-01-01 to 2999-12-31)",
     "give a date from 1900-01-01 to 2999-12-31"),
    ("1850-06-01", "1850-06-01 is outside the dates pipe works with (1900-01-01 to 2999-12-31)", "give a date"),
    ("+99999y", "'+99999y' goes beyond the dates pipe works with (1900-01-01 to 2999-12-31)", "give a date"),
    ("in 99999999999 days", "'in 99999999999 days' goes beyond the dates pipe works with (1900-01-01 to 2999-12-31)",
     "give a date"),
    ("next moon", "'next moon' is not a date", "in 2 weeks"),
])
def test_dates_that_are_refused(text: str, message: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_date(text, MONDAY)
    assert caught.value.message == message
    assert hint in (caught.value.hint or "")


def test_a_weekday_looks_back_for_what_happened_and_forward_for_what_is_planned(pipeline: Path, run: Run) -> None:
    people(pipeline)
    assert run("log", "anna", "call", "--date", "mon", "--next", "call again", "--due", "fri").exit_code == 0
    data = yaml.safe_load(contact_file(pipeline, "anna-berg").read_text(encoding="utf-8"))
    assert str(data["activities"][-1]["date"]) == "2026-11-23"  # TODAY is a Monday: the one before
    assert str(data["next"]["due"]) == "2026-12-04"
    refused = run("log", "anna", "call", "--date", "12/10/2026")
    assert refused.exit_code == 2
    assert "could be 12 October or 10 December 2026" in refused.stderr


# --- amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "amount"), [
    ("24000", Amount(24000)), ("24,000", Amount(24000)), ("24 000", Amount(24000)), ("24\u00a0000", Amount(24000)),
    ("24k", Amount(24000)), ("24K", Amount(24000)), ("1.2m", Amount(1_200_000)), ("2.5bn", Amount(2_500_000_000)),
    ("24,000.50", Amount(24000.5)), ("0", Amount(0)), ("1.2万", Amount(12000)),
    ("€24,000", Amount(24000, "EUR")), ("¥24,000", Amount(24000, "CNY")), ("￥24,000", Amount(24000, "CNY")),
    ("$1.5k", Amount(1500, "USD")), ("£900", Amount(900, "GBP")), ("24000 EUR", Amount(24000, "EUR")),
    ("nok 24 000", Amount(24000, "NOK")), ("24000元", Amount(24000, "CNY")), ("24k usd", Amount(24000, "USD")),
])
def test_amounts_as_people_type_them(text: str, amount: Amount) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize(("text", "message"), [
    ("-100", "'-100' is not an amount"),
    ("nan", "'nan' is not an amount"),
    ("inf", "'inf' is not an amount"),
    ("", "'' is not an amount"),
    ("24 apples", "'24 apples' is not an amount: 'apples' is not a currency"),
    ("€24,000 USD", "'€24,000 USD' names two currencies"),
    ("24,5", "'24,5' is not an amount: its digits are not grouped in thousands"),
    ("1,2,3", "'1,2,3' is not an amount: its digits are not grouped in thousands"),
    ("24.000", "'24.000' is ambiguous: 24.000 or 24000"),
])
def test_amounts_that_are_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_amount(text)
    assert caught.value.message == message


def test_a_currency_typed_is_kept_and_never_added_to_another(pipeline: Path, run: Run) -> None:
    for name, value in (("Anna Berg", "€24,000"), ("Zhang Wei", "¥90k"), ("Ola Hansen", "5000")):
        assert run("add", name, "--value", value).exit_code == 0
    anna = yaml.safe_load(contact_file(pipeline, "anna-berg").read_text(encoding="utf-8"))
    assert (anna["value"], anna["currency"]) == (24000, "EUR")
    listing = json.loads(run("list", "-f", "json").stdout)
    assert {r["slug"]: r["currency"] for r in listing} == {"anna-berg": "EUR", "zhang-wei": "CNY", "ola-hansen": None}
    other = run("promote", "anna", "--to", "closed", "--force", "--reason", "signed", "--value", "$30,000")
    assert other.exit_code == 2
    assert "amounts are in EUR; --value $30,000 is in USD" in other.stderr
    for slug in ("anna", "zhang", "ola"):
        assert run("promote", slug, "--to", "closed", "--force", "--reason", "signed").exit_code == 0
    report = run("report", "--format", "markdown").stdout
    assert "3 closes (90,000 CNY + 24,000 EUR + 5,000 (no currency))" in report
    data = json.loads(run("report", "--format", "json").stdout)["movement"]
    assert data["closed_value"] is None  # no one number for three currencies
    assert data["closed_values"] == [{"currency": "CNY", "value": 90000}, {"currency": "EUR", "value": 24000},
                                     {"currency": None, "value": 5000}]


def test_closing_with_a_currency_writes_it(pipeline: Path, run: Run) -> None:
    assert run("add", "Anna Berg").exit_code == 0
    assert run("promote", "anna", "--to", "closed", "--force", "--reason", "signed", "--value", "24k EUR").exit_code == 0
    anna = yaml.safe_load(contact_file(pipeline, "anna-berg").read_text(encoding="utf-8"))
    assert (anna["value"], anna["currency"], anna["closed"]["value"]) == (24000, "EUR", 24000)
    one = json.loads(run("report", "--format", "json").stdout)["movement"]
    assert one["closed_value"] == 24000
    assert one["closed_values"] == [{"currency": "EUR", "value": 24000}]


# --- one voice ------------------------------------------------------------------------------------

ONE_LINE = re.compile(r"pipe: error: [^\n]+\n  hint: [^\n]+\n")


@pytest.mark.parametrize(("args", "message", "hint"), [
    (["lst"], "no such command 'lst'; did you mean 'list'?", "'pipe help' lists the commands"),
    (["frobnicate"], "no such command 'frobnicate'", "'pipe help' lists the commands"),
    (["--bogus"], "no such option: --bogus", "see 'pipe --help'"),
    (["list", "--formt", "json"], "no such option: --formt (Possible options: --format)",
     "pipe list [OPTIONS]; see 'pipe list --help'"),
    (["log"], "missing argument 'CONTACT'", "pipe log [OPTIONS] CONTACT KIND; see 'pipe log --help'"),
    (["log", "anna"], "missing argument 'KIND'", "pipe log [OPTIONS] CONTACT KIND; see 'pipe log --help'"),
    (["promote", "anna", "--to"], "option '--to' requires an argument",
     "pipe promote [OPTIONS] CONTACT; see 'pipe promote --help'"),
    (["list", "--all=yes"], "option '--all' does not take a value", "pipe list [OPTIONS]; see 'pipe list --help'"),
    (["show", "a", "b"], "got unexpected extra argument(s) (b)", "pipe show [OPTIONS] CONTACT; see 'pipe show --help'"),
    (["classify", "--owner"], "option '--owner' requires an argument",
     "pipe classify [OPTIONS] [CONTACT]...; see 'pipe classify --help'"),
    (["help", "lst"], "no such command 'lst'; did you mean 'list'?", "'pipe help' lists the commands"),
    (["--today"], "option '--today' requires an argument", "see 'pipe --help'"),
])
def test_every_usage_error_is_one_line_with_a_hint(args: list[str], message: str, hint: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pipecli", *args], capture_output=True, text=True, env=environ())
    assert done.returncode == 2
    assert ONE_LINE.fullmatch(done.stderr), done.stderr
    assert done.stderr == f"pipe: error: {message}\n  hint: {hint}\n"
    in_process = CliRunner().invoke(app, args)  # the same through the app object
    assert in_process.exit_code == 2
    assert in_process.stderr == done.stderr


def test_pipe_help_prints_a_commands_help() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["help", "log"]).stdout == runner.invoke(app, ["log", "--help"]).stdout
    whole = runner.invoke(app, ["help"])
    assert whole.exit_code == 0
    assert whole.stdout == runner.invoke(app, ["--help"]).stdout
    done = subprocess.run([sys.executable, "-m", "pipecli", "help", "promote"], capture_output=True, text=True, env=environ())
    assert done.returncode == 0
    assert done.stdout.startswith("Usage: pipe promote [OPTIONS] CONTACT\n")


def test_help_writes_placeholders_one_way_and_ends_with_examples_and_the_docs() -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        out = CliRunner().invoke(app, [name, "--help"]).stdout
        usage = out.splitlines()[0]
        assert not re.search(r"[{}<>]", usage), usage  # no {CONTACT}, <str>
        options = out[out.index("Options:"):]
        assert not re.search(r"<\w+>|\{\w+\}", options), (name, options)
        for metavar in re.findall(r"^\s+(?:-\w, )?--[\w-]+ ([^\s/]+)", options, re.MULTILINE):
            assert metavar.isupper() or metavar == "owner", (name, metavar)  # --by owner: the one literal value
        assert "Examples:" in out[: out.index("Arguments:" if "Arguments:" in out else "Options:")], name
        last = " ".join(out.rstrip().rsplit("\n\n", 1)[-1].split())
        assert re.fullmatch(r"Docs: docs/commands\.md( and docs/[a-z-]+\.md)? in pipe's source\.", last), (name, last)
        pages = re.findall(r"docs/([a-z-]+\.md)", last)
        assert all((Path(__file__).parent.parent / "docs" / page).is_file() for page in pages)
    root = CliRunner().invoke(app, ["--help"]).stdout
    assert "Docs: docs/" in root
    assert "pipe help COMMAND" in root


def test_pipe_edit_without_an_editor_says_which_it_opens(pipeline: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    people(pipeline)
    bin_dir = pipeline.parent / "bin"
    bin_dir.mkdir()
    vi = bin_dir / "vi"
    vi.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    vi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = run("edit", "anna")
    assert result.exit_code == 0, result.output
    assert "pipe: opening contacts/anna-berg.yaml in vi ($VISUAL and $EDITOR are not set" in result.stderr


def test_a_since_report_is_titled_by_its_period(pipeline: Path, run: Run) -> None:
    assert run("report").stdout.startswith(f"# Weekly report: 2026-11-24 to {TODAY}\n")
    assert run("report", "--since", "2026-11-01").stdout.startswith("# Monthly report: November 2026\n")
    assert run("report", "--since", "2026-11-10").stdout.startswith(f"# Report, 21 days: 2026-11-10 to {TODAY}\n")
    assert run("report", "--since", "today").stdout.startswith(f"# Report, one day: {TODAY}\n")


# --- docs -----------------------------------------------------------------------------------------


def test_every_command_and_every_setting_is_in_the_docs() -> None:
    import typer.main

    from pipecli.config import SETTINGS

    docs = Path(__file__).parent.parent / "docs"
    text = "\n".join(page.read_text(encoding="utf-8") for page in sorted(docs.glob("*.md")))
    readme = (docs.parent / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in sorted(docs.glob("*.md")) if f"(docs/{p.name})" not in readme] == []  # the README's index
    reference = (docs / "commands.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    missing = [f"pipe {name}" for name in group.commands  # type: ignore[attr-defined]
               if not re.search(rf"^\| `pipe {name}\b", reference, re.MULTILINE)]  # a row of the command table

    def documented(key: str) -> bool:
        if f"`{key}`" in text:
            return True
        prefix, _, last = key.rpartition(".")  # a table row may write `funnel.ratios.opportunity`, `.c`, ...
        return any(f"`{prefix}." in line and re.search(rf"`(?:{re.escape(prefix)})?\.?{re.escape(last)}`", line)
                   for line in text.splitlines())

    missing += [s.key for s in SETTINGS if not documented(s.key)]
    assert missing == []


def test_the_readme_explains_the_ladder_and_its_gates_before_any_command() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    method = readme.index("## The method in one screen")
    first_command = min(readme.index("```sh"), readme.index("`pipe "))
    assert method < first_command
    screen = readme[method:readme.index("\n## ", method + 1)]
    for letter in ("**O**", "**FA**", "**C**", "**B**", "**A**"):
        assert letter in screen
    for gate in ("a first meeting date", "the first meeting held", "decision-maker", "a verbal yes", "formal commitment"):
        assert gate in screen
    assert not re.search(r"\b(O|FA|C|B|A)\b", readme[:method].split("\n", 1)[1])  # no letter used before it
    # the two set-up commands, as CI runs them
    assert "```sh\npip install . && pipe -C examples/demo list\n```" in readme
    assert "```sh\npip install '.[test]' && python -m pytest -q\n```" in readme
    assert len(screen.splitlines()) <= 30  # one screen


def test_a_currency_in_a_file_is_a_three_letter_code(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "anna-berg").write_text("id: a\nname: Anna Berg\nstage: c\nvalue: 24000\ncurrency: eur\n",
                                                   encoding="utf-8")
    assert json.loads(run("list", "-f", "json").stdout)[0]["currency"] == "EUR"  # as the sums compare it
    contact_file(pipeline, "anna-berg").write_text("id: a\nname: Anna Berg\nstage: c\nvalue: 24000\ncurrency: euros\n",
                                                   encoding="utf-8")
    check = run("check")
    assert check.exit_code == 1
    assert "contacts/anna-berg.yaml:5: currency should be a three-letter currency code like EUR or CNY, not 'euros'" \
        in check.stdout
