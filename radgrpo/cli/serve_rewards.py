"""``radgrpo serve rewards``: serve radgrpo's rewards over HTTP with Ray Serve (batched, replicated, one deployment
per reward).

What it is: flag parsing into :class:`radgrpo.serve.config.ServeConfig` (``--config`` takes a YAML file; YAML keys =
flags) and :func:`radgrpo.serve.app.serve_forever`, which starts a local Ray (or joins ``--address``), prints the URL
when the service is ready and shuts it down on Ctrl-C or SIGTERM. Ray and FastAPI are imported only after the flags
parse, so ``--help`` and flag errors are instant. The API: docs/rewards.md#reward-service.

Example:
    $ radgrpo serve rewards --rewards grounding_soft_f1,bleu4 --replicas 2 --port 8000
    $ curl -s localhost:8000/rewards/bleu4 -d '{"completions": ["No effusion."], "reference_report": ["No effusion."]}'
"""

from __future__ import annotations

import sys

from radgrpo.config import parse_config
from radgrpo.serve.config import ServeConfig


def main(argv: list[str] | None = None) -> int:
    """``radgrpo serve rewards``: serve until interrupted; returns 0 (a bad flag raises ``ConfigError``: exit 2)."""
    cfg = parse_config(ServeConfig, argv, prog="radgrpo serve rewards")
    from radgrpo.serve.app import serve_forever

    return serve_forever(cfg)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
