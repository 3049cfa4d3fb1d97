"""Batched, resumable generation on test records: records -> ``Prediction`` -> ``predictions.jsonl``.

This is the "rollout / prediction" stage of evaluation (``docs/evaluation.md``), the loop only: batch by task, resume,
regenerate, write. How to generate is one :class:`radgrpo.eval.settings.GenerationSpec`; the engines are
:mod:`radgrpo.eval.backends`; the record written is :class:`radgrpo.records.Prediction`. It does not score anything
(``radgrpo.eval.score`` does).

Protocol: greedy by default; one user turn with the image placeholder and the question, built by the model's adapter
(:mod:`radgrpo.models.adapters`; the default ``radgrpo`` adapter uses :func:`radgrpo.data.prompts.prompt_messages`,
the builder the SFT/GRPO rows use). Thinking mode appends ``" /think"`` to the question; the scored answer is the text
after the LAST ``</think>`` (empty when the tag is missing) and the text before it is kept as ``Prediction.thought``
(never scored). Sampling is reproducible per record (:func:`radgrpo.eval.settings.sample_seed`).

Regeneration (the paper's protocol, docs/evaluation.md#generation): a thinking output without ``</think>``, without an
answer or cut by the token limit is sampled again, up to ``regenerate`` times, each attempt with the next seed of that
record; the last attempt is kept and ``Prediction.n_regenerations`` counts the discarded ones.

Example:
    >>> split_answer("<think>look at the heart</think> Cardiomegaly.", thinking=True)
    ('Cardiomegaly.', True)
    >>> split_thought("<think>look at the heart</think> Cardiomegaly.")
    'look at the heart'
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radgrpo.eval.backends import get_backend
from radgrpo.eval.backends.hf import chat_text, load_image, record_image
from radgrpo.eval.settings import (
    DEFAULT_MAX_NEW_TOKENS,
    GenerationSpec,
    default_max_new_tokens,
    recorded_settings,
    sample_seed,
)
from radgrpo.records import Prediction, Record, read_predictions, renamed_prediction_ids, write_predictions
from radgrpo.thinking import THINK_CLOSE, THINK_OPEN, is_thinking, split_thinking, uses_suffix

__all__ = [
    "MAX_ANSWER_CHARS",
    "generate_predictions",
    "generation_stats",
    "needs_regeneration",
    "split_answer",
    "split_thought",
    # re-exported from their own modules (this was their home before)
    "DEFAULT_MAX_NEW_TOKENS",
    "GenerationSpec",
    "Prediction",
    "chat_text",
    "default_max_new_tokens",
    "load_image",
    "read_predictions",
    "recorded_settings",
    "sample_seed",
    "write_predictions",
]

logger = logging.getLogger(__name__)

#: Answers are truncated to this many characters before scoring.
MAX_ANSWER_CHARS = 4000


def split_answer(completion: str, thinking: bool) -> tuple[str, bool]:
    """The scored answer of a completion and whether its thinking block was closed (the ``radgrpo`` adapter's rule).

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


def split_thought(completion: str) -> str:
    """The thought of a thinking output: the text before the LAST ``</think>`` (the whole text when the tag is
    missing: the model never stopped thinking), without the opening ``<think>`` tag, stripped.

    Example:
        >>> split_thought("<think> the heart is large </think> Cardiomegaly.")
        'the heart is large'
        >>> split_thought("the template opened the block</think>x</think> answer")
        'the template opened the block</think>x'
        >>> split_thought("<think>never closed")
        'never closed'
    """
    i = completion.rfind(THINK_CLOSE)
    head = (completion[:i] if i >= 0 else completion).strip()
    if head.startswith(THINK_OPEN):
        head = head[len(THINK_OPEN) :]
    return head.strip()


def needs_regeneration(prediction: Prediction) -> bool:
    """Whether a thinking output is regenerated under the paper's policy: no ``</think>``, no answer after it, or cut
    by the token limit.

    Example:
        >>> p = Prediction("a", "report_generation", "q", "<think>x", "", 9, False, thinking=True, think_closed=False)
        >>> from dataclasses import replace
        >>> needs_regeneration(p), needs_regeneration(replace(p, answer="ok", think_closed=True, finished=True))
        (True, False)
    """
    return not prediction.think_closed or not prediction.answer or not prediction.finished


def generate_predictions(
    model: Any,
    processor: Any,
    records: Sequence[Record],
    spec: GenerationSpec | None = None,
    *,
    base_dir: str | os.PathLike | None = None,
    out_path: str | os.PathLike | None = None,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
) -> list[Prediction]:
    """Batched generation for test records, written incrementally to ``predictions.jsonl`` and resumable.

    Records are grouped by task (each task has its own length limit) and batched in their original order. When
    ``out_path`` exists, predictions already there are kept and their ids skipped (a malformed trailing line from an
    interrupted run is dropped and counted in a warning); each finished batch is appended and flushed at once.
    Resuming with another thinking mode, token limit, adapter, backend or sampling setting raises instead of mixing
    the two (lines of older versions count as greedy ``hf`` decoding with the ``radgrpo`` adapter).

    Args:
        model: a ``Qwen3VLForConditionalGeneration`` (or any HF image-text-to-text model with ``generate``); for the
            ``vllm`` backend a hub id or folder (or an HF model, whose ``name_or_path`` is used, or a built
            :class:`~radgrpo.eval.backends.vllm.VLLMEngine`).
        processor: its processor (chat template with the image placeholder); padding is forced to the left.
        records: test records (``Record.image`` is resolved against ``base_dir``; ``.dcm`` images are read as DICOM).
        spec: how to generate (:class:`~radgrpo.eval.settings.GenerationSpec`: thinking mode, adapter, backend,
            sampling, seed, regeneration, new-token limits, batch size); None: its defaults (greedy, ``radgrpo``
            adapter, ``hf``, the per-task limits, batches of 16).
        base_dir: folder that relative image paths are relative to (the records JSONL's folder).
        out_path: the ``predictions.jsonl`` to write and resume from (None: keep in memory only).
        progress: show a tqdm progress bar.
        meta: extra fields stored in every new prediction's ``meta`` (e.g. ``{"model": "..."}``).
    Returns:
        one :class:`Prediction` per record, in the order of ``records``.

    Example:
        >>> spec = GenerationSpec.build(max_new_tokens=64, batch_size=8)
        >>> preds = generate_predictions(model, processor, records, spec, base_dir="data/test",
        ...                              out_path="out/predictions.jsonl")  # doctest: +SKIP
    """
    spec = spec or GenerationSpec()
    backend_cls = get_backend(spec.backend)
    backend_cls.check(model)  # before reading anything (vLLM: a one-line error naming `pip install vllm`)
    ad = spec.model_adapter()
    thinks = is_thinking(spec.thinking) or ad.thinking == "native"  # outputs that carry a thought (regenerated)
    check = getattr(ad, "check", None)
    if callable(check):  # tasks without a prompt, thinking asked of a family that cannot: one message, now
        check(
            tasks=sorted({r.task.value for r in records}), thinking=is_thinking(spec.thinking), trust_remote_code=True
        )
    if spec.regenerate and not thinks:
        logger.warning("regenerate=%d has no effect: this run's outputs are not thinking outputs", spec.regenerate)
    settings = spec.recorded()
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"duplicate record ids in the test set: {dup[:10]}")
    tok = getattr(processor, "tokenizer", processor)
    tok.padding_side = "left"  # right padding would put pad tokens between the prompt and the generation

    done = _resumed(out_path, ids)
    _check_resumable(done, records, spec, thinks, out_path, settings)
    todo = [r for r in records if r.id not in done]
    by_task: dict[str, list[Record]] = {}
    for r in todo:
        by_task.setdefault(r.task.value, []).append(r)
    size = spec.batch_size
    batches = [(task, rs[i : i + size]) for task, rs in by_task.items() for i in range(0, len(rs), size)]

    backend = backend_cls(model, processor, ad, spec) if batches else None
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
            limit = spec.limit(task, thinks)
            new = _generate_with_regeneration(backend, processor, ad, batch, base_dir, limit, thinks, spec)
            for r in batch:
                p = new[r.id]
                p.max_new_tokens, p.meta, p.generation = limit, dict(meta or {}), dict(settings)
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


def _resumed(out_path: str | os.PathLike | None, ids: Sequence[str]) -> dict[str, Prediction]:
    """The predictions already in ``out_path`` by id (renamed to the current record-id scheme; the file rewritten
    without a malformed line before anything is appended)."""
    if out_path is None or not Path(out_path).is_file():
        return {}
    old, bad = read_predictions(out_path)
    renamed = renamed_prediction_ids([p.id for p in old], ids)  # ids of an older record-id scheme
    for p in old:
        p.id = renamed.get(p.id, p.id)
    if renamed:
        logger.warning("%s: %d prediction id(s) renamed to the current record-id scheme", out_path, len(renamed))
    if bad or renamed:
        if bad:
            logger.warning("%s: dropped %d malformed line(s); those records are generated again", out_path, bad)
        write_predictions(old, out_path)  # rewrite (no broken line, current ids) before appending
    logger.info("resuming: %d prediction(s) already in %s", len(old), out_path)
    return {p.id: p for p in old}


def _generate_with_regeneration(
    backend: Any,
    processor: Any,
    adapter: Any,
    batch: Sequence[Record],
    base_dir: str | os.PathLike | None,
    limit: int,
    thinks: bool,
    spec: GenerationSpec,
) -> dict[str, Prediction]:
    """One batch, then its thinking outputs without an answer again (batched), up to ``spec.regenerate`` times."""
    originals = {r.id: record_image(r, base_dir) for r in batch}
    prepare = getattr(adapter, "prepare_image", None)
    images = {i: prepare(im) if callable(prepare) else im for i, im in originals.items()}
    texts = {r.id: chat_text(processor, adapter, r, spec.thinking, image_path=r.image_path(base_dir)) for r in batch}
    seconds = {r.id: 0.0 for r in batch}
    tokens = {r.id: 0 for r in batch}
    out: dict[str, Prediction] = {}
    pending = list(batch)
    attempt = 0
    while pending:
        t0 = time.perf_counter()
        seeds = [sample_seed(spec.seed, r.id, attempt) for r in pending] if spec.sampling.do_sample else None
        gens = backend.generate([texts[r.id] for r in pending], [images[r.id] for r in pending], limit, seeds)
        per = (time.perf_counter() - t0) / len(pending)
        retry = []
        for r, g in zip(pending, gens):
            answer, closed = adapter.parse(
                g.text, r, thinking=thinks, image_size=originals[r.id].size, input_size=g.input_size
            )
            seconds[r.id] += per
            tokens[r.id] += g.n_tokens
            thought = split_thought(g.text) if thinks else ""
            p = Prediction(
                id=r.id,
                task=r.task.value,
                prompt=adapter.prompt(r, uses_suffix(spec.thinking)),
                completion=g.text,
                answer=answer[:MAX_ANSWER_CHARS],
                n_tokens=g.n_tokens,
                finished=g.finished,
                thinking=thinks,
                think_closed=closed,
                seconds=round(seconds[r.id], 6),
                thought=thought,
                thought_tokens=_n_tokens(processor, thought) if thinks else 0,
                n_regenerations=attempt,
                total_tokens=tokens[r.id],
            )
            out[r.id] = p
            if thinks and attempt < spec.regenerate and needs_regeneration(p):
                retry.append(r)
        pending = retry
        attempt += 1
    return out


def _n_tokens(processor: Any, text: str) -> int:
    """Tokens of ``text`` with the model's tokenizer (no special tokens): the thought length in tokens."""
    if not text:
        return 0
    tok = getattr(processor, "tokenizer", processor)
    return len(tok(text, add_special_tokens=False)["input_ids"])


def _check_resumable(
    done: dict[str, Prediction],
    records: Sequence[Record],
    spec: GenerationSpec,
    thinking: bool,
    out_path: Any,
    settings: dict[str, Any],
) -> None:
    """Refuse to mix predictions generated with other settings into one run (no silent reuse)."""
    for r in records:
        p = done.get(r.id)
        if p is None:
            continue
        want = spec.limit(r.task.value, thinking)
        if p.thinking != thinking or (p.max_new_tokens and p.max_new_tokens != want):
            raise ValueError(
                f"{out_path}: prediction {r.id!r} was generated with thinking={p.thinking}, "
                f"max_new_tokens={p.max_new_tokens}; this run asks for thinking={thinking}, max_new_tokens={want}. "
                "Use another output folder or delete the file to start over."
            )
        had = recorded_settings(p)
        if had != settings:
            raise ValueError(
                f"{out_path}: prediction {r.id!r} was generated with {had}; this run asks for {settings}. "
                "Use another output folder or delete the file to start over."
            )


def generation_stats(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Throughput and regeneration counts of predictions (the run meta's ``generation`` block, with the settings).

    ``tokens_per_s`` is generated tokens (all attempts) over generation wall time, the sum of the samples'
    ``seconds`` (which resumed runs carry over from the run that made them); ``samples_per_s`` likewise.

    Example:
        >>> p = Prediction("a", "report_generation", "q", "c", "c", 10, True, seconds=0.5, total_tokens=30,
        ...                n_regenerations=2)
        >>> s = generation_stats([p, Prediction("b", "report_generation", "q", "", "", 10, True, seconds=0.5)])
        >>> s["tokens_per_s"], s["samples_per_s"], s["regenerations"], s["regenerated_samples"], s["no_answer"]
        (40.0, 2.0, 2, 1, 1)
    """
    n = len(predictions)
    tokens = sum(p.total_tokens or p.n_tokens for p in predictions)
    seconds = sum(p.seconds for p in predictions)
    return {
        "n_samples": n,
        "generated_tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 3) if seconds > 0 else None,
        "samples_per_s": round(n / seconds, 3) if seconds > 0 else None,
        "regenerations": sum(p.n_regenerations for p in predictions),
        "regenerated_samples": sum(1 for p in predictions if p.n_regenerations),
        "no_answer": sum(1 for p in predictions if not p.answer),
        "not_finished": sum(1 for p in predictions if not p.finished),
    }
