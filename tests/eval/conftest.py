"""Fixtures for the evaluation tests: a few test records with drawn PNGs, and the tiny model made to vary its output.

The tiny model (``tiny_model_dir``, built once per session in tests/conftest.py) is loaded fresh here and its weight
matrices are re-drawn with std 0.3 (seeded): a freshly initialised model greedily repeats one token for every input,
which would let a batching or padding bug go unnoticed; with larger weights the output depends on image and prompt.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radgrpo.records import Record, write_jsonl


def make_test_records(folder: Path) -> list[Record]:
    """Two grounding and two report records with 96x80 greyscale PNGs under ``folder`` (relative image paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = [
        (
            "g0",
            "abnormality_grounding",
            "Where is the nodule located in this Chest X-ray?",
            "nodule",
            [(0.1, 0.2, 0.4, 0.5)],
        ),
        ("r0", "report_generation", "Write a radiology report for this Chest X-ray.", None, []),
        ("g1", "anatomical_grounding", "Show me the heart's location on this CXR.", "heart", [(0.3, 0.4, 0.7, 0.8)]),
        ("r1", "report_generation", "Draft a concise report for this image.", None, []),
    ]
    records = []
    for i, (rid, task, q, target, boxes) in enumerate(specs):
        arr = (np.random.default_rng(i).random((80, 96)) * 255).astype("uint8")
        Image.fromarray(arr, mode="L").save(folder / f"{rid}.png")
        report = "The heart is enlarged. No pleural effusion." if task == "report_generation" else None
        answer = report or f"The {target} is located at [{', '.join(str(v) for v in boxes[0])}]."
        records.append(
            Record(
                id=rid,
                image=f"{rid}.png",
                task=task,
                question=q,
                answer=answer,
                target=target,
                reference_boxes=boxes,
                reference_report=report,
                split="test",
            )
        )
    return records


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory):
    """(records, base_dir, test_file): the records above written to ``test.jsonl`` beside their images."""
    d = tmp_path_factory.mktemp("eval_data")
    records = make_test_records(d)
    write_jsonl(records, d / "test.jsonl")
    return records, d, d / "test.jsonl"


def _redraw(model, seed: int = 0, std: float = 0.3):
    import torch

    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, std)
    return model.eval()


@pytest.fixture(scope="module")
def varied_model(tiny_model_dir):
    """(model, processor): the tiny Qwen3-VL with re-drawn weights whose greedy output varies with the input."""
    from radgrpo.models.qwen3_vl import load_model_and_processor

    model, processor = load_model_and_processor(str(tiny_model_dir))
    return _redraw(model), processor
