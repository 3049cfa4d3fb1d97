"""What the demo tells its reader: the report's notes, written from the numbers, and the console tables.

The metric columns and rows are :data:`~radgrpo.recipes.demo.config.HEADLINE` and :data:`TABLE_METRICS` (name lists
whose order is the content); how a metric is labelled and formatted is :func:`label` and :func:`cell`, the one place
that decides it.

Example:
    >>> summary_line({"rule_finding_f1": 0.5, "bleu4": 0.25, "n": 24})
    'rule_finding_f1=0.500, bleu4=0.250'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from radgrpo.metrics.display import format_value
from radgrpo.recipes.demo.config import CLAIM, COMPARISONS, HEADLINE, STAGES, THINKING_STAGES, DemoConfig

console = Console()

#: The rows of the demo's console table, in display order: the headline, then the readers world's recall by
#: conspicuity, the matched boxes' IoU, the answer length and the number of test items.
TABLE_METRICS = HEADLINE + ("recall_truth/subtle", "recall_truth/conspicuous", "matched_iou", "anc", "n")
#: The rows of the --thinking console table (order is the content).
THINKING_TABLE_METRICS = HEADLINE + ("think_closed_rate", "mean_thought_words", "anc")


def label(metric: str) -> str:
    """The name the demo's tables and notes show for ``metric``: its ``results.json`` name, which the metric table
    holds (:mod:`radgrpo.metrics.registry`), so that a reader finds it in ``results.json`` (the report's paper tables
    show the short labels, :func:`radgrpo.metrics.display.label`).

    >>> label("rule_finding_f1")
    'rule_finding_f1'
    """
    return metric


def cell(metric: str, value: Any) -> str:
    """``value`` of ``metric`` as a table cell, as the metric table presents raw values
    (:func:`radgrpo.metrics.display.format_value` unscaled): ``-`` when missing, a count (``n``) as an integer, else
    3 decimals.

    >>> cell("rougeL", 0.12345), cell("n", 24), cell("map_50", None)
    ('0.123', '24', '-')
    """
    if value is None:
        return "-"
    return format_value(metric, value, scaled=False)


def stage_rule(title: str) -> None:
    """A stage's heading on the console."""
    console.rule(f"[bold cyan]{title}")


def summary_line(flat: dict) -> str:
    """The :data:`HEADLINE` metrics that ``flat`` (a stage's results) holds, as ``name=value`` pairs."""
    return ", ".join(f"{label(k)}={cell(k, flat[k])}" for k in HEADLINE if isinstance(flat.get(k), float))


def claim_line(v: dict, sft_steps: int, cfg: DemoConfig) -> str:
    """One sentence from :func:`~radgrpo.recipes.demo.stages.claim_verdict`'s ``v``: whether this run shows the
    claim, and which run measures it over seeds."""
    if v["holds"]:
        verdict = "holds in this run"
    else:
        unmeasured = f"; not measured: {', '.join(v['missing'])}" if v["missing"] else ""
        verdict = f"does not hold in this run ({v['cleared']} of {v['required']} CIs above zero{unmeasured})"
    return (
        f"Claim (GRPO above SFT and above the SFT control on {', '.join(CLAIM)}, every paired 95% CI above zero): "
        f"{verdict}. The 3-seed claim is measured by benchmarks/rl_gain.py (SFT 4,000 steps, GRPO 16 prompts x 8 "
        f"rollouts per step; docs/rl_vs_imitation.md); this run: SFT {sft_steps} steps, GRPO "
        f"{cfg.grpo_batch_size // cfg.grpo_num_generations} prompts x {cfg.grpo_num_generations} rollouts per step."
    )


def report_notes(results: dict, cfg: DemoConfig, rewards: Sequence[str]) -> str:
    """The report's notes, written from the numbers (which stage beat which, significantly or not)."""
    from radgrpo.eval.compare import reading

    def verdict(comp: str, metric: str) -> str:
        r = results["paired"].get(comp, {}).get(metric)
        if r is None:
            return f"{metric}: not measured"
        return (
            f"{metric} {r['diff']:+.3f} (95% CI [{r['ci95'][0]:+.3f}, {r['ci95'][1]:+.3f}], "
            f"p={r['p_value']:.4f}): {reading(r)}"
        )

    tr = results["training"]
    lines = [
        f"Tiny Qwen3-VL on {cfg.image_size}² synthetic radiographs, CPU, seed {cfg.seed}. SFT "
        f"{tr['sft']['steps_done']} steps ({tr['sft']['samples']} samples); GRPO {tr['grpo']['steps_done']} steps "
        f"({tr['grpo']['samples']} prompts × {cfg.grpo_num_generations} rollouts; rewards "
        f"{' + '.join(rewards)}, lr {cfg.grpo_learning_rate:g}, beta {cfg.grpo_beta:g}, temperature "
        f"{cfg.grpo_temperature:g})"
        + (
            f"; SFT control {tr['sft_control']['steps_done']} more SFT steps ({tr['sft_control']['samples']} samples)."
            if "sft_control" in tr
            else "."
        )
    ]
    prior, sft = results["prior"], results["sft"]
    lines.append(
        f"Image-blind baseline ('prior'): the best constant training report "
        f"(rule_finding_f1 {prior.get('rule_finding_f1', 0):.3f}) and the per-finding mean box "
        f"(soft_f1 {prior.get('soft_f1', 0):.3f}). SFT wrote {sft.get('distinct_reports', 0)} distinct "
        f"reports for {sft.get('n_reports', 0)} test images."
    )
    for a, b in COMPARISONS:
        comp = f"{a}_vs_{b}"
        if comp in results["paired"]:
            lines.append(f"{a} vs {b}: " + "; ".join(verdict(comp, m) for m in CLAIM) + ".")
    lines.append(results["claim"]["reading"])
    for name, info in tr.items():
        if info.get("time_guard_hit") is not None:
            lines.append(
                f"The time guard stopped {name} at step {info['time_guard_hit']} of "
                f"{info['steps_planned']}: these numbers depend on machine speed."
            )
    monitors = results.get("grpo_monitors")
    if monitors is not None:
        alarms = monitors.get("alarms", [])
        lines.append(
            "GRPO reward-hacking alarms: "
            + ("; ".join(f"step {a['step']}: {a['message']}" for a in alarms) if alarms else "none raised")
            + f" (held-out evaluations at steps {', '.join(str(e['step']) for e in monitors.get('evals', []))})."
        )
    lines.append(
        "Paired differences: bootstrap over test items and approximate randomisation, "
        f"{cfg.n_resamples} resamples each. Synthetic data and a tiny model: this shows what each stage "
        "learns, not clinical quality."
    )
    return "\n".join(lines)


def thinking_notes(results: dict, cfg: DemoConfig) -> str:
    """The thinking report's notes, written from the numbers."""
    from radgrpo.eval.compare import reading

    lines = [
        f"Stand-in teacher traces: {results['cold_start']['n_accepted']} of {results['cold_start']['n_records']} "
        f"training records accepted (rejected: {results['cold_start']['rejected'] or 'none'}); mean trace "
        f"{results['cold_start']['think_words'].get('mean', 0):.1f} words. Thinking SFT "
        f"{results['training']['sft_thinking']['steps_done']} steps from the plain SFT model; thinking GRPO "
        f"{results['training']['grpo_thinking']['steps_done']} steps, seed {cfg.seed}."
    ]
    for s in THINKING_STAGES:
        r = results[s]
        lines.append(
            f"{s}: well-formed answers (closed think block) {r.get('think_closed_rate', 0):.3f}, mean thought "
            f"{r.get('mean_thought_words', 0):.1f} words."
        )
    for comp, res in results["paired"].items():
        parts = []
        for m in HEADLINE[:3]:
            if m in res:
                r = res[m]
                parts.append(f"{m} {r['diff']:+.3f} [{r['ci95'][0]:+.3f}, {r['ci95'][1]:+.3f}] ({reading(r)})")
        lines.append(f"{comp}: " + "; ".join(parts) + ".")
    lines.append(
        "The paper found no gain from thinking after RL (within ±0.7 on report metrics, slightly worse on grounding). "
        "Synthetic data, a tiny model and a stand-in teacher: this shows the thinking path end to end, not clinical "
        "quality."
    )
    return "\n".join(lines)


def paired_table(paired: dict, comparisons: Sequence[str]) -> Table:
    """The paired differences of ``comparisons`` (keys of ``results["paired"]``, in this order) as a ``rich`` table:
    one row per comparison and metric with the difference, its 95 % CI and the randomisation p-value.

    Example:
        >>> r = {"diff": 0.1, "ci95": [0.02, 0.18], "p_value": 0.01, "n": 9}
        >>> t = paired_table({"grpo_vs_sft": {"bleu4": r}}, ["grpo_vs_sft", "grpo_vs_sft_control"])
        >>> t.row_count, list(t.columns[3].cells)
        (1, ['[+0.020, +0.180]'])
    """
    table = Table(title="paired differences (95% bootstrap CI, randomisation p)")
    for col in ("comparison", "metric", "diff", "95% CI", "p"):
        table.add_column(col, justify="left" if col in ("comparison", "metric") else "right")
    for comp in comparisons:
        for m, r in paired.get(comp, {}).items():
            lo, hi = r["ci95"]
            table.add_row(comp, label(m), f"{r['diff']:+.3f}", f"[{lo:+.3f}, {hi:+.3f}]", f"{r['p_value']:.4f}")
    return table


def print_thinking_table(results: dict) -> None:
    """Plain vs thinking SFT and GRPO on the console, then the paired differences."""
    runs = {**results.get("plain", {}), **{s: results[s] for s in THINKING_STAGES if s in results}}
    table = Table(title="radgrpo demo --thinking: held-out synthetic test split")
    table.add_column("metric")
    for name in runs:
        table.add_column(name, justify="right")
    for m in THINKING_TABLE_METRICS:
        vals = [runs[r].get(m) for r in runs]
        if all(v is None for v in vals):
            continue
        table.add_row(label(m), *(cell(m, v) for v in vals))
    console.print(table)
    paired = results.get("paired", {})
    console.print(paired_table(paired, list(paired)))


def _wide() -> Console:
    """A console at least 120 columns wide, so the tables stay legible in a log file or a narrow terminal."""
    return Console(width=max(console.width, 120))


def print_gate(diag: dict) -> None:
    """The diagnostic's mention rates per finding and the gate's conditions on the console."""
    table = Table(title="pre-RL diagnostic (validation split): share of studies whose report names the finding")
    for col in (
        "finding",
        "n pos",
        "greedy pos",
        "sampled pos",
        "greedy neg",
        "sampled neg",
        "subtle: greedy",
        "subtle: sampled",
        "readers pos",
    ):
        table.add_column(col, justify="left" if col == "finding" else "right")

    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.2f}"

    for finding, r in diag["rates"].items():
        table.add_row(
            finding,
            str(r["n_pos"]),
            f(r["greedy_pos"]),
            f(r["sampled_pos"]),
            f(r["greedy_neg"]),
            f(r["sampled_neg"]),
            f(r["greedy_subtle"]),
            f(r["sampled_subtle"]),
            f(r["reference_pos"]),
        )
    _wide().print(table)
    for c in diag["conditions"]:
        mark = "[green]pass[/]" if c["passed"] else "[red]fail[/]"
        console.print(f"  gate {c['name']}: {mark} ({c['target']}; value {c['value']})")
    u = diag["utility"]
    console.print(
        f"  utility per study vs reference: greedy {u['reference']['greedy']:.3f}, threshold "
        f"{u['reference']['threshold']:.3f}; vs truth: greedy {u['truth']['greedy']:.3f}, threshold "
        f"{u['truth']['threshold']:.3f}"
    )


def print_table(results: dict) -> None:
    """The metric table (one column per stage) and the GRPO-vs-SFT paired differences on the console."""
    stages = [s for s in STAGES if s in results]
    table = Table(title="radgrpo demo: held-out synthetic test split (greedy)")
    table.add_column("metric")
    for s in stages:
        table.add_column(s, justify="right")
    for m in TABLE_METRICS:
        table.add_row(label(m), *(cell(m, results.get(s, {}).get(m)) for s in stages))
    _wide().print(table)
    _wide().print(
        paired_table(results.get("paired", {}), ("grpo_vs_sft", "grpo_vs_sft_control", "grpo_vs_sft_decoding"))
    )
    if "claim" in results:
        _wide().print(results["claim"]["reading"])
