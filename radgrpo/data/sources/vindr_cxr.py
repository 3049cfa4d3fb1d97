"""VinDr-CXR source: multi-reader lesion boxes fused with Weighted Box Fusion (docs/data.md#vindr-cxr).

What it is: a reader of ``annotations[/]annotations_{train,test}.csv`` (``image_id, rad_id, class_name, x_min, y_min,
x_max, y_max``; ``rad_ID`` and the Kaggle ``class_id`` column accepted) that yields one raw row per image with, per
class, the readers' boxes normalised by the DICOM's (Rows, Columns) and fused with WBF (``iou_thr=0.1``, equal scores,
rounded to 3 decimals, as RadVLM's ``apply_wbf``), the input of abnormality-grounding records (one per class)
and a detection record (:func:`radgrpo.data.tasks.source_records.vindr_cxr_records`). :func:`convert_images`
converts the DICOMs to ``{split}_jpg/<image_id>.jpg`` (512×512 by default, like RadVLM) and writes a *complete*
``image_resolutions_{split}.json`` ``{image_id: [Rows, Columns]}`` atomically. What it is not: a reader of the
image-level labels CSV (global labels such as COPD are not grounded).

Fixes of RadVLM pitfalls (docs/data.md#vindr-cxr): the resolution JSON is rebuilt for every image on each run
(RadVLM leaves converted images out and silently falls back to 1024×1024; here a missing entry is read from the DICOM header, counted as the
note ``resolution_from_dicom``, and an unreadable DICOM is dropped as ``unreadable_dicom``); conversion applies
MONOCHROME1 inversion and the VOI window by default (``mode="radvlm"`` reproduces RadVLM's raw min-max); the split
names are train / test only.

Access: PhysioNet credentialed access to VinDr-CXR 1.0.0 (https://physionet.org/content/vindr-cxr/). Licence:
PhysioNet Credentialed Health Data License 1.5.0. Citation: Nguyen H.Q. et al., "VinDr-CXR: An open dataset of chest
X-rays with radiologist's annotations", Scientific Data 9:429 (2022).

Example:
    >>> NO_FINDING
    'No finding'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from radgrpo.data.dicom import DicomError, convert_dicom, read_dicom_size
from radgrpo.data.sources.common import DropCounter, RawRow, iter_csv, normalise_box
from radgrpo.data.wbf import fuse_reader_boxes
from radgrpo.errors import UserPathError

SOURCE = "vindr_cxr"
SPLITS = ("train", "test")
NO_FINDING = "No finding"


def _find(root: Path, name: str) -> Path:
    for p in (root / "annotations" / name, root / name):
        if p.exists():
            return p
    return root / "annotations" / name


def annotations_path(root: str | os.PathLike, split: str) -> Path:
    """``annotations/annotations_<split>.csv`` (or the same file at the root)."""
    return _find(Path(root), f"annotations_{split}.csv")


def resolutions_path(root: str | os.PathLike, split: str) -> Path:
    """``annotations/image_resolutions_<split>.json`` (or the same file at the root)."""
    return _find(Path(root), f"image_resolutions_{split}.json")


def dicom_path(root: str | os.PathLike, split: str, image_id: str) -> Path:
    """``<split>/<image_id>.dicom``."""
    return Path(root) / split / f"{image_id}.dicom"


def jpg_path(root: str | os.PathLike, split: str, image_id: str) -> Path:
    """``<split>_jpg/<image_id>.jpg`` (the converted image)."""
    return Path(root) / f"{split}_jpg" / f"{image_id}.jpg"


def read_annotations(root: str | os.PathLike, split: str, drops: DropCounter) -> dict[str, list[RawRow]]:
    """``image_id -> annotation rows`` of one split, in file order (rows hold ``class_name`` and coordinates)."""
    out: dict[str, list[RawRow]] = {}
    for r in iter_csv(
        annotations_path(root, split), drops, required=("image_id", "class_name"), rename={"rad_ID": "rad_id"}
    ):
        out.setdefault(r["image_id"], []).append(r)
    return out


def _read_resolutions(root: Path, split: str, drops: DropCounter) -> dict[str, list[int]]:
    p = resolutions_path(root, split)
    if not p.is_file():
        return {}
    try:
        with open(p, encoding="utf-8") as f:
            data = json.load(f)
        return {k: [int(v[0]), int(v[1])] for k, v in data.items()}
    except (ValueError, TypeError, IndexError, AttributeError) as e:
        drops.note(f"unreadable_resolution_json_{type(e).__name__}")
        return {}


def fuse_image(
    rows: list[RawRow], height: int, width: int, drops: DropCounter, iou_thr: float = 0.1, ndigits: int = 3
) -> dict[str, list[tuple[float, float, float, float]]]:
    """Per-class fused boxes of one image: normalise every reader's box by (width, height), then WBF per class.

    Args:
        rows: the image's annotation rows (all readers).
        height: original Rows in pixels.
        width: original Columns in pixels.
        drops: counts unusable boxes (``bad_box_value``, ``degenerate_box``) and clipped ones (note).
        iou_thr: WBF threshold (RadVLM: 0.1).
        ndigits: rounding of fused coordinates (RadVLM: 3).

    Returns:
        ``{class_name: [boxes]}`` in order of the class's first appearance; "No finding" rows are skipped.

    Example:
        >>> rows = [{"class_name": "Nodule/Mass", "x_min": "10", "y_min": "10", "x_max": "30", "y_max": "30"},
        ...         {"class_name": "Nodule/Mass", "x_min": "12", "y_min": "10", "x_max": "32", "y_max": "30"},
        ...         {"class_name": "No finding", "x_min": "", "y_min": "", "x_max": "", "y_max": ""}]
        >>> fuse_image(rows, 100, 100, DropCounter())
        {'Nodule/Mass': [(0.11, 0.1, 0.31, 0.3)]}
    """
    per_class: dict[str, list[tuple[float, float, float, float]]] = {}
    for r in rows:
        name = r["class_name"]
        if name == NO_FINDING:
            continue
        box = normalise_box(
            [r.get("x_min"), r.get("y_min"), r.get("x_max"), r.get("y_max")],
            width,
            height,
            drops,
            f"{r.get('image_id', '')}:{r.get('_line', '')}",
        )
        if box is not None:
            per_class.setdefault(name, []).append(box)
    return {k: fuse_reader_boxes(v, iou_thr=iou_thr, ndigits=ndigits) for k, v in per_class.items() if v}


def iter_rows(
    root: str | os.PathLike,
    drops: DropCounter,
    *,
    splits: tuple[str, ...] = ("train",),
    iou_thr: float = 0.1,
    check_images: bool = True,
) -> Iterator[RawRow]:
    """Stream VinDr-CXR images with fused per-class boxes.

    Args:
        root: the VinDr-CXR folder (``train/ test/`` DICOMs, ``annotations/``, converted ``{split}_jpg/``).
        drops: counts unusable rows (``missing_image``, ``unreadable_dicom``, ``bad_box_value`` ...).
        splits: ``train`` and/or ``test``.
        iou_thr: WBF clustering threshold.
        check_images: require the converted JPG (``missing_image`` otherwise; run :func:`convert_images` first).

    Returns:
        Iterator of ``{image_id, split, image, rows, columns, findings}``; ``findings`` maps class -> fused boxes and
        is empty for "No finding" images.

    Example:
        >>> list(iter_rows("/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root = Path(root)
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown VinDr-CXR split {split!r}; valid: {SPLITS}")
        res = _read_resolutions(root, split, drops)
        for image_id, rows in read_annotations(root, split, drops).items():
            jpg = jpg_path(root, split, image_id)
            if check_images and not jpg.is_file():
                drops.add("missing_image", str(jpg.relative_to(root)))
                continue
            hw = res.get(image_id)
            if hw is None:
                dcm = dicom_path(root, split, image_id)
                if not dcm.is_file():
                    drops.add("missing_image", f"{split}/{image_id}.dicom (no resolution either)")
                    continue
                try:
                    hw = list(read_dicom_size(dcm))
                except DicomError as e:
                    drops.add("unreadable_dicom", str(e)[:200])
                    continue
                drops.note("resolution_from_dicom")
            yield {
                "image_id": image_id,
                "split": split,
                "image": str(jpg),
                "rows": hw[0],
                "columns": hw[1],
                "findings": fuse_image(rows, hw[0], hw[1], drops, iou_thr=iou_thr),
            }


def convert_images(
    root: str | os.PathLike,
    split: str,
    drops: DropCounter,
    *,
    mode: str = "display",
    size: int | None = 512,
    overwrite: bool = False,
) -> dict[str, list[int]]:
    """Convert ``<split>/*.dicom`` to ``<split>_jpg/*.jpg`` and write the complete resolution JSON atomically.

    Already converted images are skipped but still get their resolution (from the header), so a re-run never writes
    an incomplete JSON (a RadVLM pitfall). Unreadable DICOMs are counted as ``unreadable_dicom``.

    Args:
        root: the VinDr-CXR folder.
        split: ``train`` or ``test``.
        drops: drop counter.
        mode: ``"display"`` or ``"radvlm"`` (see :func:`radgrpo.data.dicom.read_dicom_array`).
        size: output side in pixels (aspect ignored, as RadVLM), or None to keep the original size.
        overwrite: re-convert existing JPGs.

    Returns:
        ``{image_id: [Rows, Columns]}`` as written to ``image_resolutions_<split>.json``.

    Example:
        >>> convert_images("/nonexistent", "train", DropCounter())  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        UserPathError: ...
    """
    root = Path(root)
    src_dir = root / split
    if not src_dir.is_dir():
        raise UserPathError(f"{src_dir}: no VinDr-CXR DICOM folder")
    res: dict[str, list[int]] = {}
    for entry in sorted(os.scandir(src_dir), key=lambda e: e.name):
        if not entry.name.endswith(".dicom"):
            continue
        image_id = entry.name[: -len(".dicom")]
        dst = jpg_path(root, split, image_id)
        try:
            if dst.is_file() and not overwrite:
                res[image_id] = list(read_dicom_size(entry.path))
            else:
                res[image_id] = list(convert_dicom(entry.path, dst, mode=mode, size=size))
        except DicomError as e:
            drops.add("unreadable_dicom", str(e)[:200])
    out = resolutions_path(root, split)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(res, indent=0), encoding="utf-8")
    os.replace(tmp, out)
    return res
