"""The benchmark: its pipelines are realistic and valid, and its script prints the table of ratios."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent.parent / "benchmarks"
TODAY = "2026-11-27"  # the generator's default day


def generate(root: Path, count: int) -> None:
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(root), "--count", str(count), "--seed", "3"],
                   check=True, capture_output=True)


def pipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipecli", *args], capture_output=True, text=True)


def test_generated_pipelines_have_every_class_activities_and_histories_and_pass_check(tmp_path: Path) -> None:
    root = tmp_path / "p"
    generate(root, 400)
    files = sorted((root / "contacts").glob("*.yaml"))
    assert len(files) == 400
    data = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    assert set(Counter(d["stage"] for d in data)) == {"opportunity", "first-appointment", "c", "b", "a", "closed",
                                                     "reserve"}
    assert sum(bool(d.get("activities")) for d in data) > 200
    assert all(d.get("history") for d in data)
    checked = pipe("-C", str(root), "--today", TODAY, "check")
    assert checked.returncode == 0, checked.stdout[-500:]
    assert "400 contacts checked, no problems." in checked.stdout
    found = json.loads(pipe("-C", str(root), "--today", TODAY, "review", "-f", "json").stdout)
    assert {"no-response", "pushed-back", "stalled"} <= {v["rule"] for v in found}  # soft no's to find


def test_the_lean_reader_reads_every_generated_file_as_the_c_loader_does(tmp_path: Path) -> None:
    from pipecli.yamlread import ContactLoader, load_yaml

    generate(tmp_path / "p", 300)
    for path in sorted((tmp_path / "p" / "contacts").glob("*.yaml")):
        data = path.read_bytes()
        assert load_yaml(data) == yaml.load(data, Loader=ContactLoader), path.name  # noqa: S506


def test_the_script_prints_each_measurement_with_its_floor_and_ratio(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(HERE / "run.py"), "--sizes", "60", "--runs", "1", "--work",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-500:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| pipe ")]
    assert [line.split(" | ")[0] for line in table] == [
        "| pipe --help", "| pipe list (cold cache)", "| pipe check (cold cache)", "| pipe list (warm cache)",
        "| pipe board (warm cache)", "| pipe review (warm cache)", "| pipe plan (warm cache)",
        "| pipe report (warm cache)", "| pipe board (30 owners)", "| pipe plan (30 owners)",
        "| pipe plan --team (30 owners)", "| pipe report (30 owners)"]
    for line in table:
        cells = line.strip("|").split(" | ")
        assert cells[2].endswith(" s") and cells[3].endswith(" x"), line
        assert float(cells[3][:-2]) > 0
    assert "Machine: " in done.stdout
    assert "- report markdown of the 30-owner team at 60 contacts: " in done.stdout


def test_a_team_pipeline_has_thirty_owners_and_this_clone_is_one_of_them(tmp_path: Path) -> None:
    root = tmp_path / "team"
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(root), "--count", "300", "--owners", "30"],
                   check=True, capture_output=True)
    owners = {yaml.safe_load(f.read_text(encoding="utf-8"))["owner"] for f in (root / "contacts").glob("*.yaml")}
    assert len(owners) == 30
    assert all(" " in o for o in owners)  # full names, as a team's are
    me = yaml.safe_load((root / ".pipe" / "local.yaml").read_text(encoding="utf-8"))["owner"]
    assert me in owners
    board = json.loads(pipe("-C", str(root), "--today", TODAY, "board", "-f", "json").stdout)
    assert board["target_closes"] == 120
    plan = json.loads(pipe("-C", str(root), "--today", TODAY, "plan", "-f", "json").stdout)
    assert plan["owner"] == me


def test_the_import_benchmark_prints_its_table(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(HERE / "imports.py"), "--rows", "60", "--runs", "1", "--work", str(tmp_path)],
                          capture_output=True, text=True, check=True)
    assert "| pipe import (new files, no git) |" in done.stdout and "| the git commit (the difference) |" in done.stdout
    made = list((tmp_path / "p" / "contacts").glob("*.yaml"))
    assert len(made) == 60
