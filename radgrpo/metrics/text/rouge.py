"""ROUGE-L F-measure per pair with the rouge-score package's definition (Porter stemming on).

Tokenisation as rouge-score's default tokenizer: lowercase, non-alphanumerics replaced by spaces, Porter-stemmed
tokens (stemming only for tokens longer than 3 characters). ROUGE-L = LCS-based F1 (beta = 1). The paper's tables
report ROUGE-L F from ``rouge_score`` with ``use_stemmer=True`` (docs/metrics.md#rouge-l).

Example:
    >>> score_rouge_l(["No acute cardiopulmonary process."], ["No acute cardiopulmonary process."]).tolist()
    [1.0]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import porter

    return porter.PorterStemmer("ORIGINAL_ALGORITHM")


@lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    return _stemmer().stem(token) if len(token) > 3 else token


def tokenize(text: str, stem: bool = True) -> list[str]:
    """rouge-score's tokenisation: lowercase, split on non-alphanumerics, optional Porter stemming.

    Example:
        >>> tokenize("Effusions are seen.")
        ['effus', 'are', 'seen']
    """
    toks = [t for t in _NON_ALNUM.sub(" ", text.lower()).split() if t]
    return [_stem(t) for t in toks] if stem else toks


def _lcs(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def score_rouge_l(refs: Sequence[str], hyps: Sequence[str], stem: bool = True) -> np.ndarray:
    """Per-pair ROUGE-L F (rouge-score definition, stemming on by default).

    Example:
        >>> round(float(score_rouge_l(["the cat sat on the mat"], ["the cat on the mat"])[0]), 4)
        0.9091
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references vs {len(hyps)} hypotheses")
    out = np.zeros(len(hyps), dtype=np.float64)
    for i, (r, h) in enumerate(zip(refs, hyps)):
        rt, ht = tokenize(r, stem), tokenize(h, stem)
        lcs = _lcs(rt, ht)
        if lcs == 0:
            continue
        p, rc = lcs / len(ht), lcs / len(rt)
        out[i] = 2 * p * rc / (p + rc)
    return out
