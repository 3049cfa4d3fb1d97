"""``radgrpo.eval.predict``: one answer for one PNG or DICOM on the tiny Qwen3-VL, equal to what evaluation generates
for the same record; the drawn boxes. The command ``radgrpo predict``: tests/cli/test_predict.py.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_predict.py
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radgrpo.data import prompts
from radgrpo.eval.generate import GenerationSpec, generate_predictions, load_image
from radgrpo.eval.predict import (
    PREDICTION_COLOUR,
    answer_boxes,
    draw_prediction,
    predict,
    predict_question,
    write_prediction,
)
from radgrpo.records import Record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data" / "fixtures"))

from grounding_layouts import write_dicom  # the DICOM writer of tests/data/test_dicom.py

MAX_NEW = 6
ORANGE = (230, 159, 0)  # PREDICTION_COLOUR


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """(png, dcm): the same 80x96 greyscale pixels as a PNG and as a 12-bit MONOCHROME2 DICOM (min 0, max 255, so
    the DICOM's min-max display scaling gives back the PNG's values)."""
    d = tmp_path_factory.mktemp("predict_images")
    arr = (np.random.default_rng(5).random((80, 96)) * 255).astype(np.uint8)
    arr[0, 0], arr[0, 1] = 0, 255
    Image.fromarray(arr, mode="L").save(d / "chest.png")
    write_dicom(d / "chest.dcm", arr.astype(np.uint16))
    return d / "chest.png", d / "chest.dcm"


def test_question_and_boxes_helpers():
    assert predict_question("report") == prompts.report_question(random.Random(0))
    assert predict_question("grounding", " nodule ") == prompts.grounding_question("nodule", random.Random(0))
    assert predict_question("phrase", "Left effusion") == prompts.phrase_question("Left effusion", random.Random(0))
    with pytest.raises(ValueError, match="--task grounding needs --finding"):
        predict_question("grounding")
    with pytest.raises(ValueError, match="--task must be one of report, grounding"):
        predict_question("segmentation")
    assert answer_boxes("at [0.1, 0.2, 0.4, 0.5] and [-0.1, 0.5, 1.2, 0.9].", "grounding") == [
        [0.1, 0.2, 0.4, 0.5],
        [0.0, 0.5, 1.0, 0.9],
    ]


@pytest.mark.parametrize("task,finding", [("grounding", "nodule"), ("report", None)])
def test_predict_equals_evaluation_generation(varied_model, images, task, finding):
    model, processor = varied_model
    png, dcm = images
    got = predict(model, processor, png, task, finding, max_new_tokens=MAX_NEW)
    question = predict_question(task, finding)
    rec_task = "abnormality_grounding" if task == "grounding" else "report_generation"
    record = Record("chest", str(png), rec_task, question, "", target=finding)
    (want,) = generate_predictions(model, processor, [record], GenerationSpec(max_new_tokens=MAX_NEW), progress=False)
    assert (got["answer"], got["completion"], got["prompt"]) == (want.answer, want.completion, question)
    assert got["boxes"] == answer_boxes(want.answer, task)
    assert (got["image_size"], got["image"], got["adapter"], got["finding"]) == ([96, 80], str(png), "radgrpo", finding)
    # a PIL image and the DICOM of the same pixels get the same answer
    pil = predict(model, processor, Image.open(png), task, finding, max_new_tokens=MAX_NEW)
    from_dicom = predict(model, processor, dcm, task, finding, max_new_tokens=MAX_NEW)
    assert pil["completion"] == from_dicom["completion"] == got["completion"]
    assert pil["image"] is None and from_dicom["image_size"] == [96, 80]


def test_dicom_reads_as_the_png(images):
    png, dcm = images
    assert np.array_equal(np.asarray(load_image(dcm)), np.asarray(load_image(png)))


def test_draw_and_write_prediction(tmp_path):
    image = Image.new("RGB", (200, 160), (90, 90, 90))
    result = {"answer": "The nodule is at [0.25, 0.25, 0.75, 0.75].", "boxes": [[0.25, 0.25, 0.75, 0.75]]}
    json_path, png_path = write_prediction(result, image, tmp_path / "out", "chest")
    assert (json_path.name, png_path.name) == ("prediction.json", "chest_boxes.png")
    assert json.loads(json_path.read_text()) == result
    drawn = Image.open(png_path).convert("RGB")
    assert drawn.size == (200, 160)
    x1, y1, x2 = round(0.25 * 199), round(0.25 * 159), round(0.75 * 199)
    assert drawn.getpixel((x1, 80)) == drawn.getpixel((x2, 80)) == drawn.getpixel((100, y1)) == ORANGE
    assert drawn.getpixel((100, 80)) == drawn.getpixel((10, 10)) == (90, 90, 90)  # inside and outside untouched
    assert PREDICTION_COLOUR == "#e69f00"
    plain = draw_prediction(image, [])
    assert np.array_equal(np.asarray(plain), np.asarray(image))  # no boxes: the image as it is
