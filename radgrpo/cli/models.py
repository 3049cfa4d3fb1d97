"""``radgrpo models build-tiny`` (the embedded tiny Qwen3-VL, or a paper-shaped one) and ``radgrpo models download``
(scoring models).

Example:
    $ radgrpo models build-tiny --out tiny --corpus_file data/synth/train.jsonl
    $ radgrpo models build-tiny --shape qwen3-vl-8b --layers 2 --out shaped_8b   # published widths, 2 layers
    $ radgrpo models download distilroberta-base      # on a machine with internet
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


def _corpus(path: str | None) -> list[str]:
    if not path:
        return []
    if path.endswith(".jsonl"):
        from radgrpo.records import iter_jsonl

        return [t for r in iter_jsonl(path) for t in (r.question, r.answer)]
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def build_tiny_main(argv: list[str] | None = None) -> int:
    """Build and save the tiny model; prints its folder and parameter count."""
    from radgrpo.config import parse_config
    from radgrpo.models.tiny import TinyModelConfig, build_tiny_model, count_parameters

    cfg = parse_config(BuildTinyConfig, argv, prog="radgrpo models build-tiny")
    if cfg.shape:
        from radgrpo.models.shapes import build_shaped_model

        out, model = build_shaped_model(
            cfg.out,
            cfg.shape,
            cfg.layers,
            vision_layers=cfg.vision_layers,
            corpus=_corpus(cfg.corpus_file),
            seed=cfg.seed,
        )
        print(
            f"{out}  ({count_parameters(model):,} parameters; {cfg.shape} widths, {cfg.layers} layers, random weights)"
        )
        return 0
    out = build_tiny_model(cfg.out, _corpus(cfg.corpus_file), TinyModelConfig(image_size=cfg.image_size, seed=cfg.seed))
    from radgrpo.models.qwen3_vl import load_model

    print(f"{out}  ({count_parameters(load_model(out)):,} parameters)")
    return 0


def download_main(argv: list[str] | None = None) -> int:
    """Download scoring models by name into radgrpo's model folder (needs internet; never used in tests)."""
    from radgrpo.config import ConfigError, FlagParser, closest
    from radgrpo.metrics.loaders import all_model_specs, download_model, models_dir

    specs = all_model_specs()
    p = FlagParser(prog="radgrpo models download", description=f"known models: {', '.join(sorted(specs))}")
    p.add_argument("names", nargs="*", help="model names (default: list them)")
    p.add_argument("--dest", default=None, help=f"folder (default {models_dir()}/NAME)")
    a = p.parse_args(argv)
    if not a.names:
        for name, spec in sorted(specs.items()):
            print(f"{name:<28} {spec.hub_repo:<40} used by {', '.join(spec.used_by)}")
        return 0
    unknown = [n for n in a.names if n not in specs]
    if unknown:  # before any download starts
        near = closest(unknown[0], specs)
        raise ConfigError(
            f"unknown model {unknown[0]!r}"
            + (f"; did you mean {near!r}?" if near else "")
            + " (radgrpo models download lists the known models)"
        )
    for name in a.names:
        print(download_model(name, a.dest))
    return 0
