"""How fast ``radgrpo report`` writes, and headless Chromium opens, a report of thousands of samples.

Builds synthetic ``radgrpo eval`` output folders (:func:`build_runs`: test records over five datasets with smooth
greyscale "radiographs", three runs — an SFT baseline, a GRPO run whose model folder is a training run with a
reward config and a log history, a thinking run — scored with the real default metrics), writes the report with
``radgrpo report`` (:func:`radgrpo.eval.report.write_report_from_runs`), then opens it ``--runs`` times in headless
Chromium (the distribution's ``/usr/bin/chromium`` driven by Playwright; ``apt-get install -y chromium`` and
``pip install playwright``) and measures, from navigation start: DOMContentLoaded, the load event and the moment
the sample browser has rendered its first rows (``body[data-browser-ready]``), plus the rows rendered and whether the
console stayed clean. Target (issue 10, item 7): 5,000 samples (thumbnails <= 256 px) open in under 3 s.

Run: python benchmarks/bench_report.py [--samples 5000] [--images 0] [--runs 3] [--json out.json]
``--images N`` reuses N distinct image files (0: one per sample, the realistic and largest case).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

TARGET_S = 3.0
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
#: (task, source, share of the samples)
LAYOUT: tuple[tuple[str, str, float], ...] = (
    ("report_generation", "mimic_cxr", 0.45),
    ("anatomical_grounding", "chest_imagenome", 0.2),
    ("abnormality_grounding", "vindr_cxr", 0.15),
    ("phrase_grounding", "ms_cxr", 0.1),
    ("phrase_grounding", "padchest_gr", 0.1),
)
FINDINGS = ("cardiomegaly", "pleural effusion", "nodule", "pneumothorax", "consolidation")
SENTENCES = (
    "The heart size is normal.",
    "The heart is enlarged.",
    "No focal consolidation.",
    "There is a small right pleural effusion.",
    "No pneumothorax.",
    "The lungs are clear.",
    "Mild pulmonary vascular congestion.",
    "There is a nodule in the left upper zone.",
    "Median sternotomy wires are intact.",
    "No acute cardiopulmonary process.",
)


def find_chromium() -> str | None:
    """The Chromium executable: ``$RADGRPO_CHROMIUM``, else the distribution's paths, else ``chromium`` on PATH."""
    env = os.environ.get("RADGRPO_CHROMIUM")
    if env:
        return env
    for c in CHROMIUM_CANDIDATES:
        if Path(c).is_file():
            return c
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _image(rng: Any, size: int) -> Any:
    """A smooth greyscale chest-like picture (two lung fields, a heart, noise), ``size`` x ``size``."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:size, 0:size] / size
    img = 0.25 + 0.05 * rng.standard_normal()
    for cx in (0.32, 0.68):
        img = img + 0.35 * np.exp(-(((x - cx) / 0.14) ** 2 + ((y - 0.5) / 0.28) ** 2))
    img = img - 0.2 * np.exp(-(((x - 0.55 - 0.05 * rng.standard_normal()) / 0.12) ** 2 + ((y - 0.65) / 0.12) ** 2))
    img = img + 0.02 * rng.standard_normal((size, size))
    return Image.fromarray((np.clip(img, 0, 1) * 255).astype("uint8"), mode="L")


#: the runs :func:`build_runs` can write: name -> (answer quality in [0, 1], thinking, model is the GRPO folder)
RUNS: dict[str, tuple[float, bool, bool]] = {
    "sft": (0.7, False, False),
    "grpo": (0.85, False, True),
    "thinking": (0.75, True, False),
}


def build_runs(
    root: str | os.PathLike,
    n_samples: int,
    *,
    n_images: int = 0,
    image_size: int = 320,
    seed: int = 0,
    runs: tuple[str, ...] = tuple(RUNS),
) -> dict:
    """Write a test file with images and three scored eval folders (+ a GRPO training folder) under ``root``.

    Args:
        root: output folder.
        n_samples: test records (split over :data:`LAYOUT`).
        n_images: distinct image files (0: one per record).
        image_size: side of the square images (px).
        seed: numpy seed.
        runs: which of :data:`RUNS` to write.
    Returns:
        ``{"test_file", "runs": {name: folder}, "training": folder, "records": n}``.
    """
    import numpy as np

    from radgrpo.boxes import format_boxes
    from radgrpo.config import save_config
    from radgrpo.eval.config import EvalConfig
    from radgrpo.eval.generate import Prediction, write_predictions
    from radgrpo.eval.score import score_predictions, write_scores
    from radgrpo.eval.summarize import summarize, write_results
    from radgrpo.records import Record, write_jsonl

    rng = np.random.default_rng(seed)
    root = Path(root)
    data = root / "data"
    (data / "images").mkdir(parents=True, exist_ok=True)
    n_img = n_images or n_samples
    for i in range(n_img):
        p = data / "images" / f"img{i:05d}.png"
        if not p.exists():
            _image(rng, image_size).save(p)
    records = []
    counts = [int(round(share * n_samples)) for _, _, share in LAYOUT]
    counts[0] += n_samples - sum(counts)
    k = 0
    for (task, source, _), c in zip(LAYOUT, counts):
        for j in range(c):
            image = f"images/img{k % n_img:05d}.png"
            if task == "report_generation":
                report = " ".join(rng.choice(SENTENCES, size=4, replace=False))
                records.append(
                    Record(
                        f"{source}/{task}/{j}",
                        image,
                        task,
                        "Write a radiology report for this chest X-ray.",
                        report,
                        source=source,
                        split="test",
                        reference_report=report,
                    )
                )
            else:
                target = str(rng.choice(FINDINGS))
                x1, y1 = rng.uniform(0.05, 0.6, 2)
                box = (
                    round(float(x1), 3),
                    round(float(y1), 3),
                    round(float(x1 + rng.uniform(0.1, 0.35)), 3),
                    round(float(y1 + rng.uniform(0.1, 0.35)), 3),
                )
                records.append(
                    Record(
                        f"{source}/{task}/{j}",
                        image,
                        task,
                        f"Where is the {target} on this image?",
                        f"The {target} is at {format_boxes([box])}.",
                        source=source,
                        split="test",
                        target=target,
                        reference_boxes=[box],
                    )
                )
            k += 1
    test_file = data / "test.jsonl"
    write_jsonl(records, test_file)

    train = root / "train_grpo"
    train.mkdir(parents=True, exist_ok=True)
    (train / "config.yaml").write_text(
        "reward_funcs: [radcliq, bertscore]\nreward_weights: [1.0, 0.5]\nreward_kwargs: {}\n"
        f"model_name_or_path: {root / 'train_sft'}\noutput_dir: {train}\n",
        encoding="utf-8",
    )
    steps = 40
    log = [
        {
            "step": s,
            "loss": 0.1 / s,
            "reward": -1 + s / steps,
            "kl": 0.001 * s,
            "completions/mean_length": 90 - s,
            "rewards/radcliq/mean": -1 + s / steps,
        }
        for s in range(1, steps + 1)
    ]
    log.append({"step": steps, "train_runtime": 100.0, "train_loss": 0.02, "total_flos": 0.0})
    (train / "log_history.json").write_text(json.dumps(log), encoding="utf-8")
    (train / "monitors.json").write_text(json.dumps({"alarms": []}), encoding="utf-8")

    def answer(rec: Record, quality: float) -> str:
        if rec.task.value == "report_generation":
            words = (rec.reference_report or "").split()
            keep = [w for w in words if rng.random() < quality] + list(rng.choice(SENTENCES, size=1))
            return " ".join(keep)
        x1, y1, x2, y2 = rec.reference_boxes[0]
        d = (1 - quality) * 0.2
        box = tuple(float(np.clip(v + rng.uniform(-d, d), 0, 1)) for v in (x1, y1, x2, y2))
        return f"The {rec.target} is at {format_boxes([box])}."

    written = {}
    for name in runs:
        quality, thinking, is_grpo = RUNS[name]
        model = train if is_grpo else root / "train_sft"
        out = root / f"eval_{name}"
        out.mkdir(parents=True, exist_ok=True)
        preds = []
        for rec in records:
            a = answer(rec, quality)
            if thinking and rng.random() < 0.05:
                a = "\n\n"  # an answer of newlines only
            completion = f"<think>Looking at the {rec.target or 'lungs'}.</think> {a}" if thinking else a
            preds.append(
                Prediction(
                    rec.id,
                    rec.task.value,
                    rec.question,
                    completion,
                    a,
                    len(a.split()) + 2,
                    True,
                    thinking=thinking,
                    think_closed=True,
                )
            )
        write_predictions(preds, out / "predictions.jsonl")
        rows = score_predictions(preds, records, None)
        write_scores(rows, out / "scores.jsonl")
        meta = {"run_name": name, "thinking": thinking, "n_records": len(records)}
        write_results(summarize(rows, n_resamples=200, meta=meta), out / "results.json")
        save_config(EvalConfig(model=str(model), test_file=str(test_file), out=str(out), thinking=thinking), out)
        written[name] = out
    return {"test_file": test_file, "runs": written, "training": train, "records": len(records)}


def measure_open(html: str | os.PathLike, executable: str, runs: int = 3, timeout_s: float = 60.0) -> dict:
    """Open ``html`` ``runs`` times in a fresh headless Chromium page each; seconds from navigation start.

    Returns:
        ``{"dom_content_loaded_s", "load_s", "browser_ready_s"}`` (lists), their medians, ``rows_rendered``,
        ``samples`` and ``console_errors``.
    """
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"dom_content_loaded_s": [], "load_s": [], "browser_ready_s": [], "console_errors": []}
    url = Path(html).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.on("console", lambda m: out["console_errors"].append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: out["console_errors"].append(str(e)))
                page.goto(url, wait_until="load", timeout=timeout_s * 1000)
                page.wait_for_selector("body[data-browser-ready]", timeout=timeout_s * 1000)
                t = page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return [n.domContentLoadedEventEnd, n.loadEventEnd, window.__radgrpoReadyAt || 0]; }"
                )
                out["dom_content_loaded_s"].append(round(t[0] / 1000, 3))
                out["load_s"].append(round(t[1] / 1000, 3))
                out["browser_ready_s"].append(round(t[2] / 1000, 3))
                out["rows_rendered"] = page.locator(".sample").count()
                out["samples"] = int(page.get_attribute("#browser-count", "data-total") or 0)
                page.close()
        finally:
            browser.close()
    for k in ("dom_content_loaded_s", "load_s", "browser_ready_s"):
        out[f"median_{k}"] = round(statistics.median(out[k]), 3)
    return out


def table(res: dict) -> list[str]:
    """A markdown table of one result."""
    o = res["open"]
    return [
        "| samples | images | HTML MB | write s | DOMContentLoaded s | load s | browser ready s | rows rendered | "
        "console errors |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {res['samples']} | {res['images']} | {res['html_mb']} | {res['write_s']} | "
        f"{o['median_dom_content_loaded_s']} | {o['median_load_s']} | {o['median_browser_ready_s']} | "
        f"{o['rows_rendered']} | {len(o['console_errors'])} |",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--images", type=int, default=0, help="distinct image files (0: one per sample)")
    ap.add_argument("--runs", type=int, default=3, help="page opens measured")
    ap.add_argument("--work", default="", help="working folder (default: a temporary one, removed)")
    ap.add_argument("--json", default="", help="write the result here")
    args = ap.parse_args(argv)
    exe = find_chromium()
    if exe is None:
        print("Chromium not found: apt-get install -y chromium (and pip install playwright)", file=sys.stderr)
        return 2
    import tempfile

    from radgrpo.eval.report import write_report_from_runs

    tmp = None if args.work else tempfile.TemporaryDirectory()
    work = Path(args.work or tmp.name)  # type: ignore[union-attr]
    try:
        t = time.perf_counter()
        built = build_runs(work, args.samples, n_images=args.images)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        html = write_report_from_runs(
            work / "report.html", [f"{n}={d}" for n, d in built["runs"].items()], n_resamples=500
        )
        write_s = time.perf_counter() - t
        res = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
            "chromium": exe,
            "samples": args.samples,
            "images": args.images or args.samples,
            "build_s": round(build_s, 1),
            "write_s": round(write_s, 1),
            "html_mb": round(html.stat().st_size / 1e6, 1),
            "open": measure_open(html, exe, runs=args.runs),
            "target_s": TARGET_S,
        }
    finally:
        if tmp is not None:
            tmp.cleanup()
    print("\n".join(table(res)))
    ok = res["open"]["median_browser_ready_s"] < TARGET_S and not res["open"]["console_errors"]
    print(f"target: browser ready < {TARGET_S} s with a clean console -> {'met' if ok else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
