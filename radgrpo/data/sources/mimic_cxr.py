"""MIMIC-CXR-JPG source: frontal images with their study's CheXpert labels and findings text.

Layout and options: docs/data.md#mimic-cxr-jpg.

What it is: a streaming reader of the PhysioNet layout (``mimic-cxr-2.0.0-{metadata,split,chexpert}.csv``,
``files/p1X/p1XXXXXXX/s5XXXXXXX/<dicom_id>.jpg``, report text from ``filtered_reports/*<study_id>.txt``, RadVLM's
sectioned ``reports.csv`` or the raw MIMIC-CXR ``files/.../s<study_id>.txt`` reports) that yields one raw row per
image, the input of report-generation, classification and (when RadVLM's GPT conversations are present, read by
:func:`read_conversation`) conversation records. What it is not: a record builder
(:func:`radgrpo.data.tasks.source_records.mimic_cxr_records`), the Chest ImaGenome or MS-CXR readers (their own
modules reuse :func:`read_metadata`), nor an LLM report filter (``radgrpo.data.llm``).

RadVLM semantics kept (``MIMIC_Dataset_MM``): joins on (dicom_id, subject_id, study_id); only ViewPosition PA/AP with
``only_frontal``; split names train / validate / test (the official split is by patient); with a filtered-reports dir
only studies that have a file are kept, a file reading ``None`` means "no findings" and the study is skipped; the
fallback text is the first non-empty of findings, impression, last_paragraph with newlines removed; labels
``fillna(0)`` and -1 -> 1 by default (both options, docs/data.md#labels). Every frontal image of a study gets the
same report.

Access: PhysioNet credentialed access (CITI training + signed DUA) to MIMIC-CXR-JPG 2.0.0/2.1.0
(https://physionet.org/content/mimic-cxr-jpg/) and, for raw reports, MIMIC-CXR 2.0.0 (``mimic-cxr-reports.zip``).
Licence: PhysioNet Credentialed Health Data License 1.5.0. Citation: Johnson A.E.W. et al., "MIMIC-CXR-JPG, a large
publicly available database of labeled chest radiographs", arXiv:1901.07042 (2019); Johnson et al., Sci Data 6:317
(2019).

Example:
    >>> section_text("FINAL REPORT\\n FINDINGS: Lungs are clear.\\n\\n IMPRESSION: Normal.", "findings")
    'Lungs are clear.'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from radgrpo.data.sources.common import (
    CHEXPERT_CSV_LABELS,
    FRONTAL_VIEWS,
    DropCounter,
    RawRow,
    clean_text,
    iter_csv,
    label_value,
)

SOURCE = "mimic_cxr"
METADATA_CSV = "mimic-cxr-2.0.0-metadata.csv"
SPLIT_CSV = "mimic-cxr-2.0.0-split.csv"
CHEXPERT_CSV = "mimic-cxr-2.0.0-chexpert.csv"
REPORTS_CSV = "reports.csv"
FILTERED_DIR = "filtered_reports"
SPLITS = ("train", "validate", "test")
_SECTION = re.compile(r"^\s*([A-Z][A-Z /&]+):", re.M)
_TRAILING_ID = re.compile(r"(\d+)$")


def image_relpath(subject_id: str, study_id: str, dicom_id: str) -> str:
    """MIMIC-CXR-JPG image path relative to the root.

    Example:
        >>> image_relpath("10000032", "50414267", "02aa804e-bde0afdd-112c0b34-7bc16630-4e384014")
        'files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg'
    """
    return f"files/p{subject_id[:2]}/p{subject_id}/s{study_id}/{dicom_id}.jpg"


def section_text(report: str, section: str) -> str:
    """The text of one ``SECTION:`` of a raw MIMIC report (``findings``, ``impression`` ...), newlines removed.

    Args:
        report: the raw report text.
        section: the header name, case-insensitive, without the colon.

    Returns:
        The section text, whitespace-collapsed; ``""`` when the section is absent.

    Example:
        >>> section_text("FINDINGS: a\\nb\\nIMPRESSION: c", "impression")
        'c'
    """
    heads = list(_SECTION.finditer(report))
    for i, m in enumerate(heads):
        if m.group(1).strip().lower() == section.lower():
            end = heads[i + 1].start() if i + 1 < len(heads) else len(report)
            return clean_text(report[m.end() : end])
    return ""


def read_metadata(root: str | os.PathLike, drops: DropCounter) -> dict[str, tuple[str, str, str, int, int]]:
    """``dicom_id -> (subject_id, study_id, ViewPosition, Rows, Columns)`` from the metadata CSV.

    Example:
        >>> read_metadata("/nonexistent", DropCounter())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    out: dict[str, tuple[str, str, str, int, int]] = {}
    for r in iter_csv(Path(root) / METADATA_CSV, drops, required=("dicom_id", "subject_id", "study_id")):
        try:
            rows, cols = int(float(r.get("Rows") or 0)), int(float(r.get("Columns") or 0))
        except ValueError:
            drops.add("bad_image_size", f"{METADATA_CSV}:{r['_line']}")
            continue
        out[r["dicom_id"]] = (r["subject_id"], r["study_id"], r.get("ViewPosition", ""), rows, cols)
    return out


def read_split(root: str | os.PathLike, drops: DropCounter) -> dict[str, str]:
    """``dicom_id -> split`` (train / validate / test) from the split CSV; unknown split names are dropped."""
    out: dict[str, str] = {}
    for r in iter_csv(Path(root) / SPLIT_CSV, drops, required=("dicom_id", "split")):
        if r["split"] not in SPLITS:
            drops.add("unknown_split", f"{SPLIT_CSV}:{r['_line']} {r['split']!r}")
            continue
        out[r["dicom_id"]] = r["split"]
    return out


def read_labels(
    root: str | os.PathLike, drops: DropCounter, uncertain: str = "positive", blank_as_negative: bool = True
) -> dict[tuple[str, str], dict[str, int]]:
    """``(subject_id, study_id) -> {label: 1/0/-1}`` from the CheXpert-labeler CSV (14 labels, per study).

    Labels whose value ends as None (blank with ``blank_as_negative=False``) are left out (= not mentioned).
    """
    out: dict[tuple[str, str], dict[str, int]] = {}
    path = Path(root) / CHEXPERT_CSV
    for r in iter_csv(path, drops, required=("subject_id", "study_id")):
        try:
            labels = {
                k: v
                for k in CHEXPERT_CSV_LABELS
                if k in r
                for v in [label_value(r[k], uncertain, blank_as_negative)]
                if v is not None
            }
        except ValueError as e:
            drops.add("bad_label_value", f"{CHEXPERT_CSV}:{r['_line']} {e}")
            continue
        out[(r["subject_id"], r["study_id"])] = labels
    return out


def _read_reports_csv(path: Path, drops: DropCounter) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in iter_csv(path, drops, required=("study",)):
        text = ""
        for col in ("findings", "impression", "last_paragraph"):
            text = clean_text(r.get(col, ""))
            if text:
                break
        out[r["study"].lstrip("s")] = text
    return out


def _filtered_index(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for entry in os.scandir(folder):
        if entry.name.endswith(".txt"):
            m = _TRAILING_ID.search(entry.name[:-4])
            if m:
                out[m.group(1)] = Path(entry.path)
    return out


def _raw_report(root: Path, subject_id: str, study_id: str) -> str | None:
    p = root / "files" / f"p{subject_id[:2]}" / f"p{subject_id}" / f"s{study_id}.txt"
    if not p.is_file():
        return None
    raw = p.read_text(encoding="utf-8", errors="replace")
    for sec in ("findings", "impression"):
        t = section_text(raw, sec)
        if t:
            return t
    paragraphs = [clean_text(x) for x in raw.strip().split("\n\n") if x.strip()]
    return paragraphs[-1] if paragraphs else ""


def iter_rows(
    root: str | os.PathLike,
    drops: DropCounter,
    *,
    splits: tuple[str, ...] = SPLITS,
    only_frontal: bool = True,
    reports: str = "auto",
    require_report: bool = False,
    uncertain: str = "positive",
    blank_as_negative: bool = True,
    check_images: bool = True,
) -> Iterator[RawRow]:
    """Stream MIMIC-CXR-JPG images as raw rows.

    Args:
        root: the MIMIC-CXR-JPG folder (holds the CSVs and ``files/``).
        drops: counts rows that cannot be used, by reason.
        splits: which official splits to yield.
        only_frontal: keep ViewPosition PA/AP only (RadVLM's ``only_frontal``); others are counted as ``not_frontal``.
        reports: where findings text comes from: ``"filtered"`` (``filtered_reports/``), ``"csv"`` (``reports.csv``),
            ``"raw"`` (``files/.../s<study>.txt``), ``"none"``, or ``"auto"`` = the first of these that exists.
        require_report: drop images whose study has no usable text (``no_report`` / ``filtered_report_none``)
            instead of yielding them with ``report=None``.
        uncertain: CheXpert uncertainty policy (see ``label_value``).
        blank_as_negative: RadVLM's ``fillna(0)``.
        check_images: count a missing JPG as ``missing_image`` (one ``stat`` per row).

    Returns:
        Iterator of dicts ``{dicom_id, subject_id, study_id, view, rows, columns, split, image, labels, report}``;
        ``image`` is absolute, ``labels`` the study's labels (empty when the study has none: counted as a note).

    Example:
        >>> list(iter_rows("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root = Path(root)
    if reports not in ("auto", "filtered", "csv", "raw", "none"):
        raise ValueError(f"reports={reports!r}; valid: auto, filtered, csv, raw, none")
    if reports == "auto":
        reports = "filtered" if (root / FILTERED_DIR).is_dir() else "csv" if (root / REPORTS_CSV).is_file() else "raw"
    meta = read_metadata(root, drops)
    split = read_split(root, drops)
    labels = read_labels(root, drops, uncertain, blank_as_negative)
    filtered = _filtered_index(root / FILTERED_DIR) if reports == "filtered" else {}
    texts = _read_reports_csv(root / REPORTS_CSV, drops) if reports == "csv" else {}
    raw_cache: dict[str, str | None] = {}
    for dicom_id, (subject_id, study_id, view, rows, cols) in meta.items():
        sp = split.get(dicom_id)
        if sp is None:
            drops.add("missing_split", dicom_id)
            continue
        if sp not in splits:
            continue
        if only_frontal and view not in FRONTAL_VIEWS:
            drops.add("not_frontal", f"{dicom_id} {view!r}")
            continue
        image = root / image_relpath(subject_id, study_id, dicom_id)
        if check_images and not image.is_file():
            drops.add("missing_image", str(image.relative_to(root)))
            continue
        report: str | None = None
        if reports == "filtered":
            p = filtered.get(study_id)
            if p is not None:
                report = clean_text(p.read_text(encoding="utf-8", errors="replace"))
                if report.lower() in ("none", ""):
                    report = None
                    if require_report:
                        drops.add("filtered_report_none", study_id)
                        continue
        elif reports == "csv":
            report = texts.get(study_id) or None
        elif reports == "raw":
            if study_id not in raw_cache:
                raw_cache.clear()  # rows of a study are adjacent in the metadata: keep one study cached
                raw_cache[study_id] = _raw_report(root, subject_id, study_id) or None
            report = raw_cache[study_id]
        if report is None and require_report:
            drops.add("no_report", study_id)
            continue
        study_labels = labels.get((subject_id, study_id))
        if study_labels is None:
            drops.note("no_chexpert_labels")
        yield {
            "dicom_id": dicom_id,
            "subject_id": subject_id,
            "study_id": study_id,
            "view": view,
            "rows": rows,
            "columns": cols,
            "split": sp,
            "image": str(image),
            "labels": dict(study_labels or {}),
            "report": report,
        }


def read_conversation(path: str | os.PathLike) -> list[dict[str, str]] | None:
    """A RadVLM conversation file (``[{"from": "human"|"gpt", "value": ...}, ...]``) as ``role``/``content`` turns.

    Returns None when the file is missing, not a list of alternating human/gpt turns, or empty.

    Example:
        >>> read_conversation("/nonexistent.json") is None
        True
    """
    try:
        with open(path, encoding="utf-8") as f:
            turns = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(turns, list) or len(turns) < 2 or len(turns) % 2:
        return None
    out = []
    for i, t in enumerate(turns):
        want = "human" if i % 2 == 0 else "gpt"
        if not isinstance(t, dict) or t.get("from") != want or not isinstance(t.get("value"), str):
            return None
        out.append(
            {"role": "user" if want == "human" else "assistant", "content": t["value"].replace("<image>", "").strip()}
        )
    return out


def iter_report_texts(
    root: str | os.PathLike, drops: DropCounter, *, splits: tuple[str, ...] = SPLITS, only_frontal: bool = True
) -> Iterator[tuple[str, str]]:
    """``(study_id, report text)`` of every study with a (frontal) image, the input of the LLM report filter.

    The text is the whole raw report (``files/p1X/p1XXXXXXX/s<study>.txt``, whitespace collapsed) so the filter sees
    the findings with their context; without it, RadVLM's ``reports.csv`` findings + impression. Studies with
    neither are counted as ``no_report``. The candidate list is built from the metadata, never from already
    filtered files (a fix of RadVLM's filter step; docs/data.md#llm-text-steps).

    Example:
        >>> list(iter_report_texts("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root = Path(root)
    meta = read_metadata(root, drops)
    split = read_split(root, drops)
    csv_path = root / REPORTS_CSV
    csv_rows: dict[str, str] = {}
    if csv_path.is_file():
        for r in iter_csv(csv_path, drops, required=("study",)):
            csv_rows[r["study"].lstrip("s")] = clean_text(" ".join(r.get(c, "") for c in ("findings", "impression")))
    seen: set[str] = set()
    for dicom_id, (subject_id, study_id, view, _, _) in meta.items():
        if study_id in seen or split.get(dicom_id) not in splits or (only_frontal and view not in FRONTAL_VIEWS):
            continue
        seen.add(study_id)
        p = root / "files" / f"p{subject_id[:2]}" / f"p{subject_id}" / f"s{study_id}.txt"
        text = (
            clean_text(p.read_text(encoding="utf-8", errors="replace")) if p.is_file() else csv_rows.get(study_id, "")
        )
        if not text:
            drops.add("no_report", study_id)
            continue
        yield study_id, text
