"""LLM text steps through any OpenAI-compatible endpoint: report filtering and conversation generation.

What it is: :class:`LLMClient` (httpx; ``POST {base_url}/chat/completions``) with an on-disk cache keyed by the exact
request (so a re-run resumes without re-asking), bounded concurrency, a requests-per-minute limit and retries with
back-off on 429/5xx (honouring ``Retry-After``); and the two RadVLM text steps written with **our own prompts**
(RadVLM's few-shot examples contain credentialed report text and are not used): :func:`filter_reports` (keep findings,
remove prior/comparison language; ``None`` when nothing is left; files ``<out>/s<study_id>.txt`` that the MIMIC
loader reads) and :func:`generate_conversations` (a JSON list of human/gpt turns per image, ``<out>/<key>.json``).
What it is not: a teacher for cold-start "thinking" data, nor a model server.

Fix of RadVLM pitfall §9.8: the candidate list is every study with text, not only those already filtered; finished
outputs are skipped (resume), failed ones are counted with reasons and retried on the next run.

Example:
    >>> filter_messages("Heart size normal. Unchanged effusion since prior.")[1]["content"].startswith("Report:")
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from radgrpo.data.sources._common import DropCounter

FILTER_SYSTEM_PROMPT = (
    "You edit chest X-ray radiology reports. Return only the findings that describe the current image, as plain "
    "prose sentences. Remove every reference to earlier examinations or change over time (for example comparisons, "
    "'unchanged', 'new', 'improved', 'worsened', 'since', 'previous', 'again seen'), rewriting a sentence so that "
    "it describes only what is visible now. Remove the clinical history, the indication, the technique, the view "
    "description, recommendations, and communication with clinicians. Do not add findings. If nothing describing "
    "the current image remains, answer exactly: None"
)

CONVERSATION_SYSTEM_PROMPT = (
    "You write training dialogues between a user and an AI assistant about one chest X-ray. You are given the "
    "image's findings, its list of abnormalities, the view and the patient's sex, and optionally observations with "
    "normalised bounding boxes [x_min, y_min, x_max, y_max] in [0, 1]. Write 3 to 6 question/answer rounds in "
    "which the user asks about the image and the assistant answers as if it were looking at the image, using only "
    "the given information, with cautious clinical wording. Never mention a report, prior studies or changes over "
    "time. When a question concerns a boxed observation, give its box in the same [x_min, y_min, x_max, y_max] form "
    "with two decimals. Answer with a JSON list only, alternating {\"from\": \"human\", \"value\": ...} and "
    "{\"from\": \"gpt\", \"value\": ...}, starting with human."
)


class LLMError(RuntimeError):
    """A request that failed after all retries, or a malformed endpoint response."""


class LLMClient:
    """A small OpenAI-compatible chat client with caching, concurrency and rate limits.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1`` (vLLM) or ``https://api.openai.com/v1``.
        model: model name sent in each request.
        api_key: bearer token (default: ``$OPENAI_API_KEY`` if set, else none).
        cache_dir: folder of cached responses (one JSON file per request hash); None disables caching.
        max_concurrency: simultaneous requests in :meth:`map`.
        requests_per_minute: start at most this many requests per minute (None = unlimited).
        max_retries: retries on connection errors, 429 and 5xx.
        timeout_s: per-request timeout in seconds.
        backoff_s: first retry delay (doubles each retry) when the server gives no ``Retry-After``.

    Example:
        >>> c = LLMClient("http://127.0.0.1:9/v1", "m")
        >>> k = c.cache_key([{"role": "user", "content": "x"}]); (len(k), k == c.cache_key([{"role": "user", "content": "x"}]))
        (64, True)
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 cache_dir: str | os.PathLike | None = None, max_concurrency: int = 4,
                 requests_per_minute: float | None = None, max_retries: int = 4, timeout_s: float = 120.0,
                 backoff_s: float = 1.0, **params: Any) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_concurrency = max_concurrency
        self.min_interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.params = {"temperature": 0.0, **params}
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.n_requests = 0
        self.n_cache_hits = 0

    def cache_key(self, messages: list[dict[str, str]]) -> str:
        """sha256 of (model, messages, params): the cache file name."""
        blob = json.dumps([self.model, messages, self.params], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _wait_for_slot(self) -> None:
        if not self.min_interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.min_interval
        if start > now:
            time.sleep(start - now)

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The assistant text for ``messages`` (from the cache when present).

        Raises:
            LLMError: after ``max_retries`` failed attempts, or on a response without ``choices[0].message``.
        """
        import httpx

        key = self.cache_key(messages)
        cpath = self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir else None
        if cpath is not None and cpath.is_file():
            with self._lock:
                self.n_cache_hits += 1
            return json.loads(cpath.read_text(encoding="utf-8"))["content"]
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, **self.params}
        delay = self.backoff_s
        last = ""
        for attempt in range(self.max_retries + 1):
            self._wait_for_slot()
            with self._lock:
                self.n_requests += 1
            try:
                resp = httpx.post(f"{self.base_url}/chat/completions", json=body, headers=headers,
                                  timeout=self.timeout_s)
            except httpx.HTTPError as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if resp.status_code == 200:
                    try:
                        content = resp.json()["choices"][0]["message"]["content"]
                    except (ValueError, KeyError, IndexError, TypeError) as e:
                        raise LLMError(f"malformed response from {self.base_url}: {resp.text[:200]!r}") from e
                    if cpath is not None:
                        cpath.parent.mkdir(parents=True, exist_ok=True)
                        tmp = cpath.with_name(cpath.name + f".{threading.get_ident()}.tmp")
                        tmp.write_text(json.dumps({"content": content}, ensure_ascii=False), encoding="utf-8")
                        os.replace(tmp, cpath)
                    return content
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in (408, 409, 429) and resp.status_code < 500:
                    raise LLMError(f"{self.base_url}: {last}")
                ra = resp.headers.get("Retry-After")
                if ra:
                    try:
                        delay = max(delay, float(ra))
                    except ValueError:
                        pass
            if attempt < self.max_retries:
                time.sleep(delay)
                delay *= 2
        raise LLMError(f"{self.base_url}: giving up after {self.max_retries + 1} attempts ({last})")

    def map(self, jobs: dict[str, list[dict[str, str]]], on_result: Callable[[str, str], None],
            drops: DropCounter) -> int:
        """Run ``jobs`` (key -> messages) with bounded concurrency; ``on_result(key, text)`` for each success.

        Failures are counted in ``drops`` as ``llm_error`` (examples keep the key); nothing raises halfway.

        Returns:
            The number of successful jobs.
        """
        ok = 0
        lock = threading.Lock()

        def run(item: tuple[str, list[dict[str, str]]]) -> None:
            nonlocal ok
            key, messages = item
            try:
                text = self.complete(messages)
                on_result(key, text)
            except (LLMError, ValueError, OSError) as e:
                with lock:
                    drops.add("llm_error", f"{key}: {str(e)[:160]}")
                return
            with lock:
                ok += 1

        with ThreadPoolExecutor(self.max_concurrency) as pool:
            list(pool.map(run, jobs.items()))
        return ok


def filter_messages(report: str) -> list[dict[str, str]]:
    """Chat messages asking to keep only the current findings of ``report``."""
    return [{"role": "system", "content": FILTER_SYSTEM_PROMPT}, {"role": "user", "content": f"Report:\n{report}"}]


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def filter_reports(client: LLMClient, reports: dict[str, str], out_dir: str | os.PathLike,
                   prefix: str = "s") -> dict[str, Any]:
    """Filter reports into ``<out_dir>/<prefix><key>.txt`` (``None`` when no current finding remains).

    Args:
        client: the endpoint.
        reports: key (MIMIC study id without ``s``, or a CheXpert-Plus ``train_patient…_study…``) -> raw text.
        out_dir: e.g. ``<MIMIC root>/filtered_reports``.
        prefix: file-name prefix (``"s"`` for MIMIC, ``""`` for CheXpert-Plus).

    Returns:
        ``{"written": n, "skipped_existing": n, "empty_input": n, "drops": {...}}``.

    Example:
        >>> filter_reports(LLMClient("http://127.0.0.1:9/v1", "m"), {}, "/tmp/none")["written"]
        0
    """
    out = Path(out_dir)
    drops = DropCounter()
    jobs, skipped, empty = {}, 0, 0
    for key, text in reports.items():
        if (out / f"{prefix}{key}.txt").is_file():
            skipped += 1
        elif not (text or "").strip():
            empty += 1
            drops.add("empty_report", key)
        else:
            jobs[key] = filter_messages(text)

    def save(key: str, text: str) -> None:
        cleaned = " ".join(text.split()) or "None"
        _write_atomic(out / f"{prefix}{key}.txt", cleaned + "\n")

    written = client.map(jobs, save, drops)
    return {"written": written, "skipped_existing": skipped, "empty_input": empty, "drops": drops.to_dict()}


def conversation_messages(findings: str, abnormalities: list[str], view: str, sex: str,
                          boxes: list[tuple[str, list]] | None = None) -> list[dict[str, str]]:
    """Messages asking for a grounded or plain conversation about one image.

    Example:
        >>> conversation_messages("Cardiomegaly.", ["Cardiomegaly"], "PA", "female",
        ...                       [("Cardiomegaly", [(0.3, 0.5, 0.7, 0.7)])])[1]["content"].splitlines()[-1]
        'Cardiomegaly: [0.30, 0.50, 0.70, 0.70]'
    """
    lines = [f"Findings: {findings}", f"Abnormalities: {', '.join(abnormalities) or 'none'}", f"View: {view}",
             f"Sex: {sex}"]
    if boxes:
        lines.append("Observations with bounding boxes:")
        for phrase, bs in boxes:
            lines.append(f"{phrase}: " + " ".join("[" + ", ".join(f"{v:.2f}" for v in b) + "]" for b in bs))
    return [{"role": "system", "content": CONVERSATION_SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def parse_conversation(text: str) -> list[dict[str, str]]:
    """The model's JSON list of alternating human/gpt turns (code fences tolerated); ValueError when malformed.

    Example:
        >>> parse_conversation('```json\\n[{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]\\n```')
        [{'from': 'human', 'value': 'Q'}, {'from': 'gpt', 'value': 'A'}]
    """
    t = text.strip()
    if t.startswith("```"):
        t = t.split("\n", 1)[1] if "\n" in t else ""
        t = t.rsplit("```", 1)[0]
    turns = json.loads(t)
    if not isinstance(turns, list) or len(turns) < 2 or len(turns) % 2:
        raise ValueError("expected an even-length JSON list of turns")
    for i, turn in enumerate(turns):
        want = "human" if i % 2 == 0 else "gpt"
        if not isinstance(turn, dict) or turn.get("from") != want or not isinstance(turn.get("value"), str):
            raise ValueError(f"turn {i}: expected {{'from': {want!r}, 'value': str}}")
    return [{"from": x["from"], "value": x["value"]} for x in turns]


def generate_conversations(client: LLMClient, items: dict[str, dict[str, Any]],
                           out_dir: str | os.PathLike) -> dict[str, Any]:
    """Generate ``<out_dir>/<key>.json`` conversations (RadVLM's file layout) for items not yet done.

    Args:
        client: the endpoint.
        items: key (dicom id or PNG stem) -> ``{"findings", "abnormalities", "view", "sex", "boxes"?}``.
        out_dir: e.g. ``<MIMIC root>/conversations/train/standard``.

    Returns:
        ``{"written": n, "skipped_existing": n, "drops": {...}}``; malformed answers count as ``bad_conversation``.

    Example:
        >>> generate_conversations(LLMClient("http://127.0.0.1:9/v1", "m"), {}, "/tmp/none")["written"]
        0
    """
    out = Path(out_dir)
    drops = DropCounter()
    jobs, skipped = {}, 0
    for key, it in items.items():
        if (out / f"{key}.json").is_file():
            skipped += 1
            continue
        jobs[key] = conversation_messages(it["findings"], list(it.get("abnormalities", [])), it.get("view", ""),
                                          it.get("sex", ""), it.get("boxes"))
    written = 0
    lock = threading.Lock()

    def save(key: str, text: str) -> None:
        nonlocal written
        try:
            turns = parse_conversation(text)
        except ValueError as e:
            with lock:
                drops.add("bad_conversation", f"{key}: {e}")
            return
        _write_atomic(out / f"{key}.json", json.dumps(turns, ensure_ascii=False, indent=1))
        with lock:
            written += 1

    client.map(jobs, save, drops)
    return {"written": written, "skipped_existing": skipped, "drops": drops.to_dict()}
