"""RadGraph F1 from annotations (simple / partial / complete / RadCliQ's combined) and a batched, cached scorer.

What it is: the per-pair F1 arithmetic of the two peers, re-implemented, on annotations in the ``radgraph``
package's output format, plus :class:`RadGraphScorer`, which annotates reports with our batched model
(``radgrpo.metrics.text.radgraph_model``) and scores (refs, hyps). What it is not: the model.

Levels (docs/metrics.md#radgraph-f1; radgraph 0.1.18 ``rewards.py``, CXR-Report-Metric
``radgraph_evaluate_model.py``):

- ``simple``: set of ``(tokens, label)`` over entities.
- ``partial`` (RG_ER, the one "reported widely"): ``(tokens, label)`` for entities without relations,
  ``(tokens, label, True)`` for entities with at least one.
- ``complete``: ``(tokens, label)`` for entities without relations; for each relation of an entity
  ``(tokens.lower(), label, relation_type, target_tokens.lower())`` (the entity itself is then not listed).
  For these three: P = |H ∩ R| / |H|, R = |H ∩ R| / |R|, F1 = 2PR / (P + R) (0 when P + R = 0), and
  **0 at every level when either report has no entities**; :class:`RadGraphScorer` also gives 0 without parsing when
  either string is empty (F1RadGraph's rule).
- ``radcliq``: (entity F1 + relation F1) / 2 with entities ``{(tokens, label)}`` and relations
  ``{((tokens, label), (target_tokens, target_label), type)}``; each F1 is 0 when both its sets are empty, so an exact
  match without relations scores 0.5. RadCliQ-v1's RadGraph feature (v1 model).

``lowercase=True`` lowercases tokens at every level (the unreleased upstream radgraph PR #15); off by default to
match radgraph 0.1.18, where simple/partial are case-sensitive and complete lowercases only relation tuples.

Example:
    >>> ref = {"entities": {"1": {"tokens": "edema", "label": "OBS-DP", "relations": []}}}
    >>> hyp = {"entities": {"1": {"tokens": "edema", "label": "OBS-DP", "relations": []},
    ...                     "2": {"tokens": "effusion", "label": "OBS-DP", "relations": []}}}
    >>> radgraph_f1([ref], [hyp], "simple").round(6).tolist()   # P = 1/2, R = 1
    [0.666667]
    >>> radgraph_f1([ref], [ref], "radcliq").tolist()          # exact match, no relations
    [0.5]
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the model module imports torch; load it only when the scorer first needs it
    from radgrpo.metrics.text.radgraph_model.model import RadGraph

LEVELS = ("simple", "partial", "complete", "radcliq")
F1RADGRAPH_LEVELS = ("simple", "partial", "complete")


def _entities(annotation: Mapping) -> Mapping:
    try:
        entities = annotation["entities"]
    except (KeyError, TypeError):
        raise ValueError(f"not a RadGraph annotation (no 'entities'): {str(annotation)[:80]}") from None
    if not isinstance(entities, Mapping):
        raise ValueError("RadGraph annotation 'entities' must be a dict id -> entity")
    return entities


def _tok(entity: Mapping, lowercase: bool) -> str:
    return entity["tokens"].lower() if lowercase else entity["tokens"]


def _target(entities: Mapping, relation: Sequence, source_id: str) -> Mapping:
    try:
        return entities[relation[1]]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"entity {source_id} has a relation {relation!r} to an unknown entity id") from None


def entity_set(annotation: Mapping, level: str, lowercase: bool = False) -> set:
    """The set F1RadGraph compares at ``level`` (``simple``, ``partial`` or ``complete``).

    Args:
        annotation: one report's annotation (``{"entities": {id: {"tokens", "label", "relations"}}}``).
        level: ``simple`` | ``partial`` | ``complete``.
        lowercase: lowercase tokens everywhere (upstream PR #15 behaviour).
    Returns:
        set of tuples (see the module docstring).

    Example:
        >>> ann = {"entities": {"1": {"tokens": "Effusion", "label": "OBS-DP", "relations": [["located_at", "2"]]},
        ...                     "2": {"tokens": "pleural", "label": "ANAT-DP", "relations": []}}}
        >>> sorted(entity_set(ann, "partial"), key=str)
        [('Effusion', 'OBS-DP', True), ('pleural', 'ANAT-DP')]
        >>> sorted(entity_set(ann, "complete"), key=str)
        [('effusion', 'OBS-DP', 'located_at', 'pleural'), ('pleural', 'ANAT-DP')]
    """
    entities = _entities(annotation)
    out: set = set()
    for eid, e in entities.items():
        tokens, label, rels = _tok(e, lowercase), e["label"], e.get("relations") or []
        if level == "simple" or not rels:
            out.add((tokens, label))
        elif level == "partial":
            out.add((tokens, label, True))
        elif level == "complete":
            out.update((e["tokens"].lower(), label, r[0], _target(entities, r, eid)["tokens"].lower()) for r in rels)
        else:
            raise ValueError(f"unknown F1RadGraph level {level!r}; expected one of {F1RADGRAPH_LEVELS}")
    return out


def radcliq_sets(annotation: Mapping, lowercase: bool = False) -> tuple[set, set]:
    """CXR-Report-Metric's entity set ``{(tokens, label)}`` and relation set ``{(src, dst, type)}``.

    Example:
        >>> ann = {"entities": {"1": {"tokens": "effusion", "label": "OBS-DP", "relations": [["located_at", "2"]]},
        ...                     "2": {"tokens": "pleural", "label": "ANAT-DP", "relations": []}}}
        >>> radcliq_sets(ann)[1]
        {(('effusion', 'OBS-DP'), ('pleural', 'ANAT-DP'), 'located_at')}
    """
    entities = _entities(annotation)
    ents, rels = set(), set()
    for eid, e in entities.items():
        ents.add((_tok(e, lowercase), e["label"]))
        for r in e.get("relations") or []:
            t = _target(entities, r, eid)
            rels.add(((_tok(e, lowercase), e["label"]), (_tok(t, lowercase), t["label"]), r[0]))
    return ents, rels


def _f1radgraph(hyp: set, ref: set) -> float:
    # radgraph 0.1.18 rewards.py order of float operations (bit-equal results)
    tp_h = sum(1 for x in hyp if x in ref)
    precision = tp_h / len(hyp) if len(hyp) > 0 else 0.0
    tp_r = sum(1 for x in ref if x in hyp)
    recall = tp_r / len(ref) if len(ref) > 0 else 0.0
    return 2 * precision * recall / (precision + recall) if (precision + recall) > 0 else 0.0


def set_f1(test: set, retrieved: set) -> float:
    """CXR-Report-Metric ``compute_f1``: F1 of two sets, 0 when undefined (both empty included).

    Example:
        >>> set_f1({1, 2}, {2, 3}), set_f1(set(), set())
        (0.5, 0)
    """
    tp = len(test & retrieved)
    fp, fn = len(retrieved) - tp, len(test) - tp
    precision = tp / (tp + fp) if tp + fp != 0 else 0
    recall = tp / (tp + fn) if tp + fn != 0 else 0
    return 2 * precision * recall / (precision + recall) if precision + recall != 0 else 0


def pair_f1(ref: Mapping, hyp: Mapping, level: str, lowercase: bool = False) -> float:
    """RadGraph F1 of one (reference, hypothesis) annotation pair at ``level``.

    Args:
        ref: reference annotation.
        hyp: hypothesis annotation.
        level: ``simple`` | ``partial`` | ``complete`` | ``radcliq``.
        lowercase: lowercase tokens everywhere (upstream PR #15).
    Returns:
        the F1 in [0, 1].

    Example:
        >>> a = {"entities": {"1": {"tokens": "edema", "label": "OBS-DP", "relations": []}}}
        >>> pair_f1(a, {"entities": {}}, "simple"), pair_f1(a, a, "complete")
        (0.0, 1.0)
    """
    if level == "radcliq":
        (re, rr), (he, hr) = radcliq_sets(ref, lowercase), radcliq_sets(hyp, lowercase)
        return (set_f1(re, he) + set_f1(rr, hr)) / 2
    if level not in F1RADGRAPH_LEVELS:
        raise ValueError(f"unknown RadGraph F1 level {level!r}; expected one of {LEVELS}")
    if len(_entities(hyp)) == 0 or len(_entities(ref)) == 0:
        return 0.0
    return _f1radgraph(entity_set(hyp, level, lowercase), entity_set(ref, level, lowercase))


def _as_list(annotations) -> list:
    if isinstance(annotations, Mapping):  # the package's {"0": ann, "1": ann, ...}
        if "entities" in annotations:
            return [annotations]
        return [annotations[k] for k in sorted(annotations, key=int)]
    return list(annotations)


def radgraph_f1(ref_annotations, hyp_annotations, level: str = "partial", lowercase: bool = False) -> np.ndarray:
    """Per-pair RadGraph F1 from annotations in the ``radgraph`` package's output format.

    Args:
        ref_annotations: reference annotations: a list of per-report dicts, or the package's ``{"0": ..., ...}``.
        hyp_annotations: hypothesis annotations, same length and form.
        level: ``simple`` | ``partial`` | ``complete`` | ``radcliq`` (see the module docstring), or ``all``
            for an ``(n, 3)`` array of simple/partial/complete.
        lowercase: lowercase tokens everywhere (upstream PR #15; default off = radgraph 0.1.18).
    Returns:
        float64 array of shape ``(n,)`` (``(n, 3)`` for ``all``).
    Raises:
        ValueError: length mismatch, unknown level, or a malformed annotation.

    Example:
        >>> a = {"entities": {"1": {"tokens": "edema", "label": "OBS-DP", "relations": []}}}
        >>> radgraph_f1([a, a], [a, {"entities": {}}], "all").tolist()
        [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    refs, hyps = _as_list(ref_annotations), _as_list(hyp_annotations)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} reference annotations but {len(hyps)} hypothesis annotations")
    if level == "all":
        return np.array(
            [[pair_f1(r, h, lv, lowercase) for lv in F1RADGRAPH_LEVELS] for r, h in zip(refs, hyps)], dtype=np.float64
        ).reshape(len(refs), 3)
    return np.array([pair_f1(r, h, level, lowercase) for r, h in zip(refs, hyps)], dtype=np.float64)


class RadGraphScorer:
    """Annotate (refs, hyps) with our batched RadGraph model and return per-pair F1 arrays.

    The model loads on first use. Reference annotations are cached (LRU, keyed by text), so the rollouts of one
    prompt parse their shared reference once; identical texts inside one call are parsed once. Annotation is a pure
    function of the text, so caching never changes a score.

    Args:
        model: ``"radgraph-xl"`` (the paper's reward and RadEval's ``radgraph``) or ``"radgraph"`` (v1, RadCliQ).
        model_dir: explicit archive (``.tar.gz``) or extracted folder.
        backbone_dir: explicit backbone config/tokenizer folder.
        device: torch device (default cuda if available).
        batch_size: reports per forward pass.
        cache_size: reference annotations kept.
        lowercase: upstream PR #15 token lowercasing.
        dtype: model weights dtype, ``"float32"`` (default, as the peer) or ``"bfloat16"`` (faster on GPU; labels may
            flip near ties).

    Example:
        >>> scorer = RadGraphScorer("radgraph")                            # doctest: +SKIP
        >>> scorer(["no acute process"], ["no acute process"])["partial"]  # doctest: +SKIP
        array([1.])
    """

    def __init__(
        self,
        model: str = "radgraph-xl",
        model_dir: str | os.PathLike | None = None,
        backbone_dir: str | os.PathLike | None = None,
        device: str | None = None,
        batch_size: int = 32,
        cache_size: int = 50_000,
        lowercase: bool = False,
        dtype: str = "float32",
    ) -> None:
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
        self.model, self.model_dir, self.backbone_dir, self.dtype = model, model_dir, backbone_dir, dtype
        self.device, self.batch_size, self.cache_size, self.lowercase = device, batch_size, cache_size, lowercase
        self._rg: RadGraph | None = None
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self.parsed = 0  # reports sent through the model (for cache accounting)

    @property
    def radgraph(self) -> RadGraph:
        """The loaded :class:`~radgrpo.metrics.text.radgraph_model.model.RadGraph` (loads on first access)."""
        if self._rg is None:
            import torch

            from radgrpo.metrics.text.radgraph_model.model import load_radgraph

            self._rg = load_radgraph(
                self.model,
                self.model_dir,
                self.backbone_dir,
                self.device,
                self.batch_size,
                dtype=getattr(torch, self.dtype),
            )
        return self._rg

    def annotate(self, texts: Sequence[str], cache: bool = False) -> list[dict]:
        """Annotations of ``texts``: each distinct text parsed once, cached texts not at all.

        Args:
            texts: reports.
            cache: also store the new annotations in the reference cache (LRU).
        Returns:
            list of annotation dicts in input order.
        """
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(todo, self.radgraph.annotate(todo))) if todo else {}
        self.parsed += len(todo)
        out = []
        for t in texts:
            if t in fresh:
                out.append(fresh[t])
            else:
                self._cache.move_to_end(t)
                out.append(self._cache[t])
        if cache:
            for t, a in fresh.items():
                self._cache[t] = a
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def __call__(
        self, refs: Sequence[str], hyps: Sequence[str], levels: Sequence[str] = ("simple", "partial", "complete")
    ) -> dict[str, np.ndarray]:
        """Per-pair F1 at each of ``levels``.

        Args:
            refs: reference reports.
            hyps: generated reports (same length).
            levels: any of ``simple``, ``partial``, ``complete``, ``radcliq``.
        Returns:
            dict level -> float64 array of shape ``(n,)``. For simple/partial/complete a pair with an empty string
            on either side scores 0 and is not parsed (F1RadGraph); for ``radcliq`` an empty string is annotated as
            ``"None"`` like ``RadGraph()`` does.
        """
        if isinstance(refs, str) or isinstance(hyps, str):
            raise TypeError("refs and hyps must be lists of strings")
        if len(refs) != len(hyps):
            raise ValueError(f"{len(refs)} refs but {len(hyps)} hyps")
        for lv in levels:
            if lv not in LEVELS:
                raise ValueError(f"unknown RadGraph F1 level {lv!r}; expected one of {LEVELS}")
        need_all = "radcliq" in levels
        keep = [need_all or (len(r) > 0 and len(h) > 0) for r, h in zip(refs, hyps)]
        ref_ann = self.annotate([r for r, k in zip(refs, keep) if k], cache=True)
        hyp_ann = self.annotate([h for h, k in zip(hyps, keep) if k])
        out = {lv: np.zeros(len(refs), dtype=np.float64) for lv in levels}
        idx = [i for i, k in enumerate(keep) if k]
        for lv in levels:
            scores = radgraph_f1(ref_ann, hyp_ann, lv, self.lowercase)
            for j, i in enumerate(idx):
                empty = len(refs[i]) == 0 or len(hyps[i]) == 0
                out[lv][i] = 0.0 if (lv != "radcliq" and empty) else scores[j]
        return out


_SCORERS: dict[tuple[str, str, str, str | None], RadGraphScorer] = {}


def score_radgraph(
    refs: Sequence[str],
    hyps: Sequence[str],
    level: str = "complete",
    model: str = "radgraph-xl",
    model_dir: str | os.PathLike | None = None,
    backbone_dir: str | os.PathLike | None = None,
    device: str | None = None,
) -> np.ndarray:
    """Per-pair RadGraph F1 at one level, with the scorer loaded once per model and kept (evaluation entry point of
    the metric ``radgraph``: radgraph-xl at ``EvalConfig.radgraph_level``, which ``EvalConfig.metric_options()``
    passes as ``level``; ``complete`` by default, as the paper's evaluation; docs/metrics.md).

    Args:
        refs: reference reports.
        hyps: generated reports (same length).
        level: ``simple``, ``partial``, ``complete`` (default) or ``radcliq``.
        model: ``"radgraph-xl"`` (default) or ``"radgraph"`` (v1).
        model_dir: explicit archive or extracted folder (default: the loaders' search path).
        backbone_dir: explicit backbone folder.
        device: torch device.
    Returns:
        float64 array of shape ``(n,)`` in [0, 1]; a pair with an empty side scores 0.

    Example:
        >>> score_radgraph(["a"], ["a"], level="full")
        Traceback (most recent call last):
        ...
        ValueError: unknown RadGraph F1 level 'full'; expected one of ('simple', 'partial', 'complete', 'radcliq')
    """
    if level not in LEVELS:
        raise ValueError(f"unknown RadGraph F1 level {level!r}; expected one of {LEVELS}")
    key = (model, str(model_dir), str(backbone_dir), device)
    if key not in _SCORERS:
        _SCORERS[key] = RadGraphScorer(model, model_dir=model_dir, backbone_dir=backbone_dir, device=device)
    return _SCORERS[key](list(refs), list(hyps), levels=(level,))[level]
