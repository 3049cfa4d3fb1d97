"""Pictures for the evaluation report: boxes drawn on test images (PIL) and charts (matplotlib, Agg), as PNG bytes.

Everything returns PNG bytes or a ``data:image/png;base64,...`` URI so the HTML report is one self-contained file.
This module draws; it does not compute metrics (``radgrpo.eval.summarize``) or lay out the page
(``radgrpo.eval.report.html``). Boxes are normalised [0,1] xyxy (docs/data.md#box-convention).

Example:
    >>> from PIL import Image
    >>> im = draw_boxes(Image.new("L", (100, 50)), [(0.1, 0.1, 0.5, 0.9)], {"sft": [(0.2, 0.2, 0.6, 0.8)]}, size=200)
    >>> im.size, im.mode
    ((200, 100), 'RGB')
    >>> png_data_uri(b"\\x89PNG")[:22]
    'data:image/png;base64,'
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image, ImageDraw

#: Colour of the reference (ground-truth) boxes.
REFERENCE_COLOUR = "#00e000"
#: Run colours, in order of the runs (untrained, sft, grpo ...); colour-blind-safe Okabe–Ito hues.
RUN_COLOURS: tuple[str, ...] = ("#e69f00", "#56b4e9", "#d55e00", "#cc79a7", "#0072b2", "#f0e442")


def run_colours(run_names: Sequence[str]) -> dict[str, str]:
    """One colour per run name, in order (cycling through :data:`RUN_COLOURS`).

    Example:
        >>> run_colours(["untrained", "sft"])
        {'untrained': '#e69f00', 'sft': '#56b4e9'}
    """
    return {name: RUN_COLOURS[i % len(RUN_COLOURS)] for i, name in enumerate(run_names)}


def png_bytes(image: Image.Image) -> bytes:
    """Encode a PIL image as PNG bytes.

    Example:
        >>> png_bytes(Image.new("RGB", (2, 2)))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """A ``data:`` URI for PNG bytes, for ``<img src=...>`` in a self-contained page.

    Example:
        >>> png_data_uri(b"ab")
        'data:image/png;base64,YWI='
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def draw_boxes(
    image: Image.Image,
    reference_boxes: Sequence[Sequence[float]],
    predicted: Mapping[str, Sequence[Sequence[float]]],
    *,
    colours: Mapping[str, str] | None = None,
    size: int = 320,
    width: int = 3,
) -> Image.Image:
    """Draw reference boxes and each run's predicted boxes on a copy of ``image``.

    Args:
        image: the test image (any mode; converted to RGB).
        reference_boxes: ground-truth boxes, normalised [0,1] xyxy, drawn in :data:`REFERENCE_COLOUR`.
        predicted: run name -> predicted boxes (normalised xyxy), each run in its own colour. Coordinates outside
            [0,1] are clipped for drawing only; inverted boxes are drawn with their corners sorted.
        colours: run name -> colour; default :func:`run_colours` in the order of ``predicted``.
        size: the longer side of the output in pixels (the aspect ratio is kept).
        width: line width in pixels.
    Returns:
        a new RGB image.

    Example:
        >>> im = draw_boxes(Image.new("RGB", (10, 10)), [(0.0, 0.0, 1.0, 1.0)], {}, size=10, width=1)
        >>> im.getpixel((0, 5)), im.getpixel((5, 5))
        ((0, 224, 0), (0, 0, 0))
    """
    img = image.convert("RGB")
    scale = size / max(img.size)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    img = img.resize((w, h), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    colours = dict(colours) if colours is not None else run_colours(list(predicted))

    def rect(box: Sequence[float], colour: str) -> None:
        x1, y1, x2, y2 = (min(max(float(v), 0.0), 1.0) for v in box)
        x1, x2 = sorted((x1, x2))
        y1, y2 = sorted((y1, y2))
        draw.rectangle([x1 * (w - 1), y1 * (h - 1), x2 * (w - 1), y2 * (h - 1)], outline=colour, width=width)

    for name, boxes in predicted.items():
        for b in boxes:
            rect(b, colours[name])
    for b in reference_boxes:  # reference last, so it stays visible on top
        rect(b, REFERENCE_COLOUR)
    return img


def _figure_png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def metric_bar_chart(
    values: Mapping[str, Mapping[str, tuple[float, float, float]]],
    *,
    colours: Mapping[str, str] | None = None,
    title: str = "",
) -> bytes:
    """Grouped bar chart of metrics per run with CI whiskers.

    Args:
        values: run name -> metric name -> ``(value, ci_low, ci_high)``. Metrics missing for a run are left out.
        colours: run name -> colour (default :func:`run_colours`).
        title: chart title.
    Returns:
        PNG bytes.

    Example:
        >>> png = metric_bar_chart({"sft": {"map_50": (0.5, 0.4, 0.6)}})
        >>> png[:4]
        b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = list(values)
    metrics = list(dict.fromkeys(m for r in runs for m in values[r]))
    colours = dict(colours) if colours is not None else run_colours(runs)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(metrics) * max(1, len(runs)) / 2 + 2), 3.2))
    width = 0.8 / max(1, len(runs))
    for i, run in enumerate(runs):
        xs, ys, lo, hi = [], [], [], []
        for j, m in enumerate(metrics):
            if m in values[run]:
                v, low, high = values[run][m]
                xs.append(j + (i - (len(runs) - 1) / 2) * width)
                ys.append(v)
                lo.append(max(0.0, v - low))
                hi.append(max(0.0, high - v))
        ax.bar(xs, ys, width=width, color=colours[run], label=run, yerr=[lo, hi], capsize=3, error_kw={"elinewidth": 1})
    ax.set_xticks(range(len(metrics)))
    ax.set_xticklabels(metrics)
    ax.set_ylabel("score (95% bootstrap CI)")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _figure_png(fig)


#: panels per row of :func:`training_curves` (more keys wrap onto further rows)
CURVE_COLUMNS = 4


def training_curves(
    logs: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str] | None = None,
    *,
    colours: Mapping[str, str] | None = None,
) -> bytes:
    """Line plots of training logs (e.g. TRL ``trainer.state.log_history``), one panel per key.

    Args:
        logs: stage name (``"sft"``, ``"grpo"``) -> list of log dicts with a ``"step"`` key and numeric values.
        keys: which keys to plot; default: ``loss``, ``reward``, ``kl``, ``entropy`` where present. Panels wrap after
            :data:`CURVE_COLUMNS` per row.
        colours: stage name -> colour (default :func:`run_colours`), so a stage matches its report column.
    Returns:
        PNG bytes.

    Raises:
        ValueError: when none of the keys occurs in any log.

    Example:
        >>> training_curves({"sft": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]})[:4]
        b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = {
        k
        for entries in logs.values()
        for e in entries
        for k, v in e.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    keys = [k for k in (keys or ("loss", "reward", "kl", "entropy")) if k in present]
    if not keys:
        raise ValueError(f"no plottable key in the training logs; keys present: {sorted(present)}")
    colours = dict(colours) if colours is not None else run_colours(list(logs))
    ncols = min(len(keys), CURVE_COLUMNS)
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), squeeze=False)
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    for ax, key in zip(axes.flat, keys):
        for stage, entries in logs.items():
            pts = [(e.get("step", i), e[key]) for i, e in enumerate(entries) if isinstance(e.get(key), (int, float))]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colours[stage], label=stage, lw=1.2)
        ax.set_title(key.removeprefix("tasks/").replace("eval_", "held-out ", 1), fontsize=9)
        ax.set_xlabel("step")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return _figure_png(fig)
