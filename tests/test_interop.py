"""pipe import and pipe export: every format and preset on hand-written fixtures, bad input, safety, round trips."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import TODAY, Run, contact_file
from pipecli.cli import app
from pipecli.model import contact_from_data

FIXTURES = Path(__file__).parent / "fixtures" / "interop"


def files(root: Path) -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((root / "contacts").glob("*.yaml"))}


def by_name(root: Path) -> dict[str, dict]:
    return {(d["name"], d.get("deal")): d for d in files(root).values()}


def git_pipeline(tmp_path: Path) -> Path:
    root = tmp_path / "sales"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    return root


def pipe(root: Path, *args: str) -> object:
    return CliRunner().invoke(app, ["-C", str(root), "--today", TODAY, *args])


def commits(root: Path) -> list[str]:
    return subprocess.run(["git", "log", "--format=%s"], cwd=root, capture_output=True, text=True, check=True).stdout.split("\n")[:-1]


# --- presets ----------------------------------------------------------------------------------


def test_pipedrive_deals_become_cards_with_history_crm_ids_and_kept_columns(tmp_path: Path) -> None:
    root = git_pipeline(tmp_path)
    result = pipe(root, "import", str(FIXTURES / "pipedrive-deals.csv"))
    assert result.exit_code == 0, result.output
    assert "Pipedrive deals" in result.stdout and "4 new, 0 updated, 0 unchanged" in result.stdout
    found = by_name(root)
    # two deals of one person at one company: two cards, never merged
    big, support = found[("Anna Berg", "Nordlys 50 licences")], found[("Anna Berg", "Nordlys support contract")]
    assert big["crm"]["id"] == "101" and support["crm"]["id"] == "102" and big["id"] != support["id"]
    assert big["stage"] == "b" and support["stage"] == "opportunity" and support["value"] == 5000
    assert big["crm"]["columns"] == {"Deal - Creator": "Kari Nilsen", "Deal - Currency of value": "EUR",
                                     "Deal - Pipeline": "Default", "Deal - Expected close date": "2026-12-20",
                                     "Deal - Label": "Hot"}
    assert big["history"] == [
        {"date": date(2026, 9, 1), "to": "opportunity", "reason": "imported from Pipedrive deals",
         "imported": True},
        {"date": date(2026, 10, 15), "from": "opportunity", "to": "b",
         "reason": "imported at b from Pipedrive deals (stage 'Proposal Made' there)", "imported": True}]
    won = found[("Zhang Wei", "Huaxin rollout")]
    assert won["stage"] == "closed" and won["closed"] == {"date": date(2026, 10, 1), "value": 48000}
    lost = found[("Bob Smith", "Acme pilot")]
    assert lost["stage"] == "reserve" and lost["history"][-1]["reason"] == "lost: Went with a competitor"
    assert all(entry["imported"] is True for d in found.values() for entry in d["history"])
    assert commits(root)[0].startswith("import pipedrive-deals.csv (Pipedrive deals): 4 new")
    assert len(commits(root)) == 2  # init, then one commit for the whole run
    check = pipe(root, "check")
    assert check.exit_code == 0, check.output


def test_importing_again_updates_instead_of_duplicating(tmp_path: Path) -> None:
    root = git_pipeline(tmp_path)
    source = tmp_path / "deals.csv"
    shutil.copy(FIXTURES / "pipedrive-deals.csv", source)
    assert pipe(root, "import", str(source)).exit_code == 0
    again = pipe(root, "import", str(source))
    assert "0 new, 0 updated, 4 unchanged" in again.stdout
    assert len(commits(root)) == 2  # nothing changed: nothing committed
    text = source.read_text(encoding="utf-8").replace("Contact Made,open", "Needs Defined,open").replace("24000", "26000")
    source.write_text(text.replace("Hot\n", "Hot\n105,Kaze pilot,Kari Nilsen,Kari Nilsen,9000,EUR,Kaze KK,Yuki Tanaka,,,"
                                   "Default,Qualified,open,2026-11-01 10:00:00,,,,,,,\n"), encoding="utf-8")
    third = pipe(root, "import", str(source))
    assert "1 new, 2 updated, 2 unchanged" in third.stdout, third.output
    found = by_name(root)
    assert len(found) == 5
    support = found[("Anna Berg", "Nordlys support contract")]
    assert support["stage"] == "c"
    assert support["history"][-1] == {"date": date(2026, 11, 30), "from": "opportunity", "to": "c",
                                      "reason": "imported at c from Pipedrive deals (stage 'Needs Defined' there)",
                                      "imported": True}
    assert found[("Anna Berg", "Nordlys 50 licences")]["value"] == 26000


def test_a_move_made_in_pipe_survives_a_reimport_of_an_unchanged_crm_stage(tmp_path: Path) -> None:
    root = git_pipeline(tmp_path)
    assert pipe(root, "import", str(FIXTURES / "pipedrive-deals.csv")).exit_code == 0
    slug = next(s for s, d in files(root).items() if d.get("deal") == "Nordlys 50 licences")
    assert pipe(root, "demote", slug, "--reason", "no budget after all").exit_code == 0
    assert pipe(root, "import", str(FIXTURES / "pipedrive-deals.csv")).exit_code == 0
    assert files(root)[slug]["stage"] == "c"


def test_hubspot_contacts_with_bom_and_lifecycle_stages(run: Run, pipeline: Path) -> None:
    result = run("import", str(FIXTURES / "hubspot-contacts.csv"))
    assert result.exit_code == 0, result.output
    assert "HubSpot contacts" in result.stdout
    found = by_name(pipeline)
    maria = found[("Maria García", None)]
    assert maria["company"] == "Solana Energía" and maria["crm"]["system"] == "hubspot-contact"
    assert maria["crm"]["columns"]["Lead Status"] == "In Progress" and maria["created"].isoformat() == "2026-10-02"
    assert found[("Yuki Tanaka", None)]["stage"] == "closed"
    assert maria["owner"] == "Lena Park"


def test_hubspot_deals_closed_won_and_lost_and_names(run: Run, pipeline: Path) -> None:
    result = run("import", str(FIXTURES / "hubspot-deals.csv"))
    assert result.exit_code == 0, result.output
    found = by_name(pipeline)
    assert found[("Maria García", "Solana - storage upgrade")]["stage"] == "c"
    won = found[("Maria García", "Solana - service plan")]
    assert won["stage"] == "closed" and won["closed"]["value"] == 8000 and won["closed"]["date"].isoformat() == "2026-11-10"
    lost = found[("Tom Becker", "Kraftwerk - pilot")]
    assert lost["stage"] == "reserve" and lost["history"][-1]["reason"] == "lost: Budget frozen"
    assert found[("Kaze KK", "Kaze - expansion")]["stage"] == "first-appointment"  # no contact: named by the company


def test_salesforce_report_with_us_dates_currency_amounts_and_footer(run: Run, pipeline: Path) -> None:
    result = run("import", str(FIXTURES / "salesforce-opportunities.csv"))
    assert result.exit_code == 0, result.output
    found = by_name(pipeline)
    assert len(found) == 4  # the footer lines are no contacts
    fleet = found[("Blue Harbor Inc.", "Blue Harbor - fleet tracking")]
    assert fleet["value"] == 120000 and fleet["stage"] == "b" and fleet["next"]["action"] == "Send revised quote"
    assert fleet["created"].isoformat() == "2026-09-30"
    assert fleet["crm"]["columns"]["Close Date"] == "12/15/2026"  # an open deal's expected close: kept as written
    assert found[("Greenfield Farms", "Greenfield - sensors")]["closed"]["date"].isoformat() == "2026-11-02"


def test_preset_override_and_unknown_preset(run: Run) -> None:
    result = run("import", str(FIXTURES / "hubspot-deals.csv"), "--preset", "nope")
    assert result.exit_code == 2 and "unknown preset 'nope'" in result.stderr
    generic = run("import", str(FIXTURES / "hubspot-deals.csv"), "--preset", "csv", "--dry-run")
    assert "read as CSV" in generic.stdout  # the header's preset was overridden


# --- any CSV ----------------------------------------------------------------------------------


def test_any_csv_with_map_stage_map_and_date_format(run: Run, pipeline: Path) -> None:
    leads = str(FIXTURES / "leads.csv")
    unmapped = run("import", leads)
    assert unmapped.exit_code == 1
    assert "Proposal (1 row) -> not mapped" in unmapped.stderr and "New (1 row) -> not mapped" in unmapped.stderr
    assert '--stage-map "Proposal=STAGE" --stage-map "New=STAGE"' in unmapped.stderr
    wrong_date = run("import", leads, "--map", "Mail=email", "--stage-map", "Proposal=b", "--stage-map", "New=O")
    assert wrong_date.exit_code == 1
    assert "Created: '05.10.2026' is not a date in the expected format %Y-%m-%d (like 2026-11-30)" in wrong_date.stderr
    assert "add --date-format '%d.%m.%Y'" in wrong_date.stderr and ":2:" in wrong_date.stderr and ":3:" in wrong_date.stderr
    assert not list((pipeline / "contacts").glob("*.yaml"))
    ok = run("import", leads, "--stage-map", "Proposal=b", "--stage-map", "New=O", "--date-format", "%d.%m.%Y",
             "--map", "Mail=email")
    assert ok.exit_code == 0, ok.output
    ivan = by_name(pipeline)[("Ivan Petrov", None)]
    assert ivan["stage"] == "b" and ivan["value"] == 12500 and ivan["company"] == "Volga Trade"
    assert ivan["created"].isoformat() == "2026-10-05" and ivan["crm"]["stage"] == "Proposal"
    assert ivan["email"] == "ivan@volga.example"
    unknown = run("import", leads, "--map", "Mail=e-mail")
    assert unknown.exit_code == 2 and "unknown field 'e-mail'" in unknown.stderr


@pytest.mark.parametrize(("encoding", "delimiter", "bom"), [
    ("utf-8", ",", b""), ("utf-8", ";", b"\xef\xbb\xbf"), ("utf-16-le", "\t", b"\xff\xfe"),  # Excel's "Unicode text"
    ("cp1252", ";", b""), ("gb18030", ",", b""),
])
def test_encodings_and_delimiters_are_detected(run: Run, pipeline: Path, tmp_path: Path, encoding: str, delimiter: str,
                                               bom: bytes) -> None:
    name = "张伟" if encoding == "gb18030" else "Jürgen Müßig"
    company = "华信物流" if encoding == "gb18030" else "Café Crème"
    text = delimiter.join(("name", "company", "email")) + "\r\n" + delimiter.join((name, company, "x@y.example")) + "\r\n"
    path = tmp_path / f"people{'.txt' if delimiter == chr(9) else '.csv'}"
    path.write_bytes(bom + text.encode(encoding))
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert by_name(pipeline)[(name, None)]["company"] == company


def test_encoding_can_be_given(run: Run, pipeline: Path, tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("name,company\nŁukasz Żak,Gdańsk Port\n".encode("cp1250"))
    assert run("import", str(path), "--encoding", "cp1250").exit_code == 0
    assert ("Łukasz Żak", None) in by_name(pipeline)
    wrong = run("import", str(path), "--encoding", "utf-8")
    assert wrong.exit_code == 1 and "legacy.csv:2: not utf-8 text" in wrong.stderr


# --- vCard ------------------------------------------------------------------------------------


def test_vcards_3_and_4_one_or_many_per_file(run: Run, pipeline: Path) -> None:
    assert run("import", str(FIXTURES / "contacts-v3.vcf")).exit_code == 0
    result = run("import", str(FIXTURES / "contacts-v4.vcf"))
    assert result.exit_code == 0, result.output
    found = by_name(pipeline)
    anna = found[("Anna Berg", None)]
    assert anna["id"] == "c2a1f0de-0001-4000-8000-000000000001"  # the card's UID: a re-import finds it
    assert anna["company"] == "Nordlys AS" and anna["title"] == "Head of purchasing" and anna["tags"] == ["fair", "oslo"]
    assert "Karl Johans gate 1" in anna["crm"]["columns"]["ADR"]
    assert found[("张伟", None)]["company"] == "华信物流"
    maria = found[("Maria García", None)]
    assert maria["phone"] == "+34-910-000-001" and maria["crm"]["columns"]["URL"] == "https://solana.example"
    again = run("import", str(FIXTURES / "contacts-v3.vcf"))
    assert "0 new, 0 updated, 2 unchanged" in again.stdout


def test_a_card_without_a_name_is_named_by_its_number(run: Run, pipeline: Path, tmp_path: Path) -> None:
    path = tmp_path / "cards.vcf"
    path.write_text((FIXTURES / "contacts-v3.vcf").read_text(encoding="utf-8")
                    + "BEGIN:VCARD\nVERSION:3.0\nORG:Nameless Ltd\nEND:VCARD\n", encoding="utf-8")
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "cards.vcf:22: card 3 has no name (neither FN nor N)" in result.stderr
    assert not list((pipeline / "contacts").glob("*.yaml"))


# --- bad input: one clear error with the line, nothing written ---------------------------------


@pytest.mark.parametrize(("name", "content", "message"), [
    ("ragged.csv", b"name,company,email\nAnna,Nordlys,a@n.example\nOla,Acme\n",
     "ragged.csv:3: has 2 fields, the header has 3 (a ragged row)"),
    ("value.csv", b"name,value\nAnna,lots\n", "value.csv:2: value: 'lots' is not an amount"),
    ("date.csv", b"name,created\nAnna,tomorrow-ish\n",
     "date.csv:2: created: 'tomorrow-ish' is not a date in the expected format %Y-%m-%d"),
    ("workbook.csv", b"PK\x03\x04\x14\x00\x06\x00rest of a zip", "workbook.csv: not a CSV file: it is a ZIP archive"),
    ("cards.csv", b"BEGIN:VCARD\nVERSION:3.0\nFN:Anna\nEND:VCARD\n", "cards.csv: not a CSV file: it is a vCard file"),
    ("people.vcf", b"name,company\nAnna,Nordlys\n", "people.vcf:1: not a vCard file: it should start with BEGIN:VCARD"),
    ("quote.csv", b'name,company\n"Anna,Nordlys\n', "quote.csv:2: not valid CSV"),
    ("no-name.csv", b"company\nNordlys\n", "no-name.csv:2: no name: map a column to name"),
])
def test_bad_input_gives_one_clear_error_and_writes_nothing(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    root = git_pipeline(tmp_path)
    path = tmp_path / name
    path.write_bytes(content)
    result = pipe(root, "import", str(path))
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not list((root / "contacts").glob("*.yaml")) and len(commits(root)) == 1


def test_every_bad_row_is_listed_and_skip_bad_imports_the_rest(run: Run, pipeline: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("name,value,created\nAnna,100,2026-10-01\nOla,abc,2026-10-01\nKari,5,01/10/2026\nBob,7\n"
                    "Anna,100,2026-10-01\n", encoding="utf-8")
    result = run("import", str(path))
    assert result.exit_code == 1
    for line in ("mixed.csv:3: value", "mixed.csv:4: created", "mixed.csv:5: has 2 fields", "mixed.csv:6: the same record as line 2"):
        assert line in result.stderr
    assert "4 bad rows; nothing was imported" in result.stderr
    skipped = run("import", str(path), "--skip-bad")
    assert skipped.exit_code == 0 and "1 new" in skipped.stdout and "4 bad rows skipped" in skipped.stdout
    assert list(by_name(pipeline)) == [("Anna", None)]


def test_dry_run_counts_by_stage_and_owner_shows_the_files_and_writes_nothing(tmp_path: Path) -> None:
    root = git_pipeline(tmp_path)
    result = pipe(root, "import", str(FIXTURES / "pipedrive-deals.csv"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "4 new, 0 updated, 0 unchanged" in result.stdout
    assert "By stage: O 1, B 1, closed 1, reserve 1" in result.stdout
    assert "By owner: Kari Nilsen 3, Ola Hansen 1" in result.stdout
    assert "# new, from line 2:\nid: " in result.stdout and "deal: Nordlys 50 licences" in result.stdout
    assert result.stdout.count("# new, from line") == 3
    assert "# and 1 more new, not shown" in result.stdout
    assert "Nothing was written" in result.stdout
    assert not list((root / "contacts").glob("*.yaml")) and len(commits(root)) == 1


# --- imported moves are not evidence -------------------------------------------------------------


def test_classify_does_not_take_an_imported_class_for_evidence(run: Run, pipeline: Path) -> None:
    result = run("import", str(FIXTURES / "pipedrive-deals.csv"))
    assert "1 of the new contacts sits in a class their recorded evidence does not support" in result.stdout
    found = run("classify", "--format", "json")
    import json

    rows = json.loads(found.stdout)
    assert [(r["name"], r["recorded"], r["supported"]) for r in rows] == [("Anna Berg", "b", "opportunity")]
    contact = contact_from_data("x", files(pipeline)[rows[0]["slug"]])
    assert [h.imported for h in contact.history] == [True, True]


# --- export -------------------------------------------------------------------------------------


def make_pipeline(run: Run) -> None:
    assert run("add", "Anna Berg", "--company", "Nordlys AS", "--email", "anna@nordlys.example", "--phone", "+47 22 00 00 01",
               "--tag", "fair", "--tag", "oslo", "--value", "24000", "--source", "referral", "--title", "Head of purchasing",
               "--note", "Met at the fair").exit_code == 0
    assert run("meet", "anna-berg", "2026-12-03").exit_code == 0
    assert run("add", "=HYPERLINK(\"http://x.example\")", "--company", "@evil").exit_code == 0
    assert run("add", "张伟", "--company", "华信物流").exit_code == 0
    assert run("log", "zhang-wei", "note", "--next", "send the quote", "--due", "2026-12-04").exit_code == 0
    assert run("add", "Ola Nordmann", "--stage", "closed", "--force", "--reason", "signed at the fair").exit_code == 0


def test_export_csv_then_import_gives_the_same_contacts(run: Run, pipeline: Path, tmp_path: Path) -> None:
    make_pipeline(run)
    first = run("export", "--all")
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == ("id,name,company,deal,title,email,phone,owner,stage,class,source,value,currency,created,next_action,next_due,"
                        "first_meeting,first_meeting_held,closed,days_in_stage,tags,notes")
    assert "'=HYPERLINK" in first.stdout and ",'@evil," in first.stdout and "'+47 22 00 00 01" in first.stdout  # no formula runs
    exported = tmp_path / "pipeline.csv"
    assert run("export", "--all", "--output", str(exported)).exit_code == 0
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 right only with the mark
    other = tmp_path / "other"
    assert CliRunner().invoke(app, ["init", str(other), "--no-git"]).exit_code == 0
    result = CliRunner().invoke(app, ["-C", str(other), "--today", TODAY, "import", str(exported)])
    assert result.exit_code == 0, result.output
    assert "read as" not in result.stdout and "pipe's CSV" in result.stdout
    again = CliRunner().invoke(app, ["-C", str(other), "--today", TODAY, "export", "--all"])
    assert again.stdout == first.stdout
    name = files(other)
    assert any(d["name"] == '=HYPERLINK("http://x.example")' and d["company"] == "@evil" for d in name.values())


def test_export_selects_by_stage_and_owner(run: Run) -> None:
    make_pipeline(run)
    only_fa = run("export", "--format", "json", "--stage", "FA")
    import json

    assert [r["name"] for r in json.loads(only_fa.stdout)] == ["Anna Berg"]
    assert len(json.loads(run("export", "--format", "json").stdout)) == 3  # the pipeline: not the closed one
    assert len(json.loads(run("export", "--format", "json", "--all").stdout)) == 4
    nobody = run("export", "--format", "json", "--owner", "nobody")
    assert nobody.exit_code == 1
    assert "no contact has the owner 'nobody'" in nobody.stderr  # as every command says it
    mine = json.loads(run("export", "--format", "json", "--owner", "TESTER").stdout)
    assert sorted(r["name"] for r in mine) == sorted(["Anna Berg", "=HYPERLINK(\"http://x.example\")", "张伟"])
    bad = run("export", "--format", "xlsx")
    assert bad.exit_code == 2 and "unknown format 'xlsx'" in bad.stderr


def test_export_vcards_carry_pipes_id_as_uid_and_read_back(run: Run, pipeline: Path, tmp_path: Path) -> None:
    import vobject

    make_pipeline(run)
    out = tmp_path / "pipe.vcf"
    assert run("export", "--format", "vcf", "--all", "--output", str(out)).exit_code == 0
    cards = list(vobject.readComponents(out.read_text(encoding="utf-8")))
    ids = {d["name"]: d["id"] for d in files(pipeline).values()}
    assert {c.fn.value: c.uid.value for c in cards} == ids
    anna = next(c for c in cards if c.fn.value == "Anna Berg")
    assert anna.org.value == ["Nordlys AS"] and anna.email.value == "anna@nordlys.example"
    again = run("import", str(out))
    assert "0 new, 0 updated, 4 unchanged" in again.stdout, again.output  # the UID finds each contact


def test_export_icalendar_meetings_as_events_next_actions_as_todos_with_stable_uids(run: Run, tmp_path: Path) -> None:
    import icalendar
    import vobject

    make_pipeline(run)
    out = tmp_path / "pipe.ics"
    assert run("export", "--format", "ics", "--output", str(out)).exit_code == 0
    data = out.read_bytes()
    cal = icalendar.Calendar.from_ical(data)
    events = [c for c in cal.walk("VEVENT")]
    todos = [c for c in cal.walk("VTODO")]
    assert [str(e["summary"]) for e in events] == ["First meeting: Anna Berg (Nordlys AS)"]
    assert events[0].decoded("dtstart").isoformat() == "2026-12-03"
    assert [str(t["summary"]) for t in todos] == ["send the quote (张伟 (华信物流))"]
    assert todos[0].decoded("due").isoformat() == "2026-12-04"
    parsed = vobject.readOne(data.decode("utf-8"))  # a second, independent parser accepts it too
    assert parsed.prodid.value and parsed.version.value == "2.0"
    assert all(str(c["uid"]).endswith("@pipe") and "dtstamp" in c for c in [*events, *todos])
    assert run("log", "zhang-wei", "note", "--next", "call again", "--due", "2026-12-08").exit_code == 0
    assert run("export", "--format", "ics", "--output", str(out)).exit_code == 0
    later = icalendar.Calendar.from_ical(out.read_bytes())
    assert [str(t["uid"]) for t in later.walk("VTODO")] == [str(t["uid"]) for t in todos]  # updated in place


# --- all or none -----------------------------------------------------------------------------------


def big_csv(path: Path, rows: int) -> None:
    lines = ["name,company,email,stage"] + [f"Person {i},Company {i % 50},p{i}@x.example,opportunity" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_import_stopped_while_writing_its_files_leaves_none(tmp_path: Path) -> None:
    from pipecli.commands.common import STATE, Session
    from pipecli.interop import plan as interop
    from pipecli.store import Store

    root = git_pipeline(tmp_path)
    source = tmp_path / "people.csv"
    big_csv(source, 80)  # enough to be synced together, not one by one
    store = Store.open(str(root))
    read = interop.read(source.read_bytes(), "people.csv", ".csv", interop.Options(), date(2026, 11, 30))
    session = Session(store, date(2026, 11, 30))
    STATE.reset()
    session.writable()
    for d in read.drafts:
        session.create(d.data, d.name, d.company)

    def killed(done: int) -> None:
        if done == 50:
            raise KeyboardInterrupt  # as a kill would, half-way through the files

    with pytest.raises(KeyboardInterrupt):
        session.commit("import people.csv", killed)
    store.unlock()
    assert not list((root / "contacts").glob("*.yaml"))
    assert pipe(root, "list").exit_code == 0
    assert len(commits(root)) == 1
    assert pipe(root, "import", str(source)).exit_code == 0  # and the import runs again from the start
    assert len(list((root / "contacts").glob("*.yaml"))) == 80


def test_a_killed_import_leaves_all_or_none(tmp_path: Path) -> None:
    root = git_pipeline(tmp_path)
    source = tmp_path / "people.csv"
    big_csv(source, 400)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    for delay in (0.3, 0.6, 0.9, 1.2):
        process = subprocess.Popen([sys.executable, "-m", "pipecli", "-C", str(root), "--today", TODAY, "import",
                                    str(source)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        result = pipe(root, "list", "--format", "json")  # finishes or rolls back what the kill left
        count = len(list((root / "contacts").glob("*.yaml")))
        assert count in (0, 400), count
        assert result.exit_code == 0
        if count == 400:
            status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout
            assert commits(root)[0].startswith("import people.csv"), (result.stderr, status[:300])
            assert status == "", (result.stderr, status[:300])
            break
    assert not (root / ".pipe" / "journal").exists()


# --- start-up ----------------------------------------------------------------------------------------


def test_format_libraries_stay_out_of_other_commands(tmp_path: Path) -> None:
    root = git_pipeline(tmp_path)
    assert pipe(root, "add", "Anna").exit_code == 0
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipecli", "-C", str(root), "list"],
                          capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pipecli.cli" in imported
    assert not imported & {"vobject", "icalendar", "rich", "pipecli.interop", "csv"}


def test_the_progress_bar_shows_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    root = git_pipeline(tmp_path)
    source = tmp_path / "people.csv"
    big_csv(source, 350)
    quiet = subprocess.run([sys.executable, "-m", "pipecli", "-C", str(root), "--today", TODAY, "import", str(source),
                            "--dry-run"], capture_output=True, text=True)
    assert quiet.stderr == ""
    pid, fd = pty.fork()
    if pid == 0:  # the child: stderr is the terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "pipecli", "-C", str(root), "--today", TODAY, "import", str(source)],
                   {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), "COLUMNS": "100"})
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.waitpid(pid, 0)
    assert b"importing" in seen and b"350 new" in seen
    assert contact_file(root, "person-0").exists()


# --- writing thousands of files: the emitter's fast path -------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_WORDY = st.text(alphabet=st.sampled_from("abcyzABNOTFé张伟ß0129²_ ._-/@()&+':,#[]{}\"\n\t*!|>%`~=?\u2028\x85"), max_size=12)
_SCALARS = st.one_of(_WORDY, st.sampled_from(["yes", "No", "NULL", "off", "On", "True", "Anna Berg", "Deal - ID", "1000",
                                              "2026-10-01", "+47 22 00 00 01", "1_000", "0x1F", "1:30", "1e5", "3.5",
                                              "1.5.2", "2026-10-01 10:00:00", "007", "12 Main St", "lost: no budget",
                                              "a #b", "it's: x", "x: y, z", "-a: b", "b:c", "a: b "]),
                     st.integers(), st.booleans(), st.dates(), st.none())


@settings(max_examples=400, deadline=None)
@given(st.one_of(_SCALARS, st.lists(_SCALARS, max_size=4), st.dictionaries(_WORDY, _SCALARS, max_size=4)))
def test_the_fast_path_writes_what_pyyaml_writes(value: object) -> None:
    from pipecli.yamledit import emitted_text, fast_text

    fast = fast_text(value)
    if fast is not None:
        assert fast == emitted_text(value)
        assert yaml.load(fast, Loader=yaml.SafeLoader) == value  # noqa: S506 - a safe loader


def test_the_demo_exported_and_imported_again_is_unchanged(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(Path(__file__).parent.parent / "examples" / "demo", demo, ignore=shutil.ignore_patterns(".pipe"))
    before = {p.name: p.read_bytes() for p in (demo / "contacts").glob("*.yaml")}
    out = tmp_path / "demo.csv"
    assert pipe(demo, "--no-commit", "export", "--all", "--output", str(out)).exit_code == 0
    result = pipe(demo, "--no-commit", "import", str(out))
    assert result.exit_code == 0, result.output
    assert f"0 new, 0 updated, {len(before)} unchanged" in result.stdout  # Chinese sources, short forms: the same contacts
    assert {p.name: p.read_bytes() for p in (demo / "contacts").glob("*.yaml")} == before


def test_outlook_21_quoted_printable_and_apple_grouped_cards_with_a_damaged_photo(run: Run, pipeline: Path) -> None:
    result = run("import", str(FIXTURES / "contacts-v21-apple.vcf"))
    assert result.exit_code == 0, result.output
    found = by_name(pipeline)
    assert found[("Anna Berg", None)]["notes"] == "Line one\nLine two café\n"  # quoted-printable, decoded
    assert found[("Anna Berg", None)]["phone"] == "+47 22 00 00 01"
    assert found[("Ann Lee", None)]["email"] == "ann@lee.example"  # item1.EMAIL, as Apple groups it


def test_a_stage_map_overrides_the_presets_table(run: Run, pipeline: Path) -> None:
    result = run("import", str(FIXTURES / "pipedrive-deals.csv"), "--stage-map", "Proposal Made=C",
                 "--stage-map", "Contact Made=销售机会")
    assert result.exit_code == 0, result.output
    found = by_name(pipeline)
    assert found[("Anna Berg", "Nordlys 50 licences")]["stage"] == "c"
    bad = run("import", str(FIXTURES / "pipedrive-deals.csv"), "--stage-map", "Proposal Made=maybe")
    assert bad.exit_code == 2
    assert "unknown pipe stage 'maybe'" in bad.stderr


def test_an_import_into_a_pipeline_named_by_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_pipeline(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["-C", "sales", "--today", TODAY, "import", str(FIXTURES / "pipedrive-deals.csv")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "sales" / "contacts").glob("*.yaml"))) == 4


def test_history_marks_imported_moves_and_classify_apply_demotes_an_imported_class(tmp_path: Path) -> None:
    import json

    root = git_pipeline(tmp_path)
    assert pipe(root, "import", str(FIXTURES / "pipedrive-deals.csv")).exit_code == 0
    slug = next(s for s, d in files(root).items() if d.get("deal") == "Nordlys 50 licences")
    shown = json.loads(pipe(root, "history", slug, "--format", "json").stdout)
    moves = [row for row in shown if row["kind"] == "stage"]
    assert [row["imported"] for row in moves] == [True, True]
    assert "(imported)" in pipe(root, "history", slug).stdout
    applied = pipe(root, "classify", "--apply", "--yes")
    assert applied.exit_code == 0, applied.output
    after = files(root)[slug]
    assert after["stage"] == "opportunity"
    assert after["history"][-1]["reason"].startswith("classify: the evidence supports O")
    assert "imported" not in after["history"][-1]  # pipe's own move, made on pipe's evidence


def test_amounts_keep_their_currency_and_a_point_before_three_digits_is_never_guessed(run: Run, pipeline: Path,
                                                                                        tmp_path: Path) -> None:
    """From a new user's trial: '48.000' was read as 48 and '€3.500' as 3.5, the currency dropped."""
    csv = tmp_path / "values.csv"
    csv.write_text("Name,Value,Currency\nAda One,\"48,000.00\",\nBo Two,€ 12000,\nCy Three,9000,nok\n"
                   "Di Four,48.000,\nEd Five,\"12.000,50\",\n", encoding="utf-8")
    bad = run("import", str(csv), "--map", "Value=value", "--map", "Currency=currency")
    assert bad.exit_code == 1
    assert "Value: '48.000' is ambiguous: a point before three digits reads as 48 or as 48000" in bad.stderr
    assert not list((pipeline / "contacts").glob("*.yaml"))
    done = run("import", str(csv), "--map", "Value=value", "--map", "Currency=currency", "--skip-bad")
    assert done.exit_code == 0, done.output
    people = by_name(pipeline)
    assert (people[("Ada One", None)]["value"], people[("Ada One", None)].get("currency")) == (48000, None)
    assert (people[("Bo Two", None)]["value"], people[("Bo Two", None)]["currency"]) == (12000, "EUR")
    assert (people[("Cy Three", None)]["value"], people[("Cy Three", None)]["currency"]) == (9000, "NOK")
    assert people[("Ed Five", None)]["value"] == 12000.5
    assert ("Di Four", None) not in people
