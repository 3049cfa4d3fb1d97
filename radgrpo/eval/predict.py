"""One answer for one image of the user's own: :func:`predict` (a loaded model) and :func:`run_predict` (the
``radgrpo predict`` command: load, answer, write ``prediction.json`` and the image with the boxes drawn).

The question is radgrpo's own training prompt for the task (:mod:`radgrpo.data.prompts`, the template drawn with a
fixed seed, :data:`QUESTION_SEED`), and the answer goes through the same code as evaluation
(:func:`radgrpo.eval.generate.generate_predictions` on a one-record test set: the model adapter's prompt and parser,
greedy decoding unless ``do_sample``), so ``predict`` answers exactly what ``radgrpo eval`` would for that image and
question. PNG/JPEG images are read with PIL, ``.dcm``/``.dicom`` files through :mod:`radgrpo.data.dicom` (display
windowing, MONOCHROME1 inverted). Boxes are normalised [0, 1] xyxy of the image as given.

Example:
    >>> predict_question("grounding", "Pleural effusion")
    'Describe the location of the pleural effusion on the X-ray.'
    >>> answer_boxes("The nodule is at [0.1, 0.2, 0.4, 1.3].", "grounding")
    [[0.1, 0.2, 0.4, 1.0]]
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.boxes import clip_box, parse_boxes
from radgrpo.config import ConfigError
from radgrpo.data import prompts
from radgrpo.errors import UserPathError, check_path
from radgrpo.eval.settings import GenerationSpec, SamplingOptions
from radgrpo.records import Record, Task
from radgrpo.thinking import thinking_mode

__all__ = [
    "PREDICTION_COLOUR",
    "PREDICT_TASKS",
    "PredictConfig",
    "answer_boxes",
    "draw_prediction",
    "predict",
    "predict_question",
    "run_predict",
    "write_prediction",
]

#: ``--task`` name -> (record task, whether it needs ``--finding``, the question builder of radgrpo.data.prompts).
PREDICT_TASKS: dict[str, tuple[Task, bool, Callable[..., str]]] = {
    "report": (Task.REPORT_GENERATION, False, prompts.report_question),
    "grounding": (Task.ABNORMALITY_GROUNDING, True, prompts.grounding_question),
    "anatomy": (Task.ANATOMICAL_GROUNDING, True, prompts.grounding_question),
    "phrase": (Task.PHRASE_GROUNDING, True, prompts.phrase_question),
    "detection": (Task.DETECTION, False, prompts.detection_question),
    "classification": (Task.CLASSIFICATION, False, prompts.classification_question),
}
#: The seed of the question template draw (one fixed question per task and finding).
QUESTION_SEED = 0
#: Colour of the predicted boxes in ``<stem>_boxes.png`` (the report's first run colour).
PREDICTION_COLOUR = "#e69f00"


def _task(task: str) -> tuple[Task, bool, Callable[..., str]]:
    if task not in PREDICT_TASKS:
        raise ConfigError(f"--task must be one of {', '.join(PREDICT_TASKS)}, got {task!r}")
    return PREDICT_TASKS[task]


def predict_question(task: str, finding: str | None = None) -> str:
    """The question asked for ``task`` (a :data:`PREDICT_TASKS` name), about ``finding`` for the grounding tasks.

    Raises:
        ConfigError: an unknown task, or a grounding task without a finding (a ``ValueError``).

    Example:
        >>> predict_question("report") in prompts.REPORT_QUESTIONS
        True
    """
    _, needs_finding, build = _task(task)
    rng = random.Random(QUESTION_SEED)
    if not needs_finding:
        return build(rng)
    if not finding or not finding.strip():
        raise ConfigError(f"--task {task} needs --finding (what to locate, e.g. --finding 'pleural effusion')")
    return build(finding.strip(), rng)


def answer_boxes(answer: str, task: str) -> list[list[float]]:
    """The boxes of an answer, normalised [0, 1] xyxy and clipped to the image; none for report answers.

    Example:
        >>> answer_boxes("Cardiomegaly at [0.35, 0.51, 0.75, 0.64].", "grounding")
        [[0.35, 0.51, 0.75, 0.64]]
        >>> answer_boxes("Heart size normal [0.1, 0.1, 0.2, 0.2].", "report")
        []
    """
    if _task(task)[0] is Task.REPORT_GENERATION:
        return []
    return [list(clip_box(b)) for b in parse_boxes(answer)]


def _image_arg(image: str) -> tuple[Path, Any]:
    """``--image`` checked and read (RGB PIL image): an existing file that reads as an image, before the model
    loads."""
    from radgrpo.eval.generate import load_image

    path = Path(image)
    if not path.is_file():
        raise UserPathError(f"--image {path} does not exist")
    try:
        return path, load_image(path)
    except ValueError as e:
        if type(e) is ValueError:  # PIL could not read it; a DicomError is already a user error of its own
            raise ConfigError(f"--image: {e}") from e
        raise


def predict(
    model: Any,
    processor: Any,
    image: Any,
    task: str,
    finding: str | None = None,
    adapter: Any = None,
    *,
    thinking: bool | str = False,
    max_new_tokens: int | None = None,
    sampling: SamplingOptions | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Answer one question about one image with a loaded model.

    Args:
        model: a loaded HF image-text-to-text model (e.g. from
            :func:`radgrpo.models.qwen3_vl.load_model_and_processor`).
        processor: its processor.
        image: an image file (PNG/JPEG, or ``.dcm``/``.dicom``) or a PIL image.
        task: a :data:`PREDICT_TASKS` name: ``report``, ``grounding`` (abnormality), ``anatomy``, ``phrase``,
            ``detection`` or ``classification``.
        finding: what to locate (needed by ``grounding``, ``anatomy``, ``phrase``).
        adapter: model adapter (a :class:`radgrpo.models.adapters.ModelAdapter` or its name); None: ``radgrpo``.
        thinking: thinking mode (``off``/``suffix``/``native`` or a bool), as in evaluation.
        max_new_tokens: new-token limit (None: the task's evaluation default).
        sampling: the decoding options, as in evaluation (None: greedy).
        seed: the sampling seed.
    Returns:
        ``{"task", "finding", "question", "prompt", "answer", "boxes", "completion", "thought", "think_closed",
        "n_tokens", "finished", "seconds", "image", "image_size", "adapter"}``: ``answer`` is the scored text
        (after ``</think>`` when thinking), ``boxes`` its boxes (normalised [0, 1] xyxy, clipped), ``thought`` the
        thinking text, ``image_size`` ``[width, height]`` in pixels.

    Raises:
        FileNotFoundError: no such image file.
        ValueError: an unknown task, a grounding task without ``finding``, an unreadable image.

    Example:
        >>> model, processor = load_model_and_processor("runs/grpo")  # doctest: +SKIP
        >>> predict(model, processor, "cxr.dcm", "grounding", "cardiomegaly")["boxes"]  # doctest: +SKIP
        [[0.35, 0.51, 0.75, 0.64]]
    """
    from radgrpo.eval.generate import generate_predictions, load_image

    spec = GenerationSpec(
        thinking=thinking_mode(thinking),
        adapter="radgrpo" if adapter is None else adapter,
        sampling=sampling or SamplingOptions(),
        seed=seed,
        max_new_tokens=max_new_tokens,
        batch_size=1,
    )

    record_task, needs_finding, _ = _task(task)
    question = predict_question(task, finding)
    with tempfile.TemporaryDirectory(prefix="radgrpo_predict_") as tmp:
        if isinstance(image, (str, os.PathLike)):
            path = Path(image).resolve()
            shown = str(image)
        else:  # a PIL image: written once so that it goes through the same loading as evaluation records
            path = Path(tmp) / "image.png"
            image.convert("RGB").save(path)
            shown = None
        size = load_image(path).size
        record = Record(
            id=path.stem,
            image=str(path),
            task=record_task,
            question=question,
            answer="",
            target=finding.strip() if needs_finding and finding else None,
        )
        (pred,) = generate_predictions(model, processor, [record], spec, progress=False)
    return {
        "task": task,
        "finding": record.target,
        "question": question,
        "prompt": pred.prompt,
        "answer": pred.answer,
        "boxes": answer_boxes(pred.answer, task),
        "completion": pred.completion,
        "thought": pred.thought,
        "think_closed": pred.think_closed,
        "n_tokens": pred.n_tokens,
        "finished": pred.finished,
        "seconds": pred.seconds,
        "image": shown,
        "image_size": list(size),
        "adapter": pred.generation.get("adapter"),
    }


def draw_prediction(image: Any, boxes: Sequence[Sequence[float]]) -> Any:
    """``image`` (PIL) at its own size with ``boxes`` (normalised [0, 1] xyxy) outlined in
    :data:`PREDICTION_COLOUR` (:func:`radgrpo.eval.report.plots.draw_boxes`; lines ~1/200 of the longer side).

    Example:
        >>> from PIL import Image
        >>> im = draw_prediction(Image.new("L", (200, 100)), [(0.25, 0.2, 0.75, 0.8)])
        >>> im.size, im.getpixel((50, 50)), im.getpixel((100, 50))
        ((200, 100), (230, 159, 0), (0, 0, 0))
    """
    from radgrpo.eval.report.plots import draw_boxes

    longest = max(image.size)
    return draw_boxes(
        image,
        [],
        {"prediction": boxes},
        colours={"prediction": PREDICTION_COLOUR},
        size=longest,
        width=max(2, round(longest / 200)),
    )


def write_prediction(result: dict[str, Any], image: Any, out_dir: str | os.PathLike, stem: str) -> tuple[Path, Path]:
    """Write ``out_dir/prediction.json`` (``result``) and ``out_dir/<stem>_boxes.png`` (``image`` with
    ``result["boxes"]`` drawn by :func:`draw_prediction`); returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "prediction.json", out / f"{stem}_boxes.png"
    draw_prediction(image, result.get("boxes") or []).save(png_path)
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return json_path, png_path


@dataclass
class PredictConfig(SamplingOptions):
    """Settings of ``radgrpo predict`` (YAML keys = fields = flags).

    The sampling options (``do_sample``, ``temperature`` ...) are inherited from
    :class:`radgrpo.eval.settings.SamplingOptions`.
    """

    model: str = field(default="", metadata={"help": "model: hub id or local folder; required"})
    image: str = field(default="", metadata={"help": "the image: PNG/JPEG or DICOM (.dcm/.dicom); required"})
    task: str = field(
        default="report",
        metadata={"help": f"what to answer: {', '.join(PREDICT_TASKS)} (grounding, anatomy, phrase need --finding)"},
    )
    finding: str = field(default="", metadata={"help": "what to locate, e.g. 'pleural effusion' (grounding tasks)"})
    out: str = field(default="predict_out", metadata={"help": "output folder: prediction.json, <image>_boxes.png"})
    adapter: str = field(
        default="auto", metadata={"help": "model adapter (prompt, answer parser, box frame); auto: from the model"}
    )
    base_model: str = field(
        default="",
        metadata={"help": "base model of a PEFT adapter folder (default: base_model_name_or_path of its config)"},
    )
    trust_remote_code: bool = field(
        default=False, metadata={"help": "allow the model's own code from the hub (MAIRA-2, CheXagent need it)"}
    )
    thinking: str = field(default="off", metadata={"help": "thinking mode: off, suffix or native (true/false too)"})
    max_new_tokens: int = field(default=0, metadata={"help": "new-token limit (0: the task's evaluation default)"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})
    dtype: str = field(default="", metadata={"help": "model dtype, e.g. bfloat16 (default: the loader's choice)"})
    device: str = field(default="", metadata={"help": "device, e.g. cuda or cpu (default: the loader's choice)"})
    min_pixels: int = field(default=0, metadata={"help": "processor min_pixels (0: as saved with the model)"})
    max_pixels: int = field(default=0, metadata={"help": "processor max_pixels (0: as saved with the model)"})

    def __post_init__(self) -> None:
        super().__post_init__()  # the sampling options
        self.thinking = thinking_mode(self.thinking)
        if self.max_new_tokens < 0:
            raise ValueError(f"--max_new_tokens must be >= 0, got {self.max_new_tokens}")


def run_predict(cfg: PredictConfig) -> dict[str, Any]:
    """``radgrpo predict``: check the inputs, load the model, answer, write ``cfg.out/prediction.json`` and
    ``cfg.out/<image stem>_boxes.png``.

    The inputs are checked before the model loads: a missing ``--model``/``--image``, an image that does not exist
    or cannot be read, an ``--out`` that is a file, an unknown task or a grounding task without ``--finding``, an unknown ``--adapter`` or one
    that needs ``--trust_remote_code`` fail at once with one line. The model loads with the adapter's auto class (a
    PEFT adapter folder on its base model).

    Returns:
        :func:`predict`'s dict plus ``"model"`` and ``"files"`` (the two paths written).
    """
    from radgrpo.models import qwen3_vl
    from radgrpo.models.adapters import resolve_adapter

    if not cfg.model:
        raise ConfigError("--model is required (a hub id or a local model folder)")
    if not cfg.image:
        raise ConfigError("--image is required (a PNG/JPEG or a DICOM file)")
    predict_question(cfg.task, cfg.finding)  # task and finding checked before anything loads
    path, image = _image_arg(cfg.image)
    check_path(cfg.out, "--out", kind="out")
    try:
        adapter = resolve_adapter(cfg.adapter, cfg.model, qwen3_vl.read_model_config(cfg.model, cfg.base_model or None))
    except KeyError as e:
        raise ConfigError(f"--adapter: {e.args[0]}") from None
    if adapter.trust_remote_code and not cfg.trust_remote_code:
        raise ConfigError(
            f"the {adapter.name} adapter's models run their own code from the hub: pass --trust_remote_code to "
            "allow it (or pick another --adapter)"
        )
    kw: dict[str, Any] = {
        "dtype": cfg.dtype or None,
        "device": cfg.device or None,
        "base_model": cfg.base_model or None,
        "trust_remote_code": cfg.trust_remote_code,
        "auto_class": adapter.auto_class,
    }
    kw.update({k: v for k, v in (("min_pixels", cfg.min_pixels), ("max_pixels", cfg.max_pixels)) if v})
    t0 = time.perf_counter()
    model, processor = qwen3_vl.load_model_and_processor(cfg.model, **kw)
    load_s = time.perf_counter() - t0
    model.eval()
    result = predict(
        model,
        processor,
        path,
        cfg.task,
        cfg.finding or None,
        adapter,
        thinking=cfg.thinking,
        max_new_tokens=cfg.max_new_tokens or None,
        sampling=SamplingOptions.of(cfg),
        seed=cfg.seed,
    )
    result = {"model": cfg.model, **result, "load_seconds": round(load_s, 3)}
    files = write_prediction(result, image, cfg.out, path.stem)
    result["files"] = [str(f) for f in files]
    return result
