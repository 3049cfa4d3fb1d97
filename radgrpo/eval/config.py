"""``EvalConfig``: the settings of one evaluation run (YAML keys = fields = ``radgrpo eval`` flags).

:func:`radgrpo.eval.pipeline.evaluate` and :func:`~radgrpo.eval.pipeline.evaluate_predictions` take one; the shipped
presets are ``eval/demo_cpu``, ``eval/paper_report`` and ``eval/paper_grounding`` (``radgrpo configs list``). Which
metrics exist and what they measure: docs/metrics.md; the evaluation protocol: docs/evaluation.md.

Example:
    >>> cfg = EvalConfig(out="runs/eval", metrics=["soft_f1", "bleu4"],
    ...                  max_new_tokens_per_task={"report_generation": 96})
    >>> cfg.generation_limits(), cfg.display_name()
    ({'report_generation': 96}, 'model')
    >>> cfg = EvalConfig(model="runs/sft/", max_new_tokens=64)
    >>> cfg.generation_limits(), cfg.display_name()
    (64, 'sft')
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.config import mapping_flag
from radgrpo.eval.score import DEFAULT_METRICS, check_metrics
from radgrpo.eval.settings import GenerationSpec, SamplingOptions
from radgrpo.metrics.registry import metrics_help
from radgrpo.metrics.text.utility import check_costs
from radgrpo.models.adapters import ADAPTERS
from radgrpo.records import Task
from radgrpo.thinking import thinking_mode

__all__ = ["EvalConfig"]


@dataclass
class EvalConfig(SamplingOptions):
    """Settings of ``radgrpo eval`` (YAML keys = fields = flags).

    The sampling options (``do_sample``, ``temperature`` ...) are inherited from
    :class:`radgrpo.eval.settings.SamplingOptions`; :meth:`generation_spec` gives everything generation needs.
    """

    model: str = field(
        default="", metadata={"help": "model: hub id or local folder (weights + processor); required by `radgrpo eval`"}
    )
    test_file: str = field(
        default="",
        metadata={"help": "test records JSONL; images resolve against its folder; required by `radgrpo eval`"},
    )
    out: str = field(default="eval_out", metadata={"help": "output folder (an existing predictions.jsonl resumes)"})
    batch_size: int = field(default=16, metadata={"help": "generation batch size"})
    max_new_tokens: int = field(default=0, metadata={"help": "new-token limit for every task (0: per-task defaults)"})
    max_new_tokens_per_task: dict[str, int] = field(
        default_factory=dict,
        metadata={"help": "YAML mapping task -> new-token limit; wins over max_new_tokens for the tasks it names"},
    )
    tasks: list[str] = field(default_factory=list, metadata={"help": "only these tasks (default: all in the file)"})
    max_samples: int = field(default=0, metadata={"help": "at most this many records PER TASK (0: all)"})
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS), metadata={"help": metrics_help()})
    thinking: str = field(
        default="off",
        metadata={
            "help": "thinking mode: off, suffix (append ' /think', the paper's RadVLM-Thinking) or native (a "
            "thinking model's own template); both score the text after the last </think> and keep the thought in "
            "predictions.jsonl; a bare --thinking means suffix, true/false are accepted",
            "nargs": "?",
            "const": "suffix",
        },
    )
    seed: int = field(default=0, metadata={"help": "bootstrap seed (paper: 0) and sampling seed"})
    n_resamples: int = field(default=2000, metadata={"help": "bootstrap resamples (paper: 2000)"})
    adapter: str = field(
        default="auto",
        metadata={
            "help": f"model adapter (prompt, chat template, answer parser, box frame): {', '.join(ADAPTERS)}; auto: "
            "chosen from the model's hub id or config (`radgrpo eval --help-adapters`)"
        },
    )
    base_model: str = field(
        default="",
        metadata={"help": "base model of a PEFT adapter folder (default: base_model_name_or_path of its config)"},
    )
    trust_remote_code: bool = field(
        default=False, metadata={"help": "allow the model's own code from the hub (MAIRA-2, CheXagent need it)"}
    )
    backend: str = field(default="hf", metadata={"help": "generation backend: hf (transformers) or vllm (offline)"})
    regenerate: int = field(
        default=0,
        metadata={"help": "regenerate a thinking output with no answer up to N times (paper: 64; needs --do_sample)"},
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM tensor parallelism (--backend vllm)"})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vLLM GPU memory share (--backend vllm)"})
    radgraph_level: str = field(
        default="complete", metadata={"help": "RadGraph-F1 level: simple, partial or complete (paper: complete)"}
    )
    utility_side: bool = field(
        default=True,
        metadata={
            "help": "clinical_utility (and clinical_utility_truth): charge a finding named on the wrong side "
            "(false: the side-free variant)"
        },
    )
    utility_costs: dict | str | None = field(
        default_factory=dict,
        metadata={
            "help": "clinical_utility costs laid over the declared ones (docs/metrics.md#clinical-utility): YAML "
            "mapping label -> {miss, false, wrong_side}, e.g. '{Pneumothorax: {miss: 4}}'; the costs used are "
            "written to the results' manifest"
        },
    )
    dtype: str = field(default="", metadata={"help": "model dtype, e.g. bfloat16 (default: the loader's choice)"})
    device: str = field(default="", metadata={"help": "device, e.g. cuda or cpu (default: the loader's choice)"})
    min_pixels: int = field(default=0, metadata={"help": "processor min_pixels (0: as saved with the model)"})
    max_pixels: int = field(default=0, metadata={"help": "processor max_pixels (0: as saved with the model)"})
    run_name: str = field(default="", metadata={"help": "column name in the report (default: the model's name)"})
    title: str = field(default="", metadata={"help": "report title (default: 'radgrpo eval: <run_name>')"})
    notes: str = field(default="", metadata={"help": "a paragraph shown in the report"})
    html: bool = field(default=True, metadata={"help": "write report.html"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})
    green_backend: str = field(
        default="hf",
        metadata={
            "help": "GREEN judge backend: hf (local model, see green_model) or openai (an OpenAI-compatible endpoint)"
        },
    )
    green_model: str = field(
        default="StanfordAIMI/GREEN-radllama2-7b",
        metadata={"help": "GREEN judge: hub id or local folder (hf), or the served model name (openai)"},
    )
    green_base_url: str = field(default="", metadata={"help": "GREEN endpoint, e.g. http://127.0.0.1:8000/v1"})
    green_api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={
            "help": "environment variable holding the endpoint's API key (the key is never written to config.yaml)"
        },
    )
    green_batch_size: int = field(default=8, metadata={"help": "GREEN judge batch size (hf) / concurrency (openai)"})

    def __post_init__(self) -> None:
        super().__post_init__()  # the sampling options
        self.thinking = thinking_mode(self.thinking)
        if self.max_new_tokens < 0 or self.max_samples < 0:
            raise ValueError("--max_new_tokens and --max_samples must be >= 0")
        valid = [t.value for t in Task]
        bad = {k: v for k, v in self.max_new_tokens_per_task.items() if k not in valid or int(v) < 1}
        if bad:
            raise ValueError(f"max_new_tokens_per_task: bad entries {bad} (tasks among {valid}, limits >= 1)")
        if self.n_resamples < 1:
            raise ValueError(f"--n_resamples must be >= 1, got {self.n_resamples}")
        check_metrics(self.metrics)  # unknown names fail here, listing the valid ones
        self.generation_spec()  # batch size, backend, regeneration: checked where the spec is built
        if self.adapter != "auto":
            from radgrpo.models.adapters import get_adapter

            try:
                get_adapter(self.adapter)
            except KeyError as e:
                raise ValueError(f"--adapter: {e.args[0]}") from None
        if self.radgraph_level not in ("simple", "partial", "complete"):
            raise ValueError(f"--radgraph_level must be simple, partial or complete, got {self.radgraph_level!r}")
        self.utility_costs = mapping_flag(self.utility_costs, "utility_costs")
        try:
            check_costs(self.utility_costs)
        except ValueError as e:
            raise ValueError(f"--utility_costs: {e}") from None
        if self.green_backend not in ("hf", "openai"):
            raise ValueError(f"--green_backend must be hf or openai, got {self.green_backend!r}")
        if "green" in self.metrics and self.green_backend == "openai" and not self.green_base_url:
            raise ValueError("--green_backend openai needs --green_base_url (e.g. http://127.0.0.1:8000/v1)")

    def generation_spec(self, adapter: Any = None) -> GenerationSpec:
        """Everything generation needs (:class:`radgrpo.eval.settings.GenerationSpec`), built from this config.

        Args:
            adapter: the model adapter already resolved (a ``ModelAdapter`` or a name); None: ``self.adapter``
                (``"auto"`` must be resolved from the model before generating,
                :func:`radgrpo.models.adapters.resolve_adapter`).

        Example:
            >>> spec = EvalConfig(do_sample=True, temperature=0.6, seed=2, max_new_tokens=64).generation_spec("radgrpo")
            >>> spec.sampling.temperature, spec.seed, spec.limit("detection", thinking=False)
            (0.6, 2, 64)
        """
        vllm_options: dict[str, Any] = {}
        if self.backend == "vllm":
            if self.trust_remote_code:
                vllm_options["trust_remote_code"] = True
            if self.dtype:
                vllm_options["dtype"] = self.dtype
        return GenerationSpec(
            thinking=self.thinking,
            adapter=self.adapter if adapter is None else adapter,
            backend=self.backend,
            sampling=SamplingOptions.of(self),
            seed=self.seed,
            regenerate=self.regenerate,
            max_new_tokens=self.generation_limits(),
            batch_size=self.batch_size,
            tensor_parallel_size=self.tensor_parallel_size,
            gpu_memory_utilization=self.gpu_memory_utilization,
            vllm_options=vllm_options,
        )

    def generation_limits(self) -> int | dict[str, int] | None:
        """New-token limits as :class:`radgrpo.eval.settings.GenerationSpec` takes them.

        ``max_new_tokens_per_task`` entries win; other tasks get ``max_new_tokens`` when it is set, else the
        per-task defaults (:data:`radgrpo.eval.settings.DEFAULT_MAX_NEW_TOKENS`).

        Example:
            >>> limits = EvalConfig(max_new_tokens=50, max_new_tokens_per_task={"detection": 160}).generation_limits()
            >>> limits["detection"], limits["report_generation"]
            (160, 50)
            >>> EvalConfig().generation_limits() is None
            True
        """
        per_task = {k: int(v) for k, v in self.max_new_tokens_per_task.items()}
        if not per_task:
            return self.max_new_tokens or None
        if self.max_new_tokens:
            return {t.value: per_task.get(t.value, self.max_new_tokens) for t in Task}
        return per_task

    def display_name(self) -> str:
        """The run's column name: ``run_name``, else the model folder's name, else ``"model"``."""
        return self.run_name or Path(self.model.rstrip("/")).name or self.model or "model"

    def metric_options(self) -> dict[str, dict[str, Any]]:
        """Keyword arguments of the metrics that take options: GREEN's judge, the RadGraph-F1 level (and both
        models' device), the clinical utility's side rule and its full cost table (the declared costs with
        ``utility_costs`` laid over them; ``clinical_utility_truth`` takes the same).

        Example:
            >>> opts = EvalConfig(model="m", test_file="t.jsonl", radgraph_level="partial",
            ...                   utility_costs={"Pneumothorax": {"miss": 4}}).metric_options()
            >>> opts["green"]["backend"], opts["radgraph"], opts["clinical_utility"]["side"]
            ('hf', {'level': 'partial'}, True)
            >>> opts["clinical_utility"]["costs"]["Pneumothorax"]
            {'miss': 4.0, 'false': 1.0, 'wrong_side': 4.0}
        """
        green: dict[str, Any] = {"backend": self.green_backend, "model": self.green_model}
        radgraph: dict[str, Any] = {"level": self.radgraph_level}
        if self.green_backend == "openai":
            green.update(
                base_url=self.green_base_url,
                api_key=os.environ.get(self.green_api_key_env),
                concurrency=self.green_batch_size,
            )
        else:
            green["batch_size"] = self.green_batch_size
            if self.device:
                green["device"] = self.device
        if self.device:
            radgraph["device"] = self.device
        utility = {
            "side": bool(self.utility_side),
            "costs": {k: asdict(v) for k, v in check_costs(mapping_flag(self.utility_costs, "utility_costs")).items()},
        }
        return {"green": green, "radgraph": radgraph, "clinical_utility": utility}
