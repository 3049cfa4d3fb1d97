"""verl's custom reward function for radgrpo's rewards, on the rows of radgrpo's verl export (docs/training.md#verl).

What it is: the two forms of verl's ``custom_reward_function``, scoring each rollout with the same reward code
``radgrpo grpo`` uses (``radgrpo.rewards.get_reward``):

- :func:`compute_score` ``(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float``, one
  sample per call. verl 0.9 scores every sample through its reward loop and calls this form (``reward.reward_manager.
  name=naive``, the default; ``reward.custom_reward_function.path=pkg://radgrpo.integrations.verl``,
  ``reward.custom_reward_function.name=compute_score``). The loop runs the calls of a batch concurrently in threads;
  the calls of one reward are gathered into batches here (one scoring call at a time per reward and process; the
  calls that arrive meanwhile are scored together next), so a model-backed reward such as ``radcliq`` runs batched.
- :func:`compute_score_batch` ``(data_sources, solution_strs, ground_truths, extra_infos, **kwargs) -> list[float]``,
  for verl's legacy ``BatchRewardManager`` (verl <= 0.6, or 0.7.0 with ``reward_model.use_reward_loop=False``:
  ``reward_model.reward_manager=batch``, ``custom_reward_function.path=...``,
  ``custom_reward_function.name=compute_score_batch``; later versions register no ``batch`` manager in their reward
  loop).

Routing: ``data_source`` (what :mod:`radgrpo.data.export.verl` writes, :func:`~radgrpo.data.export.verl.
parse_verl_data_source`) gives the task: report generation (``mimic_grpo``) -> the report reward, the box tasks
(``radgrpo_<task>``) -> the grounding reward; another data_source is an error. ``ground_truth`` is the row's
``reward_model.ground_truth``, the record's answer: the reference report (column ``reference_report``) or the
grounding answer text whose boxes the reward parses (column ``reference_boxes``). Thinking (score the text after
``</think>``, docs/rewards.md#thinking-format-rule): the ``thinking`` setting when given, else ``extra_info["thinking"]``
(the export writes it: the prompt ended with ``" /think"``), else the ``_reasoning`` suffix of ``data_source``.

Settings: verl's ``reward.custom_reward_function.reward_kwargs`` (keyword arguments of every call; with Hydra:
``+reward.custom_reward_function.reward_kwargs.report_reward=bertscore``), else the environment variables (which the
Ray workers must see), else the defaults:

================  ===================================  ==========================================================
reward_kwargs     environment variable                 meaning (default)
================  ===================================  ==========================================================
report_reward     ``RADGRPO_VERL_REPORT_REWARD``       reward of report rows (``radcliq``)
grounding_reward  ``RADGRPO_VERL_GROUNDING_REWARD``    reward of box rows (``grounding_soft_f1``)
reward_url        ``RADGRPO_REWARD_URL``               reward service URL(s), comma-separated; unset: in process
reward_options    --                                   ``{reward name: {option: value}}``: factory options in
                                                       process (``device``, ``dtype`` ...), ``RemoteReward``
                                                       options with a service (``timeout_s``, ``retries`` ...)
failed_score      ``RADGRPO_VERL_FAILED_SCORE``        score of a sample whose scoring failed; unset: raise
batch_wait_s      ``RADGRPO_VERL_BATCH_WAIT_S``        seconds a scoring call waits for concurrent calls (0.002)
thinking          --                                   force the thinking rule on/off (from the row)
================  ===================================  ==========================================================

In process, each reward is built once per process (models load on its first call); with ``reward_url`` the samples
go to the reward service (``POST {url}/rewards/{name}``, :class:`radgrpo.rewards.remote.RemoteReward`), so the
reward models live on the service's devices instead of in each of verl's reward workers. A failed sample raises
(verl needs a number and radgrpo never invents one) unless ``failed_score`` is set. What it is not: a reward manager
(verl decodes the responses) nor a dict-returning scorer (verl 0.9 builds its extra-info columns from the first
sample's keys, which differ between tasks).

Example:
    >>> s = compute_score("radgrpo_abnormality_grounding", "<think>the apex</think> [0.1, 0.2, 0.3, 0.4]",
    ...                   "The nodule is at [0.1, 0.2, 0.3, 0.4].", {"thinking": True})
    >>> round(s, 6)  # the released soft-F1's 1e-8 terms
    1.0
    >>> batch = compute_score_batch(["radgrpo_phrase_grounding"] * 2, ["[0.1, 0.2, 0.3, 0.4]", "no box"],
    ...                             ["At [0.1, 0.2, 0.3, 0.4]."] * 2, [{"thinking": False}] * 2)
    >>> [round(v, 6) for v in batch]
    [1.0, 0.0]
"""

import json
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from radgrpo.config import ConfigError
from radgrpo.data.export.verl import parse_verl_data_source
from radgrpo.records import Task

# This module is also loaded from its file path (verl's ``custom_reward_function.path=/.../verl.py``) without being
# registered in ``sys.modules``, so it uses plain classes (no dataclasses) and absolute imports only.

DEFAULT_REPORT_REWARD = "radcliq"
DEFAULT_GROUNDING_REWARD = "grounding_soft_f1"
DEFAULT_BATCH_WAIT_S = 0.002
#: reward_kwargs key -> environment variable read when the key is not given
ENV_VARS = {
    "report_reward": "RADGRPO_VERL_REPORT_REWARD",
    "grounding_reward": "RADGRPO_VERL_GROUNDING_REWARD",
    "reward_url": "RADGRPO_REWARD_URL",
    "failed_score": "RADGRPO_VERL_FAILED_SCORE",
    "batch_wait_s": "RADGRPO_VERL_BATCH_WAIT_S",
}
#: every reward_kwargs key :class:`VerlRewardSettings` reads
SETTINGS_KEYS = (*ENV_VARS, "reward_options", "thinking")
#: keyword arguments verl itself adds to the call (with a reward model enabled); accepted and not used
VERL_CALL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})


def plain(value: Any) -> Any:
    """``value`` with mappings and sequences (OmegaConf's ``DictConfig`` / ``ListConfig`` too) as dicts and lists.

    Example:
        >>> plain({"radcliq": {"device": "cuda"}, "x": ("a",)})
        {'radcliq': {'device': 'cuda'}, 'x': ['a']}
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in value]
    return value


def _optional_float(key: str, value: Any, minimum: float | None = None) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(out) or (minimum is not None and out < minimum):
        raise ConfigError(
            f"{key} must be a finite number{f' >= {minimum}' if minimum is not None else ''}, got {value!r}"
        )
    return out


class VerlRewardSettings:
    """The reward choice of one call: reward_kwargs, else environment variables, else defaults (module docstring).

    Args:
        report_reward: reward name for report-generation rows.
        grounding_reward: reward name for box-task rows.
        reward_url: reward service URL(s) (comma-separated); ``None`` scores in process.
        reward_options: ``{reward name: {option: value}}``.
        failed_score: score of a failed sample; ``None`` raises instead.
        batch_wait_s: seconds a scoring call waits for concurrent calls to join its batch (only while other calls
            are in flight).
        thinking: force the thinking rule on/off; ``None`` reads the row.

    Raises:
        ConfigError: an empty reward name, a bad number, or ``reward_options`` that is not a mapping of mappings.

    Example:
        >>> VerlRewardSettings.resolve({"report_reward": "bleu4"}, environ={}).reward_for(Task.REPORT_GENERATION)
        'bleu4'
    """

    def __init__(
        self,
        report_reward: str = DEFAULT_REPORT_REWARD,
        grounding_reward: str = DEFAULT_GROUNDING_REWARD,
        reward_url: str | None = None,
        reward_options: Mapping[str, Mapping[str, Any]] | None = None,
        failed_score: float | None = None,
        batch_wait_s: float = DEFAULT_BATCH_WAIT_S,
        thinking: bool | None = None,
    ) -> None:
        for key, name in (("report_reward", report_reward), ("grounding_reward", grounding_reward)):
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{key} must be a reward name (radgrpo rewards list), got {name!r}")
        options = plain(reward_options or {})
        if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
            raise ConfigError(f"reward_options must map reward names to option mappings, got {reward_options!r}")
        self.report_reward = report_reward.strip()
        self.grounding_reward = grounding_reward.strip()
        self.reward_url = reward_url.strip() if isinstance(reward_url, str) and reward_url.strip() else None
        self.reward_options: dict[str, dict[str, Any]] = options
        self.failed_score = _optional_float("failed_score", failed_score)
        self.batch_wait_s = _optional_float("batch_wait_s", batch_wait_s, minimum=0.0) or 0.0
        self.thinking = None if thinking is None else bool(thinking)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in SETTINGS_KEYS)
        return f"{type(self).__name__}({fields})"

    @classmethod
    def resolve(cls, kwargs: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> "VerlRewardSettings":
        """The settings of one call.

        Args:
            kwargs: the call's extra keyword arguments (verl's ``reward_kwargs`` and what verl adds itself).
            environ: the environment (default ``os.environ``).
        Raises:
            ConfigError: an unknown keyword (the message lists the valid ones) or a bad value.
        """
        env = os.environ if environ is None else environ
        unknown = sorted(set(kwargs) - set(SETTINGS_KEYS) - VERL_CALL_KWARGS)
        if unknown:
            raise ConfigError(
                f"radgrpo's verl reward got unknown reward_kwargs {unknown}; valid: {', '.join(SETTINGS_KEYS)}"
            )
        values: dict[str, Any] = {}
        for key, var in ENV_VARS.items():
            if kwargs.get(key) not in (None, ""):
                values[key] = kwargs[key]
            elif env.get(var):
                values[key] = env[var]
        for key in ("reward_options", "thinking"):
            if kwargs.get(key) is not None:
                values[key] = kwargs[key]
        return cls(**values)

    def reward_for(self, task: Task) -> str:
        """The reward name that scores rows of ``task``.

        Raises:
            ValueError: a task without a reward here (classification, conversation).
        """
        if task is Task.REPORT_GENERATION:
            return self.report_reward
        if task.is_grounding:
            return self.grounding_reward
        raise ValueError(
            f"radgrpo's verl reward scores report generation and the box tasks; task {task.value!r} has no reward "
            f"(leave it out of verl_tasks)"
        )


class Sample:
    """One rollout to score: its text, its columns (``reference_report`` or ``reference_boxes``, ``task``,
    ``thinking``), and after scoring its breakdown or the error that stopped it."""

    __slots__ = ("columns", "data_source", "done", "error", "result", "task", "text")

    def __init__(self, text: str, columns: dict[str, Any], task: Task, data_source: str) -> None:
        self.text = text
        self.columns = columns
        self.task = task
        self.data_source = data_source
        self.done = False
        self.result: Any = None  # a radgrpo.rewards.composite.RewardBreakdown once done
        self.error: BaseException | None = None


def make_sample(
    data_source: Any,
    solution_str: Any,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None,
    thinking: bool | None = None,
) -> Sample:
    """The :class:`Sample` of one verl row and response.

    Args:
        data_source: the row's ``data_source``.
        solution_str: the decoded response.
        ground_truth: ``reward_model.ground_truth`` (the record's answer).
        extra_info: the row's ``extra_info`` (with verl's additions).
        thinking: force the thinking rule; ``None`` reads ``extra_info["thinking"]``, then the data_source.

    Raises:
        ValueError: a data_source radgrpo's export does not write.

    Example:
        >>> s = make_sample("mimic_grpo_reasoning", "<think>x</think> Clear.", "Clear lungs.", {"index": 0})
        >>> s.task.value, s.columns
        ('report_generation', {'task': 'report_generation', 'thinking': True, 'reference_report': 'Clear lungs.'})
    """
    task, reasoning = parse_verl_data_source(str(data_source))
    row_thinking = (extra_info or {}).get("thinking")
    think = thinking if thinking is not None else (bool(row_thinking) if row_thinking is not None else reasoning)
    columns: dict[str, Any] = {"task": task.value, "thinking": bool(think)}
    gt = None if ground_truth is None else str(ground_truth)
    columns["reference_report" if task is Task.REPORT_GENERATION else "reference_boxes"] = gt
    return Sample(str(solution_str), columns, task, str(data_source))


class Scorer:
    """One reward in one process: built on first use, scoring batches of :class:`Sample` one call at a time.

    A call of :meth:`submit` queues its sample; the caller that gets the scoring lock scores everything queued (after
    waiting ``wait_s`` for more when other calls are in flight), the others find their sample done. So concurrent per-sample
    calls (verl 0.9's reward loop threads) are scored in batches, and the reward object is never used by two threads
    at once.

    Args:
        name: the reward name (a registered name, or the service's name with ``url``).
        url: reward service URL(s); ``None`` builds the reward in process.
        options: factory options (in process) or ``RemoteReward`` options (with ``url``).
        wait_s: seconds the scoring caller waits for concurrent calls to queue.

    Attributes:
        n_calls, n_samples, largest_batch: scoring calls so far, samples scored, the largest batch.
    """

    def __init__(self, name: str, url: str | None, options: Mapping[str, Any], wait_s: float = 0.0) -> None:
        self.name = name
        self.url = url
        self.options = dict(options)
        self.wait_s = float(wait_s)
        self.n_calls = 0
        self.n_samples = 0
        self.largest_batch = 0
        self._reward: Any = None
        self._queue: list[Sample] = []
        self._queue_lock = threading.Lock()
        self._score_lock = threading.Lock()
        self._in_flight = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={self.url!r})"

    @property
    def reward(self) -> Any:
        """The reward callable (built on first access: in process, or a ``RemoteReward``)."""
        if self._reward is None:
            if self.url is None:
                from radgrpo.rewards import get_reward

                self._reward = get_reward(self.name, **self.options)
            else:
                try:
                    from radgrpo.rewards.remote import RemoteReward
                except ImportError as e:  # pragma: no cover - a checkout without the client
                    raise RuntimeError(
                        f"reward_url={self.url!r} needs radgrpo.rewards.remote.RemoteReward, which this radgrpo "
                        f"lacks ({e}); unset RADGRPO_REWARD_URL / reward_url to score in process"
                    ) from e
                self._reward = RemoteReward(self.name, self.url, **self.options)
        return self._reward

    def score_now(self, samples: Sequence[Sample]) -> None:
        """Score ``samples`` in one reward call (under the scoring lock); sets each sample's result or error."""
        with self._score_lock:
            self._score(list(samples))

    def _score(self, samples: list[Sample]) -> None:
        if not samples:
            return
        names = sorted({k for s in samples for k in s.columns})
        columns = {k: [s.columns.get(k) for s in samples] for k in names}
        try:
            results = self.reward.breakdowns([s.text for s in samples], **columns)
            if len(results) != len(samples):
                raise RuntimeError(f"reward {self.name!r} returned {len(results)} results for {len(samples)} samples")
        except Exception as e:
            for s in samples:
                s.error, s.done = e, True
        else:
            for s, r in zip(samples, results):
                s.result, s.done = r, True
        self.n_calls += 1
        self.n_samples += len(samples)
        self.largest_batch = max(self.largest_batch, len(samples))

    def submit(self, sample: Sample) -> Sample:
        """Queue ``sample`` and return it scored (scored by this call or by a concurrent one)."""
        with self._queue_lock:
            self._queue.append(sample)
            self._in_flight += 1
        try:
            with self._score_lock:
                if not sample.done:
                    with self._queue_lock:
                        others = self._in_flight > 1
                    if self.wait_s > 0 and others:
                        time.sleep(self.wait_s)  # concurrent calls are arriving: let them join this batch
                    with self._queue_lock:
                        batch, self._queue = self._queue, []
                    self._score(batch)
        finally:
            with self._queue_lock:
                self._in_flight -= 1
        return sample


_SCORERS: dict[tuple[str, str | None, str, float], Scorer] = {}
_SCORERS_LOCK = threading.Lock()


def get_scorer(name: str, settings: VerlRewardSettings) -> Scorer:
    """The process's :class:`Scorer` of reward ``name`` under ``settings`` (one per name, URL and options).

    Example:
        >>> get_scorer("gleu", VerlRewardSettings()) is get_scorer("gleu", VerlRewardSettings())
        True
    """
    options = settings.reward_options.get(name, {})
    key = (name, settings.reward_url, json.dumps(options, sort_keys=True, default=str), settings.batch_wait_s)
    with _SCORERS_LOCK:
        scorer = _SCORERS.get(key)
        if scorer is None:
            scorer = _SCORERS[key] = Scorer(name, settings.reward_url, options, settings.batch_wait_s)
        return scorer


def scorers() -> list[Scorer]:
    """The scorers this process has built (their ``n_calls`` / ``n_samples`` / ``largest_batch`` show the batching)."""
    with _SCORERS_LOCK:
        return list(_SCORERS.values())


def sample_score(sample: Sample, scorer: Scorer, settings: VerlRewardSettings) -> float:
    """The number verl gets for a scored sample.

    Raises:
        the scoring error; RuntimeError for a failed sample without ``failed_score``; ValueError when the reward does
        not apply to the sample's task.
    """
    if sample.error is not None:
        raise sample.error
    b = sample.result
    if b.status == "ok":
        return float(b.total)
    where = f"a {sample.task.value} sample (data_source {sample.data_source!r})"
    if b.status == "skipped":
        raise ValueError(f"reward {scorer.name!r} does not score {where}; choose another report/grounding reward")
    if settings.failed_score is not None:
        return settings.failed_score
    raise RuntimeError(
        f"reward {scorer.name!r} failed on {where}: {b.error}; set reward_kwargs failed_score (or "
        f"{ENV_VARS['failed_score']}) to give failed samples a score instead"
    )


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> float:
    """verl's per-sample custom reward: the radgrpo reward of one response (verl 0.9's reward loop, ``naive``).

    Args:
        data_source: the row's ``data_source`` (``mimic_grpo``, ``radgrpo_<task>``, ``+ _reasoning``).
        solution_str: the decoded response.
        ground_truth: the row's ``reward_model.ground_truth``.
        extra_info: the row's ``extra_info`` (``thinking``; verl adds ``num_turns``, ``rollout_reward_scores``).
        **kwargs: :data:`SETTINGS_KEYS` from verl's ``reward_kwargs``; verl's own :data:`VERL_CALL_KWARGS` are
            accepted and unused.
    Returns:
        the reward (float).
    Raises:
        ConfigError: unknown keyword arguments or bad settings; ValueError: a data_source or task without a reward;
        RuntimeError: the sample's scoring failed and ``failed_score`` is unset.
    """
    settings = VerlRewardSettings.resolve(kwargs)
    sample = make_sample(data_source, solution_str, ground_truth, extra_info, settings.thinking)
    scorer = get_scorer(settings.reward_for(sample.task), settings)
    return sample_score(scorer.submit(sample), scorer, settings)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[float]:
    """verl's batch custom reward (the legacy ``BatchRewardManager``): one reward call per reward for the batch.

    Args:
        data_sources, solution_strs, ground_truths, extra_infos: one value per response, in order (numpy arrays are
            fine); ``extra_infos`` may be ``None``.
        **kwargs: as for :func:`compute_score`.
    Returns:
        one float per response, in order.
    Raises:
        as :func:`compute_score`; ValueError also when the lists differ in length.
    """
    settings = VerlRewardSettings.resolve(kwargs)
    n = len(solution_strs)
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    if not (len(data_sources) == len(ground_truths) == len(infos) == n):
        raise ValueError(
            f"compute_score_batch: {len(data_sources)} data_sources, {n} solution_strs, {len(ground_truths)} "
            f"ground_truths and {len(infos)} extra_infos; expected one of each per response"
        )
    samples = [
        make_sample(ds, sol, gt, info, settings.thinking)
        for ds, sol, gt, info in zip(data_sources, solution_strs, ground_truths, infos)
    ]
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        groups.setdefault(settings.reward_for(s.task), []).append(i)
    out = [0.0] * n
    for name, idx in groups.items():
        scorer = get_scorer(name, settings)
        scorer.score_now([samples[i] for i in idx])
        for i in idx:
            out[i] = sample_score(samples[i], scorer, settings)
    return out
