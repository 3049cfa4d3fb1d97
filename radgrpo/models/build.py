"""Build a random-weight Qwen3-VL and save it (``radgrpo models build-tiny``'s work): the embedded tiny model
(:func:`radgrpo.models.tiny.build_tiny_model`) or one with a real checkpoint's widths and few layers
(:func:`radgrpo.models.shapes.build_shaped_model`), its tokenizer trained on a corpus file.

Example:
    >>> BuildTinyConfig(out="tiny", image_size=64).shape is None
    True
    >>> out, n_params = run_build_tiny(BuildTinyConfig(out="tiny", image_size=64))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from radgrpo.errors import check_path

__all__ = ["BuildTinyConfig", "read_corpus", "run_build_tiny"]


@dataclass
class BuildTinyConfig:
    """Build a tiny real Qwen3-VL with a locally trained tokenizer."""

    out: str = field(default="tiny_qwen3vl", metadata={"help": "output folder"})
    corpus_file: str | None = field(
        default=None,
        metadata={
            "help": "records JSONL (questions + answers) or a text file, one line per sample, to train the tokenizer"
        },
    )
    image_size: int = field(default=256, metadata={"help": "image side (px); min = max pixels (tiny model only)"})
    seed: int = field(default=0, metadata={"help": "init seed"})
    shape: str | None = field(
        default=None,
        metadata={
            "help": "published widths of a real checkpoint with few layers: qwen3-vl-2b | qwen3-vl-8b (real "
            "151,936-token id range, the paper's 1,024-451,584 px² image bounds); default: the tiny config-A model"
        },
    )
    layers: int = field(default=2, metadata={"help": "language and vision layers of a --shape model"})
    vision_layers: int | None = field(
        default=None, metadata={"help": "vision layers of a --shape model (default --layers)"}
    )

    def __post_init__(self) -> None:
        from radgrpo.config import closest
        from radgrpo.models.shapes import SHAPES

        if self.shape is not None and self.shape not in SHAPES:
            near = closest(self.shape, SHAPES)
            hint = f"; did you mean {near!r}?" if near else ""
            raise ValueError(f"--shape {self.shape!r} is not a known shape ({', '.join(SHAPES)}){hint}")
        if self.layers < 1 or (self.vision_layers is not None and self.vision_layers < 1):
            raise ValueError("--layers and --vision_layers must be >= 1")


def read_corpus(path: str | None) -> list[str]:
    """The tokenizer corpus of ``--corpus_file``: a records JSONL's questions and answers, or a text file's non-empty
    lines (none when ``path`` is empty)."""
    if not path:
        return []
    if path.endswith(".jsonl"):
        from radgrpo.records import iter_jsonl

        return [t for r in iter_jsonl(path) for t in (r.question, r.answer)]
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def run_build_tiny(cfg: BuildTinyConfig) -> tuple[Path, int]:
    """Build and save the model of ``cfg`` into ``cfg.out``; returns the folder and the model's parameter count.

    Raises:
        radgrpo.errors.UserPathError: ``cfg.corpus_file`` is missing, or ``cfg.out`` is a file (before any work).
    """
    from radgrpo.models.tiny import TinyModelConfig, build_tiny_model, count_parameters

    if cfg.corpus_file:
        check_path(cfg.corpus_file, "--corpus_file", what="a records JSONL or a text file")
    check_path(cfg.out, "--out", kind="out")
    if cfg.shape:
        from radgrpo.models.shapes import build_shaped_model

        out, model = build_shaped_model(
            cfg.out,
            cfg.shape,
            cfg.layers,
            vision_layers=cfg.vision_layers,
            corpus=read_corpus(cfg.corpus_file),
            seed=cfg.seed,
        )
        return out, count_parameters(model)
    out = build_tiny_model(
        cfg.out, read_corpus(cfg.corpus_file), TinyModelConfig(image_size=cfg.image_size, seed=cfg.seed)
    )
    from radgrpo.models.qwen3_vl import load_model

    return out, count_parameters(load_model(out))
