"""``radgrpo models download``: download scoring models by name into radgrpo's model folder (needs internet).

The work is :func:`radgrpo.metrics.loaders.download_model`; with no names it lists the known models
(:func:`~radgrpo.metrics.loaders.all_model_specs`).

Example:
    $ radgrpo models download                          # list them
    $ radgrpo models download distilroberta-base      # on a machine with internet
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
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
