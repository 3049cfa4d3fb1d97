"""CheXbert F1 (micro/macro over 14 and 5 labels) and CheXbert embedding similarity, on label/embedding arrays.

What it is: the arithmetic half of the CheXbert metrics, pure numpy (no torch), so it is cheap to import and exact to
test. Label matrices come from :class:`radgrpo.metrics.text.chexbert_model.CheXbertLabeler` (or any source in the
same layout: N x 14, columns in :data:`radgrpo.records.CHEXPERT_LABELS` order). What it is not: the model (see
``chexbert_model.py``), nor the rule stand-in ``rule_chexpert`` (``rule_labeler.py``).

Label codes (CheXbert ``src/label.py``; docs/metrics.md#chexbert-f1): the 13 four-way heads predict class indices
0 blank, 1 positive, 2 negative, 3 uncertain; the "No Finding" head predicts 0 blank, 1 positive. We store values
1 (positive), 0 (negative), -1 (uncertain) and :data:`BLANK` (= -2, "not mentioned"; CheXbert writes NaN there).

How f1chexbert 0.0.2 computes its numbers (read from its source; reproduced by :func:`chexbert_f1`):
    * mode ``"rrg"``: positive OR uncertain -> 1, negative or blank -> 0 (``uncertain="positive"`` here). LLaVA-Rad
      and MAIRA-2 report "uncertain -> 0" (``uncertain="negative"``); numbers are only comparable with the same policy.
    * the 14 columns include "No Finding" (its head has no negative/uncertain class);
    * the 5-label subset = columns Cardiomegaly, Edema, Consolidation, Atelectasis, Pleural Effusion
      (:data:`radgrpo.records.CHEXPERT_5_LABELS`), taken in their 14-column order;
    * ``sklearn.metrics.classification_report(refs, hyps)`` on the binary matrices: micro = pooled TP/FP/FN,
      macro = unweighted mean of per-label F1 where a label with no reference and no predicted positive counts as 0
      (sklearn's zero_division), so macro-14 divides by 14 even on small sets;
    * ``accuracy`` = 5-label exact match rate; its per-sample array is the 5-label exact match (1.0/0.0).

The peer test of f1chexbert (its ``tests/f1chexbert_test.py``) is reproduced from its label matrices in
``tests/metrics/text/test_chexbert.py``: micro-14 0.36363636, macro-14 0.11904762, micro-5 0.33333333, macro-5 0.2.
RadEval's ``test_basics`` values (micro-5 0.2857, micro-14 0.3333, ...) need the trained model's labels of its six
reports, which are not published, so they cannot be checked offline.

Semantic-embedding similarity (RadCliQ's ``semb_score``, docs/metrics.md#radcliq): cosine of the CheXbert [CLS]
embeddings of reference and hypothesis, 0 when either norm is 0 (:func:`semb_similarity`).

Example:
    >>> ref = np.array([[0] * 13 + [1], [0, 1] + [0] * 12])          # "No Finding"; "Cardiomegaly"
    >>> hyp = np.array([[0] * 13 + [1], [0] * 13 + [1]])
    >>> {k: round(v, 4) for k, v in chexbert_f1(ref, hyp).items()}
    {'micro_14': 0.5, 'macro_14': 0.0476, 'micro_5': 0.0, 'macro_5': 0.0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from radgrpo.metrics.loaders import ModelSpec, register_model
from radgrpo.records import CHEXPERT_5_LABELS, CHEXPERT_LABELS

#: Stored value of a label CheXbert leaves blank (not mentioned). CheXbert's own CSV writes NaN.
BLANK: int = -2
#: Class index -> stored value for the 13 four-way heads (CheXbert ``CLASS_MAPPING``: blank, positive, negative,
#: uncertain).
FOUR_WAY_VALUES: tuple[int, int, int, int] = (BLANK, 1, 0, -1)
#: Class index -> stored value for the two-way "No Finding" head (blank, positive).
TWO_WAY_VALUES: tuple[int, int] = (BLANK, 1)
#: Column indices of the 5-label subset inside the 14 columns (f1chexbert's ``np.isin`` order).
FIVE_LABEL_COLUMNS: tuple[int, ...] = tuple(i for i, name in enumerate(CHEXPERT_LABELS) if name in CHEXPERT_5_LABELS)
UNCERTAIN_POLICIES = ("positive", "negative")

CHEXBERT_SPEC = register_model(
    ModelSpec(
        name="chexbert",
        hub_repo="StanfordAIMI/RRG_scorers",
        files=("chexbert.pth",),
        used_by=("chexbert_f1", "semb", "radcliq_v1", "radcliq_paper"),
        note="CheXbert labeller checkpoint (1.31 GB; bert-base-uncased + 14 heads); also needs bert-base-uncased "
        "config.json + vocab.txt",
        subfolder_files={"chexbert.pth": "chexbert.pth"},
    )
)


def _as_label_array(labels: Any, name: str) -> np.ndarray:
    """N x 14 float array with NaN for blank, from an array or from a list of {label: value} dicts."""
    if isinstance(labels, np.ndarray) and labels.dtype == object:
        labels = labels.tolist()
    if isinstance(labels, Sequence) and len(labels) and isinstance(labels[0], Mapping):
        out = np.full((len(labels), len(CHEXPERT_LABELS)), np.nan)
        for i, row in enumerate(labels):
            unknown = set(row) - set(CHEXPERT_LABELS)
            if unknown:
                raise ValueError(
                    f"{name}[{i}]: unknown CheXpert label(s) {sorted(unknown)}; valid: {list(CHEXPERT_LABELS)}"
                )
            for j, lab in enumerate(CHEXPERT_LABELS):
                if lab in row and row[lab] is not None:
                    out[i, j] = row[lab]
        arr = out
    else:
        arr = np.asarray(labels, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(CHEXPERT_LABELS):
        raise ValueError(
            f"{name}: expected an N x {len(CHEXPERT_LABELS)} label matrix (columns in CHEXPERT_LABELS "
            f"order), got shape {arr.shape}"
        )
    arr = arr.copy()
    arr[arr == BLANK] = np.nan
    bad = ~np.isnan(arr) & ~np.isin(arr, (1.0, 0.0, -1.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{name}: {int(bad.sum())} value(s) outside 1/0/-1/BLANK({BLANK})/NaN, first "
            f"{arr[i, j]!r} at row {i}, column {CHEXPERT_LABELS[j]!r}"
        )
    return arr


def binarize_labels(labels: Any, uncertain: str = "positive") -> np.ndarray:
    """Binary (0/1) N x 14 matrix from CheXbert label values, with an explicit uncertainty policy.

    Args:
        labels: N x 14 array of 1/0/-1 with :data:`BLANK` or NaN for blank (0/1 matrices pass through unchanged),
            or a list of N ``{label name: value}`` dicts (``Record.labels``; a missing label is blank).
        uncertain: ``"positive"`` (f1chexbert "rrg": uncertain -> 1) or ``"negative"`` (LLaVA-Rad/MAIRA-2:
            uncertain -> 0). Blank and negative are always 0.

    Returns:
        int64 array of shape (N, 14), columns in :data:`radgrpo.records.CHEXPERT_LABELS` order.

    Raises:
        ValueError: wrong shape, an unknown label name, a value outside 1/0/-1/blank, or an unknown policy.

    Example:
        >>> binarize_labels([[1, 0, -1, BLANK] + [BLANK] * 10]).tolist()[0][:4]
        [1, 0, 1, 0]
        >>> binarize_labels([{"Edema": -1, "Cardiomegaly": 1}], uncertain="negative")[0].nonzero()[0].tolist()
        [1]
    """
    if uncertain not in UNCERTAIN_POLICIES:
        raise ValueError(f"uncertain must be one of {UNCERTAIN_POLICIES}, got {uncertain!r}")
    arr = _as_label_array(labels, "labels")
    positive = (arr == 1) | ((arr == -1) if uncertain == "positive" else False)
    return positive.astype(np.int64)


def _pair(ref_labels: Any, hyp_labels: Any, uncertain: str) -> tuple[np.ndarray, np.ndarray]:
    if uncertain not in UNCERTAIN_POLICIES:
        raise ValueError(f"uncertain must be one of {UNCERTAIN_POLICIES}, got {uncertain!r}")
    ref = binarize_labels(_as_label_array(ref_labels, "ref_labels"), uncertain)
    hyp = binarize_labels(_as_label_array(hyp_labels, "hyp_labels"), uncertain)
    if ref.shape != hyp.shape:
        raise ValueError(f"ref_labels has {ref.shape[0]} rows, hyp_labels {hyp.shape[0]}")
    if ref.shape[0] == 0:
        raise ValueError("chexbert_f1: no reports (0 rows)")
    return ref, hyp


def _counts(ref: np.ndarray, hyp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = (ref & hyp).sum(axis=0)
    fp = ((1 - ref) & hyp).sum(axis=0)
    fn = (ref & (1 - hyp)).sum(axis=0)
    return tp, fp, fn


def _f1(tp: Any, fp: Any, fn: Any) -> np.ndarray:
    """2TP / (2TP + FP + FN), 0 where the denominator is 0 (sklearn's zero_division=0)."""
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)


def chexbert_f1(ref_labels: Any, hyp_labels: Any, uncertain: str = "positive") -> dict[str, float]:
    """Corpus CheXbert F1: micro and macro over the 14 labels and over the 5-label subset (f1chexbert's numbers).

    Args:
        ref_labels: N x 14 labels of the reference reports (0/1, or CheXbert values 1/0/-1/blank, or dicts; see
            :func:`binarize_labels`), columns in :data:`radgrpo.records.CHEXPERT_LABELS` order.
        hyp_labels: N x 14 labels of the generated reports, same layout.
        uncertain: ``"positive"`` (f1chexbert 0.0.2 / the paper's evaluation; default) or ``"negative"``
            (LLaVA-Rad, MAIRA-2).

    Returns:
        ``{"micro_14", "macro_14", "micro_5", "macro_5"}`` -> F1 in [0, 1] (fractions, not percent). Equal to
        ``sklearn.metrics.f1_score(ref, hyp, average=..., zero_division=0)`` on the binarised matrices.

    Raises:
        ValueError: mismatched or malformed inputs, 0 rows, unknown policy.

    Example:
        >>> ref = np.array([[0, 1] + [0] * 12, [0, 1, 0, 0, 1] + [0] * 9])
        >>> hyp = np.array([[0, 1] + [0] * 12, [0, 0, 0, 0, -1] + [0] * 9])
        >>> chexbert_f1(ref, hyp)["micro_5"], chexbert_f1(ref, hyp, uncertain="negative")["micro_5"]
        (0.8, 0.5)
    """
    ref, hyp = _pair(ref_labels, hyp_labels, uncertain)
    out: dict[str, float] = {}
    for suffix, cols in (("14", list(range(len(CHEXPERT_LABELS)))), ("5", list(FIVE_LABEL_COLUMNS))):
        tp, fp, fn = _counts(ref[:, cols], hyp[:, cols])
        out[f"micro_{suffix}"] = float(_f1(tp.sum(), fp.sum(), fn.sum()))
        out[f"macro_{suffix}"] = float(_f1(tp, fp, fn).mean())
    return {k: out[k] for k in ("micro_14", "macro_14", "micro_5", "macro_5")}


#: the keys of :func:`chexbert_f1`, in order
F1_KEYS: tuple[str, ...] = ("micro_14", "macro_14", "micro_5", "macro_5")


def chexbert_f1_weighted(ref_labels: Any, hyp_labels: Any, weights: Any, uncertain: str = "positive") -> np.ndarray:
    """:func:`chexbert_f1` for many weightings of the same reports at once (bootstrap resamples).

    Args:
        ref_labels: N x 14 reference labels (as :func:`chexbert_f1`).
        hyp_labels: N x 14 generated-report labels.
        weights: (R, N) multiplicities of each report in each of R resamples (a row of ones = :func:`chexbert_f1`).
        uncertain: uncertainty policy.
    Returns:
        float64 (R, 4): columns :data:`F1_KEYS`.

    Example:
        >>> ref = np.array([[0, 1] + [0] * 12, [0, 1, 0, 0, 1] + [0] * 9])
        >>> hyp = np.array([[0, 1] + [0] * 12, [0, 0, 0, 0, -1] + [0] * 9])
        >>> chexbert_f1_weighted(ref, hyp, np.ones((1, 2)))[0].tolist() == list(chexbert_f1(ref, hyp).values())
        True
    """
    ref, hyp = _pair(ref_labels, hyp_labels, uncertain)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != ref.shape[0]:
        raise ValueError(f"weights must be (R, {ref.shape[0]}), got {w.shape}")
    tp, fp, fn = (w @ m.astype(np.float64) for m in (ref & hyp, (1 - ref) & hyp, ref & (1 - hyp)))  # (R, 14)
    cols = {"14": list(range(len(CHEXPERT_LABELS))), "5": list(FIVE_LABEL_COLUMNS)}
    out = []
    for key in F1_KEYS:
        kind, suffix = key.split("_")
        c = cols[suffix]
        if kind == "micro":
            out.append(_f1(tp[:, c].sum(axis=1), fp[:, c].sum(axis=1), fn[:, c].sum(axis=1)))
        else:
            out.append(_f1(tp[:, c], fp[:, c], fn[:, c]).mean(axis=1))
    return np.stack(out, axis=1)


def _report(ref: np.ndarray, hyp: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float]]:
    tp, fp, fn = _counts(ref, hyp)
    support = ref.sum(axis=0)
    pred = hyp.sum(axis=0)
    prec = np.divide(tp, pred, out=np.zeros(len(names)), where=pred > 0)
    rec = np.divide(tp, support, out=np.zeros(len(names)), where=support > 0)
    f1 = _f1(tp, fp, fn)
    rep: dict[str, dict[str, float]] = {
        n: {"precision": float(prec[i]), "recall": float(rec[i]), "f1-score": float(f1[i]), "support": int(support[i])}
        for i, n in enumerate(names)
    }
    total = int(support.sum())
    t, p = tp.sum(), pred.sum()
    rep["micro avg"] = {
        "precision": float(t / p) if p else 0.0,
        "recall": float(t / total) if total else 0.0,
        "f1-score": float(_f1(t, fp.sum(), fn.sum())),
        "support": total,
    }
    rep["macro avg"] = {
        "precision": float(prec.mean()),
        "recall": float(rec.mean()),
        "f1-score": float(f1.mean()),
        "support": total,
    }
    w = support / total if total else np.zeros(len(names))
    rep["weighted avg"] = {
        "precision": float((prec * w).sum()),
        "recall": float((rec * w).sum()),
        "f1-score": float((f1 * w).sum()),
        "support": total,
    }
    s_tp, s_true, s_pred = (ref & hyp).sum(axis=1), ref.sum(axis=1), hyp.sum(axis=1)
    s_prec = np.divide(s_tp, s_pred, out=np.zeros(len(ref)), where=s_pred > 0)
    s_rec = np.divide(s_tp, s_true, out=np.zeros(len(ref)), where=s_true > 0)
    s_f1 = _f1(s_tp, s_pred - s_tp, s_true - s_tp)
    rep["samples avg"] = {
        "precision": float(s_prec.mean()),
        "recall": float(s_rec.mean()),
        "f1-score": float(s_f1.mean()),
        "support": total,
    }
    return rep


def chexbert_report(ref_labels: Any, hyp_labels: Any, uncertain: str = "positive") -> dict[str, Any]:
    """The full f1chexbert output: per-label and averaged P/R/F1 for 14 and 5 labels, 5-label exact match.

    Args:
        ref_labels: reference labels (see :func:`chexbert_f1`).
        hyp_labels: generated-report labels.
        uncertain: ``"positive"`` (f1chexbert) or ``"negative"``.

    Returns:
        ``{"report_14": ..., "report_5": ..., "accuracy_5": float, "sample_exact_5": float array (N,)}``. The two
        reports have sklearn ``classification_report(output_dict=True)``'s layout (label names, then "micro avg",
        "macro avg", "weighted avg", "samples avg"; each ``{precision, recall, f1-score, support}``, zero_division 0).
        ``accuracy_5`` is f1chexbert's ``accuracy`` (5-label exact match rate) and ``sample_exact_5`` its per-sample
        array.

    Example:
        >>> r = chexbert_report([[0, 1] + [0] * 12], [[0, 1] + [0] * 12])
        >>> r["report_14"]["Cardiomegaly"]["f1-score"], r["accuracy_5"], r["sample_exact_5"].tolist()
        (1.0, 1.0, [1.0])
    """
    ref, hyp = _pair(ref_labels, hyp_labels, uncertain)
    cols = list(FIVE_LABEL_COLUMNS)
    exact = (ref[:, cols] == hyp[:, cols]).all(axis=1)
    return {
        "report_14": _report(ref, hyp, CHEXPERT_LABELS),
        "report_5": _report(ref[:, cols], hyp[:, cols], [CHEXPERT_LABELS[c] for c in cols]),
        "accuracy_5": float(exact.mean()),
        "sample_exact_5": exact.astype(np.float32),
    }


def labels_to_dicts(labels: Any) -> list[dict[str, int]]:
    """CheXbert label rows as ``Record.labels`` dicts (blank labels omitted), e.g. to store labels in records.

    Args:
        labels: N x 14 array of 1/0/-1/:data:`BLANK` (or NaN).

    Returns:
        N dicts ``{label name: 1 | 0 | -1}`` in :data:`radgrpo.records.CHEXPERT_LABELS` order.

    Example:
        >>> labels_to_dicts([[BLANK, 1, BLANK, BLANK, -1] + [BLANK] * 8 + [0]])
        [{'Cardiomegaly': 1, 'Edema': -1, 'No Finding': 0}]
    """
    arr = _as_label_array(labels, "labels")
    return [{CHEXPERT_LABELS[j]: int(v) for j, v in enumerate(row) if not np.isnan(v)} for row in arr]


def semb_similarity(ref_emb: Any, hyp_emb: Any) -> np.ndarray:
    """Per-pair cosine similarity of CheXbert [CLS] embeddings (RadCliQ's ``semb_score``); 0 when a norm is 0.

    Args:
        ref_emb: N x H embeddings of the references (``CheXbertLabeler.embed``).
        hyp_emb: N x H embeddings of the hypotheses.

    Returns:
        float64 array (N,), each in [-1, 1], computed in float64.

    Raises:
        ValueError: if the shapes differ or are not 2-D.

    Example:
        >>> semb_similarity([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, -1.0], [1.0, 0.0]]).tolist()
        [1.0, -1.0, 0.0]
    """
    a, b = np.asarray(ref_emb, dtype=np.float64), np.asarray(hyp_emb, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"semb_similarity: expected two N x H arrays of the same shape, got {a.shape} and {b.shape}")
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dot = (a * b).sum(axis=1)
    return np.divide(dot, den, out=np.zeros(len(a)), where=den > 0)
