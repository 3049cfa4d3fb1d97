"""Google-BLEU (GLEU) per pair: the paper's GLEU ablation reward (HF ``evaluate`` google_bleu; docs/metrics.md#gleu).

GLEU (Wu et al. 2016) pools all 1..4-grams of hypothesis and reference: matches = Σ min(count_hyp, count_ref),
GLEU = matches / max(#hyp n-grams, #ref n-grams) = min(precision, recall). With several references the reference
with the highest ratio is used (first on ties), as ``nltk.translate.gleu_score.corpus_gleu`` does.

Tokenisation follows HF ``evaluate``'s ``google_bleu`` metric, which the paper's reward calls: sacrebleu's ``13a``
tokenizer (punctuation split off, case kept), no lowercasing or truncation. ``tokenize="none"`` gives the plain
whitespace split (then it equals ``nltk``'s ``sentence_gleu`` on ``str.split()`` tokens). Not sacrebleu's BLEU.

Example:
    >>> score_gleu(["No acute process."], ["No acute process."]).tolist()
    [1.0]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

TOKENIZERS = ("13a", "none")


@lru_cache(maxsize=2)
def _tokenizer(name: str) -> Callable[[str], list[str]]:
    if name == "none":
        return str.split
    if name == "13a":
        from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

        tok = Tokenizer13a()
        return lambda s: tok(s).split()
    raise ValueError(f"unknown GLEU tokenizer {name!r}; valid: {list(TOKENIZERS)}")


def _all_ngrams(tokens: list[str], min_len: int, max_len: int) -> Counter:
    c: Counter = Counter()
    for n in range(min_len, max_len + 1):
        for i in range(len(tokens) - n + 1):
            c[tuple(tokens[i : i + n])] += 1
    return c


def _counts(refs: list[list[str]], hyp: list[str], min_len: int, max_len: int) -> tuple[int, int]:
    """(matches, denominator) of the best reference; (0, 0) when nothing has n-grams."""
    hc = _all_ngrams(hyp, min_len, max_len)
    n_h = sum(hc.values())
    best: tuple[int, int] | None = None
    for r in refs:
        rc = _all_ngrams(r, min_len, max_len)
        n_all = max(n_h, sum(rc.values()))
        if n_all == 0:
            continue
        cand = (sum((hc & rc).values()), n_all)
        if best is None or cand[0] / cand[1] > best[0] / best[1]:
            best = cand
    return best if best is not None else (0, 0)


def score_gleu(
    refs: Sequence[str | Sequence[str]], hyps: Sequence[str], min_len: int = 1, max_len: int = 4, tokenize: str = "13a"
) -> np.ndarray:
    """Per-pair GLEU in [0, 1] (each pair scored as ``google_bleu`` with ``references=[[ref]]``).

    Args:
        refs: one reference string per pair, or a list of references per pair.
        hyps: hypotheses, aligned with ``refs``.
        min_len: smallest n-gram order.
        max_len: largest n-gram order.
        tokenize: ``"13a"`` (HF google_bleu default) or ``"none"`` (whitespace split).
    Returns:
        ``np.ndarray`` of shape ``(len(hyps),)``; 0.0 for a pair where neither side has an n-gram.

    Example:
        >>> round(float(score_gleu(["a b c d"], ["a b x"])[0]), 4)
        0.3
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references vs {len(hyps)} hypotheses")
    tok = _tokenizer(tokenize)
    out = np.zeros(len(hyps), dtype=np.float64)
    for i, (r, h) in enumerate(zip(refs, hyps)):
        rl = [r] if isinstance(r, str) else list(r)
        m, d = _counts([tok(x) for x in rl], tok(h), min_len, max_len)
        out[i] = m / d if d else 0.0
    return out


def corpus_gleu(
    refs: Sequence[str | Sequence[str]], hyps: Sequence[str], min_len: int = 1, max_len: int = 4, tokenize: str = "13a"
) -> float:
    """Corpus GLEU: matches and denominators summed over pairs (``google_bleu`` on the whole list).

    Example:
        >>> corpus_gleu(["a b", "c d"], ["a b", "x y"], tokenize="none")
        0.5
    """
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references vs {len(hyps)} hypotheses")
    tok = _tokenizer(tokenize)
    tm = td = 0
    for r, h in zip(refs, hyps):
        rl = [r] if isinstance(r, str) else list(r)
        m, d = _counts([tok(x) for x in rl], tok(h), min_len, max_len)
        tm, td = tm + m, td + d
    return tm / td if td else 0.0
