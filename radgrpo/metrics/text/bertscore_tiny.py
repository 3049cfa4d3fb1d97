"""Random-weight BERTScore encoders with a real tokenizer class, for tests and speed benchmarks (nothing downloaded).

What it is: :func:`build_random_roberta` writes a folder that loads like ``distilroberta-base`` (``config.json``,
``vocab.json``, ``merges.txt``, tokenizer files, ``model.safetensors``): a ``RobertaModel`` with random weights and a
byte-level BPE tokenizer trained here on a given corpus. ``real_size=True`` uses distilroberta-base's dimensions
(6 layers, hidden 768, 12 heads, FFN 3072, vocabulary 50265, 514 positions) so timings match the real model (speed
does not depend on the weights); the default is a tiny model for tests. What it is not: a BERTScore model (scores
of random weights mean nothing); the metric names ``bertscore``/``bertscore_radcliq`` never load it unless a test
passes its folder explicitly as ``model_dir``.

Example:
    >>> DISTILROBERTA_BASE["num_hidden_layers"], DISTILROBERTA_BASE["hidden_size"]
    (6, 768)
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict


class RobertaSizes(TypedDict):
    """The ``transformers.RobertaConfig`` fields that set the encoder's size (``RobertaConfig(**sizes)``).

    Example:
        >>> RobertaSizes(hidden_size=32, num_hidden_layers=5, num_attention_heads=2, intermediate_size=64,
        ...              vocab_size=600, max_position_embeddings=514)["hidden_size"]
        32
    """

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int


#: distilroberta-base's dimensions (its config.json)
DISTILROBERTA_BASE: RobertaSizes = {
    "hidden_size": 768,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "vocab_size": 50265,
    "max_position_embeddings": 514,
}
_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def build_random_roberta(
    out_dir: str | os.PathLike,
    corpus: Sequence[str],
    *,
    real_size: bool = False,
    num_layers: int = 5,
    hidden_size: int = 32,
    vocab_size: int = 600,
    seed: int = 0,
) -> Path:
    """Write a random ``RobertaModel`` + byte-level BPE tokenizer (trained on ``corpus``) into ``out_dir``.

    Args:
        out_dir: folder to create.
        corpus: texts to train the tokenizer on.
        real_size: distilroberta-base dimensions (:data:`DISTILROBERTA_BASE`); the BPE vocabulary is still the
            trained one (ids below 50265).
        num_layers, hidden_size: tiny sizes (ignored when ``real_size``).
        vocab_size: BPE vocabulary size to train.
        seed: torch seed (the global RNG is left untouched).
    Returns:
        the folder (``BERTScorer(folder, num_layers)`` loads it).

    Example (builds a model, a few seconds):
        >>> import tempfile
        >>> d = build_random_roberta(tempfile.mkdtemp(), ["no acute process"] * 3)  # doctest: +SKIP
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        list(corpus), vocab_size=vocab_size, min_frequency=1, special_tokens=_SPECIALS, show_progress=False
    )
    bpe.save_model(str(out))
    merges = [
        tuple(line.split())
        for line in (out / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
        if line.strip()
    ]
    vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    # transformers annotates `merges` as list[str], but hands it to tokenizers' BPE, which takes (a, b) pairs
    tok = RobertaTokenizer(vocab=vocab, merges=merges)  # type: ignore[arg-type]
    tok.model_max_length = 512
    tok.save_pretrained(str(out))
    sizes: RobertaSizes
    if real_size:
        sizes = DISTILROBERTA_BASE.copy()
    else:
        sizes = {
            "hidden_size": hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": 2,
            "intermediate_size": 2 * hidden_size,
            "vocab_size": len(tok),
            "max_position_embeddings": 514,
        }
    cfg = RobertaConfig(pad_token_id=1, bos_token_id=0, eos_token_id=2, **sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        RobertaModel(cfg).save_pretrained(str(out))
    return out
