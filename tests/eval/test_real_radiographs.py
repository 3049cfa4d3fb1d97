"""Real chest radiographs (the two NIH ChestX-ray14 PNGs beside the checkout, see shared/data/nih-cxr14/NOTICE.md)
through the paper's image path: 8-bit greyscale PNG -> RGB -> Qwen3-VL processor at the paper's min/max pixels ->
batched generation with the tiny model -> scores -> report.html with the radiograph drawn. Skipped when the folder is
absent (the images are never copied into the repository).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_real_radiographs.py
"""

import json

from PIL import Image

from radgrpo.records import Record


def test_nih_radiographs_processor_generation_scores_and_report(nih_pngs, tiny_model_dir, tmp_path):
    from radgrpo.eval.config import EvalConfig
    from radgrpo.eval.pipeline import evaluate
    from radgrpo.models.qwen3_vl import load_model, load_processor

    with Image.open(nih_pngs[0]) as im:
        assert im.mode == "L" and im.size == (512, 512)  # what the NOTICE promises
        rgb = im.convert("RGB")
    # the paper's pixel bounds (docs/method.md#grpo-settings)
    proc = load_processor(tiny_model_dir, min_pixels=1024, max_pixels=451584)
    feats = proc.image_processor(images=[rgb], return_tensors="pt")
    # 512 is a multiple of patch 16 x merge 2, and 512² lies within [1024, 451584]: no resize, 32 x 32 patches,
    # 16 x 16 = 256 visual tokens after the 2 x 2 merge
    assert feats["image_grid_thw"].tolist() == [[1, 32, 32]]
    assert feats["pixel_values"].shape[0] == 32 * 32

    box = (0.3, 0.45, 0.78, 0.8)  # an approximate heart box on 00000001_000 (labelled Cardiomegaly)
    recs = [
        Record(
            "nih-cardiomegaly",
            str(nih_pngs[0]),
            "abnormality_grounding",
            "Where is the cardiomegaly located in this Chest X-ray?",
            "The cardiomegaly is located at the coordinates [0.3, 0.45, 0.78, 0.8] on the image.",
            source="nih-cxr14",
            reference_boxes=[box],
            target="cardiomegaly",
        ),
        Record(
            "nih-normal",
            str(nih_pngs[1]),
            "report_generation",
            "Provide a radiology report for this Chest X-Ray.",
            "The lungs are clear. No pleural effusion.",
            source="nih-cxr14",
            reference_report="The lungs are clear. No pleural effusion.",
        ),
    ]
    out = tmp_path / "eval"
    config = EvalConfig(out=str(out), batch_size=2, max_new_tokens=12, n_resamples=50, progress=False)
    res = evaluate(load_model(tiny_model_dir), proc, recs, config)  # absolute image paths: no base_dir
    assert res["n"] == 2 and res["n_by_metric"]["soft_f1"] == 1 and res["n_by_metric"]["bleu4"] == 1
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert {p["id"] for p in preds} == {"nih-cardiomegaly", "nih-normal"}
    assert all(0 < p["n_tokens"] <= 12 for p in preds)
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    g = next(s for s in scores if s["id"] == "nih-cardiomegaly")
    assert g["n_ref_boxes"] == 1 and 0.0 <= g["soft_f1"] <= 1.0
    html = (out / "report.html").read_text()
    # the metric chart (PNG) and the radiograph's thumbnail (JPEG; boxes are drawn over it in the page)
    assert "nih-cardiomegaly" in html and html.count("data:image/png;base64") >= 1
    assert html.count("data:image/jpeg;base64") == 2
