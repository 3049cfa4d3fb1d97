"""Cold-start thinking traces: ask a teacher for a step-by-step reading of each record's image that ends in the
ground-truth answer, validate every response, and write the accepted ones as thinking SFT records.

What it is: the data side of the paper's second stage (RadVLM-Thinking). For each record one chat request goes to an
OpenAI-compatible endpoint (a ``vllm serve`` of Qwen3-VL-235B/32B, or any other) carrying the record's image as a
base64 PNG data URL resized into the processor's pixel bounds, the question, the ground-truth answer and a
chest-radiograph reading guide (:data:`DEFAULT_GUIDE`, shipped with the package). The teacher is asked for a trace
inside ``<think>…</think>`` that never reveals the answer was supplied, then the answer. :func:`validate_response`
accepts or rejects each response with one reason from :data:`REJECTION_REASONS`; :func:`generate_traces` writes

    DIR/thinking.jsonl   accepted Records, answer = "<think>TRACE</think>\\n\\nGROUND-TRUTH ANSWER" (image paths
                         relative to DIR)
    DIR/rejected.jsonl   one {"id", "reason", "detail", "response"} object per rejected record
    DIR/stats.json       counts per reason, trace-length statistics, teacher, endpoint, prompt hash
    DIR/cache/           one file per answered request (a rerun sends nothing for finished records)

The ``synthetic`` teacher (:class:`SyntheticTeacher`) is a labelled stand-in for synthetic data only: it writes the
trace from the generator's own scene description (``Record.meta["findings"]``), and its responses go through the same
validation and files as a real teacher's. It is what ``radgrpo demo --thinking`` uses offline.

What it is not: the thinking SFT or GRPO (``radgrpo sft --config sft/thinking``), nor the answer-extraction rules
(:mod:`radgrpo.thinking`).

Example:
    >>> from radgrpo.records import Record
    >>> rec = Record("r1", "x.png", "report_generation", "Write the report.", "No pleural effusion.")
    >>> trace = " ".join(["The costophrenic angles are sharp and the lungs are clear."] * 6)
    >>> v = validate_response(f"<think>{trace}</think>\\n\\nNo pleural effusion.", rec)
    >>> v.reason, v.record.answer.startswith("<think>The costophrenic"), v.think_words
    (None, True, 60)
    >>> validate_response("No pleural effusion.", rec).reason
    'no_think_block'
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import random
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from radgrpo.boxes import parse_boxes
from radgrpo.config import ConfigError
from radgrpo.data.prompts import cold_start_messages
from radgrpo.errors import UserPathError, check_path
from radgrpo.records import Record, read_jsonl, write_json_lines, write_jsonl
from radgrpo.thinking import THINK_CLOSE, THINK_OPEN

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_GUIDE",
    "DEFAULT_LEAK_PHRASES",
    "REJECTION_REASONS",
    "SyntheticTeacher",
    "ThinkingTraceConfig",
    "TraceVerdict",
    "generate_traces",
    "image_data_url",
    "read_guide",
    "teacher_messages",
    "thinking_answer",
    "validate_response",
]

#: the reading guide shipped with radgrpo (a systematic assessment of a frontal chest radiograph)
DEFAULT_GUIDE = Path(__file__).with_name("guides") / "cxr_reading_guide.txt"
#: phrases that give away that the teacher was shown the answer (case-insensitive substrings of the trace)
DEFAULT_LEAK_PHRASES: tuple[str, ...] = (
    "ground truth",
    "ground-truth",
    "provided answer",
    "answer provided",
    "the answer was given",
    "given answer",
    "supplied answer",
    "answer supplied",
    "reference report",
    "reference answer",
    "as stated",
    "i was told",
    "expected answer",
)
#: every reason a response can be rejected for, in the order they are checked
REJECTION_REASONS: tuple[str, ...] = (
    "request_failed",  # the endpoint did not answer after all retries (retried on the next run)
    "unparseable_response",  # a reply without text (malformed JSON, no message content)
    "empty_response",
    "no_think_block",
    "multiple_think_blocks",
    "empty_trace",
    "trace_too_short",
    "trace_too_long",
    "answer_mismatch",
    "leak",
    "duplicate_trace",
)
_WS = re.compile(r"\s+")


@dataclass
class ThinkingTraceConfig:
    """Settings of ``radgrpo thinking generate`` (fields = flags)."""

    records: str = field(default="", metadata={"help": "input records JSONL (images resolve against its folder)"})
    out: str = field(default="", metadata={"help": "output folder: thinking.jsonl, rejected.jsonl, stats.json"})
    teacher: str = field(
        default="openai",
        metadata={
            "help": "openai: an OpenAI-compatible endpoint (--base_url, --model); synthetic: a labelled stand-in "
            "for radgrpo's synthetic data that writes traces from the generator's scene description"
        },
    )
    base_url: str = field(default="", metadata={"help": "endpoint, e.g. http://127.0.0.1:8000/v1 (vllm serve)"})
    model: str = field(default="", metadata={"help": "teacher model name, e.g. Qwen/Qwen3-VL-235B-A22B-Instruct-FP8"})
    api_key_env: str = field(
        default="OPENAI_API_KEY", metadata={"help": "environment variable holding the API key (unset: no key)"}
    )
    guide: str = field(default="", metadata={"help": "reading-guide text file (default: the one radgrpo ships)"})
    concurrency: int = field(default=8, metadata={"help": "requests in flight"})
    limit: int = field(default=0, metadata={"help": "at most this many records (0: all)"})
    temperature: float = field(default=0.7, metadata={"help": "teacher sampling temperature (paper: 0.7)"})
    max_tokens: int = field(default=8192, metadata={"help": "teacher max new tokens (paper: 8192)"})
    min_think_words: int = field(default=50, metadata={"help": "reject traces shorter than this (words)"})
    max_think_words: int = field(default=2000, metadata={"help": "reject traces longer than this (words)"})
    leak_phrases: list[str] = field(
        default_factory=lambda: list(DEFAULT_LEAK_PHRASES),
        metadata={"help": "reject traces containing any of these phrases (case-insensitive)"},
    )
    min_pixels: int = field(default=1024, metadata={"help": "image pixel bounds sent to the teacher (paper: 1024"})
    max_pixels: int = field(default=451584, metadata={"help": "... and 451584, Qwen3-VL's processor bounds)"})
    max_retries: int = field(default=4, metadata={"help": "HTTP retries with exponential back-off (429, 5xx)"})
    timeout_s: float = field(default=600.0, metadata={"help": "per-request timeout (s)"})
    synthetic_style: str = field(
        default="full",
        metadata={
            "help": "synthetic teacher only: full (a reading in the guide's order, ~100-190 words) or brief (one "
            "clause per structure, ~15-40 words: what a tiny CPU model can learn in minutes)"
        },
    )
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self) -> None:
        if self.teacher not in ("openai", "synthetic"):
            raise ValueError(f"--teacher must be openai or synthetic, got {self.teacher!r}")
        if self.synthetic_style not in SyntheticTeacher.STYLES:
            raise ValueError(f"--synthetic_style must be full or brief, got {self.synthetic_style!r}")
        if self.concurrency < 1 or self.limit < 0 or self.max_tokens < 1:
            raise ValueError("--concurrency and --max_tokens must be >= 1, --limit >= 0")
        if not 0 <= self.min_think_words <= self.max_think_words:
            raise ValueError("need 0 <= --min_think_words <= --max_think_words")
        if not 0 < self.min_pixels <= self.max_pixels:
            raise ValueError("need 0 < --min_pixels <= --max_pixels")

    def check(self) -> None:
        """The checks that need the command's required flags (not run on a default-constructed config), the paths
        included: ``records`` and ``guide`` exist, ``out`` is a folder or not there yet (one-line user errors)."""
        if not self.records or not self.out:
            raise ConfigError("--records and --out are required")
        if self.teacher == "openai" and (not self.base_url or not self.model):
            raise ConfigError(
                "--teacher openai needs --base_url and --model (an OpenAI-compatible endpoint, e.g. "
                "`vllm serve Qwen/Qwen3-VL-32B-Instruct` at http://127.0.0.1:8000/v1); "
                "--teacher synthetic is the offline stand-in for radgrpo's synthetic data"
            )
        check_path(self.records, "--records", what="a records JSONL")
        if self.guide:
            check_path(self.guide, "--guide", what="a plain-text reading guide")
        check_path(self.out, "--out", kind="out")


@dataclass
class TraceVerdict:
    """The outcome of validating one response: an accepted ``record`` or a ``reason`` from
    :data:`REJECTION_REASONS` with a ``detail`` line; ``trace`` and ``think_words`` when a trace was found."""

    record: Record | None
    reason: str | None = None
    detail: str = ""
    trace: str = ""
    think_words: int = 0


def read_guide(path: str | os.PathLike | None = None) -> str:
    """The reading guide's text (``path``, default :data:`DEFAULT_GUIDE`); a missing file raises FileNotFoundError."""
    p = Path(path) if path else DEFAULT_GUIDE
    if not p.is_file():
        raise UserPathError(f"--guide {p} does not exist (a plain-text reading guide)")
    return p.read_text(encoding="utf-8").strip()


def image_data_url(path: str | os.PathLike, min_pixels: int = 1024, max_pixels: int = 451584) -> tuple[str, tuple]:
    """The image as a ``data:image/png;base64,...`` URL, resized (aspect kept) so that width x height lies in
    ``[min_pixels, max_pixels]``; returns the URL and the sent ``(width, height)`` in pixels.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> p = Path(tempfile.mkdtemp(), "a.png"); Image.new("L", (2000, 1000)).save(p)
        >>> url, size = image_data_url(p, max_pixels=20000)
        >>> url.startswith("data:image/png;base64,"), size
        (True, (200, 100))
    """
    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise UserPathError(f"image not found: {p}")
    with Image.open(p) as im:
        img = im.convert("RGB")
    w, h = img.size
    scale = 1.0
    if w * h > max_pixels:
        scale = (max_pixels / (w * h)) ** 0.5
    elif w * h < min_pixels:
        scale = (min_pixels / (w * h)) ** 0.5
    if scale != 1.0:
        img = img.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), img.size


def teacher_messages(record: Record, data_url: str, guide: str) -> list[dict[str, Any]]:
    """The chat request for one record: the instruction with the guide (system turn), then the image, the question
    and the ground-truth answer (user turn, OpenAI vision format); the text is
    :func:`radgrpo.data.prompts.cold_start_messages`'."""
    return cold_start_messages(record.question, record.answer, data_url, guide)


def thinking_answer(trace: str, answer: str) -> str:
    """The SFT target of an accepted sample: ``"<think>TRACE</think>\\n\\nANSWER"``.

    Example:
        >>> thinking_answer("Look at the heart.", "Cardiomegaly.")
        '<think>Look at the heart.</think>\\n\\nCardiomegaly.'
    """
    return f"{THINK_OPEN}{trace.strip()}{THINK_CLOSE}\n\n{answer.strip()}"


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _same_answer(got: str, record: Record) -> bool:
    if _norm(got) == _norm(record.answer):
        return True
    if record.task.is_grounding:
        want = parse_boxes(record.answer)
        have = parse_boxes(got)
        key = sorted(tuple(round(v, 2) for v in b) for b in want)
        return bool(want) and key == sorted(tuple(round(v, 2) for v in b) for b in have)
    return False


def validate_response(
    text: str | None,
    record: Record,
    *,
    min_words: int = 50,
    max_words: int = 2000,
    leak_phrases: Sequence[str] = DEFAULT_LEAK_PHRASES,
    seen: set[str] | None = None,
) -> TraceVerdict:
    """Accept or reject one teacher response for ``record``.

    Checks, in order: text present; exactly one ``<think>…</think>`` block, starting the response; a non-empty trace
    of ``min_words``–``max_words`` words (whitespace-separated); the text after ``</think>`` equals the ground truth
    (whitespace-normalised; for grounding tasks the same boxes, rounded to 2 decimals, are enough); no phrase of
    ``leak_phrases`` in the trace (case-insensitive); the trace (whitespace-normalised) not seen before — ``seen``
    is updated with accepted traces.

    Returns:
        a :class:`TraceVerdict`; an accepted one holds ``record`` with answer :func:`thinking_answer` (trace, the
        ground-truth answer) and ``meta["cold_start"]`` = ``{"think_words": n}``.
    """
    if text is None or not text.strip():
        return TraceVerdict(None, "empty_response", "the teacher returned no text")
    n_open, n_close = text.count(THINK_OPEN), text.count(THINK_CLOSE)
    if n_open == 0 or n_close == 0:
        return TraceVerdict(None, "no_think_block", f"{n_open} <think> and {n_close} </think> tags")
    if n_open > 1 or n_close > 1:
        return TraceVerdict(None, "multiple_think_blocks", f"{n_open} <think> and {n_close} </think> tags")
    head, _, rest = text.partition(THINK_OPEN)
    trace, sep, answer = rest.partition(THINK_CLOSE)
    if head.strip() or not sep:
        return TraceVerdict(None, "no_think_block", "text before <think> or </think> before <think>")
    trace = trace.strip()
    words = len(trace.split())
    if not trace:
        return TraceVerdict(None, "empty_trace", "nothing between <think> and </think>")
    if words < min_words:
        return TraceVerdict(None, "trace_too_short", f"{words} words < {min_words}", trace, words)
    if words > max_words:
        return TraceVerdict(None, "trace_too_long", f"{words} words > {max_words}", trace, words)
    if not _same_answer(answer, record):
        return TraceVerdict(None, "answer_mismatch", f"final answer {answer.strip()[:120]!r}", trace, words)
    low = trace.lower()
    leaked = [p for p in leak_phrases if p.lower() in low]
    if leaked:
        return TraceVerdict(None, "leak", f"the trace says {leaked[0]!r}", trace, words)
    key = hashlib.sha256(_norm(trace).lower().encode()).hexdigest()
    if seen is not None:
        if key in seen:
            return TraceVerdict(None, "duplicate_trace", "the same trace as an earlier record", trace, words)
        seen.add(key)
    meta = {**record.meta, "cold_start": {"think_words": words}}
    return TraceVerdict(
        replace(record, answer=thinking_answer(trace, record.answer), meta=meta), None, "", trace, words
    )


class SyntheticTeacher:
    """Stand-in teacher for radgrpo's synthetic data (labelled as such in ``stats.json``): a step-by-step reading
    written from the generator's scene description (``Record.meta["findings"]``: name, side, zone, size, boxes) in
    the guide's order, ending in the record's ground-truth answer. Deterministic per record id; the phrasing varies
    across records so that traces are not duplicates. ``style="brief"`` writes one clause per structure instead
    (heart, each finding with side, zone, size and box, the negatives), short enough for the CPU demo.

    Example:
        >>> rec = Record("s1", "x.png", "report_generation", "Write the report.", "Mild cardiomegaly.",
        ...              meta={"findings": [{"name": "cardiomegaly", "side": None, "zone": None, "size": "mild",
        ...                                   "boxes": [[0.35, 0.5, 0.75, 0.7]]}]})
        >>> out = SyntheticTeacher().complete(rec)
        >>> validate_response(out, rec).reason is None, out.endswith("Mild cardiomegaly.")
        (True, True)
    """

    name = "synthetic (stand-in: traces written from the synthetic generator's scene description, not a model)"
    STYLES = ("full", "brief")

    def __init__(self, style: str = "full") -> None:
        if style not in self.STYLES:
            raise ValueError(f"style must be one of {self.STYLES}, got {style!r}")
        self.style = style

    _OPEN = (
        "I start with the technical quality of this frontal chest radiograph.",
        "First I check how the image was taken before looking at any structure.",
        "Let me go through this chest film systematically, beginning with technique.",
        "I will read this radiograph in a fixed order so that nothing is skipped.",
    )
    _TECH = (
        "Both apices and both costophrenic angles are included and the exposure lets me follow the vertebrae "
        "behind the heart.",
        "The whole chest is on the image, the inspiration looks adequate and there is no obvious rotation.",
        "Coverage is complete from the apices to the bases and the penetration is adequate for a first read.",
    )
    _MEDIA = (
        "The trachea is central and the mediastinal contours are not widened.",
        "The airway runs in the midline and the mediastinum has a normal outline.",
        "I see no tracheal deviation and the mediastinal borders are smooth.",
    )
    _ZONES = {"apical": "upper", "base": "lower", "basal": "lower", "mid": "middle", "lower": "lower"}

    def _finding_sentence(self, f: dict[str, Any], rng: random.Random) -> str:
        name, side, zone, size = f.get("name", "finding"), f.get("side"), f.get("zone"), f.get("size")
        boxes = f.get("boxes") or []
        where = " ".join(x for x in (side, self._ZONES.get(str(zone), zone) if zone else None) if x)
        extent = ""
        if boxes:
            x1, y1, x2, y2 = boxes[0]
            extent = (
                f" It spans roughly {x1:.2f} to {x2:.2f} of the image width and {y1:.2f} to {y2:.2f} of its height."
            )
        if name == "cardiomegaly":
            lead = rng.choice(
                (
                    "The cardiac silhouette is wider than half of the thoracic diameter",
                    "Measuring the heart against the chest, the cardiothoracic ratio is above 0.5",
                    "The heart looks broad relative to the inner thoracic width",
                )
            )
            return f"{lead}, which I would call {size or 'some'} cardiomegaly.{extent}"
        if name == "pleural effusion":
            return (
                f"At the {side or ''} base the costophrenic angle is blunted by a homogeneous opacity with a meniscus, "
                f"so there is a {size or ''} {side or ''} pleural effusion.{extent}"
            ).replace("  ", " ")
        if name == "pneumothorax":
            return (
                f"In the {where or 'apical'} region there is a thin pleural line with no lung markings beyond it, "
                f"a {size or ''} {side or ''} pneumothorax.{extent}"
            ).replace("  ", " ")
        return (
            f"There is an area of increased opacity in the {where or 'lung'} zone, consistent with {size or ''} "
            f"{name}.{extent}"
        ).replace("  ", " ")

    def _brief(self, record: Record, findings: list[dict[str, Any]]) -> str:
        names = {f.get("name") for f in findings}
        heart = record.meta.get("cardiac_silhouette")
        at_heart = " [" + ", ".join(f"{v:.2f}" for v in heart) + "]" if heart and "cardiomegaly" not in names else ""
        ratio = record.meta.get("cardiothoracic_ratio")
        at_heart += f" ratio {ratio:.2f}" if ratio is not None else ""
        parts = [f"heart{at_heart}" + (" enlarged" if "cardiomegaly" in names else " normal size")]
        for f in findings:
            where = " ".join(str(x) for x in (f.get("side"), f.get("zone")) if x)
            box = f.get("boxes") or []
            at = " at [" + ", ".join(f"{v:.2f}" for v in box[0]) + "]" if box else ""
            parts.append(" ".join(x for x in (where, f.get("size"), f.get("name")) if x) + at)
        parts += [f"no {n}" for n in ("consolidation", "pneumothorax", "pleural effusion") if n not in names]
        if record.task.is_grounding:
            parts.append(f"asked for the {record.target or 'finding'}")
        return "; ".join(parts)

    def complete(self, record: Record) -> str:
        """The response text ``"<think>TRACE</think>\\n\\nANSWER"`` for ``record`` (no request is sent)."""
        rng = random.Random(hashlib.sha256(record.id.encode()).hexdigest())
        findings = list(record.meta.get("findings") or [])
        if self.style == "brief":
            return thinking_answer(self._brief(record, findings), record.answer)
        names = {f.get("name") for f in findings}
        parts = [rng.choice(self._OPEN), rng.choice(self._TECH), rng.choice(self._MEDIA)]
        if "cardiomegaly" not in names:
            parts.append(
                rng.choice(
                    (
                        "The heart size is within normal limits, the cardiothoracic ratio under one half.",
                        "The cardiac silhouette is not enlarged and its borders are sharp.",
                    )
                )
            )
        for f in findings:
            parts.append(self._finding_sentence(f, rng))
        lungs = [n for n in ("consolidation", "pneumothorax", "pleural effusion") if n not in names]
        if lungs:
            parts.append(
                "Comparing both lungs zone by zone I find no " + " and no ".join(lungs) + ", and the hila look normal."
            )
        parts.append(
            rng.choice(
                (
                    "Finally I review the apices, the retrocardiac area and the angles once more.",
                    "Before answering I look again at the review areas behind the heart and under the diaphragm.",
                    "A last pass over the bones and soft tissues shows nothing further.",
                )
            )
        )
        if record.task.is_grounding and record.reference_boxes:
            x1, y1, x2, y2 = record.reference_boxes[0]
            parts.append(
                f"The question asks where the {record.target or 'finding'} is: its box runs from x {x1:.2f} to "
                f"{x2:.2f} and y {y1:.2f} to {y2:.2f} in normalised image coordinates."
            )
        elif record.task.value == "report_generation":
            parts.append("The findings section should state the positive findings first, then the key negatives.")
        return thinking_answer(" ".join(parts), record.answer)


def _summary(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    q = statistics.quantiles(values, n=10) if len(values) > 1 else [float(values[0])] * 9
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 2),
        "median": float(statistics.median(values)),
        "min": float(min(values)),
        "max": float(max(values)),
        "p10": round(q[0], 2),
        "p90": round(q[-1], 2),
    }


def generate_traces(
    cfg: ThinkingTraceConfig,
    *,
    complete: Callable[[list[dict[str, Any]]], str] | None = None,
) -> dict[str, Any]:
    """Run the cold-start step described by ``cfg`` and write ``cfg.out`` (module docstring); returns ``stats.json``.

    Args:
        cfg: the settings (:class:`ThinkingTraceConfig`; :meth:`ThinkingTraceConfig.check` is called here).
        complete: for tests and other clients, a function ``messages -> text`` replacing the HTTP client.
    Returns:
        the stats dict: ``n_records``, ``n_accepted``, ``n_rejected``, ``rejected`` (reason -> count),
        ``think_words`` (mean/median/min/max/p10/p90 of accepted traces), ``teacher``, ``endpoint``, ``model``,
        ``prompt_sha256``, ``requests`` and ``cache_hits``.
    """
    from radgrpo.chat_client import ChatClient, ChatError

    cfg.check()  # flags and paths, before any work
    src = Path(cfg.records)
    guide = read_guide(cfg.guide or None)
    out = Path(cfg.out)
    records = read_jsonl(src)
    if cfg.limit:
        records = records[: cfg.limit]
    out.mkdir(parents=True, exist_ok=True)
    client = None
    if cfg.teacher == "openai" and complete is None:
        client = ChatClient(
            cfg.base_url,
            cfg.model,
            api_key=os.environ.get(cfg.api_key_env) or None,
            cache_dir=out / "cache",
            max_concurrency=cfg.concurrency,
            max_retries=cfg.max_retries,
            timeout_s=cfg.timeout_s,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
        )
        complete = client.complete
    synthetic = SyntheticTeacher(cfg.synthetic_style) if cfg.teacher == "synthetic" else None
    prompt_hash = hashlib.sha256(
        json.dumps(
            [cold_start_messages("{question}", "{answer}", "{image}", guide), cfg.temperature, cfg.max_tokens],
            sort_keys=True,
        ).encode()
    ).hexdigest()

    def ask(rec: Record) -> tuple[str | None, str | None, str]:
        """(text, failure reason, detail) for one record."""
        if synthetic is not None:
            return synthetic.complete(rec), None, ""
        try:
            url, _ = image_data_url(rec.image_path(src.parent), cfg.min_pixels, cfg.max_pixels)
        except (FileNotFoundError, OSError) as e:
            return None, "request_failed", f"image: {e}"
        assert complete is not None
        try:
            return complete(teacher_messages(rec, url, guide)), None, ""
        except ChatError as e:
            msg = str(e)
            kind = "unparseable_response" if ("malformed" in msg or "no text" in msg) else "request_failed"
            return None, kind, msg

    from concurrent.futures import ThreadPoolExecutor

    bar = None
    if cfg.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(records), desc="thinking traces", unit="record")
    answers: list[tuple[str | None, str | None, str]] = [(None, None, "")] * len(records)
    with ThreadPoolExecutor(cfg.concurrency if synthetic is None else 1) as pool:
        futures = {pool.submit(ask, r): i for i, r in enumerate(records)}
        from concurrent.futures import as_completed

        for fut in as_completed(futures):
            answers[futures[fut]] = fut.result()
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()

    seen: set[str] = set()
    accepted: list[Record] = []
    rejected: list[dict[str, Any]] = []
    counts = dict.fromkeys(REJECTION_REASONS, 0)
    words: list[int] = []
    for rec, (text, fail, detail) in zip(records, answers):  # record order: duplicates are the later ones
        if fail is not None:
            verdict = TraceVerdict(None, fail, detail)
        else:
            verdict = validate_response(
                text,
                rec,
                min_words=cfg.min_think_words,
                max_words=cfg.max_think_words,
                leak_phrases=cfg.leak_phrases,
                seen=seen,
            )
        if verdict.record is not None:
            # image paths relative to thinking.jsonl's folder, so the file works where it is written
            image = os.path.relpath(verdict.record.image_path(src.parent).resolve(), out.resolve())
            accepted.append(replace(verdict.record, image=image))
            words.append(verdict.think_words)
        else:
            assert verdict.reason is not None
            counts[verdict.reason] += 1
            rejected.append(
                {"id": rec.id, "reason": verdict.reason, "detail": verdict.detail, "response": (text or "")[:2000]}
            )
    write_jsonl(accepted, out / "thinking.jsonl")
    write_json_lines(rejected, out / "rejected.jsonl")
    stats = {
        "n_records": len(records),
        "n_accepted": len(accepted),
        "n_rejected": len(rejected),
        "rejected": {k: v for k, v in counts.items() if v},
        "think_words": _summary(words),
        "teacher": synthetic.name if synthetic is not None else "openai-compatible endpoint",
        "endpoint": cfg.base_url or None,
        "model": cfg.model or None,
        "temperature": cfg.temperature,
        "max_tokens": cfg.max_tokens,
        "min_think_words": cfg.min_think_words,
        "max_think_words": cfg.max_think_words,
        "guide": str(Path(cfg.guide).resolve()) if cfg.guide else "radgrpo default guide",
        "prompt_sha256": prompt_hash,
        "records_file": str(src),
        "requests": client.n_requests if client is not None else 0,
        "cache_hits": client.n_cache_hits if client is not None else 0,
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats
