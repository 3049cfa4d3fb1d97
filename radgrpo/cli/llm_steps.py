"""``radgrpo data filter-reports`` and ``radgrpo data conversations``: the LLM text steps before ``radgrpo data build``.

What it is: the command-line side of :mod:`radgrpo.data.llm` (our own prompts; any OpenAI-compatible endpoint:
vLLM, a local server or a hosted API). ``filter-reports`` reads every MIMIC-CXR (or CheXpert-Plus) study's report and
writes the current-findings text into ``<root>/filtered_reports/`` under the file names the source readers look for
(``s<study_id>.txt``; ``train_patient…_study….txt``); ``conversations`` writes one JSON dialogue per frontal MIMIC
image with a filtered report into ``<root>/conversations/<split>/standard/<dicom_id>.json`` (RadVLM's layout, read by
the ``conversation`` task of ``radgrpo data build``). Both cache every answer on disk, skip finished files (a re-run
resumes and retries what failed), bound concurrency and the request rate, and print what they did with drop reasons.
The API key is read from an environment variable (``--api_key_env``), never from a flag or a config file. What it is
not: the cold-start "thinking" trace generation (a teacher model; another step).

Example:
    $ export OPENAI_API_KEY=...   # or none for a local vLLM
    $ radgrpo data filter-reports --root /data/MIMIC-CXR-JPG --base_url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-32B
    $ radgrpo data filter-reports --source chexpert_plus --root /data/CheXpert --base_url ... --model ...
    $ radgrpo data conversations --root /data/MIMIC-CXR-JPG --split train --base_url ... --model ...
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.config import parse_config

SOURCES = ("mimic_cxr", "chexpert_plus")


@dataclass
class EndpointConfig:
    """The OpenAI-compatible endpoint shared by the LLM steps."""

    base_url: str = field(default="", metadata={"help": "endpoint, e.g. http://127.0.0.1:8000/v1 (vLLM)"})
    model: str = field(default="", metadata={"help": "model name sent with each request"})
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "environment variable holding the API key (unset: no key, as a local vLLM needs)"},
    )
    cache_dir: str = field(default="", metadata={"help": "answer cache (default: <root>/llm_cache)"})
    max_concurrency: int = field(default=8, metadata={"help": "requests in flight"})
    requests_per_minute: float = field(default=0.0, metadata={"help": "request-start limit (0: none)"})
    max_retries: int = field(default=4, metadata={"help": "retries on connection errors, 429 and 5xx"})
    timeout_s: float = field(default=120.0, metadata={"help": "per-request timeout (s)"})
    limit: int = field(default=0, metadata={"help": "at most this many items (0: all; for a trial run)"})

    def check_endpoint(self, root: str) -> None:
        if not root:
            raise ValueError("--root is required (the dataset folder)")
        if not self.base_url or not self.model:
            raise ValueError("--base_url and --model are required (an OpenAI-compatible endpoint)")
        if self.max_concurrency < 1 or self.limit < 0 or self.requests_per_minute < 0:
            raise ValueError("--max_concurrency must be >= 1, --limit and --requests_per_minute >= 0")

    def client(self, root: str) -> Any:
        """The :class:`radgrpo.data.llm.LLMClient` of these settings."""
        from radgrpo.data.llm import LLMClient

        return LLMClient(
            self.base_url,
            self.model,
            api_key=os.environ.get(self.api_key_env) or None,
            cache_dir=self.cache_dir or str(Path(root) / "llm_cache"),
            max_concurrency=self.max_concurrency,
            requests_per_minute=self.requests_per_minute or None,
            max_retries=self.max_retries,
            timeout_s=self.timeout_s,
        )


@dataclass
class FilterReportsConfig(EndpointConfig):
    """Filter reports to their current findings (``radgrpo data filter-reports``)."""

    source: str = field(default="mimic_cxr", metadata={"help": f"one of {SOURCES}"})
    root: str = field(default="", metadata={"help": "the MIMIC-CXR-JPG (with raw reports) or CheXpert-Plus folder"})
    out: str = field(default="", metadata={"help": "output folder (default: <root>/filtered_reports)"})
    splits: list[str] = field(
        default_factory=list,
        metadata={"help": "splits to filter (default: all; MIMIC train validate test, CheXpert-Plus train valid)"},
    )

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"--source must be one of {SOURCES}, got {self.source!r}")
        self.check_endpoint(self.root)


@dataclass
class ConversationsConfig(EndpointConfig):
    """Generate MIMIC-CXR conversations (``radgrpo data conversations``)."""

    root: str = field(default="", metadata={"help": "the MIMIC-CXR-JPG folder, with filtered_reports/"})
    split: str = field(default="train", metadata={"help": "train | validate | test"})
    out: str = field(default="", metadata={"help": "output folder (default: <root>/conversations/<split>/standard)"})
    genders_json: str = field(
        default="",
        metadata={
            "help": "optional JSON {subject_id: 'M'|'F'|'male'|'female'} (MIMIC-IV patients); else sex is 'unknown'"
        },
    )

    def __post_init__(self) -> None:
        if self.split not in ("train", "validate", "test"):
            raise ValueError(f"--split must be train, validate or test, got {self.split!r}")
        self.check_endpoint(self.root)


def _take(items: Any, limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in items:
        if limit and len(out) >= limit:
            break
        out[k] = v
    return out


def _print_summary(title: str, result: dict[str, Any], input_drops: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("what")
    table.add_column("n", justify="right")
    for k in ("written", "skipped_existing", "empty_input"):
        if k in result:
            table.add_row(k.replace("_", " "), str(result[k]))
    for label, drops in (("input", input_drops), ("request", result.get("drops", {}))):
        for reason, n in drops.get("counts", {}).items():
            table.add_row(f"dropped ({label}): {reason}", str(n))
    Console().print(table)


def _missing_root(root: str, prog: str) -> bool:
    if Path(root).is_dir():
        return False
    print(f"{prog}: --root {root} is not a folder", file=sys.stderr)
    return True


def filter_reports_main(argv: list[str]) -> int:
    """``radgrpo data filter-reports``: 0 when every report was filtered, 1 when some requests failed (rerun),
    2 on bad flags."""
    from radgrpo.data.llm import filter_reports
    from radgrpo.data.sources.common import DropCounter

    prog = "radgrpo data filter-reports"
    cfg = parse_config(FilterReportsConfig, argv, prog=prog)  # bad flags: ConfigError, printed by radgrpo.cli.main
    if _missing_root(cfg.root, prog):
        return 2
    drops = DropCounter()
    if cfg.source == "mimic_cxr":
        from radgrpo.data.sources.mimic_cxr import SPLITS, iter_report_texts

        reports = _take(iter_report_texts(cfg.root, drops, splits=tuple(cfg.splits or SPLITS)), cfg.limit)
        prefix = "s"
    else:
        from radgrpo.data.sources import chexpert_plus

        reports = _take(
            chexpert_plus.iter_report_texts(cfg.root, drops, splits=tuple(cfg.splits or ("train", "valid"))), cfg.limit
        )
        prefix = ""
    out = cfg.out or str(Path(cfg.root) / "filtered_reports")
    res = filter_reports(cfg.client(cfg.root), reports, out, prefix=prefix)
    summary = {"source": cfg.source, "out": out, "n_reports": len(reports), **res, "input_drops": drops.to_dict()}
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out).parent / "filter_reports_stats.json").write_text(json.dumps(summary, indent=1))
    _print_summary(f"filter-reports: {len(reports)} {cfg.source} studies -> {out}", res, drops.to_dict())
    failed = res["drops"].get("counts", {}).get("llm_error", 0)
    if failed:
        print(f"{failed} request(s) failed; rerun the same command to retry them (finished files are kept)")
    return 1 if failed else 0


def _sex(value: Any) -> str:
    v = str(value or "").strip().lower()
    return {"m": "male", "male": "male", "f": "female", "female": "female"}.get(v, "unknown")


def conversations_main(argv: list[str]) -> int:
    """``radgrpo data conversations``: 0 when every conversation was written, 1 when some failed (rerun), 2 on bad
    flags."""
    from radgrpo.data.llm import generate_conversations
    from radgrpo.data.sources.common import DropCounter
    from radgrpo.data.sources.mimic_cxr import iter_rows

    prog = "radgrpo data conversations"
    cfg = parse_config(ConversationsConfig, argv, prog=prog)
    if _missing_root(cfg.root, prog):
        return 2
    genders = json.loads(Path(cfg.genders_json).read_text()) if cfg.genders_json else {}
    drops = DropCounter()
    rows = iter_rows(cfg.root, drops, splits=(cfg.split,), reports="filtered", require_report=True)

    def item(r: dict[str, Any]) -> dict[str, Any]:
        positive = [k for k, v in r["labels"].items() if v == 1 and k != "No Finding"]
        return {
            "findings": r["report"],
            "view": r["view"],
            "abnormalities": positive,
            "sex": _sex(genders.get(r["subject_id"])),
        }

    items = _take(((r["dicom_id"], item(r)) for r in rows), cfg.limit)
    out = cfg.out or str(Path(cfg.root) / "conversations" / cfg.split / "standard")
    res = generate_conversations(cfg.client(cfg.root), items, out)
    _print_summary(f"conversations: {len(items)} MIMIC {cfg.split} images -> {out}", res, drops.to_dict())
    failed = sum(n for k, n in res["drops"].get("counts", {}).items() if k in ("llm_error", "bad_conversation"))
    if failed:
        print(f"{failed} conversation(s) failed; rerun the same command to retry them (finished files are kept)")
    return 1 if failed else 0
