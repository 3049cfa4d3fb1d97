"""Run ``radgrpo demo`` for several seeds and tabulate what each stage reached, the paired tests, time and memory.

Each seed runs as its own process (``radgrpo demo --seed S --out OUT/seed_S``, log in ``OUT/seed_S/demo.log``); its wall
time and peak RSS (that child's ``ru_maxrss`` from ``wait4``) are measured here. Prints one table per seed (untrained,
prior, SFT, the decoding-only baseline, SFT control, GRPO; a stage the world does not have shows "–") and the paired
differences of GRPO against SFT, the SFT control and decoding alone, writes everything to
``--json``, and with ``--markdown FILE`` writes the same tables as Markdown (for ``benchmarks/RESULTS.md``).

Example:
    $ python benchmarks/bench_demo.py --seeds 0 1 2 --out /tmp/demo_seeds --json /tmp/demo_seeds.json
    $ python benchmarks/bench_demo.py --seeds 0 --extra --fast     # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from radgrpo.recipes.demo.config import HEADLINE, STAGES

PAIRED_METRICS = HEADLINE  # the demo's own headline, paired in its results
METRICS = (*PAIRED_METRICS, "anc", "distinct_reports")
PAIRS = ("grpo_vs_sft", "grpo_vs_sft_control", "grpo_vs_sft_decoding", "sft_decoding_vs_sft", "sft_vs_prior")


def run_seed(seed: int, out: Path, extra: list[str]) -> dict:
    """One demo run in a child process; returns its results.json plus wall time and peak RSS."""
    cmd = [sys.executable, "-m", "radgrpo.cli.main", "demo", "--seed", str(seed), "--out", str(out), *extra]
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with open(out / "demo.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (kB on Linux)
    wall = time.time() - t0
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"seed {seed}: demo failed (exit {code}); see {out / 'demo.log'}")
    results = json.loads((out / "results.json").read_text())
    return {"seed": seed, "wall_s": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024), "results": results}


def markdown(run: dict) -> str:
    """The per-seed Markdown block: stage table, paired differences, timings."""
    r = run["results"]
    lines = [f"### seed {run['seed']}", "", "| metric | " + " | ".join(STAGES) + " |", "|---|" + "---|" * len(STAGES)]
    for m in METRICS:
        cells = []
        for s in STAGES:
            v = r.get(s, {}).get(m)
            cells.append("–" if v is None else (str(v) if isinstance(v, int) else f"{v:.3f}"))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "| comparison | metric | diff | 95% CI | p | n |", "|---|---|---|---|---|---|"]
    for comp in PAIRS:
        for m in PAIRED_METRICS:
            p = r.get("paired", {}).get(comp, {}).get(m)
            if p:
                lines.append(
                    f"| {comp} | {m} | {p['diff']:+.3f} | [{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}] | "
                    f"{p['p_value']:.4f} | {p['n']} |"
                )
    t = r.get("timings_s", {})
    lines += [
        "",
        f"Wall {run['wall_s']:.0f} s, peak RSS {run['peak_rss_mb']} MB; stages (s): "
        + ", ".join(f"{k} {v}" for k, v in t.items())
        + ".",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default="demo_seeds", help="folder for the runs (OUT/seed_S)")
    ap.add_argument("--json", default=None, help="write all results here")
    ap.add_argument("--markdown", default=None, help="write the Markdown tables here")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more demo flags, e.g. --extra --fast")
    args = ap.parse_args(argv)
    runs = []
    for seed in args.seeds:
        run = run_seed(seed, Path(args.out) / f"seed_{seed}", args.extra)
        runs.append(run)
        print(markdown(run), "\n", flush=True)
    machine = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "runs": runs}, indent=1, default=float))
    if args.markdown:
        Path(args.markdown).write_text("\n\n".join(markdown(r) for r in runs) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
