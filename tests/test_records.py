"""Record and JSONL round trips. Run: pytest tests/test_records.py"""

import json
from typing import Any

import pytest

from radgrpo.records import CHEXPERT_LABELS, Record, Task, read_jsonl, write_jsonl


def _rec(**kw):
    base: dict[str, Any] = dict(
        id="a",
        image="img/a.png",
        task=Task.ABNORMALITY_GROUNDING,
        question="Where is the nodule?",
        answer="The nodule is at [0.1, 0.2, 0.3, 0.4].",
        reference_boxes=[[0.1, 0.2, 0.3, 0.4]],
        labels={"Lung Lesion": 1, "No Finding": 0},
        target="nodule",
    )
    base.update(kw)
    return Record(**base)


def test_jsonl_round_trip(tmp_path):
    recs = [_rec(id=str(i)) for i in range(3)] + [_rec(id="r", task="report_generation", reference_boxes=[])]
    p = tmp_path / "r.jsonl"
    assert write_jsonl(recs, p) == 4
    back = read_jsonl(p)
    assert back == recs
    assert back[0].reference_boxes == [(0.1, 0.2, 0.3, 0.4)]
    assert back[3].task is Task.REPORT_GENERATION
    assert json.loads(p.read_text().splitlines()[0])["schema_version"] == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_records_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown CheXpert label"):
        _rec(labels={"Heart Big": 1})
    with pytest.raises(ValueError, match="4 numbers"):
        _rec(reference_boxes=[[0.1, 0.2, 0.3]])
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(_rec().to_dict()) + "\n" + '{"id": "x", "typo_field": 1}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        read_jsonl(p)


def test_label_order_is_chexbert():
    assert len(CHEXPERT_LABELS) == 14 and CHEXPERT_LABELS[0] == "Enlarged Cardiomediastinum"
    assert CHEXPERT_LABELS[-1] == "No Finding"
    assert Task.PHRASE_GROUNDING.is_grounding and not Task.REPORT_GENERATION.is_grounding


def test_one_record_id_scheme():
    from radgrpo.records import record_id

    assert record_id("mimic_cxr", "classification", "d1") == "mimic_cxr/classification/d1"
    assert record_id("mimic_cxr", "classification", "d1", 3) == "mimic_cxr/classification/d1#3"
    assert record_id("padchest_gr", "phrase_grounding", "a.png/2", 1) == "padchest_gr/phrase_grounding/a.png/2#1"
    with pytest.raises(ValueError, match=">= 0"):
        record_id("s", "t", "k", -1)


def test_synthetic_ids_and_seeds_follow_the_scheme_unchanged():
    # the demo's records: ids feed no RNG, and the study RNG is the same (seed, source, task, key, k) function
    from radgrpo.data.sources.common import item_rng
    from radgrpo.data.tasks import Study, study_record_id, study_rng
    from radgrpo.records import current_record_id, record_id

    s = Study(key="s7", image="images/s7.png", source="synthetic", split="train")
    for task, k in (("detection", 0), ("abnormality_grounding", 2)):
        rid = study_record_id(s, task, k)
        assert rid == record_id("synthetic", task, "s7", k) == current_record_id(rid)
        assert study_rng(0, s, task, k).random() == item_rng(0, "synthetic", task, "s7", k).random()
    assert study_record_id(s, "abnormality_grounding", 2) == "synthetic/abnormality_grounding/s7#2"


def test_old_record_ids_map_to_the_current_scheme():
    from radgrpo.records import current_record_id, renamed_prediction_ids

    assert current_record_id("vindr_cxr/detection/abc#r1") == "vindr_cxr/detection/abc#1"
    assert (
        current_record_id("vindr_cxr/abnormality_grounding/abc/Nodule/Mass#r12")
        == "vindr_cxr/abnormality_grounding/abc/Nodule/Mass#12"
    )
    assert current_record_id("padchest_gr/phrase_grounding/img.png#3") == "padchest_gr/phrase_grounding/img.png/3"
    assert current_record_id("padchest_gr/phrase_grounding/img.png#3#r2") == "padchest_gr/phrase_grounding/img.png/3#2"
    for new in (
        "padchest_gr/phrase_grounding/img.png/3",
        "padchest_gr/phrase_grounding/img.png/3#2",
        "synthetic/detection/s1#2",
        "mimic_cxr/classification/d1",
    ):
        assert current_record_id(new) == new  # current ids are fixed points
    records = ["m/t/a#1", "m/t/b", "padchest_gr/phrase_grounding/x.png/0"]
    assert renamed_prediction_ids(
        ["m/t/a#r1", "m/t/b", "padchest_gr/phrase_grounding/x.png#0", "gone#r1"], records
    ) == {"m/t/a#r1": "m/t/a#1", "padchest_gr/phrase_grounding/x.png#0": "padchest_gr/phrase_grounding/x.png/0"}
    # an old id is not renamed onto a record that already has a prediction, nor when the records use old ids too
    assert renamed_prediction_ids(["m/t/a#r1", "m/t/a#1"], records) == {}
    assert renamed_prediction_ids(["m/t/a#r1"], ["m/t/a#r1"]) == {}


def test_generate_resumes_a_predictions_file_with_old_ids(tmp_path):
    # every record already has a prediction under its old id: nothing is generated (model=None would fail if it
    # were called) and the file is rewritten with the current ids
    from types import SimpleNamespace

    from radgrpo.eval.generate import GenerationSpec, generate_predictions
    from radgrpo.records import Prediction, read_predictions

    recs = [
        _rec(id="vindr_cxr/abnormality_grounding/abc/Nodule#1"),
        _rec(id="padchest_gr/phrase_grounding/x.png/0", task="phrase_grounding"),
        _rec(id="synthetic/abnormality_grounding/s1#2"),
    ]
    old_ids = [
        "vindr_cxr/abnormality_grounding/abc/Nodule#r1",
        "padchest_gr/phrase_grounding/x.png#0",
        "synthetic/abnormality_grounding/s1#2",
    ]
    out = tmp_path / "predictions.jsonl"
    out.write_text(
        "".join(
            json.dumps(Prediction(i, r.task.value, "q", f"done {i}", f"done {i}", 3, True, max_new_tokens=8).to_dict())
            + "\n"
            for i, r in zip(old_ids, recs)
        )
    )
    processor = SimpleNamespace(tokenizer=SimpleNamespace(padding_side="right"))
    spec = GenerationSpec(max_new_tokens=8)
    preds = generate_predictions(None, processor, recs, spec, base_dir=tmp_path, out_path=out, progress=False)
    assert [p.id for p in preds] == [r.id for r in recs]
    assert [p.completion for p in preds] == [f"done {i}" for i in old_ids]  # the old predictions, kept
    on_disk, bad = read_predictions(out)
    assert bad == 0 and [p.id for p in on_disk] == [r.id for r in recs]
