"""PadChest-GR source: English report sentences with normalised boxes, AP/PA images only (docs/data.md#padchest-gr).

What it is: a reader of ``grounded_reports_20240819.json`` (studies with ``ImageID`` and ``findings`` = ``{sentence_en,
sentence_es, abnormal, boxes, extra_boxes, labels, locations, progression}``, boxes already in [0,1] xyxy),
``master_table.csv`` (``ImageID, StudyID, PatientID, split, PatientSex_DICOM, label_group ...``; one row per study and
label) and the original PadChest CSV for ``Projection``; it yields one row per image with its grounded sentences, the
input of one phrase-grounding record per sentence with boxes
(:func:`radgrpo.data.tasks.source_records.padchest_gr_records`). What it is not: a reader of the Spanish ``Report``
(stemmed tokens) nor of ``extra_boxes`` (ignored by RadVLM too).

RadVLM semantics (``PadChest_grounding``): ImageIDs present in the master table's split and with ``Projection`` in
{AP, PA} (so ``AP_horizontal`` supine images are dropped, counted as ``not_frontal``); phrase = ``sentence_en``; the
boxes are used as given, clipped to [0,1] here (degenerate dropped). Split ``validation`` -> ``validate``.

Access: BIMCV research-use agreement for PadChest-GR (https://bimcv.cipf.es/bimcv-projects/padchest-gr/) and PadChest.
Licence: PadChest-GR Dataset Research Use Agreement (non-commercial). Citation: Castro D.C. et al., "PadChest-GR: A
Bilingual Chest X-ray Dataset for Grounded Radiology Report Generation", NEJM AI (2025); Bustos A. et al., "PadChest:
A large chest x-ray image dataset with multi-label annotated reports", Medical Image Analysis 66 (2020).

Example:
    >>> GROUNDED_JSON
    'grounded_reports_20240819.json'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from radgrpo.data.sources.common import FRONTAL_VIEWS, DropCounter, RawRow, clip_norm_box, iter_csv

SOURCE = "padchest_gr"
GROUNDED_JSON = "grounded_reports_20240819.json"
MASTER_CSV = "master_table.csv"
PADCHEST_CSV = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv"
IMAGE_DIR = "images_grounding"
SPLIT_NAMES = {"train": "train", "validation": "validate", "test": "test"}


def iter_rows(
    root: str | os.PathLike,
    drops: DropCounter,
    *,
    splits: tuple[str, ...] = ("train", "validate"),
    check_images: bool = True,
) -> Iterator[RawRow]:
    """Stream PadChest-GR images with their grounded English sentences.

    Args:
        root: the PadChest folder (the JSON, both CSVs and ``images_grounding/``).
        drops: counts unusable rows (``not_in_master_table``, ``missing_projection``, ``not_frontal``,
            ``missing_image``, ``bad_finding``, ``bad_box_value``, ``degenerate_box`` ...).
        splits: our split names to yield (train / validate / test).
        check_images: count a missing PNG as ``missing_image``.

    Returns:
        Iterator of ``{image_id, study_id, patient_id, split, sex, image, findings}`` with ``findings`` a list of
        ``{"phrase", "boxes", "abnormal"}`` (sentences without boxes have ``boxes == []``).

    Example:
        >>> list(iter_rows("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root = Path(root)
    master: dict[str, RawRow] = {}
    for r in iter_csv(root / MASTER_CSV, drops, required=("ImageID", "split")):
        master.setdefault(r["ImageID"], r)
    projection: dict[str, str] = {}
    for r in iter_csv(root / PADCHEST_CSV, drops, required=("ImageID", "Projection")):
        projection[r["ImageID"]] = r["Projection"]
    with open(root / GROUNDED_JSON, encoding="utf-8") as f:
        studies = json.load(f)
    if not isinstance(studies, list):
        raise ValueError(f"{root / GROUNDED_JSON}: expected a list of studies, got {type(studies).__name__}")
    for i, st in enumerate(studies):
        if not isinstance(st, dict) or not st.get("ImageID"):
            drops.add("bad_study", f"{GROUNDED_JSON}[{i}]")
            continue
        image_id = st["ImageID"]
        m = master.get(image_id)
        if m is None:
            drops.add("not_in_master_table", image_id)
            continue
        split = SPLIT_NAMES.get(m["split"], m["split"])
        if split not in splits:
            continue
        proj = projection.get(image_id)
        if proj is None:
            drops.add("missing_projection", image_id)
            continue
        if proj not in FRONTAL_VIEWS:
            drops.add("not_frontal", f"{image_id} {proj!r}")
            continue
        image = root / IMAGE_DIR / image_id
        if check_images and not image.is_file():
            drops.add("missing_image", f"{IMAGE_DIR}/{image_id}")
            continue
        findings = []
        for j, fd in enumerate(st.get("findings") or []):
            if not isinstance(fd, dict) or not isinstance(fd.get("sentence_en"), str):
                drops.add("bad_finding", f"{image_id}/{j}")
                continue
            boxes = []
            for b in fd.get("boxes") or []:
                if not isinstance(b, (list, tuple)):
                    drops.add("bad_box_value", f"{image_id}/{j} {b!r}")
                    continue
                box = clip_norm_box(b, drops, f"{image_id}/{j}")
                if box is not None:
                    boxes.append(box)
            findings.append(
                {"phrase": fd["sentence_en"].strip(), "boxes": boxes, "abnormal": bool(fd.get("abnormal", False))}
            )
        yield {
            "image_id": image_id,
            "study_id": st.get("StudyID") or m.get("StudyID", ""),
            "patient_id": m.get("PatientID", ""),
            "split": split,
            "sex": m.get("PatientSex_DICOM", ""),
            "image": str(image),
            "findings": findings,
        }
