"""Decoding-only baselines over several sampled reports of one image (docs/rl_vs_imitation.md#decoding-only).

What it is: the answer to "does decoding alone get RL's gain?". From k reports sampled from the same model (e.g.
SFT at temperature 1), :func:`threshold_findings` names a finding when the share of samples naming it exceeds a
per-finding threshold (the clinical utility's decision thresholds,
:func:`radgrpo.metrics.text.utility.decision_thresholds`), on the side set most samples give it;
:func:`compose_report` writes that decision as a report from the samples' own sentences, so every metric can score
it. Findings are read by the ``rule_chexpert`` labeller (:func:`radgrpo.metrics.text.rule_labeler.finding_set`;
hedged = named), exact on the synthetic generator's report language and approximate elsewhere.

What it is not: minimum-Bayes-risk decoding over whole reports (only the findings are decided), nor a change to the
model.

Example:
    >>> samples = ["Small left pleural effusion. No pneumothorax.", "No pleural effusion. No pneumothorax.",
    ...            "Possible small left pleural effusion. No pneumothorax.", "No pleural effusion. No pneumothorax."]
    >>> d = threshold_findings(samples, {"Pleural Effusion": 0.33})
    >>> {k: sorted(v) for k, v in d.items()}
    {'Pleural Effusion': ['left']}
    >>> compose_report(samples, d)
    'Small left pleural effusion. No pneumothorax.'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from radgrpo.metrics.text.rule_labeler import FINDING_LABELS, finding_set, label_report
from radgrpo.metrics.text.utility import sides_by_label

__all__ = ["compose_report", "decide_reports", "threshold_findings"]

_SENTENCES = re.compile(r"[^.;!?\n]+[.;!?]?")


def _sides(text: str) -> dict[str, frozenset]:
    return sides_by_label(finding_set(text, side=True))


def threshold_findings(samples: Sequence[str], thresholds: Mapping[str, float]) -> dict[str, frozenset]:
    """The findings named by more than ``thresholds[label]`` of ``samples``, each with its most frequent side set.

    Args:
        samples: k reports sampled for one image.
        thresholds: label -> share in [0, 1) (labels of :data:`FINDING_LABELS`; a missing label is never named).
    Returns:
        label -> side set (``{None}`` for an unsided finding), in :data:`FINDING_LABELS` order. Ties between side
        sets go to the one seen first.

    Example:
        >>> threshold_findings(["Moderate cardiomegaly.", "The heart size is normal."], {"Cardiomegaly": 0.4})
        {'Cardiomegaly': frozenset({None})}
    """
    if not samples:
        raise ValueError("threshold_findings needs at least one sample")
    sets = [_sides(s) for s in samples]
    out: dict[str, frozenset] = {}
    for label in FINDING_LABELS:
        named = [s[label] for s in sets if label in s]
        if label in thresholds and len(named) / len(sets) > thresholds[label]:
            out[label] = Counter(named).most_common(1)[0][0]
    return out


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCES.findall(text) if s.strip()]


def compose_report(samples: Sequence[str], decision: Mapping[str, frozenset]) -> str:
    """A report stating exactly ``decision``, written from the samples' sentences.

    The first sample whose findings (with sides) equal the decision is returned as it is. Otherwise the first sample
    is edited sentence by sentence: a sentence naming a finding that is not decided (or on other sides) is replaced
    by a sentence of another sample that negates that finding (or dropped), and each decided finding the text lacks
    gets the first sample sentence that names it on the decided sides, in place of the sentence negating it when
    there is one, else at the end.

    Example:
        >>> compose_report(["No pneumothorax.", "Small right apical pneumothorax."], {})
        'No pneumothorax.'
        >>> compose_report(["Mild cardiomegaly. No pneumothorax.", "The heart size is normal. Small right apical "
        ...                 "pneumothorax."], {"Pneumothorax": frozenset({"right"})})
        'The heart size is normal. Small right apical pneumothorax.'
    """
    want = {k: frozenset(v) for k, v in decision.items()}
    for s in samples:
        if _sides(s) == want:
            return s
    pool = [sent for s in samples for sent in _sentences(s)]
    negating: dict[str, str] = {}
    naming: dict[tuple[str, frozenset], str] = {}
    for sent in pool:
        labels = label_report(sent)
        found = _sides(sent)
        for label in FINDING_LABELS:
            if labels.get(label) == 0 and not found:
                negating.setdefault(label, sent)
            if label in found and len(found) == 1:
                naming.setdefault((label, found[label]), sent)
    out: list[str] = []
    placed: set[str] = set()
    for sent in _sentences(samples[0]):
        found = _sides(sent)
        negated = [lab for lab, v in label_report(sent).items() if v == 0 and lab in FINDING_LABELS]
        if any(want.get(lab) != sides for lab, sides in found.items()):
            for lab in found:
                if lab not in want and lab in negating and negating[lab] not in out:
                    out.append(negating[lab])
            continue
        swap = [lab for lab in negated if lab in want and (lab, want[lab]) in naming]
        if swap and not found:
            for lab in swap:
                out.append(naming[(lab, want[lab])])
                placed.add(lab)
            continue
        out.append(sent)
        placed.update(found)
    for lab, sides in want.items():
        if lab not in placed and (lab, sides) in naming:
            out.append(naming[(lab, sides)])
    return " ".join(out)


def decide_reports(samples: Sequence[Sequence[str]], thresholds: Mapping[str, float]) -> list[str]:
    """:func:`compose_report` of :func:`threshold_findings` for each image's samples.

    Example:
        >>> decide_reports([["Mild cardiomegaly.", "Mild cardiomegaly.", "The heart size is normal."]],
        ...                {"Cardiomegaly": 0.4})
        ['Mild cardiomegaly.']
    """
    return [compose_report(s, threshold_findings(s, thresholds)) for s in samples]
