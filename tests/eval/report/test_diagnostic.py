"""The report's pre-RL diagnostic section and the forest plot of the paired differences: the numbers of a hand-built
diagnostic dict as exact strings, pass / fail marks, "–" for empty groups, no section without a diagnostic, the
forest plot only with a ``grpo_vs_*`` comparison, and the two figures' axes.

The page itself is opened in Chromium by tests/eval/report/test_browser.py.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/report/test_diagnostic.py
"""

import base64
import io
import re

import pytest
from PIL import Image

from radgrpo.eval.generate import Prediction, write_predictions
from radgrpo.eval.mention_rates import gate
from radgrpo.eval.report.diagnostic import diagnostic_section, mention_rate_figure
from radgrpo.eval.report.html import write_report, write_report_from_dirs
from radgrpo.eval.report.plots import FOREST_COLOURS, forest_figure
from radgrpo.eval.score import write_scores
from radgrpo.eval.summarize import summarize, write_results

#: A diagnostic as radgrpo.eval.mention_rates.gate returns it (plus the demo's split / counts), by hand: one finding
#: with every group filled, one without subtle positives (None), one with a threshold but no positive study.
DIAGNOSTIC = {
    "rates": {
        "Pleural Effusion": {
            "n_pos": 8,
            "n_neg": 12,
            "n_subtle": 3,
            "n_conspicuous": 5,
            "greedy_pos": 0.375,
            "greedy_neg": 0.0,
            "sampled_pos": 0.6125,
            "sampled_neg": 0.05,
            "greedy_subtle": 0.0,
            "sampled_subtle": 0.3,
            "greedy_conspicuous": 0.6,
            "sampled_conspicuous": 0.8,
            "reference_pos": 0.75,
            "reference_neg": 0.0833,
            "reference_subtle": 0.3333,
        },
        "Pneumothorax": {
            "n_pos": 2,
            "n_neg": 18,
            "n_subtle": 0,
            "n_conspicuous": 2,
            "greedy_pos": 1.0,
            "greedy_neg": 0.1111,
            "sampled_pos": 0.9,
            "sampled_neg": None,
            "greedy_subtle": None,
            "sampled_subtle": None,
            "greedy_conspicuous": 1.0,
            "sampled_conspicuous": 0.9,
            "reference_pos": 1.0,
            "reference_neg": 0.0,
            "reference_subtle": None,
        },
    },
    "thresholds": {"Pleural Effusion": 1 / 3, "Pneumothorax": 0.25, "Cardiomegaly": 0.4},
    "utility": {
        "reference": {"greedy": -0.4125, "threshold": -0.35, "room": 0.0625},
        "truth": {"greedy": -0.5, "threshold": -0.5125, "room": -0.0125},
    },
    "conditions": [
        {
            "name": "learned",
            "value": {"Pleural Effusion": 0.5625, "Pneumothorax": 0.9},
            "target": ">= 2 findings with sampled rate(pos) - rate(neg) >= 0.3",
            "passed": True,
            "findings": ["Pleural Effusion", "Pneumothorax"],
        },
        {
            "name": "room",
            "value": 0.0625,
            "target": "threshold-on-sampled-rate utility - greedy utility >= 0.02 per study (against the reference)",
            "passed": True,
        },
        {
            "name": "under_called",
            "value": {"Pleural Effusion": 0.375, "Pneumothorax": None},
            "target": ">= 1 finding with greedy recall against the truth in [0.7, 0.9]",
            "passed": False,
            "findings": [],
        },
    ],
    "passed": False,
    "spec": {"min_learned": 2, "learned_gap": 0.3, "min_room": 0.02, "recall_band": [0.7, 0.9], "min_in_band": 1},
    "n_studies": 20,
    "samples_per_study": 4,
    "split": "val",
}

HEADLINE = ("clinical_utility", "rule_finding_f1_side", "map_50", "clinical_utility_truth", "bleu4")


def _paired(comparisons):
    out = {}
    for k, comp in enumerate(comparisons):
        out[comp] = {}
        for j, m in enumerate(HEADLINE):
            d = (0.02 * (j - 1) + 0.01 * k) * (10 if m.startswith("clinical") else 1)
            w = 0.015 * (10 if m.startswith("clinical") else 1)
            out[comp][m] = {"diff": d, "ci95": [d - w, d + w], "p_value": 0.01 if abs(d) > w else 0.5, "n": 20}
    return out


PAIRED = _paired(["grpo_vs_sft", "grpo_vs_sft_control", "sft_decoding_vs_sft"])


def _html(tmp_path, **kw):
    run = summarize([{"id": "r0", "task": "report_generation", "bleu4": 0.25}], n_resamples=10)
    return write_report(tmp_path / "report.html", {"sft": run, "grpo": run}, n_resamples=10, **kw).read_text()


def _part(html, element_id):
    return html.split(f'id="{element_id}"')[1].split("</table>")[0]


def test_diagnostic_section_shows_the_numbers(tmp_path):
    html = _html(tmp_path, diagnostic=DIAGNOSTIC)
    assert "<h2>Pre-RL diagnostic (validation split)</h2>" in html
    assert "on the val\nsplit (20 studies," in html and "4 sampled reports each at temperature 1" in html
    rates = _part(html, "diagnostic-rates")
    # n positive (subtle / conspicuous), n negative, greedy / sampled on positives, negatives, subtle positives,
    # readers on positives, decision threshold
    assert (
        "<td>Pleural Effusion</td><td>8 (3 / 5)</td><td>12</td><td>0.375</td><td>0.613</td><td>0.000</td>"
        "<td>0.050</td><td>0.000</td><td>0.300</td><td>0.750</td><td>0.333</td>"
    ) in rates
    assert (
        "<td>Pneumothorax</td><td>2 (0 / 2)</td><td>18</td><td>1.000</td><td>0.900</td><td>0.111</td>"
        "<td>–</td><td>–</td><td>–</td><td>1.000</td><td>0.250</td>"
    ) in rates
    # a threshold without a positive study: a row of its own, after the others
    assert "<td>Cardiomegaly</td><td>0</td><td>–</td>" + "<td>–</td>" * 7 + "<td>0.400</td>" in rates
    assert rates.index("Pneumothorax") < rates.index("Cardiomegaly")
    assert (
        'title="readers on negatives 0.083, on subtle positives 0.333; greedy on conspicuous positives 0.600' in rates
    )
    gate_html = html.split("<h3>Gate:")[1].split("</table>")[0]
    assert gate_html.startswith(' <span class="fail">✗ not passed</span> <span class="n">(2 of 3 conditions)</span>')
    rows = re.findall(r'<tr data-condition="(\w+)">(.*?)</tr>', gate_html, re.S)
    assert [name for name, _ in rows] == ["learned", "room", "under_called"]
    cells = {name: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for name, row in rows}
    assert [('class="pass"' in c[1], 'class="fail"' in c[1]) for c in cells.values()] == [
        (True, False),
        (True, False),
        (False, True),
    ]
    assert "✓ pass" in cells["learned"][1] and "✗ fail" in cells["under_called"][1]
    assert cells["learned"][2].startswith("Pleural Effusion 0.562, Pneumothorax 0.900")
    assert "meeting it: Pleural Effusion, Pneumothorax" in cells["learned"][2]
    assert cells["room"][2] == "+0.062"
    assert cells["under_called"][2] == "Pleural Effusion 0.375, Pneumothorax –"  # None -> "–", no "meeting it"
    assert cells["under_called"][3] == "&gt;= 1 finding with greedy recall against the truth in [0.7, 0.9]"
    utility = _part(html, "diagnostic-utility")
    assert "<td>the reference reports</td><td>-0.412</td><td>-0.350</td><td>+0.062</td>" in utility
    assert "<td>the drawn truth</td><td>-0.500</td><td>-0.512</td><td>-0.013</td>" in utility
    src = re.search(r'<img id="diagnostic-chart" alt="[^"]+" src="data:image/png;base64,([^"]+)"', html)[1]
    assert Image.open(io.BytesIO(base64.b64decode(src))).format == "PNG"


def test_diagnostic_passed_gate_and_gate_output(tmp_path):
    recs = [
        {
            "meta": {"truth": [{"finding": "pleural effusion", "side": "left", "subtle": True}]},
            "answer": "Left effusion.",
        },
        {"meta": {"truth": []}, "answer": "No acute findings."},
    ]
    g = gate(recs, ["No pleural effusion.", "Normal."], [["Small left pleural effusion.", "Normal."], ["Normal."] * 2])
    section = diagnostic_section(g)  # gate's own dict, without the demo's split and counts
    assert section["split"] is None and section["n_studies"] is None
    assert section["rows"][0]["finding"] == "Pleural Effusion" and section["rows"][0]["sampled_pos"] == "0.500"
    html = _html(tmp_path, diagnostic={**DIAGNOSTIC, "passed": True})
    assert '<h3>Gate: <span class="pass">✓ passed</span>' in html
    html = _html(tmp_path, diagnostic=g)
    assert "on the validation\nsplit, against" in html  # no split / counts given: none shown


def test_no_diagnostic_no_section(tmp_path):
    html = _html(tmp_path, paired=PAIRED)
    assert "Pre-RL diagnostic" not in html and 'id="diagnostic-' not in html


def test_forest_plot_only_with_grpo_comparisons(tmp_path):
    html = _html(tmp_path, paired=PAIRED)
    paired = html.split("<h2>Paired differences</h2>")[1].split("<h2>")[0]
    assert paired.index('id="paired"') < paired.index('id="forest"')  # with the table, after it
    src = re.search(r'<img id="forest" alt="[^"]+" src="data:image/png;base64,([^"]+)"', paired)[1]
    assert Image.open(io.BytesIO(base64.b64decode(src))).format == "PNG"
    assert paired.count("<td>sft_decoding_vs_sft</td>") == len(HEADLINE)  # the table keeps every comparison
    only_decoding = _html(tmp_path, paired={"sft_decoding_vs_sft": PAIRED["sft_decoding_vs_sft"]})
    assert 'id="paired"' in only_decoding and 'id="forest"' not in only_decoding
    assert 'id="forest"' not in _html(tmp_path)


def test_forest_figure_panels_order_and_error_bars():
    import matplotlib.pyplot as plt

    chosen = {c: m for c, m in PAIRED.items() if c.startswith("grpo_vs_")}
    fig = forest_figure(chosen, lower_is_better={"bleu4"})
    assert [s._suptitle.get_text() for s in fig.subfigs] == ["grpo_vs_sft", "grpo_vs_sft_control"]
    score_ax, utility_ax = fig.subfigs[0].axes
    # metrics top to bottom in the order given, the utilities on their own axis
    assert [t.get_text() for t in score_ax.get_yticklabels()] == [
        "rule_finding_f1_side",
        "map_50",
        "bleu4 (lower is better)",
    ]
    assert [t.get_text() for t in utility_ax.get_yticklabels()] == ["clinical_utility", "clinical_utility_truth"]
    assert score_ax.get_xlabel() == "score: grpo − sft" and utility_ax.get_xlabel() == "utility per study: grpo − sft"
    for ax in (score_ax, utility_ax):
        zero = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [0.0, 0.0]]
        assert len(zero) == 1 and zero[0].get_linestyle() == "--"  # the line at 0
        y0, y1 = ax.get_ylim()
        assert y0 > y1  # first metric on top
    # each metric's CI as a horizontal bar: the segment from ci95[0] to ci95[1] at its row
    segs = [s for coll in score_ax.collections for s in coll.get_segments()]
    expected = [
        (PAIRED["grpo_vs_sft"][m]["ci95"], y) for y, m in enumerate(("rule_finding_f1_side", "map_50", "bleu4"))
    ]
    got = sorted((round(s[0][0], 6), round(s[1][0], 6), s[0][1]) for s in segs if s[0][1] == s[1][1])
    assert got == sorted((round(lo, 6), round(hi, 6), y) for (lo, hi), y in expected)
    # bleu4 +0.04 [0.025, 0.055], p 0.01: significant and, lower being better, worse (orange, filled)
    dots = {round(float(ln.get_ydata()[0])): ln for ln in score_ax.get_lines() if ln.get_marker() == "o"}
    assert dots[2].get_color() == FOREST_COLOURS["worse"] and dots[2].get_markerfacecolor() != "white"
    assert dots[0].get_color() == FOREST_COLOURS["none"] and dots[0].get_markerfacecolor() == "white"  # -0.02 ± 0.015
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one comparison"):
        forest_figure({"grpo_vs_sft": {}})


def test_mention_rate_figure_axes_and_bars():
    import matplotlib.pyplot as plt

    fig = mention_rate_figure(DIAGNOSTIC["rates"], DIAGNOSTIC["thresholds"])
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.get_xlabel() == "finding" and ax.get_ylabel() == "share of studies naming it"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Pleural\nEffusion", "Pneumothorax"]
    heights = sorted(round(p.get_height(), 4) for p in ax.patches)
    # greedy / sampled on positives and negatives; Pneumothorax's sampled_neg is None: no bar
    assert heights == sorted([0.375, 0.6125, 0.0, 0.05, 1.0, 0.9, 0.1111])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["greedy, positive studies", "sampled, positive studies"] and "decision threshold" in legend
    plt.close(fig)


def test_write_report_from_dirs_passes_the_diagnostic(tmp_path):
    d = tmp_path / "eval_sft"
    d.mkdir()
    rows = [{"id": "a", "task": "report_generation", "bleu4": 0.5}]
    write_scores(rows, d / "scores.jsonl")
    write_results(summarize(rows, n_resamples=10), d / "results.json")
    write_predictions([Prediction("a", "report_generation", "q", "c", "c", 1, True)], d / "predictions.jsonl")
    html = write_report_from_dirs(tmp_path / "r.html", {"sft": d}, diagnostic=DIAGNOSTIC, n_resamples=10).read_text()
    assert 'id="diagnostic-rates"' in html and "<td>Pneumothorax</td><td>2 (0 / 2)</td>" in html
