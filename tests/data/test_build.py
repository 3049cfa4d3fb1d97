"""``build_dataset`` end to end on fixture roots of all seven sources: counts per block, drop reasons, patient-level
splits, resume (no rework, identical bytes), atomic outputs, exports. The commands ``radgrpo data build|validate``:
tests/cli/test_data_build.py.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_build.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from grounding_layouts import write_chest_imagenome, write_ms_cxr, write_padchest_gr, write_vindr
from source_layouts import write_chexpert, write_chexpert_plus, write_mimic

from radgrpo.data.build import DataConfig, build_dataset
from radgrpo.records import read_jsonl


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("roots")
    mimic = write_mimic(base / "mimic", n_subjects=10)
    truth = {
        "mimic": mimic,
        "chexpert": write_chexpert(base / "chexpert"),
        "chexpert_plus": write_chexpert_plus(base / "chexpert"),
        "ci": write_chest_imagenome(base / "ci", mimic["frontal_meta"]),
        "vindr": write_vindr(base / "vindr", images=False),
        "ms": write_ms_cxr(base / "ms", mimic["frontal_meta"]),
        "pc": write_padchest_gr(base / "pc"),
    }
    flags = {
        "mimic_cxr_root": base / "mimic",
        "chexpert_root": base / "chexpert",
        "chexpert_plus_root": base / "chexpert",
        "chest_imagenome_root": base / "ci",
        "vindr_cxr_root": base / "vindr",
        "ms_cxr_root": base / "ms",
        "padchest_gr_root": base / "pc",
    }
    return base, truth, {k: str(v) for k, v in flags.items()}


def _cfg(out, flags, **kw):
    return DataConfig(out=str(out), vindr_convert=True, vindr_image_size=32, progress=False, **{**flags, **kw})


def test_build_counts_drops_splits_and_exports(roots, tmp_path):
    base, truth, flags = roots
    stats = build_dataset(_cfg(tmp_path / "out", flags))
    b = stats["blocks"]
    n_vindr_findings = sum(len(e["findings"]) for e in truth["vindr"]["rows"].values())
    assert b["vindr-cxr-train"]["counts"] == {"train": {"detection": 2 * len(truth["vindr"]["rows"])}}
    assert b["vindr-cxr-mono-train"]["counts"] == {"train": {"abnormality_grounding": 3 * n_vindr_findings}}
    mimic_train = [e for e in truth["mimic"]["rows"].values() if e["split"] == "train"]
    assert b["mimic-train"]["counts"]["train"] == {"report_generation": len(mimic_train)}
    assert b["mimic-train"]["drops"]["counts"]["missing_image"] == 1
    assert b["mimic-train"]["drops"]["counts"]["malformed_csv_row"] == 1
    assert b["chexpert-train"]["counts"] == {"train": {"classification": len(truth["chexpert"]["rows"])}}
    assert b["chexpertplus-train"]["counts"] == {"train": {"report_generation": len(truth["chexpert_plus"]["rows"])}}
    meta = truth["mimic"]["frontal_meta"]
    ci_ok = [
        d
        for d in truth["ci"]["rows"]
        if (base / "mimic" / f"files/p{meta[d][1][:2]}/p{meta[d][1]}/s{meta[d][2]}/{d}.jpg").is_file()
    ]
    assert len(ci_ok) == len(truth["ci"]["rows"]) - 1  # the fixture's missing MIMIC image
    assert b["chestima-train"]["counts"] == {"train": {"anatomical_grounding": len(ci_ok)}}
    assert b["padchest-train"]["counts"] == {"train": {"phrase_grounding": 2 * 3}}  # 3 train/val images, x2
    assert b["padchest-train"]["drops"]["counts"] == {"not_frontal": 1}
    # 3 train phrases, one on the missing MIMIC image, x3 repeats
    assert b["mscxr-train"]["counts"] == {"train": {"phrase_grounding": 2 * 3}}
    assert b["mscxr-train"]["drops"]["counts"]["missing_image"] == 1
    out = tmp_path / "out"
    train = read_jsonl(out / "records" / "train.jsonl")
    assert (
        len(train)
        == stats["splits"]["train"]
        == sum(sum(c.values()) for st in b.values() for c in st["counts"].values())
    )
    assert len({r.id for r in train}) == len(train)
    assert stats["patients_in_several_splits"]["count"] == 0
    llava = json.loads((out / "llava" / "train.json").read_text())
    assert len(llava) == len(train) and llava[0]["id"] == f"{train[0].meta['block']}_0"
    n_rep = sum(r.task.value == "report_generation" for r in train)
    assert stats["exports"]["verl"]["train"] + stats["exports"]["verl"]["val"] == n_rep
    assert json.loads((out / "stats.json").read_text())["splits"] == stats["splits"]
    assert (out / "config.yaml").is_file() and not list(out.rglob("*.tmp"))
    assert all(Path(r.image).is_file() for r in train)  # VinDr JPGs converted, all others present


def test_resume_skips_finished_shards_and_is_byte_identical(roots, tmp_path):
    _, _, flags = roots
    blocks = [
        {
            "name": "pc",
            "source": "padchest_gr",
            "tasks": ["phrase_grounding"],
            "repeats": 2,
            "splits": ["train", "validate", "test"],
        },
        {"name": "cx", "source": "chexpert", "tasks": ["classification"]},
    ]
    cfg = _cfg(tmp_path / "o", flags, blocks=blocks, exports=["records"])
    first = build_dataset(cfg)
    before = {p.name: p.read_bytes() for p in (tmp_path / "o" / "records").iterdir()}
    second = build_dataset(cfg)
    assert all(st["resumed"] for st in second["blocks"].values())
    assert not any(st["resumed"] for st in first["blocks"].values())
    assert {p.name: p.read_bytes() for p in (tmp_path / "o" / "records").iterdir()} == before
    assert set(before) == {"train.jsonl", "validate.jsonl", "test.jsonl"}
    # a changed option invalidates the shard
    third = build_dataset(_cfg(tmp_path / "o", flags, blocks=blocks, exports=["records"], seed=1))
    assert not any(st["resumed"] for st in third["blocks"].values())


def test_num_samples_cap_is_seeded(roots, tmp_path):
    _, truth, flags = roots
    blocks = [{"name": "ci", "source": "chest_imagenome", "tasks": ["anatomical_grounding"], "num_samples": 3}]
    a = build_dataset(_cfg(tmp_path / "a", flags, blocks=blocks, exports=["records"]))
    assert a["splits"] == {"train": 3}
    ids = lambda p: sorted(r.id for r in read_jsonl(p / "records" / "train.jsonl"))  # noqa: E731
    build_dataset(_cfg(tmp_path / "b", flags, blocks=blocks, exports=["records"]))
    assert ids(tmp_path / "a") == ids(tmp_path / "b")


def test_mimic_conversation_block_reads_radvlm_files(roots, tmp_path):
    base, truth, flags = roots
    train = sorted(d for d, e in truth["mimic"]["rows"].items() if e["split"] == "train")
    conv_dir = base / "mimic" / "conversations" / "train" / "standard"
    conv_dir.mkdir(parents=True, exist_ok=True)
    (conv_dir / f"{train[0]}.json").write_text(
        json.dumps(
            [
                {"from": "human", "value": "<image>\nIs the heart enlarged?"},
                {"from": "gpt", "value": "Mildly."},
                {"from": "human", "value": "Any effusion?"},
                {"from": "gpt", "value": "No."},
            ]
        )
    )
    blocks = [{"name": "conv-train", "source": "mimic_cxr", "tasks": ["conversation"]}]
    try:
        stats = build_dataset(_cfg(tmp_path / "c", flags, blocks=blocks, exports=["records", "llava_json"]))
    finally:
        (conv_dir / f"{train[0]}.json").unlink()
    assert stats["splits"] == {"train": 1}
    drops = stats["blocks"]["conv-train"]["drops"]["counts"]
    assert drops["missing_conversation"] == len(train) - 1  # every other train frontal image is counted
    rec = read_jsonl(tmp_path / "c" / "records" / "train.jsonl")[0]
    assert rec.question == "Is the heart enlarged?" and rec.conversation is not None and len(rec.conversation) == 4
    item = json.loads((tmp_path / "c" / "llava" / "train.json").read_text())[0]
    assert [t["value"] for t in item["conversations"]] == [
        "<image>\nIs the heart enlarged?",
        "Mildly.",
        "Any effusion?",
        "No.",
    ]


def test_patient_in_two_splits_is_reported(roots, tmp_path):
    _, _, flags = roots
    # the CheXpert fixture's valid.csv repeats patient00001 of train.csv
    blocks = [{"name": "cx", "source": "chexpert", "tasks": ["classification"], "splits": ["train", "validate"]}]
    stats = build_dataset(_cfg(tmp_path / "l", flags, blocks=blocks, exports=["records"]))
    assert stats["patients_in_several_splits"] == {
        "count": 1,
        "examples": {"chexpert/patient00001": ["train", "validate"]},
    }


def test_trl_export_round_trip(roots, tmp_path):
    import datasets

    _, _, flags = roots
    blocks = [
        {"name": "pc", "source": "padchest_gr", "tasks": ["phrase_grounding"]},
        {"name": "cxp", "source": "chexpert_plus", "tasks": ["report_generation"]},
    ]
    stats = build_dataset(_cfg(tmp_path / "t", flags, blocks=blocks, exports=["records", "trl"]))
    recs = read_jsonl(tmp_path / "t" / "records" / "train.jsonl")
    assert stats["exports"]["trl"] == {"train": len(recs)}
    grpo = datasets.load_from_disk(str(tmp_path / "t" / "trl" / "grpo" / "train"))
    sft = datasets.load_from_disk(str(tmp_path / "t" / "trl" / "sft" / "train"))
    assert len(grpo) == len(sft) == len(recs)
    for r, g in zip(recs, grpo):
        assert g["id"] == r.id and g["task"] == r.task.value
        assert g["reference_report"] == (r.reference_report or "")
        assert [tuple(b) for b in g["reference_boxes"]] == [tuple(b) for b in r.reference_boxes]
