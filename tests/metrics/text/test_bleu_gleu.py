"""Lexical report metrics: coco-caption BLEU, Google-BLEU (GLEU), ROUGE-L F.

Peer values from RadEval's test suite (``tests/fixtures/expected_scores_cpu.json`` and
``test_basics.py``), cross-checks against rouge-score and nltk where the definitions coincide, HF ``evaluate``
google_bleu's documented examples, and hand-computed values where they differ (sacrebleu BLEU).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_bleu_gleu.py
"""

import math

import numpy as np
import pytest

from radgrpo.metrics.text import score_bleu, score_gleu, score_rouge_l
from radgrpo.metrics.text.bleu import corpus_bleu
from radgrpo.metrics.text.gleu import corpus_gleu

# RadEval tests/fixtures/regression_samples.py
REFS = [
    "No acute cardiopulmonary process.",
    "Mild cardiomegaly with small bilateral pleural effusions and basilar atelectasis.",
    "1. Left PICC tip appears to terminate in the distal left brachiocephalic vein.2. Mild pulmonary vascular "
    "congestion.",
    "No definite acute cardiopulmonary process. Enlarged cardiac silhouette could be accentuated by patient's "
    "positioning.",
    "Increased mild pulmonary edema and left basal atelectasis.",
]
HYPS = [
    "No acute cardiopulmonary process.",
    "Mildly enlarged cardiac silhouette with small pleural effusions and dependent bibasilar atelectasis.",
    "Relatively lower lung volumes with no focal airspace consolidation appreciated.",
    "Crowding of the pulmonary vasculature with possible minimal perihilar edema, but no overt pulmonary edema.",
    "No pleural effusions or pneumothoraces.",
]

# RadEval tests/test_basics.py
BASIC_REFS = [
    "No acute cardiopulmonary process.",
    "No radiographic findings to suggest pneumonia.",
    "1.Status post median sternotomy for CABG with stable cardiac enlargement and calcification of the aorta "
    "consistent with atherosclerosis.Relatively lower lung volumes with no focal airspace consolidation "
    "appreciated.Crowding of the pulmonary vasculature with possible minimal perihilar edema, but no overt "
    "pulmonary edema.No pleural effusions or pneumothoraces.",
    "1. Left PICC tip appears to terminate in the distal left brachiocephalic vein.2. Mild pulmonary "
    "vascular congestion.3. Interval improvement in aeration of the lung bases with residual streaky "
    "opacity likely reflective of atelectasis.Interval resolution of the left pleural effusion.",
    "No definite acute cardiopulmonary process.Enlarged cardiac silhouette could be accentuated by "
    "patient's positioning.",
    "Increased mild pulmonary edema and left basal atelectasis.",
]
BASIC_HYPS = [
    "No acute cardiopulmonary process.",
    "No radiographic findings to suggest pneumonia.",
    "Status post median sternotomy for CABG with stable cardiac enlargement and calcification of the aorta "
    "consistent with atherosclerosis.",
    "Relatively lower lung volumes with no focal airspace consolidation appreciated.",
    "Crowding of the pulmonary vasculature with possible minimal perihilar edema, but no overt pulmonary edema.",
    "No pleural effusions or pneumothoraces.",
]


def test_bleu_per_sample_matches_radeval_fixture():
    expected = [
        0.9999999992291674,
        3.50843969530069e-05,
        5.893675610160288e-17,
        7.432998183959223e-17,
        1.6581659742139797e-16,
    ]
    np.testing.assert_allclose(score_bleu(REFS, HYPS), expected, rtol=1e-9)


def test_corpus_bleu_matches_radeval_fixture():
    got = [corpus_bleu(REFS, HYPS, n) for n in (1, 2, 3, 4)]
    np.testing.assert_allclose(got, [0.1867, 0.1532, 0.1189, 0.0826], rtol=1e-3)
    assert corpus_bleu(BASIC_REFS, BASIC_HYPS) == pytest.approx(0.16681007, rel=1e-7)


def test_bleu_hand_computed():
    # hyp "a b c e" vs ref "a b c d": p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0/1 (tiny smoothing); equal lengths still
    # get coco-caption's brevity factor exp(1 - 1/ratio) because ratio = (4 + tiny)/(4 + small) is just below 1
    tiny, small = 1e-15, 1e-9
    ps = [(3 + tiny) / (4 + small), (2 + tiny) / (3 + small), (1 + tiny) / (2 + small), tiny / (1 + small)]
    bp4 = math.exp(1 - (4 + small) / (4 + tiny))
    assert bp4 < 1.0
    assert score_bleu(["a b c d"], ["a b c e"], n=2)[0] == pytest.approx(math.sqrt(ps[0] * ps[1]) * bp4, rel=1e-12)
    assert score_bleu(["a b c d"], ["a b c e"], n=4)[0] == pytest.approx(math.prod(ps) ** 0.25 * bp4, rel=1e-12)
    # brevity: hyp of 2 tokens vs ref of 4 -> BP = exp(1 - 4/2)
    bp = math.exp(1 - 1 / ((2 + tiny) / (4 + small)))
    p = ((2 + tiny) / (2 + small)) * ((1 + tiny) / (1 + small))
    assert score_bleu(["a b c d"], ["a b"], n=2)[0] == pytest.approx(math.sqrt(p) * bp, rel=1e-9)


def test_bleu_closest_reference_length_and_multi_reference():
    # refs of lengths 2 and 5 for a 4-token hyp: closest is 5 -> brevity penalty exp(1 - 5/4)
    s = score_bleu([["a b", "a b c d e"]], ["a b c d"], n=1)[0]
    assert s == pytest.approx(math.exp(1 - 5 / 4), rel=1e-8)


def test_bleu_differs_from_sacrebleu_tokenisation():
    # sacrebleu splits the final period off (13a) and uses exp smoothing; coco-caption keeps "process." as a token
    import sacrebleu

    ours = score_bleu(["No acute process."], ["No acute process ."], n=4)[0]
    sb = sacrebleu.sentence_bleu("No acute process .", ["No acute process."]).score / 100
    assert sb == pytest.approx(1.0)
    assert ours < 0.5


def test_rouge_l_matches_radeval_fixture_and_rouge_score():
    np.testing.assert_allclose(
        score_rouge_l(REFS, HYPS), [1.0, 0.5454545454545454, 0.0, 0.06666666666666667, 0.0], rtol=1e-12
    )
    assert float(np.mean(score_rouge_l(BASIC_REFS, BASIC_HYPS))) == pytest.approx(0.44681720, rel=1e-7)
    from rouge_score import rouge_scorer

    sc = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    extra = ["Effusions are seen, bilaterally!", "", "Cardiomegaly. No pneumothorax.", "tubes and lines"]
    extra_h = ["bilateral effusion seen", "something", "", "Tube and lines in place"]
    refs, hyps = BASIC_REFS + extra, BASIC_HYPS + extra_h
    want = [sc.score(r, h)["rougeL"].fmeasure for r, h in zip(refs, hyps)]
    np.testing.assert_allclose(score_rouge_l(refs, hyps), want, rtol=1e-12)


def test_gleu_matches_hf_google_bleu_documented_examples():
    preds = [
        "It is a guide to action which ensures that the rubber duck always disobeys the commands of the cat",
        "he read the book because he was interested in world history",
    ]
    refs = [
        [
            "It is the guiding principle which guarantees the rubber duck forces never being under the command "
            "of the cat",
            "It is a guide to action that ensures that the rubber duck will never heed the cat commands",
            "It is the practical guide for the rubber duck army never to heed the directions of the cat",
        ],
        ["he was interested in world history because he read the book"],
    ]
    assert round(corpus_gleu([[r[0]] for r in refs], preds), 2) == 0.44
    assert round(corpus_gleu(refs, preds), 2) == 0.61
    assert round(corpus_gleu(refs, preds, min_len=2), 2) == 0.53
    assert round(corpus_gleu(refs, preds, min_len=2, max_len=6), 2) == 0.4


def test_gleu_equals_nltk_sentence_gleu_on_the_same_tokens():
    from nltk.translate.gleu_score import sentence_gleu
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    tok = Tokenizer13a()
    got = score_gleu(BASIC_REFS + REFS, BASIC_HYPS + HYPS)
    want = [sentence_gleu([tok(r).split()], tok(h).split()) for r, h in zip(BASIC_REFS + REFS, BASIC_HYPS + HYPS)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got_ws = score_gleu(REFS, HYPS, tokenize="none")
    np.testing.assert_allclose(got_ws, [sentence_gleu([r.split()], h.split()) for r, h in zip(REFS, HYPS)])


def test_gleu_hand_computed_and_edge_cases():
    # "a b x" vs "a b c d": hyp n-grams a,b,x,ab,bx,abx = 6; ref n-grams 4+3+2+1 = 10; matches a,b,ab = 3 -> 3/10
    assert score_gleu(["a b c d"], ["a b x"], tokenize="none")[0] == pytest.approx(0.3)
    # 13a splits the period: "process ." == "process." after tokenisation; no lowercasing
    assert score_gleu(["No process."], ["No process ."])[0] == 1.0
    assert score_gleu(["No process."], ["no process."])[0] == pytest.approx(3 / 6)
    assert score_gleu([""], [""])[0] == 0.0
    assert score_gleu(["a"], [""])[0] == 0.0
    with pytest.raises(ValueError, match="tokenizer"):
        score_gleu(["a"], ["a"], tokenize="spacy")


def test_length_mismatch_is_an_error():
    for fn in (score_bleu, score_gleu, score_rouge_l, corpus_bleu, corpus_gleu):
        with pytest.raises(ValueError, match="references vs"):
            fn(["a", "b"], ["a"])


def _coco_bleu_reference(refs, hyp, n):
    """coco-caption BLEU-n written out plainly (max count over references, clipped counts, closest length)."""
    from collections import Counter

    def grams(t, k):
        return Counter(tuple(t[i : i + k]) for i in range(len(t) - k + 1))

    h, rts = hyp.split(), [r.split() for r in refs]
    prod = 1.0
    for k in range(1, n + 1):
        mc = Counter()
        for rt in rts:
            for g, c in grams(rt, k).items():
                mc[g] = max(mc[g], c)
        correct = sum(min(c, mc[g]) for g, c in grams(h, k).items())
        prod *= (correct + 1e-15) / (max(0, len(h) - k + 1) + 1e-9)
    reflen = min((len(rt) for rt in rts), key=lambda L: (abs(L - len(h)), L))
    ratio = (len(h) + 1e-15) / (reflen + 1e-9)
    return prod ** (1 / n) * (math.exp(1 - 1 / ratio) if ratio < 1 else 1.0)


def test_bleu_equals_the_plain_definition_on_random_texts_with_shared_references():
    rng = np.random.default_rng(0)
    vocab = ["a", "b", "c", "d", "e", "f", "no", "effusion", "."]
    texts = [" ".join(rng.choice(vocab, size=rng.integers(0, 25))) for _ in range(60)]
    refs = [texts[i % 7] for i in range(60)] + [[texts[1], texts[2], texts[3]]] * 5  # repeated refs hit the memo
    hyps = texts + texts[:5]
    for n in (1, 2, 4):
        got = score_bleu(refs, hyps, n=n)
        want = [_coco_bleu_reference([r] if isinstance(r, str) else r, h, n) for r, h in zip(refs, hyps)]
        assert got.tolist() == pytest.approx(want, rel=1e-12, abs=1e-300)
