"""The registries own every metric and reward name a reader sees.

``radgrpo.metrics.registry`` (``METRICS`` and the derived results ``DERIVED``) and ``radgrpo.rewards.registry``
(``REWARDS``) are the only places that list them. Lists of names remain only where their order is the content,
:data:`ORDERED` below (the paper's Table 1 columns, the demo's headline, table rows and claim); every name in them is
registered. Any other module-level collection of metric or reward names in the modules that show names to readers
(the report, the serve catalogue, the recipes, the CLI) fails here, and so does any name shown in ``results.json``, in
the report of an evaluated run or in the serve catalogue that no registry holds. A new metric is one registry entry
and shows up in ``results.json``, the report and the catalogue.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/test_registry_names.py
"""

from __future__ import annotations

import ast
import importlib
import random
from html.parser import HTMLParser
from pathlib import Path

import pytest

import radgrpo
from radgrpo.eval.report import tables as T
from radgrpo.eval.report.html import write_report
from radgrpo.eval.report.runs import TrainingRun
from radgrpo.eval.summarize import summarize, write_results
from radgrpo.metrics.display import chart_results, label, spec_for
from radgrpo.metrics.registry import DERIVED, METRICS, MetricSpec
from radgrpo.rewards.registry import REWARDS, register_reward, reward_label, reward_spec
from radgrpo.serve.catalog import reward_info

PACKAGE = Path(radgrpo.__file__).resolve().parent
#: The hand lists of names the registries allow: each one's order (or, for the claim, its choice) is its content.
ORDERED: dict[str, tuple[str, ...]] = {
    "radgrpo.eval.report.tables": ("TABLE1_PAPER", "TABLE1_MORE"),  # the paper's Table 1 column order, then ours
    "radgrpo.recipes.demo.config": ("HEADLINE", "CLAIM"),  # the demo's headline metrics and the metrics it claims
    "radgrpo.recipes.demo.notes": ("TABLE_METRICS", "THINKING_TABLE_METRICS"),  # rows of the demo's console tables
}
#: The folders whose modules show names to readers.
SHOWN_BY = ("eval/report", "serve", "recipes", "cli")
#: ``results.json`` keys that hold blocks, not results.
STRUCTURE = {"ci", "n_by_metric", "per_task", "per_target", "per_source", "per_task_source", "diagnostics", "detail"}
#: rows the report's template writes itself, and the result each one shows
TEMPLATE_ROWS = {"n (samples)": "n"}


def registered(name: str) -> bool:
    """A metric, result or score key of the metric table, or a reward name."""
    return spec_for(name) is not None or name in REWARDS


def _names_in_tables() -> set[str]:
    concrete = {r for s in (*METRICS.values(), *DERIVED.values()) for r in s.results if "<" not in r}
    return set(METRICS) | concrete | set(REWARDS)


def module_name_lists(path: Path) -> dict[str, list[str]]:
    """Module-level assignments of ``path`` whose literal value holds a metric or reward name: name -> its strings."""
    names = _names_in_tables()
    out = {}
    for st in ast.parse(path.read_text(encoding="utf-8")).body:
        value = st.value if isinstance(st, (ast.Assign, ast.AnnAssign)) else None
        if value is None or not isinstance(value, (ast.Tuple, ast.List, ast.Set, ast.Dict, ast.BinOp, ast.Call)):
            continue
        strings = [n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        if any(s in names for s in strings):
            target = st.targets[0] if isinstance(st, ast.Assign) else st.target
            out[getattr(target, "id", ast.unparse(target))] = strings
    return out


def package_modules() -> dict[str, Path]:
    """Module name -> file, for the modules of :data:`SHOWN_BY`."""
    return {
        ".".join(("radgrpo", *path.relative_to(PACKAGE).with_suffix("").parts)): path
        for folder in SHOWN_BY
        for path in sorted((PACKAGE / folder).rglob("*.py"))
    }


def stray_lists(modules: dict[str, Path]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(stray, missing)``: name lists of ``modules`` that :data:`ORDERED` does not allow, and allowed ones not
    found."""
    found = {(m, var) for m, path in modules.items() for var in module_name_lists(path)}
    allowed = {(m, v) for m, vs in ORDERED.items() for v in vs}
    return sorted(found - allowed), sorted(allowed - found)


def test_only_the_ordered_lists_hold_names():
    stray, missing = stray_lists(package_modules())
    assert not stray, f"hand-listed metric/reward names outside the registries (read them from the registry): {stray}"
    assert not missing, f"ordered lists not found where expected: {missing}"


def test_every_name_of_the_ordered_lists_is_registered():
    for module, variables in ORDERED.items():
        mod = importlib.import_module(module)
        for var in variables:
            names = getattr(mod, var)
            assert isinstance(names, tuple) and all(isinstance(n, str) for n in names), (module, var)
            unregistered = [n for n in names if not registered(n)]
            assert not unregistered, f"{module}.{var} names what no registry holds: {unregistered}"


# ---------------------------------------------------------------- what a reader sees of an evaluated run

FINDINGS = ["Cardiomegaly", "Pneumothorax", "Pleural Effusion"]


def _rows(seed: int) -> list[dict]:
    """Score rows with every kind of result: grounding and truth means, report means, CheXbert and rule-labeller
    corpus F1s (with per-finding values), truth recalls, the utility, ANC, diagnostics and an unscored value."""
    rng = random.Random(seed)

    def lab(prefix: str) -> dict:
        ref = [f for f in FINDINGS if rng.random() < 0.5]
        hyp = [f for f in FINDINGS if rng.random() < 0.5]
        return {
            f"{prefix}_ref": ref,
            f"{prefix}_hyp": hyp,
            f"{prefix}_side_ref": [f"{f}|none" for f in ref],
            f"{prefix}_side_hyp": [f"{f}|none" for f in hyp],
        }

    rows = []
    for i in range(8):
        rows.append(
            {
                "id": f"g{i}",
                "task": "abnormality_grounding",
                "source": "ms_cxr",
                "target": ["nodule", "heart"][i % 2],
                **{k: rng.random() for k in ("ap_50", "soft_f1", "soft_f1_dice", "matched_iou", "ap_50_truth")},
                **{k: rng.random() for k in ("soft_f1_truth", "soft_f1_dice_truth", "matched_iou_truth")},
                "parseable": rng.random() > 0.2,
                "n_pred_boxes": 1,
                "n_ref_boxes": 1,
                "finished": True,
                "n_tokens": 12,
                "answer_chars": 30,
            }
        )
        truth = {}
        for g in ("subtle", "conspicuous"):
            n = rng.randint(1, 2)
            truth.update({f"recall_truth_{g}_n": n, f"recall_truth_{g}_named": 1, f"recall_truth_{g}_named_side": 0})
        rows.append(
            {
                "id": f"r{i}",
                "task": "report_generation",
                **{k: rng.random() for k in ("bleu4", "rougeL", "gleu", "bertscore", "radgraph", "radcliq")},
                "green": None if i == 0 else rng.random(),
                "clinical_utility": -rng.random(),
                "clinical_utility/Cardiomegaly": -rng.random(),
                "clinical_utility_truth": -rng.random(),
                **lab("rule_finding"),
                **lab("rule_finding_truth"),
                **truth,
                "chexbert_ref_labels": [rng.choice([0, 1, -1]) for _ in range(14)],
                "chexbert_hyp_labels": [rng.choice([0, 1, -1]) for _ in range(14)],
                "answer_chars": rng.randint(50, 200),
                "finished": True,
                "n_tokens": 40,
                "thinking": True,
                "think_closed": True,
                "thought_words": 5,
                "thought_tokens": 7,
            }
        )
    return rows


class _Tables(HTMLParser):
    """The report's tables as rows of cell texts, each cell ``(tag, text)``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[tuple[str, str]]]] = []
        self._cell: list[str] | None = None
        self._tag = ""

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell, self._tag = [], tag

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append((self._tag, " ".join("".join(self._cell).split())))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _header_labels() -> set[str]:
    """Every header the paper tables may show: the label of each result, with ``↓`` when lower is better."""
    names = {r for s in (*METRICS.values(), *DERIVED.values()) for r in s.results if "<" not in r}
    return {T.column(n).label for n in names}


def shown_names(html: str) -> dict[str, list[str]]:
    """The metric names and labels the report shows, by where: the metric tables' rows, the per-target table's
    metrics, the paired differences' metrics, the diagnostics and the paper tables' headers."""
    parser = _Tables()
    parser.feed(html)
    out: dict[str, list[str]] = {"rows": [], "targets": [], "paired": [], "diagnostics": [], "headers": []}
    for table in parser.tables:
        if not table or not table[0]:
            continue
        first = table[0][0][1]
        body = [row for row in table[1:] if row]
        if first == "metric":
            out["rows"] += [TEMPLATE_ROWS.get(row[0][1], row[0][1]) for row in body]
        elif first == "target":
            out["targets"] += [text for tag, text in table[0][2:]]
        elif first == "comparison":
            out["paired"] += [row[1][1] for row in body]
        elif first == "quantity":
            out["diagnostics"] += [row[0][1] for row in body]
        elif first in ("model", "model (rewards)") and not any("·" in text for _, text in table[0]):
            out["headers"] += [text for _, text in table[0][1:]]
    return out


def unregistered_shown(html: str) -> list[str]:
    """The names in :func:`shown_names` that no registry holds (headers: that no metric labels)."""
    shown = shown_names(html)
    labels = _header_labels()
    bad = [n for where, names in shown.items() if where != "headers" for n in names if not registered(n)]
    return bad + [h for h in shown["headers"] if h not in labels]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    out = tmp_path_factory.mktemp("names")
    scores = {"sft": _rows(0), "grpo": _rows(1)}
    runs = {name: summarize(rows, n_resamples=20) for name, rows in scores.items()}
    runs["grpo"].meta["generation"] = {"tokens_per_s": 10.0, "samples_per_s": 1.0}
    rewards = [{"name": n} for n in REWARDS if not n.startswith("remote:")]
    training = {"grpo": TrainingRun(out / "grpo", "grpo", rewards=rewards)}
    paired = {"grpo_vs_sft": {"bleu4": {"diff": 0.1, "ci95": [0.0, 0.2], "p_value": 0.1, "n": 8}}}
    html = write_report(
        out / "report.html", runs, scores=scores, training=training, paired=paired, n_resamples=20, title="t"
    ).read_text(encoding="utf-8")
    return {"runs": runs, "html": html, "results": write_results(runs["grpo"], out / "results.json")}


def test_the_report_shows_only_registered_names(evaluated):
    shown = shown_names(evaluated["html"])
    # the fixture reaches every place: rows, per-target metrics, paired metrics, diagnostics, paper-table headers
    assert all(shown.values()), {k: len(v) for k, v in shown.items()}
    assert {"rule_finding_f1/Cardiomegaly", "chexbert_uneg_macro_5", "anc", "recall_side_truth/subtle"} <= set(
        shown["rows"]
    )
    assert {"n_unscored_green", "tokens_per_s", "mean_thought_words", "finished_rate"} <= set(shown["diagnostics"])
    assert {"RCQ↓", "CXb-micro", "ANC", "recall subtle (truth)"} <= set(shown["headers"])
    assert unregistered_shown(evaluated["html"]) == []


def test_the_checks_fail_on_a_stray_name(evaluated, tmp_path):
    html = evaluated["html"]
    stray = html.replace("<td>bleu4</td>", "<td>bleu_4</td>", 1).replace("<th>RGF1</th>", "<th>RadGraph</th>", 1)
    assert unregistered_shown(stray) == ["bleu_4", "RadGraph"]
    # a new hand list in a module that shows names fails, whether its names are registered or not
    probe = tmp_path / "probe.py"
    probe.write_text('CHART = ("bleu4", "rougeL")\nEXTRA = ("map_50", "my_metric")\nOTHER = ("a", "b")\n')
    stray, missing = stray_lists({**package_modules(), "radgrpo.eval.report.probe": probe})
    assert stray == [("radgrpo.eval.report.probe", "CHART"), ("radgrpo.eval.report.probe", "EXTRA")] and not missing


def test_results_json_keys_are_registered(evaluated):
    data = evaluated["results"]
    keys = [k for k in data if k not in STRUCTURE]
    for block in ("per_task", "per_target", "per_source", "per_task_source"):
        keys += [k for group in data[block].values() for k in group]
    keys += list(data["diagnostics"]) + list(data["ci"])
    assert {"anc", "format_valid_rate", "rule_finding_f1/Pneumothorax", "n_unscored_green", "map_50_truth"} <= set(keys)
    assert sorted({k for k in keys if not registered(k)}) == []


def test_the_serve_catalogue_reads_the_reward_registry():
    for name in REWARDS:
        if name.startswith("remote:"):
            continue
        info = reward_info(name)
        assert info["metric"] == reward_spec(name).metric and info["description"] == reward_spec(name).description
        assert info["metric"] is None or info["metric"] in METRICS, name
        assert reward_label(name) != name, name  # every reward has a short label (its own or its metric's)


def test_a_new_metric_and_reward_are_one_entry_each(monkeypatch, tmp_path):
    spec = MetricSpec(
        "toy_score",
        "report",
        "radgrpo.metrics.text.bleu:score_bleu",
        "a toy metric for this test",
        (("n", 2),),
        label="TOY",
        chart=True,
    )
    monkeypatch.setitem(METRICS, "toy_score", spec)
    monkeypatch.setitem(REWARDS, "toy_reward", REWARDS["bleu4"])
    register_reward("toy_reward", "radgrpo.rewards.report:make_bleu4_reward", "toy", overwrite=True, metric="toy_score")
    rows = [{"id": f"r{i}", "task": "report_generation", "toy_score": i / 4, "answer_chars": 10} for i in range(4)]
    run = summarize(rows, n_resamples=10)
    results = write_results(run, tmp_path / "results.json")
    assert results["toy_score"] == 0.375 and registered("toy_score")
    assert "toy_score" in chart_results() and label("toy_score") == "TOY"
    html = write_report(
        tmp_path / "report.html",
        {"a": run},
        scores={"a": rows},
        training={"a": TrainingRun(tmp_path, "grpo", rewards=[{"name": "toy_reward"}])},
        n_resamples=10,
    ).read_text(encoding="utf-8")
    assert "toy_score" in shown_names(html)["rows"] and unregistered_shown(html) == []
    assert reward_info("toy_reward")["metric"] == "toy_score" and reward_label("toy_reward") == "TOY"
    assert T.reward_stars([{"name": "toy_reward"}]) == {"toy_score"}
