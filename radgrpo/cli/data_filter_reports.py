"""``radgrpo data filter-reports``: reports -> current findings, the first LLM text step before ``radgrpo data build``.

Flags are :class:`radgrpo.data.llm_steps.FilterReportsConfig`; the work is
:func:`radgrpo.data.llm_steps.run_filter_reports` (any OpenAI-compatible endpoint; answers cached, finished files
skipped). It prints what was written and dropped; exit code 1 when some requests failed (rerun the same command).

Example:
    $ export OPENAI_API_KEY=...   # or none for a local vLLM
    $ radgrpo data filter-reports --root /data/MIMIC-CXR-JPG --base_url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-32B
    $ radgrpo data filter-reports --source chexpert_plus --root /data/CheXpert --base_url ... --model ...
"""

from __future__ import annotations

from typing import Any

from radgrpo.config import parse_config
from radgrpo.data.llm_steps import FilterReportsConfig, run_filter_reports

__all__ = ["main", "print_summary"]


def print_summary(title: str, result: dict[str, Any]) -> None:
    """One LLM step's counts as a rich table: files written and skipped, then the dropped inputs and requests by
    reason (``result``: what :func:`~radgrpo.data.llm_steps.run_filter_reports` or
    :func:`~radgrpo.data.llm_steps.run_conversations` returns)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("what")
    table.add_column("n", justify="right")
    for k in ("written", "skipped_existing", "empty_input"):
        if k in result:
            table.add_row(k.replace("_", " "), str(result[k]))
    for label, drops in (("input", result.get("input_drops", {})), ("request", result.get("drops", {}))):
        for reason, n in drops.get("counts", {}).items():
            table.add_row(f"dropped ({label}): {reason}", str(n))
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    """``radgrpo data filter-reports``: 0 when every report was filtered, 1 when some requests failed (rerun),
    2 on bad flags or a missing root."""
    cfg = parse_config(FilterReportsConfig, argv, prog="radgrpo data filter-reports")
    res = run_filter_reports(cfg)
    print_summary(f"filter-reports: {res['n_reports']} {cfg.source} studies -> {res['out']}", res)
    failed = res["drops"].get("counts", {}).get("llm_error", 0)
    if failed:
        print(f"{failed} request(s) failed; rerun the same command to retry them (finished files are kept)")
    return 1 if failed else 0
