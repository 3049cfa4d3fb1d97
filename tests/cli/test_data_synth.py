"""``radgrpo data synth``: the command writes what :func:`radgrpo.data.synth.synthesize` writes (byte for byte), with
the counts it returns; a bad flag value is exit code 2.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_data_synth.py
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from PIL import Image

from radgrpo.cli.main import main
from radgrpo.config import load_yaml
from radgrpo.data.sources import synthetic_draw as draw
from radgrpo.data.sources.synthetic import TEST_SEED_OFFSET, SynthConfig, draw_study
from radgrpo.data.synth import synthesize
from radgrpo.records import read_jsonl

ALL = list(draw.SUPPORTED_FINDINGS)
ALL_TASKS = [
    "report_generation",
    "abnormality_grounding",
    "anatomical_grounding",
    "classification",
    "detection",
    "phrase_grounding",
]


def test_synth_main_writes_files_with_the_returned_counts(tmp_path):
    argv = [
        "--out",
        str(tmp_path / "a"),
        "--n_train",
        "12",
        "--n_test",
        "5",
        "--image_size",
        "64",
        "--findings",
        *ALL,
        "--tasks",
        *ALL_TASKS,
    ]
    assert main(["data", "synth", *argv]) == 0
    cfg = SynthConfig(out=str(tmp_path / "b"), n_train=12, n_test=5, image_size=64, findings=ALL, tasks=ALL_TASKS)
    counts = synthesize(cfg, progress=False)
    a, b = tmp_path / "a", tmp_path / "b"
    assert load_yaml(a / "config.yaml") == {**dataclasses.asdict(cfg), "out": str(a)}
    for split, n in (("train", 12), ("test", 5)):
        text_a = (a / f"{split}.jsonl").read_text()
        assert text_a == (b / f"{split}.jsonl").read_text()  # the CLI and the function agree byte for byte
        recs = read_jsonl(a / f"{split}.jsonl")
        got = {t: sum(r.task.value == t for r in recs) for t in ALL_TASKS}
        assert got == counts[split]
        assert counts[split]["report_generation"] == counts[split]["classification"] == n
        assert counts[split]["detection"] == counts[split]["anatomical_grounding"] == n
        assert {r.split for r in recs} == {split}
        for r in recs:
            assert not r.image.startswith("/") and (a / r.image).is_file()
        seeds = {r.meta["seed"] for r in recs}
        assert (min(seeds) >= TEST_SEED_OFFSET) == (split == "test")
    # a PNG decodes to the drawn image
    img = np.asarray(Image.open(a / "images" / "test-000002.png"))
    assert img.dtype == np.uint8 and np.array_equal(img, draw_study(TEST_SEED_OFFSET + 2, cfg).image)
    first = json.loads((a / "train.jsonl").read_text().splitlines()[0])
    assert first["id"] == "synthetic/report_generation/train-000000"


def test_synth_main_bad_flag_value_returns_2(tmp_path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path), "--findings", "edema"]) == 2
    assert "supported" in capsys.readouterr().err
