"""MS-CXR source: radiologist-drawn boxes for report phrases on MIMIC-CXR images (docs/data.md#ms-cxr).

What it is: a reader of ``MS_CXR_Local_Alignment_v1.0.0.csv`` (v1.1.0 adds ``split``; columns ``dicom_id,
category_name, label_text, path, x, y, w, h, image_width, image_height``, the box being top-left ``x, y`` plus ``w, h``
in original pixels) that groups rows by (image, phrase), converts each box to normalised xyxy
``[x/W, y/H, (x+w)/W, (y+h)/H]`` (clipped; degenerate dropped) and yields one raw row per group, the input of
phrase-grounding records (:func:`radgrpo.data.tasks.source_records.ms_cxr_records`). It reads the CSV directly, so
RadVLM's ``sentences_BBox_mscxr`` / ``sentences_and_BBox_mscxr`` naming mismatch cannot bite. What it is not:
a reader of the COCO-style JSON that also ships.

Split: the v1.1.0 ``split`` column when present (train / val / test -> train / validate / test; recommended);
otherwise the MIMIC-CXR official split of the image when ``mimic_root`` is given (RadVLM trains on MIMIC train+valid);
otherwise ``train``. With ``mimic_root`` only frontal (PA/AP) images are kept, as RadVLM does.

Access: PhysioNet credentialed access to MS-CXR (https://physionet.org/content/ms-cxr/) and MIMIC-CXR-JPG. Licence:
PhysioNet Credentialed Health Data License 1.5.0. Citation: Boecking B. et al., "Making the Most of Text Semantics to
Improve Biomedical Vision-Language Processing", ECCV 2022.

Example:
    >>> xywh_to_xyxy(10, 20, 30, 40)
    (10.0, 20.0, 40.0, 60.0)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from radgrpo.data.sources import mimic_cxr
from radgrpo.data.sources.common import FRONTAL_VIEWS, DropCounter, RawRow, iter_csv, normalise_box, parse_float

SOURCE = "ms_cxr"
CSV_NAMES = ("MS_CXR_Local_Alignment_v1.1.0.csv", "MS_CXR_Local_Alignment_v1.0.0.csv")
SPLIT_NAMES = {"train": "train", "val": "validate", "valid": "validate", "validate": "validate", "test": "test"}


def xywh_to_xyxy(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """Top-left + size -> corners (same units)."""
    return (float(x), float(y), float(x) + float(w), float(y) + float(h))


def csv_path(root: str | os.PathLike) -> Path:
    """The newest MS-CXR CSV present under ``root`` (v1.1.0 preferred)."""
    for name in CSV_NAMES:
        if (Path(root) / name).is_file():
            return Path(root) / name
    return Path(root) / CSV_NAMES[-1]


def iter_rows(
    root: str | os.PathLike,
    drops: DropCounter,
    *,
    mimic_root: str | os.PathLike | None = None,
    splits: tuple[str, ...] = ("train", "validate"),
    check_images: bool = True,
) -> Iterator[RawRow]:
    """Stream MS-CXR (image, phrase) groups with normalised boxes.

    Args:
        root: folder with the MS-CXR CSV.
        drops: counts unusable rows (``bad_box_value``, ``degenerate_box``, ``missing_image``, ``not_frontal`` ...).
        mimic_root: MIMIC-CXR-JPG folder: images are resolved there (else under ``root``), its split and
            ViewPosition are used when the CSV has no ``split`` column.
        splits: our split names to yield.
        check_images: count a missing image as ``missing_image``.

    Returns:
        Iterator of ``{dicom_id, phrase, category, boxes, split, image, subject_id}`` in CSV order of first rows.

    Example:
        >>> list(iter_rows("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root = Path(root)
    image_root = Path(mimic_root) if mimic_root else root
    meta = mimic_cxr.read_metadata(mimic_root, drops) if mimic_root else {}
    split_of = mimic_cxr.read_split(mimic_root, drops) if mimic_root else {}
    groups: dict[tuple[str, str], RawRow] = {}
    path = csv_path(root)
    for r in iter_csv(path, drops, required=("dicom_id", "label_text", "path")):
        where = f"{path.name}:{r['_line']}"
        w, h = parse_float(r.get("image_width")), parse_float(r.get("image_height"))
        xyxy = [parse_float(r.get(k)) for k in ("x", "y", "w", "h")]
        if None in xyxy or w is None or h is None:
            drops.add("bad_box_value", where)
            continue
        box = normalise_box(xywh_to_xyxy(*xyxy), w, h, drops, where)  # type: ignore[arg-type]
        if box is None:
            continue
        key = (r["dicom_id"], r["label_text"])
        g = groups.get(key)
        if g is None:
            sp = r.get("split") or split_of.get(r["dicom_id"], "train")
            groups[key] = {
                "dicom_id": r["dicom_id"],
                "phrase": r["label_text"],
                "category": r.get("category_name", ""),
                "boxes": [box],
                "split": SPLIT_NAMES.get(sp, sp),
                "image": str(image_root / r["path"]),
                "path": r["path"],
            }
        else:
            g["boxes"].append(box)
    for (dicom_id, _), g in groups.items():
        if g["split"] not in splits:
            continue
        m = meta.get(dicom_id)
        if mimic_root and m is None:
            drops.add("missing_mimic_metadata", dicom_id)
            continue
        if m is not None and m[2] not in FRONTAL_VIEWS:
            drops.add("not_frontal", f"{dicom_id} {m[2]!r}")
            continue
        if check_images and not Path(g["image"]).is_file():
            drops.add("missing_image", g["path"])
            continue
        parts = g["path"].split("/")
        g["subject_id"] = m[0] if m else (parts[2][1:] if len(parts) > 2 else dicom_id)
        yield g
