"""Export round-trips: LLaVA/sharegpt JSON and verl parquet with mimic_mm.py's columns (docs/data.md#export-formats).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_export_llava_verl.py
"""

import json

from radgrpo.data.export.llava_json import llava_turns, record_to_llava, write_llava_json
from radgrpo.data.export.verl import VERL_COLUMNS, shuffle_split, write_verl
from radgrpo.records import Record


def _records():
    rs = [
        Record(
            f"r{i}",
            f"/data/img{i}.jpg",
            "abnormality_grounding" if i % 2 else "report_generation",
            f"Question {i}?",
            f"Answer {i} [0.1, 0.2, 0.3, 0.4]." if i % 2 else f"Report {i}.",
            labels={"Edema": 1, "No Finding": 0, "Fracture": 0} if i == 0 else {},
            meta={"block": "blk"},
        )
        for i in range(6)
    ]
    rs.append(
        Record(
            "c",
            "/data/c.jpg",
            "conversation",
            "Q1",
            "A1",
            conversation=[
                {"role": "user", "content": "Q1"},
                {"role": "assistant", "content": "A1"},
                {"role": "user", "content": "Q2"},
                {"role": "assistant", "content": "A2"},
            ],
        )
    )
    return rs


def test_llava_item_exact_shape():
    r = _records()[0]
    assert record_to_llava(r, "mimic-train_0") == {
        "image": "/data/img0.jpg",
        "conversations": [{"from": "human", "value": "<image>\nQuestion 0?"}, {"from": "gpt", "value": "Report 0."}],
        "id": "mimic-train_0",
        "labels": ["Edema"],
    }


def test_llava_round_trip(tmp_path):
    rs = _records()
    n = write_llava_json(rs, tmp_path / "all_train.json")
    items = json.loads((tmp_path / "all_train.json").read_text())
    assert n == len(items) == len(rs)
    assert [it["id"] for it in items[:6]] == [f"blk_{i}" for i in range(6)] and items[6]["id"] == "c"
    for r, it in zip(rs, items):
        assert it["image"] == r.image
        assert sum(t["value"].count("<image>") for t in it["conversations"]) == 1
        turns = llava_turns(it)
        assert turns == (
            r.conversation or [{"role": "user", "content": r.question}, {"role": "assistant", "content": r.answer}]
        )
    assert not list(tmp_path.glob("*.tmp"))


def test_verl_columns_split_and_peer_shuffle(tmp_path):
    import datasets
    import pyarrow.parquet as pq

    rs = [
        Record(f"r{i}", f"/d/{i}.jpg", "report_generation", f"Q{i}", f"A{i}", meta={"block": "m"}) for i in range(400)
    ]
    counts = write_verl(rs + _records()[-1:], tmp_path)
    assert counts == {"train": 396, "val": 4, "skipped_conversation": 1}
    train = pq.read_table(tmp_path / "train.parquet").to_pylist()
    val = pq.read_table(tmp_path / "val.parquet").to_pylist()
    assert tuple(pq.read_table(tmp_path / "train.parquet").column_names) == VERL_COLUMNS
    row = train[0]
    assert row["ability"] == "radiology" and row["data_source"] == "mimic_grpo"
    assert row["images"] == [
        {"image": f"file://{row['images'][0]['image'][7:]}", "min_pixels": 1024, "max_pixels": 451584}
    ]
    assert row["prompt"][0]["content"].startswith("<image>\n") and row["prompt"][0]["content"].endswith(" /think")
    assert row["extra_info"]["split"] == "train" and row["extra_info"]["index"] == 0
    # peer check: the same order as datasets.Dataset.from_list(rows).shuffle(seed=42) in mimic_mm.py
    ds = datasets.Dataset.from_list([{"k": i} for i in range(400)]).shuffle(seed=42)
    order = [d["k"] for d in ds]
    assert [int(r["extra_info"]["id"][2:]) for r in train] == order[:396]
    assert [int(r["extra_info"]["id"][2:]) for r in val] == order[396:400]
    tr, va = shuffle_split(1000)
    assert len(tr) == 990 and len(va) == 10
