"""Does GRPO beat SFT, the compute-matched SFT control and decoding alone? ``radgrpo demo`` per seed at a longer budget.

Each seed runs ``radgrpo demo --seed S --out OUT/seed_S`` in its own process with one torch thread (so the numbers
do not depend on how many seeds run side by side), with the default world, the default costs and the demo's GRPO
config; only the training lengths and GRPO's prompts per step are scaled (``--sft_steps``, ``--grpo_steps``,
``--grpo_batch_size``; the compute-matched control follows GRPO automatically). ``--parallel 2`` runs two seeds at
once on a 2-core machine.

For every seed it prints and writes (``--json``) the claim: GRPO minus SFT, minus the SFT control and minus the
decoding-only baseline on the clinical utility and the side-aware finding-F1, each against the test reference and
against the drawn truth, with the paired 95 % bootstrap CI; the claim holds for a seed when every one of the CIs of
GRPO - SFT and GRPO - SFT control lies above zero. It also checks the side conditions: grounding soft-F1 not
significantly below SFT, report length within 0.8-1.25 of SFT's, and shows the pre-RL gate, wall time and peak RSS.

Example:
    $ python benchmarks/rl_gain.py --seeds 0 1 2 --parallel 2 --out /tmp/rl_gain --json /tmp/rl_gain.json
    $ python benchmarks/rl_gain.py --seeds 0 --out /tmp/rl_smoke --extra --fast      # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from radgrpo.recipes.demo.config import CLAIM
from radgrpo.recipes.demo.config import CLAIM_AGAINST as MUST
from radgrpo.recipes.demo.stages import claim_verdict

#: The comparison reported beside the ones that must clear zero (the demo's CLAIM_AGAINST) on every CLAIM metric.
BESIDE = ("grpo_vs_sft_decoding",)
#: The benchmark's budget (the demo's defaults otherwise): SFT until the features are learned, GRPO with 16 prompts
#: x 8 rollouts per step.
DEFAULT_FLAGS = ("--sft_steps", "4000", "--grpo_steps", "120", "--grpo_batch_size", "128")


def run_seed(seed: int, out: Path, flags: list[str]) -> dict:
    """One demo run in a child process with one torch thread; returns its results plus wall time and peak RSS."""
    cmd = [sys.executable, "-m", "radgrpo.cli.main", "demo", "--seed", str(seed), "--out", str(out), *flags]
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.time()
    with open(out / "demo.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (kB on Linux)
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"seed {seed}: demo failed (exit {code}); see {out / 'demo.log'}")
    return {
        "seed": seed,
        "wall_s": round(time.time() - t0, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "results": json.loads((out / "results.json").read_text()),
    }


def verdict(results: dict) -> dict:
    """The claim and the side conditions of one seed's results.

    Example:
        >>> r = {"paired": {c: {m: {"diff": 0.1, "ci95": [0.01, 0.2], "p_value": 0.01, "n": 9} for m in CLAIM}
        ...                 for c in MUST}, "sft": {"anc": 100.0}, "grpo": {"anc": 110.0}}
        >>> v = verdict(r)
        >>> v["claim_holds"], v["length_ratio"], v["grounding_not_below"]
        (True, 1.1, None)
    """
    paired = results.get("paired", {})
    cells = {c: {m: paired.get(c, {}).get(m) for m in CLAIM} for c in MUST + BESIDE}
    holds = claim_verdict(paired)["holds"]
    soft = paired.get("grpo_vs_sft", {}).get("soft_f1")
    sft_len, grpo_len = results.get("sft", {}).get("anc"), results.get("grpo", {}).get("anc")
    ratio = round(grpo_len / sft_len, 3) if sft_len and grpo_len is not None else None
    return {
        "claim": cells,
        "claim_holds": holds,
        "grounding_not_below": None if soft is None else soft["ci95"][1] >= 0,
        "length_ratio": ratio,
        "length_ok": None if ratio is None else 0.8 <= ratio <= 1.25,
        "gate_passed": (results.get("diagnostic") or {}).get("passed"),
    }


def table(run: dict) -> str:
    """The seed's claim as Markdown."""
    r, v = run["results"], verdict(run["results"])
    lines = [
        f"### seed {run['seed']}: claim {'holds' if v['claim_holds'] else 'does not hold'}",
        "",
        "| comparison | " + " | ".join(CLAIM) + " |",
        "|---|" + "---|" * len(CLAIM),
    ]
    for comp, cells in v["claim"].items():
        row = []
        for m in CLAIM:
            p = cells[m]
            row.append("–" if p is None else f"{p['diff']:+.3f} [{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}]")
        lines.append(f"| {comp} | " + " | ".join(row) + " |")
    stages = [s for s in ("sft", "sft_decoding", "sft_control", "grpo") if s in r]
    lines += ["", "| metric | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    for m in (*CLAIM, "rule_finding_f1", "rule_finding_f1_truth", "soft_f1", "map_50", "recall_truth/subtle", "anc"):
        lines.append(f"| {m} | " + " | ".join(_fmt(r[s].get(m)) for s in stages) + " |")
    diag = r.get("diagnostic") or {}
    lines += [
        "",
        (
            "Gate not run (no pre-RL diagnostic: the clean world has no truth)"
            if v["gate_passed"] is None
            else f"Gate {'passed' if v['gate_passed'] else 'failed'} "
            + "; ".join(f"{c['name']} {'pass' if c['passed'] else 'fail'}" for c in diag.get("conditions", []))
        )
        + f". Grounding soft-F1 not below SFT: {v['grounding_not_below']}; report length GRPO/SFT {v['length_ratio']}. "
        f"Wall {run['wall_s']:.0f} s, peak RSS {run['peak_rss_mb']} MB.",
    ]
    return "\n".join(lines)


def _fmt(v: object) -> str:
    return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default="rl_gain", help="folder for the runs (OUT/seed_S)")
    ap.add_argument("--parallel", type=int, default=1, help="seeds run at once (one torch thread each)")
    ap.add_argument("--json", default=None, help="write all results here")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more demo flags (after the budget's)")
    args = ap.parse_args(argv)
    flags = [*DEFAULT_FLAGS, *args.extra]
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        runs = list(pool.map(lambda s: run_seed(s, Path(args.out) / f"seed_{s}", flags), args.seeds))
    for run in runs:
        print(table(run), "\n", flush=True)
    verdicts = {run["seed"]: verdict(run["results"]) for run in runs}
    print(f"claim holds for seeds {[s for s, v in verdicts.items() if v['claim_holds']]} of {args.seeds}; "
          f"{time.time() - t0:.0f} s in all")  # fmt: skip
    if args.json:
        machine = {"machine": platform.machine(), "processor": platform.processor(), "cores": os.cpu_count(),
                   "python": platform.python_version()}  # fmt: skip
        Path(args.json).write_text(
            json.dumps(
                {"machine": machine, "flags": flags, "verdicts": verdicts, "runs": runs}, indent=1, default=float
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
