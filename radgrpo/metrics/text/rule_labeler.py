"""``rule_chexpert``: a keyword + negation/uncertainty rule labeller for the 14 CheXpert observations.

What it is: an opt-in, clearly named CPU stand-in for CheXbert in tests and in the synthetic demo
(docs/metrics.md#rule-finding-f1). It finds keyword mentions per sentence, calls a mention negative when a negation
cue ("no", "not", "without", "free of", "negative for") precedes it in its sentence, else uncertain when an
uncertainty cue ("may", "possible", "possibly", "cannot exclude", "cannot be excluded", "questionable", "suspicious
for", "likely") occurs in its sentence, else positive.
Per label, positive beats uncertain beats negative (CheXpert's aggregation). Two implications follow the CheXpert
hierarchy as the synthetic generator uses it: Cardiomegaly -> Enlarged Cardiomediastinum and Consolidation,
Atelectasis or Pneumonia -> Lung Opacity (a positive or uncertain value propagates). "No Finding" is 1 when no
observation other than Support Devices is positive or uncertain, else absent. Scores: :func:`rule_chexpert_sample_f1`
(per report, for the metric registry's mean aggregation) and :func:`rule_chexpert_micro_f1` (corpus micro-F1 over 14
or 5 labels). A negation cue does not reach past a clause break ("but", "however", "although") in its sentence.

Finding scores for the synthetic demo: :data:`FINDING_LABELS` are the labels of the findings the synthetic generator
can draw; :func:`finding_set` reads a report's named findings among them, optionally with the patient side
(``("Pleural Effusion", "left")``), :func:`finding_counts` gives per-pair (tp, fp, fn), :func:`rule_finding_f1` the
corpus micro-F1 and :func:`rule_finding_sample_f1` the per-report F1 (the reward form). These answer "does the
report name the drawn findings, on the right side?". A hedged (uncertain) mention NAMES its finding: the finding
scores count it as positive, CheXbert's "uncertain = positive" convention of the report-generation F1s (f1chexbert),
while :func:`label_report` keeps -1 for it (the CheXpert labels); ``uncertain_positive=False`` counts only plain
positive mentions.

What it is NOT: CheXbert (a BERT model trained on radiologist labels), nor the CheXpert NLP labeler (NegBio
patterns). Its scores must never be reported as "CheXbert F1"; the metric name is ``rule_chexpert``. It is exact on
the synthetic generator's reports (tested) and approximate on real reports.

Example:
    >>> label_report("Small left pleural effusion. No pneumothorax.")
    {'Pneumothorax': 0, 'Pleural Effusion': 1}
    >>> sorted(finding_set("Moderate cardiomegaly. Small bilateral pleural effusions. No pneumothorax.", side=True),
    ...        key=str)
    [('Cardiomegaly', None), ('Pleural Effusion', 'left'), ('Pleural Effusion', 'right')]
    >>> label_report("Possible small left pleural effusion.")["Pleural Effusion"], finding_set("Possible small left "
    ...     "pleural effusion.", side=True)
    (-1, frozenset({('Pleural Effusion', 'left')}))
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from radgrpo.records import CHEXPERT_LABELS

METRIC_NAME = "rule_chexpert"

# label -> mention patterns (matched on lower-cased text)
_MENTIONS: dict[str, tuple[str, ...]] = {
    "Enlarged Cardiomediastinum": (
        r"enlarged cardiomediastin\w*",
        r"widened mediastinum",
        r"mediastinal widening",
        r"cardiomediastinal silhouette is enlarged",
    ),
    "Cardiomegaly": (
        r"cardiomegaly",
        r"heart (?:size )?(?:is|appears) (?:\w+ )?enlarged",
        r"enlarged heart",
        r"enlarged cardiac silhouette",
        r"cardiac silhouette is (?:\w+ )?enlarged",
    ),
    "Lung Opacity": (r"opacit(?:y|ies)", r"opacification", r"infiltrates?"),
    "Lung Lesion": (r"nodules?", r"mass(?:es)?", r"lung lesions?"),
    "Edema": (r"edema",),
    "Consolidation": (r"consolidations?",),
    "Pneumonia": (r"pneumonia",),
    "Atelectasis": (r"atelectasis", r"atelectatic"),
    "Pneumothorax": (r"pneumothora(?:x|ces)",),
    "Pleural Effusion": (r"(?:pleural )?effusions?",),
    "Pleural Other": (r"pleural thickening", r"fibrothorax"),
    "Fracture": (r"fractures?",),
    "Support Devices": (
        r"catheter",
        r"endotracheal tube",
        r"(?:enteric|nasogastric|chest) tube",
        r"pacemaker",
        r"support devices?",
        r"picc",
    ),
}
# phrases that state a label is normal without a negation cue
_NORMAL_PHRASES: dict[str, tuple[str, ...]] = {
    "Cardiomegaly": (r"heart size is (?:normal|within normal limits)", r"normal heart size"),
    "Enlarged Cardiomediastinum": (r"cardiomediastinal silhouette is (?:normal|within normal limits)",),
}
_NEGATION = re.compile(r"\b(?:no|not|without|free of|negative for)\b")
# a negation cue before one of these does not reach the mentions after it ("no pneumothorax, but a small effusion")
_CLAUSE_BREAK = re.compile(r"\b(?:but|however|although)\b")
_UNCERTAIN = re.compile(
    r"\b(?:may|possible|possibly|cannot exclude|cannot be excluded|questionable|suspicious for|"
    r"likely)\b"
)
_IMPLIES = {
    "Cardiomegaly": ("Enlarged Cardiomediastinum",),
    "Consolidation": ("Lung Opacity",),
    "Atelectasis": ("Lung Opacity",),
    "Pneumonia": ("Lung Opacity",),
}
_COMPILED = {lab: [re.compile(rf"\b{p}\b") for p in ps] for lab, ps in _MENTIONS.items()}
_COMPILED_NORMAL = {lab: [re.compile(rf"\b{p}\b") for p in ps] for lab, ps in _NORMAL_PHRASES.items()}
_SENTENCES = re.compile(r"[^.;!?\n]+")
_RANK = {1: 3, -1: 2, 0: 1}


def _negated(sentence: str, start: int, end: int) -> bool:
    """Whether a negation cue precedes the mention ``sentence[start:end]`` within its clause."""
    scope = 0
    for b in _CLAUSE_BREAK.finditer(sentence, 0, start):
        scope = b.end()
    return bool(_NEGATION.search(sentence, scope, end))


def _sentence_labels(sentence: str) -> dict[str, int]:
    found: dict[str, int] = {}
    uncertain = bool(_UNCERTAIN.search(sentence))
    for lab, pats in _COMPILED_NORMAL.items():
        if any(p.search(sentence) for p in pats):
            found[lab] = 0
    for lab, pats in _COMPILED.items():
        if found.get(lab) == 0 and lab in _COMPILED_NORMAL:
            continue  # "normal heart size" wins over its own words in the same sentence
        for p in pats:
            for m in p.finditer(sentence):
                # a negated mention stays negative in a hedged sentence ("no effusion, possibly a pneumothorax")
                value = 0 if _negated(sentence, m.start(), m.end()) else -1 if uncertain else 1
                if lab not in found or _RANK[value] > _RANK[found[lab]]:
                    found[lab] = value
    return found


def label_report(text: str) -> dict[str, int]:
    """CheXpert labels mentioned in a report: 1 positive, 0 negative, -1 uncertain; unmentioned labels are absent.

    Args:
        text: report text (any case).

    Returns:
        ``{label: value}`` with labels from :data:`radgrpo.records.CHEXPERT_LABELS` in that order; "No Finding" is
        1 when nothing but Support Devices is positive or uncertain, else absent (as CheXbert leaves it blank).

    Example:
        >>> label_report("Moderate cardiomegaly. Possible right lower lobe pneumonia.")
        {'Enlarged Cardiomediastinum': 1, 'Cardiomegaly': 1, 'Lung Opacity': -1, 'Pneumonia': -1}
        >>> label_report("The heart size is normal. The lungs are clear without focal consolidation.")
        {'Cardiomegaly': 0, 'Consolidation': 0, 'No Finding': 1}
    """
    if not isinstance(text, str):
        raise TypeError(f"label_report: expected a str, got {type(text).__name__}")
    labels: dict[str, int] = {}
    for sentence in _SENTENCES.findall(text.lower()):
        for lab, value in _sentence_labels(sentence).items():
            if lab not in labels or _RANK[value] > _RANK[labels[lab]]:
                labels[lab] = value
    for lab, implied in _IMPLIES.items():
        if labels.get(lab) in (1, -1):
            for other in implied:
                if other not in labels or _RANK[labels[lab]] > _RANK[labels[other]]:
                    labels[other] = labels[lab]
    if not any(v in (1, -1) for lab, v in labels.items() if lab != "Support Devices"):
        labels["No Finding"] = 1
    return {lab: labels[lab] for lab in CHEXPERT_LABELS if lab in labels}


def rule_labels_matrix(texts: Sequence[str]) -> np.ndarray:
    """Binary label matrix of several reports: 1 where :func:`label_report` says positive, else 0.

    Args:
        texts: N reports.

    Returns:
        int array of shape (N, 14), columns in :data:`radgrpo.records.CHEXPERT_LABELS` order.

    Example:
        >>> rule_labels_matrix(["Small left pleural effusion.", "Normal heart size."]).sum(axis=1).tolist()
        [1, 1]
    """
    out = np.zeros((len(texts), len(CHEXPERT_LABELS)), dtype=np.int64)
    for i, t in enumerate(texts):
        lab = label_report(t)
        for j, name in enumerate(CHEXPERT_LABELS):
            out[i, j] = int(lab.get(name) == 1)
    return out


def rule_chexpert_sample_f1(predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """Per-report F1 of the positive label sets (14 columns of :func:`rule_labels_matrix`), for mean aggregation.

    ``2 |P ∩ G| / (|P| + |G|)`` with P, G the labels :func:`label_report` calls positive; 1.0 when both are empty.
    This is the registry-friendly per-sample form of ``rule_chexpert``; :func:`rule_chexpert_micro_f1` is the
    corpus form.

    Args:
        predictions: generated reports.
        references: reference reports (same length).

    Returns:
        One F1 in [0, 1] per pair.

    Example:
        >>> rule_chexpert_sample_f1(["Moderate cardiomegaly. No effusion.", "No pneumothorax."],
        ...                         ["Moderate cardiomegaly. Small left pleural effusion.", "Normal heart size."])
        [0.8, 1.0]
    """
    if len(predictions) != len(references):
        raise ValueError(f"rule_chexpert: {len(predictions)} predictions vs {len(references)} references")
    p, g = rule_labels_matrix(predictions), rule_labels_matrix(references)
    both = (p & g).sum(1)
    total = p.sum(1) + g.sum(1)
    return [1.0 if t == 0 else float(2 * b / t) for b, t in zip(both.tolist(), total.tolist())]


def rule_chexpert_micro_f1(
    predictions: Sequence[str], references: Sequence[str], labels: Sequence[str] = CHEXPERT_LABELS
) -> float:
    """Corpus micro-F1 of positive labels over the given label columns (CheXbert-F1 layout, rule labeller inside).

    Args:
        predictions: generated reports.
        references: reference reports (same length).
        labels: label columns to count, e.g. :data:`radgrpo.records.CHEXPERT_5_LABELS`.

    Returns:
        ``2 TP / (2 TP + FP + FN)``; 0.0 when there are no positives on either side.

    Example:
        >>> rule_chexpert_micro_f1(["Moderate cardiomegaly. No effusion."], ["Moderate cardiomegaly. Left effusion."],
        ...                        labels=("Cardiomegaly", "Pleural Effusion"))
        0.6666666666666666
    """
    if len(predictions) != len(references):
        raise ValueError(f"rule_chexpert: {len(predictions)} predictions vs {len(references)} references")
    unknown = [lab for lab in labels if lab not in CHEXPERT_LABELS]
    if unknown:
        raise ValueError(f"rule_chexpert: unknown label(s) {unknown}; valid: {list(CHEXPERT_LABELS)}")
    cols = [CHEXPERT_LABELS.index(lab) for lab in labels]
    p, g = rule_labels_matrix(predictions)[:, cols], rule_labels_matrix(references)[:, cols]
    tp, fp, fn = int((p & g).sum()), int((p & ~g.astype(bool)).sum()), int((~p.astype(bool) & g).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


#: CheXpert labels of the findings the synthetic generator can draw (its nodule is "Lung Lesion"). The labels the
#: generator only implies (Enlarged Cardiomediastinum, Lung Opacity) and "No Finding" are left out on purpose: they
#: would count one drawn finding twice, or reward a report for naming nothing.
FINDING_LABELS: tuple[str, ...] = (
    "Cardiomegaly",
    "Pleural Effusion",
    "Consolidation",
    "Pneumothorax",
    "Lung Lesion",
    "Atelectasis",
)
#: the two patient sides, in the order side-aware elements are listed
SIDES: tuple[str, ...] = ("right", "left")
#: labels without a patient side (their side-aware element is ``(label, None)``)
UNSIDED_LABELS: frozenset[str] = frozenset({"Cardiomegaly"})
_SIDE_WORDS = re.compile(r"\b(?:right|left|bilateral|both)\b")


def _finding_sides(text: str, uncertain_positive: bool = True) -> dict[str, set[str]]:
    """Named labels among :data:`FINDING_LABELS` -> the side words of the sentences that name them."""
    named = (1, -1) if uncertain_positive else (1,)
    out: dict[str, set[str]] = {}
    for sentence in _SENTENCES.findall(text.lower()):
        positive = [lab for lab, v in _sentence_labels(sentence).items() if v in named and lab in FINDING_LABELS]
        if not positive:
            continue
        words = set(_SIDE_WORDS.findall(sentence))
        sides = {w for w in words if w in SIDES} | (set(SIDES) if words & {"bilateral", "both"} else set())
        for lab in positive:
            out.setdefault(lab, set()).update(() if lab in UNSIDED_LABELS else sides)
    return out


def finding_set(text: str, side: bool = False, uncertain_positive: bool = True) -> frozenset:
    """The findings a report names among :data:`FINDING_LABELS`, optionally with their patient side.

    A finding is in the set when :func:`label_report` calls it positive (1) or, with ``uncertain_positive`` (the
    default), uncertain (-1: a hedged mention such as "possible small left pleural effusion" names the finding,
    CheXbert's "uncertain = positive" convention); negated mentions never are. With ``side=True`` the elements are
    ``(label, side)``: ``side`` is ``"right"`` or ``"left"``, read from the side words of the sentence(s) that name
    the finding ("bilateral" or "both" give two elements, right and left; a negated sentence contributes nothing);
    Cardiomegaly (:data:`UNSIDED_LABELS`), or a named finding whose sentences name no side, gives ``(label, None)``.

    The side grammar is made for the synthetic generator's report language (one finding per sentence, patient side
    words "right", "left", "bilateral", "both"); on other reports it is approximate: every named finding of a
    sentence takes all of that sentence's side words, and anatomical words such as "right heart border" count as
    sides.

    Args:
        text: report text (any case).
        side: return ``(label, side)`` pairs instead of labels.
        uncertain_positive: count hedged (uncertain) mentions as named; False counts plain positives only.

    Returns:
        a frozenset of label strings, or of ``(label, side)`` tuples.

    Example:
        >>> sorted(finding_set("The heart is moderately enlarged. No pleural effusion or pneumothorax."))
        ['Cardiomegaly']
        >>> sorted(finding_set("Small right pleural effusion. No left pleural effusion.", side=True))
        [('Pleural Effusion', 'right')]
        >>> sorted(finding_set("There is a small nodule in the left upper lung zone. Small bilateral pleural "
        ...                    "effusions.", side=True))
        [('Lung Lesion', 'left'), ('Pleural Effusion', 'left'), ('Pleural Effusion', 'right')]
        >>> finding_set("The lungs are clear without focal consolidation. Normal heart size.")
        frozenset()
        >>> text = "Ill-defined right mid zone opacity, suspicious for consolidation."
        >>> sorted(finding_set(text, side=True)), finding_set(text, uncertain_positive=False)
        ([('Consolidation', 'right')], frozenset())
    """
    if not isinstance(text, str):
        raise TypeError(f"finding_set: expected a str, got {type(text).__name__}")
    sides = _finding_sides(text, uncertain_positive)
    if not side:
        return frozenset(sides)
    return frozenset((lab, s) for lab, ss in sides.items() for s in (sorted(ss) if ss else (None,)))


def _check_pairs(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"rule_finding_f1: {len(predictions)} predictions vs {len(references)} references")


def set_counts(predicted: frozenset | set, reference: frozenset | set) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` of a predicted set against a reference set.

    Example:
        >>> set_counts({"Cardiomegaly", "Pneumothorax"}, {"Cardiomegaly", "Atelectasis", "Consolidation"})
        (1, 1, 2)
    """
    tp = len(set(predicted) & set(reference))
    return tp, len(predicted) - tp, len(reference) - tp


def finding_counts(
    predictions: Sequence[str], references: Sequence[str], side: bool = False, uncertain_positive: bool = True
) -> np.ndarray:
    """Per report pair, ``(tp, fp, fn)`` of the :func:`finding_set` of the prediction against the reference's.

    Args:
        predictions: generated reports.
        references: reference reports (same length).
        side: compare the side-aware sets (``(label, side)`` elements).
        uncertain_positive: hedged mentions name their finding (default; :func:`finding_set`).

    Returns:
        int64 array of shape (N, 3).

    Example:
        >>> finding_counts(["Small right pleural effusion."], ["Small left pleural effusion."]).tolist()
        [[1, 0, 0]]
        >>> finding_counts(["Small right pleural effusion."], ["Small left pleural effusion."], side=True).tolist()
        [[0, 1, 1]]
        >>> finding_counts(["No pneumothorax."], ["A small left apical pneumothorax cannot be excluded."]).tolist()
        [[0, 0, 1]]
    """
    _check_pairs(predictions, references)
    out = np.zeros((len(predictions), 3), dtype=np.int64)
    for i, (p, g) in enumerate(zip(predictions, references)):
        out[i] = set_counts(finding_set(p, side, uncertain_positive), finding_set(g, side, uncertain_positive))
    return out


def f1_from_counts(tp: float, fp: float, fn: float) -> float:
    """``2 tp / (2 tp + fp + fn)``, 0.0 when all three are zero.

    Example:
        >>> f1_from_counts(1, 1, 0), f1_from_counts(0, 0, 0)
        (0.6666666666666666, 0.0)
    """
    den = 2 * tp + fp + fn
    return float(2 * tp / den) if den else 0.0


def rule_finding_f1(
    predictions: Sequence[str], references: Sequence[str], side: bool = False, uncertain_positive: bool = True
) -> float:
    """Corpus micro-F1 of named findings (:data:`FINDING_LABELS`, rule labeller): ``2TP / (2TP + FP + FN)``.

    Hedged mentions count as named (``uncertain_positive``, CheXbert's "uncertain = positive").

    Args:
        predictions: generated reports.
        references: reference reports (same length).
        side: count side-aware findings (a right effusion for a left one is a false positive and a false negative).
        uncertain_positive: hedged mentions name their finding (default; False: plain positives only).

    Returns:
        the micro-F1 over all pairs; 0.0 when no pair has a named finding on either side.

    Example:
        >>> preds = ["Moderate cardiomegaly. Small right pleural effusion.", "No pneumothorax."]
        >>> refs = ["Mild cardiomegaly. Small left pleural effusion.", "Small left apical pneumothorax."]
        >>> rule_finding_f1(preds, refs), rule_finding_f1(preds, refs, side=True)
        (0.8, 0.4)
    """
    tp, fp, fn = finding_counts(predictions, references, side, uncertain_positive).sum(axis=0).tolist()
    return f1_from_counts(tp, fp, fn)


def rule_finding_sample_f1(
    predictions: Sequence[str], references: Sequence[str], side: bool = False, uncertain_positive: bool = True
) -> list[float]:
    """Per-pair F1 of the :func:`finding_set` s: ``2 tp / (2 tp + fp + fn)``, 1.0 when both sets are empty.

    The reward form of :func:`rule_finding_f1` (a normal report for a normal study scores 1.0); hedged mentions
    count as named unless ``uncertain_positive=False``.

    Args:
        predictions: generated reports.
        references: reference reports (same length).
        side: compare the side-aware sets.
        uncertain_positive: hedged mentions name their finding (default).

    Returns:
        one F1 in [0, 1] per pair.

    Example:
        >>> rule_finding_sample_f1(["Small bilateral pleural effusions.", "Normal heart size.", "No pneumothorax."],
        ...                        ["Small right pleural effusion.", "Normal heart size.", "Mild cardiomegaly."],
        ...                        side=True)
        [0.6666666666666666, 1.0, 0.0]
        >>> rule_finding_sample_f1(["Possible mild cardiomegaly."], ["Mild cardiomegaly."])
        [1.0]
    """
    counts = finding_counts(predictions, references, side, uncertain_positive)
    return [1.0 if not (tp or fp or fn) else f1_from_counts(tp, fp, fn) for tp, fp, fn in counts.tolist()]
