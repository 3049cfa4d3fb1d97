"""CheXpert source: frontal images with their 14 CheXpert labels, for classification (docs/data.md#chexpert).

What it is: a streaming reader of Stanford's ``train.csv`` / ``valid.csv`` / ``test.csv`` (columns ``Path, Sex, Age,
Frontal/Lateral, AP/PA`` + 14 labels; test.csv has no Sex/Age) that yields one raw row per frontal image, the input
of classification records. What it is not: a record builder
(:func:`radgrpo.data.tasks.source_records.chexpert_records`) nor CheXpert-Plus (reports;
:mod:`radgrpo.data.sources.chexpert_plus`).

RadVLM semantics kept (``CheXpert_Dataset_MM``): the ``CheXpert-v1.0[-small]/`` prefix of ``Path`` is stripped and the
rest resolved against the root; frontal = ``Path`` ends in ``frontal.jpg``; when ``No Finding`` is 1 every pathology
except Support Devices is set to 0; -1 -> 1 and blank -> 0 by default (documented options, docs/data.md#labels);
the answer lists the positive labels among the 13 pathologies in sorted order. The patient id is the
``patientNNNNN`` folder.

Access: Stanford AIMI research-use agreement (https://stanfordaimi.azurewebsites.net/datasets/8cbd9ed4-2eb9-4565-affc-
111cf4f7ebe2). Licence: Stanford University School of Medicine CheXpert Dataset Research Use Agreement (non-
commercial). Citation: Irvin J. et al., "CheXpert: A Large Chest Radiograph Dataset with Uncertainty Labels and Expert
Comparison", AAAI 2019.

Example:
    >>> strip_prefix("CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg")
    'train/patient00001/study1/view1_frontal.jpg'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from radgrpo.data.sources.common import CHEXPERT_CSV_LABELS, DropCounter, RawRow, iter_csv, label_value

SOURCE = "chexpert"
SPLIT_FILES = {"train": "train.csv", "valid": "valid.csv", "test": "test.csv"}
#: Our split names for CheXpert's files.
SPLIT_NAMES = {"train": "train", "valid": "validate", "test": "test"}
_PREFIX = re.compile(r"^CheXpert-v1\.0(-small)?/")
_PATIENT = re.compile(r"(patient\d+)")


def strip_prefix(path: str) -> str:
    """Drop the ``CheXpert-v1.0/`` or ``CheXpert-v1.0-small/`` prefix of a CSV ``Path``."""
    return _PREFIX.sub("", path)


def apply_no_finding(labels: dict[str, int]) -> dict[str, int]:
    """RadVLM's rule: ``No Finding == 1`` sets every other label except Support Devices to 0.

    Example:
        >>> apply_no_finding({"No Finding": 1, "Edema": 1, "Support Devices": 1})
        {'No Finding': 1, 'Edema': 0, 'Support Devices': 1}
    """
    if labels.get("No Finding") != 1:
        return labels
    return {k: (v if k in ("No Finding", "Support Devices") else 0) for k, v in labels.items()}


def iter_rows(
    root: str | os.PathLike,
    drops: DropCounter,
    *,
    splits: tuple[str, ...] = ("train",),
    only_frontal: bool = True,
    uncertain: str = "positive",
    blank_as_negative: bool = True,
    check_images: bool = True,
) -> Iterator[RawRow]:
    """Stream CheXpert images as raw rows.

    Args:
        root: the folder holding ``train.csv``/``valid.csv``/``test.csv`` and ``train/ valid/ test/``.
        drops: counts unusable rows by reason (``not_frontal``, ``missing_image``, ``bad_label_value`` ...).
        splits: CheXpert file names to read (``train``, ``valid``, ``test``).
        only_frontal: keep ``Path`` ending in ``frontal.jpg``.
        uncertain: uncertainty policy (see ``label_value``).
        blank_as_negative: blank -> 0 (RadVLM) instead of "not mentioned".
        check_images: count a missing image file as ``missing_image``.

    Returns:
        Iterator of ``{path, image, split, patient_id, view, sex, age, labels}``.

    Example:
        >>> list(iter_rows("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root = Path(root)
    for name in splits:
        if name not in SPLIT_FILES:
            raise ValueError(f"unknown CheXpert split {name!r}; valid: {list(SPLIT_FILES)}")
        csv_path = root / SPLIT_FILES[name]
        for r in iter_csv(csv_path, drops, required=("Path",)):
            rel = strip_prefix(r["Path"])
            if only_frontal and not rel.endswith("frontal.jpg"):
                drops.add("not_frontal", rel)
                continue
            try:
                labels = {
                    k: v
                    for k in CHEXPERT_CSV_LABELS
                    if k in r
                    for v in [label_value(r[k], uncertain, blank_as_negative)]
                    if v is not None
                }
            except ValueError as e:
                drops.add("bad_label_value", f"{csv_path.name}:{r['_line']} {e}")
                continue
            image = root / rel
            if check_images and not image.is_file():
                drops.add("missing_image", rel)
                continue
            m = _PATIENT.search(rel)
            yield {
                "path": rel,
                "image": str(image),
                "split": SPLIT_NAMES[name],
                "patient_id": m.group(1) if m else rel.split("/")[0],
                "view": r.get("AP/PA", ""),
                "sex": r.get("Sex", ""),
                "age": r.get("Age", ""),
                "labels": apply_no_finding(labels),
            }
