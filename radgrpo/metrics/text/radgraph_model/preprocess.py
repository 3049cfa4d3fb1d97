"""Report -> word tokens exactly as the ``radgraph`` package (0.1.18) splits a report before its DyGIE model.

What it is: the two word tokenisers of ``radgraph.utils.preprocess_reports`` re-implemented (not copied), plus the
DyGIE reader's word normalisation and span enumeration. What it is not: the wordpiece tokeniser (that is the backbone's
HF tokenizer, applied per word in ``model.py``).

- ``"v1"`` (model ``radgraph``): every one of ``/ , : . ! ? ( )`` becomes its own token, the rest splits on
  whitespace. (The peer writes this as the regex class ``[/,-,:,.,!?()]``, whose ``,-,`` is a range from ``,`` to
  ``,``: the hyphen is NOT split off, and neither are ``;``, ``%`` or quotes.)
- ``"xl"`` (``radgraph-xl``; in the peer also every other model type, because its ``elif`` is always true): literal
  backslash escapes blanked, runs of whitespace collapsed, NLTK ``wordpunct_tokenize`` (``\\w+|[^\\w\\s]+``), then
  ``).``, ``%.``, ``.'``, ``%,`` and ``%)`` split in two.

Stanford-AIMI/radgraph ``radgraph/utils.py`` and ``dygie/data/dataset_readers/dygie.py``; docs/metrics.md#radgraph-f1.

Example:
    >>> tokenize_report("No acute process/change, stable.", "v1")
    ['No', 'acute', 'process', '/', 'change', ',', 'stable', '.']
    >>> tokenize_report("Effusion (5%).  Stable.", "xl")
    ['Effusion', '(', '5', '%', ')', '.', 'Stable', '.']
"""

from __future__ import annotations

import functools
import re

import numpy as np

#: characters the v1 tokeniser isolates (the peer's class ``[/,-,:,.,!?()]`` spelled out)
V1_SPLIT_CHARS = "/,:.!?()"
_V1_SPLIT = re.compile("([" + re.escape(V1_SPLIT_CHARS) + "])")
_WORDPUNCT = re.compile(r"\w+|[^\w\s]+")
_SPACES = re.compile(r"\s+")
# literal escape sequences the XL preprocessing blanks (backslash + letters, as written in some exported reports)
_XL_LITERALS = (("\\n", "  "), ("\\f", "  "), ("\\u2122", "      "), ("\n", " "), ('\\"', "``"))
_XL_SPLITS = ((").", ") ."), ("%.", "% ."), (".'", ". '"), ("%,", "% ,"), ("%)", "% )"))

TOKENIZATIONS = ("v1", "xl")


def tokenization_for_model(model_type: str) -> str:
    """The word tokenisation the ``radgraph`` package applies for ``model_type``.

    Args:
        model_type: ``"radgraph"`` (v1), ``"radgraph-xl"``, ``"modern-radgraph-xl"`` or ``"echograph"``.
    Returns:
        ``"v1"`` for ``radgraph``, ``"xl"`` for every other type (the peer's always-true ``elif``).

    Example:
        >>> tokenization_for_model("radgraph"), tokenization_for_model("radgraph-xl")
        ('v1', 'xl')
    """
    return "v1" if model_type == "radgraph" else "xl"


def tokenize_report(text: str, tokenization: str) -> list[str]:
    """Split one report into the word tokens the RadGraph model sees (and the output ``text`` joins).

    Args:
        text: the report.
        tokenization: ``"v1"`` or ``"xl"`` (see the module docstring).
    Returns:
        list of word tokens (may be empty for a whitespace-only report).

    Example:
        >>> tokenize_report("ET tube 2 cm above the carina.", "v1")
        ['ET', 'tube', '2', 'cm', 'above', 'the', 'carina', '.']
    """
    if tokenization == "v1":
        return _V1_SPLIT.sub(r" \1 ", text).split()
    if tokenization == "xl":
        for old, new in _XL_LITERALS:
            text = text.replace(old, new)
        joined = " ".join(_WORDPUNCT.findall(_SPACES.sub(" ", text)))
        for old, new in _XL_SPLITS:
            joined = joined.replace(old, new)
        return joined.split()
    raise ValueError(f"unknown RadGraph tokenization {tokenization!r}; expected one of {TOKENIZATIONS}")


def normalize_word(word: str) -> str:
    """The DyGIE reader's word normalisation: ``"/."`` -> ``"."`` and ``"/?"`` -> ``"?"`` (model input only).

    Example:
        >>> normalize_word("/."), normalize_word("lung")
        ('.', 'lung')
    """
    return word[1:] if word in ("/.", "/?") else word


def enumerate_spans(n_words: int, max_span_width: int) -> list[tuple[int, int]]:
    """All inclusive word spans of width <= ``max_span_width``, ordered by start then end (DyGIE's order).

    Args:
        n_words: number of words in the report.
        max_span_width: widest span in words.
    Returns:
        list of ``(start, end)`` inclusive word indices.

    Example:
        >>> enumerate_spans(3, 2)
        [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2)]
    """
    return [(s, e) for s in range(n_words) for e in range(s, min(s + max_span_width, n_words))]


@functools.lru_cache(maxsize=2048)
def span_grid(n_words: int, max_span_width: int) -> np.ndarray:
    """:func:`enumerate_spans` as a read-only int64 array of shape ``(2, n_spans)`` (starts, ends), cached by size.

    Example:
        >>> span_grid(3, 2).tolist()
        [[0, 0, 1, 1, 2], [0, 1, 1, 2, 2]]
    """
    grid = np.array(enumerate_spans(n_words, max_span_width), dtype=np.int64).reshape(-1, 2).T.copy()
    grid.setflags(write=False)
    return grid
