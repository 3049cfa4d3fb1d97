"""How predictions are generated, as one frozen :class:`GenerationSpec`, and what a prediction records of it.

:class:`SamplingOptions` holds the decoding options (greedy unless ``do_sample``; ``temperature``, ``top_p``,
``top_k``, ``min_p``). Its fields carry their help texts: ``radgrpo eval`` and ``radgrpo predict`` take them as flags and
YAML keys by inheriting the class (:class:`radgrpo.eval.config.EvalConfig`, :class:`radgrpo.eval.predict.PredictConfig`),
so a new sampling option is a field here and a line in each backend (:mod:`radgrpo.eval.backends`), nothing else.

:class:`GenerationSpec` is everything :func:`radgrpo.eval.generate.generate_predictions` needs besides the model and
the records: the thinking mode, the model adapter, the backend, the sampling options and seed, regeneration, the
new-token limits, the batch size and the vLLM engine's settings. ``EvalConfig.generation_spec()`` builds it once;
every check of these settings is made here, when it is built. :meth:`GenerationSpec.recorded` is what each
``Prediction.generation`` stores and what a resumed run is compared with; lines written before it was recorded read as
:data:`LEGACY_GENERATION` (:func:`recorded_settings`).

Sampling is reproducible per record: every record draws from its own random stream, seeded by :func:`sample_seed` from
``(seed, record id, attempt)`` (a stable digest, not Python's ``hash``).

Example:
    >>> spec = GenerationSpec.build(max_new_tokens=64, do_sample=True, temperature=0.7, seed=3)
    >>> spec.sampling.temperature, spec.limit("report_generation", thinking=False)
    (0.7, 64)
    >>> GenerationSpec().recorded()
    {'thinking': 'off', 'adapter': 'radgrpo', 'backend': 'hf', 'do_sample': False}
    >>> GenerationSpec.build(regenerate=2)
    Traceback (most recent call last):
    ...
    ValueError: --regenerate needs --do_sample (greedy decoding gives the same output again)
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from radgrpo.records import Prediction, Task
from radgrpo.thinking import thinking_mode

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "DEFAULT_MAX_NEW_TOKENS_THINKING",
    "LEGACY_GENERATION",
    "RECORDED_IF_SET",
    "GenerationSpec",
    "SamplingOptions",
    "default_max_new_tokens",
    "recorded_settings",
    "sample_seed",
]

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
#: The generation settings of predictions written before they were recorded (greedy transformers decoding with
#: radgrpo's prompts): what an old ``predictions.jsonl`` line's ``generation`` falls back to, with ``"thinking"``
#: ``"suffix"`` when its ``thinking`` is true, else ``"off"`` (:func:`recorded_settings`).
LEGACY_GENERATION: dict[str, Any] = {"adapter": "radgrpo", "backend": "hf", "do_sample": False}
#: Field metadata key of a sampling option that is recorded only when it differs from its default: every option
#: added after ``temperature``/``top_p``/``top_k``, so that run folders written before it existed still resume.
RECORDED_IF_SET = "recorded_if_set"

_CASTS = {"bool": bool, "int": int, "float": float}


@dataclass
class SamplingOptions:
    """The decoding options: greedy unless ``do_sample``; then each record's token is drawn after temperature,
    top-k, top-p and min-p (in that order, as transformers warps scores) from its own seeded stream.

    The fields are flags and YAML keys of ``radgrpo eval`` and ``radgrpo predict`` (their configs inherit this class).

    Example:
        >>> SamplingOptions(do_sample=True, top_k=20).settings()
        {'do_sample': True, 'temperature': 1.0, 'top_p': 1.0, 'top_k': 20}
        >>> SamplingOptions(do_sample=True, min_p=0.05).settings()["min_p"]
        0.05
    """

    do_sample: bool = field(
        default=False, metadata={"help": "sample instead of greedy decoding (paper: thinking models)"}
    )
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature (with --do_sample)"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass (with --do_sample)"})
    top_k: int = field(default=0, metadata={"help": "top-k sampling (0: off; with --do_sample)"})
    min_p: float = field(
        default=0.0,
        metadata={
            "help": "min-p sampling: drop tokens less likely than min_p times the most likely one (0: off; with "
            "--do_sample)",
            RECORDED_IF_SET: True,
        },
    )

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ValueError(
                f"sampling needs --temperature > 0, 0 < --top_p <= 1 and --top_k >= 0 (got {self.temperature}, "
                f"{self.top_p}, {self.top_k})"
            )
        if not 0 <= self.min_p <= 1:
            raise ValueError(f"--min_p must be in [0, 1], got {self.min_p}")

    @classmethod
    def of(cls, config: Any) -> SamplingOptions:
        """The sampling options of a config that inherits them (``EvalConfig``, ``PredictConfig``), as a copy."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})

    def settings(self) -> dict[str, Any]:
        """Every option, in field order, as its type; an option marked :data:`RECORDED_IF_SET` only when it differs
        from its default."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(SamplingOptions):
            value = getattr(self, f.name)
            if f.metadata.get(RECORDED_IF_SET) and value == f.default:
                continue
            out[f.name] = _CASTS[str(f.type)](value)
        return out


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


def default_max_new_tokens(task: str | Task, thinking: bool = False) -> int:
    """The default number of new tokens for a task (see :data:`DEFAULT_MAX_NEW_TOKENS`).

    Example:
        >>> default_max_new_tokens("abnormality_grounding"), default_max_new_tokens("report_generation", True)
        (128, 4096)
    """
    if thinking:
        return DEFAULT_MAX_NEW_TOKENS_THINKING
    return DEFAULT_MAX_NEW_TOKENS[Task(task).value]


def _one_of(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


@dataclass(frozen=True)
class GenerationSpec:
    """The settings of one generation run (:func:`radgrpo.eval.generate.generate_predictions`), checked when built.

    Args:
        thinking: the thinking mode (:func:`radgrpo.thinking.thinking_mode`; a bool is accepted): ``"suffix"`` asks
            for thinking the adapter's way (``" /think"`` for radgrpo models), ``"native"`` sends no suffix (the
            model's own template thinks); both score the text after the last ``</think>`` and keep the text before
            it as ``Prediction.thought``. An adapter of a native thinking family always thinks.
        adapter: a :class:`radgrpo.models.adapters.ModelAdapter` or its registered name (prompt, chat template
            arguments, generation defaults, answer parser); ``"auto"`` must be resolved first
            (:func:`radgrpo.models.adapters.resolve_adapter`).
        backend: a :data:`radgrpo.eval.backends.BACKENDS` name: ``"hf"`` (transformers ``generate``) or ``"vllm"``.
        sampling: the decoding options (a copy is kept).
        seed: the sampling seed (each record's stream is :func:`sample_seed` of it).
        regenerate: sample a thinking output without an answer again up to this many times (paper: 64); needs
            ``do_sample``; a non-thinking run has nothing to regenerate.
        max_new_tokens: one limit for all tasks, a ``{task: limit}`` dict (missing tasks use defaults), or None for
            :data:`DEFAULT_MAX_NEW_TOKENS` (4096 in thinking mode).
        batch_size: prompts per backend call (and per append to ``predictions.jsonl``); vLLM, which batches
            continuously inside a call, wants hundreds.
        tensor_parallel_size: vLLM tensor parallelism.
        gpu_memory_utilization: vLLM's share of GPU memory.
        vllm_options: more ``vllm.LLM`` keyword arguments (``max_model_len``, ``mm_processor_kwargs`` ...).
    """

    thinking: str = "off"
    adapter: Any = "radgrpo"
    backend: str = "hf"
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    seed: int = 0
    regenerate: int = 0
    max_new_tokens: int | dict[str, int] | None = None
    batch_size: int = 16
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    vllm_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from radgrpo.eval.backends import BACKENDS
        from radgrpo.models.adapters import ModelAdapter

        object.__setattr__(self, "thinking", thinking_mode(self.thinking))
        object.__setattr__(self, "sampling", SamplingOptions.of(self.sampling))  # checked again, and owned
        object.__setattr__(self, "vllm_options", dict(self.vllm_options))
        if isinstance(self.max_new_tokens, Mapping):
            object.__setattr__(self, "max_new_tokens", {k: int(v) for k, v in self.max_new_tokens.items()})
        if not isinstance(self.adapter, (str, ModelAdapter)):
            raise TypeError(f"adapter must be a ModelAdapter or a registered name, got {type(self.adapter).__name__}")
        if self.batch_size < 1:
            raise ValueError(f"--batch_size must be >= 1, got {self.batch_size}")
        if self.backend not in BACKENDS:
            raise ValueError(f"--backend must be {_one_of(tuple(BACKENDS))}, got {self.backend!r}")
        if self.regenerate < 0 or self.tensor_parallel_size < 1:
            raise ValueError("--regenerate must be >= 0 and --tensor_parallel_size >= 1")
        if self.regenerate and not self.sampling.do_sample:
            raise ValueError("--regenerate needs --do_sample (greedy decoding gives the same output again)")

    @classmethod
    def build(cls, **settings: Any) -> GenerationSpec:
        """A spec from flat keyword arguments: the :class:`SamplingOptions` fields among them go to ``sampling``.

        Example:
            >>> GenerationSpec.build(do_sample=True, top_k=5, batch_size=4).sampling.top_k
            5
        """
        names = {f.name for f in dataclasses.fields(SamplingOptions)}
        sampling = SamplingOptions(**{k: settings.pop(k) for k in list(settings) if k in names})
        return cls(sampling=sampling, **settings)

    def model_adapter(self) -> Any:
        """The :class:`radgrpo.models.adapters.ModelAdapter` (a name is looked up in the registry)."""
        from radgrpo.models.adapters import get_adapter

        return get_adapter(self.adapter) if isinstance(self.adapter, str) else self.adapter

    def limit(self, task: str, thinking: bool) -> int:
        """The new-token limit of ``task`` (``thinking``: the run's outputs think, so the default is 4096).

        Example:
            >>> GenerationSpec(max_new_tokens={"detection": 9}).limit("detection", False)
            9
            >>> GenerationSpec(max_new_tokens={"detection": 9}).limit("report_generation", True)
            4096
        """
        if isinstance(self.max_new_tokens, int):
            limit = self.max_new_tokens
        elif isinstance(self.max_new_tokens, dict) and task in self.max_new_tokens:
            limit = int(self.max_new_tokens[task])
        else:
            limit = default_max_new_tokens(task, thinking)
        if limit < 1:
            raise ValueError(f"max_new_tokens for task {task!r} must be >= 1, got {limit}")
        return limit

    def recorded(self) -> dict[str, Any]:
        """What ``Prediction.generation`` stores and a resumed run is compared with: the thinking mode, the adapter's
        name, the backend and ``do_sample``; when sampling also the sampling options
        (:meth:`SamplingOptions.settings`), the seed and ``regenerate`` (they change nothing in greedy runs).

        Example:
            >>> GenerationSpec.build(do_sample=True, temperature=0.7, seed=3).recorded()
            ... # doctest: +NORMALIZE_WHITESPACE
            {'thinking': 'off', 'adapter': 'radgrpo', 'backend': 'hf', 'do_sample': True, 'temperature': 0.7,
             'top_p': 1.0, 'top_k': 0, 'seed': 3, 'regenerate': 0}
        """
        sampling = self.sampling.settings()
        out: dict[str, Any] = {
            "thinking": self.thinking,
            "adapter": self.model_adapter().name,
            "backend": self.backend,
            "do_sample": sampling.pop("do_sample"),
        }
        if self.sampling.do_sample:
            out.update(sampling, seed=int(self.seed), regenerate=self.regenerate)
        return out

    def run_settings(self) -> dict[str, Any]:
        """The settings of the run meta's ``generation`` block (``results.json``: ``detail.meta.generation``): the
        backend, the adapter's name, every sampling option, the seed and ``regenerate``.

        Example:
            >>> GenerationSpec().run_settings()  # doctest: +NORMALIZE_WHITESPACE
            {'backend': 'hf', 'adapter': 'radgrpo', 'do_sample': False, 'temperature': 1.0, 'top_p': 1.0, 'top_k': 0,
             'seed': 0, 'regenerate': 0}
        """
        return {
            "backend": self.backend,
            "adapter": self.model_adapter().name,
            **self.sampling.settings(),
            "seed": self.seed,
            "regenerate": self.regenerate,
        }


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
