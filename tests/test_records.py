"""Record and JSONL round trips. Run: pytest tests/test_records.py"""

import json

import pytest

from radgrpo.records import CHEXPERT_LABELS, Record, Task, read_jsonl, write_jsonl


def _rec(**kw):
    base = dict(id="a", image="img/a.png", task=Task.ABNORMALITY_GROUNDING, question="Where is the nodule?",
                answer="The nodule is at [0.1, 0.2, 0.3, 0.4].", reference_boxes=[[0.1, 0.2, 0.3, 0.4]],
                labels={"Lung Lesion": 1, "No Finding": 0}, target="nodule")
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
