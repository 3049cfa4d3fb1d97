"""Batched CheXbert labelling and [CLS] embedding of report texts: :class:`CheXbertLabeler` and :func:`load_chexbert`.

What it is: the inference side of CheXbert (stanfordmlgroup/CheXbert ``src/label.py``, f1chexbert 0.0.2, RadEval's
batched copy, CXR-Report-Metric's ``encode.py``; docs/metrics.md#chexbert-f1): resolve ``chexbert.pth`` and the
bert-base-uncased config/vocab through :mod:`radgrpo.metrics.loaders`, then label/embed many reports per forward pass.
What it is not: the network and checkpoint format (``chexbert_model.py``), nor the F1/similarity arithmetic
(``chexbert.py``).

Peer behaviour kept: report text is stripped, newlines become spaces and whitespace runs collapse (CheXbert
``bert_tokenizer.py``); token ids are [CLS] + WordPiece ids + [SEP], cut to 512 as ``ids[:511] + [SEP]`` (identical
to ``truncation=True, max_length=512``); an empty report is [CLS][SEP]; labels are the per-head argmax mapped by
CheXbert's ``CLASS_MAPPING`` (``chexbert.FOUR_WAY_VALUES`` / ``TWO_WAY_VALUES``); embeddings are the last-layer [CLS]
states without dropout (CXR-Report-Metric ``bert_encoder(logits=False)``, RadCliQ's ``semb``). Differences: batched
(reports sorted by token length, padded with [PAD] = 0 and attention-masked) instead of one report per forward; the
results equal the one-at-a-time ones up to float rounding (tested); transformers' tokenizers-backed
``BertTokenizer`` by default instead of the Python one (identical ids on the tests' texts with the real uncased
vocabulary; ``tokenizer="legacy"`` selects the Python one).

Example (needs the weights; see ``radgrpo models download chexbert``):
    >>> labeler = load_chexbert(cache_size=4096)  # doctest: +SKIP
    >>> labeler.semb(["Mild cardiomegaly."], ["Heart size is mildly enlarged."])  # doctest: +SKIP
    >>> labeler.f1(["Mild cardiomegaly."], ["Heart size is mildly enlarged."])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from radgrpo.metrics.loaders import resolve_model
from radgrpo.metrics.text.chexbert import CHEXBERT_SPEC, FOUR_WAY_VALUES, TWO_WAY_VALUES, chexbert_f1, semb_similarity
from radgrpo.metrics.text.chexbert_model import (
    CHECKPOINT_FILE,
    MAX_LENGTH,
    NUM_FOUR_WAY_HEADS,
    CheXbertNet,
    bert_config,
    load_state_dict_checked,
)
from radgrpo.records import CHEXPERT_LABELS


def normalize_report(text: str) -> str:
    """CheXbert's report clean-up: strip, newlines -> spaces, whitespace runs -> one space, strip.

    Example:
        >>> normalize_report("  No effusion.\\n\\n  Normal   heart. ")
        'No effusion. Normal heart.'
    """
    return re.sub(r"\s+", " ", text.strip().replace("\n", " ")).strip()


@dataclass
class CheXbertOutput:
    """Labels and [CLS] embeddings of N reports.

    Attributes:
        labels: int64 (N, 14), values 1/0/-1/``chexbert.BLANK``, columns in ``CHEXPERT_LABELS`` order.
        embeddings: float32 (N, H) last-layer [CLS] states (H = 768 for the public model).
    """

    labels: np.ndarray
    embeddings: np.ndarray


class CheXbertLabeler:
    """Batched CheXbert labelling and embedding of report texts.

    Args:
        net: a loaded :class:`CheXbertNet` (put in eval mode here).
        tokenizer: the bert-base-uncased WordPiece tokenizer (transformers).
        device: torch device for the forward passes.
        batch_size: reports per forward pass (after sorting by length, so each batch pads little).
        max_length: token cap incl. [CLS]/[SEP] (512, as CheXbert; at most the model's position embeddings).
        cache_size: keep the outputs of up to this many distinct texts (LRU), e.g. references scored against 8
            rollouts each; 0 disables it. A cached text returns exactly its first result.

    Example (needs weights):
        >>> labeler = load_chexbert()  # doctest: +SKIP
        >>> labeler.label(["Mild cardiomegaly is present."])[0][1]  # doctest: +SKIP
        1
    """

    def __init__(
        self,
        net: CheXbertNet,
        tokenizer: Any,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
        max_length: int = MAX_LENGTH,
        cache_size: int = 0,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = min(max_length, net.bert.config.max_position_embeddings)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per report: [CLS] + word pieces + [SEP], cut to ``max_length`` as CheXbert does.

        Args:
            texts: report strings (normalised with :func:`normalize_report` first).

        Returns:
            one id list per text.
        """
        clean = [normalize_report(_check_text(t, i)) for i, t in enumerate(texts)]
        if not clean:
            return []
        return self.tokenizer(clean, add_special_tokens=True, truncation=True, max_length=self.max_length)["input_ids"]

    @torch.inference_mode()
    def _forward(self, ids: list[list[int]], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(ids)
        labels = np.empty((n, len(CHEXPERT_LABELS)), dtype=np.int64)
        emb = np.empty((n, self.net.bert.config.hidden_size), dtype=np.float32)
        order = sorted(range(n), key=lambda i: -len(ids[i]))
        four = torch.tensor(FOUR_WAY_VALUES, device=self.device)
        two = torch.tensor(TWO_WAY_VALUES, device=self.device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            width = len(ids[idx[0]])
            batch = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                batch[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            cls, logits = self.net(batch.to(self.device), mask.to(self.device))
            vals = [four[lg.argmax(dim=1)] for lg in logits[:NUM_FOUR_WAY_HEADS]] + [two[logits[-1].argmax(dim=1)]]
            labels[idx] = torch.stack(vals, dim=1).cpu().numpy()
            emb[idx] = cls.float().cpu().numpy()
        return labels, emb

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> CheXbertOutput:
        """Labels and [CLS] embeddings of each report, from one forward pass per batch.

        Args:
            texts: N report strings (``""`` is allowed: it is labelled as [CLS][SEP], as CheXbert does).
            batch_size: override of the labeller's batch size.

        Returns:
            :class:`CheXbertOutput` with ``labels`` (N, 14) and ``embeddings`` (N, H), rows in input order.

        Raises:
            TypeError: if an item is not a string.
        """
        texts = list(texts)
        keys = [normalize_report(_check_text(t, i)) for i, t in enumerate(texts)]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        fresh: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if todo:
            labels, emb = self._forward(self.tokenize(todo), batch_size or self.batch_size)
            fresh = {k: (labels[j].copy(), emb[j].copy()) for j, k in enumerate(todo)}
        rows = [fresh[k] if k in fresh else self._cache[k] for k in keys]
        if self.cache_size > 0:
            for k in keys:
                if k in self._cache:
                    self._cache.move_to_end(k)
            for k, v in fresh.items():
                self._cache[k] = v
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        h = self.net.bert.config.hidden_size
        if not rows:
            return CheXbertOutput(np.empty((0, len(CHEXPERT_LABELS)), np.int64), np.empty((0, h), np.float32))
        return CheXbertOutput(np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]))

    def label(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """CheXbert labels: int64 (N, 14) of 1/0/-1/``chexbert.BLANK`` in ``CHEXPERT_LABELS`` order."""
        return self.encode(texts, batch_size).labels

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Last-layer [CLS] embeddings: float32 (N, H); cosine them with ``chexbert.semb_similarity``."""
        return self.encode(texts, batch_size).embeddings

    def semb(self, refs: Sequence[str], hyps: Sequence[str]) -> np.ndarray:
        """RadCliQ's ``semb_score`` per pair: cosine of the [CLS] embeddings of reference and hypothesis.

        Both sides go through one :meth:`encode` call (shared batches, cached references reused).

        Args:
            refs: N reference reports.
            hyps: N generated reports.

        Returns:
            float64 array (N,) (see ``chexbert.semb_similarity``; 0 when a norm is 0).
        """
        refs, hyps = list(refs), list(hyps)
        if len(refs) != len(hyps):
            raise ValueError(f"CheXbert semb: {len(refs)} references vs {len(hyps)} hypotheses")
        emb = self.encode(refs + hyps).embeddings
        return semb_similarity(emb[: len(refs)], emb[len(refs) :])

    def f1(self, refs: Sequence[str], hyps: Sequence[str], uncertain: str = "positive") -> dict[str, float]:
        """Corpus CheXbert F1 of report texts (f1chexbert's micro/macro over 14 and 5 labels).

        Args:
            refs: N reference reports.
            hyps: N generated reports.
            uncertain: ``"positive"`` (f1chexbert) or ``"negative"`` (LLaVA-Rad/MAIRA-2).

        Returns:
            ``chexbert.chexbert_f1``'s dict: micro_14, macro_14, micro_5, macro_5.
        """
        refs, hyps = list(refs), list(hyps)
        if len(refs) != len(hyps):
            raise ValueError(f"CheXbert F1: {len(refs)} references vs {len(hyps)} hypotheses")
        labels = self.encode(refs + hyps).labels
        return chexbert_f1(labels[: len(refs)], labels[len(refs) :], uncertain=uncertain)


def _check_text(t: Any, i: int) -> str:
    if not isinstance(t, str):
        raise TypeError(f"CheXbert: report {i} is {type(t).__name__}, not a string")
    return t


def _load_tokenizer(bert_dir: Path, kind: str) -> Any:
    if kind == "fast":
        from transformers import BertTokenizer

        return BertTokenizer.from_pretrained(str(bert_dir), do_lower_case=True)
    if kind == "legacy":
        from transformers.models.bert import BertTokenizerLegacy

        return BertTokenizerLegacy.from_pretrained(str(bert_dir), do_lower_case=True)
    raise ValueError(f"tokenizer must be 'fast' or 'legacy', got {kind!r}")


def load_chexbert(
    model_dir: str | os.PathLike | None = None,
    bert_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    batch_size: int = 64,
    cache_size: int = 0,
    tokenizer: str = "fast",
) -> CheXbertLabeler:
    """Load CheXbert (``chexbert.pth`` + bert-base-uncased config/vocab) into a :class:`CheXbertLabeler`.

    Args:
        model_dir: folder with ``chexbert.pth``; default: ``$RADGRPO_MODELS_DIR/chexbert`` then the HF cache of
            ``StanfordAIMI/RRG_scorers``. If it also holds ``config.json`` + ``vocab.txt``, those are used as the
            BERT config/tokenizer (as :func:`build_random_chexbert` writes them).
        bert_dir: folder with bert-base-uncased's ``config.json`` and ``vocab.txt``; default: ``model_dir`` when it
            has them, else ``$RADGRPO_MODELS_DIR/bert-base-uncased`` then the HF cache.
        device: torch device (default: cuda if available, else cpu).
        dtype: weights dtype (default float32; bfloat16 on GPU is faster but not bit-identical).
        batch_size: reports per forward pass.
        cache_size: LRU cache of per-text outputs (0 = off).
        tokenizer: ``"fast"`` (tokenizers backend, default) or ``"legacy"`` (transformers' Python WordPiece).

    Returns:
        a ready :class:`CheXbertLabeler` in eval mode.

    Raises:
        ModelNotFoundError: ``chexbert.pth`` or bert-base-uncased is missing (the message names the files, the
            folder and ``radgrpo models download chexbert``).
        CheXbertCheckpointError: the checkpoint does not fit the model.

    Example (needs weights):
        >>> labeler = load_chexbert(cache_size=4096)  # doctest: +SKIP
    """
    ckpt_dir = resolve_model(CHEXBERT_SPEC.name, model_dir)
    if bert_dir is None and all((ckpt_dir / f).is_file() for f in ("config.json", "vocab.txt")):
        bert_path = ckpt_dir
    else:
        bert_path = resolve_model("bert-base-uncased", bert_dir)
    net = CheXbertNet(bert_config(bert_path))
    load_state_dict_checked(net, ckpt_dir / CHECKPOINT_FILE)
    if dtype is not None:
        net = net.to(dtype)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return CheXbertLabeler(
        net, _load_tokenizer(bert_path, tokenizer), device=device, batch_size=batch_size, cache_size=cache_size
    )


_LABELERS: dict[tuple[str, str, str], CheXbertLabeler] = {}


def label_report_pairs(
    refs: Sequence[str],
    hyps: Sequence[str],
    model_dir: str | os.PathLike | None = None,
    bert_dir: str | os.PathLike | None = None,
    device: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CheXbert labels of aligned reference and generated reports, the labeller loaded once and kept (evaluation).

    Both sides go through one batched :meth:`CheXbertLabeler.encode` call; corpus F1 (micro/macro, 14/5 labels, an
    explicit uncertainty policy) is computed from these matrices by ``chexbert.chexbert_f1`` (``radgrpo eval``
    does it in ``radgrpo.eval.summarize`` with a bootstrap over reports).

    Args:
        refs: N reference reports.
        hyps: N generated reports.
        model_dir: folder with ``chexbert.pth`` (see :func:`load_chexbert`).
        bert_dir: folder with bert-base-uncased's ``config.json`` + ``vocab.txt``.
        device: torch device (default: cuda if available).
    Returns:
        ``(ref_labels, hyp_labels)``: int64 (N, 14) arrays of 1/0/-1/``chexbert.BLANK``.
    Raises:
        ModelNotFoundError: CheXbert weights are missing (the message names the files and the folder).

    Example (needs weights):
        >>> ref_labels, hyp_labels = label_report_pairs(["Mild cardiomegaly."], ["Normal heart."])  # doctest: +SKIP
    """
    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"CheXbert labels: {len(refs)} references vs {len(hyps)} hypotheses")
    key = (str(model_dir), str(bert_dir), str(device))
    if key not in _LABELERS:
        _LABELERS[key] = load_chexbert(model_dir, bert_dir, device=device, cache_size=8192)
    labels = _LABELERS[key].encode(refs + hyps).labels
    return labels[: len(refs)], labels[len(refs) :]


__all__ = ["CheXbertLabeler", "CheXbertOutput", "label_report_pairs", "load_chexbert", "normalize_report"]
