"""Chest ImaGenome (silver) source: anatomical region boxes on MIMIC-CXR frontal images (docs/data.md#chest-imagenome).

What it is: a reader of ``silver_dataset/splits/{train,valid,test}.csv`` and
``silver_dataset/scene_graph/<dicom_id>_SceneGraph.json`` that yields one raw row per image with all its region boxes,
normalised by the MIMIC-CXR-JPG ``Columns``/``Rows`` (the original pixel frame of ``original_x1 ...``), the input of
anatomical-grounding records. What it is not: a record builder (one region per record is drawn by
:func:`radgrpo.data.tasks.source_records.chest_imagenome_records`), a reader of the scene graphs' attributes or
relations, nor of the gold dataset.

RadVLM semantics (``Chest_ImaGenome_Dataset``) with its pitfalls fixed (docs/data.md#deterministic-seeding): the box is
``[original_x1/Columns, original_y1/Rows, original_x2/Columns, original_y2/Rows]``; boxes outside the image are
clipped (counted as the note ``box_clipped``), boxes without area dropped (``degenerate_box``); the region is drawn
from **all** objects of the graph, but seeded per (seed, dicom_id, repeat) instead of at every ``__getitem__``; split
ids without a scene-graph file are counted as ``missing_scene_graph`` (RadVLM caches them in ``missing_ids.json``).
``right``/``left`` in region names are the patient's sides.

Access: PhysioNet credentialed access to Chest ImaGenome 1.0.0 (https://physionet.org/content/chest-imagenome/) and to
MIMIC-CXR-JPG for the images. Licence: PhysioNet Credentialed Health Data License 1.5.0. Citation: Wu J.T. et al.,
"Chest ImaGenome Dataset for Clinical Reasoning", NeurIPS Datasets and Benchmarks 2021.

Example:
    >>> scene_graph_path("/ci", "d1").as_posix()
    '/ci/silver_dataset/scene_graph/d1_SceneGraph.json'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radgrpo.data.sources import mimic_cxr
from radgrpo.data.sources.common import FRONTAL_VIEWS, DropCounter, RawRow, iter_csv, normalise_box

SOURCE = "chest_imagenome"
SPLIT_FILES = {"train": "train.csv", "valid": "valid.csv", "test": "test.csv"}
SPLIT_NAMES = {"train": "train", "valid": "validate", "test": "test"}


def scene_graph_path(root: str | os.PathLike, dicom_id: str) -> Path:
    """Where the silver scene graph of ``dicom_id`` lives under the Chest ImaGenome root."""
    return Path(root) / "silver_dataset" / "scene_graph" / f"{dicom_id}_SceneGraph.json"


def region_boxes(
    graph: dict[str, Any], columns: int, rows: int, drops: DropCounter, where: str = ""
) -> list[tuple[str, tuple[float, float, float, float]]]:
    """``[(bbox_name, normalised box), ...]`` of a scene graph's objects, in file order.

    Args:
        graph: the parsed ``*_SceneGraph.json``.
        columns: image width in pixels (MIMIC ``Columns``).
        rows: image height in pixels (MIMIC ``Rows``).
        drops: counts unusable objects (``bad_box_value``, ``degenerate_box``) and clipped boxes (note).
        where: detail for drop examples.

    Returns:
        The usable regions.

    Example:
        >>> g = {"objects": [{"bbox_name": "trachea", "original_x1": 90, "original_y1": -4, "original_x2": 110,
        ...                   "original_y2": 80}]}
        >>> region_boxes(g, 200, 100, DropCounter())
        [('trachea', (0.45, 0.0, 0.55, 0.8))]
    """
    out = []
    for obj in graph.get("objects") or []:
        if not isinstance(obj, dict) or not obj.get("bbox_name"):
            drops.add("bad_scene_graph_object", where)
            continue
        box = normalise_box(
            [obj.get(f"original_{k}") for k in ("x1", "y1", "x2", "y2")],
            columns,
            rows,
            drops,
            f"{where} {obj['bbox_name']}",
        )
        if box is not None:
            out.append((str(obj["bbox_name"]), box))
    return out


def iter_rows(
    root: str | os.PathLike,
    mimic_root: str | os.PathLike,
    drops: DropCounter,
    *,
    splits: tuple[str, ...] = ("train",),
    only_frontal: bool = True,
    check_images: bool = True,
) -> Iterator[RawRow]:
    """Stream Chest ImaGenome images with their normalised region boxes.

    Args:
        root: the Chest ImaGenome folder (holds ``silver_dataset/``).
        mimic_root: the MIMIC-CXR-JPG folder (metadata CSV for Rows/Columns/view, and the images).
        drops: counts unusable rows (``missing_scene_graph``, ``unreadable_scene_graph``, ``missing_mimic_metadata``,
            ``missing_image``, ``no_regions``, ...).
        splits: Chest ImaGenome split files to read (``train``, ``valid``, ``test``).
        only_frontal: keep PA/AP images (by MIMIC ViewPosition).
        check_images: count a missing JPG as ``missing_image``.

    Returns:
        Iterator of ``{dicom_id, subject_id, study_id, split, image, rows, columns, regions}`` where ``regions`` is
        a list of ``(bbox_name, box)``.

    Example:
        >>> list(iter_rows("/nonexistent", "/nonexistent", DropCounter()))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        FileNotFoundError: ...
    """
    root, mimic_root = Path(root), Path(mimic_root)
    meta = mimic_cxr.read_metadata(mimic_root, drops)
    for name in splits:
        if name not in SPLIT_FILES:
            raise ValueError(f"unknown Chest ImaGenome split {name!r}; valid: {list(SPLIT_FILES)}")
        for r in iter_csv(root / "silver_dataset" / "splits" / SPLIT_FILES[name], drops, required=("dicom_id",)):
            dicom_id = r["dicom_id"]
            m = meta.get(dicom_id)
            if m is None:
                drops.add("missing_mimic_metadata", dicom_id)
                continue
            subject_id, study_id, view, rows, cols = m
            if only_frontal and view not in FRONTAL_VIEWS:
                drops.add("not_frontal", f"{dicom_id} {view!r}")
                continue
            sg = scene_graph_path(root, dicom_id)
            try:
                with open(sg, encoding="utf-8") as f:
                    graph = json.load(f)
            except FileNotFoundError:
                drops.add("missing_scene_graph", dicom_id)
                continue
            except (OSError, ValueError) as e:
                drops.add("unreadable_scene_graph", f"{dicom_id} {type(e).__name__}")
                continue
            regions = region_boxes(graph, cols, rows, drops, dicom_id)
            if not regions:
                drops.add("no_regions", dicom_id)
                continue
            image = mimic_root / mimic_cxr.image_relpath(subject_id, study_id, dicom_id)
            if check_images and not image.is_file():
                drops.add("missing_image", str(image.relative_to(mimic_root)))
                continue
            yield {
                "dicom_id": dicom_id,
                "subject_id": subject_id,
                "study_id": study_id,
                "split": SPLIT_NAMES[name],
                "image": str(image),
                "rows": rows,
                "columns": cols,
                "regions": regions,
            }
