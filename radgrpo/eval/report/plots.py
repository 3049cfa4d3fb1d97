"""Pictures for the evaluation report: boxes drawn on test images (PIL) and charts (matplotlib, Agg: metric bars,
training curves, the forest plot of paired differences), as PNG bytes. The pre-RL diagnostic's chart is drawn by
:mod:`radgrpo.eval.report.diagnostic`.

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
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from radgrpo.metrics.display import no_direction

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


def figure_png(fig: Any) -> bytes:
    """A matplotlib figure as PNG bytes (100 dpi, tight bounding box); closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def wrap_label(name: str, width: int = 14) -> str:
    """A metric name broken after underscores into lines of at most ``width`` characters where possible.

    Example:
        >>> wrap_label("rule_finding_f1_side")
        'rule_finding_\\nf1_side'
        >>> wrap_label("bleu4")
        'bleu4'
    """
    parts = re.findall(r"[^_/]+[_/]?", name) or [name]
    lines = [""]
    for p in parts:
        if lines[-1] and len(lines[-1]) + len(p) > width:
            lines.append("")
        lines[-1] += p
    return "\n".join(lines)


def metric_bar_chart(
    values: Mapping[str, Mapping[str, tuple[float, float, float]]],
    *,
    colours: Mapping[str, str] | None = None,
    title: str = "",
) -> bytes:
    """Grouped bar chart of metrics per run with CI whiskers (:func:`metric_bar_figure`) as PNG bytes.

    Example:
        >>> png = metric_bar_chart({"sft": {"map_50": (0.5, 0.4, 0.6)}})
        >>> png[:4]
        b'\\x89PNG'
    """
    return figure_png(metric_bar_figure(values, colours=colours, title=title))


def metric_bar_figure(
    values: Mapping[str, Mapping[str, tuple[float, float, float]]],
    *,
    colours: Mapping[str, str] | None = None,
    title: str = "",
) -> Any:
    """The matplotlib figure of the grouped bar chart: one group per metric (names wrapped at underscores, each
    group wider than its name so names never overlap), one bar per run with its CI whisker.

    Args:
        values: run name -> metric name -> ``(value, ci_low, ci_high)``. Metrics missing for a run are left out.
        colours: run name -> colour (default :func:`run_colours`).
        title: chart title.
    Returns:
        the figure (close it with ``matplotlib.pyplot.close``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = list(values)
    metrics = list(dict.fromkeys(m for r in runs for m in values[r]))
    colours = dict(colours) if colours is not None else run_colours(runs)
    labels = [wrap_label(m) for m in metrics]
    # each metric's slot is wider than its longest label line (~0.075 in per character at 9 pt), so names never
    # overlap, whatever the number of runs
    longest = max((len(line) for lab in labels for line in lab.split("\n")), default=4)
    slot = max(0.9, 0.075 * longest + 0.25, 0.35 * len(runs))
    fig, ax = plt.subplots(figsize=(max(4.0, slot * len(metrics) + 1.2), 3.4))
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
    ax.set_xticklabels(labels, fontsize=9)
    ax.set_ylabel("score (95% bootstrap CI)")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


#: panels per row of :func:`training_curves` (more panels wrap onto further rows)
CURVE_COLUMNS = 4


@dataclass(frozen=True)
class CurvePanel:
    """One panel of the training curves: which log keys it draws and how its axes are labelled.

    Args:
        title: panel title.
        ylabel: y-axis label (with the unit).
        pattern: regex (full match) of the log keys drawn; group ``label`` names a key's line (else the key), group
            ``task`` splits the panel into one per task (titled ``"<title>: <task>"``).
    """

    title: str
    ylabel: str
    pattern: str


#: The panels, in order (those without data are left out): TRL's loss, GRPO reward (total and per reward), KL and
#: completion length, radgrpo's per-task GRPO monitors (radgrpo.train.monitors) and the held-out metrics SFT and GRPO
#: log during training (``eval_<task>/<metric>``, radgrpo.train.heldout; per-label values, and values with no better
#: direction such as the answer length ``anc``, are left out).
CURVE_PANELS: tuple[CurvePanel, ...] = (
    CurvePanel("loss", "training loss", r"loss"),
    CurvePanel("reward", "reward (mean over rollouts)", r"reward|rewards/(?P<label>[^/]+)/mean"),
    CurvePanel("KL", "KL(policy || reference)", r"kl"),
    CurvePanel("completion length", "completion length (tokens)", r"completions/mean_length"),
    CurvePanel("reward per task", "reward (mean)", r"tasks/(?P<label>[^/]+)/reward_mean"),
    CurvePanel("report length", "length / reference length", r"tasks/(?P<label>[^/]+)/length_ratio"),
    CurvePanel("groups without reward variance", "share of groups", r"tasks/(?P<label>[^/]+)/zero_std_groups"),
    CurvePanel("held-out", "held-out metric", r"eval_(?P<task>[a-z_]+)/(?P<label>[^/]+)"),
)
#: keys of the trainer's final summary entry (``train_runtime``, ``train_loss`` ...): not a training step
SUMMARY_KEYS: frozenset[str] = frozenset(
    {"train_runtime", "train_loss", "train_samples_per_second", "train_steps_per_second", "total_flos"}
)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _finite(v: Any) -> float | None:
    """``v`` as a float when it is a finite number, else None."""
    return float(v) if _number(v) else None


def curve_series(
    entries: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """The lines of one run's training curves: panel title -> line label -> ``(step, value)`` points.

    The trainer's final summary entry (any of :data:`SUMMARY_KEYS`) and radgrpo's time-guard marker are not
    training steps and are dropped; an entry without ``step`` takes its index.

    Args:
        entries: the run's log history (``log_history.json`` / ``trainer_state.json["log_history"]``).
        keys: only these log keys (default: every key of :data:`CURVE_PANELS`).
    Returns:
        panels with data, in :data:`CURVE_PANELS` order.

    Example:
        >>> log = [{"step": 1, "loss": 2.0, "reward": 0.1}, {"step": 2, "loss": 1.0, "reward": 0.3},
        ...        {"step": 2, "train_runtime": 9.0, "train_loss": 1.5}]
        >>> curve_series(log)
        {'loss': {'loss': [(1, 2.0), (2, 1.0)]}, 'reward': {'total': [(1, 0.1), (2, 0.3)]}}
        >>> curve_series([{"step": 5, "eval_report_generation/bleu4": 0.3, "eval_report_generation/anc": 96.0}])
        {'held-out: report_generation': {'bleu4': [(5, 0.3)]}}
    """
    found: dict[tuple[int, str], dict[str, list[tuple[float, float]]]] = {}
    compiled = [re.compile(p.pattern) for p in CURVE_PANELS]
    for i, e in enumerate(entries):
        if SUMMARY_KEYS & set(e) or "time_guard_hit" in e:
            continue
        step = e.get("step", i)
        for key, v in e.items():
            if not _number(v) or (keys is not None and key not in keys):
                continue
            for j, rx in enumerate(compiled):
                m = rx.fullmatch(key)
                if m is None:
                    continue
                groups = m.groupdict()
                label = groups.get("label") or ("total" if key == "reward" else key)
                if groups.get("task") and label in no_direction():  # a length or count, not a score: no shared axis
                    break
                title = CURVE_PANELS[j].title + (f": {groups['task']}" if groups.get("task") else "")
                found.setdefault((j, title), {}).setdefault(label, []).append((step, float(v)))
                break
    return {title: lines for (_, title), lines in sorted(found.items(), key=lambda kv: kv[0][0])}


def curves_figure(
    logs: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str] | None = None,
    *,
    colours: Mapping[str, str] | None = None,
) -> Any:
    """The matplotlib figure of :func:`training_curves` (one block of panels per run, each on its own step axis).

    Raises:
        ValueError: when no run has a plottable key.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    series = {run: curve_series(entries, keys) for run, entries in logs.items()}
    series = {run: s for run, s in series.items() if s}
    if not series:
        present = sorted({k for es in logs.values() for e in es for k, v in e.items() if _number(v)})
        raise ValueError(f"no plottable key in the training logs; keys present: {present}")
    colours = dict(colours) if colours is not None else run_colours(list(logs))
    ncols = min(CURVE_COLUMNS, max(len(s) for s in series.values()))
    rows_per_run = {run: -(-len(s) // ncols) for run, s in series.items()}
    fig = plt.figure(figsize=(3.3 * ncols, sum(2.9 * n + 0.4 for n in rows_per_run.values())), layout="constrained")
    heights = [2.9 * n + 0.4 for n in rows_per_run.values()]
    subfigs = fig.subfigures(len(series), 1, squeeze=False, height_ratios=heights)[:, 0]
    for sub, (run, panels) in zip(subfigs, series.items()):
        sub.suptitle(f"{run} (own step axis)", fontsize=10, x=0.01, ha="left")
        axes = sub.subplots(rows_per_run[run], ncols, squeeze=False)
        for ax in axes.flat[len(panels) :]:
            ax.set_visible(False)
        ylabels = {p.title: p.ylabel for p in CURVE_PANELS}
        for ax, (title, lines) in zip(axes.flat, panels.items()):
            styles = ["-", "--", ":", "-."]
            for j, (label, pts) in enumerate(lines.items()):
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    color=colours.get(run, "#333333") if len(lines) == 1 else None,
                    ls=styles[j % len(styles)] if len(lines) > 1 else "-",
                    marker="o" if len(pts) <= 3 else None,
                    ms=3,
                    lw=1.2,
                    label=label,
                )
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("optimizer step", fontsize=8)
            ax.set_ylabel(ylabels[title.split(":")[0]], fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
            ax.tick_params(labelsize=7)
            ax.spines[["top", "right"]].set_visible(False)
            if len(lines) > 1:
                ax.legend(frameon=False, fontsize=6, loc="best")
    return fig


def training_curves(
    logs: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str] | None = None,
    *,
    colours: Mapping[str, str] | None = None,
) -> bytes:
    """Training curves from log histories (e.g. TRL ``trainer.state.log_history``) as one PNG: one block of panels
    per run (:data:`CURVE_PANELS`: loss, reward, KL, completion length, GRPO monitors, held-out metrics), each run on
    its own step axis (SFT and GRPO steps are different units), the trainer's summary entry dropped
    (:func:`curve_series`), every axis labelled.

    Args:
        logs: run name (``"sft"``, ``"grpo"``) -> list of log dicts with a ``"step"`` key and numeric values.
        keys: only these log keys (default: all the panels know).
        colours: run name -> colour (default :func:`run_colours`), used for single-line panels.
    Returns:
        PNG bytes.

    Raises:
        ValueError: when none of the keys occurs in any log.

    Example:
        >>> training_curves({"sft": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]})[:4]
        b'\\x89PNG'
    """
    return figure_png(curves_figure(logs, keys, colours=colours))


#: Colours of the forest plot: significantly better, significantly worse, not significant.
FOREST_COLOURS: dict[str, str] = {"better": "#0072b2", "worse": "#d55e00", "none": "#777777"}


def forest_unit(metric: str) -> str:
    """The axis a metric's paired difference is drawn on in :func:`forest_figure`: the clinical utilities (cost per
    study, unbounded) apart from the scores in [0, 1].

    Example:
        >>> forest_unit("clinical_utility_truth"), forest_unit("rule_finding_f1_side")
        ('utility per study', 'score')
    """
    return "utility per study" if metric.startswith("clinical_utility") else "score"


def _ci_significant(r: Mapping[str, Any]) -> bool:
    lo, hi = (_finite(v) for v in (list(r.get("ci95") or [None, None]) + [None, None])[:2])
    p = _finite(r.get("p_value"))
    return lo is not None and hi is not None and (lo > 0 or hi < 0) and p is not None and p < 0.05


def _forest_panel(
    ax: Any,
    metrics: Mapping[str, Mapping[str, Any]],
    lower_is_better: Collection[str],
    is_sig: Callable[[Mapping[str, Any]], bool],
    rows: int,
) -> None:
    """One panel of :func:`forest_figure`: the metrics top to bottom (``rows`` slots, so that panels side by side
    space their rows alike), a dot and CI bar each, a line at 0."""
    span = [0.0]
    for y, (m, r) in enumerate(metrics.items()):
        d = _finite(r.get("diff"))
        if d is None:
            ax.text(0, y, "no value", ha="center", va="center", fontsize=7, color=FOREST_COLOURS["none"])
            continue
        lo, hi = (_finite(v) for v in (list(r.get("ci95") or [None, None]) + [None, None])[:2])
        err = [[d - lo], [hi - d]] if lo is not None and hi is not None else None
        span += [d, lo, hi] if lo is not None and hi is not None else [d]
        sig = bool(is_sig(r))
        better = d < 0 if m in lower_is_better else d > 0
        colour = FOREST_COLOURS[("better" if better else "worse") if sig else "none"]
        ax.errorbar(
            [d], [y], xerr=err, fmt="o", color=colour, elinewidth=1.5, capsize=3, ms=5, mfc=colour if sig else "white"
        )
    ax.axvline(0.0, color="black", lw=0.8, ls="--")
    pad = 0.1 * (max(span) - min(span)) or 0.05
    ax.set_xlim(min(span) - pad, max(span) + pad)
    ax.set_ylim(max(rows, len(metrics)) - 0.5, -0.5)
    ax.set_yticks(range(len(metrics)))
    ax.set_yticklabels([m + (" (lower is better)" if m in lower_is_better else "") for m in metrics], fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", color="#eeeeee", lw=0.6)
    ax.spines[["top", "right"]].set_visible(False)


def forest_figure(
    paired: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    lower_is_better: Collection[str] = (),
    significant: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Any:
    """Forest plot of paired differences: one row of panels per comparison ``"a_vs_b"``, one row per metric in the
    given order (top to bottom), its difference ``a - b`` as a dot with the 95 % CI as a horizontal bar and a dashed
    vertical line at 0. The clinical utilities get their own panel on the right (their unit is a cost per study, not a
    score in [0, 1]). Significant differences are drawn filled, in blue when better and orange when worse; the others
    open and grey; a metric without a difference is labelled "no value".

    Args:
        paired: comparison -> metric -> ``{"diff", "ci95": [lo, hi], "p_value", "n"}``
            (:func:`radgrpo.eval.compare.compare_runs`).
        lower_is_better: metrics where a negative difference is better (labelled "(lower is better)").
        significant: ``fn(result) -> bool`` (default: the CI excludes 0 and p < 0.05).
    Returns:
        the figure (close it with ``matplotlib.pyplot.close``).

    Raises:
        ValueError: no comparison with a metric.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comps = {c: dict(ms) for c, ms in paired.items() if ms}
    if not comps:
        raise ValueError("forest_figure needs at least one comparison with a metric")
    is_sig = significant or _ci_significant
    units = [u for u in ("score", "utility per study") if any(forest_unit(m) == u for ms in comps.values() for m in ms)]
    rows = [max(sum(forest_unit(m) == u for m in ms) for u in units) for ms in comps.values()]
    heights = [0.32 * n + 1.1 for n in rows]
    fig = plt.figure(figsize=(5.8 + 3.4 * (len(units) - 1), sum(heights)), layout="constrained")
    subfigs = fig.subfigures(len(comps), 1, squeeze=False, height_ratios=heights)[:, 0]
    for sub, n, (comp, metrics) in zip(subfigs, rows, comps.items()):
        new, _, old = comp.partition("_vs_")
        sub.suptitle(comp, fontsize=10, x=0.01, ha="left")
        axes = sub.subplots(1, len(units), squeeze=False, width_ratios=[1.4 if u == "score" else 1.0 for u in units])
        for ax, unit in zip(axes[0], units):
            names = [m for m in metrics if forest_unit(m) == unit]
            if names:
                _forest_panel(ax, {m: metrics[m] for m in names}, lower_is_better, is_sig, n)
                ax.set_xlabel(f"{unit}: {new} − {old}" if old else f"{unit}: difference", fontsize=8)
            else:
                ax.set_visible(False)
    return fig


def forest_plot(
    paired: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    lower_is_better: Collection[str] = (),
    significant: Callable[[Mapping[str, Any]], bool] | None = None,
) -> bytes:
    """:func:`forest_figure` as PNG bytes.

    Example:
        >>> forest_plot({"grpo_vs_sft": {"bleu4": {"diff": 0.02, "ci95": [-0.01, 0.05], "p_value": 0.2, "n": 40}}})[:4]
        b'\\x89PNG'
    """
    return figure_png(forest_figure(paired, lower_is_better=lower_is_better, significant=significant))
