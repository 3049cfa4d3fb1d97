"""The LLM text steps before ``radgrpo data build``: their settings and :func:`run_filter_reports`,
:func:`run_conversations` (``radgrpo data filter-reports`` and ``radgrpo data conversations``).

What it is: the dataset side of :mod:`radgrpo.data.llm` (our own prompts; any OpenAI-compatible endpoint: vLLM, a
local server or a hosted API). ``filter-reports`` reads every MIMIC-CXR (or CheXpert-Plus) study's report and
writes the current-findings text into ``<root>/filtered_reports/`` under the file names the source readers look for
(``s<study_id>.txt``; ``train_patient…_study….txt``); ``conversations`` writes one JSON dialogue per frontal MIMIC
image with a filtered report into ``<root>/conversations/<split>/standard/<dicom_id>.json`` (RadVLM's layout, read by
the ``conversation`` task of ``radgrpo data build``). Both cache every answer on disk, skip finished files (a re-run
resumes and retries what failed), bound concurrency and the request rate, and return what they did with drop
reasons. The API key is read from an environment variable (``--api_key_env``), never from a flag or a config file.
What it is not: the cold-start "thinking" trace generation (a teacher model; another step).

Example:
    >>> cfg = ConversationsConfig(root="mimic", base_url="http://127.0.0.1:8000/v1", model="m", split="validate")
    >>> cfg.split, cfg.max_concurrency, cfg.api_key_env
    ('validate', 8, 'OPENAI_API_KEY')

    $ export OPENAI_API_KEY=...   # or none for a local vLLM
    $ radgrpo data filter-reports --root /data/MIMIC-CXR-JPG --base_url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-32B
    $ radgrpo data filter-reports --source chexpert_plus --root /data/CheXpert --base_url ... --model ...
    $ radgrpo data conversations --root /data/MIMIC-CXR-JPG --split train --base_url ... --model ...
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError
from radgrpo.errors import UserPathError, check_path

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


def _check_root(root: str) -> None:
    if not Path(root).is_dir():
        raise ConfigError(f"--root {root} is not a folder")


def _check_outputs(cfg: EndpointConfig, out: str) -> None:
    """``out`` and ``--cache_dir`` are folders or not there yet (one-line :class:`~radgrpo.errors.UserPathError`)."""
    check_path(out, "--out", kind="out")
    if cfg.cache_dir:
        check_path(cfg.cache_dir, "--cache_dir", kind="out")


def _read_genders(path: str) -> dict[str, Any]:
    """The ``--genders_json`` mapping (``{}`` when not given), checked before any request."""
    if not path:
        return {}
    if not Path(path).is_file():
        raise UserPathError(f"no such file or directory: {path} (--genders_json)")
    try:
        genders = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"--genders_json {path}: not JSON ({e})") from None
    if not isinstance(genders, dict):
        raise ConfigError(f"--genders_json {path}: expected a JSON object {{subject_id: sex}}")
    return genders


def run_filter_reports(cfg: FilterReportsConfig) -> dict[str, Any]:
    """Filter every report of ``cfg.source`` under ``cfg.root`` to its current findings, into ``cfg.out`` (default
    ``<root>/filtered_reports``); the summary is also written beside it as ``filter_reports_stats.json``.

    Returns:
        ``{"source", "out", "n_reports", "written", "skipped_existing", "empty_input", "drops", "input_drops"}``
        (:func:`radgrpo.data.llm.filter_reports`'s counts; ``drops["counts"]["llm_error"]``: requests that failed,
        retried by a rerun).
    Raises:
        ConfigError: ``cfg.root`` is not a folder.
        radgrpo.errors.UserPathError: ``cfg.out`` or ``cfg.cache_dir`` is a file.
    """
    from radgrpo.data.llm import filter_reports
    from radgrpo.data.sources.common import DropCounter

    _check_root(cfg.root)
    _check_outputs(cfg, cfg.out or str(Path(cfg.root) / "filtered_reports"))
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
    return summary


def _sex(value: Any) -> str:
    v = str(value or "").strip().lower()
    return {"m": "male", "male": "male", "f": "female", "female": "female"}.get(v, "unknown")


def run_conversations(cfg: ConversationsConfig) -> dict[str, Any]:
    """Write one conversation per frontal MIMIC-CXR image of ``cfg.split`` with a filtered report, into ``cfg.out``
    (default ``<root>/conversations/<split>/standard``).

    Returns:
        ``{"split", "out", "n_items", "written", "skipped_existing", "drops", "input_drops"}``
        (:func:`radgrpo.data.llm.generate_conversations`'s counts; ``drops["counts"]``' ``llm_error`` and
        ``bad_conversation``: conversations that failed, retried by a rerun).
    Raises:
        ConfigError: ``cfg.root`` is not a folder, or ``cfg.genders_json`` is not a JSON object.
        radgrpo.errors.UserPathError: ``cfg.genders_json`` does not exist, or ``cfg.out`` / ``cfg.cache_dir`` is a
            file.
    """
    from radgrpo.data.llm import generate_conversations
    from radgrpo.data.sources.common import DropCounter
    from radgrpo.data.sources.mimic_cxr import iter_rows

    _check_root(cfg.root)
    _check_outputs(cfg, cfg.out or str(Path(cfg.root) / "conversations" / cfg.split / "standard"))
    genders = _read_genders(cfg.genders_json)
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
    return {"split": cfg.split, "out": out, "n_items": len(items), **res, "input_drops": drops.to_dict()}
