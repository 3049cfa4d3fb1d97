"""CheXbert F1 in evaluation: labels through the real load -> batch path on a tiny random CheXbert, corpus F1 and its
bootstrap CI in the summary, equal to sklearn on the same labels; a missing model is a clear error.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_score_chexbert.py
"""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from radgrpo.eval.generate import Prediction
from radgrpo.eval.score import score_predictions
from radgrpo.eval.summarize import summarize
from radgrpo.metrics.bootstrap import bootstrap_ci, bootstrap_weighted_ci
from radgrpo.metrics.loaders import ModelNotFoundError
from radgrpo.metrics.text import chexbert_labeler
from radgrpo.metrics.text.chexbert import FIVE_LABEL_COLUMNS, binarize_labels, chexbert_f1, chexbert_f1_weighted
from radgrpo.metrics.text.chexbert_model import build_random_chexbert
from radgrpo.records import Record

REPORTS = [
    "Mild cardiomegaly.",
    "No pleural effusion or pneumothorax.",
    "Small left pleural effusion.",
    "Patchy right lower lobe consolidation.",
    "The lungs are clear.",
    "Pulmonary edema is present.",
    "Left apical pneumothorax.",
    "Bibasilar atelectasis and small effusions.",
    "Normal heart size.",
    "Endotracheal tube in place.",
]


def _records_and_preds():
    recs, preds = [], []
    for i, ref in enumerate(REPORTS):
        hyp = REPORTS[(i * 3 + 1) % len(REPORTS)]
        recs.append(
            Record(
                id=f"r{i}",
                image=f"r{i}.png",
                task="report_generation",
                question="Write a report.",
                answer=ref,
                reference_report=ref,
            )
        )
        preds.append(Prediction(f"r{i}", "report_generation", "q", hyp, hyp, 5, True))
    return recs, preds


@pytest.fixture()
def models_dir(tmp_path, monkeypatch):
    build_random_chexbert(tmp_path / "chexbert", tiny=True, seed=3)
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path))
    chexbert_labeler._LABELERS.clear()
    yield tmp_path
    chexbert_labeler._LABELERS.clear()


def test_eval_chexbert_f1_equals_sklearn_on_the_models_labels(models_dir):
    recs, preds = _records_and_preds()
    rows = score_predictions(preds, recs, metrics=["chexbert"])
    ref = np.array([r["chexbert_ref_labels"] for r in rows])
    hyp = np.array([r["chexbert_hyp_labels"] for r in rows])
    # the same labels as the labeller gives each text alone (batched, cached path == one at a time)
    direct = chexbert_labeler.load_chexbert(models_dir / "chexbert", device="cpu")
    assert ref.tolist() == [direct.label([t])[0].tolist() for t in REPORTS]
    assert set(np.unique(np.concatenate([ref, hyp]))) <= {1, 0, -1, -2}
    run = summarize(rows, n_resamples=300)
    for prefix, policy in (("chexbert", "positive"), ("chexbert_uneg", "negative")):
        r, h = binarize_labels(ref, policy), binarize_labels(hyp, policy)
        for avg in ("micro", "macro"):
            want14 = f1_score(r, h, average=avg, zero_division=0)
            want5 = f1_score(r[:, FIVE_LABEL_COLUMNS], h[:, FIVE_LABEL_COLUMNS], average=avg, zero_division=0)
            assert run.overall[f"{prefix}_{avg}_14"].value == pytest.approx(want14, abs=1e-12)
            assert run.overall[f"{prefix}_{avg}_5"].value == pytest.approx(want5, abs=1e-12)
    res = run.overall["chexbert_micro_14"]
    assert res.n == len(REPORTS) and res.ci_low <= res.value <= res.ci_high
    assert run.per_task["report_generation"]["chexbert_macro_5"].value == run.overall["chexbert_macro_5"].value


def test_weighted_f1_resample_equals_f1_of_the_resampled_rows():
    rng = np.random.default_rng(1)
    ref, hyp = rng.integers(-2, 2, size=(30, 14)), rng.integers(-2, 2, size=(30, 14))
    idx = rng.integers(0, 30, size=30)
    w = np.bincount(idx, minlength=30)[None, :].astype(float)
    got = chexbert_f1_weighted(ref, hyp, w)[0]
    want = chexbert_f1(ref[idx], hyp[idx])
    assert got.tolist() == pytest.approx(list(want.values()), abs=1e-12)
    # a mean statistic through the weighted bootstrap gives bootstrap_ci's CI for the same seed
    v = rng.random(40)
    val, lo, hi = bootstrap_weighted_ci(40, lambda w: (w @ v) / w.sum(axis=1), n_resamples=500, seed=7)
    assert (float(val), float(lo), float(hi)) == pytest.approx(bootstrap_ci(v, n_resamples=500, seed=7), abs=1e-12)


def test_missing_chexbert_model_names_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    chexbert_labeler._LABELERS.clear()
    recs, preds = _records_and_preds()
    with pytest.raises(ModelNotFoundError, match="chexbert.pth"):
        score_predictions(preds, recs, metrics=["rougeL", "chexbert"])
