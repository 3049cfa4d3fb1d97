"""Shared test set-up: offline hub, small thread count, session-scoped fixtures.

Nothing here downloads: the tiny model is built from a config with a locally trained tokenizer.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
NIH_DIR = SHARED / "data" / "nih-cxr14"


@pytest.fixture(scope="session")
def nih_pngs():
    """The two real NIH ChestX-ray14 PNGs beside the checkout; the test is skipped when they are absent."""
    pngs = sorted(NIH_DIR.glob("*.png")) if NIH_DIR.is_dir() else []
    if not pngs:
        pytest.skip(f"real NIH radiographs not found under {NIH_DIR}")
    return pngs


TINY_CORPUS = [
    "Where is the cardiomegaly located in this Chest X-ray?",
    "The pleural effusion is located at the coordinates [0.12, 0.5, 0.41, 0.83] on the image.",
    "Provide a radiology report for this Chest X-ray.",
    "The heart is enlarged. Small right pleural effusion. No pneumothorax. The lungs are otherwise clear.",
    "There is a nodule in the left upper zone. No focal consolidation.",
] * 20


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny real Qwen3-VL (config A sizes, 256² images) built once per test session; nothing downloaded."""
    from radgrpo.models.tiny import TinyModelConfig, build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_qwen3vl"), TINY_CORPUS, TinyModelConfig())


def _draw_records(folder, n=8):
    """Small grounding + report records with 256² greyscale PNGs: a bright square marks the finding's box."""
    import numpy as np
    from PIL import Image

    from radgrpo.boxes import format_boxes
    from radgrpo.records import Record

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        arr = (rng.normal(60, 8, (256, 256))).clip(0, 255).astype(np.uint8)
        x1, y1 = int(rng.integers(20, 150)), int(rng.integers(20, 150))
        arr[y1 : y1 + 64, x1 : x1 + 64] = 220
        box = (round(x1 / 256, 2), round(y1 / 256, 2), round((x1 + 64) / 256, 2), round((y1 + 64) / 256, 2))
        Image.fromarray(arr, mode="L").save(folder / f"img{i}.png")
        report = "There is a nodule in the right lung. No pleural effusion."
        if i % 2 == 0:
            out.append(
                Record(
                    f"g{i}",
                    f"img{i}.png",
                    "abnormality_grounding",
                    "Where is the nodule located in this Chest X-ray?",
                    f"The nodule is located at the coordinates {format_boxes([box])} on the image.",
                    source="test",
                    reference_boxes=[box],
                    target="nodule",
                    reference_report=report,
                )
            )
        else:
            out.append(
                Record(
                    f"r{i}",
                    f"img{i}.png",
                    "report_generation",
                    "Provide a radiology report for this Chest X-Ray.",
                    report,
                    source="test",
                    reference_report=report,
                )
            )
    return out


@pytest.fixture(scope="session")
def tiny_records(tmp_path_factory):
    """(records, records_file): 8 records (grounding/report alternating) beside their PNGs."""
    from radgrpo.records import write_jsonl

    folder = tmp_path_factory.mktemp("tiny_records")
    records = _draw_records(folder)
    write_jsonl(records, folder / "train.jsonl")
    return records, folder / "train.jsonl"
