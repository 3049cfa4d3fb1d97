"""Core record types: one image–instruction–answer sample and its JSONL form.

A :class:`Record` is the unit every data source yields and every task builder, exporter, trainer and evaluator
consumes. It is *not* a trainer row: ``radgrpo.data.export`` turns records into TRL / LLaVA / verl rows.

Boxes are always normalised ``[x1, y1, x2, y2]`` in [0, 1] (origin top-left, x = column / width), the RadVLM
convention (paper.md §6). CheXpert labels use the CheXbert label order and the values 1 (positive), 0 (negative),
-1 (uncertain); a label absent from the dict was not mentioned.

Example:
    >>> r = Record(id="s1", image="img.png", task=Task.ABNORMALITY_GROUNDING, question="Where is the nodule?",
    ...            answer="The nodule is at [0.1, 0.2, 0.3, 0.4].", reference_boxes=[(0.1, 0.2, 0.3, 0.4)])
    >>> Record.from_dict(r.to_dict()) == r
    True
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

Box = tuple[float, float, float, float]
"""A box as normalised ``(x1, y1, x2, y2)`` in [0, 1]."""

#: The 14 CheXpert observations in CheXbert's output order (f1chexbert, CheXbert ``CONDITIONS``).
CHEXPERT_LABELS: tuple[str, ...] = (
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
    "No Finding",
)

#: The 5-label subset used for "CheXbert F1 (5)": Atelectasis, Cardiomegaly, Consolidation, Edema, Pleural Effusion.
CHEXPERT_5_LABELS: tuple[str, ...] = ("Cardiomegaly", "Edema", "Consolidation", "Atelectasis", "Pleural Effusion")


class Task(str, enum.Enum):
    """The RadVLM instruction tasks (paper.md §2.1)."""

    REPORT_GENERATION = "report_generation"
    CLASSIFICATION = "classification"
    ANATOMICAL_GROUNDING = "anatomical_grounding"
    ABNORMALITY_GROUNDING = "abnormality_grounding"
    DETECTION = "detection"
    PHRASE_GROUNDING = "phrase_grounding"
    CONVERSATION = "conversation"

    @property
    def is_grounding(self) -> bool:
        """True for tasks whose answer is a set of boxes (scored by soft-F1 / mAP)."""
        return self in (Task.ANATOMICAL_GROUNDING, Task.ABNORMALITY_GROUNDING, Task.PHRASE_GROUNDING, Task.DETECTION)


@dataclass
class Record:
    """One image–instruction–answer sample.

    Args:
        id: unique id, e.g. ``"mimic-train_12"``.
        image: image path (absolute, or relative to the JSONL file's folder).
        task: the :class:`Task`.
        question: the user instruction, without any ``<image>`` token.
        answer: the reference assistant answer (what SFT supervises).
        source: dataset name (``"synthetic"``, ``"mimic_cxr"`` ...).
        split: ``"train"``, ``"validate"`` or ``"test"``.
        patient_id: patient key, used for patient-level splits.
        reference_report: the findings text the report rewards and metrics compare against.
        reference_boxes: normalised xyxy boxes the grounding rewards and metrics compare against.
        labels: CheXpert label name -> 1 / 0 / -1 (uncertain); missing = not mentioned.
        target: the grounded thing (finding, anatomical region or phrase), if any.
        conversation: extra turns ``[{"role": "user"|"assistant", "content": str}, ...]`` for multi-turn tasks;
            when given it holds the whole conversation (first turn = question/answer).
        meta: free-form source metadata (view position, study id, ...).
    """

    id: str
    image: str
    task: Task
    question: str
    answer: str
    source: str = "unknown"
    split: str = "train"
    patient_id: str | None = None
    reference_report: str | None = None
    reference_boxes: list[Box] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    target: str | None = None
    conversation: list[dict[str, str]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.task = Task(self.task)
        self.reference_boxes = [tuple(float(v) for v in b) for b in self.reference_boxes]  # type: ignore[misc]
        for b in self.reference_boxes:
            if len(b) != 4:
                raise ValueError(f"record {self.id!r}: a box needs 4 numbers, got {b!r}")
        unknown = set(self.labels) - set(CHEXPERT_LABELS)
        if unknown:
            raise ValueError(f"record {self.id!r}: unknown CheXpert label(s) {sorted(unknown)}; "
                             f"valid: {list(CHEXPERT_LABELS)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (boxes as lists, task as its string value)."""
        d = dataclasses.asdict(self)
        d["task"] = self.task.value
        d["reference_boxes"] = [list(b) for b in self.reference_boxes]
        d["schema_version"] = SCHEMA_VERSION
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        """Inverse of :meth:`to_dict`; unknown keys raise so typos are not silently dropped."""
        d = dict(d)
        version = d.pop("schema_version", SCHEMA_VERSION)
        if version > SCHEMA_VERSION:
            raise ValueError(f"record schema_version {version} is newer than this radgrpo ({SCHEMA_VERSION})")
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(d) - names
        if extra:
            raise ValueError(f"unknown record field(s) {sorted(extra)}")
        return cls(**d)

    def image_path(self, base: str | os.PathLike | None = None) -> Path:
        """The image path, resolved against ``base`` when it is relative."""
        p = Path(self.image)
        return p if p.is_absolute() or base is None else Path(base) / p


def write_json_lines(rows: Iterable[dict[str, Any]], path: str | os.PathLike) -> int:
    """Write dicts as JSON lines to ``path`` atomically (temp file + rename; no half-written file after an
    interrupt). Returns the number of lines.

    Example:
        >>> import tempfile, os
        >>> write_json_lines([{"id": "a"}, {"id": "b"}], os.path.join(tempfile.mkdtemp(), "x.jsonl"))
        2
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def write_jsonl(records: Iterable[Record], path: str | os.PathLike) -> int:
    """Write records to ``path`` atomically (temp file + rename). Returns the number written.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "r.jsonl")
        >>> write_jsonl([Record("a", "x.png", "report_generation", "q", "a")], p)
        1
    """
    return write_json_lines((r.to_dict() for r in records), path)


def iter_jsonl(path: str | os.PathLike) -> Iterator[Record]:
    """Yield records from a JSONL file; a malformed line raises with its line number."""
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield Record.from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError) as e:
                raise ValueError(f"{path}:{i}: bad record: {e}") from e


def read_jsonl(path: str | os.PathLike) -> list[Record]:
    """All records of a JSONL file as a list."""
    return list(iter_jsonl(path))
