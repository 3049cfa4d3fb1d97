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

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
NIH_DIR = SHARED / "data" / "nih-cxr14"


@pytest.fixture(scope="session")
def nih_pngs():
    """The two real NIH ChestX-ray14 PNGs beside the checkout; the test is skipped when they are absent."""
    pngs = sorted(NIH_DIR.glob("*.png")) if NIH_DIR.is_dir() else []
    if not pngs:
        pytest.skip(f"real NIH radiographs not found under {NIH_DIR}")
    return pngs
