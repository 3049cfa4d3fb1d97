"""The pre-RL diagnostic (mention rates, the gate) and the decoding-only baseline on hand-built reports."""

from __future__ import annotations

import pytest

from radgrpo.data.sources import synthetic_readers as sr
from radgrpo.eval.decoding import compose_report, decide_reports, threshold_findings
from radgrpo.eval.mention_rates import GateSpec, gate, mention_rates
from radgrpo.metrics.text.rule_labeler import finding_set
from radgrpo.metrics.text.utility import decision_thresholds, sides_by_label

EFF = {"finding": "pleural effusion", "side": "left", "severity": 0.1, "subtle": True}
PTX = {"finding": "pneumothorax", "side": "right", "severity": 0.9, "subtle": False}
NEG = "The heart size is normal. No focal consolidation. No pleural effusion. No pneumothorax."
WITH_EFF = "The heart size is normal. No focal consolidation. Small left pleural effusion. No pneumothorax."
HEDGED_EFF = "The heart size is normal. No focal consolidation. Possible small left pleural effusion. No pneumothorax."
WITH_PTX = "The heart size is normal. No focal consolidation. No pleural effusion. Small right apical pneumothorax."


def rec(truth, answer):
    return {"meta": {"truth": truth}, "answer": answer}


def test_mention_rates_count_positives_negatives_and_subtlety():
    records = [rec([EFF], HEDGED_EFF), rec([PTX], WITH_PTX), rec([], NEG), rec([EFF, PTX], WITH_PTX)]
    greedy = [NEG, WITH_PTX, NEG, WITH_PTX]
    samples = [[WITH_EFF, NEG, NEG, HEDGED_EFF], [WITH_PTX] * 4, [NEG, NEG, NEG, WITH_EFF], [NEG] * 4]
    r = mention_rates(records, greedy, samples)
    eff, ptx = r["Pleural Effusion"], r["Pneumothorax"]
    assert (eff["n_pos"], eff["n_neg"], eff["n_subtle"], eff["n_conspicuous"]) == (2, 2, 2, 0)
    assert eff["greedy_pos"] == 0.0 and eff["sampled_pos"] == (0.5 + 0.0) / 2
    assert eff["sampled_neg"] == (0.0 + 0.25) / 2 and eff["sampled_subtle"] == 0.25
    assert eff["reference_pos"] == 0.5 and eff["greedy_conspicuous"] is None  # the hedged reference names it
    assert (ptx["greedy_pos"], ptx["sampled_pos"], ptx["greedy_neg"]) == (1.0, 0.5, 0.0)
    assert set(r) == {"Pleural Effusion", "Pneumothorax"}


def test_mention_rates_refuse_records_without_truth():
    with pytest.raises(ValueError, match="meta\\['truth'\\]"):
        mention_rates([{"meta": {}, "answer": NEG}], [NEG], [[NEG]])


def test_gate_conditions():
    # 10 studies with a subtle left effusion, 10 without: the model samples it in 3/8 of positives, never in
    # negatives; greedy never names it. The threshold rule (0.33 for effusion) names it -> utility room.
    records = [rec([EFF], HEDGED_EFF if i % 2 else NEG) for i in range(10)] + [rec([], NEG)] * 10
    greedy = [NEG] * 20
    samples = [[WITH_EFF] * 3 + [NEG] * 5] * 10 + [[NEG] * 8] * 10
    g = gate(records, greedy, samples)
    learned, room, under = g["conditions"]
    assert learned["value"]["Pleural Effusion"] == pytest.approx(0.375) and learned["passed"] is False  # 1 < 2
    # reference: 5 of 10 positives name it (hedged = named): greedy misses 5 (-2 each), the rule names all 10
    # (5 false findings, -1 each): per study (-10 -> -5) / 20
    assert g["utility"]["reference"]["greedy"] == pytest.approx(-10 / 20)
    assert g["utility"]["reference"]["threshold"] == pytest.approx(-5 / 20)
    assert room["value"] == pytest.approx(0.25) and room["passed"]
    assert g["utility"]["truth"]["room"] == pytest.approx(20 / 20)
    assert under["value"]["Pleural Effusion"] == 0.0 and not under["passed"] and not g["passed"]
    assert g["thresholds"] == decision_thresholds()
    loose = gate(records, greedy, samples, spec=GateSpec(min_learned=1, recall_band=(0.0, 0.6)))
    assert loose["passed"]


def test_threshold_findings_uses_the_most_frequent_side_and_strict_threshold():
    samples = ["Small left pleural effusion.", "Small right pleural effusion.", "Small left pleural effusion.",
               "No pleural effusion.", "No pleural effusion.", "No pleural effusion."]  # fmt: skip
    assert threshold_findings(samples, {"Pleural Effusion": 0.5}) == {}  # 3/6 is not above 0.5
    d = threshold_findings(samples, {"Pleural Effusion": 0.49})
    assert d == {"Pleural Effusion": frozenset({"left"})}
    with pytest.raises(ValueError):
        threshold_findings([], {})


@pytest.mark.parametrize("decision", [{}, {"Pleural Effusion": {"left"}}, {"Pneumothorax": {"right"}},
                                      {"Pleural Effusion": {"left"}, "Pneumothorax": {"right"}}])  # fmt: skip
def test_compose_report_states_exactly_the_decision(decision):
    samples = [NEG, WITH_EFF, HEDGED_EFF, WITH_PTX]
    text = compose_report(samples, {k: frozenset(v) for k, v in decision.items()})
    assert sides_by_label(finding_set(text, side=True)) == {k: frozenset(v) for k, v in decision.items()}


def test_decoding_baseline_on_reader_wordings():
    """Every wording the readers world writes is read back and recomposed exactly."""
    for name, groups in sr.WORDINGS.items():
        if name not in ("pleural effusion", "pneumothorax", "consolidation", "cardiomegaly"):
            continue
        for key, templates in groups.items():
            if key.endswith("_bilateral"):
                continue
            for i in range(len(templates)):
                said = sr.Said(name, None if name == "cardiomegaly" else "left", "small", "mid", key == "hedged", i)
                text = sr.write_reader_report([said])
                [out] = decide_reports([[text, text, sr.write_reader_report([])]], decision_thresholds())
                assert finding_set(out, side=True) == finding_set(text, side=True), (text, out)
