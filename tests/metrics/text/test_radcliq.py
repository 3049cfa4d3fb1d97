"""RadCliQ-v1: published constants, the CXR-Report-Metric BLEU-2, the two configurations' text rules, and the real
composition (BERTScore + CheXbert + RadGraph + BLEU) on tiny random models: batch invariance and exact-match values.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_radcliq.py
"""

import numpy as np
import pytest

from radgrpo.metrics.text.radcliq import (
    RADCLIQ_CONFIGS,
    RadCliQScorer,
    bleu2_cxr_report_metric,
    cxr_report_metric_tokens,
    radcliq_rexrank,
    radcliq_v1_from_features,
)

PAIRS = [
    ("No acute cardiopulmonary process.", "No acute findings."),
    (
        "Small bilateral pleural effusions with bibasilar atelectasis.",
        "Bilateral pleural effusions and basilar atelectasis.",
    ),
    ("Mild cardiomegaly. No pleural effusion.", "Mild cardiomegaly with clear lungs."),
    ("a b c d", "a x"),
    ("the the the", "the"),
    ("x", "y"),
    ("a b", "a b c d e"),
    ("Heart size normal.Lungs clear.", "heart SIZE normal . lungs clear"),
    ("", "a"),
    ("a", ""),
]


# ------------------------------------------------------------------ arithmetic
@pytest.mark.parametrize(
    "features,expected",
    [
        ((1, 1, 1, 1), -1.4406903),
        ((0, 0, 0, 0), 2.4501431),
        ((0, -1, 0, 0), 4.1009884),
        ((0, 0, 0.8, 0), 1.6543257),
    ],
)
def test_published_constants(features, expected):
    assert float(radcliq_v1_from_features(*features)) == pytest.approx(expected, abs=1e-6)


def test_features_broadcast_and_bleu_weight_is_negligible():
    out = radcliq_v1_from_features([0.5, 0.5], 0.6, 0.7, [0.0, 1.0])
    assert out.shape == (2,)
    assert abs(out[1] - out[0]) < 1e-10  # BLEU's v1 coefficient is 4.3e-12 / 0.299


def test_nan_feature_is_an_error():
    with pytest.raises(ValueError, match="finite"):
        radcliq_v1_from_features(np.nan, 0, 0, 0)


def test_rexrank_inverse_of_mean():
    assert radcliq_rexrank([0.5, 1.5]) == 1.0
    with pytest.raises(ZeroDivisionError):
        radcliq_rexrank([1.0, -1.0])


# ------------------------------------------------------------------ BLEU-2 of CXR-Report-Metric
def test_bleu2_equals_fast_bleu():
    import fast_bleu  # a test dependency (pyproject [test]): a missing peer fails, never skips

    refs, hyps = zip(*PAIRS)
    want = [
        fast_bleu.BLEU([cxr_report_metric_tokens(r)], {"bigram": (0.5, 0.5)}).get_score([cxr_report_metric_tokens(h)])[
            "bigram"
        ][0]
        for r, h in PAIRS
    ]
    np.testing.assert_allclose(bleu2_cxr_report_metric(refs, hyps), want, atol=1e-12, rtol=0)


def test_bleu2_hand_values():
    # "the" vs "the the the": p1 = 1/1, p2 = 0.1/1 (smoothed, denominator max(1, 0)), BP = exp(1 - 3/1)
    got = bleu2_cxr_report_metric(["the the the"], ["the"])[0]
    assert got == pytest.approx(np.sqrt(0.1) * np.exp(-2), abs=1e-12)
    # tokens: lowercased, "." split off, split on single spaces only
    assert cxr_report_metric_tokens("Lungs clear.Heart") == ["lungs", "clear", ".heart"]
    assert bleu2_cxr_report_metric(["No effusion."], ["no effusion ."])[0] == pytest.approx(1.0)


# ------------------------------------------------------------------ configuration rules (test doubles)
class Recorder:
    """TEST DOUBLE: records the texts a component receives and returns a constant feature."""

    def __init__(self, value):
        self.value, self.calls = value, []

    def __call__(self, refs, hyps):
        self.calls.append((list(refs), list(hyps)))
        return np.full(len(refs), self.value)


def doubles():
    return {k: Recorder(v) for k, v in (("radgraph", 0.0), ("bertscore", 0.0), ("semb", 0.8), ("bleu", 0.0))}


def test_paper_rules_truncate_lowercase_and_floor_short_texts():
    comps = doubles()
    s = RadCliQScorer("radcliq_paper", **comps)
    long_ref = "Mild Cardiomegaly. " * 200
    scores = s.score([long_ref, "No acute process.", "short"], ["NO Effusion here.", "abc", "A long enough text."])
    np.testing.assert_allclose(scores, [1.6543257, 3.0, 3.0], atol=1e-6)
    ((refs, hyps),) = comps["bertscore"].calls  # short pairs never reach a model
    assert refs == [long_ref[:2048].lower()] and hyps == ["no effusion here."]
    assert len(refs[0]) == 2048


def test_v1_rules_collapse_spaces_for_bertscore_only_and_score_short_texts():
    comps = doubles()
    s = RadCliQScorer("radcliq_v1", **comps)
    scores, feats = s.score_with_features(["No  acute   process."], ["ok"])
    assert scores[0] == pytest.approx(1.6543257, abs=1e-6)
    assert comps["bertscore"].calls[0][0] == ["No acute process."]
    assert comps["radgraph"].calls[0][0] == ["No  acute   process."]
    assert feats["semb"].tolist() == [0.8]


def test_configs_name_their_components():
    v1, paper = RADCLIQ_CONFIGS["radcliq_v1"], RADCLIQ_CONFIGS["radcliq_paper"]
    assert (v1.radgraph_model, v1.bleu, v1.bertscore, v1.lowercase) == (
        "radgraph",
        "fast_bleu2",
        "bertscore_radcliq",
        False,
    )
    assert (paper.radgraph_model, paper.bleu, paper.max_chars, paper.short_chars, paper.short_score) == (
        "radgraph-xl",
        "coco_bleu4",
        2048,
        5,
        3.0,
    )


def test_bad_inputs():
    s = RadCliQScorer("radcliq_v1", **doubles())
    with pytest.raises(ValueError, match="same length"):
        s.score(["a"], [])
    with pytest.raises(TypeError, match=r"hyps\[0\] is int"):
        s.score(["a"], [3])
    with pytest.raises(KeyError, match="radcliq_paper"):
        RadCliQScorer("radcliq_v2")


def test_missing_models_fail_with_download_instructions(tmp_path, monkeypatch):
    from radgrpo.metrics.loaders import ModelNotFoundError

    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    s = RadCliQScorer("radcliq_v1", device="cpu")
    with pytest.raises(ModelNotFoundError, match="radgrpo models download"):
        s.score(["No acute process."], ["No acute process."])


# ------------------------------------------------------------------ the real composition on tiny random models
@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    from radgrpo.metrics.text.bertscore_tiny import build_random_roberta
    from radgrpo.metrics.text.chexbert_model import build_random_chexbert
    from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

    root = tmp_path_factory.mktemp("radcliq_tiny")
    corpus = [r for r, _ in PAIRS] + [h for _, h in PAIRS]
    out = {
        "bertscore": build_random_roberta(root / "roberta", corpus * 2),
        "chexbert": build_random_chexbert(root / "cx"),
    }
    for model in ("radgraph", "radgraph-xl"):
        rg = build_tiny_radgraph(root / model, model)
        out[model] = (rg.folder, rg.backbone_dir)
    return out


def make_scorer(tiny_dirs, config):
    rg = tiny_dirs[RADCLIQ_CONFIGS[config].radgraph_model]
    return RadCliQScorer(
        config,
        device="cpu",
        model_dirs={
            "bertscore": tiny_dirs["bertscore"],
            "chexbert": tiny_dirs["chexbert"],
            "radgraph": rg[0],
            "radgraph_backbone": rg[1],
        },
    )


@pytest.mark.parametrize("config", ["radcliq_v1", "radcliq_paper"])
def test_pair_scores_alone_equal_scores_in_a_batch_of_100(tiny_dirs, config):
    rng = np.random.default_rng(1)
    words = [
        "no",
        "acute",
        "cardiopulmonary",
        "process",
        "mild",
        "cardiomegaly",
        "small",
        "bilateral",
        "pleural",
        "effusions",
        "with",
        "bibasilar",
        "atelectasis",
        "heart",
        "size",
        "normal",
        "lungs",
        "clear",
        "left",
        "right",
        "pneumothorax",
    ]
    refs = [" ".join(rng.choice(words, rng.integers(6, 60))) + "." for _ in range(99)]
    hyps = [" ".join(rng.choice(words, rng.integers(6, 60))) + "." for _ in range(99)]
    ref, hyp = PAIRS[1]
    alone, feats_alone = make_scorer(tiny_dirs, config).score_with_features([ref], [hyp])
    batch, feats_batch = make_scorer(tiny_dirs, config).score_with_features(
        refs[:37] + [ref] + refs[37:], hyps[:37] + [hyp] + hyps[37:]
    )
    for f in feats_alone:
        assert abs(feats_alone[f][0] - feats_batch[f][37]) < 1e-6, f
    assert abs(alone[0] - batch[37]) < 1e-6
    assert np.all(np.isfinite(batch))


def test_exact_match_features(tiny_dirs):
    text = "Mild cardiomegaly. No pleural effusion."
    _, feats = make_scorer(tiny_dirs, "radcliq_v1").score_with_features([text], [text])
    assert feats["bertscore"][0] == pytest.approx(1.0, abs=1e-5)  # raw F = 1 stays 1 after rescaling
    assert feats["semb"][0] == pytest.approx(1.0, abs=1e-9)
    assert feats["bleu"][0] == pytest.approx(1.0, abs=1e-12)
    assert feats["radgraph"][0] in (0.0, 0.5, 1.0)  # (entity F1 + relation F1)/2 of identical graphs


def test_bfloat16_components_reach_every_model(tiny_dirs):
    import torch

    rg = tiny_dirs["radgraph-xl"]
    dirs = {
        "bertscore": tiny_dirs["bertscore"],
        "chexbert": tiny_dirs["chexbert"],
        "radgraph": rg[0],
        "radgraph_backbone": rg[1],
    }
    bf = RadCliQScorer("radcliq_paper", device="cpu", model_dirs=dirs, dtype="bfloat16")
    fp = RadCliQScorer("radcliq_paper", device="cpu", model_dirs=dirs)
    refs, hyps = zip(*PAIRS)
    got, want = bf.score(list(refs), list(hyps)), fp.score(list(refs), list(hyps))
    assert np.all(np.isfinite(got)) and got.shape == want.shape
    # every model component really runs in bfloat16 (BLEU has no model)
    assert next(bf.component("radgraph").scorer.radgraph.net.parameters()).dtype == torch.bfloat16
    assert bf.component("bertscore").dtype == "bfloat16"
    assert next(bf.component("semb").labeler.net.parameters()).dtype == torch.bfloat16
    np.testing.assert_array_equal(
        bf.component("bleu")(list(refs), list(hyps)), fp.component("bleu")(list(refs), list(hyps))
    )
    with pytest.raises(ValueError, match="dtype must be"):
        RadCliQScorer("radcliq_paper", dtype="int8")
