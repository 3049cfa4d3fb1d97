"""The report opened in a real browser: headless Chromium from the distribution, driven by Playwright.

Checks that the page renders (paper tables with the expected values), logs no console error and requests nothing
from the network, that the sample browser's filters and sorting work (rows shown, their order), that thumbnails and
charts load (``naturalWidth > 0``) with the boxes where the data puts them, that whitespace-only answers are visible,
``think closed`` appears for thinking runs only, report differences are marked, and that a 5,000-sample report
renders (lazily). Screenshots are kept under ``$RADGRPO_TEST_ARTIFACTS`` (default ``tests/artifacts``)
``/report_browser/``.

Needs Chromium (``apt-get install -y chromium``; ``$RADGRPO_CHROMIUM`` overrides the path) and Playwright
(``pip install playwright``; its own browser download, ``playwright install``, is not used). Without them the tests
skip, unless ``RADGRPO_REQUIRE_BROWSER=1`` (set by .ci/run), when they fail. The open time of 5,000 samples is
measured by benchmarks/bench_report.py, not here.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/report/test_browser.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radgrpo.config import save_config
from radgrpo.eval.compare import compare_runs
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import Prediction, write_predictions
from radgrpo.eval.mention_rates import gate
from radgrpo.eval.report import write_report_from_runs
from radgrpo.eval.score import score_predictions, write_scores
from radgrpo.eval.summarize import summarize, write_results
from radgrpo.records import Record, write_jsonl

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("RADGRPO_TEST_ARTIFACTS") or REPO / "tests" / "artifacts") / "report_browser"
INSTALL = "install Chromium with `apt-get install -y chromium` and Playwright with `pip install playwright`"


def _chromium() -> str | None:
    env = os.environ.get("RADGRPO_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for c in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(c).is_file():
            return c
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("Playwright")
    exe = _chromium()
    if exe is None:
        missing.append("Chromium")
    if missing:
        msg = f"browser tests need {' and '.join(missing)}: {INSTALL}"
        if os.environ.get("RADGRPO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{msg} (RADGRPO_REQUIRE_BROWSER=1 requires them)")
        pytest.skip(msg)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """A page of the report with its console errors and its requests other than the file itself."""

    def __init__(self, browser, path: Path, width: int = 1300):
        self.url = path.resolve().as_uri()
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.on(
            "request", lambda r: None if r.url.startswith(("data:", self.url)) else self.requests.append(r.url)
        )
        self.page.goto(self.url, wait_until="load")
        self.page.wait_for_selector("body[data-browser-ready]", timeout=30_000)

    def shot(self, name: str, full: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full)
        print(f"screenshot: {path}")
        return path

    def count(self) -> int:
        return int(self.page.get_attribute("#browser-count", "data-count"))

    def ids(self) -> list[str]:
        return self.page.eval_on_selector_all(".sample", "els => els.map(e => e.dataset.id)")


# ---------------------------------------------------------------- fixture: 8 samples, 4 runs, a GRPO training run

#: (id, task, source, target, box)
SPECS = [
    ("r0", "report_generation", "mimic_cxr", None, None),
    ("r1", "report_generation", "mimic_cxr", None, None),
    ("a0", "anatomical_grounding", "chest_imagenome", "heart", (0.3, 0.4, 0.7, 0.8)),
    ("a1", "anatomical_grounding", "chest_imagenome", "left lung", (0.55, 0.1, 0.9, 0.7)),
    ("p0", "phrase_grounding", "ms_cxr", "cardiomegaly", (0.25, 0.35, 0.75, 0.85)),
    ("p1", "phrase_grounding", "ms_cxr", "pleural effusion", (0.1, 0.6, 0.4, 0.9)),
    ("p2", "phrase_grounding", "padchest_gr", "nodule", (0.6, 0.2, 0.8, 0.4)),
    ("p3", "phrase_grounding", "padchest_gr", "cardiomegaly", (0.2, 0.3, 0.8, 0.9)),
]
REPORTS = {
    "r0": "The heart is enlarged. Small right pleural effusion. No pneumothorax.",
    "r1": "The lungs are clear. No pleural effusion.",
}
#: sft's answers: a report with one word changed and one added, boxes shifted by a per-sample amount
SFT_REPORTS = {"r0": "The heart is normal. Small right pleural effusion. No pneumothorax today.", "r1": REPORTS["r1"]}
SHIFT = {"a0": 0.0, "a1": 0.3, "p0": 0.05, "p1": 0.15, "p2": 0.5, "p3": 0.1}


def _box_text(b):
    return "[" + ", ".join(f"{v:.2f}" for v in b) + "]"


def _pred(rid, task, answer, **kw):
    return Prediction(rid, task, "q", kw.pop("completion", answer), answer, 5, True, **kw)


def _folder(out: Path, records, test_file, preds, model="", thinking=False):
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(preds, out / "predictions.jsonl")
    rows = score_predictions(preds, records, None)
    write_scores(rows, out / "scores.jsonl")
    write_results(
        summarize(rows, n_resamples=50, meta={"run_name": out.name, "thinking": thinking}), out / "results.json"
    )
    save_config(EvalConfig(model=str(model), test_file=str(test_file), out=str(out), thinking=thinking), out)
    return out


def _diagnostic() -> dict:
    """The pre-RL diagnostic of three validation studies (radgrpo.eval.mention_rates.gate)."""
    recs = [
        {
            "meta": {"truth": [{"finding": "pleural effusion", "side": "left", "subtle": True}]},
            "answer": "Left effusion.",
        },
        {"meta": {"truth": [{"finding": "pneumothorax", "side": "right"}]}, "answer": "Right pneumothorax."},
        {"meta": {"truth": []}, "answer": "No acute findings."},
    ]
    greedy = ["No pleural effusion.", "Right pneumothorax.", "Normal."]
    samples = [["Small left pleural effusion.", "Normal."], ["Right pneumothorax."] * 2, ["Normal."] * 2]
    return {**gate(recs, greedy, samples), "split": "val", "n_studies": 3, "samples_per_study": 2}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    data = root / "data"
    data.mkdir()
    records = []
    for i, (rid, task, source, target, box) in enumerate(SPECS):
        w, h = 200 + 20 * i, 160  # distinct sizes: aspect ratios differ
        arr = np.linspace(40, 200, w)[None, :].repeat(h, 0) + np.random.default_rng(i).normal(0, 5, (h, w))
        Image.fromarray(arr.clip(0, 255).astype("uint8"), mode="L").save(data / f"{rid}.png")
        if task == "report_generation":
            rec = Record(
                rid, f"{rid}.png", task, "Write a report.", REPORTS[rid], source=source, reference_report=REPORTS[rid]
            )
        else:
            rec = Record(
                rid,
                f"{rid}.png",
                task,
                f"Where is the {target}?",
                _box_text(box),
                source=source,
                target=target,
                reference_boxes=[box],
            )
        records.append(rec)
    test_file = data / "test.jsonl"
    write_jsonl(records, test_file)

    def sft_answer(rec):
        if rec.task.value == "report_generation":
            return SFT_REPORTS[rec.id]
        d = SHIFT[rec.id]
        x1, y1, x2, y2 = rec.reference_boxes[0]
        return f"The {rec.target} is at {_box_text((x1 + d, y1, min(1.0, x2 + d), y2))}."

    untrained = [_pred(r.id, r.task.value, "\n\n" if r.task.value == "report_generation" else "") for r in records]
    sft = [_pred(r.id, r.task.value, sft_answer(r)) for r in records]
    grpo_preds = [_pred(r.id, r.task.value, r.reference_report or r.answer) for r in records]
    thinking = [
        _pred(
            r.id,
            r.task.value,
            sft_answer(r),
            completion=f"<think>look at {r.id}</think> {sft_answer(r)}",
            thinking=True,
            think_closed=True,
        )
        for r in records
    ]
    train = root / "train_grpo"
    train.mkdir()
    (train / "config.yaml").write_text("reward_funcs: [radcliq]\nmodel_name_or_path: none\noutput_dir: x\n")
    log = [
        {"step": s, "reward": -1 + 0.05 * s, "kl": 0.01 * s, "completions/mean_length": 90 - s} for s in range(1, 21)
    ]
    log.append({"step": 20, "train_runtime": 5.0, "train_loss": 0.1, "kl": 0.0})
    (train / "log_history.json").write_text(json.dumps(log))
    runs = {
        "untrained": _folder(root / "eval_untrained", records, test_file, untrained),
        "sft": _folder(root / "eval_sft", records, test_file, sft),
        "grpo": _folder(root / "eval_grpo", records, test_file, grpo_preds, model=train),
        "thinking": _folder(root / "eval_thinking", records, test_file, thinking, thinking=True),
    }
    scores = {n: [json.loads(line) for line in (d / "scores.jsonl").read_text().splitlines()] for n, d in runs.items()}
    paired = {
        "grpo_vs_sft": compare_runs(
            scores["grpo"], scores["sft"], metrics=["rougeL", "bleu4", "soft_f1"], n_resamples=64
        ),
        "thinking_vs_sft": compare_runs(
            scores["thinking"], scores["sft"], metrics=["rougeL"], n_resamples=64, n_permutations=64
        ),
    }
    path = write_report_from_runs(
        root / "report.html",
        [f"{n}={d}" for n, d in runs.items()],
        baseline="sft",
        n_resamples=64,
        title="browser",
        paired=paired,
        diagnostic=_diagnostic(),
    )
    return {"path": path, "scores": scores, "records": records}


# ---------------------------------------------------------------- tests


def test_page_renders_tables_with_a_clean_console(browser, report):
    page = Page(browser, report["path"])
    p = page.page
    assert p.title() == "browser"
    t1 = p.eval_on_selector_all("#table1 tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert t1[0] == ["model", "R-L", "BLEU-4", "ANC"]
    rows = {r[0].split(" ")[0]: r[1:] for r in t1[1:]}
    assert list(rows) == ["untrained", "sft", "grpo", "thinking"]
    assert rows["grpo"][0].startswith("100.0") and rows["untrained"][0] == "0.0"  # ROUGE-L x100
    assert rows["untrained"][2].startswith("2")  # ANC: the two-newline answers
    assert "(baseline)" in p.inner_text("#table1 tr[data-run=sft] td")
    t2 = p.eval_on_selector_all("#table2 th", "ths => ths.map(t => t.innerText)")
    assert t2 == ["model", "Anatomy · chest_imagenome", "Phrase · ms_cxr", "Phrase · padchest_gr", "all grounding"]
    assert p.inner_text("#table3 tr[data-run=grpo] td").startswith("grpo: + RCQ")
    assert page.count() == 8 and len(page.ids()) == 8
    page.shot("report_full")
    assert page.errors == [] and page.requests == []  # nothing fetched: the file is self-contained


def test_filters_and_sorting(browser, report):
    page = Page(browser, report["path"])
    p = page.page
    p.select_option("#f-task", "phrase_grounding")
    assert page.count() == 4 and page.ids() == ["p0", "p1", "p2", "p3"]
    assert p.inner_text("#browser-count") == "4 of 8 samples"
    p.select_option("#f-source", "padchest_gr")
    assert page.ids() == ["p2", "p3"]
    p.select_option("#f-source", "")
    p.select_option("#f-finding", "cardiomegaly")
    assert page.ids() == ["p0", "p3"]
    p.select_option("#f-task", "")
    p.select_option("#f-finding", "")
    p.fill("#f-text", "left lung")  # search in ids, questions and references
    p.wait_for_function("document.getElementById('browser-count').dataset.count === '1'")
    assert page.ids() == ["a1"]
    p.fill("#f-text", "")
    p.wait_for_function("document.getElementById('browser-count').dataset.count === '8'")
    # sort by sft's soft_f1: grounding samples by score, samples without it (reports) last, ties in file order
    sft = {r["id"]: r.get("soft_f1") for r in report["scores"]["sft"]}
    p.select_option("#sort-key", label="sft · soft_f1")
    expected = sorted((i for i in sft if sft[i] is not None), key=lambda i: -sft[i])
    assert page.ids()[:6] == expected and set(page.ids()[6:]) == {"r0", "r1"}
    assert len({sft[i] for i in expected}) == 6  # distinct values: the order is fully determined
    p.select_option("#sort-dir", "asc")
    assert page.ids()[:6] == expected[::-1]
    p.locator("#browser-list").scroll_into_view_if_needed()
    page.shot("report_sorted", full=False)
    assert page.errors == []


def test_images_load_and_boxes_sit_on_the_reference(browser, report):
    page = Page(browser, report["path"])
    p = page.page
    p.wait_for_function("[...document.images].every(i => i.complete)")
    widths = p.eval_on_selector_all("img", "imgs => imgs.map(i => [i.alt, i.naturalWidth, i.naturalHeight])")
    names = [w[0] for w in widths]
    assert {"a0", "p3", "r0", "metrics with 95% CI", "training curves of grpo"} <= set(names)
    assert all(w[1] > 0 and w[2] > 0 for w in widths), widths
    thumbs = {w[0]: w[1:] for w in widths if w[0] in {s[0] for s in SPECS}}
    big = Image.new("L", (340, 160))
    big.thumbnail((256, 256))
    assert thumbs["a0"] == [240, 160] and thumbs["p3"] == list(big.size) == [256, 120]  # 340 px wide: shrunk
    # a0's reference box [0.3, 0.4, 0.7, 0.8] on the drawn thumbnail
    img = p.locator(".sample[data-id=a0] .thumb img").bounding_box()
    ref = p.locator(".sample[data-id=a0] .box.ref").bounding_box()
    assert ref["x"] - img["x"] == pytest.approx(0.3 * img["width"], abs=1.5)
    assert ref["y"] - img["y"] == pytest.approx(0.4 * img["height"], abs=1.5)
    assert ref["width"] == pytest.approx(0.4 * img["width"], abs=1.5)
    # one dashed predicted box per run that answered with a box (sft, grpo, thinking; untrained answered nothing)
    colours = p.eval_on_selector_all(".sample[data-id=a0] .box.pred", "bs => bs.map(b => b.style.borderColor)")
    assert len(colours) == 3 and len(set(colours)) == 3
    p.locator(".sample[data-id=a0]").screenshot(path=str(ARTIFACTS / "sample_a0.png"))
    assert page.errors == []


def test_texts_whitespace_answers_think_closed_and_differences(browser, report):
    page = Page(browser, report["path"])
    p = page.page
    card = ".sample[data-id=r0]"
    assert p.inner_text(f"{card} .col[data-run=untrained] .txt") == "⏎⏎ (whitespace only)"
    assert p.inner_text(f"{card} .col[data-run=sft] .txt").startswith("The heart is")
    assert p.eval_on_selector_all(f"{card} .col[data-run=sft] ins", "e => e.map(x => x.innerText)") == [
        "normal.",
        "today.",
    ]
    # "pneumothorax." matches "pneumothorax" (punctuation is ignored): only the replaced word is struck
    assert p.eval_on_selector_all(f"{card} .col[data-run=sft] del", "e => e.map(x => x.innerText)") == ["enlarged."]
    assert p.locator(f"{card} .col[data-run=grpo] ins, {card} .col[data-run=grpo] del").count() == 0  # = reference
    for run in ("untrained", "sft", "grpo"):
        assert "think closed" not in p.inner_text(f"{card} .col[data-run={run}] .meta")
    assert "think closed: yes" in p.inner_text(f"{card} .col[data-run=thinking] .meta")
    p.click(f"{card} .col[data-run=thinking] summary")
    assert p.inner_text(f"{card} .col[data-run=thinking] .thought") == "look at r0"
    diag = p.inner_text("#diagnostics")
    assert "think_closed_rate" in diag  # there is a thinking run ...
    row = p.eval_on_selector_all(
        "#diagnostics tr",
        "rows => rows.filter(r => r.cells[0].innerText === 'think_closed_rate')"
        ".map(r => [...r.cells].map(c => c.innerText))[0]",
    )
    assert row == ["think_closed_rate", "–", "–", "–", "1.000"]  # ... and only it has a rate
    p.locator(card).screenshot(path=str(ARTIFACTS / "sample_r0.png"))
    assert page.errors == []


def test_5000_samples_render_lazily(browser, tmp_path):
    spec = importlib.util.spec_from_file_location("bench_report", REPO / "benchmarks" / "bench_report.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    built = bench.build_runs(tmp_path, 5000, n_images=40, image_size=300, runs=("sft",))
    path = write_report_from_runs(tmp_path / "r.html", [str(built["runs"]["sft"])], n_resamples=10)
    page = Page(browser, path)
    p = page.page
    assert page.count() == 5000 and p.get_attribute("#browser-count", "data-total") == "5000"
    shown = len(page.ids())
    assert 0 < shown <= 100  # only the rows near the view are in the document
    p.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    p.wait_for_function(f"document.querySelectorAll('.sample').length > {shown}")
    p.select_option("#f-task", "phrase_grounding")
    assert page.count() == 1000  # 10% + 10% of 5,000
    page.shot("report_5000", full=False)
    assert page.errors == [] and page.requests == []


def test_diagnostic_section_and_forest_plot_are_visible(browser, report):
    page = Page(browser, report["path"])
    p = page.page
    assert p.is_visible("text=Pre-RL diagnostic (validation split)")
    assert (
        p.is_visible("#diagnostic-rates") and p.is_visible("#diagnostic-gate") and p.is_visible("#diagnostic-utility")
    )
    rows = p.eval_on_selector_all(
        "#diagnostic-rates tr[data-finding]", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    by = {r[0]: r[1:] for r in rows}
    # n positive (subtle / conspicuous), n negative, greedy / sampled on positives ...; readers; threshold
    assert by["Pleural Effusion"][:4] == ["1 (1 / 0)", "2", "0.000", "0.500"]
    assert by["Pneumothorax"][:4] == ["1 (0 / 1)", "2", "1.000", "1.000"] and by["Pneumothorax"][-1] == "0.250"
    assert by["Pneumothorax"][6:8] == ["–", "–"]  # no subtle pneumothorax
    marks = p.eval_on_selector_all(
        "#diagnostic-gate tr[data-condition] td:nth-child(2)", "t => t.map(c => c.innerText)"
    )
    assert len(marks) == 3 and set(marks) <= {"✓ pass", "✗ fail"}
    p.wait_for_function("[...document.images].every(i => i.complete)")
    for sel in ("#diagnostic-chart", "#forest"):
        assert p.is_visible(sel) and p.eval_on_selector(sel, "i => i.naturalWidth") > 0
    p.locator("#diagnostic-rates").scroll_into_view_if_needed()
    page.shot("report_diagnostic", full=False)
    assert page.errors == [] and page.requests == []
