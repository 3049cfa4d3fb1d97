"""eval.compare: paired metrics named from the one metric table, and their values on hand-made score rows."""

import numpy as np
import pytest

from radgrpo.eval.compare import PAIRED_METRICS, compare_runs, paired_metrics, paired_values
from radgrpo.metrics.paired import mean_statistic, micro_f1_statistic, paired_comparison, paired_items


def test_paired_metrics_are_the_metric_tables_results_and_columns():
    # one table names metrics: every paired metric is a result name of radgrpo.metrics.registry, computed from the
    # per-sample column of a mean metric or from the row fields of a corpus metric of that table; the two others
    # are summarize's own means (format_valid_rate of "parseable", anc of "answer_chars")
    from radgrpo.eval.summarize import ANC, RESULT_NAMES
    from radgrpo.metrics.registry import METRICS

    results = {r: spec for spec in METRICS.values() for r in (spec.results or (spec.name,))}
    for name, pm in PAIRED_METRICS.items():
        if name in (ANC, RESULT_NAMES["parseable"]):
            continue
        assert name in results, name
        spec = results[name]
        if spec.aggregation == "mean":
            assert pm.columns == (spec.name,) and pm.higher_is_better == spec.higher_is_better, name
        else:
            assert set(pm.columns) <= set(spec.row_fields), name
    # every mean metric of the table is comparable, and so is every corpus F1 but the per-finding placeholders
    means = {s.results[0] for s in METRICS.values() if s.aggregation == "mean"}
    corpus = {r for s in METRICS.values() if s.aggregation == "corpus" for r in s.results if "<" not in r}
    assert means | corpus | {"anc", "format_valid_rate"} == set(PAIRED_METRICS) == set(paired_metrics())
    assert PAIRED_METRICS["anc"].higher_is_better is None and PAIRED_METRICS["radcliq"].higher_is_better is False


def _runs(n=12, seed=0):
    """Two runs on the same n/2 report + n/2 grounding ids; the old run also has one id the new lacks."""
    rng = np.random.default_rng(seed)
    new, old = [], []
    for i in range(n):
        if i % 2:
            base = {"id": f"r{i}", "task": "report_generation"}
            new.append({**base, "bleu4": rng.uniform(), "radcliq": rng.uniform(0.5, 1.0), "answer_chars": 100 + i})
            old.append({**base, "bleu4": rng.uniform(), "radcliq": rng.uniform(1.0, 1.5), "answer_chars": 200 + 2 * i})
        else:
            base = {"id": f"g{i}", "task": "phrase_grounding", "answer_chars": 30 + i}
            new.append({**base, "ap_50": float(rng.uniform() > 0.3), "parseable": True})
            old.append({**base, "ap_50": float(rng.uniform() > 0.6), "parseable": bool(i % 4)})
    old.append({"id": "extra", "task": "report_generation", "bleu4": 1.0, "radcliq": 0.1, "answer_chars": 5})
    return new, old


def test_every_metric_both_runs_have_is_compared_with_values_by_hand():
    new, old = _runs()
    res = compare_runs(new, old, n_resamples=500, n_permutations=500)
    assert list(res) == ["map_50", "format_valid_rate", "bleu4", "radcliq", "anc"]  # table order, present ones
    reports = [(a, b) for a, b in zip(new, old) if a["task"] == "report_generation"]
    assert res["bleu4"]["n"] == 6 and res["map_50"]["n"] == 6  # "extra" is in one run only
    assert res["bleu4"]["diff"] == pytest.approx(np.mean([a["bleu4"] - b["bleu4"] for a, b in reports]))
    # radcliq: lower is better, the new run is lower -> a negative difference (new - old), significant
    assert res["radcliq"]["diff"] < 0 and res["radcliq"]["ci95"][1] < 0
    # anc: report rows only, (100 + i) - (200 + 2i) over i = 1, 3, ..., 11 -> mean(-100 - i) = -106
    assert (res["anc"]["diff"], res["anc"]["n"]) == (pytest.approx(-106.0), 6)
    # format rate: new all True, old False at i = 0, 4, 8 -> 1 - 3/6 = 0.5
    assert res["format_valid_rate"]["diff"] == pytest.approx(0.5)
    vals = paired_values(new, old)
    assert set(vals) == set(res)
    for m, v in vals.items():
        assert v["new"] - v["old"] == pytest.approx(res[m]["diff"]) and v["n"] == res[m]["n"]
    assert vals["anc"]["old"] == pytest.approx(212.0) and vals["radcliq"]["higher_is_better"] is False


def test_demo_metrics_keep_their_numbers():
    # the demo's headline comparisons go through the same paired_items + paired_comparison as before
    new, old = _runs(seed=1)
    for r in new + old:
        if r["task"] == "report_generation":
            r.update(rule_finding_tp=len(r["id"]) % 3, rule_finding_fp=1, rule_finding_fn=int(r["bleu4"] > 0.5))
    res = compare_runs(new, old, metrics=["map_50", "rule_finding_f1", "bleu4"], n_resamples=300, n_permutations=300)
    for name, cols, stat in (
        ("map_50", ["ap_50"], mean_statistic),
        ("rule_finding_f1", ["rule_finding_tp", "rule_finding_fp", "rule_finding_fn"], micro_f1_statistic),
        ("bleu4", ["bleu4"], mean_statistic),
    ):
        a, b = paired_items(new, old, cols)
        assert res[name] == paired_comparison(a, b, stat, n_resamples=300, n_permutations=300, seed=0)
    with pytest.raises(KeyError, match="unknown paired metric"):
        compare_runs(new, old, metrics=["map50"])


def test_chexbert_f1s_paired_equal_the_corpus_f1s_of_each_run():
    from radgrpo.metrics.text.chexbert import chexbert_f1

    rng = np.random.default_rng(3)
    labels = [-2, 0, 1, -1]  # blank, negative, positive, uncertain

    def rows(k):
        return [
            {
                "id": f"r{i}",
                "task": "report_generation",
                "chexbert_ref_labels": [labels[j] for j in rng.integers(0, 4, 14)],
                "chexbert_hyp_labels": [labels[j] for j in rng.integers(0, 4, 14)],
            }
            for i in range(k)
        ]

    new, old = rows(9), rows(9)
    for r_new, r_old in zip(new, old):
        r_new["chexbert_ref_labels"] = r_old["chexbert_ref_labels"]  # one reference per item
    res = compare_runs(new, old, n_resamples=200, n_permutations=200)
    assert len([m for m in res if m.startswith("chexbert")]) == 8
    for prefix, policy in (("chexbert", "positive"), ("chexbert_uneg", "negative")):
        f_new = chexbert_f1([r["chexbert_ref_labels"] for r in new], [r["chexbert_hyp_labels"] for r in new], policy)
        f_old = chexbert_f1([r["chexbert_ref_labels"] for r in old], [r["chexbert_hyp_labels"] for r in old], policy)
        for key in ("micro_14", "macro_14", "micro_5", "macro_5"):
            assert res[f"{prefix}_{key}"]["diff"] == pytest.approx(f_new[key] - f_old[key], abs=1e-12), (prefix, key)
    # the summary of each run gives the same values as paired_values on these (all shared) items
    from radgrpo.eval.summarize import summarize

    vals = paired_values(new, old, metrics=["chexbert_macro_14"])["chexbert_macro_14"]
    assert vals["new"] == pytest.approx(summarize(new, n_resamples=10).overall["chexbert_macro_14"].value)
    assert vals["old"] == pytest.approx(summarize(old, n_resamples=10).overall["chexbert_macro_14"].value)
