"""CheXpert-Plus source: frontal CheXpert images with report text and CheXbert labels (docs/data.md#chexpert-plus).

What it is: a streaming reader of ``df_chexpert_plus_240401.csv`` (columns ``path_to_image, frontal_lateral, ap_pa,
deid_patient_id, split, section_findings, section_impression, section_end_of_impression, ...``; report cells span
lines inside quotes) plus the JSON-lines ``chexbert_labels/report_fixed.json`` (``{"path_to_image": ..., <14 labels>}``)
and, when present, RadVLM's GPT-filtered findings ``filtered_reports/<split>_<patient>_<study>.txt``; it yields
one raw row per frontal image, the input of report-generation records. What it is not: a record builder
(:func:`radgrpo.data.tasks.source_records.chexpert_plus_records`) nor the CheXpert classification set
(:mod:`radgrpo.data.sources.chexpert`).

RadVLM semantics (``CheXpertPlus_Dataset``): frontal images only; train = ``split == "train"``, RadVLM's test =
``split == "valid"`` (our split name ``validate``); text = the filtered file, else ``section_findings +
section_impression + section_end_of_impression`` with newlines removed; labels = keys with value 1.0 in
``report_fixed.json`` (uncertainty policy as for CheXpert). RadVLM also ``.capitalize()``s the raw text, which
lowercases every letter after the first: off by default here, ``capitalize=True`` reproduces it.

Access: Stanford AIMI research-use agreement (https://stanfordaimi.azurewebsites.net/datasets/5158c524-d3ab-4e02-96e9-
6ee9efc110a1). Licence: Stanford University Dataset Research Use Agreement. Citation: Chambon P. et al., "CheXpert Plus:
Augmenting a Large Chest X-ray Dataset with Text Radiology Reports, Patient Demographics and Additional Image
Formats", arXiv:2405.19538 (2024).

Example:
    >>> filtered_name("train/patient00001/study1/view1_frontal.jpg")
    'train_patient00001_study1.txt'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from radgrpo.data.sources.common import (
    CHEXPERT_CSV_LABELS,
    DropCounter,
    RawRow,
    clean_text,
    iter_csv,
    label_value,
)

SOURCE = "chexpert_plus"
CSV_NAME = "df_chexpert_plus_240401.csv"
LABELS_JSON = "chexbert_labels/report_fixed.json"
FILTERED_DIR = "filtered_reports"
SPLIT_NAMES = {"train": "train", "valid": "validate"}
TEXT_COLUMNS = ("section_findings", "section_impression", "section_end_of_impression")


def filtered_name(path_to_image: str) -> str:
    """RadVLM's filtered-report file name for an image: first three path parts joined by ``_``."""
    return "_".join(path_to_image.split("/")[:3]) + ".txt"


def read_chexbert_labels(
    path: str | os.PathLike, drops: DropCounter, uncertain: str = "positive", blank_as_negative: bool = True
) -> dict[str, dict[str, int]]:
    """``path_to_image -> labels`` from a CheXbert JSON-lines file; bad lines are counted (``bad_label_line``).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.json"
        >>> _ = p.write_text('{"path_to_image": "a.jpg", "Edema": 1.0, "Fracture": null}\\nnot json\\n')
        >>> d = DropCounter(); read_chexbert_labels(p, d), d.counts
        ({'a.jpg': {'Edema': 1, 'Fracture': 0}}, {'bad_label_line': 1})
    """
    out: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out[d["path_to_image"]] = {
                    k: v
                    for k in CHEXPERT_CSV_LABELS
                    if k in d
                    for v in [label_value(d[k], uncertain, blank_as_negative)]
                    if v is not None
                }
            except (ValueError, KeyError, TypeError) as e:
                drops.add("bad_label_line", f"{Path(path).name}:{i} {type(e).__name__}")
    return out


def iter_rows(
    root: str | os.PathLike,
    drops: DropCounter,
    *,
    splits: tuple[str, ...] = ("train",),
    only_frontal: bool = True,
    reports: str = "auto",
    capitalize: bool = False,
    uncertain: str = "positive",
    blank_as_negative: bool = True,
    check_images: bool = True,
    image_root: str | os.PathLike | None = None,
) -> Iterator[RawRow]:
    """Stream CheXpert-Plus frontal images with report text.

    Args:
        root: folder with ``df_chexpert_plus_240401.csv``, ``chexbert_labels/`` and optionally ``filtered_reports/``.
        drops: counts unusable rows (``not_frontal``, ``no_report``, ``missing_image``, ``missing_labels`` note ...).
        splits: CSV split values to keep (``train``, ``valid``).
        only_frontal: keep ``frontal_lateral == "Frontal"``.
        reports: ``"filtered"``, ``"sections"`` or ``"auto"`` (filtered when the folder exists).
        capitalize: reproduce RadVLM's ``str.capitalize()`` of the section text.
        uncertain: uncertainty policy for the CheXbert labels.
        blank_as_negative: blank/null label -> 0.
        check_images: count a missing image as ``missing_image``.
        image_root: where ``path_to_image`` is resolved (default: ``root``, as in RadVLM's CheXpert folder).

    Returns:
        Iterator of ``{path, image, split, patient_id, view, report, labels}``.

    Example:
        >>> list(iter_rows("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root = Path(root)
    image_root = Path(image_root) if image_root else root
    if reports == "auto":
        reports = "filtered" if (root / FILTERED_DIR).is_dir() else "sections"
    if reports not in ("filtered", "sections"):
        raise ValueError(f"reports={reports!r}; valid: auto, filtered, sections")
    labels_path = root / LABELS_JSON
    labels = read_chexbert_labels(labels_path, drops, uncertain, blank_as_negative) if labels_path.is_file() else {}
    if not labels_path.is_file():
        drops.note("no_chexbert_labels_file")
    filtered = {e.name for e in os.scandir(root / FILTERED_DIR)} if reports == "filtered" else set()
    for r in iter_csv(root / CSV_NAME, drops, required=("path_to_image", "split")):
        if r["split"] not in splits:
            continue
        rel = r["path_to_image"]
        if only_frontal and r.get("frontal_lateral", "") != "Frontal":
            drops.add("not_frontal", rel)
            continue
        if reports == "filtered":
            name = filtered_name(rel)
            text = (
                clean_text((root / FILTERED_DIR / name).read_text(encoding="utf-8", errors="replace"))
                if name in filtered
                else ""
            )
            if text.lower() == "none":
                text = ""
        else:
            text = clean_text(" ".join(r.get(c, "") for c in TEXT_COLUMNS))
            if capitalize:
                text = text.capitalize()
        if not text:
            drops.add("no_report", rel)
            continue
        image = image_root / rel
        if check_images and not image.is_file():
            drops.add("missing_image", rel)
            continue
        row_labels = labels.get(rel)
        if row_labels is None:
            drops.note("missing_labels")
        yield {
            "path": rel,
            "image": str(image),
            "split": SPLIT_NAMES.get(r["split"], r["split"]),
            "patient_id": r.get("deid_patient_id") or rel.split("/")[1],
            "view": r.get("ap_pa", ""),
            "report": text,
            "labels": dict(row_labels or {}),
        }


def iter_report_texts(
    root: str | os.PathLike,
    drops: DropCounter,
    *,
    splits: tuple[str, ...] = ("train", "valid"),
    only_frontal: bool = True,
) -> Iterator[tuple[str, str]]:
    """``(filtered-file key, report text)`` per CheXpert-Plus study, the input of the LLM report filter.

    The key is RadVLM's filtered-report name without ``.txt`` (``train_patient00001_study1``, see
    :func:`filtered_name`); the text is the findings + impression + end-of-impression sections. Studies without text
    are counted as ``no_report``.

    Example:
        >>> list(iter_report_texts("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    seen: set[str] = set()
    for r in iter_csv(Path(root) / CSV_NAME, drops, required=("path_to_image", "split")):
        if r["split"] not in splits or (only_frontal and r.get("frontal_lateral", "") != "Frontal"):
            continue
        key = filtered_name(r["path_to_image"])[: -len(".txt")]
        if key in seen:
            continue
        seen.add(key)
        text = clean_text(" ".join(r.get(c, "") for c in TEXT_COLUMNS))
        if not text:
            drops.add("no_report", r["path_to_image"])
            continue
        yield key, text
