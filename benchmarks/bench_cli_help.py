"""Time ``radgrpo grpo --help``, ``radgrpo sft --help`` and ``radgrpo grpo --help-all`` as a user runs them.

Each command runs ``--runs`` times (default 3) as a fresh process of the ``radgrpo`` console script (or
``python -m radgrpo.cli.main`` where the script is not on PATH); wall-clock seconds from start to exit, and the
lines printed. Target (issue 9, item 8): the short ``--help`` under 1 s (it imports neither torch nor TRL);
``--help-all`` imports TRL and may take seconds.

Run: python benchmarks/bench_cli_help.py [--runs 3] [--json out.json] [--append-results]
``--append-results`` appends a dated entry with the machine to ``benchmarks/RESULTS.md`` (``--results-file``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## CLI help (`benchmarks/bench_cli_help.py`)"
COMMANDS = (("grpo", "--help"), ("sft", "--help"), ("grpo", "--help-all"))
TARGET_S = 1.0  # the short --help


def launcher() -> list[str]:
    """The command that starts ``radgrpo``: the console script when installed, else the module."""
    script = shutil.which("radgrpo")
    return [script] if script else [sys.executable, "-m", "radgrpo.cli.main"]


def time_command(argv: list[str], runs: int) -> dict:
    """Run ``argv`` ``runs`` times; wall seconds per run (start to exit), their median/min/max, lines printed."""
    secs, lines = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        secs.append(time.perf_counter() - t)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        lines = len(proc.stdout.splitlines())
    return {
        "runs_s": [round(s, 3) for s in secs],
        "median_s": round(statistics.median(secs), 3),
        "min_s": round(min(secs), 3),
        "max_s": round(max(secs), 3),
        "lines": lines,
    }


def table(res: dict) -> list[str]:
    """A markdown table: one row per command."""
    out = ["| command | median s | min s | max s | lines |", "|---|---|---|---|---|"]
    for name, d in res["commands"].items():
        out.append(f"| `radgrpo {name}` | {d['median_s']:.2f} | {d['min_s']:.2f} | {d['max_s']:.2f} | {d['lines']} |")
    return out


def append_results(res: dict, path: Path = RESULTS_MD) -> None:
    """Append a dated entry to this benchmark's section of ``path`` (the section is created when missing)."""
    m = res["machine"]
    entry = [
        f"### {datetime.date.today().isoformat()}, {m['cores']} cores ({m['cpu']}), Python {m['python']}",
        "",
        f"`{' '.join(res['launcher'])} <command>`, {res['runs']} fresh processes each; wall seconds start to exit.",
        f"Target: short `--help` < {TARGET_S:.0f} s.",
        "",
        *table(res),
        "",
    ]
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmark results\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n" + "\n".join(entry)
    else:
        start = text.index(SECTION) + len(SECTION)
        end = text.find("\n## ", start)
        end = len(text) if end < 0 else end + 1
        text = text[:end].rstrip("\n") + "\n\n" + "\n".join(entry) + "\n" + text[end:]
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--append-results", action="store_true", help="append an entry to benchmarks/RESULTS.md")
    p.add_argument("--results-file", default=str(RESULTS_MD), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    cmd = launcher()
    res: dict = {
        "launcher": [Path(cmd[0]).name, *cmd[1:]],
        "runs": args.runs,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "commands": {" ".join(c): time_command([*cmd, *c], args.runs) for c in COMMANDS},
    }
    short = [d["median_s"] for name, d in res["commands"].items() if name.endswith(" --help")]
    res["short_help_under_target"] = max(short) < TARGET_S
    print("\n".join(table(res)))
    print(f"short --help under {TARGET_S:.0f} s: {res['short_help_under_target']}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.append_results:
        append_results(res, Path(args.results_file))
        print(f"appended to {args.results_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
