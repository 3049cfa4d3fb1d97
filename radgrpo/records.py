"""Core record types: one image–instruction–answer sample, its JSONL form and its id scheme; one model output for
it (:class:`Prediction`, a line of ``predictions.jsonl``) and its JSONL form.

A :class:`Record` is the unit every data source yields and every task builder, exporter, trainer and evaluator
consumes. It is *not* a trainer row: ``radgrpo.data.export`` turns records into TRL / LLaVA / verl rows. A
:class:`Prediction` is what evaluation's generation stage makes of a record (:mod:`radgrpo.eval.generate`).

Boxes are always normalised ``[x1, y1, x2, y2]`` in [0, 1] (origin top-left, x = column / width), the RadVLM
convention (docs/data.md). CheXpert labels use the CheXbert label order and the values 1 (positive), 0 (negative),
-1 (uncertain); a label absent from the dict was not mentioned.

Record ids (one scheme for every builder, :func:`record_id`): ``"<source>/<task>/<key>"`` for the first record of a
(source, task, key) and ``"<source>/<task>/<key>#<k>"`` for the k-th one (k >= 1): the k-th repeat of a real-source
block, or the k-th record of a task drawn from one synthetic study. ``key`` identifies the item within its source
(a dicom id, an image path, ``<image>/<class>``, ``<image>/<sentence index>``); a sub-item is joined with ``/``,
never with ``#``, so an id holds at most one ``#``. A record's RNG is seeded by the same (seed, source, task, key, k).
Ids written by older versions (``"#r<k>"`` repeats, PadChest-GR keys ``"<image>#<j>"``) are mapped to this scheme by
:func:`current_record_id`; :func:`renamed_prediction_ids` uses it so old ``predictions.jsonl`` files still resume.

Example:
    >>> r = Record(id="s1", image="img.png", task=Task.ABNORMALITY_GROUNDING, question="Where is the nodule?",
    ...            answer="The nodule is at [0.1, 0.2, 0.3, 0.4].", reference_boxes=[(0.1, 0.2, 0.3, 0.4)])
    >>> Record.from_dict(r.to_dict()) == r
    True
    >>> record_id("vindr_cxr", "detection", "abc", 1)
    'vindr_cxr/detection/abc#1'
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.errors import RadgrpoUserError

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
    """The RadVLM instruction tasks (docs/method.md)."""

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


#: Tasks built from one study (:func:`radgrpo.data.tasks.build_study_records`), in the order their records are emitted;
#: a study-level source (the synthetic generator) checks its task names against this without importing the builders.
STUDY_TASKS: tuple[str, ...] = (
    "report_generation",
    "abnormality_grounding",
    "anatomical_grounding",
    "classification",
    "detection",
    "phrase_grounding",
)


@dataclass
class Record:
    """One image–instruction–answer sample.

    Args:
        id: unique id in the scheme of :func:`record_id`, e.g. ``"mimic_cxr/report_generation/<dicom_id>"``.
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
            raise ValueError(
                f"record {self.id!r}: unknown CheXpert label(s) {sorted(unknown)}; valid: {list(CHEXPERT_LABELS)}"
            )

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


class RecordsFileError(RadgrpoUserError, ValueError):
    """A records file that is not JSONL of records: the message names the file, the line and what was expected (the
    CLI prints it as one line and exits 2)."""


def _jsonl_problem(line: str) -> str:
    """Why a line is not one JSON object per line, in words a user can act on."""
    text = line.strip()
    try:
        value = json.loads(text)
    except ValueError:
        if text.startswith(("[", "{")):
            return "not valid JSON on one line (a records file is JSONL: one JSON object per line, not a JSON document)"
        return "not JSON (a records file is JSONL: one JSON object per line, e.g. `radgrpo data synth` writes them)"
    if not isinstance(value, dict):
        return (
            f"a JSON {type(value).__name__}, not an object (a records file is JSONL: one JSON object per line; "
            "a JSON array of records must be written one record per line)"
        )
    return ""


def iter_jsonl(path: str | os.PathLike) -> Iterator[Record]:
    """Yield records from a JSONL file (one JSON object per line; blank lines are skipped).

    Raises:
        RecordsFileError: a line that is not UTF-8 text, not a JSON object or not a record, naming the file and the
            line.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> p = Path(tempfile.mkdtemp(), "test.json")
        >>> _ = p.write_text('[{"id": "a"}]')
        >>> next(iter_jsonl(p))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        radgrpo.records.RecordsFileError: .../test.json:1: a JSON list, not an object (a records file is JSONL: ...
    """
    with open(path, "rb") as f:
        for i, raw in enumerate(f, 1):
            try:  # a UTF-8 byte-order mark (Windows editors) is allowed at the start
                line = raw.decode("utf-8-sig" if i == 1 else "utf-8")
            except UnicodeDecodeError:
                raise RecordsFileError(
                    f"{path}:{i}: not UTF-8 text (a records file is JSONL: one JSON object per line; is this an image "
                    "or a binary file?)"
                ) from None
            if not line.strip():
                continue
            problem = _jsonl_problem(line)
            if problem:
                raise RecordsFileError(f"{path}:{i}: {problem}")
            try:
                yield Record.from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError) as e:
                raise RecordsFileError(f"{path}:{i}: not a record ({type(e).__name__}: {e})") from e


def read_jsonl(path: str | os.PathLike) -> list[Record]:
    """All records of a JSONL file as a list."""
    return list(iter_jsonl(path))


@dataclass
class Prediction:
    """One model output for one test record (a line of ``predictions.jsonl``; :mod:`radgrpo.eval.generate` writes
    them).

    Lines written before ``thought``, ``n_regenerations``, ``total_tokens`` and ``generation`` existed still load
    (the fields take their defaults).

    Args:
        id: the record id.
        task: the record's task value (``"report_generation"``, ``"abnormality_grounding"`` ...).
        prompt: the user text sent with the image (question, plus ``" /think"`` in thinking mode).
        completion: the decoded generated text (special tokens removed), thinking included.
        answer: the text that is scored: the adapter's answer (``completion`` stripped, boxes in radgrpo's normalised
            [0,1] format), in thinking mode the text after the last ``</think>`` (empty when the tag is missing); at
            most 4,000 characters (``radgrpo.eval.generate.MAX_ANSWER_CHARS``).
        n_tokens: generated tokens of ``completion``, the stop token included, padding excluded.
        finished: True if generation stopped on an end-of-sequence token, False if it hit ``max_new_tokens``.
        thinking: whether the output thinks (thinking mode ``suffix``/``native``, or a native thinking adapter).
        think_closed: in thinking mode, whether a ``</think>`` was produced (always True otherwise).
        seconds: this sample's share of generation wall time (s): each batch's time divided by its size, summed over
            the sample's attempts.
        max_new_tokens: the new-token limit this sample was generated with (0: unknown).
        meta: free-form extra fields (model name, run name ...).
        thought: the thinking text before the answer (``""`` for non-thinking outputs); kept for reading, never
            scored.
        thought_tokens: the thought's length in tokens of the model's tokenizer (0 for non-thinking outputs).
        n_regenerations: how many times the sample was generated again because its thinking output had no answer
            (0: the first attempt was kept).
        total_tokens: generated tokens over all attempts, regenerations included (0 in old files: ``n_tokens``).
        generation: the settings the sample was generated with (``radgrpo.eval.settings.GenerationSpec.recorded``:
            thinking mode, adapter, backend, ``do_sample`` and, when sampling, the sampling options, ``seed`` and
            ``regenerate``); ``{}`` in old files (``radgrpo.eval.settings.recorded_settings`` reads them).

    Example:
        >>> p = Prediction(id="a", task="report_generation", prompt="Write a report.", completion="No effusion.",
        ...                answer="No effusion.", n_tokens=4, finished=True)
        >>> Prediction.from_dict(p.to_dict()) == p
        True
    """

    id: str
    task: str
    prompt: str
    completion: str
    answer: str
    n_tokens: int
    finished: bool
    thinking: bool = False
    think_closed: bool = True
    seconds: float = 0.0
    max_new_tokens: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    thought: str = ""
    thought_tokens: int = 0
    n_regenerations: int = 0
    total_tokens: int = 0
    generation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (one ``predictions.jsonl`` line)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prediction:
        """Inverse of :meth:`to_dict`; unknown keys raise so that typos are not silently dropped, missing optional
        keys (lines of older versions) take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(d) - names
        if extra:
            raise ValueError(f"unknown prediction field(s) {sorted(extra)}")
        return cls(**d)


def read_predictions(path: str | os.PathLike) -> tuple[list[Prediction], int]:
    """Read ``predictions.jsonl``; malformed lines (e.g. a line cut by a crash) are skipped and counted.

    Args:
        path: the JSONL file.
    Returns:
        ``(predictions, n_malformed)``.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = Path(d, "p.jsonl").write_text('{"id": "a", "task": "report_generation", "prompt": "q", '
        ...     '"completion": "c", "answer": "c", "n_tokens": 1, "finished": true}\\n{"id": "b", "tas')
        >>> preds, bad = read_predictions(Path(d, "p.jsonl"))
        >>> [p.id for p in preds], bad
        (['a'], 1)
    """
    preds: list[Prediction] = []
    bad = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                preds.append(Prediction.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, ValueError):
                bad += 1
    return preds, bad


def write_predictions(predictions: Iterable[Prediction], path: str | os.PathLike) -> int:
    """Write predictions to ``path`` atomically (temp file + rename); returns the number written.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "p.jsonl")
        >>> write_predictions([Prediction("a", "report_generation", "q", "c", "c", 1, True)], p)
        1
    """
    return write_json_lines((p.to_dict() for p in predictions), path)


def record_id(source: str, task: str, key: str, k: int = 0) -> str:
    """The id of the k-th record of (source, task, key): ``"<source>/<task>/<key>"``, plus ``"#<k>"`` when k > 0.

    Args:
        source: source name (``"mimic_cxr"``, ``"synthetic"`` ...).
        task: task value (``"detection"`` ...).
        key: the item's key within the source; sub-items are joined with ``/`` (builders never put ``#`` in it).
        k: the record's index for this (source, task, key): the repeat, or the k-th record drawn from a study.

    Example:
        >>> record_id("padchest_gr", "phrase_grounding", "img.png/2"), record_id("synthetic", "detection", "s1", 2)
        ('padchest_gr/phrase_grounding/img.png/2', 'synthetic/detection/s1#2')
    """
    if k < 0:
        raise ValueError(f"record index k must be >= 0, got {k}")
    return f"{source}/{task}/{key}" + (f"#{k}" if k else "")


_OLD_REPEAT = re.compile(r"#r(\d+)$")  # real-source repeats before the one scheme: "...#r<k>"
_OLD_PADCHEST = re.compile(r"^(padchest_gr/phrase_grounding/[^/#]+)#(\d+)(#\d+)?$")  # key "<image>#<j>"


def current_record_id(rid: str) -> str:
    """``rid`` in the current id scheme: old ``"#r<k>"`` repeats become ``"#<k>"`` and old PadChest-GR sentence keys
    ``"<image>#<j>"`` become ``"<image>/<j>"``; an id already in the current scheme comes back unchanged.

    Example:
        >>> current_record_id("mimic_cxr/classification/d1#r2")
        'mimic_cxr/classification/d1#2'
        >>> current_record_id("padchest_gr/phrase_grounding/a.png#3#r1"), current_record_id("synthetic/x/s1#2")
        ('padchest_gr/phrase_grounding/a.png/3#1', 'synthetic/x/s1#2')
    """
    rid = _OLD_REPEAT.sub(r"#\1", rid)
    return _OLD_PADCHEST.sub(r"\1/\2\3", rid)


def renamed_prediction_ids(prediction_ids: Iterable[str], record_ids: Iterable[str]) -> dict[str, str]:
    """Old prediction ids -> the record ids they stand for, for predictions written before the current id scheme.

    A prediction id is renamed only when it matches no record, its :func:`current_record_id` is a record id, and no
    other prediction already has that id (so a resumed run never holds two predictions of one record).

    Args:
        prediction_ids: the ids in a ``predictions.jsonl`` being resumed.
        record_ids: the ids of the records being generated for.

    Returns:
        ``{old prediction id: record id}``; empty when nothing needs renaming.

    Example:
        >>> renamed_prediction_ids(["m/classification/d1#r1", "m/classification/d2", "gone#r1"],
        ...                        ["m/classification/d1#1", "m/classification/d2"])
        {'m/classification/d1#r1': 'm/classification/d1#1'}
    """
    records = set(record_ids)
    preds = list(prediction_ids)
    taken = set(preds) & records
    out: dict[str, str] = {}
    for pid in preds:
        if pid in records:
            continue
        new = current_record_id(pid)
        if new != pid and new in records and new not in taken:
            out[pid] = new
            taken.add(new)
    return out
