"""What the report reads from disk: ``radgrpo eval`` output folders and the training runs behind their models.

An eval folder holds ``results.json``, ``scores.jsonl``, ``predictions.jsonl`` and (from ``radgrpo eval``)
``config.yaml``, whose ``test_file`` gives the test records (images resolve against its folder) and whose ``model``
may be a training output folder (``radgrpo sft`` / ``radgrpo grpo``: ``config.yaml`` with the training config,
``log_history.json``, ``README.md`` model card, ``monitors.json`` for GRPO) or a ``checkpoint-N`` folder inside one
(``trainer_state.json``). A GRPO run's rewards come from its ``config.yaml`` (``reward_funcs``, ``reward_weights``,
``reward_kwargs``), else from the reward table of its model card.

Example:
    >>> parse_run_spec("sft=runs/eval_sft"), parse_run_spec("runs/eval_grpo")
    (('sft', PosixPath('runs/eval_sft')), (None, PosixPath('runs/eval_grpo')))
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from radgrpo.config import ConfigError
from radgrpo.eval.generate import Prediction, read_predictions
from radgrpo.eval.score import ScoreRow, read_scores
from radgrpo.eval.summarize import RunResults, read_results
from radgrpo.records import Record, read_jsonl

#: the files an eval output folder must have
EVAL_FILES: tuple[str, ...] = ("results.json", "predictions.jsonl", "scores.jsonl")


@dataclass
class TrainingRun:
    """A training output folder (SFT or GRPO) that an evaluated model came from.

    Args:
        folder: the training output folder.
        method: ``"grpo"``, ``"sft"`` or ``"unknown"``.
        config: its ``config.yaml`` (``{}`` when absent).
        rewards: GRPO rewards ``[{"name", "weight", "options"}]`` (empty for SFT).
        init_model: the model it started from (``model_name_or_path``), if recorded.
        log_history: the trainer's log entries as saved (the final summary entry included; the curves drop it).
        alarms: GRPO reward-hacking alarms (``monitors.json``), None when not recorded.
    """

    folder: Path
    method: str = "unknown"
    config: dict[str, Any] = field(default_factory=dict)
    rewards: list[dict[str, Any]] = field(default_factory=list)
    init_model: str | None = None
    log_history: list[dict[str, Any]] = field(default_factory=list)
    alarms: list[dict[str, Any]] | None = None


@dataclass
class EvalRun:
    """One evaluated run as the report reads it.

    Args:
        name: the column / row name.
        folder: the eval output folder.
        results: its ``results.json`` summary.
        predictions: ``predictions.jsonl`` in file order.
        scores: ``scores.jsonl`` rows.
        config: its ``config.yaml`` (``{}`` when absent, e.g. the demo's folders).
        training: the training run of its model, when the model is a training output folder.
    """

    name: str
    folder: Path
    results: RunResults
    predictions: list[Prediction]
    scores: list[ScoreRow]
    config: dict[str, Any] = field(default_factory=dict)
    training: TrainingRun | None = None


def parse_run_spec(spec: str | os.PathLike) -> tuple[str | None, Path]:
    """``"NAME=FOLDER"`` -> ``(NAME, FOLDER)``; a bare folder -> ``(None, FOLDER)``."""
    text = os.fspath(spec)
    name, sep, rest = text.partition("=")
    if sep and name and rest and "/" not in name and os.sep not in name:
        return name, Path(rest)
    return None, Path(text)


def read_log_history(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """A training folder's log history: ``log_history.json``, else ``trainer_state.json`` (a checkpoint), else the
    newest ``checkpoint-N/trainer_state.json``; ``[]`` when none exists."""
    d = Path(folder)
    if (d / "log_history.json").is_file():
        return list(json.loads((d / "log_history.json").read_text(encoding="utf-8")))
    states = [d / "trainer_state.json"] if (d / "trainer_state.json").is_file() else []
    if not states:
        ckpts = [p for p in d.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
        ckpts.sort(key=lambda p: int(p.name.split("-")[-1]))
        states = [c / "trainer_state.json" for c in reversed(ckpts) if (c / "trainer_state.json").is_file()][:1]
    if states:
        return list(json.loads(states[0].read_text(encoding="utf-8")).get("log_history", []))
    return []


def _front_matter(text: str) -> dict[str, Any]:
    m = re.match(r"---\n(.*?)\n---", text, re.DOTALL)
    if not m:
        return {}
    data = yaml.safe_load(m.group(1))
    return data if isinstance(data, dict) else {}


def rewards_from_config(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"name", "weight", "options"}]`` from a GRPO config's ``reward_funcs`` / ``reward_weights`` /
    ``reward_kwargs`` (weights default to 1.0, TRL's default).

    Example:
        >>> rewards_from_config({"reward_funcs": ["radcliq", "bertscore"], "reward_weights": [1.0, 0.5],
        ...                      "reward_kwargs": {"bertscore": {"batch_size": 8}}})  # doctest: +NORMALIZE_WHITESPACE
        [{'name': 'radcliq', 'weight': 1.0, 'options': {}},
         {'name': 'bertscore', 'weight': 0.5, 'options': {'batch_size': 8}}]
    """
    funcs = cfg.get("reward_funcs") or []
    if isinstance(funcs, str):
        funcs = [funcs]
    weights = cfg.get("reward_weights") or []
    options = cfg.get("reward_kwargs") or {}
    out = []
    for i, name in enumerate(funcs):
        w = weights[i] if i < len(weights) else 1.0
        opts = options.get(name) if isinstance(options, Mapping) else None
        out.append({"name": str(name), "weight": float(w), "options": dict(opts) if isinstance(opts, Mapping) else {}})
    return out


def rewards_from_model_card(text: str) -> list[dict[str, Any]]:
    """The rewards of a radgrpo model card's ``| reward | weight | options |`` table (radgrpo.train.model_card).

    Example:
        >>> card = "## Method\\n\\n| reward | weight | options |\\n|---|---|---|\\n| radcliq | 1.0 | – |\\n" \\
        ...        '| bertscore | 0.5 | {"batch_size": 8} |\\n\\n## Hyperparameters'
        >>> rewards_from_model_card(card)  # doctest: +NORMALIZE_WHITESPACE
        [{'name': 'radcliq', 'weight': 1.0, 'options': {}},
         {'name': 'bertscore', 'weight': 0.5, 'options': {'batch_size': 8}}]
    """
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if re.match(r"\|\s*reward\s*\|\s*weight\s*\|", line))
    except StopIteration:
        return []
    out = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        try:
            weight = float(cells[1])
        except ValueError:
            weight = 1.0
        opts: Any = {}
        if len(cells) > 2 and cells[2] not in ("–", "-", ""):
            try:
                opts = json.loads(cells[2].replace("\\|", "|"))
            except json.JSONDecodeError:
                opts = {"options": cells[2]}
        out.append({"name": cells[0], "weight": weight, "options": opts if isinstance(opts, dict) else {}})
    return out


def _training_meta(folder: Path) -> tuple[dict[str, Any], str, list[str]]:
    """``(config.yaml, README.md text, front-matter tags)`` of a folder (empty when absent)."""
    cfg: dict[str, Any] = {}
    if (folder / "config.yaml").is_file():
        loaded = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
        cfg = loaded if isinstance(loaded, dict) else {}
    card = (folder / "README.md").read_text(encoding="utf-8") if (folder / "README.md").is_file() else ""
    tags = _front_matter(card).get("tags") or []
    return cfg, card, [str(t) for t in tags] if isinstance(tags, list) else []


def _is_training(cfg: Mapping[str, Any], tags: Sequence[str]) -> bool:
    return "reward_funcs" in cfg or "output_dir" in cfg or "radgrpo" in tags


def load_training_run(folder: str | os.PathLike) -> TrainingRun | None:
    """Read a training output folder; None when it is not one (no training config, radgrpo model card or log
    history). A ``checkpoint-N`` folder inside a training run takes the run's config and card and its own log
    history (the steps up to that checkpoint)."""
    d = Path(folder)
    if not d.is_dir():
        return None
    cfg, card, tags = _training_meta(d)
    logs = read_log_history(d)
    if re.fullmatch(r"checkpoint-\d+", d.name) and not _is_training(cfg, tags):
        pcfg, pcard, ptags = _training_meta(d.parent)
        if _is_training(pcfg, ptags):
            d, cfg, card, tags = d.parent, pcfg, pcard, ptags
            logs = logs or read_log_history(d)
    if not _is_training(cfg, tags) and not logs:
        return None
    if "reward_funcs" in cfg:
        method, rewards = "grpo", rewards_from_config(cfg)
    elif "grpo" in tags:
        method, rewards = "grpo", rewards_from_model_card(card)
    elif "sft" in tags or "output_dir" in cfg:
        method, rewards = "sft", []
    else:
        method, rewards = "unknown", []
    alarms = None
    if (d / "monitors.json").is_file():
        alarms = list(json.loads((d / "monitors.json").read_text(encoding="utf-8")).get("alarms", []))
    init = cfg.get("model_name_or_path") or _front_matter(card).get("base_model")
    return TrainingRun(
        folder=d,
        method=method,
        config=cfg,
        rewards=rewards,
        init_model=str(init) if init else None,
        log_history=logs,
        alarms=alarms,
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _resolve(path: str, folder: Path) -> Path:
    """A path from a run's config: as given when it exists (absolute or relative to the current directory), else
    relative to the run folder."""
    p = Path(path)
    return p if p.is_absolute() or p.exists() else folder / p


def model_training(run_dir: str | os.PathLike, config: Mapping[str, Any] | None = None) -> TrainingRun | None:
    """The training run of an eval folder's model (``config.yaml`` ``model``, resolved as given, else against the
    folder), None when the model is not a local training output folder."""
    d = Path(run_dir)
    cfg = _read_yaml(d / "config.yaml") if config is None else config
    model = str(cfg.get("model") or "")
    if not model:
        return None
    mp = _resolve(model, d)
    return load_training_run(mp) if mp.is_dir() else None


def load_eval_run(spec: str | os.PathLike, name: str | None = None) -> EvalRun:
    """Read an eval output folder given as ``FOLDER`` or ``NAME=FOLDER``.

    The name is ``NAME``, else the run name in ``results.json`` (``detail.meta.run_name``), else the folder name.

    Raises:
        ConfigError: the folder or one of :data:`EVAL_FILES` is missing, or ``predictions.jsonl`` has bad lines.
    """
    given, d = parse_run_spec(spec)
    if not d.is_dir():
        raise ConfigError(f"run folder {d} does not exist (expected a `radgrpo eval` output folder)")
    missing = [f for f in EVAL_FILES if not (d / f).is_file()]
    if missing:
        raise ConfigError(f"{d}: missing {', '.join(missing)}; is this a `radgrpo eval` output folder?")
    preds, bad = read_predictions(d / "predictions.jsonl")
    if bad:
        raise ConfigError(f"{d / 'predictions.jsonl'}: {bad} malformed line(s)")
    results = read_results(d / "results.json")
    config = _read_yaml(d / "config.yaml")
    training = model_training(d, config)
    run_name = name or given or str(results.meta.get("run_name") or "") or d.name
    return EvalRun(
        name=run_name,
        folder=d,
        results=results,
        predictions=preds,
        scores=read_scores(d / "scores.jsonl"),
        config=config,
        training=training,
    )


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique by a ``-2``, ``-3`` ... suffix on repeats.

    Example:
        >>> unique_names(["sft", "grpo", "sft"])
        ['sft', 'grpo', 'sft-2']
    """
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out


def read_test_records(runs: Sequence[EvalRun], test_files: Sequence[str | os.PathLike] = ()) -> list[Record]:
    """The test records of the runs, image paths made absolute (each against its test file's folder).

    Reads ``test_files`` when given, else each run's ``config.yaml`` ``test_file`` (duplicates read once); records
    of several files are merged by id (the first file wins).

    Raises:
        ConfigError: no test file is known for a run, or a test file is missing.
    """
    files: list[Path] = [Path(f) for f in test_files]
    if not files:
        for run in runs:
            tf = str(run.config.get("test_file") or "")
            if not tf:
                raise ConfigError(
                    f"run {run.name!r} ({run.folder}): no test_file in its config.yaml; pass --test_file "
                    "with the test records (JSONL) the run was evaluated on"
                )
            files.append(_resolve(tf, run.folder))
    by_id: dict[str, Record] = {}
    for f in dict.fromkeys(files):
        if not f.is_file():
            raise ConfigError(f"test file {f} does not exist; pass --test_file with the test records (JSONL)")
        base = f.resolve().parent
        for r in read_jsonl(f):
            if r.id not in by_id:
                by_id[r.id] = dataclasses.replace(r, image=str(r.image_path(base)))
    return list(by_id.values())


def augment_rows(
    rows: Sequence[Mapping[str, Any]], predictions: Sequence[Prediction], records: Sequence[Record] | None
) -> list[dict[str, Any]]:
    """Copies of score rows with ``source`` (from the records) and ``answer_chars`` (from the predictions) where the
    rows lack them (score rows of older versions).

    Example:
        >>> p = Prediction("a", "report_generation", "q", "c", "No effusion.", 3, True)
        >>> augment_rows([{"id": "a", "task": "report_generation"}], [p], None)
        [{'id': 'a', 'task': 'report_generation', 'answer_chars': 12}]
    """
    answers = {p.id: p.answer for p in predictions}
    sources = {r.id: r.source for r in records or ()}
    out = []
    for row in rows:
        r = dict(row)
        if "source" not in r and r.get("id") in sources:
            r["source"] = sources[r["id"]]
        if "answer_chars" not in r and r.get("id") in answers:
            r["answer_chars"] = len(answers[r["id"]])
        out.append(r)
    return out


def training_rewards(runs: Mapping[str, TrainingRun | None]) -> dict[str, list[dict[str, Any]]]:
    """run name -> rewards, for the runs whose model is a GRPO training run."""
    return {name: list(t.rewards) for name, t in runs.items() if t is not None and t.method == "grpo"}
