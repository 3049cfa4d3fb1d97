"""The data of the report's per-sample browser: every test sample with its thumbnail, references and each run's
answer, boxes and scores, as one JSON document embedded in the page (``templates/browser.js`` renders it).

Thumbnails are JPEGs with the longer side at most :data:`THUMB_SIZE` px, one per distinct image file (several tasks
often share an image); boxes are NOT drawn into them: they travel as normalised [0,1] xyxy lists and the page draws
them over the thumbnail (reference in :data:`radgrpo.eval.report.plots.REFERENCE_COLOUR`, each run in its colour).
Only the rows in view are rendered, so a report of thousands of samples opens at once.

JSON layout (short keys keep 5,000 samples small)::

    {"runs": [{"name", "colour", "thinking"}], "reference_colour", "tasks", "sources", "findings",
     "scores": [score keys one can sort by],
     "samples": [{"id", "task", "source", "target", "q" (question), "img" (thumbnail index or -1),
                  "rb" (reference boxes), "rt" (reference text),
                  "r": [per run in "runs" order: null, or {"a" (answer), "b" (boxes), "s" {score: value},
                        "th" (thought), "tc" (think closed: thinking runs only), "fin" (finished), "nt" (tokens),
                        "rg" (regenerations)}]}]}

Example:
    >>> rec = Record("r0", "x.png", "report_generation", "Write a report.", "No effusion.")
    >>> p = Prediction("r0", "report_generation", "q", "\\n\\n", "\\n\\n", 2, True)
    >>> d = browser_data([rec], {"base": [p]}, images=False)
    >>> d["samples"][0]["r"][0]["a"], d["samples"][0]["img"], d["runs"][0]["thinking"]
    ('\\n\\n', -1, False)
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from radgrpo.boxes import parse_boxes
from radgrpo.errors import UserPathError
from radgrpo.eval.generate import Prediction
from radgrpo.eval.report.plots import REFERENCE_COLOUR, run_colours
from radgrpo.metrics.display import result_order
from radgrpo.records import Record
from radgrpo.thinking import THINK_CLOSE, THINK_OPEN

#: longer side of the thumbnails (px)
THUMB_SIZE = 256
#: JPEG quality of the thumbnails
THUMB_QUALITY = 80
#: characters of a thought kept in the page
MAX_THOUGHT_CHARS = 8000
#: score-row keys that are not sortable scores
_NOT_SCORES = frozenset({"id", "task", "source", "target", "n_ref_boxes", "finished", "think_closed", "thinking"})


def _is_score(key: str, value: Any) -> bool:
    if key in _NOT_SCORES or key.endswith(("_tp", "_fp", "_fn")):
        return False
    if isinstance(value, bool):
        return key == "parseable"
    return isinstance(value, (int, float)) and math.isfinite(float(value))


def _display_image(im: Any) -> Any:
    """A PIL image as 8-bit greyscale or RGB (16-bit and float greyscale stretched to their range)."""
    import numpy as np
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(arr.astype(np.uint8), mode="L")
    if im.mode in ("L", "RGB"):
        return im
    return im.convert("L" if im.mode in ("LA", "1") else "RGB")


def thumbnail_uri(path: str | Path, size: int = THUMB_SIZE, quality: int = THUMB_QUALITY) -> str:
    """A ``data:image/jpeg;base64,...`` thumbnail of an image file, longer side at most ``size`` px (aspect kept).

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> p = Path(tempfile.mkdtemp()) / "x.png"
        >>> Image.new("L", (600, 300), 80).save(p)
        >>> uri = thumbnail_uri(p, size=200)
        >>> uri[:23], Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size
        ('data:image/jpeg;base64,', (200, 100))
    """
    from PIL import Image

    with Image.open(path) as im:
        im.draft("L" if im.mode == "L" else "RGB", (size, size))  # JPEG: decode at a reduced scale
        img = _display_image(im)
        img.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def thought_of(p: Prediction) -> str:
    """The thinking text of a prediction: its ``thought`` field when it has one, else (thinking outputs) the
    completion before the last ``</think>`` without the ``<think>`` tag.

    Example:
        >>> thought_of(Prediction("a", "report_generation", "q", "<think>heart big</think> Cardiomegaly.",
        ...                       "Cardiomegaly.", 5, True, thinking=True))
        'heart big'
    """
    text = getattr(p, "thought", None)
    if isinstance(text, str) and text.strip():
        return text.strip()[:MAX_THOUGHT_CHARS]
    if not p.thinking:
        return ""
    i = p.completion.rfind(THINK_CLOSE)
    head = p.completion[:i] if i >= 0 else p.completion
    return head.replace(THINK_OPEN, "").strip()[:MAX_THOUGHT_CHARS]


def run_is_thinking(predictions: Sequence[Prediction], meta: Mapping[str, Any] | None = None) -> bool:
    """Whether a run thought: its meta says so, or a prediction asked for thinking or carries a thought."""
    if (meta or {}).get("thinking"):
        return True
    return any(p.thinking or bool(getattr(p, "thought", "")) for p in predictions)


def _r4(v: float) -> float:
    return round(float(v), 4)


def browser_data(
    records: Sequence[Record] | None,
    predictions: Mapping[str, Sequence[Prediction]],
    scores: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    base_dir: str | os.PathLike | None = None,
    colours: Mapping[str, str] | None = None,
    thinking: Mapping[str, bool] | None = None,
    images: bool = True,
    thumb_size: int = THUMB_SIZE,
) -> dict[str, Any]:
    """The browser's JSON document (module docstring) for all samples any run predicted.

    Args:
        records: the test records (question, references, image); None: samples from the predictions only.
        predictions: run name -> predictions, in column order.
        scores: run name -> score rows.
        base_dir: folder of relative record image paths.
        colours: run name -> colour (default :func:`run_colours`).
        thinking: run name -> whether it is a thinking run (default :func:`run_is_thinking`).
        images: embed thumbnails (False: none, e.g. for tests without image files).
        thumb_size: longer side of the thumbnails (px, at most 256 keeps 5,000 samples quick to open).
    Returns:
        the document (a dict of JSON types).
    Raises:
        FileNotFoundError: a record's image does not exist.
    """
    names = list(predictions)
    colours = dict(colours) if colours is not None else run_colours(names)
    thinking = dict(thinking) if thinking is not None else {r: run_is_thinking(predictions[r]) for r in names}
    pred_by = {r: {p.id: p for p in predictions[r]} for r in names}
    score_by = {r: {str(s.get("id")): s for s in (scores or {}).get(r, ())} for r in names}
    recs = {r.id: r for r in records or ()}
    ids = [r.id for r in records or () if any(r.id in pred_by[n] for n in names)]
    seen = set(ids)
    for n in names:
        for p in predictions[n]:
            if p.id not in seen:
                seen.add(p.id)
                ids.append(p.id)
    thumbs: list[str] = []
    thumb_index: dict[str, int] = {}
    score_keys: dict[str, None] = {}
    samples = []
    for sid in ids:
        rec = recs.get(sid)
        first = next(pred_by[n][sid] for n in names if sid in pred_by[n])
        task = rec.task.value if rec is not None else first.task
        img = -1
        if rec is not None and images:
            path = rec.image_path(base_dir)
            key = str(path.resolve()) if path.exists() else str(path)
            if key not in thumb_index:
                if not path.is_file():
                    raise UserPathError(f"report: image of record {rec.id!r} not found at {path}")
                thumb_index[key] = len(thumbs)
                thumbs.append(thumbnail_uri(path, size=thumb_size))
            img = thumb_index[key]
        grounding = rec.task.is_grounding if rec is not None else "grounding" in task
        per_run: list[dict[str, Any] | None] = []
        for n in names:
            pred = pred_by[n].get(sid)
            if pred is None:
                per_run.append(None)
                continue
            p = pred
            row = score_by[n].get(sid, {})
            s = {}
            for k, v in row.items():
                if _is_score(k, v):
                    s[k] = v if isinstance(v, int) and not isinstance(v, bool) else _r4(float(v))
                    score_keys.setdefault(k, None)
            entry: dict[str, Any] = {"a": p.answer, "s": s, "fin": bool(p.finished), "nt": int(p.n_tokens)}
            if grounding:
                entry["b"] = [[_r4(v) for v in b] for b in parse_boxes(p.answer)]
            thought = thought_of(p)
            if thought:
                entry["th"] = thought
            if thinking.get(n):
                entry["tc"] = bool(p.think_closed)
            regen = getattr(p, "n_regenerations", 0)
            if isinstance(regen, int) and regen > 0:
                entry["rg"] = regen
            per_run.append(entry)
        if rec is not None:
            ref_text = rec.reference_report if rec.reference_report is not None else rec.answer
            sample = {
                "id": sid,
                "task": task,
                "source": rec.source,
                "target": rec.target or "",
                "q": rec.question,
                "img": img,
                "rb": [[_r4(v) for v in b] for b in rec.reference_boxes],
                "rt": ref_text,
                "r": per_run,
            }
        else:
            src = next(
                (str(score_by[n][sid].get("source")) for n in names if score_by[n].get(sid, {}).get("source")), ""
            )
            sample = {
                "id": sid,
                "task": task,
                "source": src or "unknown",
                "target": "",
                "q": first.prompt,
                "img": -1,
                "rb": [],
                "rt": "",
                "r": per_run,
            }
        samples.append(sample)
    ordered = result_order(score_keys)  # the sort keys in the metric table's order, the rest alphabetically
    return {
        "runs": [{"name": n, "colour": colours[n], "thinking": bool(thinking.get(n))} for n in names],
        "reference_colour": REFERENCE_COLOUR,
        "tasks": sorted({s["task"] for s in samples}),
        "sources": sorted({s["source"] for s in samples}),
        "findings": sorted({s["target"] for s in samples if s["target"]}),
        "scores": ordered,
        "samples": samples,
        "images": thumbs,
    }


def script_json(data: Any) -> str:
    """JSON safe to embed in ``<script type="application/json">`` (``<``, ``>``, ``&`` and the JS line separators
    escaped, so no text can close the script element).

    Example:
        >>> script_json({"a": "</script><b>"})
        '{"a":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
