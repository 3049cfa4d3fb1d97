"""Shared pieces of the dataset readers: raw rows, drop counting, tolerant CSV streaming, labels, boxes, seeding.

What it is: the public helpers every ``radgrpo.data.sources.<dataset>`` reader needs to read a raw layout without
crashing halfway and without dropping anything silently, also used by the task builders (:mod:`radgrpo.data.tasks`),
the dataset build (:mod:`radgrpo.data.build`) and the LLM text steps (:mod:`radgrpo.data.llm`). What it is not: a
reader of any one dataset (those live in the sibling modules) nor a record builder (sources read raw rows; records are
built in :mod:`radgrpo.data.tasks.source_records`; see docs/data.md).

Conventions:
- A *raw row* (:data:`RawRow`) is a plain dict produced by a source's ``iter_rows``.
- Every row that cannot become a record is counted in a :class:`DropCounter` under a short reason
  (``"missing_image"``, ``"malformed_csv_row"``, ...), with a few example details kept for the report.
- Randomness is seeded *per item* (:func:`item_rng`) so a record does not depend on iteration or worker order
  (fixes a RadVLM pitfall: its templates depend on DataLoader worker order).
- Boxes are normalised ``(x1, y1, x2, y2)`` in [0, 1] (origin top-left).

Example:
    >>> drops = DropCounter()
    >>> drops.add("missing_image", "files/p10/x.jpg")
    >>> drops.counts
    {'missing_image': 1}
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from radgrpo.records import CHEXPERT_LABELS, Box

RawRow = dict[str, Any]
"""One raw source row (plain dict, column or field name -> value), as a source's ``iter_rows`` yields it."""

#: RadVLM's 13 answer pathologies: the CheXpert labels without "No Finding", in sorted order.
RADVLM_PATHOLOGIES: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Enlarged Cardiomediastinum",
    "Fracture",
    "Lung Lesion",
    "Lung Opacity",
    "Pleural Effusion",
    "Pleural Other",
    "Pneumonia",
    "Pneumothorax",
    "Support Devices",
)

#: The 14 label columns of the CheXpert-style CSVs (names as in the files; order irrelevant).
CHEXPERT_CSV_LABELS: tuple[str, ...] = CHEXPERT_LABELS

#: Uncertainty policies for CheXpert-style labels (docs/data.md). ``"positive"`` is RadVLM's (-1 -> 1).
UNCERTAINTY_POLICIES = ("positive", "negative", "keep")

#: Views counted as frontal (RadVLM ``only_frontal``).
FRONTAL_VIEWS = frozenset({"PA", "AP"})


class DropCounter:
    """Counts rows that could not become records, by reason, with up to ``max_examples`` details per reason.

    Args:
        max_examples: how many example details to keep per reason (for the statistics report).

    Example:
        >>> d = DropCounter(max_examples=1)
        >>> d.add("bad_box", "row 3"); d.add("bad_box", "row 9")
        >>> d.counts, d.examples
        ({'bad_box': 2}, {'bad_box': ['row 3']})
        >>> d.total
        2
    """

    def __init__(self, max_examples: int = 3) -> None:
        self.max_examples = max_examples
        self._counts: Counter[str] = Counter()
        self._notes: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, reason: str, detail: str = "", n: int = 1) -> None:
        """Count ``n`` dropped rows under ``reason``; keep ``detail`` as an example while there is room."""
        self._counts[reason] += n
        ex = self.examples.setdefault(reason, [])
        if detail and len(ex) < self.max_examples:
            ex.append(str(detail))

    def note(self, reason: str, n: int = 1) -> None:
        """Count a repair that kept the row (e.g. ``box_clipped``); reported apart from drops.

        Example:
            >>> d = DropCounter(); d.note("box_clipped"); (d.notes, d.total)
            ({'box_clipped': 1}, 0)
        """
        self._notes[reason] += n

    @property
    def notes(self) -> dict[str, int]:
        """Repair reason -> count (rows kept after a fix), sorted by reason."""
        return dict(sorted(self._notes.items()))

    def merge(self, other: DropCounter) -> None:
        """Add another counter's counts, notes and examples into this one."""
        self._notes.update(other._notes)
        for reason, n in other._counts.items():
            self._counts[reason] += n
            ex = self.examples.setdefault(reason, [])
            for d in other.examples.get(reason, []):
                if len(ex) < self.max_examples:
                    ex.append(d)

    @property
    def counts(self) -> dict[str, int]:
        """Reason -> count, sorted by reason."""
        return dict(sorted(self._counts.items()))

    @property
    def total(self) -> int:
        """All dropped rows."""
        return sum(self._counts.values())

    def to_dict(self) -> dict[str, Any]:
        """``{"counts": {...}, "notes": {...}, "examples": {...}}`` (JSON-ready)."""
        return {
            "counts": self.counts,
            "notes": self.notes,
            "examples": {k: v for k, v in sorted(self.examples.items()) if v},
        }

    def __repr__(self) -> str:
        return f"DropCounter({self.counts})"


def iter_csv(
    path: str | os.PathLike, drops: DropCounter, required: Iterable[str] = (), rename: dict[str, str] | None = None
) -> Iterator[RawRow]:
    """Stream a CSV file as dicts, counting malformed rows instead of raising.

    A row is malformed when it has more or fewer fields than the header, or when a ``required`` column is empty.
    A missing file or a header without the ``required`` columns raises (that is a wrong root, not a bad row).

    Args:
        path: the CSV file.
        drops: where malformed rows are counted (reasons ``malformed_csv_row`` and ``missing_<column>``).
        required: columns that must be non-empty.
        rename: header aliases applied before the checks, e.g. ``{"rad_ID": "rad_id"}``.

    Returns:
        An iterator of ``{column: str}`` dicts (values stripped), with ``"_line"`` = the 1-based file line.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.csv"
        >>> _ = p.write_text("a,b\\n1,2\\n3\\n,4\\n")
        >>> d = DropCounter()
        >>> [r["b"] for r in iter_csv(p, d, required=["a"])], d.counts
        (['2'], {'malformed_csv_row': 1, 'missing_a': 1})
    """
    path = Path(path)
    required = list(required)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path}: empty CSV file (no header)") from None
        if rename:
            header = [rename.get(h, h) for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise ValueError(f"{path}: header lacks column(s) {missing}; found {header}")
        n = len(header)
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != n:
                drops.add("malformed_csv_row", f"{path.name}:{line}: {len(fields)} fields, header has {n}")
                continue
            row: RawRow = {h: v.strip() for h, v in zip(header, fields)}
            empty = [c for c in required if not row[c]]
            if empty:
                drops.add(f"missing_{empty[0]}", f"{path.name}:{line}")
                continue
            row["_line"] = line
            yield row


def parse_float(value: Any) -> float | None:
    """A CSV cell as a float; empty, ``nan`` or unparsable -> None.

    Example:
        >>> parse_float("1.0"), parse_float(""), parse_float("nan"), parse_float("x")
        (1.0, None, None, None)
    """
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def label_value(cell: Any, uncertain: str = "positive", blank_as_negative: bool = True) -> int | None:
    """One CheXpert-style label cell (1.0 / 0.0 / -1.0 / blank) under an uncertainty policy.

    Args:
        cell: the raw CSV/JSON value.
        uncertain: ``"positive"`` (RadVLM: -1 -> 1), ``"negative"`` (-1 -> 0) or ``"keep"`` (-1 stays -1).
        blank_as_negative: RadVLM's ``fillna(0)``; otherwise blank -> None (not mentioned).

    Returns:
        1, 0, -1 or None (not mentioned).

    Example:
        >>> [label_value(c) for c in ("1.0", "-1.0", "", "0")]
        [1, 1, 0, 0]
        >>> label_value("-1", uncertain="keep"), label_value("", blank_as_negative=False)
        (-1, None)
    """
    if uncertain not in UNCERTAINTY_POLICIES:
        raise ValueError(f"uncertain={uncertain!r}; valid: {UNCERTAINTY_POLICIES}")
    v = parse_float(cell)
    if v is None:
        return 0 if blank_as_negative else None
    if v == 1:
        return 1
    if v == 0:
        return 0
    if v == -1:
        return {"positive": 1, "negative": 0, "keep": -1}[uncertain]
    raise ValueError(f"label value {cell!r} is not one of 1, 0, -1 or blank")


def positive_pathologies(labels: dict[str, int]) -> list[str]:
    """The RadVLM answer list: labels equal to 1 among the 13 pathologies, in sorted order.

    Example:
        >>> positive_pathologies({"Edema": 1, "No Finding": 1, "Atelectasis": 1, "Fracture": 0})
        ['Atelectasis', 'Edema']
    """
    return [p for p in RADVLM_PATHOLOGIES if labels.get(p) == 1]


def item_rng(seed: int, *keys: object) -> random.Random:
    """A ``random.Random`` seeded by ``seed`` and the item's keys (stable across runs, processes and order).

    Example:
        >>> item_rng(0, "img1", 2).random() == item_rng(0, "img1", 2).random()
        True
    """
    h = hashlib.blake2b(repr((seed,) + keys).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(h, "little"))


def normalise_box(
    box_px: Sequence[Any], width: float, height: float, drops: DropCounter, where: str = ""
) -> Box | None:
    """Pixel xyxy -> normalised [0,1] xyxy, clipped; unusable boxes are counted and give None.

    Out-of-image boxes are clipped (counted as the note ``box_clipped``); non-numeric coordinates are dropped as
    ``bad_box_value``; boxes with no area after clipping are dropped as ``degenerate_box``.

    Args:
        box_px: ``(x1, y1, x2, y2)`` in pixels (strings allowed).
        width: image width in pixels (Columns).
        height: image height in pixels (Rows).
        drops: where drops and notes are counted.
        where: a detail for the drop example (file and line).

    Returns:
        The normalised box, or None when dropped.

    Example:
        >>> d = DropCounter()
        >>> normalise_box(("-5", 10, 50, 300), 100, 200, d), d.notes
        ((0.0, 0.05, 0.5, 1.0), {'box_clipped': 1})
        >>> normalise_box((5, 5, 5, 9), 100, 100, d), d.counts
        (None, {'degenerate_box': 1})
    """
    vals = [parse_float(v) for v in box_px]
    if len(vals) != 4 or any(v is None for v in vals):
        drops.add("bad_box_value", f"{where} {list(box_px)}")
        return None
    if not width or not height or width <= 0 or height <= 0:
        drops.add("bad_image_size", f"{where} {width}x{height}")
        return None
    x1, y1, x2, y2 = cast(list[float], vals)  # no None left (checked above)
    return clip_norm_box((x1 / width, y1 / height, x2 / width, y2 / height), drops, where)


def clip_norm_box(box: Sequence[float], drops: DropCounter, where: str = "") -> Box | None:
    """Clip an already-normalised box to [0,1] (note ``box_clipped``); None (``degenerate_box``) when it has no area.

    Example:
        >>> clip_norm_box((0.1, 0.2, 1.03, 0.5), DropCounter())
        (0.1, 0.2, 1.0, 0.5)
    """
    if len(box) != 4:
        drops.add("bad_box_value", f"{where} {list(box)}")
        return None
    try:
        vals = [float(v) for v in box]
    except (TypeError, ValueError):
        drops.add("bad_box_value", f"{where} {list(box)}")
        return None
    if any(math.isnan(v) for v in vals):
        drops.add("bad_box_value", f"{where} {list(box)}")
        return None
    clipped = tuple(min(1.0, max(0.0, v)) for v in vals)
    if clipped != tuple(vals):
        drops.note("box_clipped")
    x1, y1, x2, y2 = clipped
    if not (x2 > x1 and y2 > y1):
        drops.add("degenerate_box", f"{where} {[round(v, 4) for v in vals]}")
        return None
    return (x1, y1, x2, y2)


def clean_text(text: str | None) -> str:
    """Remove newlines and collapse runs of spaces (RadVLM's report cleaning), strip the ends.

    Example:
        >>> clean_text(" Heart is normal.\\n Lungs   clear. ")
        'Heart is normal. Lungs clear.'
    """
    return " ".join((text or "").split())
