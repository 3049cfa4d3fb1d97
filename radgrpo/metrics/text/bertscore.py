"""BERTScore: our own batched implementation on transformers, equal to the ``bert-score`` package (0.3.13).

What it is: greedy cosine matching of contextual token embeddings (Zhang et al., ICLR 2020) with the exact
semantics of ``bert_score.BERTScorer`` (docs/metrics.md#bertscore): the embeddings of layer ``num_layers`` (the model
truncated to its first ``num_layers`` layers), special tokens included in the similarity matrix but weighted 0,
optional IDF weights ``log((M+1)/(df+1))`` from a reference corpus (unseen tokens ``log(M+1)``), precision over the
candidate's tokens, recall over the reference's, F1 = 2PR/(P+R), baseline rescaling ``(x - b)/(1 - b)`` of P, R and
F separately with the row ``num_layers`` of the baseline TSV files that ship inside the ``bert-score`` wheel
(``bert_score/rescale_baseline/<lang>/<model>.tsv``) or of a given file. RoBERTa/GPT-2 tokenizers get
``add_prefix_space=True`` as in bert-score. An empty text scores raw P = R = F = 0, as in bert-score.

What it adds: unique texts are encoded once per call, in length-bucketed batches (a token budget per batch), and
reference embeddings are kept in an LRU cache so the 8 rollouts of one GRPO prompt encode their reference once.
Each pair's score depends only on (candidate, reference, config): masked padding uses a value below any cosine, so a
pair scores the same alone or in a batch (bert-score's zero-filled padding can change a pair's score when all its
similarities are negative; this never happens with real encoders, where cosines are positive).

Named configurations: ``bertscore`` (the paper's evaluation: distilbert-base-uncased, layer 5, rescaled, no IDF) and
``bertscore_radcliq`` (RadCliQ-v1's: distilroberta-base, layer 5, rescaled, no IDF). What it is not: a stand-in; a
named configuration always loads its own model or fails with the download instructions (metrics/loaders.py).

Example:
    >>> cfg = NAMED_CONFIGS["bertscore_radcliq"]
    >>> cfg.model, cfg.num_layers, cfg.rescale_with_baseline, cfg.idf
    ('distilroberta-base', 5, True, False)
    >>> read_baseline(baseline_file("distilroberta-base"), 5).round(7).tolist()
    [0.84732, 0.847595, 0.8473319]
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radgrpo.errors import UserPathError
from radgrpo.metrics.loaders import ModelNotFoundError, resolve_model

#: tokenizer classes that bert-score encodes with ``add_prefix_space=True`` (byte-level BPE)
_PREFIX_SPACE_TOKENIZERS = ("RobertaTokenizer", "GPT2Tokenizer")
_COS_FLOOR = -2.0  # below any cosine: padded positions never win a max


@dataclass(frozen=True)
class BERTScoreConfig:
    """One BERTScore configuration.

    Args:
        model: a :data:`radgrpo.metrics.loaders.MODEL_SPECS` name, a hub id or a local folder.
        num_layers: which layer's output is used (the model is truncated to this many layers).
        idf: IDF weighting (needs a fixed reference corpus, see :class:`BERTScorer`).
        rescale_with_baseline: apply the bert-score baseline rescaling.
        baseline_path: a baseline TSV (``LAYER,P,R,F``); None = the file bundled with bert-score for ``model``.
        lang: the baseline folder of bert-score (``en``).
    """

    model: str
    num_layers: int
    idf: bool = False
    rescale_with_baseline: bool = True
    baseline_path: str | None = None
    lang: str = "en"


#: the named configurations (a name is a promise: it always means this model, layer and rescaling)
NAMED_CONFIGS: dict[str, BERTScoreConfig] = {
    "bertscore": BERTScoreConfig("distilbert-base-uncased", 5),
    "bertscore_radcliq": BERTScoreConfig("distilroberta-base", 5),
}


def bundled_baseline_dir() -> Path:
    """The ``rescale_baseline`` folder inside the installed ``bert-score`` wheel (found without importing it).

    Raises:
        FileNotFoundError: bert-score is not installed.

    Example:
        >>> bundled_baseline_dir().name
        'rescale_baseline'
    """
    spec = importlib.util.find_spec("bert_score")
    if spec is None or not spec.submodule_search_locations:
        raise UserPathError(
            "the bert-score package is not installed; `pip install bert-score==0.3.13` provides "
            "the baseline files (or pass baseline_path=)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "rescale_baseline"


def baseline_file(model: str, lang: str = "en") -> Path:
    """The bundled baseline TSV of ``model`` (a bert-score model name; a hub id ``org/name`` also tries ``name``).

    Args:
        model: e.g. ``"distilroberta-base"``, ``"distilbert/distilbert-base-uncased"``.
        lang: language folder.
    Returns:
        the TSV path.
    Raises:
        FileNotFoundError: no bundled baseline for this model (pass ``baseline_path``).

    Example:
        >>> baseline_file("distilbert/distilbert-base-uncased").name
        'distilbert-base-uncased.tsv'
    """
    root = bundled_baseline_dir() / lang
    names = [model, model.split("/", 1)[-1]] if "/" in model else [model]
    for n in names:
        p = root / f"{n}.tsv"
        if p.is_file():
            return p
    raise UserPathError(
        f"no bert-score baseline for model {model!r} (lang {lang!r}) under {root}; pass "
        "baseline_path= (a LAYER,P,R,F TSV) or rescale_with_baseline=False"
    )


def read_baseline(path: str | os.PathLike, num_layers: int) -> np.ndarray:
    """Baseline ``(P, R, F)`` of layer ``num_layers`` from a ``LAYER,P,R,F`` file (row ``num_layers``, as bert-score).

    Args:
        path: the TSV/CSV file.
        num_layers: the row (0 = embeddings).
    Returns:
        float64 array of shape (3,).
    Raises:
        ValueError: the file has no such row or not the P, R, F columns.

    Example:
        >>> float(read_baseline(baseline_file("distilbert-base-uncased"), 5)[2].round(8))
        0.66620487
    """
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not 0 <= num_layers < len(rows):
        raise ValueError(f"baseline {path} has {len(rows)} layers; layer {num_layers} requested")
    try:
        return np.array([float(rows[num_layers][k]) for k in ("P", "R", "F")], dtype=np.float64)
    except KeyError as e:
        raise ValueError(f"baseline {path} needs the columns LAYER,P,R,F; got {list(rows[0])}") from e


def rescale(values: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """bert-score's baseline rescaling ``(x - b) / (1 - b)``, column-wise on ``(..., 3)`` P/R/F values.

    Example:
        >>> rescale(np.array([[1.0, 0.5, 0.75]]), np.array([0.5, 0.5, 0.5])).tolist()
        [[1.0, 0.0, 0.5]]
    """
    return (np.asarray(values, dtype=np.float64) - baseline) / (1.0 - baseline)


def idf_weights(token_id_docs: Sequence[Sequence[int]]) -> tuple[dict[int, float], float]:
    """IDF of each token id over a corpus, bert-score's ``get_idf_dict``: ``log((M+1)/(df+1))``.

    Args:
        token_id_docs: each document's token ids (special tokens included, as bert-score encodes them).
    Returns:
        ``(idf by token id, idf of an unseen token = log(M+1))``.

    Example:
        >>> idf, unseen = idf_weights([[101, 7, 102], [101, 8, 102]])
        >>> round(idf[101], 6), round(idf[7], 6), round(unseen, 6)
        (0.0, 0.405465, 1.098612)
    """
    m = len(token_id_docs)
    df = Counter(t for doc in token_id_docs for t in set(doc))
    return {t: math.log((m + 1) / (c + 1)) for t, c in df.items()}, math.log(m + 1)


def _truncate_layers(model: Any, num_layers: int) -> Any:
    """Keep the first ``num_layers`` transformer layers (bert-score's ``get_model``); returns the model."""
    import torch

    if hasattr(model, "decoder") and hasattr(model, "encoder"):
        model = model.encoder
    holders = [
        (model, "layer"),
        (model, "layers"),
        (getattr(model, "encoder", None), "layer"),
        (getattr(model, "encoder", None), "layers"),
        (getattr(model, "transformer", None), "layer"),
    ]
    for obj, attr in holders:
        layers = getattr(obj, attr, None) if obj is not None else None
        if isinstance(layers, torch.nn.ModuleList):
            if not 0 <= num_layers <= len(layers):
                raise ValueError(f"num_layers must be in [0, {len(layers)}] for this model, got {num_layers}")
            setattr(obj, attr, torch.nn.ModuleList(list(layers)[:num_layers]))
            return model
    raise ValueError(f"cannot find the transformer layers of {type(model).__name__} to select layer {num_layers}")


class BERTScorer:
    """A loaded BERTScore model: batched, length-bucketed scoring with a reference-embedding cache.

    Args:
        model: spec name, hub id or local folder (resolved by :func:`radgrpo.metrics.loaders.resolve_model`).
        num_layers: layer whose output is used (required: bert-score's per-model default table is not guessed).
        idf: weight tokens by IDF over ``idf_sents`` (a fixed corpus, so scores do not depend on the batch).
        idf_sents: the IDF corpus (required when ``idf``).
        rescale_with_baseline: rescale P/R/F with the baseline (bundled file for ``model`` or ``baseline_path``).
        baseline_path: explicit baseline file (then rescaling is on).
        lang: baseline language folder.
        model_dir: explicit local folder holding the model.
        device: ``"cpu"``, ``"cuda"``...; None = cuda when available.
        dtype: ``"float32"`` (default) or ``"bfloat16"``/``"float16"`` for the encoder forward.
        batch_tokens: token budget of one encoder batch (padded length x rows).
        max_batch: most texts per encoder batch.
        ref_cache_size: references whose embeddings are kept (LRU); 0 disables the cache.

    Example:
        >>> BERTScorer("distilroberta-base", 5, model_dir="/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        radgrpo.metrics.loaders.ModelNotFoundError: model folder /nonexistent given for 'distilroberta-base' ...
    """

    def __init__(
        self,
        model: str,
        num_layers: int,
        *,
        idf: bool = False,
        idf_sents: Sequence[str] | None = None,
        rescale_with_baseline: bool = False,
        baseline_path: str | os.PathLike | None = None,
        lang: str = "en",
        model_dir: str | os.PathLike | None = None,
        device: str | None = None,
        dtype: str = "float32",
        batch_tokens: int = 16384,
        max_batch: int = 256,
        ref_cache_size: int = 1024,
    ) -> None:
        if num_layers is None or int(num_layers) < 0:
            raise ValueError(f"num_layers must be a non-negative int, got {num_layers!r}")
        if idf and idf_sents is None:
            raise ValueError(
                "idf=True needs idf_sents (a fixed reference corpus); score_bertscore(idf=True) uses "
                "the call's references, as bert-score does"
            )
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
        self.model_name = model
        self.num_layers = int(num_layers)
        self.dtype = dtype
        self.batch_tokens = int(batch_tokens)
        self.max_batch = int(max_batch)
        self.ref_cache_size = int(ref_cache_size)
        # baseline first: a wrong baseline fails before the model loads
        self.baseline: np.ndarray | None = None
        if baseline_path is not None or rescale_with_baseline:
            path = Path(baseline_path) if baseline_path is not None else baseline_file(model, lang)
            self.baseline = read_baseline(path, self.num_layers)
        self._load(model, model_dir, device)
        self._cache: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0
        self._idf: dict[int, float] | None = None
        self._idf_unseen = 1.0
        if idf:
            self._idf, self._idf_unseen = idf_weights(self.tokenize(list(idf_sents or [])))

    def with_idf(self, idf_sents: Sequence[str]) -> BERTScorer:
        """A scorer sharing this one's loaded model, with IDF weights over ``idf_sents`` and its own cache.

        Args:
            idf_sents: the IDF corpus.
        Returns:
            a new scorer (the model is not copied).
        """
        import copy

        other = copy.copy(self)
        other._cache = OrderedDict()
        other.cache_hits = other.cache_misses = 0
        other._idf, other._idf_unseen = idf_weights(self.tokenize(list(idf_sents)))
        return other

    @classmethod
    def from_config(cls, config: str | BERTScoreConfig, **kwargs: Any) -> BERTScorer:
        """A scorer for a named configuration (``"bertscore"``, ``"bertscore_radcliq"``) or a config object.

        Args:
            config: name in :data:`NAMED_CONFIGS` or a :class:`BERTScoreConfig`.
            **kwargs: passed to the constructor (``model_dir``, ``device``, ``dtype``, ``idf_sents``...).
        Returns:
            the scorer.
        Raises:
            KeyError: unknown name (the message lists the names).
        """
        if isinstance(config, str):
            if config not in NAMED_CONFIGS:
                raise KeyError(f"unknown BERTScore configuration {config!r}; known: {sorted(NAMED_CONFIGS)}")
            config = NAMED_CONFIGS[config]
        return cls(
            config.model,
            config.num_layers,
            idf=config.idf,
            rescale_with_baseline=config.rescale_with_baseline,
            baseline_path=config.baseline_path,
            lang=config.lang,
            **kwargs,
        )

    # ------------------------------------------------------------------ loading
    def _load(self, model: str, model_dir: str | os.PathLike | None, device: str | None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        folder = resolve_model(model, model_dir)
        try:
            tok = AutoTokenizer.from_pretrained(str(folder))
            if type(tok).__name__.removesuffix("Fast") in _PREFIX_SPACE_TOKENIZERS:
                tok = AutoTokenizer.from_pretrained(str(folder), add_prefix_space=True)
            net = AutoModel.from_pretrained(str(folder))
        except OSError as e:
            raise ModelNotFoundError(
                f"could not load the BERTScore model {model!r} from {folder}: {e}\n"
                f"  the folder needs config.json, the tokenizer files and the weights "
                f"(model.safetensors or pytorch_model.bin); on a connected machine: "
                f"radgrpo models download {model}"
            ) from e
        net = _truncate_layers(net, self.num_layers)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        net.to(self.device, dtype=getattr(torch, self.dtype)).eval()
        self.tokenizer = tok
        self.model = net
        limit = getattr(tok, "model_max_length", None)
        if not limit or limit > 100_000:
            limit = int(getattr(net.config, "max_position_embeddings", 512))
            if "roberta" in str(getattr(net.config, "model_type", "")):
                limit -= 2  # RoBERTa positions start after the padding index
        self.max_length = int(limit)
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
        self.special_ids = {i for i in (tok.cls_token_id, tok.sep_token_id) if i is not None}

    # ------------------------------------------------------------------ encoding
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as bert-score encodes them (stripped text, special tokens, truncation at ``max_length``).

        Args:
            texts: strings.
        Returns:
            one id list per text.
        """
        stripped = [t.strip() for t in texts]
        if not stripped:
            return []
        enc = self.tokenizer(stripped, add_special_tokens=True, truncation=True, max_length=self.max_length)
        return [list(ids) for ids in enc["input_ids"]]

    def _weights(self, ids: list[int]) -> Any:
        import torch

        if self._idf is None:
            w = [0.0 if i in self.special_ids else 1.0 for i in ids]
        else:
            w = [self._idf.get(i, self._idf_unseen) for i in ids]
        return torch.tensor(w, dtype=torch.float32, device=self.device)

    def _forward(self, id_lists: list[list[int]]) -> list[Any]:
        """Normalised float32 embeddings (one ``[len, dim]`` tensor per id list), in length-bucketed batches."""
        import torch

        order = sorted(range(len(id_lists)), key=lambda i: len(id_lists[i]))
        out: list[Any] = [None] * len(id_lists)
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and end - start < self.max_batch
                and (end - start + 1) * len(id_lists[order[end]]) <= self.batch_tokens
            ):
                end += 1
            idx = order[start:end]
            width = len(id_lists[idx[-1]])
            ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, : len(id_lists[i])] = torch.tensor(id_lists[i], dtype=torch.long)
                mask[r, : len(id_lists[i])] = 1
            with torch.inference_mode():
                hid = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device))[0].float()
                hid = hid / hid.norm(dim=-1, keepdim=True)
            for r, i in enumerate(idx):
                out[i] = hid[r, : len(id_lists[i])].clone()
            start = end
        return out

    def embed(self, texts: Sequence[str], cache: bool = False) -> list[tuple[Any, Any]]:
        """``(normalised embeddings [len, dim], token weights [len])`` per text; unique texts are encoded once.

        Args:
            texts: strings.
            cache: read and fill the reference LRU cache (used for references).
        Returns:
            one pair of tensors per text (on the scorer's device).
        """
        result: dict[str, tuple[Any, Any]] = {}
        todo: list[str] = []
        for t in dict.fromkeys(texts):
            if cache and t in self._cache:
                self._cache.move_to_end(t)
                result[t] = self._cache[t]
                self.cache_hits += 1
            else:
                todo.append(t)
        if todo:
            ids = self.tokenize(todo)
            embs = self._forward(ids)
            for t, i, e in zip(todo, ids, embs):
                result[t] = (e, self._weights(i))
                if cache and self.ref_cache_size > 0:
                    self.cache_misses += 1
                    self._cache[t] = result[t]
                    if len(self._cache) > self.ref_cache_size:
                        self._cache.popitem(last=False)
        return [result[t] for t in texts]

    # ------------------------------------------------------------------ scoring
    def score(
        self, refs: Sequence[str], hyps: Sequence[str], pair_batch: int = 256
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-pair ``(P, R, F)`` (rescaled when the scorer has a baseline).

        Args:
            refs: reference texts.
            hyps: candidate texts, one per reference.
            pair_batch: pairs per similarity batch.
        Returns:
            three float64 arrays of shape ``(len(hyps),)``.
        Raises:
            ValueError: lengths differ; TypeError: a non-string input.
        """
        import torch

        refs, hyps = _check_pairs(refs, hyps)
        n = len(hyps)
        prf = np.zeros((n, 3), dtype=np.float64)
        if n == 0:
            return prf[:, 0], prf[:, 1], prf[:, 2]
        r_stats = self.embed(refs, cache=True)
        h_stats = self.embed(hyps)
        for s in range(0, n, pair_batch):
            hs, rs = h_stats[s : s + pair_batch], r_stats[s : s + pair_batch]
            he, hw, hm = _pad([e for e, _ in hs], [w for _, w in hs])
            re_, rw, rm = _pad([e for e, _ in rs], [w for _, w in rs])
            with torch.inference_mode():
                sim = torch.bmm(he, re_.transpose(1, 2))
                sim = sim.masked_fill(~(hm[:, :, None] & rm[:, None, :]), _COS_FLOOR)
                p = (sim.max(dim=2).values * hw).sum(1).double() / hw.sum(1).double()
                r = (sim.max(dim=1).values * rw).sum(1).double() / rw.sum(1).double()
                f = 2 * p * r / (p + r)
                empty = (hm.sum(1) <= 2) | (rm.sum(1) <= 2)  # only the two special tokens (bert-score's rule)
                block = torch.stack([p, r, f], dim=1)
                block = torch.nan_to_num(block, nan=0.0).masked_fill(empty[:, None], 0.0)
            prf[s : s + len(hs)] = block.cpu().numpy()
        if self.baseline is not None:
            prf = rescale(prf, self.baseline)
        return prf[:, 0], prf[:, 1], prf[:, 2]

    def __call__(self, refs: Sequence[str], hyps: Sequence[str]) -> np.ndarray:
        """Per-pair F1 (the value RadCliQ and the rewards use)."""
        return self.score(refs, hyps)[2]


def _pad(embs: list[Any], weights: list[Any]) -> tuple[Any, Any, Any]:
    import torch

    n, width, dim = len(embs), max(e.shape[0] for e in embs), embs[0].shape[1]
    e_pad = embs[0].new_zeros((n, width, dim))
    w_pad = weights[0].new_zeros((n, width))
    m_pad = torch.zeros((n, width), dtype=torch.bool, device=embs[0].device)
    for i, (e, w) in enumerate(zip(embs, weights)):
        e_pad[i, : e.shape[0]] = e
        w_pad[i, : e.shape[0]] = w
        m_pad[i, : e.shape[0]] = True
    return e_pad, w_pad, m_pad


def _check_pairs(refs: Sequence[str], hyps: Sequence[str]) -> tuple[list[str], list[str]]:
    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"refs and hyps must have the same length, got {len(refs)} and {len(hyps)}")
    for name, xs in (("refs", refs), ("hyps", hyps)):
        bad = [i for i, x in enumerate(xs) if not isinstance(x, str)]
        if bad:
            raise TypeError(f"{name}[{bad[0]}] is {type(xs[bad[0]]).__name__}, not str")
    return refs, hyps


_SCORERS: dict[tuple, BERTScorer] = {}


def score_bertscore(
    refs: Sequence[str],
    hyps: Sequence[str],
    model: str,
    num_layers: int,
    idf: bool = False,
    baseline_path: str | os.PathLike | None = None,
    rescale_with_baseline: bool = False,
    model_dir: str | os.PathLike | None = None,
) -> np.ndarray:
    """Per-pair BERTScore F1, as ``bert_score.score(hyps, refs, model_type=model, num_layers=num_layers, ...)``.

    Args:
        refs: references.
        hyps: candidates.
        model: spec name, hub id or local folder.
        num_layers: the layer used.
        idf: IDF weights from ``refs`` of this call (bert-score's ``score(idf=True)``; batch-dependent by
            definition: use :class:`BERTScorer` with a fixed ``idf_sents`` for rewards).
        baseline_path: rescale with this baseline file.
        rescale_with_baseline: rescale with the baseline bundled with bert-score for ``model``.
        model_dir: explicit local model folder.
    Returns:
        float64 array of F1 values, shape ``(len(hyps),)``.

    Example:
        >>> score_bertscore(["a"], ["a", "b"], "distilroberta-base", 5)
        Traceback (most recent call last):
        ...
        ValueError: refs and hyps must have the same length, got 1 and 2
    """
    refs, hyps = _check_pairs(refs, hyps)
    key = (model, int(num_layers), str(baseline_path), rescale_with_baseline, str(model_dir))
    if key not in _SCORERS:
        _SCORERS[key] = BERTScorer(
            model,
            num_layers,
            rescale_with_baseline=rescale_with_baseline,
            baseline_path=baseline_path,
            model_dir=model_dir,
        )
    scorer = _SCORERS[key].with_idf(refs) if idf else _SCORERS[key]
    return scorer.score(refs, hyps)[2]


def score_bertscore_named(
    refs: Sequence[str], hyps: Sequence[str], name: str = "bertscore", model_dir: str | os.PathLike | None = None
) -> np.ndarray:
    """Per-pair F1 of a named configuration (``bertscore`` = the paper's evaluation, ``bertscore_radcliq``).

    The scorer is loaded once per (name, model_dir) and kept for later calls.

    Args:
        refs: references.
        hyps: candidates.
        name: key of :data:`NAMED_CONFIGS`.
        model_dir: explicit local model folder.
    Returns:
        float64 array of rescaled F1 values.

    Example:
        >>> score_bertscore_named(["a"], ["a"], name="bertscore_large")
        Traceback (most recent call last):
        ...
        KeyError: "unknown BERTScore configuration 'bertscore_large'; known: ['bertscore', 'bertscore_radcliq']"
    """
    if name not in NAMED_CONFIGS:
        raise KeyError(f"unknown BERTScore configuration {name!r}; known: {sorted(NAMED_CONFIGS)}")
    refs, hyps = _check_pairs(refs, hyps)
    key = ("named", name, str(model_dir))
    if key not in _SCORERS:
        _SCORERS[key] = BERTScorer.from_config(name, model_dir=model_dir)
    return _SCORERS[key](refs, hyps)
