"""``radgrpo thinking generate``: cold-start thinking traces from a teacher behind an OpenAI-compatible endpoint (or
the labelled synthetic stand-in), validated, as thinking SFT records.

The work is :func:`radgrpo.data.cold_start.generate_traces`; this module parses flags into
:class:`~radgrpo.data.cold_start.ThinkingTraceConfig` and prints what happened. The API key is read from the
environment variable named by ``--api_key_env``, never from a flag.

Example:
    $ vllm serve Qwen/Qwen3-VL-32B-Instruct --max-model-len 32768 &
    $ radgrpo thinking generate --records data/radvlm/train.jsonl --out data/cold_start \\
        --base_url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-VL-32B-Instruct --concurrency 32
    $ radgrpo thinking generate --teacher synthetic --records demo_out/data/train.jsonl --out demo_out/cold_start
"""

from __future__ import annotations

from pathlib import Path

from radgrpo.config import parse_config, save_config
from radgrpo.data.cold_start import ThinkingTraceConfig, generate_traces

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``radgrpo thinking generate`` entry point; returns the exit code."""
    cfg = parse_config(ThinkingTraceConfig, argv, prog="radgrpo thinking generate")
    cfg.check()
    save_config(cfg, cfg.out)
    stats = generate_traces(cfg)
    out = Path(cfg.out)
    print(
        f"accepted {stats['n_accepted']} of {stats['n_records']} records "
        f"({stats['n_rejected']} rejected: "
        + (", ".join(f"{k} {v}" for k, v in stats["rejected"].items()) or "none")
        + f"); teacher: {stats['teacher']}"
    )
    tw = stats["think_words"]
    if tw.get("n"):
        print(f"trace words: mean {tw['mean']}, median {tw['median']}, range {tw['min']:.0f}-{tw['max']:.0f}")
    print(f"wrote {out / 'thinking.jsonl'}, {out / 'rejected.jsonl'}, {out / 'stats.json'}")
    return 0
