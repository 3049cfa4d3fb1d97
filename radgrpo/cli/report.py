"""``radgrpo report RUN... --out report.html``: one self-contained HTML report of evaluated runs.

Each RUN is a ``radgrpo eval`` output folder (``results.json``, ``scores.jsonl``, ``predictions.jsonl``,
``config.yaml``) or ``NAME=FOLDER``. The report has the paper's Table 1 (report metrics), Table 2 (mAP@0.5 per
dataset) and Table 3 (reward ablation of GRPO runs, rewards read from each run's training config), with
significance marks from paired tests against the baseline run (Holm-corrected across each table's metrics), the
training curves of every run whose model is a training output folder, and a browser over all test samples (images
with reference and predicted boxes, report texts side by side with their differences). Images resolve against the
folder of each run's ``test_file`` (``--test_file`` overrides it). The page needs no network.

Example:
    $ radgrpo report sft=runs/eval_sft grpo=runs/eval_grpo --baseline sft --out runs/report.html
"""

from __future__ import annotations

import time

from radgrpo.config import FlagParser

__all__ = ["main"]


def _parser() -> FlagParser:
    p = FlagParser(
        prog="radgrpo report",
        description="one HTML report of `radgrpo eval` output folders: paper tables with significance marks, "
        "training curves, a browser over every sample",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="eval output folder, or NAME=FOLDER (row / column order)")
    p.add_argument("--out", default="report.html", help="the HTML file to write (default: report.html)")
    p.add_argument("--title", default="radgrpo evaluation report", help="page title")
    p.add_argument(
        "--baseline", default=None, help="run name the significance marks compare with (default: the first run)"
    )
    p.add_argument(
        "--test_file",
        action="append",
        default=[],
        help="test records JSONL (repeatable; default: each run's config.yaml test_file); images resolve against "
        "its folder",
    )
    p.add_argument("--notes", default="", help="a paragraph shown under the title")
    p.add_argument(
        "--n_resamples", type=int, default=2000, help="bootstrap resamples and permutations of each paired test"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the paired tests")
    p.add_argument("--thumb_size", type=int, default=256, help="longer side of the sample thumbnails in px (<= 256)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``radgrpo report`` entry point: 0 on success; user errors raise ConfigError (one line, exit 2)."""
    from radgrpo.config import ConfigError
    from radgrpo.eval.report.html import write_report_from_runs

    args = _parser().parse_args(argv)
    if not 16 <= args.thumb_size <= 256:
        raise ConfigError(f"--thumb_size must be in [16, 256] px, got {args.thumb_size}")
    if args.n_resamples < 1:
        raise ConfigError(f"--n_resamples must be >= 1, got {args.n_resamples}")
    t0 = time.perf_counter()
    path = write_report_from_runs(
        args.out,
        args.runs,
        test_files=args.test_file,
        baseline=args.baseline,
        title=args.title,
        notes=args.notes or None,
        n_resamples=args.n_resamples,
        seed=args.seed,
        thumb_size=args.thumb_size,
    )
    size = path.stat().st_size / 1e6
    print(f"wrote {path} ({size:.1f} MB, {len(args.runs)} run(s), {time.perf_counter() - t0:.1f} s)")
    return 0
