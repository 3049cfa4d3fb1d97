"""The report's pre-RL diagnostic section: as plain data, the mention rates per finding, decision thresholds, the
gate's three conditions and the utility of greedy decoding vs the threshold rule (docs/rl_vs_imitation.md#the-gate),
and its chart of greedy vs sampled mention rates (matplotlib, PNG bytes).

It lays out the dict that :func:`radgrpo.eval.mention_rates.gate` returns (the demo's ``OUT/diagnostic.json``); it
computes nothing and runs no model. Shares and thresholds are shown with three decimals, utilities per study with
three (signed for the room), None (an empty group) as ``"–"``.

Example:
    >>> d = diagnostic_section({"rates": {"Pneumothorax": {"n_pos": 4, "n_subtle": 3, "n_conspicuous": 1,
    ...     "greedy_pos": 0.25, "sampled_pos": None}}, "thresholds": {"Pneumothorax": 0.25},
    ...     "utility": {}, "conditions": [], "passed": False})
    >>> row = d["rows"][0]
    >>> row["finding"], row["n_pos"], row["greedy_pos"], row["sampled_pos"], row["threshold"]
    ('Pneumothorax', '4 (3 / 1)', '0.250', '–', '0.250')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from radgrpo.eval.report.plots import figure_png

__all__ = [
    "CONDITION_TITLES",
    "DECODING_COLOURS",
    "RATE_COLUMNS",
    "diagnostic_section",
    "fmt",
    "mention_rate_chart",
    "mention_rate_figure",
]

#: The rate columns of the per-finding table: (key of the rates, header).
RATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("greedy_pos", "greedy, positives"),
    ("sampled_pos", "sampled, positives"),
    ("greedy_neg", "greedy, negatives"),
    ("sampled_neg", "sampled, negatives"),
    ("greedy_subtle", "greedy, subtle positives"),
    ("sampled_subtle", "sampled, subtle positives"),
    ("reference_pos", "readers, positives"),
)
#: The gate's conditions by name, as the report titles them.
CONDITION_TITLES: dict[str, str] = {
    "learned": "the model learned the findings",
    "room": "room for a better decision rule",
    "under_called": "greedy decoding under-calls",
}


def fmt(v: Any, spec: str = ".3f") -> str:
    """A number with ``spec``; None, NaN and non-numbers as ``"–"``.

    Example:
        >>> fmt(0.5), fmt(None), fmt(-0.25, "+.3f"), fmt(float("nan"))
        ('0.500', '–', '-0.250', '–')
    """
    x = _share(v)
    return "–" if x is None else format(x, spec)


def _share(v: Any) -> float | None:
    """``v`` as a float when it is a finite number, else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        return None
    return float(v)


def _count(v: Any) -> str:
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else "–"


def _value(v: Any, spec: str) -> str:
    """A condition's value: a number, or ``"Label 0.412, ..."`` for a per-finding mapping."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {fmt(x, spec)}" for k, x in v.items()) or "–"
    return fmt(v, spec)


def diagnostic_section(diagnostic: Mapping[str, Any]) -> dict[str, Any]:
    """The diagnostic as the template's rows.

    Args:
        diagnostic: :func:`radgrpo.eval.mention_rates.gate`'s dict (optionally with ``split``, ``n_studies`` and
            ``samples_per_study``, as the demo writes it). Missing parts are shown as empty.
    Returns:
        ``{"rows": [{"finding", "n_pos" ("n (subtle / conspicuous)"), "n_neg", <RATE_COLUMNS keys>, "threshold",
        "title"}], "columns": RATE_COLUMNS headers, "rate_keys", "conditions": [{"name", "title", "passed", "value", "target",
        "findings"}], "n_passed", "passed", "utility": [{"against", "greedy", "threshold", "room"}], "split",
        "n_studies", "samples_per_study"}``. Findings with a threshold but no positive study follow the others with
        ``n_pos`` 0 and ``"–"`` rates.
    """
    rates: Mapping[str, Mapping[str, Any]] = diagnostic.get("rates") or {}
    thresholds: Mapping[str, Any] = diagnostic.get("thresholds") or {}
    rows = []
    for label in list(dict.fromkeys([*rates, *thresholds])):
        r = rates.get(label)
        if r is None:
            n_pos = "0"
        else:
            n_pos = f"{_count(r.get('n_pos'))} ({_count(r.get('n_subtle'))} / {_count(r.get('n_conspicuous'))})"
        r = r or {}
        title = (
            f"readers on negatives {fmt(r.get('reference_neg'))}, on subtle positives {fmt(r.get('reference_subtle'))}; "
            f"greedy on conspicuous positives {fmt(r.get('greedy_conspicuous'))}, sampled "
            f"{fmt(r.get('sampled_conspicuous'))}"
        )
        rows.append(
            {
                "finding": label,
                "n_pos": n_pos,
                "n_neg": _count(r.get("n_neg")),
                **{k: fmt(r.get(k)) for k, _ in RATE_COLUMNS},
                "threshold": fmt(thresholds.get(label)),
                "title": title,
            }
        )
    conditions = []
    for c in diagnostic.get("conditions") or []:
        name = str(c.get("name", ""))
        conditions.append(
            {
                "name": name,
                "title": CONDITION_TITLES.get(name, name),
                "passed": bool(c.get("passed")),
                "value": _value(c.get("value"), "+.3f" if name == "room" else ".3f"),
                "target": str(c.get("target", "")),
                "findings": ", ".join(c.get("findings") or []),
            }
        )
    utility = []
    for against, label in (("reference", "the reference reports"), ("truth", "the drawn truth")):
        u = (diagnostic.get("utility") or {}).get(against)
        if u is not None:
            utility.append(
                {
                    "against": label,
                    "greedy": fmt(u.get("greedy")),
                    "threshold": fmt(u.get("threshold")),
                    "room": fmt(u.get("room"), "+.3f"),
                }
            )
    return {
        "rows": rows,
        "columns": [h for _, h in RATE_COLUMNS],
        "rate_keys": [k for k, _ in RATE_COLUMNS],
        "conditions": conditions,
        "n_passed": sum(c["passed"] for c in conditions),
        "passed": bool(diagnostic.get("passed")),
        "utility": utility,
        "split": diagnostic.get("split"),
        "n_studies": diagnostic.get("n_studies"),
        "samples_per_study": diagnostic.get("samples_per_study"),
    }


#: Colours of the pre-RL diagnostic's bars: greedy and sampled decoding (Okabe–Ito blue and orange).
DECODING_COLOURS: dict[str, str] = {"greedy": "#0072b2", "sampled": "#e69f00"}


def _wrap_words(text: str, width: int = 12) -> str:
    lines = [""]
    for w in text.split():
        if lines[-1] and len(lines[-1]) + 1 + len(w) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {w}".strip()
    return "\n".join(lines)


def mention_rate_figure(rates: Mapping[str, Mapping[str, Any]], thresholds: Mapping[str, float] | None = None) -> Any:
    """The pre-RL diagnostic's grouped bars: per finding, the share of positive and of negative studies whose
    greedy report names it and the mean share of sampled reports naming it (positives solid, negatives hatched and
    pale), on a 0-1 axis; the decision threshold of each finding as a short black line over its group.

    Args:
        rates: finding -> ``greedy_pos``, ``sampled_pos``, ``greedy_neg``, ``sampled_neg`` (shares in [0, 1]; None
            draws no bar), as :func:`radgrpo.eval.mention_rates.mention_rates` returns.
        thresholds: finding -> decision threshold on the sampled rate (drawn for the findings of ``rates``).
    Returns:
        the figure (close it with ``matplotlib.pyplot.close``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    labels = list(rates)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.25 * len(labels) + 1.6), 3.4))
    bars = [
        ("greedy_pos", "greedy", False),
        ("sampled_pos", "sampled", False),
        ("greedy_neg", "greedy", True),
        ("sampled_neg", "sampled", True),
    ]
    width = 0.8 / len(bars)
    for k, (key, decoding, negative) in enumerate(bars):
        xs, ys = [], []
        for j, lab in enumerate(labels):
            v = _share(rates[lab].get(key))
            if v is not None:
                xs.append(j + (k - (len(bars) - 1) / 2) * width)
                ys.append(v)
        ax.bar(
            xs,
            ys,
            width=width,
            color=DECODING_COLOURS[decoding],
            alpha=0.45 if negative else 1.0,
            hatch="///" if negative else None,
            edgecolor="white" if negative else DECODING_COLOURS[decoding],
            linewidth=0.5,
        )
    handles: list[Any] = [
        Patch(color=DECODING_COLOURS["greedy"], label="greedy, positive studies"),
        Patch(color=DECODING_COLOURS["sampled"], label="sampled, positive studies"),
        Patch(
            facecolor=DECODING_COLOURS["greedy"], alpha=0.45, hatch="///", edgecolor="white", label="greedy, negative"
        ),
        Patch(
            facecolor=DECODING_COLOURS["sampled"], alpha=0.45, hatch="///", edgecolor="white", label="sampled, negative"
        ),
    ]
    drawn = [(j, t) for j, lab in enumerate(labels) if (t := _share((thresholds or {}).get(lab))) is not None]
    if drawn:
        ax.hlines(
            [t for _, t in drawn],
            [j - 0.42 for j, _ in drawn],
            [j + 0.42 for j, _ in drawn],
            colors="black",
            linestyles="--",
            linewidth=1,
        )
        handles.append(plt.Line2D([], [], color="black", ls="--", lw=1, label="decision threshold"))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([_wrap_words(lab) for lab in labels], fontsize=9)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("finding")
    ax.set_ylabel("share of studies naming it")
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def mention_rate_chart(rates: Mapping[str, Mapping[str, Any]], thresholds: Mapping[str, float] | None = None) -> bytes:
    """:func:`mention_rate_figure` as PNG bytes.

    Example:
        >>> mention_rate_chart({"Pneumothorax": {"greedy_pos": 0.2, "sampled_pos": 0.5, "greedy_neg": 0.0,
        ...                     "sampled_neg": None}}, {"Pneumothorax": 0.25})[:4]
        b'\\x89PNG'
    """
    return figure_png(mention_rate_figure(rates, thresholds))
