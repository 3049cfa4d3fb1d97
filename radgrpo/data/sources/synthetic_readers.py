"""Simulated readers for the synthetic "readers" world: who writes a study's reference report and boxes.

What it is: the reader half of the synthetic source (docs/rl_vs_imitation.md, docs/data.md#synthetic-generator).
The generator draws the truth (findings, their side and a continuous ``severity`` in [0, 1], the drawing's size or
contrast); a reader, drawn per study from a small panel, then writes the reference:

- per finding it names a present finding with a sensitivity that rises with severity
  (:meth:`FindingReader.sensitivity`: ``sens_min`` at severity 0 up to ``sens_max`` at ``saturation``), moved per
  reader by a logit offset (``reader_spread``); it names an absent finding with probability ``false_positive``, on a
  random side;
- a named finding is hedged with a share that falls with severity (:meth:`FindingReader.hedge_share`), in one of
  the finding's hedged wordings, else in one of its plain paraphrases (:data:`WORDINGS`); every wording starts with
  its own first word, so the probability of naming a finding is split at the first token while "not named" is one
  stock negative per finding (:data:`NEGATIVES`);
- its boxes are the drawn boxes with each edge moved by Gaussian noise of ``box_sigma`` x the box's width or
  height, so two readers' boxes overlap as two VinDr-CXR readers' do (``box_iou50`` = P(IoU >= 0.5) between two
  readers).

A finding is *subtle* when a typical reader names it at most half the time (sensitivity <= :data:`SUBTLE_BELOW`):
an image-perfect model trained to imitate these references should assign such a finding a naming probability of
about 0.2-0.5, which greedy decoding rounds to "not named". The parameters live in ``data/synth_demo`` (each with
its source) and :data:`DEFAULT_READERS`.

What it is not: a model of real radiologists' errors beyond these rates, nor report style beyond the wordings here.

Example:
    >>> import random
    >>> panel = reader_panel(DEFAULT_READERS, n_readers=3, spread=0.0, seed=0)
    >>> t = [TruthFinding("pleural effusion", "left", 0.9, "moderate", None)]
    >>> said = read_findings(t, panel[0], DEFAULT_READERS, random.Random(0))
    >>> [(s.name, s.side, s.hedged) for s in said]
    [('pleural effusion', 'left', False)]
    >>> write_reader_report(said, random.Random(0))
    'The heart size is normal. No focal consolidation. Moderate left pleural effusion. No pneumothorax.'
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

#: A reader names a finding at most this often for it to count as subtle.
SUBTLE_BELOW = 0.5
#: Report slots in order: one sentence per finding, positive wording or the stock negative.
SLOTS: tuple[str, ...] = ("cardiomegaly", "consolidation", "nodule", "atelectasis", "pleural effusion", "pneumothorax")
#: The one stock negative sentence per finding (written when the reader does not name it). Nodule and atelectasis
#: are only written when named (the clean world never negates them either).
NEGATIVES: dict[str, str | None] = {
    "cardiomegaly": "The heart size is normal.",
    "consolidation": "No focal consolidation.",
    "nodule": None,
    "atelectasis": None,
    "pleural effusion": "No pleural effusion.",
    "pneumothorax": "No pneumothorax.",
}
#: Finding -> {"plain": [...], "hedged": [...]} sentence templates; ``{size}``/``{Size}`` (small/moderate/large or
#: mild/moderate), ``{side}`` (right/left; bilateral effusions use the ``_bilateral`` lists), ``{zone}``. Every
#: template of a finding starts with a different first word. Hedged templates carry an uncertainty cue of the
#: ``rule_chexpert`` labeller ("possible", "may", "likely", "suspicious for", "cannot be excluded").
WORDINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "cardiomegaly": {
        "plain": (
            "The heart is {size}ly enlarged.",
            "{Size} cardiomegaly.",
            "Enlarged cardiac silhouette, in keeping with {size} cardiomegaly.",
        ),
        "hedged": (
            "Possible mild cardiomegaly.",
            "Borderline heart size, which may reflect mild cardiomegaly.",
        ),
    },
    "consolidation": {
        "plain": (
            "There is a {size} focal consolidation in the {side} {zone} lung zone.",
            "{Size} focal consolidation in the {side} {zone} lung zone.",
        ),
        "hedged": (
            "Patchy opacity in the {side} {zone} lung zone, possibly consolidation.",
            "Hazy {side} {zone} zone opacity, likely early consolidation.",
            "Ill-defined {side} {zone} zone opacity, suspicious for consolidation.",
        ),
    },
    "nodule": {
        "plain": (
            "There is a {size} nodule in the {side} {zone} lung zone.",
            "{Size} nodule in the {side} {zone} lung zone.",
        ),
        "hedged": ("Possible small nodule in the {side} {zone} lung zone.",),
    },
    "atelectasis": {
        "plain": (
            "There is plate-like atelectasis at the {side} lung base.",
            "Plate-like atelectasis at the {side} lung base.",
        ),
        "hedged": ("Linear opacity at the {side} lung base, likely atelectasis.",),
    },
    "pleural effusion": {
        "plain": (
            "There is a {size} {side} pleural effusion.",
            "{Size} {side} pleural effusion.",
            "Fluid at the {side} lung base, in keeping with a {size} pleural effusion.",
        ),
        "hedged": (
            "Blunting of the {side} costophrenic angle, which may represent a small pleural effusion.",
            "Possible small {side} pleural effusion.",
        ),
        "plain_bilateral": (
            "There are {size} bilateral pleural effusions.",
            "{Size} bilateral pleural effusions.",
            "Fluid at both lung bases, in keeping with {size} bilateral pleural effusions.",
        ),
        "hedged_bilateral": (
            "Blunting of both costophrenic angles, which may represent small pleural effusions.",
            "Possible small bilateral pleural effusions.",
        ),
    },
    "pneumothorax": {
        "plain": (
            "There is a {size} {side} apical pneumothorax.",
            "{Size} {side} apical pneumothorax.",
            "Visible {side} apical pleural line with a {size} pneumothorax.",
        ),
        "hedged": (
            "Questionable thin {side} apical pleural line, suspicious for a small pneumothorax.",
            "A small {side} apical pneumothorax cannot be excluded.",
        ),
    },
}


@dataclass(frozen=True)
class FindingReader:
    """How readers report one finding (a ``readers:`` entry of ``data/synth_demo``).

    Attributes:
        sens_min: P(named | present) at severity 0.
        sens_max: P(named | present) from ``saturation`` on.
        saturation: severity in (0, 1] at which the sensitivity reaches ``sens_max`` (linear before).
        hedge_max: share of named mentions that are hedged at severity 0.
        hedge_min: share hedged from ``saturation`` on (linear in between).
        false_positive: P(named | absent), written hedged with ``hedge_max``'s share, on a random side.
        box_sigma: standard deviation of each box edge's shift, as a fraction of the box's width (x) or height (y).
        box_iou50: P(IoU >= 0.5) between two readers' boxes that ``box_sigma`` gives (checked by the tests).
    """

    sens_min: float
    sens_max: float
    saturation: float
    hedge_max: float
    hedge_min: float
    false_positive: float
    box_sigma: float
    box_iou50: float

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"reader parameter {f.name} must lie in [0, 1], got {v}")
        if self.saturation <= 0 or self.sens_min > self.sens_max or self.hedge_min > self.hedge_max:
            raise ValueError("reader: need saturation > 0, sens_min <= sens_max and hedge_min <= hedge_max")

    def _ramp(self, severity: float) -> float:
        return min(1.0, max(0.0, float(severity)) / self.saturation)

    def sensitivity(self, severity: float, offset: float = 0.0) -> float:
        """P(a reader names the finding | present, severity), with a reader's logit ``offset``.

        Example:
            >>> r = DEFAULT_READERS["pleural effusion"]
            >>> r.sensitivity(0.0), r.sensitivity(1.0)
            (0.35, 0.97)
        """
        p = self.sens_min + (self.sens_max - self.sens_min) * self._ramp(severity)
        return _shift(p, offset)

    def hedge_share(self, severity: float) -> float:
        """Share of named mentions that are hedged at ``severity``.

        Example:
            >>> DEFAULT_READERS["consolidation"].hedge_share(0.0)
            0.9
        """
        return self.hedge_max + (self.hedge_min - self.hedge_max) * self._ramp(severity)


def _shift(p: float, offset: float) -> float:
    if offset == 0.0 or p in (0.0, 1.0):
        return p
    return 1.0 / (1.0 + math.exp(-(math.log(p / (1.0 - p)) + offset)))


#: The default readers (the values ``data/synth_demo`` ships; its comments give the sources).
DEFAULT_READERS: dict[str, FindingReader] = {
    "cardiomegaly": FindingReader(0.35, 0.97, 0.9, 0.5, 0.1, 0.03, 0.09, 0.96),
    "pleural effusion": FindingReader(0.35, 0.97, 0.9, 0.35, 0.03, 0.01, 0.162, 0.51),
    "pneumothorax": FindingReader(0.35, 0.98, 0.9, 0.35, 0.05, 0.005, 0.127, 0.75),
    "consolidation": FindingReader(0.2, 0.85, 1.0, 0.9, 0.4, 0.02, 0.137, 0.68),
    "nodule": FindingReader(0.3, 0.9, 0.6, 0.3, 0.1, 0.02, 0.155, 0.56),
    "atelectasis": FindingReader(0.2, 0.85, 0.8, 0.5, 0.2, 0.01, 0.152, 0.58),
}


def readers_from_config(values: Mapping[str, Any] | None) -> dict[str, FindingReader]:
    """:data:`DEFAULT_READERS` with the ``readers:`` mapping of a config laid over it (per finding, per key).

    Raises:
        ValueError: an unknown finding or key, or a value out of range.

    Example:
        >>> readers_from_config({"consolidation": {"sens_max": 0.8}})["consolidation"].sens_max
        0.8
    """
    out = dict(DEFAULT_READERS)
    keys = {f.name for f in fields(FindingReader)}
    for name, over in (values or {}).items():
        if name not in out:
            raise ValueError(f"readers: unknown finding {name!r}; known: {sorted(out)}")
        if not isinstance(over, Mapping):
            raise ValueError(f"readers: {name!r} must map parameter names to values, got {over!r}")
        bad = sorted(set(over) - keys)
        if bad:
            raise ValueError(f"readers: {name!r} has unknown parameters {bad}; known: {sorted(keys)}")
        out[name] = FindingReader(**{**out[name].__dict__, **{k: float(v) for k, v in over.items()}})
    return out


@dataclass(frozen=True)
class Reader:
    """One reader of the panel: an id and a logit offset of its sensitivity per finding."""

    id: int
    offsets: dict[str, float]


def reader_panel(readers: Mapping[str, FindingReader], n_readers: int, spread: float, seed: int) -> list[Reader]:
    """The dataset's panel of ``n_readers`` readers, each with per-finding logit offsets ~ N(0, ``spread``),
    drawn once from ``seed``.

    Example:
        >>> [r.offsets["pneumothorax"] for r in reader_panel(DEFAULT_READERS, 2, 0.0, 0)]
        [0.0, 0.0]
    """
    if n_readers < 1 or spread < 0:
        raise ValueError(f"need n_readers >= 1 and reader_spread >= 0, got {n_readers}, {spread}")
    rng = np.random.default_rng([seed, 7_000_003])
    return [
        Reader(i, {n: float(rng.normal(0.0, spread)) if spread else 0.0 for n in readers}) for i in range(n_readers)
    ]


@dataclass(frozen=True)
class TruthFinding:
    """A drawn finding as the readers see it: name, patient side (None for cardiomegaly), severity in [0, 1], size
    word and zone (None where it has none)."""

    name: str
    side: str | None
    severity: float
    size: str
    zone: str | None


@dataclass(frozen=True)
class Said:
    """A finding a reader names: name, side, size word, zone, hedged or plain, and the wording's index."""

    name: str
    side: str | None
    size: str
    zone: str | None
    hedged: bool
    wording: int
    false_positive: bool = False


def _pick_wording(name: str, hedged: bool, bilateral: bool, rng: random.Random) -> int:
    key = ("hedged" if hedged else "plain") + ("_bilateral" if bilateral else "")
    return rng.randrange(len(WORDINGS[name][key]))


def read_findings(
    truth: Sequence[TruthFinding],
    reader: Reader,
    readers: Mapping[str, FindingReader],
    rng: random.Random,
    findings: Sequence[str] | None = None,
) -> list[Said]:
    """What one reader names for a study: each present finding with its sensitivity, each absent finding of
    ``findings`` (default: the truth's pool, i.e. every finding in ``readers``) with its false-positive rate.

    The random draws are made in :data:`SLOTS` order, one fixed sequence per finding, so the result depends only
    on the truth, the reader and ``rng``.

    Example:
        >>> panel = reader_panel(DEFAULT_READERS, 1, 0.0, 0)
        >>> read_findings([], panel[0], DEFAULT_READERS, random.Random(1), findings=["pneumothorax"])
        []
    """
    by_name = {t.name: t for t in truth}
    pool = list(findings) if findings is not None else list(readers)
    out: list[Said] = []
    for name in SLOTS:
        if name not in pool and name not in by_name:
            continue
        r = readers[name]
        u_named, u_hedge, u_side = rng.random(), rng.random(), rng.random()
        t = by_name.get(name)
        if t is not None:
            if u_named >= r.sensitivity(t.severity, reader.offsets.get(name, 0.0)):
                continue
            hedged = u_hedge < r.hedge_share(t.severity)
            side, size, zone, fp = t.side, ("small" if hedged and name != "cardiomegaly" else t.size), t.zone, False
            if hedged and name == "cardiomegaly":
                size = "mild"
        else:
            if u_named >= r.false_positive:
                continue
            hedged = u_hedge < r.hedge_share(0.0)
            side = None if name == "cardiomegaly" else ("right" if u_side < 0.5 else "left")
            size = "mild" if name == "cardiomegaly" else "small"
            zone = None if name in ("cardiomegaly", "pleural effusion", "pneumothorax", "atelectasis") else "mid"
            fp = True
        out.append(Said(name, side, size, zone, hedged, _pick_wording(name, hedged, side == "bilateral", rng), fp))
    return out


def sentence(s: Said) -> str:
    """The sentence of one named finding (its wording filled in).

    Example:
        >>> sentence(Said("pneumothorax", "right", "small", "apical", True, 1))
        'A small right apical pneumothorax cannot be excluded.'
    """
    key = ("hedged" if s.hedged else "plain") + ("_bilateral" if s.side == "bilateral" else "")
    t = WORDINGS[s.name][key][s.wording]
    size = s.size or "small"
    return t.format(size=size, Size=size[:1].upper() + size[1:], side=s.side or "", zone=s.zone or "mid")


def write_reader_report(said: Sequence[Said], rng: random.Random | None = None) -> str:
    """The reference report: one sentence per slot of :data:`SLOTS`, the named wording or the stock negative.

    ``rng`` is unused (the order and the negatives are fixed); it is accepted so callers treat both worlds alike.

    Example:
        >>> write_reader_report([Said("cardiomegaly", None, "mild", None, False, 1)])
        'Mild cardiomegaly. No focal consolidation. No pleural effusion. No pneumothorax.'
    """
    by_name = {s.name: s for s in said}
    parts = []
    for name in SLOTS:
        if name in by_name:
            parts.append(sentence(by_name[name]))
        elif NEGATIVES[name] is not None:
            parts.append(str(NEGATIVES[name]))
    return " ".join(parts)


def jitter_box(box: Sequence[float], sigma: float, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """One reader's version of a drawn box (normalised [0, 1] xyxy): every edge moved by N(0, ``sigma`` x the box's
    width or height), then clipped to the image and kept at least 0.01 wide and high.

    Example:
        >>> jitter_box((0.2, 0.2, 0.4, 0.6), 0.0, np.random.default_rng(0))
        (0.2, 0.2, 0.4, 0.6)
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    if sigma == 0.0:
        return (x1, y1, x2, y2)
    d = rng.normal(0.0, sigma, 4) * np.array([w, h, w, h])
    a1, b1, a2, b2 = x1 + d[0], y1 + d[1], x2 + d[2], y2 + d[3]
    a1, a2 = sorted((a1, a2))
    b1, b2 = sorted((b1, b2))
    a1, b1 = min(max(a1, 0.0), 0.99), min(max(b1, 0.0), 0.99)
    a2, b2 = min(max(a2, a1 + 0.01), 1.0), min(max(b2, b1 + 0.01), 1.0)
    return (float(a1), float(b1), float(a2), float(b2))
