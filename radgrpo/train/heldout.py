"""Held-out evaluation during training: greedy generation on a fixed subset, scored by the evaluation package.

:class:`HeldOutEvaluator` is ``radgrpo eval`` in miniature: the records of ``--eval_file`` (the first
``--eval_max_samples`` of each task, in file order: the same subset at every evaluation), the metrics and generation
limits of ``--eval_config`` (an eval YAML or a shipped name such as ``eval/demo_cpu``), greedy decoding by
:func:`radgrpo.eval.generate.generate_predictions`, per-sample scores by :func:`radgrpo.eval.score.score_predictions`
and per-task values by :func:`radgrpo.eval.summarize.summarize`, so a held-out number equals what ``radgrpo eval``
reports for the same records and weights (corpus metrics such as ``rule_finding_f1`` aggregate the same way). No
confidence intervals are computed (one bootstrap resample; the values do not depend on it).

:class:`HeldOutEvalCallback` runs it at the start of training, every ``eval_steps`` optimizer steps (``save_steps``
when ``eval_steps`` is unset; only at start and end when neither is step-based) and at the end. Values are logged
through the trainer as ``eval_<task>/<metric>``, which every ``report_to`` backend (TensorBoard, wandb, trackio) shows
as ``eval/<task>/<metric>`` (transformers rewrites ``eval_`` to ``eval/`` and any other key to ``train/<key>``), and
``log_history.json`` keeps them with the step. The best evaluation by ``--best_metric`` among the steps that have a
checkpoint becomes the trainer's ``best_model_checkpoint``, so ``save_total_limit`` rotation never deletes it; at
the end ``output_dir/heldout.json`` names it::

    {"metric": "abnormality_grounding/map_50", "higher_is_better": true,
     "best": {"step": 80, "value": 0.41, "checkpoint": "out/checkpoint-80"},
     "history": [{"step": 0, "values": {"abnormality_grounding/map_50": 0.12, ...}}, ...], "records": {...}}

Example:
    >>> metric_names(["soft_f1", "ap_50", "bleu4"], "abnormality_grounding")
    ['soft_f1', 'map_50', 'format_valid_rate']
    >>> higher_is_better("report_generation/radcliq"), higher_is_better("report_generation/bleu4")
    (False, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from radgrpo.errors import UserPathError
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import GenerationSpec, Prediction, generate_predictions
from radgrpo.eval.pipeline import select_records
from radgrpo.eval.score import check_metrics, load_metric_functions, score_predictions
from radgrpo.eval.summarize import summarize
from radgrpo.metrics.registry import get_metric, lower_is_better, require_all_models
from radgrpo.records import Record, Task, read_jsonl
from radgrpo.thinking import thinking_mode
from radgrpo.train.callbacks import StatefulCallback

logger = logging.getLogger("radgrpo.train")

#: prefix of the logged keys: ``eval_<task>/<metric>`` in ``log_history``, ``eval/<task>/<metric>`` in the backends
LOG_PREFIX = "eval_"
#: the file the callback writes into ``output_dir`` at the end of training
HELDOUT_FILE = "heldout.json"


def metric_names(metrics: Sequence[str], task: str | Task) -> list[str]:
    """The result names (``results.json`` names) that the metrics ``metrics`` give for records of ``task``.

    Grounding tasks get the grounding metrics (``ap_50`` is reported as ``map_50``) and ``format_valid_rate``;
    ``report_generation`` gets the report and label metrics (``rule_finding_f1`` also gives ``rule_finding_f1_side``
    and one ``rule_finding_f1/<Label>`` per finding present, listed as the pattern); other tasks get none. Order: the
    order of ``metrics``.

    Example:
        >>> metric_names(["bleu4", "rule_finding_f1"], "report_generation")
        ['bleu4', 'rule_finding_f1', 'rule_finding_f1_side', 'rule_finding_f1/<Label>']
        >>> metric_names(["bleu4"], "classification")
        []
    """
    task = Task(task)
    out: list[str] = []
    for name in check_metrics(metrics):
        spec = get_metric(name)
        if task.is_grounding and spec.kind == "grounding":
            out.append(spec.results[0])
        elif task is Task.REPORT_GENERATION and spec.kind in ("report", "label"):
            out.extend(spec.results)
    if task.is_grounding and out:
        out.append("format_valid_rate")
    return out


def higher_is_better(key: str) -> bool:
    """Direction of a held-out key ``<task>/<metric>`` (from the metric table; only ``radcliq`` is lower-is-better).

    Example:
        >>> higher_is_better("abnormality_grounding/map_50")
        True
    """
    _, _, metric = key.partition("/")
    return metric not in lower_is_better()


def _known(name: str, names: Sequence[str]) -> bool:
    return any(name == n or (n.endswith("/<Label>") and name.startswith(n[: -len("<Label>")])) for n in names)


@dataclasses.dataclass
class HeldOutEvaluator:
    """Greedy generation + scoring of fixed held-out records; ``evaluator(model, processor) -> {"<task>/<metric>": v}``.

    Args:
        records: the held-out records (already selected: see :meth:`from_config`).
        base_dir: folder their relative image paths resolve against (the held-out file's folder).
        config: the evaluation settings: ``metrics``, ``batch_size``, generation limits
            (:meth:`EvalConfig.generation_limits`), ``thinking`` and the metrics' options.

    Example:
        >>> ev = HeldOutEvaluator([], ".", EvalConfig(metrics=["bleu4"]))
        >>> ev.score([])
        {}
    """

    records: list[Record]
    base_dir: str | os.PathLike
    config: EvalConfig

    @classmethod
    def from_config(cls, cfg: Any) -> HeldOutEvaluator:
        """The evaluator of a training config (``RadGRPOConfig``): its ``eval_file``, ``eval_config``,
        ``eval_max_samples``, ``thinking`` and ``tasks``.

        The eval config's ``tasks`` (else the training ``tasks``, else all) choose the tasks; tasks no chosen metric
        applies to (classification, conversation) are left out, since generating them would score nothing. The
        training config's ``thinking`` wins over the eval config's (the model is evaluated in the mode it is
        trained in). Everything that would fail later fails here, before training: a missing file, no records, an
        unknown metric, a missing scoring model (all listed at once), and a ``best_metric`` that no evaluation can
        give.

        Raises:
            ValueError: no ``eval_file``, no records left, unknown metrics, or a bad ``best_metric``.
            FileNotFoundError: ``eval_file`` does not exist.
            radgrpo.metrics.loaders.ModelNotFoundError: a report metric's scoring model is not installed.
        """
        from radgrpo.config import parse_config

        if not getattr(cfg, "eval_file", None):
            raise ValueError("the held-out evaluation needs --eval_file (a records JSONL)")
        path = Path(cfg.eval_file)
        if not path.is_file():
            raise UserPathError(f"--eval_file {path} does not exist")
        base = parse_config(EvalConfig, ["--config", cfg.eval_config]) if cfg.eval_config else EvalConfig()
        ec = dataclasses.replace(
            base,
            test_file=str(path),
            max_samples=int(cfg.eval_max_samples),
            thinking=thinking_mode(cfg.thinking),
            progress=False,
            html=False,
            n_resamples=1,
        )
        names = check_metrics(ec.metrics)
        tasks = list(ec.tasks) or list(getattr(cfg, "tasks", None) or [])
        records = select_records(read_jsonl(path), tasks=tasks or None, max_per_task=ec.max_samples)
        scored = [r for r in records if metric_names(names, r.task)]
        if len(scored) < len(records):
            left = sorted({r.task.value for r in records} - {r.task.value for r in scored})
            logger.info("held-out: tasks %s get none of the metrics %s and are not evaluated", left, names)
        if not scored:
            raise ValueError(f"--eval_file {path}: no records of a task the metrics {names} apply to (tasks={tasks})")
        if any(r.task is Task.REPORT_GENERATION for r in scored):
            load_metric_functions(names)  # a report metric without an implementation stops here
            require_all_models(names)  # and so do missing scoring models, all listed at once
        evaluator = cls(scored, path.parent, ec)
        best = getattr(cfg, "best_metric", None)
        if best:
            evaluator.check_key(best, "--best_metric")
        return evaluator

    def tasks(self) -> list[str]:
        """The evaluated tasks in file order."""
        return list(dict.fromkeys(r.task.value for r in self.records))

    def keys(self) -> list[str]:
        """Every key an evaluation can give, ``<task>/<metric>``, tasks in file order, metrics in config order."""
        return [f"{t}/{m}" for t in self.tasks() for m in metric_names(self.config.metrics, t)]

    def order(self, keys: Iterable[str]) -> list[str]:
        """``keys`` in the order of :meth:`keys` (a ``rule_finding_f1/<Label>`` key where its pattern is, by name).

        Example:
            >>> ev = HeldOutEvaluator([Record("r", "x.png", "report_generation", "q", "a")], ".",
            ...                       EvalConfig(metrics=["rougeL", "bleu4"]))
            >>> ev.order(["report_generation/bleu4", "report_generation/rougeL"])
            ['report_generation/rougeL', 'report_generation/bleu4']
        """
        patterns = self.keys()

        def rank(key: str) -> tuple[int, str]:
            task, _, metric = key.partition("/")
            for i, p in enumerate(patterns):
                ptask, _, pmetric = p.partition("/")
                if ptask == task and _known(metric, [pmetric]):
                    return i, key
            return len(patterns), key

        return sorted(keys, key=rank)

    def check_key(self, key: str, what: str = "key") -> None:
        """Raise ``ValueError`` (listing the valid keys) unless an evaluation can give ``key``."""
        task, _, metric = key.partition("/")
        if task in self.tasks() and _known(metric, metric_names(self.config.metrics, task)):
            return
        raise ValueError(f"{what} {key!r} is not a held-out value; valid: {', '.join(self.keys())}")

    def default_key(self, values: dict[str, float]) -> str | None:
        """The first key of :meth:`keys` with a value in ``values`` (the default ``best_metric``)."""
        for task in self.tasks():
            for m in metric_names(self.config.metrics, task):
                hits = [k for k in values if k.startswith(f"{task}/") and _known(k.partition("/")[2], [m])]
                if hits:
                    return hits[0]
        return None

    def generate(self, model: Any, processor: Any) -> list[Prediction]:
        """Greedy predictions for the records; the model's train/eval mode and the tokenizer's padding side (and its
        fast backend's padding and truncation, which a saved ``tokenizer.json`` records) are restored afterwards
        (generation pads on the left), and no random state is consumed."""
        tok = getattr(processor, "tokenizer", processor)
        side, was_training = tok.padding_side, model.training
        backend = getattr(tok, "backend_tokenizer", None)
        padding, truncation = (backend.padding, backend.truncation) if backend is not None else (None, None)
        model.eval()
        try:
            spec = GenerationSpec(
                thinking=self.config.thinking,
                max_new_tokens=self.config.generation_limits(),
                batch_size=self.config.batch_size,
            )
            return generate_predictions(model, processor, self.records, spec, base_dir=self.base_dir, progress=False)
        finally:
            model.train(was_training)
            tok.padding_side = side
            if backend is not None:
                _restore(backend, padding, truncation)

    def score(self, predictions: Sequence[Prediction]) -> dict[str, float]:
        """Per-task values ``{"<task>/<metric>": value}`` of predictions (the ``per_task`` block of
        ``results.json``); metrics without a value (e.g. every GREEN judgement unparseable) are left out."""
        if not predictions:
            return {}
        rows = score_predictions(
            predictions, self.records, self.config.metrics, metric_options=self.config.metric_options()
        )
        run = summarize(rows, n_resamples=1, seed=self.config.seed)
        return {
            f"{task}/{name}": float(res.value)
            for task, block in run.per_task.items()
            for name, res in block.items()
            if not math.isnan(res.value)
        }

    def __call__(self, model: Any, processor: Any) -> dict[str, float]:
        """Generate and score: ``{"<task>/<metric>": value}``."""
        return self.score(self.generate(model, processor))


def _restore(backend: Any, padding: dict[str, Any] | None, truncation: dict[str, Any] | None) -> None:
    """Put a fast tokenizer's backend padding and truncation back as they were (its saved ``tokenizer.json`` records
    the last ones used)."""
    if padding is None:
        backend.no_padding()
    else:
        backend.enable_padding(**padding)
    if truncation is None:
        backend.no_truncation()
    else:
        backend.enable_truncation(**truncation)


def _interval(value: float | None, max_steps: int) -> int | None:
    if value is None or value <= 0:
        return None
    return max(1, math.ceil(max_steps * value)) if value < 1 else int(value)


def _strategy(value: Any) -> str:
    return str(getattr(value, "value", value))


class HeldOutEvalCallback(StatefulCallback):
    """Evaluate on held-out data at start, every ``eval_steps`` and at the end; log, track and name the best.

    Set ``callback.trainer = trainer`` after building the trainer: values are logged with
    ``transformers.Trainer.log`` (reaching ``log_history`` and every callback's ``on_log``, hence ``report_to``), and
    generation goes through TRL's ``unwrap_model_for_generation`` (ZeRO-3 parameters gathered, gradient
    checkpointing off while generating). Without a trainer the values are only appended to ``state.log_history``.

    Every process generates on the same records (ZeRO-3 needs all ranks in each forward pass); the main process
    scores and its values are broadcast, so every rank makes the same best-checkpoint decision; only the main
    process writes ``heldout.json``.

    Best checkpoint: an evaluation counts for the best only when its step gets a checkpoint
    (``output_dir/checkpoint-<step>``) or is the last step (whose model ``output_dir`` itself holds after the run),
    so the best named always exists. It is strictly better by ``best_metric``'s direction (ties keep the earlier
    step); the trainer state's ``best_metric``, ``best_global_step`` and ``best_model_checkpoint`` follow it, which
    makes ``save_total_limit`` keep that checkpoint. When ``eval_steps`` is not a multiple of ``save_steps``, the
    evaluations between checkpoints are logged but cannot become the best (a warning says so at the start).

    Args:
        evaluator: the :class:`HeldOutEvaluator`.
        best_metric: ``<task>/<metric>`` (default: the first value of the first evaluation, in the order of
            :meth:`HeldOutEvaluator.keys`).

    Example:
        >>> cb = HeldOutEvalCallback(HeldOutEvaluator([], ".", EvalConfig(metrics=["bleu4"])))
        >>> cb.load_state_dict({"history": [{"step": 0, "values": {"report_generation/bleu4": 0.1}}]})
        >>> cb.state_dict()["history"][0]["step"], cb.best
        (0, None)
    """

    def __init__(self, evaluator: HeldOutEvaluator, best_metric: str | None = None) -> None:
        self.evaluator = evaluator
        self.metric = best_metric
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.trainer: Any = None
        self.monitor: Any = None  # a radgrpo.train.monitors.RunMonitor: the reward-hacking alarm sees each evaluation
        self._every: int | None = None

    @classmethod
    def from_config(cls, cfg: Any) -> HeldOutEvalCallback:
        """The callback of a training config (:meth:`HeldOutEvaluator.from_config` + ``best_metric``)."""
        return cls(HeldOutEvaluator.from_config(cfg), best_metric=getattr(cfg, "best_metric", None))

    # ---- state (saved with each checkpoint, restored on resume) ----

    def state_dict(self) -> dict:
        return {"metric": self.metric, "history": [dict(e) for e in self.history], "best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.metric = state.get("metric") or self.metric
        self.history = [dict(e) for e in state.get("history", [])]
        self.best = state.get("best")

    def summary(self) -> dict[str, Any]:
        """The content of ``heldout.json``: ``metric``, ``higher_is_better``, ``best``, ``history``, ``records``."""
        counts: dict[str, int] = {}
        for r in self.evaluator.records:
            counts[r.task.value] = counts.get(r.task.value, 0) + 1
        return {
            "metric": self.metric,
            "higher_is_better": higher_is_better(self.metric) if self.metric else None,
            "best": self.best,
            "history": self.history,
            "keys": self.evaluator.order({k for e in self.history for k in e["values"]}),
            "records": counts,
            "eval_file": self.evaluator.config.test_file,
        }

    # ---- evaluation ----

    def _evaluated(self, step: int) -> bool:
        return any(e["step"] == step for e in self.history)

    @contextlib.contextmanager
    def _unwrapped(self, model: Any) -> Iterator[Any]:
        trainer = self.trainer
        if trainer is None or getattr(trainer, "accelerator", None) is None:
            yield model
            return
        from trl.models import unwrap_model_for_generation

        args = trainer.args
        with unwrap_model_for_generation(
            trainer.model_wrapped,
            trainer.accelerator,
            gather_deepspeed3_params=getattr(args, "ds3_gather_for_generation", True),
            gradient_checkpointing_kwargs=getattr(args, "gradient_checkpointing_kwargs", None),
        ) as unwrapped:
            yield unwrapped

    def _run(self, state: Any, model: Any, processor: Any) -> None:
        """Evaluate at ``state.global_step``, record and log the values."""
        step = int(state.global_step)
        if model is None or self._evaluated(step):
            return
        if processor is None and self.trainer is not None:
            processor = self.trainer.processing_class
        with self._unwrapped(model) as m:
            preds = self.evaluator.generate(m, processor)
        acc = getattr(self.trainer, "accelerator", None)
        if acc is not None and acc.num_processes > 1:  # the main process scores, every rank takes its values
            import torch.distributed as dist

            box = [self.evaluator.score(preds) if acc.is_main_process else None]
            dist.broadcast_object_list(box, src=0)
            values = dict(box[0] or {})
        else:
            values = self.evaluator.score(preds)
        if self.metric is None:
            self.metric = self.evaluator.default_key(values)
        self.history.append({"step": step, "values": values})
        logs = {f"{LOG_PREFIX}{k}": v for k, v in values.items()}
        if self.monitor is not None and self.metric is not None:
            self.monitor.metric, self.monitor.higher_is_better = self.metric, higher_is_better(self.metric)
            logs.update(self.monitor.heldout(values, step))
        if self.trainer is not None:
            from transformers import Trainer

            # not GRPOTrainer.log: that flushes (and clears) TRL's metric buffers; and the callback handler's on_log
            # clears control.should_log, which would drop the training log of this very step: keep it
            control = self.trainer.control
            should_log = control.should_log
            Trainer.log(self.trainer, logs)
            control.should_log = should_log
        else:
            state.log_history.append({**logs, "step": step})

    def _consider(self, state: Any, args: Any, step: int, checkpoint: bool) -> None:
        """Make the evaluation of ``step`` the best if it is strictly better (``checkpoint``: its folder exists)."""
        entry = next((e for e in self.history if e["step"] == step), None)
        if entry is None or self.metric is None:
            return
        value = entry["values"].get(self.metric)
        if value is None or math.isnan(value):
            return
        if self.best is not None:
            old, up = self.best["value"], higher_is_better(self.metric)
            if self.best["step"] == step or not (value > old if up else value < old):
                return
        path = os.path.join(args.output_dir, f"checkpoint-{step}") if checkpoint else str(args.output_dir)
        self.best = {"step": step, "value": float(value), "checkpoint": path}
        state.best_metric = float(value)
        if checkpoint:
            state.best_global_step = step
            state.best_model_checkpoint = path

    def on_train_begin(self, args, state, control, **kwargs):
        max_steps = int(getattr(state, "max_steps", 0) or 0)
        steps_based = _strategy(args.save_strategy) == "steps"
        save_every = _interval(args.save_steps, max_steps) if steps_based else None
        self._every = _interval(args.eval_steps, max_steps) or save_every
        if self._every is None:
            logger.warning("held-out: no eval_steps and no step-based saving; evaluating at the start and end only")
        elif save_every is None:
            logger.warning("held-out: no step-based checkpoints; only the final model can become the best")
        elif self._every % save_every:
            logger.warning(
                "held-out: eval_steps %d is not a multiple of save_steps %s; evaluations without a checkpoint are "
                "logged but cannot become the best checkpoint",
                self._every,
                save_every,
            )
        best = self.best  # after a resume: the trainer state follows the restored best
        if best is not None and best["checkpoint"] != str(args.output_dir) and os.path.isdir(best["checkpoint"]):
            state.best_metric = best["value"]
            state.best_global_step = best["step"]
            state.best_model_checkpoint = best["checkpoint"]
        self._run(state, kwargs.get("model"), kwargs.get("processing_class"))

    def on_step_end(self, args, state, control, **kwargs):
        step = int(state.global_step)
        if (self._every and step % self._every == 0) or control.should_training_stop:
            self._run(state, kwargs.get("model"), kwargs.get("processing_class"))
        if control.should_save:  # this step's checkpoint is written right after the callbacks' on_step_end
            self._consider(state, args, step, checkpoint=True)

    def on_save(self, args, state, control, **kwargs):
        self._consider(state, args, int(state.global_step), checkpoint=True)  # saves the flow did not announce
        return super().on_save(args, state, control, **kwargs)

    def on_train_end(self, args, state, control, **kwargs):
        step = int(state.global_step)
        self._run(state, kwargs.get("model"), kwargs.get("processing_class"))
        # the last model: its checkpoint if one was kept, else output_dir (where the run saves the final model)
        ckpt = os.path.isdir(os.path.join(args.output_dir, f"checkpoint-{step}"))
        self._consider(state, args, step, checkpoint=ckpt)
        if state.is_world_process_zero:
            out = Path(args.output_dir)
            out.mkdir(parents=True, exist_ok=True)
            (out / HELDOUT_FILE).write_text(json.dumps(self.summary(), indent=1) + "\n", encoding="utf-8")
