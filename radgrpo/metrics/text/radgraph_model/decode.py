"""Model predictions -> the ``radgraph`` package's annotation dict (``postprocess_reports`` / ``get_entity``).

What it is: a pure function from (words, predicted entities, predicted relations) to
``{"text", "entities": {"1": {"tokens", "label", "start_ix", "end_ix", "relations": [[type, "k"], ...]}},
"data_source", "data_split"}``, with the peer's rules: entities numbered from "1" in span order; a relation is listed
under its source entity, in prediction order, and only when its target span is itself an entity (else dropped); a
relation whose source is not an entity is dropped. What it is not: the model (``model.py``).

Stanford-AIMI/radgraph ``radgraph/utils.py`` (``postprocess_reports``, ``get_entity``); docs/metrics.md#radgraph-f1.

Example:
    >>> ann = build_annotation(["mild", "edema"], [(0, 0, "OBS-DP"), (1, 1, "OBS-DP")], [(0, 0, 1, 1, "modify")])
    >>> ann["entities"]["1"]
    {'tokens': 'mild', 'label': 'OBS-DP', 'start_ix': 0, 'end_ix': 0, 'relations': [['modify', '2']]}
"""

from __future__ import annotations

from collections.abc import Sequence

Entity = tuple[int, int, str]  # start, end (inclusive word indices), label
Relation = tuple[int, int, int, int, str]  # source start, source end, target start, target end, label


def build_annotation(
    words: Sequence[str], entities: Sequence[Entity], relations: Sequence[Relation], data_source: str | None = None
) -> dict:
    """One report's annotation in the ``radgraph`` package's output format.

    Args:
        words: the report's word tokens (unnormalised, as the preprocessing produced them).
        entities: predicted ``(start, end, label)`` in span-enumeration order.
        relations: predicted ``(s1, e1, s2, e2, label)`` in the model's pair order.
        data_source: copied to ``"data_source"`` (the package passes ``None``).
    Returns:
        dict with ``text``, ``entities``, ``data_source`` and ``data_split`` (``"inference"``).

    Example:
        >>> build_annotation(["no", "effusion"], [(1, 1, "OBS-DA")], [(1, 1, 0, 0, "modify")])["entities"]
        {'1': {'tokens': 'effusion', 'label': 'OBS-DA', 'start_ix': 1, 'end_ix': 1, 'relations': []}}
    """
    spans = [(s, e) for s, e, _ in entities]
    first_index: dict[tuple[int, int], int] = {}
    for i, span in enumerate(spans):
        first_index.setdefault(span, i)
    by_source: dict[tuple[int, int], list[list[str]]] = {}
    for s1, e1, s2, e2, label in relations:
        target = first_index.get((s2, e2))
        if target is not None:
            by_source.setdefault((s1, e1), []).append([label, str(target + 1)])
    out = {}
    for i, (s, e, label) in enumerate(entities):
        out[str(i + 1)] = {
            "tokens": " ".join(words[s : e + 1]),
            "label": label,
            "start_ix": s,
            "end_ix": e,
            "relations": [list(r) for r in by_source.get((s, e), [])],
        }
    return {"text": " ".join(words), "entities": out, "data_source": data_source, "data_split": "inference"}
