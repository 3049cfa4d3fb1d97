"""Lexical report rewards (BLEU-4, GLEU): values equal the metrics, the paper's report thinking rule (LAST
``</think>``, missing -> 0.0), no lowercasing, task routing, failures.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_report.py
"""

import pickle

import pytest

from radgrpo.metrics.text import score_bleu, score_gleu
from radgrpo.rewards.report import LexicalReportReward, bleu4_reward, gleu_reward, make_bleu4_reward

REF = "No pleural effusion or pneumothorax. Mild cardiomegaly."
HYP = "Mild cardiomegaly. No pleural effusion."


def test_values_equal_the_metrics():
    assert gleu_reward([HYP], reference_report=[REF]) == [score_gleu([REF], [HYP])[0]]
    assert bleu4_reward([HYP], reference_report=[REF]) == [score_bleu([REF], [HYP], n=4)[0]]
    # hand value: 13a tokens; hyp 7 tokens -> 22 n-grams, ref 9 tokens -> 30; matches: 7 unigrams, "Mild
    # cardiomegaly", "cardiomegaly .", "No pleural", "pleural effusion", "Mild cardiomegaly .", "No pleural effusion"
    assert gleu_reward([HYP], reference_report=[REF])[0] == pytest.approx(13 / 30)
    # conversational completion and whitespace around the answer
    assert gleu_reward([[{"role": "assistant", "content": "  " + REF + "\n"}]], reference_report=[REF]) == [1.0]


def test_no_lowercasing_or_truncation():
    assert gleu_reward([REF.lower()], reference_report=[REF])[0] < 1.0
    long_ref = " ".join([f"word{i}" for i in range(600)])  # > 2048 characters, scored whole
    assert gleu_reward([long_ref], reference_report=[long_ref]) == [1.0]
    assert gleu_reward([long_ref[:2048]], reference_report=[long_ref])[0] < 1.0


def test_thinking_uses_last_close_tag_and_missing_tag_scores_zero():
    comps = ["<think>a</think> wrong <think>b</think> " + REF, REF, "<think>x</THINK> " + REF]
    out = gleu_reward(comps, reference_report=[REF] * 3, thinking=[True, True, True])
    assert out == [1.0, 0.0, 0.0]  # the paper's client uses rfind("</think>"): case-sensitive
    assert bleu4_reward(comps[:1], reference_report=[REF], thinking=[True])[0] == pytest.approx(1.0, abs=1e-8)
    whole = make_bleu4_reward(thinking=False)(comps[:1], reference_report=[REF], thinking=[True])[0]
    assert whole == score_bleu([REF], [comps[0]], n=4)[0] < 0.7


def test_task_routing_and_failures():
    tasks = ["report_generation", "abnormality_grounding", "report_generation", "classification"]
    r = LexicalReportReward("gleu_t", score_gleu)
    out = r([REF, "[0, 0, 1, 1]", REF, "yes"], reference_report=[REF, None, "", None], task=tasks)
    assert out == [1.0, None, None, None]  # empty reference on a report sample fails (counted)
    assert (r.n_failed, r.n_scored) == (1, 1)
    with pytest.raises(ValueError, match="reference_report"):
        r([REF], task=["report_generation"])


def test_metric_exception_only_fails_its_sample():
    def picky(refs, hyps):
        if any("boom" in h for h in hyps):
            raise RuntimeError("boom")
        return [1.0] * len(hyps)

    r = LexicalReportReward("picky", picky)
    assert r(["ok", "boom", "fine"], reference_report=["r"] * 3) == [1.0, None, 1.0]
    assert r.n_failed == 1


def test_picklable():
    r = pickle.loads(pickle.dumps(bleu4_reward))
    assert r.__name__ == "bleu4"
    assert r([REF], reference_report=[REF])[0] == pytest.approx(1.0, abs=1e-8)
