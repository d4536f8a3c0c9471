"""`pipe review` on real files: listing, JSON, --explain, --apply (history written, every other byte kept), exit codes."""

from __future__ import annotations

import difflib
import json
from datetime import date
from pathlib import Path

import yaml
from conftest import Run, contact_file, docs_text

# Today is 2026-11-30 (conftest). Each file is written by hand, with comments and a key of the user's own.
SILENT = """\
# met at the logistics fair
id: s1
name: Sara Lind
company: Polar Tech
owner: anna
source: inbound
stage: opportunity
created: 2026-09-01
activities:
  - {date: 2026-10-02, kind: call, outcome: no-answer}
  - {date: 2026-10-09, kind: call, outcome: left-message}   # voicemail
  - {date: 2026-10-20, kind: call, outcome: no-answer}
history:
  - {date: 2026-09-01, to: opportunity, reason: added}
my_own_key: keep me   # pipe does not know this key
"""

STALLED_B = """\
id: b1
name: Bo Berg
company: Nordlys AS
owner: ola
source: referral
stage: b        # was a C until October
value: 48000
created: 2026-08-01
criteria:
  decision_maker: true
next:
  action: send the revised quote
  due: 2026-12-04
activities:
  - {date: 2026-10-20, kind: meeting, outcome: held, note: "went well: 'we like it'"}
history:
  - {date: 2026-08-01, to: opportunity, reason: added}
  - {date: 2026-08-20, from: opportunity, to: first-appointment}
  - {date: 2026-09-10, from: first-appointment, to: c}
  - {date: 2026-10-01, from: c, to: b}

notes: |
  Prefers e-mail.
"""

HEALTHY = """\
id: h1
name: Hanna Holm
owner: anna
stage: c
created: 2026-11-01
next: {action: workshop with IT, due: 2026-12-10}
activities:
  - {date: 2026-11-25, kind: call, outcome: talked}
history:
  - {date: 2026-11-01, to: opportunity, reason: added}
  - {date: 2026-11-10, from: opportunity, to: c, forced: true, reason: met at the fair}
"""

NO_STEP = HEALTHY.replace("id: h1", "id: n1").replace("Hanna Holm", "Nina Nes").replace(
    "next: {action: workshop with IT, due: 2026-12-10}\n", "")


def write(root: Path, **files: str) -> None:
    (root / "contacts").mkdir(exist_ok=True)
    for slug, text in files.items():
        contact_file(root, slug.replace("_", "-")).write_text(text, encoding="utf-8")


def custom_rules(root: Path, rules: str) -> None:
    config = root / "pipe.yaml"
    text = config.read_text(encoding="utf-8")
    assert "\n  custom: []\n" in text
    block = "".join(f"    {line}\n" for line in rules.strip().splitlines())
    config.write_text(text.replace("\n  custom: []\n", "\n  custom:\n" + block), encoding="utf-8")


def test_review_lists_each_finding_with_its_evidence_and_action(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT, bo_berg=STALLED_B, hanna_holm=HEALTHY)
    result = run("review")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    sara = next(line for line in lines if line.startswith("sara-lind"))
    assert sara.split()[:3] == ["sara-lind", "O", "no-response"]
    assert "3 calls since 2026-10-02, none answered" in sara
    assert sara.rstrip().endswith("reserve")
    bo = next(line for line in lines if line.startswith("bo-berg"))
    assert "stalled" in bo
    assert "nothing for 41 days since the last activity on 2026-10-20: B allows 30" in bo
    assert bo.rstrip().endswith("demote to C")
    assert not any(line.startswith("hanna-holm") for line in lines)
    assert lines[-1].startswith("2 findings on 2 of 3 contacts (1 to the reserve, 1 to demote)")


def test_nothing_fires_exit_0(run: Run, pipeline: Path) -> None:
    write(pipeline, hanna_holm=HEALTHY)
    result = run("review")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Nothing fires on 1 contact.\n"
    assert json.loads(run("review", "--format", "json").stdout) == []


def test_filters_by_rule_owner_and_stage(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT, bo_berg=STALLED_B, nina_nes=NO_STEP)
    slugs = {r["slug"] for r in json.loads(run("review", "--format", "json").stdout)}
    assert slugs == {"sara-lind", "bo-berg", "nina-nes"}
    rules = json.loads(run("review", "--rule", "stalled", "--rule", "no-next-step", "--format", "json").stdout)
    assert {(r["slug"], r["rule"]) for r in rules} == {("bo-berg", "stalled"), ("nina-nes", "no-next-step")}
    owned = json.loads(run("review", "--owner", "ANNA", "--format", "json").stdout)
    assert {r["slug"] for r in owned} == {"sara-lind", "nina-nes"}
    staged = json.loads(run("review", "--stage", "B", "--stage", "O", "--format", "json").stdout)
    assert {r["slug"] for r in staged} == {"sara-lind", "bo-berg"}
    quiet = run("review", "--rule", "overdue")
    assert quiet.exit_code == 0
    assert quiet.stdout.startswith("Nothing fires")


def test_json_output_is_the_documented_contract(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT)
    result = run("review", "--format", "json")
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)
    assert finding == {
        "slug": "sara-lind", "id": "s1", "name": "Sara Lind", "company": "Polar Tech", "stage": "opportunity",
        "class": "O", "owner": "anna", "rule": "no-response", "status": "fires", "action": "reserve",
        "to": "reserve", "suggestion": "reserve", "evidence": "3 calls since 2026-10-02, none answered",
        "description": "never returns calls: 3+ calls/e-mails unanswered, or the first unanswered one is 30+ days old",
    }
    readme = docs_text()
    section = readme[readme.index("`pipe review --format json`"):]
    for key in finding:
        assert f"`{key}`" in section, f"README does not document the JSON key {key}"


def test_csv_and_markdown(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT)
    csv = run("review", "--format", "csv").stdout.splitlines()
    assert csv[0] == "slug,class,rule,evidence,suggestion"
    assert csv[1] == 'sara-lind,O,no-response,"3 calls since 2026-10-02, none answered",reserve'
    assert run("review", "--format", "markdown").stdout.startswith("| contact")


def test_usage_errors_exit_2(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT)
    for args, message in [
        (("--rule", "nope"), "unknown rule 'nope'"),
        (("--format", "xml"), "unknown format 'xml'"),
        (("--stage", "Z"), "unknown stage 'Z'"),
        (("--explain", "sara", "--apply"), "--explain and --apply do not go together"),
    ]:
        result = run("review", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr


def test_explain_shows_every_rule_and_why(run: Run, pipeline: Path) -> None:
    write(pipeline, bo_berg=STALLED_B, hanna_holm=HEALTHY)
    custom_rules(pipeline, "- {id: big-deal, description: deals over 40000, when: {value: {gt: 40000}}, action: flag}")
    result = run("review", "--explain", "bo")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "# Bo Berg (Nordlys AS) · B for 60 days"
    by_rule = {line.split()[0]: line for line in lines[3:]}
    assert list(by_rule) == ["no-response", "refused", "no-show", "pushed-back", "decision-deferred", "meeting-put-off",
                             "stalled", "no-next-step", "overdue", "pitch-bombardment", "big-deal"]
    assert "fires" in by_rule["stalled"]
    assert "nothing for 41 days" in by_rule["stalled"]
    assert "no deferral recorded" in by_rule["pushed-back"]
    assert "next action: send the revised quote, due 2026-12-04" in by_rule["no-next-step"]
    assert "value is 48000 (> 40000)" in by_rule["big-deal"]
    calm = run("review", "--explain", "hanna-holm", "--format", "json")
    assert calm.exit_code == 0, calm.output
    verdicts = json.loads(calm.stdout)
    assert [(v["rule"], v["status"]) for v in verdicts] == [
        ("no-response", "does-not-fire"), ("refused", "does-not-fire"), ("no-show", "not-this-stage"),
        ("pushed-back", "does-not-fire"), ("decision-deferred", "does-not-fire"),
        ("meeting-put-off", "not-this-stage"), ("stalled", "does-not-fire"), ("no-next-step", "does-not-fire"),
        ("overdue", "does-not-fire"), ("pitch-bombardment", "does-not-fire"), ("big-deal", "does-not-fire")]
    assert verdicts[-1]["evidence"] == "value is unknown, not > 40000"


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def test_apply_records_the_rule_and_evidence_and_changes_nothing_else(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT, bo_berg=STALLED_B, hanna_holm=HEALTHY)
    result = run("review", "--apply", "--yes")
    assert result.exit_code == 0, result.output
    assert "Moved 1 contact to the reserve, demoted 1." in result.stdout

    after = contact_file(pipeline, "sara-lind").read_text(encoding="utf-8")
    removed, added = changed_lines(SILENT, after)
    assert removed == ["stage: opportunity\n"]
    assert added[0] == "stage: reserve\n"
    assert len(added) == 2
    assert yaml.safe_load(added[1].strip()[2:]) == {
        "date": date(2026, 11, 30), "from": "opportunity", "to": "reserve",
        "reason": "3 calls since 2026-10-02, none answered", "rule": "no-response"}
    # every other line is where it was: the new history entry follows the last one
    assert after == SILENT.replace("stage: opportunity\n", "stage: reserve\n").replace(
        "reason: added}\n", "reason: added}\n" + added[1])

    after = contact_file(pipeline, "bo-berg").read_text(encoding="utf-8")
    removed, added = changed_lines(STALLED_B, after)
    assert removed == ["stage: b        # was a C until October\n"]
    assert added[0] == "stage: c        # was a C until October\n"
    entry = yaml.safe_load(added[1].strip()[2:])
    assert entry["rule"] == "stalled"
    assert entry["reason"] == "nothing for 41 days since the last activity on 2026-10-20: B allows 30"
    assert (entry["from"], entry["to"]) == ("b", "c")
    assert after == STALLED_B.replace("stage: b ", "stage: c ").replace(
        "from: c, to: b}\n", "from: c, to: b}\n" + added[1])

    assert contact_file(pipeline, "hanna-holm").read_text(encoding="utf-8") == HEALTHY
    assert run("check").exit_code == 0, run("check").output
    again = run("review")
    assert again.exit_code == 0, again.output  # the moved contacts are dealt with; nothing fires twice


def test_a_contact_in_the_reserve_comes_back_with_promote(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT)
    assert run("review", "--apply", "--yes").exit_code == 0
    assert "stage: reserve" in contact_file(pipeline, "sara-lind").read_text(encoding="utf-8")
    back = run("promote", "sara-lind", "--to", "opportunity")
    assert back.exit_code == 0, back.output
    text = contact_file(pipeline, "sara-lind").read_text(encoding="utf-8")
    assert "stage: opportunity" in text
    assert "my_own_key: keep me   # pipe does not know this key" in text
    assert len(yaml.safe_load(text)["activities"]) == 3  # nothing was lost on the way


def test_apply_shows_the_plan_and_asks_once(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT, bo_berg=STALLED_B)
    declined = run("review", "--apply", input="n\n")
    assert declined.exit_code == 1
    assert declined.output.count("Apply these 2 changes?") == 1
    assert "sara-lind" in declined.stdout
    assert "O -> reserve" in declined.stdout
    assert "B -> C" in declined.stdout
    assert "Nothing changed." in declined.stdout
    assert contact_file(pipeline, "sara-lind").read_text(encoding="utf-8") == SILENT
    assert contact_file(pipeline, "bo-berg").read_text(encoding="utf-8") == STALLED_B
    accepted = run("review", "--apply", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.output.count("Apply these 2 changes?") == 1
    assert "stage: reserve" in contact_file(pipeline, "sara-lind").read_text(encoding="utf-8")


def test_apply_as_json_prints_the_moves_and_talks_on_stderr(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT, bo_berg=STALLED_B)
    result = run("review", "--apply", "--yes", "--format", "json")
    assert result.exit_code == 0, result.output
    moves = json.loads(result.stdout)
    assert [(m["slug"], m["move"], m["rule"]) for m in moves] == [("sara-lind", "O -> reserve", "no-response"),
                                                                 ("bo-berg", "B -> C", "stalled")]
    assert "Moved 1 contact to the reserve, demoted 1." in result.stderr


def test_apply_only_the_chosen_rules_and_never_flags(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT, bo_berg=STALLED_B, nina_nes=NO_STEP)
    result = run("review", "--apply", "--yes", "--rule", "stalled")
    assert result.exit_code == 0, result.output
    assert contact_file(pipeline, "sara-lind").read_text(encoding="utf-8") == SILENT
    assert "stage: c " in contact_file(pipeline, "bo-berg").read_text(encoding="utf-8")
    flags = run("review", "--apply", "--yes", "--rule", "no-next-step")
    assert flags.exit_code == 1  # the flag is still there: flags are never applied
    assert "Nothing to apply." in flags.stdout
    assert contact_file(pipeline, "nina-nes").read_text(encoding="utf-8") == NO_STEP


def test_the_strongest_action_wins(run: Run, pipeline: Path) -> None:
    pushed = STALLED_B.replace("notes: |", "deferred: {until: 2027-07-01, asked: 2026-11-20, reason: call me next summer}"
                               "\nnotes: |")
    write(pipeline, bo_berg=pushed)
    listed = json.loads(run("review", "--format", "json").stdout)
    assert [r["rule"] for r in listed] == ["pushed-back", "stalled"]  # the next step due 2026-12-04 is a commitment
    assert run("review", "--apply", "--yes").exit_code == 0
    history = yaml.safe_load(contact_file(pipeline, "bo-berg").read_text(encoding="utf-8"))["history"]
    assert len(history) == 5
    assert (history[-1]["to"], history[-1]["rule"]) == ("reserve", "pushed-back")
    assert "call me next summer" in history[-1]["reason"]


def test_a_malformed_file_cannot_be_evaluated_but_the_review_goes_on(run: Run, pipeline: Path) -> None:
    bad_activity = SILENT.replace("id: s1", "id: s2").replace("Sara Lind", "Siri Lie").replace(
        "kind: call, outcome: left-message", "kind: fax, outcome: left-message")
    bad_deferral = HEALTHY.replace("id: h1", "id: h2").replace("Hanna Holm", "Hedda Hope").replace(
        "activities:", "deferred: {until: after the summer}\nactivities:")
    write(pipeline, sara_lind=SILENT, siri_lie=bad_activity, hedda_hope=bad_deferral, broken="id: [unclosed\n")
    result = run("review", "--format", "json")
    assert result.exit_code == 1, result.output
    rows = {(r["slug"], r["rule"]): r for r in json.loads(result.stdout)}
    assert rows[("sara-lind", "no-response")]["status"] == "fires"
    for key in [("siri-lie", "no-response"), ("siri-lie", "stalled")]:
        assert rows[key]["status"] == "cannot-evaluate"
        assert rows[key]["action"] is None
        assert rows[key]["evidence"] == "cannot evaluate: activity 2: unknown kind 'fax': use one of call, email, " \
                                        "meeting, visit, note"
    for key in [("hedda-hope", "pushed-back"), ("hedda-hope", "decision-deferred")]:
        assert rows[key]["status"] == "cannot-evaluate"
        assert rows[key]["evidence"].startswith("cannot evaluate: deferred.until should be a date")
    assert "skipped contacts/broken.yaml" in result.stderr
    table = run("review")
    assert "2 to the reserve" not in table.stdout
    assert "6 cannot evaluate" in table.stdout.splitlines()[-1]  # siri-lie: no-response, refused, stalled, pitch
    applied = run("review", "--apply", "--yes")
    assert applied.exit_code == 1  # the problems remain to be fixed
    assert "Moved 1 contact to the reserve" in applied.stdout
    assert contact_file(pipeline, "siri-lie").read_text(encoding="utf-8") == bad_activity


def test_user_rules_from_pipe_yaml(run: Run, pipeline: Path) -> None:
    write(pipeline, sara_lind=SILENT, bo_berg=STALLED_B)
    custom_rules(pipeline, """
- id: referral-quiet
  description: referrals with no activity for 21 days
  when:
    source: referral
    days_since_activity: {ge: 21}
  action: flag
- id: inbound-silent
  description: inbound leads that never replied to two e-mails
  when:
    source: inbound
    activities.unanswered: {ge: 2}
    activities.answered: 0
  action: reserve
""")
    rows = json.loads(run("review", "--rule", "referral-quiet", "--rule", "inbound-silent", "--format", "json").stdout)
    assert [(r["slug"], r["rule"], r["action"]) for r in rows] == [
        ("sara-lind", "inbound-silent", "reserve"), ("bo-berg", "referral-quiet", "flag")]
    assert rows[1]["evidence"] == "source is referral; days_since_activity is 41 (>= 21)"


def test_check_validates_the_user_rules_at_their_line(run: Run, pipeline: Path) -> None:
    write(pipeline, hanna_holm=HEALTHY)
    custom_rules(pipeline, """
- id: referral-quiet
  when:
    source: referral
    days_quiet: {over: 21}
  action: flag
""")
    line = next(i for i, text in enumerate((pipeline / "pipe.yaml").read_text().splitlines(), 1) if "over: 21" in text)
    result = run("check")
    assert result.exit_code == 1
    assert result.stdout == (f"pipe.yaml:{line}: rules.custom: rule 'referral-quiet': when.days_quiet.over: 'over' is "
                             "not a comparison for days_quiet (number): use eq, ne, gt, ge, lt, le, in, set\n")
    as_json = json.loads(run("check", "--format", "json").stdout)
    assert as_json == [{"path": "pipe.yaml", "line": line, "message": result.stdout.split(": ", 1)[1].strip()}]
    review = run("review")
    assert review.exit_code == 1
    assert "rule 'referral-quiet': when.days_quiet.over" in review.stderr
    assert "pipe check" in review.stderr
    assert run("list").exit_code == 0  # other commands do not need the rules


def test_init_writes_every_rule_setting(pipeline: Path) -> None:
    config = yaml.safe_load((pipeline / "pipe.yaml").read_text(encoding="utf-8"))
    assert config["rules"]["stalled"] == {"enabled": True, "o_days": 90, "fa_days": 30, "c_days": 60,
                                          "b_days": 30, "a_days": 14}
    assert config["rules"]["no_response"] == {"enabled": True, "attempts": 3, "days": 30}
    assert config["rules"]["custom"] == []


def test_settings_in_pipe_yaml_tune_the_rules(run: Run, pipeline: Path) -> None:
    write(pipeline, bo_berg=STALLED_B)
    config = pipeline / "pipe.yaml"
    config.write_text(config.read_text().replace("    b_days: 30\n", "    b_days: 45\n"), encoding="utf-8")
    assert run("review").exit_code == 0
    config.write_text(config.read_text().replace("    b_days: 45\n", "    b_days: 40\n"), encoding="utf-8")
    assert run("review").exit_code == 1
    config.write_text(config.read_text().replace("    enabled: true\n    # Days an opportunity",
                                                 "    enabled: false\n    # Days an opportunity"), encoding="utf-8")
    assert run("review").exit_code == 0, run("review").output



def test_bringing_back_a_contact_a_rule_would_send_back_says_so(pipeline: Path, run: Run) -> None:
    for name, until in (("Bo", "+8m"), ("Ida", "+1m")):
        assert run("add", name).exit_code == 0
        assert run("defer", name, "--until", until, "--reason", "call me later").exit_code == 0
        assert run("demote", name, "--to", "reserve", "--reason", "pushed back").exit_code == 0
    back = run("promote", "bo", "--to", "opportunity")
    assert back.exit_code == 0
    assert "pipe: warning: rule pushed-back still fires on Bo" in back.stderr
    assert "pipe review --explain bo" in back.stderr
    quiet = run("promote", "ida", "--to", "opportunity")  # a month away is no soft no
    assert quiet.exit_code == 0
    assert "warning" not in quiet.stderr
