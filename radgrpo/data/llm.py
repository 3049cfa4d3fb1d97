"""LLM text steps through any OpenAI-compatible endpoint: report filtering and conversation generation.

What it is: :class:`LLMClient` (httpx; ``POST {base_url}/chat/completions``) with an on-disk cache keyed by the exact
request (so a re-run resumes without re-asking), bounded concurrency, a requests-per-minute limit and retries with
back-off on 429/5xx (honouring ``Retry-After``); and the two RadVLM text steps written with **our own prompts**
(RadVLM's few-shot examples contain credentialed report text and are not used): :func:`filter_reports` (keep findings,
remove prior/comparison language; ``None`` when nothing is left; files ``<out>/s<study_id>.txt`` that the MIMIC
loader reads) and :func:`generate_conversations` (a JSON list of human/gpt turns per image, ``<out>/<key>.json``).
What it is not: a teacher for cold-start "thinking" data, nor a model server.

Fix of a RadVLM pitfall (its filter saw only already filtered studies): the candidate list is every study with text,
not only those already filtered; finished outputs are skipped (resume), failed ones are counted with reasons and
retried on the next run.

Example:
    >>> filter_messages("Heart size normal. Unchanged effusion since prior.")[1]["content"].startswith("Report:")
    True
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from radgrpo.chat_client import ChatClient, ChatError
from radgrpo.data.sources.common import DropCounter

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
    'with two decimals. Answer with a JSON list only, alternating {"from": "human", "value": ...} and '
    '{"from": "gpt", "value": ...}, starting with human.'
)


#: raised by :meth:`LLMClient.complete` (the shared client's error)
LLMError = ChatError


class LLMClient(ChatClient):
    """:class:`radgrpo.chat_client.ChatClient` plus :meth:`map`, which counts failures in a ``DropCounter``.

    Example:
        >>> c = LLMClient("http://127.0.0.1:9/v1", "m", max_concurrency=2)
        >>> c.max_concurrency, c.base_url
        (2, 'http://127.0.0.1:9/v1')
    """

    def map(
        self, jobs: dict[str, list[dict[str, str]]], on_result: Callable[[str, str], None], drops: DropCounter
    ) -> int:
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


def filter_reports(
    client: LLMClient, reports: dict[str, str], out_dir: str | os.PathLike, prefix: str = "s"
) -> dict[str, Any]:
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


def conversation_messages(
    findings: str, abnormalities: list[str], view: str, sex: str, boxes: list[tuple[str, list]] | None = None
) -> list[dict[str, str]]:
    """Messages asking for a grounded or plain conversation about one image.

    Example:
        >>> conversation_messages("Cardiomegaly.", ["Cardiomegaly"], "PA", "female",
        ...                       [("Cardiomegaly", [(0.3, 0.5, 0.7, 0.7)])])[1]["content"].splitlines()[-1]
        'Cardiomegaly: [0.30, 0.50, 0.70, 0.70]'
    """
    lines = [
        f"Findings: {findings}",
        f"Abnormalities: {', '.join(abnormalities) or 'none'}",
        f"View: {view}",
        f"Sex: {sex}",
    ]
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


def generate_conversations(
    client: LLMClient, items: dict[str, dict[str, Any]], out_dir: str | os.PathLike
) -> dict[str, Any]:
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
        jobs[key] = conversation_messages(
            it["findings"], list(it.get("abnormalities", [])), it.get("view", ""), it.get("sex", ""), it.get("boxes")
        )
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
