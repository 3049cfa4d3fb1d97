"""Batched, resumable generation on test records: records -> ``Prediction`` -> ``predictions.jsonl``.

This is the "rollout / prediction" stage of evaluation (``docs/evaluation.md``). It is not training-time sampling
(TRL does that) and it does not score anything (``radgrpo.eval.score`` does).

Protocol (``docs/evaluation.md``): by default greedy decoding (``do_sample=False``), one user turn with the image
placeholder and the question, built by the model's adapter (:mod:`radgrpo.models.adapters`; the default ``radgrpo``
adapter uses :func:`radgrpo.data.prompts.prompt_messages`, the builder the SFT/GRPO rows use), left padding for
batched decoding. Thinking mode appends :data:`radgrpo.data.prompts.THINK_SUFFIX` (``" /think"``) to the question; the
scored answer is the text after the LAST ``</think>`` (empty when the tag is missing) and the text before it is kept
as ``Prediction.thought`` (never scored).

Sampling (``do_sample=True`` with ``temperature``/``top_p``/``top_k``; the paper samples Qwen3-VL-Thinking at
temperature 1.0) is reproducible per record: every record draws from its own random stream, seeded by
:func:`sample_seed` from ``(seed, record id, attempt)`` (a stable digest, not Python's ``hash``). On the HF backend a
logits processor (:class:`SeededSampler`) draws each row's token from its own ``torch.Generator`` inside one batched
``generate`` call, so the same seed gives the same predictions whatever the batch size, the record order or the
subset evaluated (up to the float rounding that left padding can cause, which the tests check does not change a draw
on the tiny model); vLLM takes the same per-record seed in each request's ``SamplingParams``. The streams of the two
backends differ, so a seed reproduces a run on the same backend and device type only.

Regeneration (the paper's evaluation protocol, docs/evaluation.md#generation): a thinking output without ``</think>``, without an answer or cut by the token limit is
sampled again, up to ``regenerate`` times, each attempt with the next seed of that record; the last attempt is kept and
``Prediction.n_regenerations`` counts the discarded ones. It needs ``do_sample=True`` (greedy decoding would repeat the
same output), otherwise :func:`generate_predictions` raises ``ValueError`` before generating anything.

Example:
    >>> p = Prediction(id="a", task="report_generation", prompt="Write a report.", completion="No effusion.",
    ...                answer="No effusion.", n_tokens=4, finished=True)
    >>> Prediction.from_dict(p.to_dict()) == p
    True
    >>> split_answer("<think>look at the heart</think> Cardiomegaly.", thinking=True)
    ('Cardiomegaly.', True)
    >>> split_thought("<think>look at the heart</think> Cardiomegaly.")
    'look at the heart'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from radgrpo.records import Record, Task, renamed_prediction_ids
from radgrpo.thinking import THINK_CLOSE, THINK_OPEN, is_thinking, split_thinking, thinking_mode, uses_suffix

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
#: Generation backends: ``hf`` (transformers ``generate``) and ``vllm`` (:mod:`radgrpo.eval.vllm_engine`).
BACKENDS = ("hf", "vllm")
#: The generation settings of predictions written before they were recorded (greedy transformers decoding with
#: radgrpo's prompts): what an old ``predictions.jsonl`` line's ``generation`` falls back to, with ``"thinking"``
#: ``"suffix"`` when its ``thinking`` is true, else ``"off"`` (:func:`recorded_settings`).
LEGACY_GENERATION: dict[str, Any] = {"adapter": "radgrpo", "backend": "hf", "do_sample": False}
#: Image file suffixes read as DICOM (:mod:`radgrpo.data.dicom`) rather than with PIL.
DICOM_SUFFIXES = (".dcm", ".dicom")


@dataclass
class Prediction:
    """One model output for one test record (a line of ``predictions.jsonl``).

    Lines written before ``thought``, ``n_regenerations``, ``total_tokens`` and ``generation`` existed still load
    (the fields take their defaults).

    Args:
        id: the record id.
        task: the record's task value (``"report_generation"``, ``"abnormality_grounding"`` ...).
        prompt: the user text sent with the image (question, plus ``" /think"`` in thinking mode).
        completion: the decoded generated text (special tokens removed), thinking included.
        answer: the text that is scored: the adapter's answer (``completion`` stripped, boxes in radgrpo's normalised
            [0,1] format), in thinking mode the text after the last ``</think>`` (empty when the tag is missing); at
            most :data:`MAX_ANSWER_CHARS` characters.
        n_tokens: generated tokens of ``completion``, the stop token included, padding excluded.
        finished: True if generation stopped on an end-of-sequence token, False if it hit ``max_new_tokens``.
        thinking: whether the output thinks (thinking mode ``suffix``/``native``, or a native thinking adapter).
        think_closed: in thinking mode, whether a ``</think>`` was produced (always True otherwise).
        seconds: this sample's share of generation wall time (s): each batch's time divided by its size, summed over
            the sample's attempts.
        max_new_tokens: the new-token limit this sample was generated with (0: unknown).
        meta: free-form extra fields (model name, run name ...).
        thought: the thinking text before the answer (:func:`split_thought`; ``""`` for non-thinking outputs); kept
            for reading, never scored.
        thought_tokens: the thought's length in tokens of the model's tokenizer (0 for non-thinking outputs).
        n_regenerations: how many times the sample was generated again because its thinking output had no answer
            (0: the first attempt was kept).
        total_tokens: generated tokens over all attempts, regenerations included (0 in old files: ``n_tokens``).
        generation: the settings the sample was generated with (:func:`generation_settings`: adapter, backend,
            ``do_sample`` and, when sampling, ``temperature``/``top_p``/``top_k``/``seed``/``regenerate``); ``{}`` in
            old files, read as :data:`LEGACY_GENERATION`.
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
    thought: str = ""
    thought_tokens: int = 0
    n_regenerations: int = 0
    total_tokens: int = 0
    generation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (one ``predictions.jsonl`` line)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prediction:
        """Inverse of :meth:`to_dict`; unknown keys raise so that typos are not silently dropped, missing optional
        keys (lines of older versions) take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        extra = set(d) - names
        if extra:
            raise ValueError(f"unknown prediction field(s) {sorted(extra)}")
        return cls(**d)


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
        >>> needs_regeneration(p), needs_regeneration(dataclasses.replace(p, answer="ok", think_closed=True,
        ...                                                                 finished=True))
        (True, False)
    """
    return not prediction.think_closed or not prediction.answer or not prediction.finished


def sample_seed(seed: int, record_id: str, attempt: int = 0) -> int:
    """The seed of one record's random stream for one attempt: a stable digest of ``(seed, record_id, attempt)`` in
    ``[0, 2**31)`` (the same on every machine and Python process, unlike ``hash``).

    Example:
        >>> sample_seed(0, "r1") == sample_seed(0, "r1"), sample_seed(0, "r1") == sample_seed(1, "r1")
        (True, False)
        >>> 0 <= sample_seed(0, "r1", attempt=3) < 2**31
        True
    """
    digest = hashlib.sha256(f"{int(seed)}\x00{record_id}\x00{int(attempt)}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def generation_settings(
    *,
    thinking: bool | str = False,
    adapter: str = "radgrpo",
    backend: str = "hf",
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    seed: int = 0,
    regenerate: int = 0,
) -> dict[str, Any]:
    """The settings stored in ``Prediction.generation`` and compared when a run is resumed: the thinking mode
    (:func:`radgrpo.thinking.thinking_mode`), the adapter's name, the backend and the decoding options; the
    sampling options are left out of greedy runs (they change nothing there).

    Example:
        >>> generation_settings()
        {'thinking': 'off', 'adapter': 'radgrpo', 'backend': 'hf', 'do_sample': False}
        >>> generation_settings(do_sample=True, temperature=0.7, seed=3)["temperature"]
        0.7
    """
    out: dict[str, Any] = {
        "thinking": thinking_mode(thinking),
        "adapter": adapter,
        "backend": backend,
        "do_sample": bool(do_sample),
    }
    if do_sample:
        out.update(
            temperature=float(temperature), top_p=float(top_p), top_k=int(top_k), seed=int(seed), regenerate=regenerate
        )
    return out


def recorded_settings(prediction: Prediction) -> dict[str, Any]:
    """The generation settings a prediction was made with: its ``generation``, or for lines written before it was
    recorded :data:`LEGACY_GENERATION` with the thinking mode its ``thinking`` flag implies.

    Example:
        >>> recorded_settings(Prediction("a", "report_generation", "q", "c", "c", 1, True, thinking=True))
        {'thinking': 'suffix', 'adapter': 'radgrpo', 'backend': 'hf', 'do_sample': False}
    """
    if prediction.generation:
        return dict(prediction.generation)
    return {"thinking": "suffix" if prediction.thinking else "off", **LEGACY_GENERATION}


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


def load_image(path: str | os.PathLike) -> Any:
    """An image file as an RGB PIL image: PNG/JPEG/... through PIL, ``.dcm``/``.dicom`` through
    :func:`radgrpo.data.dicom.read_dicom_array` (display windowing, MONOCHROME1 inverted).

    Raises:
        FileNotFoundError: no such file.
        ValueError: PIL cannot read it (:class:`radgrpo.data.dicom.DicomError`, a ``ValueError``, for DICOMs).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    if path.suffix.lower() in DICOM_SUFFIXES:
        from radgrpo.data.dicom import read_dicom_array

        arr, _ = read_dicom_array(path)
        return Image.fromarray(arr, mode="L").convert("RGB")
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e} (expected a PNG/JPEG or a .dcm DICOM file)") from e


def _load_image(record: Record, base_dir: str | os.PathLike | None) -> Any:
    path = record.image_path(base_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"record {record.id!r}: image not found at {path} (relative paths resolve against base_dir={base_dir!s})"
        )
    return load_image(path)


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


def chat_text(
    processor: Any,
    adapter: Any,
    record: Record,
    thinking: bool | str = False,
    image_path: str | os.PathLike | None = None,
) -> str:
    """The model's input text for a record: the adapter's messages through the processor's chat template (with the
    adapter's template arguments), generation prompt added, not tokenised (the adapter's ``render``). Both backends
    send this text.

    Args:
        processor: the HF processor (its chat template).
        adapter: a :class:`radgrpo.models.adapters.ModelAdapter`.
        record: the test record.
        thinking: the thinking mode (:func:`radgrpo.thinking.thinking_mode`: ``off``/``suffix``/``native``, or a
            bool): ``suffix`` asks the adapter for its thinking prompt (``" /think"`` for radgrpo models).
        image_path: the record's image file, for families that name the image in the text (CheXagent-2).
    """
    suffix = uses_suffix(thinking_mode(thinking))
    render = getattr(adapter, "render", None)
    if callable(render):
        return render(processor, record, suffix, image_path=image_path)
    return processor.apply_chat_template(
        adapter.messages(record, suffix),
        tokenize=False,
        add_generation_prompt=True,
        **adapter.template_kwargs(suffix or adapter.thinking == "native"),
    )


def input_sizes(inputs: Mapping[str, Any], processor: Any, n: int) -> list[tuple[int, int] | None]:
    """``(width, height)`` in pixels of each image after the processor resized it, one per prompt: for Qwen-VL
    processors ``image_grid_thw`` (t, h, w in patches) times the image processor's ``patch_size``; None when the
    processor does not say (or the batch does not hold one image per prompt).

    Example:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> proc = SimpleNamespace(image_processor=SimpleNamespace(patch_size=16))
        >>> input_sizes({"image_grid_thw": torch.tensor([[1, 16, 18]])}, proc, 1)
        [(288, 256)]
    """
    grid = inputs.get("image_grid_thw") if hasattr(inputs, "get") else None
    patch = getattr(getattr(processor, "image_processor", None), "patch_size", None)
    if grid is None or not isinstance(patch, int):
        return [None] * n
    rows = grid.tolist()
    if len(rows) != n:
        return [None] * n
    return [(int(w) * patch, int(h) * patch) for _, h, w in rows]


class GenOutput(NamedTuple):
    """One decoded generation: text (special tokens removed), generated tokens (stop token included), whether it
    stopped on an end-of-sequence token, and the model input's image size ``(w, h)`` (None when unknown)."""

    text: str
    n_tokens: int
    finished: bool
    input_size: tuple[int, int] | None


class SeededSampler:
    """A transformers logits processor that samples every batch row from its own seeded ``torch.Generator``.

    The scores are warped like transformers' own sampling (temperature, then top-k, then top-p, with its
    ``TemperatureLogitsWarper``/``TopKLogitsWarper``/``TopPLogitsWarper``), one token is drawn per row with the row's
    generator, and every other token's score is set to ``-inf``; ``generate`` then runs greedily (``do_sample=False``)
    and takes the drawn token. Row ``i``'s draws depend only on ``seeds[i]`` and its own scores, not on the other rows
    of the batch. The generators live on the scores' device (created on the first step).

    Args:
        seeds: one seed per batch row (:func:`sample_seed`).
        temperature: > 0.
        top_k: keep the ``top_k`` most likely tokens (0: off).
        top_p: keep the smallest set of tokens with this probability mass (1.0: off).
    """

    def __init__(self, seeds: Sequence[int], temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> None:
        from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        self.seeds = [int(s) for s in seeds]
        self.warpers: list[Any] = []
        if temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(float(temperature)))
        if top_k:
            self.warpers.append(TopKLogitsWarper(top_k=int(top_k)))
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p=float(top_p)))
        self.generators: list[Any] | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if scores.shape[0] != len(self.seeds):
            raise ValueError(f"SeededSampler has {len(self.seeds)} seeds for a batch of {scores.shape[0]} rows")
        if self.generators is None:
            self.generators = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        for warp in self.warpers:
            scores = warp(input_ids, scores)
        probs = torch.softmax(scores.float(), dim=-1)
        picks = torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)])
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, picks[:, None], 0.0)
        return out


@dataclass
class SamplingOptions:
    """The evaluation's decoding options (see :func:`generate_predictions`)."""

    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0


class HFBackend:
    """Batched transformers ``generate`` with left padding; sampling through :class:`SeededSampler`. The adapter's
    generation defaults are passed on (the evaluation's options win); families whose tokenizer reads the image path
    from the text (``images_in_text``) get no images; ``skip_special_tokens`` follows the adapter."""

    name = "hf"

    def __init__(self, model: Any, processor: Any, adapter: Any) -> None:
        self.model = model
        self.processor = processor
        self.tok = getattr(processor, "tokenizer", processor)
        self.eos = _eos_ids(model, processor)
        self.extra = dict(adapter.generation)
        self.images_in_text = bool(getattr(adapter, "images_in_text", False))
        self.skip_special = bool(getattr(adapter, "skip_special_tokens", True))

    def generate(
        self,
        texts: Sequence[str],
        images: Sequence[Any],
        limit: int,
        seeds: Sequence[int] | None,
        opts: SamplingOptions,
    ) -> list[GenOutput]:
        import torch

        if self.images_in_text:
            inputs = self.processor(text=list(texts), return_tensors="pt", padding=True)
        else:
            inputs = self.processor(text=list(texts), images=list(images), return_tensors="pt", padding=True)
        sizes = input_sizes(inputs, self.processor, len(texts))
        device = getattr(self.model, "device", None)
        if device is not None:
            inputs = inputs.to(device)
        pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else min(self.eos)
        kwargs: dict[str, Any] = {
            **self.extra,  # the adapter's generation defaults; the evaluation's options below win
            "max_new_tokens": limit,
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
            "pad_token_id": pad_id,
            "eos_token_id": sorted(self.eos),
        }
        if opts.do_sample:
            from transformers import LogitsProcessorList

            assert seeds is not None
            sampler = SeededSampler(seeds, opts.temperature, opts.top_k, opts.top_p)
            kwargs["logits_processor"] = LogitsProcessorList([*self.extra.get("logits_processor", []), sampler])
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        gen = out[:, inputs["input_ids"].shape[1] :].tolist()
        results = []
        for row, size in zip(gen, sizes):
            stop = next((i for i, t in enumerate(row) if t in self.eos), None)
            n = len(row) if stop is None else stop + 1
            kept = row[:n] if self.skip_special else row[: n - (stop is not None)]  # the stop token never shows
            text = self.tok.decode(kept, skip_special_tokens=self.skip_special)
            results.append(GenOutput(text, n, stop is not None, size))
        return results


class VLLMBackend:
    """Offline vLLM generation (:class:`radgrpo.eval.vllm_engine.VLLMEngine`), one request per record with its
    own seed."""

    name = "vllm"

    def __init__(self, engine: Any, processor: Any, adapter: Any) -> None:
        if getattr(adapter, "images_in_text", False):
            raise ValueError(
                f"model adapter {adapter.name!r}: its tokenizer reads the image itself, which vLLM cannot do; "
                "use --backend hf"
            )
        self.engine = engine
        self.processor = processor
        self.adapter = adapter
        self.extra = dict(adapter.generation)
        self.skip_special = bool(getattr(adapter, "skip_special_tokens", True))
        tok = getattr(processor, "tokenizer", processor)
        self.stop_ids = [int(tok.eos_token_id)] if getattr(tok, "eos_token_id", None) is not None else []

    def _input_size(self, image: Any) -> tuple[int, int] | None:
        if self.adapter.box_frame != "pixels_input":  # only Qwen2.5-VL-style answers need it: skip the work
            return None
        inputs = self.processor.image_processor(images=[image], return_tensors="pt")
        return input_sizes(inputs, self.processor, 1)[0]

    def generate(
        self,
        texts: Sequence[str],
        images: Sequence[Any],
        limit: int,
        seeds: Sequence[int] | None,
        opts: SamplingOptions,
    ) -> list[GenOutput]:
        from radgrpo.eval.vllm_engine import build_requests, sampling_params_kwargs

        params = [
            sampling_params_kwargs(
                max_new_tokens=limit,
                do_sample=opts.do_sample,
                temperature=opts.temperature,
                top_p=opts.top_p,
                top_k=opts.top_k,
                seed=seeds[i] if seeds is not None else None,
                stop_token_ids=self.stop_ids,
                skip_special_tokens=self.skip_special,
                extra=self.extra,
            )
            for i in range(len(texts))
        ]
        outs = self.engine.generate(build_requests(texts, images), params)
        return [GenOutput(t, n, f, self._input_size(im)) for (t, n, f), im in zip(outs, images)]


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
    settings: dict[str, Any] | None = None,
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
        had = recorded_settings(p)
        if settings is not None and had != settings:
            raise ValueError(
                f"{out_path}: prediction {r.id!r} was generated with {had}; this run asks for {settings}. "
                "Use another output folder or delete the file to start over."
            )


def _engine(model: Any, tensor_parallel_size: int, gpu_memory_utilization: float, seed: int, options: Any) -> Any:
    """The vLLM engine for ``model``: a model path (a string / path, or an HF model's ``name_or_path``) is loaded into
    a :class:`~radgrpo.eval.vllm_engine.VLLMEngine`; any other object is taken as an engine already built (anything
    with ``generate(requests, params) -> [(text, n_tokens, finished)]``)."""
    from radgrpo.eval.vllm_engine import VLLMEngine

    if isinstance(model, (str, os.PathLike)):
        path = str(model)
    elif hasattr(model, "config"):  # an HF model: vLLM loads the same weights from its folder / hub id
        path = str(getattr(model, "name_or_path", "") or getattr(model.config, "_name_or_path", ""))
    else:
        return model
    if not path:
        raise ValueError("--backend vllm needs the model's hub id or folder (pass it as the model)")
    return VLLMEngine(
        path,
        tensor_parallel_size=tensor_parallel_size,
        gpu_memory_utilization=gpu_memory_utilization,
        seed=seed,
        **dict(options or {}),
    )


def generate_predictions(
    model: Any,
    processor: Any,
    records: Sequence[Record],
    base_dir: str | os.PathLike | None = None,
    *,
    batch_size: int = 16,
    max_new_tokens: int | dict[str, int] | None = None,
    thinking: bool | str = False,
    out_path: str | os.PathLike | None = None,
    progress: bool = True,
    meta: dict[str, Any] | None = None,
    adapter: Any = None,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    seed: int = 0,
    regenerate: int = 0,
    backend: str = "hf",
    tensor_parallel_size: int = 1,
    gpu_memory_utilization: float = 0.9,
    vllm_options: Mapping[str, Any] | None = None,
) -> list[Prediction]:
    """Batched generation for test records, written incrementally to ``predictions.jsonl`` and resumable.

    Records are grouped by task (each task has its own length limit) and batched in their original order. When
    ``out_path`` exists, predictions already there are kept and their ids skipped (a malformed trailing line from an
    interrupted run is dropped and counted in a warning); each finished batch is appended and flushed at once.
    Resuming with another ``thinking`` mode, token limit, adapter, backend or sampling setting raises instead of
    mixing the two (lines of older versions count as greedy ``hf`` decoding with the ``radgrpo`` adapter).

    Args:
        model: a ``Qwen3VLForConditionalGeneration`` (or any HF image-text-to-text model with ``generate``); for
            ``backend="vllm"`` a hub id or folder (or an HF model, whose ``name_or_path`` is used, or a built
            :class:`~radgrpo.eval.vllm_engine.VLLMEngine`).
        processor: its processor (chat template with the image placeholder); padding is forced to the left.
        records: test records (``Record.image`` is resolved against ``base_dir``; ``.dcm`` images are read as DICOM).
        base_dir: folder that relative image paths are relative to (the records JSONL's folder).
        batch_size: prompts per ``generate`` call (and per append to ``out_path``); with vLLM, which batches
            continuously inside a call, use hundreds.
        max_new_tokens: one limit for all tasks, a ``{task: limit}`` dict (missing tasks use defaults), or None
            for :data:`DEFAULT_MAX_NEW_TOKENS` (4096 in thinking mode).
        thinking: the thinking mode (:func:`radgrpo.thinking.thinking_mode`): ``"suffix"`` (or True) asks for
            thinking the adapter's way (``" /think"`` for radgrpo models), ``"native"`` sends no suffix (the model's
            own template thinks); both score the text after the last ``</think>`` and keep the text before it as
            ``Prediction.thought``. An adapter of a native thinking family (``thinking="native"``) always thinks.
        out_path: the ``predictions.jsonl`` to write and resume from (None: keep in memory only).
        progress: show a tqdm progress bar.
        meta: extra fields stored in every new prediction's ``meta`` (e.g. ``{"model": "..."}``).
        adapter: a :class:`radgrpo.models.adapters.ModelAdapter` (prompt, chat template arguments, generation
            defaults, answer parser) or its registered name; None: ``radgrpo``.
        do_sample: sample instead of greedy decoding, reproducibly per record (module docstring).
        temperature: sampling temperature (> 0; with ``do_sample``).
        top_p: nucleus mass in (0, 1] (1: off; with ``do_sample``).
        top_k: top-k (0: off; with ``do_sample``).
        seed: the sampling seed (each record's stream is :func:`sample_seed` of it).
        regenerate: sample a thinking output without an answer again up to this many times (paper: 64); needs
            ``do_sample``; a non-thinking run has nothing to regenerate.
        backend: ``"hf"`` or ``"vllm"`` (needs ``pip install vllm``).
        tensor_parallel_size: vLLM tensor parallelism.
        gpu_memory_utilization: vLLM's share of GPU memory.
        vllm_options: more ``vllm.LLM`` keyword arguments (``max_model_len``, ``mm_processor_kwargs`` ...).
    Returns:
        one :class:`Prediction` per record, in the order of ``records``.

    Example:
        >>> preds = generate_predictions(model, processor, records, "data/test", out_path="out/predictions.jsonl")
        ... # doctest: +SKIP
    """
    from radgrpo.models.adapters import ModelAdapter, get_adapter

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if temperature <= 0 or not 0 < top_p <= 1 or top_k < 0:
        raise ValueError(
            f"sampling needs temperature > 0, 0 < top_p <= 1, top_k >= 0 (got {temperature}, {top_p}, {top_k})"
        )
    if regenerate < 0:
        raise ValueError(f"regenerate must be >= 0, got {regenerate}")
    if regenerate and not do_sample:
        raise ValueError(
            f"regenerate={regenerate} needs do_sample=True: greedy decoding would produce the same output again "
            "(set --do_sample, e.g. with --temperature 1.0 as the paper did for thinking models, or --regenerate 0)"
        )
    if backend == "vllm" and (isinstance(model, (str, os.PathLike)) or hasattr(model, "config")):
        from radgrpo.eval.vllm_engine import require_vllm

        require_vllm()  # before reading anything: a one-line error naming `pip install vllm`
    ad = get_adapter(adapter) if isinstance(adapter, str) else (adapter or get_adapter("radgrpo"))
    if not isinstance(ad, ModelAdapter):
        raise TypeError(f"adapter must be a ModelAdapter or a registered name, got {type(adapter).__name__}")
    mode = thinking_mode(thinking)
    thinks = is_thinking(mode) or ad.thinking == "native"  # outputs that carry a thought (and may be regenerated)
    check = getattr(ad, "check", None)
    if callable(check):  # tasks without a prompt, thinking asked of a family that cannot: one message, now
        check(tasks=sorted({r.task.value for r in records}), thinking=is_thinking(mode), trust_remote_code=True)
    if regenerate and not thinks:
        logger.warning("regenerate=%d has no effect: this run's outputs are not thinking outputs", regenerate)
    settings = generation_settings(
        thinking=mode,
        adapter=ad.name,
        backend=backend,
        do_sample=do_sample,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        seed=seed,
        regenerate=regenerate,
    )
    opts = SamplingOptions(do_sample, temperature, top_p, top_k, seed)
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
    _check_resumable(done, records, max_new_tokens, thinks, out_path, settings)
    todo = [r for r in records if r.id not in done]

    by_task: dict[str, list[Record]] = {}
    for r in todo:
        by_task.setdefault(r.task.value, []).append(r)
    batches = [(task, rs[i : i + batch_size]) for task, rs in by_task.items() for i in range(0, len(rs), batch_size)]

    engine: HFBackend | VLLMBackend | None = None
    if batches:
        if backend == "hf":
            engine = HFBackend(model, processor, ad)
        else:
            vllm = _engine(model, tensor_parallel_size, gpu_memory_utilization, seed, vllm_options)
            engine = VLLMBackend(vllm, processor, ad)
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
            assert engine is not None
            limit = _limit(task, max_new_tokens, thinks)
            new = _generate_with_regeneration(
                engine, processor, ad, batch, base_dir, limit, mode, thinks, opts, regenerate
            )
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


def _generate_with_regeneration(
    engine: Any,
    processor: Any,
    adapter: Any,
    batch: Sequence[Record],
    base_dir: str | os.PathLike | None,
    limit: int,
    mode: str,
    thinks: bool,
    opts: SamplingOptions,
    regenerate: int,
) -> dict[str, Prediction]:
    """One batch, then its thinking outputs without an answer again (batched), up to ``regenerate`` times."""
    originals = {r.id: _load_image(r, base_dir) for r in batch}
    prepare = getattr(adapter, "prepare_image", None)
    images = {i: prepare(im) if callable(prepare) else im for i, im in originals.items()}
    texts = {r.id: chat_text(processor, adapter, r, mode, image_path=r.image_path(base_dir)) for r in batch}
    seconds = {r.id: 0.0 for r in batch}
    tokens = {r.id: 0 for r in batch}
    out: dict[str, Prediction] = {}
    pending = list(batch)
    attempt = 0
    while pending:
        t0 = time.perf_counter()
        seeds = [sample_seed(opts.seed, r.id, attempt) for r in pending] if opts.do_sample else None
        gens = engine.generate([texts[r.id] for r in pending], [images[r.id] for r in pending], limit, seeds, opts)
        per = (time.perf_counter() - t0) / len(pending)
        retry = []
        for r, g in zip(pending, gens):
            answer, closed = adapter.parse(
                g.text, r, thinking=thinks, image_size=originals[r.id].size, input_size=g.input_size
            )
            seconds[r.id] += per
            tokens[r.id] += g.n_tokens
            p = Prediction(
                id=r.id,
                task=r.task.value,
                prompt=adapter.prompt(r, uses_suffix(mode)),
                completion=g.text,
                answer=answer[:MAX_ANSWER_CHARS],
                n_tokens=g.n_tokens,
                finished=g.finished,
                thinking=thinks,
                think_closed=closed,
                seconds=round(seconds[r.id], 6),
                thought=split_thought(g.text) if thinks else "",
                thought_tokens=_n_tokens(processor, split_thought(g.text)) if thinks else 0,
                n_regenerations=attempt,
                total_tokens=tokens[r.id],
            )
            out[r.id] = p
            if thinks and attempt < regenerate and needs_regeneration(p):
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
