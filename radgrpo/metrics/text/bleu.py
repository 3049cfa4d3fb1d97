"""BLEU with the coco-caption definition used by RadEval and RadCliQ (docs/metrics.md#bleu-4).

Tokens are the whitespace split of the raw text (no lowercasing, no punctuation splitting). The reference length is
the ``"closest"`` one; per-order precisions use coco-caption's smoothing constants ``tiny = 1e-15`` and
``small = 1e-9``: p_k = (correct_k + tiny) / (guess_k + small), BLEU-n = (Π_{k≤n} p_k)^(1/n) · BP with
BP = exp(1 − 1/ratio) when ratio = (len_hyp + tiny)/(len_ref + small) < 1. So an exact match scores 0.99999999923,
not 1.0, exactly as the peers do. It is not sacrebleu's BLEU (different tokenisation and smoothing).

Example:
    >>> round(float(score_bleu(["No acute cardiopulmonary process."], ["No acute cardiopulmonary process."])[0]), 12)
    0.999999999229
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

TINY = 1e-15
SMALL = 1e-9


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(zip(*(tokens[k:] for k in range(n)))) if n > 1 else Counter((t,) for t in tokens)


def _as_ref_list(ref: str | Sequence[str]) -> list[str]:
    return [ref] if isinstance(ref, str) else list(ref)


def _ref_counts(refs: list[str], n: int) -> tuple[list[int], list[Counter]]:
    """Reference lengths and, per order k = 1..n, the max count of each k-gram over the references."""
    ref_toks = [r.split() for r in refs]
    max_counts: list[Counter] = []
    for k in range(1, n + 1):
        if len(ref_toks) == 1:
            max_counts.append(_ngrams(ref_toks[0], k))
            continue
        mc: Counter = Counter()
        for rt in ref_toks:
            mc |= _ngrams(rt, k)  # element-wise max
        max_counts.append(mc)
    return [len(rt) for rt in ref_toks], max_counts


def _stats(
    refs: list[str], hyp: str, n: int, ref_stats: tuple[list[int], list[Counter]] | None = None
) -> tuple[int, int, list[int], list[int]]:
    """(hyp length, closest ref length, correct per order, guess per order)."""
    h = hyp.split()
    lens, max_counts = ref_stats if ref_stats is not None else _ref_counts(refs, n)
    reflen = min(lens, key=lambda L: (abs(L - len(h)), L))
    correct, guess = [], []
    for k in range(1, n + 1):
        mc = max_counts[k - 1]
        correct.append(sum(min(c, mc[g]) for g, c in _ngrams(h, k).items() if g in mc))
        guess.append(max(0, len(h) - k + 1))
    return len(h), reflen, correct, guess


def _bleu_from_stats(testlen: int, reflen: int, correct: Sequence[int], guess: Sequence[int], n: int) -> float:
    prod = 1.0
    for k in range(n):
        prod *= (correct[k] + TINY) / (guess[k] + SMALL)
    score = prod ** (1.0 / n)
    ratio = (testlen + TINY) / (reflen + SMALL)
    if ratio < 1:
        score *= math.exp(1 - 1 / ratio)
    return score


def score_bleu(refs: Sequence[str | Sequence[str]], hyps: Sequence[str], n: int = 4) -> np.ndarray:
    """Per-pair BLEU-n (coco-caption definition), one float per (reference(s), hypothesis) pair.

    Args:
        refs: one reference string per pair (or a list of references per pair).
        hyps: hypotheses.
        n: maximum n-gram order (4 for BLEU-4, 2 for RadCliQ-v1's BLEU-2).
    Returns:
        ``np.ndarray`` of shape ``(len(hyps),)``.

    Example:
        >>> score_bleu(["a b c d"], ["x y z w"]).round(6).tolist()
        [0.0]
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references vs {len(hyps)} hypotheses")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    out = np.empty(len(hyps), dtype=np.float64)
    memo: dict[tuple[str, ...], tuple[list[int], list[Counter]]] = {}  # GRPO: 8 rollouts share one reference
    for i, (r, h) in enumerate(zip(refs, hyps)):
        rl = tuple(_as_ref_list(r))
        if rl not in memo:
            memo[rl] = _ref_counts(list(rl), n)
        out[i] = _bleu_from_stats(*_stats(list(rl), h, n, memo[rl]), n)
    return out


def corpus_bleu(refs: Sequence[str | Sequence[str]], hyps: Sequence[str], n: int = 4) -> float:
    """Corpus BLEU-n (coco-caption: counts and lengths summed over pairs, one brevity penalty).

    Example:
        >>> round(corpus_bleu(["a b c d", "e f g h"], ["a b c d", "e f g h"]), 6)
        1.0
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references vs {len(hyps)} hypotheses")
    testlen = reflen = 0
    correct = [0] * n
    guess = [0] * n
    for r, h in zip(refs, hyps):
        t, rl, c, g = _stats(_as_ref_list(r), h, n)
        testlen += t
        reflen += rl
        correct = [a + b for a, b in zip(correct, c)]
        guess = [a + b for a, b in zip(guess, g)]
    return _bleu_from_stats(testlen, reflen, correct, guess, n)
