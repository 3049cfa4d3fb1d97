"""Google-BLEU (GLEU) per pair: the paper's GLEU ablation reward (paper.md §5.2, HF ``evaluate`` google_bleu).

GLEU = min(precision, recall) over all 1..4-grams of hypothesis and reference pooled together (Wu et al. 2016):
matches = Σ_ngrams min(count_hyp, count_ref); precision = matches / #hyp n-grams; recall = matches / #ref n-grams.
Tokenisation: whitespace split of the raw text (no lowercasing), as the paper's reward passes raw strings.
Identical to ``nltk.translate.gleu_score.sentence_gleu`` on whitespace tokens.

Example:
    >>> score_gleu(["the cat sat"], ["the cat sat"]).tolist()
    [1.0]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def _all_ngrams(tokens: list[str], min_len: int, max_len: int) -> Counter:
    c: Counter = Counter()
    for n in range(min_len, max_len + 1):
        for i in range(len(tokens) - n + 1):
            c[tuple(tokens[i:i + n])] += 1
    return c


def score_gleu(refs: Sequence[str], hyps: Sequence[str], min_len: int = 1, max_len: int = 4) -> np.ndarray:
    """Per-pair GLEU in [0, 1]; 0.0 when either side has no n-gram.

    Example:
        >>> round(float(score_gleu(["a b c d"], ["a b x"])[0]), 4)
        0.3
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references vs {len(hyps)} hypotheses")
    out = np.zeros(len(hyps), dtype=np.float64)
    for i, (r, h) in enumerate(zip(refs, hyps)):
        rc = _all_ngrams(r.split(), min_len, max_len)
        hc = _all_ngrams(h.split(), min_len, max_len)
        n_h, n_r = sum(hc.values()), sum(rc.values())
        if n_h == 0 or n_r == 0:
            continue
        match = sum((hc & rc).values())
        out[i] = min(match / n_h, match / n_r)
    return out
