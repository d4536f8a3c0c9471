"""Time `pipe import` of a CRM export against `pipe check` (cold cache) on the folder it made, and the git commit.

    python benchmarks/imports.py [--rows 10000] [--runs 3] [--work DIR]

Writes a Pipedrive deals export of --rows rows (open, won and lost deals across every stage, a column
pipe keeps as written), then, for each run, into a fresh pipeline: `pipe import` without git; `pipe check`
with the caches deleted, on the result (the cost of reading the folder once: the yardstick for creating
it); `pipe import` of the same file again (every row unchanged); and `pipe import` into a fresh pipeline
in a git repository, whose difference from the first is the commit. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIPE = [sys.executable, "-m", "pipecli"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
ENV.setdefault("GIT_AUTHOR_NAME", "bench")
ENV.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
ENV.setdefault("GIT_COMMITTER_NAME", "bench")
ENV.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
TODAY = "2026-11-30"
STAGES = ("Lead In", "Qualified", "Contact Made", "Demo Scheduled", "Needs Defined", "Proposal Made", "Negotiations Started")
HEADER = ("Deal - ID,Deal - Title,Deal - Owner,Deal - Value,Deal - Currency of value,Deal - Organization,"
          "Deal - Contact person,Person - Email,Person - Phone,Deal - Stage,Deal - Status,Deal - Deal created,"
          "Deal - Last stage change,Deal - Won time,Deal - Lost time,Deal - Lost reason,Deal - Label")


def export(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    lines = [HEADER]
    for i in range(rows):
        status = rnd.choices(("open", "won", "lost"), (8, 1, 1))[0]
        won = f"2026-10-{rnd.randint(1, 28):02d} 12:00:00" if status == "won" else ""
        lost = f"2026-10-{rnd.randint(1, 28):02d} 12:00:00" if status == "lost" else ""
        lines.append(f"{1000 + i},Deal {i},Owner {i % 7},{rnd.randint(1, 99) * 1000},EUR,Company {i % 900},Person {i},"
                     f"p{i}@x.example,+47 {i:08d},{rnd.choice(STAGES)},{status},2026-0{rnd.randint(1, 8)}-15 10:00:00,"
                     f"2026-09-{rnd.randint(1, 28):02d} 10:00:00,{won},{lost},{'no budget' if lost else ''},L{i % 5}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def fresh(root: Path, git: bool) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([*PIPE, "init", str(root), *([] if git else ["--no-git"])], check=True, capture_output=True, env=ENV)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pipe-bench-import"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    cache = args.work.resolve() / "cache"  # pipe's caches, here rather than in the user's cache folder
    ENV["PIPE_CACHE_DIR"] = str(cache)
    source = args.work / f"deals-{args.rows}.csv"
    export(source, args.rows)
    times: dict[str, list[float]] = {"import": [], "check": [], "again": [], "git": []}
    for _ in range(args.runs):
        root = fresh(args.work / "p", git=False)
        times["import"].append(timed([*PIPE, "-C", str(root), "--today", TODAY, "import", str(source)]))
        shutil.rmtree(cache, ignore_errors=True)  # cold: every file parsed
        times["check"].append(timed([*PIPE, "-C", str(root), "--today", TODAY, "check"]))
        times["again"].append(timed([*PIPE, "-C", str(root), "--today", TODAY, "import", str(source)]))
        root = fresh(args.work / "g", git=True)
        times["git"].append(timed([*PIPE, "-C", str(root), "--today", TODAY, "import", str(source)]))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.rows:,} rows, median of {args.runs} runs.\n")
    print("| measurement | median | ratio |")
    print("|---|---|---|")
    print(f"| pipe check, cold cache, on the imported folder | {med['check']:.2f} s | 1 x |")
    print(f"| pipe import (new files, no git) | {med['import']:.2f} s | {med['import'] / med['check']:.2f} x check |")
    print(f"| pipe import again (every row unchanged) | {med['again']:.2f} s | {med['again'] / med['check']:.2f} x check |")
    print(f"| pipe import in a git repository | {med['git']:.2f} s | {med['git'] / med['import']:.2f} x without git |")
    print(f"| the git commit (the difference) | {med['git'] - med['import']:.2f} s | "
          f"{(med['git'] - med['import']) / med['check']:.2f} x check |")


if __name__ == "__main__":
    main()
