"""``radgrpo data conversations``: one MIMIC-CXR conversation per frontal image with a filtered report, the second LLM
text step before ``radgrpo data build`` (``conversations/<split>/standard/``, read by its ``conversation`` task).

Flags are :class:`radgrpo.data.llm_steps.ConversationsConfig`; the work is
:func:`radgrpo.data.llm_steps.run_conversations`. It prints what was written and dropped; exit code 1 when some
conversations failed (rerun the same command).

Example:
    $ radgrpo data conversations --root /data/MIMIC-CXR-JPG --split train --base_url ... --model ...
"""

from __future__ import annotations

from radgrpo.cli.data_filter_reports import print_summary
from radgrpo.config import parse_config
from radgrpo.data.llm_steps import ConversationsConfig, run_conversations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``radgrpo data conversations``: 0 when every conversation was written, 1 when some failed (rerun), 2 on bad
    flags or a missing root."""
    cfg = parse_config(ConversationsConfig, argv, prog="radgrpo data conversations")
    res = run_conversations(cfg)
    print_summary(f"conversations: {res['n_items']} MIMIC {cfg.split} images -> {res['out']}", res)
    failed = sum(n for k, n in res["drops"].get("counts", {}).items() if k in ("llm_error", "bad_conversation"))
    if failed:
        print(f"{failed} conversation(s) failed; rerun the same command to retry them (finished files are kept)")
    return 1 if failed else 0
