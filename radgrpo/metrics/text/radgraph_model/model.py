"""Our batched PyTorch RadGraph: BERT encoder, span enumeration, NER scorer, pruned relation scorer, decoding.

What it is: a re-implementation (not a copy) of the inference path of the DyGIE++ model the ``radgraph`` package
(0.1.18) runs for RadGraph v1 and RadGraph-XL, loading the same ``weights.th``, and batched over many reports:

1. words: :func:`~.preprocess.tokenize_report`; wordpieces: the backbone tokenizer applied to each word alone (as
   AllenNLP's ``intra_word_tokenize``); a report longer than ``max_length`` wordpieces is folded into segments of
   ``max_length - 2`` wordpieces, each wrapped in ``[CLS] ... [SEP]`` and encoded independently (AllenNLP's
   ``PretrainedTransformerEmbedder`` folding). All segments of a batch go through BERT in one padded call.
2. word vector = mean of its wordpieces' last-layer vectors (zero for a word without wordpieces).
3. spans: every ``(start, end)`` of width <= ``max_span_width`` words; span vector =
   ``[word[start], word[end], width_embedding[end - start]]`` (EndpointSpanExtractor ``"x,y"`` + width).
4. NER: ``FF -> Linear`` gives scores of the non-null labels, the null label scores 0; label = argmax.
5. relations: the pruner (``FF -> Linear -> 1``) keeps the ``ceil(n_words * spans_per_word)`` best spans, in span
   order; every ordered pair (i, j) of kept spans, the diagonal included, scores
   ``Linear(FF([a, b, a * b])) + m_i + m_j`` against a null score 0; label = argmax.
6. decoding to the package's dict (:func:`~.decode.build_annotation`).

Spans and span pairs of all reports are processed flat (no padding), so a report's result does not depend on the
other reports in its batch beyond float rounding inside BERT's padded matmuls. The first relation layer is computed as
``W_a a + W_b b + W_ab (a * b)`` (identical in exact arithmetic to ``W [a; b; a * b]``, 3x less memory).

Differences from the peer, all on inputs where the peer fails: a report with no words after tokenisation (only
whitespace) gets no entities (the peer raises); reports are scored in any batch size (the peer is hard-wired to 1).

radgraph 0.1.18 ``dygie/models/{dygie,ner,relation,entity_beam_pruner}.py``; docs/metrics.md#radgraph-f1.

Example (needs an archive; see ``tiny.py`` for a random one with the public layout):
    >>> rg = load_radgraph("radgraph-xl")  # doctest: +SKIP
    >>> rg(["no acute cardiopulmonary process"])["0"]["entities"]["1"]["label"]  # doctest: +SKIP
    'Observation::definitely absent'
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from radgrpo.metrics.text.radgraph_model.archive import (
    ARCHIVE_FILES,
    DROPPABLE_SUFFIXES,
    EMBEDDER_PREFIX,
    WEIGHTS_FILE,
    LabelSpace,
    RadGraphConfig,
    load_config,
    locate_archive,
    locate_backbone,
    num_spans_to_keep,
    peer_to_ours,
    read_vocabulary,
    vocabulary_from_lines,
)
from radgrpo.metrics.text.radgraph_model.decode import build_annotation
from radgrpo.metrics.text.radgraph_model.preprocess import (
    normalize_word,
    span_grid,
    tokenization_for_model,
    tokenize_report,
)


def _feedforward(in_dim: int, dims: Sequence[int]) -> nn.ModuleList:
    layers, d = [], in_dim
    for h in dims:
        layers.append(nn.Linear(d, h))
        d = h
    return nn.ModuleList(layers)


def _run_ff(layers: nn.ModuleList, x: torch.Tensor, start: int = 0) -> torch.Tensor:
    for layer in layers[start:]:
        x = torch.relu(layer(x))
    return x


class RadGraphModel(nn.Module):
    """The DyGIE RadGraph network (inference only): backbone + span width embedding + NER, pruner, relation heads.

    Args:
        cfg: archive hyperparameters.
        labels: the label space of the dataset the heads belong to.
        bert_config: the backbone's transformers config (weights come from ``weights.th``).
    """

    def __init__(self, cfg: RadGraphConfig, labels: LabelSpace, bert_config) -> None:
        super().__init__()
        from transformers import AutoModel

        self.cfg, self.labels = cfg, labels
        self.bert = AutoModel.from_config(bert_config)
        hidden = bert_config.hidden_size
        span = 2 * hidden + cfg.feature_size
        dims = cfg.ff_hidden_dims
        self.width_embedding = nn.Embedding(cfg.num_width_embeddings, cfg.feature_size)
        self.ner_ff = _feedforward(span, dims)
        self.ner_out = nn.Linear(dims[-1], len(labels.ner_labels) - 1)
        self.prune_ff = _feedforward(span, dims)
        self.prune_out = nn.Linear(dims[-1], 1)
        self.rel_ff = _feedforward(3 * span, dims)
        self.rel_out = nn.Linear(dims[-1], len(labels.relation_labels))
        self.span_dim = span
        self.eval()

    def load_peer_state_dict(self, state: dict[str, torch.Tensor]) -> list[str]:
        """Load a peer ``weights.th`` state dict (exact key names), strictly.

        Args:
            state: the peer state dict.
        Returns:
            the recognised peer keys that were not used (coreference and event modules).
        Raises:
            ValueError: unknown keys, missing parameters or shape mismatches, listed.
        """
        mapped, ignored, unknown = {}, [], []
        for key, value in state.items():
            if key.startswith(EMBEDDER_PREFIX) and key.endswith(DROPPABLE_SUFFIXES):
                continue
            try:
                ours = peer_to_ours(key, self.labels)
            except KeyError:
                unknown.append(key)
                continue
            if ours is None:
                ignored.append(key)
            else:
                mapped[ours] = value
        if unknown:
            raise ValueError(f"weights.th has {len(unknown)} keys the RadGraph layout lacks: {unknown[:8]}")
        try:
            result = self.load_state_dict(mapped, strict=False)
        except RuntimeError as e:  # shape mismatch
            raise ValueError(f"weights.th does not fit the config/vocabulary: {e}") from e
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(
                f"weights.th mismatch: missing {result.missing_keys[:8]}, unexpected {result.unexpected_keys[:8]}"
            )
        return ignored

    # ------------------------------------------------------------------------------------------------- forward
    def span_embeddings(self, word_emb: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
        """``[word[start], word[end], width_embedding[end - start]]`` for flat global word indices."""
        return torch.cat([word_emb[starts], word_emb[ends], self.width_embedding(ends - starts)], dim=-1)

    def ner_scores(self, spans: torch.Tensor) -> torch.Tensor:
        """(n_spans, n_ner_labels) scores, column 0 = the null label's constant 0."""
        logits = self.ner_out(_run_ff(self.ner_ff, spans))
        return torch.cat([logits.new_zeros(logits.shape[0], 1), logits], dim=-1)

    def mention_scores(self, spans: torch.Tensor) -> torch.Tensor:
        """(n_spans,) relation-pruner scores."""
        return self.prune_out(_run_ff(self.prune_ff, spans)).squeeze(-1)

    def relation_scores(
        self, spans: torch.Tensor, mention: torch.Tensor, src: torch.Tensor, dst: torch.Tensor
    ) -> torch.Tensor:
        """(n_pairs, 1 + n_relation_labels) scores of the pairs (src[k], dst[k]); column 0 = null (0).

        ``FF([a, b, a * b])`` with the first layer split as ``W_a a + W_b b + W_ab (a * b)``, then the scorer,
        plus the two spans' mention scores.
        """
        first = cast(nn.Linear, self.rel_ff[0])  # nn.ModuleList is not generic: its items are typed as Module
        s = self.span_dim
        w = first.weight
        proj_a = spans @ w[:, :s].T
        proj_b = spans @ w[:, s : 2 * s].T
        pre = proj_a[src] + proj_b[dst] + (spans[src] * spans[dst]) @ w[:, 2 * s :].T + first.bias
        hidden = _run_ff(self.rel_ff, torch.relu(pre), start=1)
        logits = self.rel_out(hidden) + (mention[src] + mention[dst]).unsqueeze(-1)
        return torch.cat([logits.new_zeros(logits.shape[0], 1), logits], dim=-1)


@dataclass
class _Doc:
    words: list[str]
    wordpieces: list[int]  # content wordpieces (no special tokens)
    word_to_wp: list[tuple[int, int]]  # inclusive content offsets per word; (-1, -1) when a word has none


class RadGraph:
    """Batched RadGraph annotator with the ``radgraph`` package's call signature and output format.

    ``RadGraph(texts)`` -> ``{"0": annotation, "1": ...}`` (empty strings are annotated as ``"None"``, as the
    package does). Build it with :func:`load_radgraph`.

    Args:
        net: the loaded :class:`RadGraphModel`.
        tokenizer: the backbone's HF tokenizer.
        tokenization: ``"v1"`` or ``"xl"`` word tokenisation.
        device: torch device.
        batch_size: reports per forward pass (sorted by length first).
        max_pairs: span pairs per relation-scoring chunk (memory bound).
    """

    def __init__(
        self,
        net: RadGraphModel,
        tokenizer,
        tokenization: str,
        device: torch.device | str = "cpu",
        batch_size: int = 32,
        max_pairs: int = 32768,
    ) -> None:
        self.net, self.tokenizer, self.tokenization = net, tokenizer, tokenization
        self.device = torch.device(device)
        self.batch_size, self.max_pairs = batch_size, max_pairs
        with_special = tokenizer("a", add_special_tokens=True)["input_ids"]
        plain = tokenizer("a", add_special_tokens=False)["input_ids"]
        at = next(i for i in range(len(with_special)) if with_special[i : i + len(plain)] == plain)
        self.prefix, self.suffix = with_special[:at], with_special[at + len(plain) :]
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._wordpieces: dict[str, list[int]] = {}

    def __call__(self, texts: str | Sequence[str]) -> dict[str, dict]:
        """Annotate reports; keys are the input positions as strings (the package's format)."""
        if isinstance(texts, str):
            texts = [texts]
        return {str(i): a for i, a in enumerate(self.annotate(texts))}

    def annotate(self, texts: Sequence[str], batch_size: int | None = None) -> list[dict]:
        """One annotation dict per report, in input order.

        Args:
            texts: reports (an empty string is annotated as ``"None"``, as the package does).
            batch_size: reports per forward pass (default: the instance's).
        Returns:
            list of annotation dicts (``text``, ``entities``, ``data_source``, ``data_split``).
        """
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("RadGraph.annotate expects a list of strings")
        words = [tokenize_report(t if t else "None", self.tokenization) for t in texts]
        docs = self._prepare(words)
        order = sorted(range(len(docs)), key=lambda i: len(docs[i].wordpieces))
        bs = batch_size or self.batch_size
        by_position: dict[int, dict] = {}
        for k in range(0, len(order), bs):
            chunk = order[k : k + bs]
            for i, (ents, rels) in zip(chunk, self.predict([docs[i] for i in chunk])):
                by_position[i] = build_annotation(docs[i].words, ents, rels)
        return [by_position[i] for i in range(len(docs))]

    # --------------------------------------------------------------------------------------------- internals
    def _prepare(self, words: list[list[str]]) -> list[_Doc]:
        new = {normalize_word(w) for ws in words for w in ws} - self._wordpieces.keys()
        if new:
            if len(self._wordpieces) > 500_000:
                self._wordpieces.clear()
            new_words = sorted(new)
            ids = self.tokenizer(new_words, add_special_tokens=False)["input_ids"]
            self._wordpieces.update(zip(new_words, ids))
        docs = []
        for ws in words:
            wps: list[int] = []
            offsets = []
            for w in ws:
                ids = self._wordpieces[normalize_word(w)]
                offsets.append((len(wps), len(wps) + len(ids) - 1) if ids else (-1, -1))
                wps.extend(ids)
            docs.append(_Doc(ws, wps, offsets))
        return docs

    def _segments(self, doc: _Doc) -> list[list[int]]:
        max_len = self.net.cfg.max_length
        if max_len is None:
            return [self.prefix + doc.wordpieces + self.suffix]
        step = max_len - len(self.prefix) - len(self.suffix)
        return [self.prefix + doc.wordpieces[i : i + step] + self.suffix for i in range(0, len(doc.wordpieces), step)]

    @torch.inference_mode()
    def word_embeddings(self, docs: Sequence[_Doc]) -> tuple[torch.Tensor, list[int]]:
        """Word vectors of all docs, flat: (total_words, hidden) and each doc's first row."""
        net, dev = self.net, self.device
        segs, owner = [], []
        for d, doc in enumerate(docs):
            if doc.words and doc.wordpieces:
                for seg in self._segments(doc):
                    segs.append(seg)
                    owner.append(d)
        hidden_size = net.bert.config.hidden_size
        word_starts, total = [], 0
        for doc in docs:
            word_starts.append(total)
            total += len(doc.words)
        dtype = next(net.parameters()).dtype
        if not segs:
            return torch.zeros(total, hidden_size, device=dev, dtype=dtype), word_starts
        width = max(len(s) for s in segs)
        ids = torch.full((len(segs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(segs), width), dtype=torch.long)
        for r, seg in enumerate(segs):
            ids[r, : len(seg)] = torch.tensor(seg)
            mask[r, : len(seg)] = 1
        hidden = net.bert(input_ids=ids.to(dev), attention_mask=mask.to(dev)).last_hidden_state
        flat = hidden.reshape(-1, hidden_size)
        # content wordpieces of every doc, in order: skip each segment's special tokens
        rows: list[int] = []
        wp_word: list[int] = []
        seg_row = 0
        n_pre, n_suf = len(self.prefix), len(self.suffix)
        segs_of = Counter(owner)
        for d, doc in enumerate(docs):
            if not (doc.words and doc.wordpieces):
                continue
            n_segs = segs_of[d]
            for s in range(seg_row, seg_row + n_segs):
                n_content = len(segs[s]) - n_pre - n_suf
                rows.extend(range(s * width + n_pre, s * width + n_pre + n_content))
            seg_row += n_segs
            for w, (a, b) in enumerate(doc.word_to_wp):
                if a >= 0:
                    wp_word.extend([word_starts[d] + w] * (b - a + 1))
        pieces = flat[torch.tensor(rows, device=dev)]
        index = torch.tensor(wp_word, device=dev)
        sums = torch.zeros(total, hidden_size, device=dev, dtype=pieces.dtype).index_add_(0, index, pieces)
        counts = torch.zeros(total, device=dev, dtype=pieces.dtype).index_add_(
            0, index, torch.ones_like(index, dtype=pieces.dtype)
        )
        return sums / counts.clamp_min(1).unsqueeze(-1), word_starts

    @torch.inference_mode()
    def predict(self, docs: Sequence[_Doc]) -> list[tuple[list, list]]:
        """Entities ``(start, end, label)`` and relations ``(s1, e1, s2, e2, label)`` per doc (peer order).

        Spans are handled as flat index arrays (numpy on the host, one tensor on the device); only the non-null
        entity and relation labels come back to the host, so the Python work per report is proportional to what it
        contains, not to its (quadratic) number of span pairs.
        """
        net, dev, cfg = self.net, self.device, self.net.cfg
        word_emb, word_starts = self.word_embeddings(docs)
        grids = [span_grid(len(doc.words), cfg.max_span_width) for doc in docs]
        counts = np.array([g.shape[1] for g in grids], dtype=np.int64)
        results: list[tuple[list, list]] = [([], []) for _ in docs]
        if not counts.sum():
            return results
        local = np.concatenate(grids, axis=1)  # (2, n_spans): doc-local start / end words
        glob = local + np.repeat(np.asarray(word_starts, dtype=np.int64), counts)[None, :]
        span_first = np.concatenate([[0], np.cumsum(counts)])  # global row of each doc's first span
        glob_t = torch.from_numpy(glob).to(dev)
        spans = net.span_embeddings(word_emb, glob_t[0], glob_t[1])
        ner = net.ner_scores(spans).max(dim=-1).indices
        ent_rows = ner.nonzero().squeeze(1)
        ent_rows_l, ent_labels = torch.stack([ent_rows, ner[ent_rows]]).cpu().tolist()  # one device -> host copy
        mention = net.mention_scores(spans)
        # per doc: the pruner's kept spans (global span rows, in span order) and their ordered pairs
        src_parts, dst_parts = [], []
        for d in range(len(docs)):
            n = int(counts[d])
            keep = num_spans_to_keep(len(docs[d].words), cfg.spans_per_word)
            if n and keep:
                first = int(span_first[d])
                top = mention[first : first + n].topk(max(keep, 1)).indices.sort().values + first
                k = top.numel()
                src_parts.append(top.repeat_interleave(k))
                dst_parts.append(top.repeat(k))
        rel_src: list[int] = []
        rel_dst: list[int] = []
        rel_lab: list[int] = []
        if src_parts:
            src, dst = torch.cat(src_parts), torch.cat(dst_parts)
            for a in range(0, src.numel(), self.max_pairs):
                s_, d_ = src[a : a + self.max_pairs], dst[a : a + self.max_pairs]
                labels = net.relation_scores(spans, mention, s_, d_).max(dim=-1).indices - 1
                hit = (labels >= 0).nonzero().squeeze(1)
                s_h, d_h, l_h = torch.stack([s_[hit], d_[hit], labels[hit]]).cpu().tolist()  # one copy per chunk
                rel_src += s_h
                rel_dst += d_h
                rel_lab += l_h
        ner_names, rel_names = net.labels.ner_labels, net.labels.relation_labels
        starts_l, ends_l = local[0].tolist(), local[1].tolist()
        ent_docs = np.searchsorted(span_first, ent_rows_l, side="right") - 1 if ent_rows_l else []
        for r, lab, d in zip(ent_rows_l, ent_labels, ent_docs):
            results[d][0].append((starts_l[r], ends_l[r], ner_names[lab]))
        rel_docs: np.ndarray | list[int] = np.searchsorted(span_first, rel_src, side="right") - 1 if rel_src else []
        for a, b_, lab, d in zip(rel_src, rel_dst, rel_lab, rel_docs):
            results[d][1].append((starts_l[a], ends_l[a], starts_l[b_], ends_l[b_], rel_names[lab]))
        return results


def load_radgraph(
    model: str = "radgraph-xl",
    model_dir: str | os.PathLike | None = None,
    backbone_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 32,
    dtype: torch.dtype = torch.float32,
    dataset: str | None = None,
    tokenization: str | None = None,
) -> RadGraph:
    """Load a RadGraph archive (public ``.tar.gz``, its extracted folder, or a tiny one) into :class:`RadGraph`.

    Args:
        model: ``"radgraph-xl"`` (default, as the package) or ``"radgraph"`` (v1); names the archive to look for,
            the dataset namespace and the word tokenisation.
        model_dir: explicit archive / folder (see :func:`~.archive.locate_archive`).
        backbone_dir: explicit folder with the backbone's ``config.json`` + tokenizer files (default: resolve the
            id named in ``config.json`` through ``radgrpo.metrics.loaders``).
        device: torch device (default: cuda when available, else cpu).
        batch_size: reports per forward pass.
        dtype: parameter dtype (float32 as the peer; bfloat16 on GPU is faster, results may differ near ties).
        dataset: vocabulary dataset prefix (default: ``model`` when present in the vocabulary, else the only one).
        tokenization: ``"v1"``/``"xl"`` (default: by ``model``, as the package).
    Returns:
        a :class:`RadGraph` annotator.
    Raises:
        ModelNotFoundError: archive or backbone missing (the message says what to download and where).
    """
    from transformers import AutoConfig, AutoTokenizer

    folder = locate_archive(model, model_dir)
    cfg = load_config(folder)
    vocab = read_vocabulary(Path(folder) / "vocabulary")
    if dataset is None and f"{model}__ner_labels" in vocab:
        dataset = model
    labels = vocabulary_from_lines(vocab, dataset)
    backbone = locate_backbone(cfg.model_name, backbone_dir)
    bert_config = AutoConfig.from_pretrained(backbone)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    net = RadGraphModel(cfg, labels, bert_config)
    state = torch.load(Path(folder) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    net.load_peer_state_dict(state)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    net.to(device=device, dtype=dtype)
    tok_kind = tokenization or tokenization_for_model(model if model in ARCHIVE_FILES else labels.dataset)
    return RadGraph(net, tokenizer, tok_kind, device=device, batch_size=batch_size)
