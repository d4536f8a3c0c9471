"""Time pipe as whole processes against floors measured in the same run, and print the table.

    python benchmarks/run.py [--sizes 1000,10000,100000] [--runs 5] [--work DIR] [--team-sizes 1000,10000]

Each figure is the median wall time of --runs runs after one warm-up run. Floors:
- read floor: a Python process that lists the contacts folder and reads every file's bytes;
- parse floor: a Python process that parses every file with PyYAML's C loader;
- help floor: a bare `python -c "import typer"`.
The pipelines are made by benchmarks/generate.py (kept in --work between runs of this script).
The team pipelines (--team-sizes, default the sizes up to 10,000) have 30 owners: board (the
team's), plan (this clone's owner's, the default), plan --team and report are timed against the
team's board, and the report's markdown is measured in bytes and lines (it is bounded: a summary).

pipe runs from this checkout, from bytecode as an installed package does (pip compiles it at
install): the bytecode is kept in --work, so a PYTHONDONTWRITEBYTECODE in the environment does
not make every measured run compile pipe's source again (about 0.01 s for --help, 0.03 s for list).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIPE = [sys.executable, "-m", "pipecli"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))

READ_FLOOR = """
import os, sys
folder = os.path.join(sys.argv[1], "contacts")
for name in os.listdir(folder):
    with open(os.path.join(folder, name), "rb") as handle:
        handle.read()
"""
PARSE_FLOOR = """
import os, sys, yaml
folder = os.path.join(sys.argv[1], "contacts")
for name in os.listdir(folder):
    with open(os.path.join(folder, name), "rb") as handle:
        yaml.load(handle.read(), Loader=yaml.CSafeLoader)
"""


def timed(argv: list[str], before: Callable[..., None] | None = None, env: dict[str, str] | None = None) -> float:
    if before:
        before(missing_ok=True)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or ENV)
    if done.returncode not in (0, 1):  # review and classify exit 1 when they find something
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def median(argv: list[str], runs: int, before: Callable[..., None] | None = None,
           each: Callable[[int], list[str]] | None = None, env: dict[str, str] | None = None) -> float:
    timed(each(-1) if each else argv, before, env)  # warm-up
    return statistics.median(timed(each(i) if each else argv, before, env) for i in range(runs))


def peak_mb(argv: list[str]) -> float:
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True,
                         env=ENV).stdout
    return int(out.strip()) / 1024


def has(command: str) -> bool:
    return subprocess.run([*PIPE, command, "--help"], capture_output=True, env=ENV).returncode == 0


def pipeline(work: Path, size: int, owners: int = 5) -> Path:
    root = work / (f"p{size}" if owners == 5 else f"p{size}-{owners}owners")
    if not (root / "contacts").is_dir() or len(os.listdir(root / "contacts")) != size:
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(root), "--count", str(size), "--seed", "1",
                        "--owners", str(owners)], check=True)
    return root


TEAM = 30  # owners of the team pipelines


def team_section(work: Path, sizes: list[int], runs: int, today: list[str],
                 add: Callable[[str, str, float, float, str], None]) -> list[str]:
    """Board, plan and report on 30-owner pipelines; returns the lines on growth and the report's size."""
    notes: list[str] = []
    first: dict[str, float] = {}
    for size in sizes:
        root = pipeline(work, size, TEAM)
        base = [*PIPE, "-C", str(root), *today, "--no-commit"]
        label = f"{size:,}"
        board = median([*base, "board"], runs)
        add(f"pipe board ({TEAM} owners)", label, board, board, "the team's board")
        times = {"board": board}
        for name, argv in (("plan", ["plan"]), ("plan --team", ["plan", "--team"]), ("report", ["report"])):
            times[name] = median([*base, *argv], runs)
            add(f"pipe {name} ({TEAM} owners)", label, times[name], board, "about pipe board, linear")
        text = subprocess.run([*base, "report"], capture_output=True, env=ENV, check=True).stdout
        full = subprocess.run([*base, "report", "--full"], capture_output=True, env=ENV, check=True).stdout
        lines, full_lines = text.count(b"\n"), full.count(b"\n")
        notes.append(f"report markdown of the {TEAM}-owner team at {label} contacts: {len(text) / 1024:.1f} KB, "
                     f"{lines} lines (with --full: {len(full) / 1024:.1f} KB, {full_lines} lines)")
        if not first:
            first = {**times, "size": size}
        else:
            grow = size / first["size"]
            notes.append(f"from {int(first['size']):,} to {label} contacts ({grow:g} x): "
                         + ", ".join(f"{k} {v / first[k]:.2f} x" for k, v in times.items()))
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pipe-bench"))
    parser.add_argument("--team-sizes", default=None, help="sizes of the 30-owner pipelines (default: --sizes "
                        "up to 10,000; 0: none)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    ENV["PYTHONPYCACHEPREFIX"] = str(args.work.resolve() / "pycache")
    # pipe keeps its caches in the user's cache folder: here, one under --work, so a cold run is cold
    ENV["PIPE_CACHE_DIR"] = os.environ["PIPE_CACHE_DIR"] = str(args.work.resolve() / "cache")
    sys.path.insert(0, str(HERE.parent))
    from pipecli.cache import path_in
    today = ["--today", "2026-11-27"]
    rows: list[tuple[str, str, float, float, str]] = []

    def add(what: str, size: str, seconds: float, floor: float, target: str) -> None:
        rows.append((what, size, seconds, floor, target))
        print(f"  {what:<28} {size:>7}  {seconds:7.3f} s  {seconds / floor:5.2f} x  (target {target})", flush=True)

    help_floor = median([sys.executable, "-c", "import typer"], args.runs)
    pipe_help = median([*PIPE, "--help"], args.runs)
    add("pipe --help", "-", pipe_help, help_floor, "<= 2 x import typer")
    for size in (int(s) for s in args.sizes.split(",")):
        root = pipeline(args.work, size)
        base = [*PIPE, "-C", str(root), *today, "--no-commit"]
        cache = path_in(root)
        read_floor = median([sys.executable, "-c", READ_FLOOR, str(root)], args.runs)
        label = f"{size:,}"
        print(f"{label} contacts: read floor {read_floor:.3f} s", flush=True)
        if size <= 10000:
            parse_floor = median([sys.executable, "-c", PARSE_FLOOR, str(root)], args.runs)
            print(f"{label} contacts: parse floor {parse_floor:.3f} s", flush=True)
            for command in ("list", "check"):
                add(f"pipe {command} (cold cache)", label,
                    median([*base, command], args.runs, before=cache.unlink),
                    parse_floor, "<= 1.3 x parse floor")
        timings: dict[str, float] = {}
        for command in ("list", "board", "review"):
            if has(command) and (size <= 10000 or command == "board"):
                timings[command] = median([*base, command], args.runs)
                add(f"pipe {command} (warm cache)", label, timings[command], read_floor,
                    "<= 2 x read floor" if size <= 10000 else "<= 2.5 x read floor")
        for command in ("plan", "report"):  # the board, the review and pipe check's findings, then the week
            if has(command) and "board" in timings and size <= 10000:
                add(f"pipe {command} (warm cache)", label, median([*base, command], args.runs), timings["board"],
                    "about pipe board, linear")
        if size == 10000:
            opportunities = sorted(p.stem for p in (root / "contacts").glob("*.yaml")
                                   if "\nstage: c\n" in p.read_text(encoding="utf-8"))[: args.runs + 1]
            add("pipe show X", label, median([*base, "show", opportunities[0]], args.runs), pipe_help,
                "<= 1.5 x pipe --help")
            if "list" in timings:  # what bash runs on Tab after `pipe show an`
                tab = {**ENV, "_PIPE_COMPLETE": "complete_bash", "COMP_WORDS": f"pipe -C {root} show an",
                       "COMP_CWORD": "4"}
                add("Tab: complete a contact", label, median(PIPE, args.runs, env=tab), timings["list"],
                    "<= 1 x pipe list (warm)")
            add("pipe promote X", label,
                median([], args.runs, each=lambda i, base=base, found=opportunities: [
                    *base, "promote", found[i + 1], "--force", "--reason", "benchmark"]),
                pipe_help, "<= 1.5 x pipe --help")
            add("pipe log X", label,
                median([], args.runs, each=lambda i, base=base, found=opportunities: [
                    *base, "log", found[i + 1], "call", "--outcome", "talked", "--note", "benchmark"]),
                pipe_help, "<= 1.5 x pipe --help")
        if size >= 100000 and has("board"):
            print(f"  peak memory of pipe board at {label}: {peak_mb([*base, 'board']):.0f} MB (target <= 400 MB)")
    team_sizes = [int(s) for s in (args.team_sizes or ",".join(
        s for s in args.sizes.split(",") if int(s) <= 10000)).split(",") if s and int(s) > 0]
    notes = team_section(args.work, team_sizes, args.runs, today, add) if team_sizes and has("plan") else []
    for note in notes:
        print(f"  {note}", flush=True)
    print()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; median of {args.runs} runs after a warm-up.")
    print()
    print("| measurement | contacts | median | ratio | target |")
    print("|---|---|---|---|---|")
    for what, size, seconds, floor, target in rows:
        print(f"| {what} | {size} | {seconds:.3f} s | {seconds / floor:.2f} x | {target} |")
    if notes:
        print()
        for note in notes:
            print(f"- {note}")


if __name__ == "__main__":
    main()
