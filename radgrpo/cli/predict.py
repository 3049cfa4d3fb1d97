"""``radgrpo predict``: answer for one image of your own (PNG/JPEG or DICOM) and write it with any boxes drawn.

Flags are :class:`radgrpo.eval.predict.PredictConfig`; the work is :func:`radgrpo.eval.predict.run_predict`, which
writes ``OUT/prediction.json`` (answer, boxes normalised [0, 1] xyxy, completion, thought) and
``OUT/<image stem>_boxes.png``. The answer is printed.

Example:
    $ radgrpo predict --model runs/grpo --image cxr.png --task report
    $ radgrpo predict --model runs/grpo --image cxr.dcm --task grounding --finding "pleural effusion" --out pred
"""

from __future__ import annotations

from radgrpo.config import parse_config
from radgrpo.eval.predict import PredictConfig, run_predict

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``radgrpo predict`` entry point; returns the exit code."""
    cfg = parse_config(PredictConfig, argv, prog="radgrpo predict")
    result = run_predict(cfg)
    print(result["answer"])
    if result["boxes"]:
        print("boxes (normalised x1, y1, x2, y2): " + "; ".join(str(b) for b in result["boxes"]))
    print("wrote " + ", ".join(result["files"]))
    return 0
