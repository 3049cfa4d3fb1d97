"""Greedy, batched, resumable generation on test records: records -> ``Prediction`` -> ``predictions.jsonl``.

This is the "rollout / prediction" stage of evaluation (``docs/evaluation.md``). It is not training-time sampling
(TRL does that) and it does not score anything (``radgrpo.eval.score`` does).

Protocol (``docs/evaluation.md``): temperature 0 (``do_sample=False``), one user turn with the image placeholder and
the question, built by :func:`radgrpo.data.prompts.prompt_messages`, the builder the SFT/GRPO rows use
(``[{"type": "image"}, {"type": "text", "text": q}]``), left padding for batched decoding. Thinking mode appends
:data:`radgrpo.data.prompts.THINK_SUFFIX` (``" /think"``) to the question and the scored answer is the text after the
LAST ``</think>``; a thinking output without ``</think>`` gets an empty answer. Unlike the paper we do not regenerate
such samples up to 64 times: greedy decoding would repeat the same output, and the failure is counted instead
(``Prediction.finished`` / ``think_closed``).

Example:
    >>> p = Prediction(id="a", task="report_generation", prompt="Write a report.", completion="No effusion.",
    ...                answer="No effusion.", n_tokens=4, finished=True)
    >>> Prediction.from_dict(p.to_dict()) == p
    True
    >>> split_answer("<think>look at the heart</think> Cardiomegaly.", thinking=True)
    ('Cardiomegaly.', True)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.data.prompts import prompt_messages, prompt_text
from radgrpo.records import Record, Task, renamed_prediction_ids
from radgrpo.thinking import split_thinking

logger = logging.getLogger(__name__)

#: Default generation lengths per task (new tokens, non-thinking). The paper uses 1024 for every non-thinking
#: model (``docs/evaluation.md``); grounding and classification answers are one sentence, so shorter limits lose
#: nothing and make evaluation of small models much faster. Override with ``max_new_tokens``.
DEFAULT_MAX_NEW_TOKENS: dict[str, int] = {
    Task.REPORT_GENERATION.value: 512,
    Task.CLASSIFICATION.value: 128,
    Task.ANATOMICAL_GROUNDING.value: 128,
    Task.ABNORMALITY_GROUNDING.value: 128,
    Task.PHRASE_GROUNDING.value: 128,
    Task.DETECTION.value: 256,
    Task.CONVERSATION.value: 512,
}
#: Thinking runs get the paper's 4096 new tokens for every task.
DEFAULT_MAX_NEW_TOKENS_THINKING = 4096
#: Answers are truncated to this many characters before scoring.
MAX_ANSWER_CHARS = 4000


@dataclass
class Prediction:
    """One model output for one test record (a line of ``predictions.jsonl``).

    Args:
        id: the record id.
        task: the record's task value (``"report_generation"``, ``"abnormality_grounding"`` ...).
        prompt: the user text sent with the image (question, plus ``" /think"`` in thinking mode).
        completion: the decoded generated text (special tokens removed), thinking included.
        answer: the text that is scored: ``completion`` stripped, or in thinking mode the text after the last
            ``</think>`` (empty when the tag is missing); at most :data:`MAX_ANSWER_CHARS` characters.
        n_tokens: generated tokens, the stop token included, padding excluded.
        finished: True if generation stopped on an end-of-sequence token, False if it hit ``max_new_tokens``.
        thinking: whether the prompt asked for thinking.
        think_closed: in thinking mode, whether a ``</think>`` was produced (always True otherwise).
        seconds: wall time of this sample's batch divided by the batch size (s).
        max_new_tokens: the new-token limit this sample was generated with (0: unknown).
        meta: free-form extra fields (model name, run name ...).
    """

    id: str
    task: str
    prompt: str
    completion: str
    answer: str
    n_tokens: int
    finished: bool
    thinking: bool = False
    think_closed: bool = True
    seconds: float = 0.0
    max_new_tokens: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (one ``predictions.jsonl`` line)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prediction:
        """Inverse of :meth:`to_dict`; unknown keys raise so that typos are not silently dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(d) - names
        if extra:
            raise ValueError(f"unknown prediction field(s) {sorted(extra)}")
        return cls(**d)


def split_answer(completion: str, thinking: bool) -> tuple[str, bool]:
    """The scored answer of a completion and whether its thinking block was closed.

    Args:
        completion: decoded model output.
        thinking: True in thinking mode: the answer is the text after the LAST ``</think>``; when the
            tag is missing the answer is ``""`` and the flag is False.
    Returns:
        ``(answer, think_closed)``; the answer is stripped and cut to :data:`MAX_ANSWER_CHARS` characters.

    Example:
        >>> split_answer("  [0.1, 0.2, 0.3, 0.4] ", thinking=False)
        ('[0.1, 0.2, 0.3, 0.4]', True)
        >>> split_answer("<think>a</think>x</think> final", thinking=True)
        ('final', True)
        >>> split_answer("<think>never closed", thinking=True)
        ('', False)
    """
    if not thinking:
        return completion.strip()[:MAX_ANSWER_CHARS], True
    answer, closed = split_thinking(completion, "last")
    return answer[:MAX_ANSWER_CHARS], closed


def default_max_new_tokens(task: str | Task, thinking: bool = False) -> int:
    """The default number of new tokens for a task (see :data:`DEFAULT_MAX_NEW_TOKENS`).

    Example:
        >>> default_max_new_tokens("abnormality_grounding"), default_max_new_tokens("report_generation", True)
        (128, 4096)
    """
    if thinking:
        return DEFAULT_MAX_NEW_TOKENS_THINKING
    return DEFAULT_MAX_NEW_TOKENS[Task(task).value]


def read_predictions(path: str | os.PathLike) -> tuple[list[Prediction], int]:
    """Read ``predictions.jsonl``; malformed lines (e.g. a line cut by a crash) are skipped and counted.

    Args:
        path: the JSONL file.
    Returns:
        ``(predictions, n_malformed)``.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = Path(d, "p.jsonl").write_text('{"id": "a", "task": "report_generation", "prompt": "q", '
        ...     '"completion": "c", "answer": "c", "n_tokens": 1, "finished": true}\\n{"id": "b", "tas')
        >>> preds, bad = read_predictions(Path(d, "p.jsonl"))
        >>> [p.id for p in preds], bad
        (['a'], 1)
    """
    preds: list[Prediction] = []
    bad = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                preds.append(Prediction.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError, ValueError):
                bad += 1
    return preds, bad


def write_predictions(predictions: Iterable[Prediction], path: str | os.PathLike) -> int:
    """Write predictions to ``path`` atomically (temp file + rename); returns the number written.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "p.jsonl")
        >>> write_predictions([Prediction("a", "report_generation", "q", "c", "c", 1, True)], p)
        1
    """
    from radgrpo.records import write_json_lines

    return write_json_lines((p.to_dict() for p in predictions), path)


def _load_image(record: Record, base_dir: str | os.PathLike | None):
    from PIL import Image

    path = record.image_path(base_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"record {record.id!r}: image not found at {path} (relative paths resolve against base_dir={base_dir!s})"
        )
    with Image.open(path) as im:
        return im.convert("RGB")


def _eos_ids(model: Any, processor: Any) -> set[int]:
    ids: set[int] = set()
    gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for v in gen_eos if isinstance(gen_eos, (list, tuple)) else [gen_eos]:
        if v is not None:
            ids.add(int(v))
    tok = getattr(processor, "tokenizer", processor)
    if getattr(tok, "eos_token_id", None) is not None:
        ids.add(int(tok.eos_token_id))
    if not ids:
        raise ValueError("neither the model's generation_config nor the tokenizer define an eos token id")
    return ids


def _generate_batch(
    model: Any,
    processor: Any,
    records: Sequence[Record],
    base_dir: str | os.PathLike | None,
    prompts: Sequence[str],
    max_new_tokens: int,
    eos: set[int],
) -> list[tuple[str, int, bool]]:
    """Generate for one batch; returns (completion, n_tokens, finished) per record."""
    import torch

    tok = getattr(processor, "tokenizer", processor)
    texts = [
        processor.apply_chat_template(prompt_messages(p), tokenize=False, add_generation_prompt=True) for p in prompts
    ]
    images = [_load_image(r, base_dir) for r in records]
    inputs = processor(text=texts, images=images, return_tensors="pt", padding=True)
    device = getattr(model, "device", None)
    if device is not None:
        inputs = inputs.to(device)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else min(eos)
    with torch.inference_mode():
        out = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=pad_id,
            eos_token_id=sorted(eos),
        )
    gen = out[:, inputs["input_ids"].shape[1] :].tolist()
    results = []
    for row in gen:
        stop = next((i for i, t in enumerate(row) if t in eos), None)
        n = len(row) if stop is None else stop + 1
        results.append((tok.decode(row[:n], skip_special_tokens=True), n, stop is not None))
    return results


def _limit(task: str, max_new_tokens: int | dict[str, int] | None, thinking: bool) -> int:
    if isinstance(max_new_tokens, int):
        limit = max_new_tokens
    elif isinstance(max_new_tokens, dict) and task in max_new_tokens:
        limit = int(max_new_tokens[task])
    else:
        limit = default_max_new_tokens(task, thinking)
    if limit < 1:
        raise ValueError(f"max_new_tokens for task {task!r} must be >= 1, got {limit}")
    return limit


def _check_resumable(
    done: dict[str, Prediction],
    records: Sequence[Record],
    max_new_tokens: int | dict[str, int] | None,
    thinking: bool,
    out_path: Any,
) -> None:
    """Refuse to mix predictions generated with other settings into one run (no silent reuse)."""
    for r in records:
        p = done.get(r.id)
        if p is None:
            continue
        want = _limit(r.task.value, max_new_tokens, thinking)
        if p.thinking != thinking or (p.max_new_tokens and p.max_new_tokens != want):
            raise ValueError(
                f"{out_path}: prediction {r.id!r} was generated with thinking={p.thinking}, "
                f"max_new_tokens={p.max_new_tokens}; this run asks for thinking={thinking}, max_new_tokens={want}. "
                "Use another output folder or delete the file to start over."
            )


def generate_predictions(
    model: Any,
    processor: Any,
    records: Sequence[Record],
    base_dir: str | os.PathLike | None = None,
    *,
    batch_size: int = 16,
    max_new_tokens: int | dict[str, int] | None = None,
    thinking: bool = False,
    out_path: str | os.PathLike | None = None,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
) -> list[Prediction]:
    """Greedy, batched generation for test records, written incrementally to ``predictions.jsonl`` and resumable.

    Records are grouped by task (each task has its own length limit) and batched in their original order. When
    ``out_path`` exists, predictions already there are kept and their ids skipped (a malformed trailing line from an
    interrupted run is dropped and counted in a warning); each finished batch is appended and flushed at once.
    Resuming with another ``thinking`` mode or token limit raises instead of mixing the two.

    Args:
        model: a ``Qwen3VLForConditionalGeneration`` (or any HF image-text-to-text model with ``generate``).
        processor: its processor (chat template with the image placeholder); padding is forced to the left.
        records: test records (``Record.image`` is resolved against ``base_dir``).
        base_dir: folder that relative image paths are relative to (the records JSONL's folder).
        batch_size: prompts per ``generate`` call.
        max_new_tokens: one limit for all tasks, a ``{task: limit}`` dict (missing tasks use defaults), or None
            for :data:`DEFAULT_MAX_NEW_TOKENS` (4096 in thinking mode).
        thinking: append ``" /think"`` to each question and score the text after the last ``</think>``.
        out_path: the ``predictions.jsonl`` to write and resume from (None: keep in memory only).
        progress: show a tqdm progress bar.
        meta: extra fields stored in every new prediction's ``meta`` (e.g. ``{"model": "..."}``).
    Returns:
        one :class:`Prediction` per record, in the order of ``records``.

    Example:
        >>> preds = generate_predictions(model, processor, records, "data/test", out_path="out/predictions.jsonl")
        ... # doctest: +SKIP
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate record ids in the test set: {dup[:10]}")
    tok = getattr(processor, "tokenizer", processor)
    tok.padding_side = "left"  # right padding would put pad tokens between the prompt and the generation

    done: dict[str, Prediction] = {}
    if out_path is not None and Path(out_path).is_file():
        old, bad = read_predictions(out_path)
        renamed = renamed_prediction_ids([p.id for p in old], ids)  # ids of an older record-id scheme
        for p in old:
            p.id = renamed.get(p.id, p.id)
        done = {p.id: p for p in old}
        if renamed:
            logger.warning("%s: %d prediction id(s) renamed to the current record-id scheme", out_path, len(renamed))
        if bad or renamed:
            if bad:
                logger.warning("%s: dropped %d malformed line(s); those records are generated again", out_path, bad)
            write_predictions(old, out_path)  # rewrite (no broken line, current ids) before appending
        logger.info("resuming: %d prediction(s) already in %s", len(done), out_path)
    _check_resumable(done, records, max_new_tokens, thinking, out_path)
    todo = [r for r in records if r.id not in done]

    by_task: dict[str, list[Record]] = {}
    for r in todo:
        by_task.setdefault(r.task.value, []).append(r)
    batches = [(task, rs[i : i + batch_size]) for task, rs in by_task.items() for i in range(0, len(rs), batch_size)]

    eos = _eos_ids(model, processor) if batches else set()
    fh = None
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        fh = open(out_path, "a", encoding="utf-8")
    bar = None
    if progress and batches:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="generate", unit="sample")
    try:
        for task, batch in batches:
            limit = _limit(task, max_new_tokens, thinking)
            prompts = [prompt_text(r, thinking=thinking) for r in batch]
            t0 = time.perf_counter()
            outs = _generate_batch(model, processor, batch, base_dir, prompts, limit, eos)
            per = (time.perf_counter() - t0) / len(batch)
            for r, prompt, (text, n, finished) in zip(batch, prompts, outs):
                answer, closed = split_answer(text, thinking)
                p = Prediction(
                    id=r.id,
                    task=task,
                    prompt=prompt,
                    completion=text,
                    answer=answer,
                    n_tokens=n,
                    finished=finished,
                    thinking=thinking,
                    think_closed=closed,
                    seconds=round(per, 6),
                    max_new_tokens=limit,
                    meta=dict(meta or {}),
                )
                done[r.id] = p
                if fh is not None:
                    fh.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
            if fh is not None:
                fh.flush()
            if bar is not None:
                bar.update(len(batch))
    finally:
        if fh is not None:
            fh.close()
        if bar is not None:
            bar.close()
    return [done[i] for i in ids]
