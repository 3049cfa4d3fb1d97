"""Shared plumbing of radgrpo rewards: TRL's reward-function contract, answer extraction, failure accounting.

A reward is a callable ``fn(completions, **columns) -> list[float | None]`` (TRL ``GRPOTrainer`` contract,
docs/rewards.md): completions are strings or conversational ``[{"role": "assistant", "content": ...}]`` lists, and
dataset columns arrive as keyword lists with one value per completion (plus TRL's ``trainer_state``, ``log_metric``
and ``log_extra``). ``None`` means "this reward does not apply to this sample" (e.g. a grounding reward on a report
prompt, so one GRPO batch can mix tasks) or "scoring failed": TRL excludes ``None`` for that sample. A failure is
counted on the reward (``n_failed``) and logged as one warning per batch with the count; it is never turned into
a score silently. What it is not: a metric (the scores come from ``radgrpo.metrics``).

Subclasses of :class:`Reward` implement ``score_one(text, row) -> RewardBreakdown | float``, or override
``score_batch`` to batch a model-backed scorer (a batch that raises is retried sample by sample, so one bad sample
costs only itself). Every report reward subclasses :class:`ReportReward`, which holds the answer extraction, the
reference check and the batch loop, and implements only ``score_pairs(refs, answers)``.

Example:
    >>> completion_text([{"role": "assistant", "content": "[0.1, 0.2, 0.3, 0.4]"}])
    '[0.1, 0.2, 0.3, 0.4]'
    >>> split_thinking("<think>look</think> The heart is enlarged.", which="first")
    ('The heart is enlarged.', True)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from radgrpo.records import Task
from radgrpo.rewards.composite import RewardBreakdown, log_breakdowns
from radgrpo.thinking import split_thinking

logger = logging.getLogger("radgrpo.rewards")

#: kwargs TRL passes that are not dataset columns
TRL_NON_COLUMNS = frozenset({"prompts", "completion_ids", "trainer_state", "log_metric", "log_extra", "environments"})
GROUNDING_TASKS: tuple[str, ...] = tuple(t.value for t in Task if t.is_grounding)
REPORT_TASKS: tuple[str, ...] = (Task.REPORT_GENERATION.value,)


def completion_text(completion: Any) -> str:
    """The assistant text of one TRL completion.

    Args:
        completion: a string, or a conversational list of messages (the assistant messages' ``content`` strings or
            ``{"type": "text", "text": ...}`` parts are concatenated).
    Returns:
        the text.
    Raises:
        TypeError: anything else (the sample then fails and is counted).

    Example:
        >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])
        'ab'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        parts: list[str] = []
        for msg in completion:
            if not isinstance(msg, dict):
                raise TypeError(f"a conversational completion holds dicts, got {type(msg).__name__}")
            if msg.get("role", "assistant") != "assistant":
                continue
            content = msg.get("content", "")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
            elif content is not None:
                raise TypeError(f"message content must be str or a list of parts, got {type(content).__name__}")
        return "".join(parts)
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


def column(kwargs: dict[str, Any], name: str, n: int, default: Any = None, required: bool = False) -> list[Any]:
    """Per-completion values of dataset column ``name``.

    Args:
        kwargs: the reward call's keyword arguments.
        name: column name.
        n: number of completions.
        default: value for every sample when the column is absent.
        required: raise when the column is absent.
    Returns:
        a list of ``n`` values; a non-list value is broadcast to all samples.
    Raises:
        ValueError: a required column is missing, or a list column does not have ``n`` values.

    Example:
        >>> column({"thinking": True}, "thinking", 2), column({}, "task", 2)
        ([True, True], [None, None])
    """
    if name not in kwargs or kwargs[name] is None:
        if required:
            raise ValueError(
                f"this reward needs the dataset column {name!r} (one value per completion); got columns "
                f"{sorted(k for k in kwargs if k not in TRL_NON_COLUMNS)}"
            )
        return [default] * n
    v = kwargs[name]
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise ValueError(f"column {name!r} has {len(v)} values for {n} completions")
        return list(v)
    return [v] * n


def task_name(task: Any) -> str | None:
    """The task column value as a :class:`radgrpo.records.Task` value string (None stays None).

    Raises:
        ValueError: an unknown task name (a data error, not a scoring failure).

    Example:
        >>> task_name("abnormality_grounding"), task_name(Task.REPORT_GENERATION), task_name(None)
        ('abnormality_grounding', 'report_generation', None)
    """
    if task is None:
        return None
    value = str(getattr(task, "value", task))
    try:
        return Task(value).value
    except ValueError:
        raise ValueError(f"unknown task {task!r} in the 'task' column; valid: {[t.value for t in Task]}") from None


class Reward:
    """Base class of radgrpo rewards: TRL signature, task routing, failure accounting, logging.

    Args:
        name: the callable's ``__name__`` (TRL logs ``rewards/<name>/mean``).
        tasks: task values this reward applies to (samples of other tasks get ``None``); ``None`` = all tasks. A
            sample without a ``task`` column value is always scored.

    Attributes:
        n_scored: samples scored so far; n_failed: samples whose scoring raised (returned ``None``).
        last_statuses: ``"ok"``/``"skipped"``/``"failed"`` per sample of the last call (the trainer's failure
            monitor reads them); last_error: the first error of the last call that had one.
    """

    #: dataset columns the reward cannot work without (checked per call, before scoring)
    required_columns: tuple[str, ...] = ()

    def __init__(self, name: str, tasks: Sequence[str] | None = None) -> None:
        self.__name__ = name
        self.tasks = None if tasks is None else tuple(tasks)
        self.n_scored = 0
        self.n_failed = 0
        self.last_statuses: list[str] = []
        self.last_error: str | None = None

    def required_models(self) -> dict[str, str | None]:
        """Scoring-model names (``radgrpo models list``) this reward needs -> an explicit folder given for it, or None.

        A reward with no model returns ``{}``; training resolves all of them before its first step.
        """
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.__name__!r})"

    def applies(self, row: dict[str, Any]) -> bool:
        """Whether the sample ``row`` (column name -> value) is scored by this reward."""
        task = task_name(row.get("task"))
        return self.tasks is None or task is None or task in self.tasks

    def score_one(self, text: str, row: dict[str, Any]) -> RewardBreakdown | float:
        """Score one completion text with its row of columns (subclasses implement this)."""
        raise NotImplementedError

    def score_batch(self, texts: list[str], rows: list[dict[str, Any]]) -> list[RewardBreakdown | float]:
        """Score the applicable samples of a call; override to batch a model (default: ``score_one`` each)."""
        return [self.score_one(t, r) for t, r in zip(texts, rows)]

    def _rows(self, completions: Sequence[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        n = len(completions)
        cols = {k: column(kwargs, k, n) for k in kwargs if k not in TRL_NON_COLUMNS}
        return [{k: v[i] for k, v in cols.items()} for i in range(n)]

    def breakdowns(self, completions: Sequence[Any], **kwargs: Any) -> list[RewardBreakdown]:
        """Per-sample :class:`RewardBreakdown` (no TRL logging; failures counted and warned about).

        Args:
            completions: TRL completions (strings or conversational lists).
            **kwargs: dataset columns, one value per completion.
        Returns:
            one breakdown per completion.
        """
        rows = self._rows(completions, kwargs)
        out: list[RewardBreakdown] = [RewardBreakdown.skipped()] * len(rows)
        idx = [i for i, r in enumerate(rows) if self.applies(r)]
        if idx:  # a column is only required when some sample needs it (a report-only batch needs no boxes)
            for c in self.required_columns:
                column(kwargs, c, len(rows), required=True)
        todo: list[int] = []
        texts: list[str] = []
        for i in idx:
            try:
                texts.append(completion_text(completions[i]))
                todo.append(i)
            except TypeError as e:
                out[i] = RewardBreakdown.failed(f"TypeError: {e}")
        for i, res in zip(todo, self._score_safely(texts, [rows[i] for i in todo])):
            out[i] = res
        failed = [b for b in out if b.status == "failed"]
        self.n_scored += sum(b.ok for b in out)
        self.last_statuses = [b.status for b in out]
        if failed:
            self.last_error = failed[0].error
            self.n_failed += len(failed)
            logger.warning(
                "reward %s: %d of %d samples failed and were excluded (None); %d failures so far; first error: %s",
                self.__name__,
                len(failed),
                len(idx),
                self.n_failed,
                failed[0].error,
            )
        return out

    def _score_safely(self, texts: list[str], rows: list[dict[str, Any]]) -> list[RewardBreakdown]:
        if not texts:
            return []
        try:
            res = self.score_batch(texts, rows)
            if len(res) != len(texts):
                raise RuntimeError(f"score_batch returned {len(res)} results for {len(texts)} samples")
            return [_as_breakdown(r) for r in res]
        except Exception as e:
            if len(texts) == 1:
                return [RewardBreakdown.failed(f"{type(e).__name__}: {e}")]
            return [self._score_single(t, r) for t, r in zip(texts, rows)]

    def _score_single(self, text: str, row: dict[str, Any]) -> RewardBreakdown:
        try:
            res = self.score_batch([text], [row])
            if len(res) != 1:
                raise RuntimeError(f"score_batch returned {len(res)} results for 1 sample")
            return _as_breakdown(res[0])
        except Exception as e:
            return RewardBreakdown.failed(f"{type(e).__name__}: {e}")

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        """TRL contract: one ``float | None`` per completion; sub-scores go to TRL's ``log_metric``/``log_extra``.

        Args:
            completions: TRL completions (strings or conversational lists).
            **kwargs: dataset columns (one value per completion) and TRL's extras.
        Returns:
            rewards; ``None`` for samples the reward does not apply to or failed on.
        """
        bds = self.breakdowns(completions, **kwargs)
        log_breakdowns(self.__name__, bds, kwargs.get("log_metric"), kwargs.get("log_extra"))
        return [b.total for b in bds]


class ReportReward(Reward):
    """Base of every report reward: the answer (``</think>`` rule), the reference check and one scoring call per batch.

    Subclasses implement only :meth:`score_pairs` on the (reference, answer) pairs that have an answer. The answer
    is the stripped completion, or for thinking samples (``thinking`` column true, or ``thinking=True``) the stripped
    text after the LAST ``</think>`` (``rfind``, the paper's report reward client); a thinking sample without the tag
    gets ``missing_think_score`` and logs ``answer_found`` = 0. Samples of non-report tasks get ``None``; a report
    sample with an empty or missing ``reference_report`` fails (``None``, counted and logged).

    Args:
        name: ``__name__`` (TRL logs ``rewards/<name>/mean``).
        thinking: force the thinking rule on/off; ``None`` reads the ``thinking`` column (absent -> off).
        missing_think_score: reward of a thinking sample without ``</think>``; ``None`` scores it as an empty answer
            (for rewards whose 0 is not their worst value, such as ``rule_finding_errors``, where a fixed 0 would
            reward leaving the thinking block open).
        batch_size: pairs per :meth:`score_pairs` call (0: every pair of a reward call at once); bounds a scoring
            model's memory.

    Example:
        >>> class Length(ReportReward):
        ...     def score_pairs(self, refs, answers):
        ...         return [float(len(a)) for a in answers]
        >>> Length("length", thinking=True)(["<think>x</think> abc", "abc"], reference_report=["r", "r"])
        [3.0, 0.0]
    """

    required_columns = ("reference_report",)

    def __init__(
        self, name: str, thinking: bool | None = None, missing_think_score: float | None = 0.0, batch_size: int = 0
    ) -> None:
        super().__init__(name, tasks=REPORT_TASKS)
        if batch_size < 0:
            raise ValueError(f"{name}: batch_size must be >= 0, got {batch_size}")
        self.thinking = thinking
        self.missing_think_score = None if missing_think_score is None else float(missing_think_score)
        self.batch_size = int(batch_size)

    def score_pairs(self, refs: list[str], answers: list[str]) -> Sequence[RewardBreakdown | float]:
        """Rewards of (reference, answer) pairs, one per pair (subclasses implement this)."""
        raise NotImplementedError

    def _answer(self, text: str, row: dict[str, Any]) -> tuple[str | None, dict[str, float]]:
        thinking = bool(row.get("thinking")) if self.thinking is None else self.thinking
        if not thinking:
            return text.strip(), {}
        answer, found = split_thinking(text, which="last")
        if not found and self.missing_think_score is None:
            return "", {"answer_found": 0.0}  # scored as an empty report
        return (answer if found else None), {"answer_found": float(found)}

    @staticmethod
    def _reference(row: dict[str, Any]) -> str:
        ref = row.get("reference_report")
        if not isinstance(ref, str) or not ref.strip():
            raise ValueError(f"report sample without a reference_report (got {ref!r})")
        return ref

    def score_batch(self, texts: list[str], rows: list[dict[str, Any]]) -> list[RewardBreakdown | float]:
        """Score all applicable samples with one :meth:`score_pairs` call.

        Args:
            texts: completion texts.
            rows: their columns (``reference_report``, optional ``thinking``).
        Returns:
            one breakdown per sample; the answer's components (``answer_found``) are added to each.
        Raises:
            ValueError: a report sample without a reference (the batch is retried per sample, so only it fails).
        """
        refs = [self._reference(r) for r in rows]
        answers = [self._answer(t, r) for t, r in zip(texts, rows)]
        missing = 0.0 if self.missing_think_score is None else self.missing_think_score  # None: never used (scored)
        out: list[RewardBreakdown | float] = [RewardBreakdown(missing, comps) for _, comps in answers]
        todo = [i for i, (a, _) in enumerate(answers) if a is not None]
        step = self.batch_size or max(1, len(todo))
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            scored = self.score_pairs([refs[i] for i in chunk], [answers[i][0] or "" for i in chunk])
            if len(scored) != len(chunk):
                raise RuntimeError(f"{self.__name__}: {len(scored)} scores for {len(chunk)} pairs")
            for i, s in zip(chunk, scored):
                if isinstance(s, RewardBreakdown):
                    s.components.update(answers[i][1])
                    out[i] = s
                else:
                    out[i] = RewardBreakdown(float(s), answers[i][1])
        return out


def _as_breakdown(res: RewardBreakdown | float) -> RewardBreakdown:
    return res if isinstance(res, RewardBreakdown) else RewardBreakdown(float(res))
