"""``radgrpo predict``: writes ``prediction.json`` and the image with its boxes, prints the answer (the one
:func:`radgrpo.eval.predict.predict` gives); bad input is one line on stderr, exit code 2, before the model loads.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_predict.py
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from radgrpo.cli.main import main
from radgrpo.eval.predict import predict, predict_question


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """(png,): an 80x96 greyscale PNG."""
    d = tmp_path_factory.mktemp("predict_images")
    arr = (np.random.default_rng(5).random((80, 96)) * 255).astype(np.uint8)
    arr[0, 0], arr[0, 1] = 0, 255
    Image.fromarray(arr, mode="L").save(d / "chest.png")
    return (d / "chest.png",)


def test_cli_writes_prediction_and_prints_answer(tiny_model_dir, images, tmp_path, capsys):
    from radgrpo.models.qwen3_vl import load_model_and_processor

    (png,) = images
    out = tmp_path / "pred"
    argv = ["predict", "--model", str(tiny_model_dir), "--image", str(png), "--task", "grounding"]
    rc = main([*argv, "--finding", "nodule", "--out", str(out), "--max_new_tokens", "4"])
    printed = capsys.readouterr().out.splitlines()
    assert rc == 0
    saved = json.loads((out / "prediction.json").read_text())
    assert (
        printed[0] == saved["answer"] and printed[-1] == f"wrote {out / 'prediction.json'}, {out / 'chest_boxes.png'}"
    )
    assert (saved["model"], saved["task"], saved["finding"], saved["question"]) == (
        str(tiny_model_dir),
        "grounding",
        "nodule",
        predict_question("grounding", "nodule"),
    )
    assert Image.open(out / "chest_boxes.png").size == (96, 80)
    model, processor = load_model_and_processor(str(tiny_model_dir))
    again = predict(model.eval(), processor, png, "grounding", "nodule", max_new_tokens=4)
    assert again["completion"] == saved["completion"] and again["answer"] == saved["answer"]


def test_cli_bad_input_is_one_line(tiny_model_dir, images, tmp_path, capsys):
    (png,) = images
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "broken.dcm").write_text("not a dicom")
    base = ["predict", "--model", str(tiny_model_dir), "--out", str(tmp_path / "o")]
    cases = [
        (["--image", str(tmp_path / "missing.png")], f"--image {tmp_path / 'missing.png'} does not exist"),
        (["--image", str(png), "--task", "grounding"], "--task grounding needs --finding"),
        (["--image", str(tmp_path / "notes.png")], "--image: cannot read image"),
        (["--image", str(tmp_path / "broken.dcm")], "cannot read DICOM"),
        (["--image", str(png), "--task", "segment"], "--task must be one of"),
        (["--task", "report"], "--image is required"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("radgrpo predict: ") and message in err and "\n" not in err, err
    assert not (tmp_path / "o").exists()  # nothing written, the model never loaded
