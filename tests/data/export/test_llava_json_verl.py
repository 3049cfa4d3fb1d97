"""Export round-trips: LLaVA/sharegpt JSON and verl parquet with mimic_mm.py's columns, image paths resolved against
the records file's folder and checked, one data_source per task, and the verl run script's settings against
radgrpo.train.verl and the paper GRPO presets (docs/data.md#export-formats, docs/training.md#verl).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/export/test_llava_json_verl.py
"""

import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from radgrpo.data.export.llava_json import llava_turns, record_to_llava, write_llava_json
from radgrpo.data.export.verl import (
    VERL_COLUMNS,
    parse_verl_data_source,
    shuffle_split,
    verl_data_source,
    verl_run_overrides,
    verl_run_script,
    write_verl,
    write_verl_run_script,
)
from radgrpo.records import Record, Task, write_jsonl
from radgrpo.train.verl import PAPER_REPORT_VERL

CONFIGS = Path(__file__).resolve().parents[3] / "radgrpo" / "configs" / "grpo"


def _records(image=lambda i: f"images/img{i}.jpg"):
    rs = [
        Record(
            f"r{i}",
            image(i),
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
            image("c"),
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


def _records_file(folder: Path, records, missing=()):
    """records.jsonl in ``folder`` with every relative image created, except those named in ``missing``."""
    for r in records:
        p = folder / r.image
        if r.image not in missing:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"img")
    write_jsonl(records, folder / "records.jsonl")
    return folder / "records.jsonl"


def test_llava_item_exact_shape():
    r = _records(lambda i: f"/data/img{i}.jpg")[0]
    assert record_to_llava(r, "mimic-train_0") == {
        "image": "/data/img0.jpg",
        "conversations": [{"from": "human", "value": "<image>\nQuestion 0?"}, {"from": "gpt", "value": "Report 0."}],
        "id": "mimic-train_0",
        "labels": ["Edema"],
    }
    assert record_to_llava(_records()[0], base="/data/x")["image"] == "/data/x/images/img0.jpg"


def test_llava_round_trip_resolves_against_the_records_folder(tmp_path, monkeypatch):
    rs = _records()
    src = _records_file(tmp_path / "recs", rs)
    monkeypatch.chdir(tmp_path)  # the current folder plays no part
    n = write_llava_json(src, tmp_path / "out" / "all_train.json")
    items = json.loads((tmp_path / "out" / "all_train.json").read_text())
    assert n == len(items) == len(rs)
    assert [it["id"] for it in items[:6]] == [f"blk_{i}" for i in range(6)] and items[6]["id"] == "c"
    for r, it in zip(rs, items):
        assert it["image"] == str(tmp_path / "recs" / r.image)
        assert sum(t["value"].count("<image>") for t in it["conversations"]) == 1
        turns = llava_turns(it)
        assert turns == (
            r.conversation or [{"role": "user", "content": r.question}, {"role": "assistant", "content": r.answer}]
        )
    assert not list(tmp_path.rglob("*.tmp"))


def test_llava_missing_images_name_the_first_and_the_count(tmp_path):
    rs = _records()
    src = _records_file(tmp_path, rs, missing={"images/img1.jpg", "images/img4.jpg"})
    out = tmp_path / "out" / "all_train.json"
    with pytest.raises(ValueError) as e:
        write_llava_json(src, out)
    assert str(e.value) == (
        f"LLaVA JSON export all_train.json: 2 of 7 images do not exist; first missing: {tmp_path}/images/img1.jpg "
        f"(record 'r1'); relative paths were resolved against {tmp_path}"
    )
    assert not out.exists() and not list(tmp_path.rglob("*.tmp"))
    assert write_llava_json(src, out, check_images=False) == 7  # opt-out (e.g. images mounted elsewhere later)


def test_relative_paths_need_a_base(tmp_path):
    with pytest.raises(ValueError, match=r"record 'r0': image path 'images/img0.jpg' is relative and no base"):
        write_llava_json(_records(), tmp_path / "x.json")
    with pytest.raises(ValueError, match=r"record 'r\d': image path 'images/img\d.jpg' is relative and no base"):
        write_verl(_records(), tmp_path / "verl")
    assert not list(tmp_path.iterdir())


def test_verl_columns_split_and_peer_shuffle(tmp_path):
    import datasets
    import pyarrow.parquet as pq

    (tmp_path / "img.png").write_bytes(b"img")
    rs = [Record(f"r{i}", "img.png", "report_generation", f"Q{i}", f"A{i}", meta={"block": "m"}) for i in range(400)]
    counts = write_verl(rs + _records(lambda i: "img.png")[-1:], tmp_path / "verl", base=tmp_path)
    assert counts == {"train": 396, "val": 4, "skipped_conversation": 1}
    train = pq.read_table(tmp_path / "verl" / "train.parquet").to_pylist()
    val = pq.read_table(tmp_path / "verl" / "val.parquet").to_pylist()
    assert tuple(pq.read_table(tmp_path / "verl" / "train.parquet").column_names) == VERL_COLUMNS
    row = train[0]
    assert row["ability"] == "radiology" and row["data_source"] == "mimic_grpo"
    assert row["images"] == [{"image": f"file://{tmp_path}/img.png", "min_pixels": 1024, "max_pixels": 451584}]
    assert row["prompt"][0]["content"] == f"<image>\nQ{row['extra_info']['id'][2:]} /think"
    assert row["extra_info"] == {"id": row["extra_info"]["id"], "split": "train", "index": 0, "thinking": True}
    # peer check: the same order as datasets.Dataset.from_list(rows).shuffle(seed=42) in mimic_mm.py
    ds = datasets.Dataset.from_list([{"k": i} for i in range(400)]).shuffle(seed=42)
    order = [d["k"] for d in ds]
    assert [int(r["extra_info"]["id"][2:]) for r in train] == order[:396]
    assert [int(r["extra_info"]["id"][2:]) for r in val] == order[396:400]
    tr, va = shuffle_split(1000)
    assert len(tr) == 990 and len(va) == 10


@pytest.mark.parametrize(("reasoning", "think"), [(False, True), (True, True), (False, False)])
def test_verl_data_source_per_task_and_thinking(tmp_path, reasoning, think):
    import pyarrow.parquet as pq

    rs = _records()
    src = _records_file(tmp_path, rs)
    counts = write_verl(src, tmp_path / "verl", reasoning=reasoning, think_suffix=think, val_size=0)
    assert counts == {"train": 5, "val": 0, "skipped_conversation": 1}  # int(0.99 * 6) = 5 of the 6 qa records
    rows = pq.read_table(tmp_path / "verl" / "train.parquet").to_pylist()
    suffix = "_reasoning" if reasoning else ""
    by_id = {r["extra_info"]["id"]: r for r in rows}
    for i, r in enumerate(rs[:6]):
        row = by_id.get(f"blk_{i}")
        if row is None:  # the one record that fell out of int(0.99 N)
            continue
        want = ("mimic_grpo" if r.task is Task.REPORT_GENERATION else "radgrpo_abnormality_grounding") + suffix
        assert row["data_source"] == want
        assert parse_verl_data_source(want) == (r.task, reasoning)
        assert row["extra_info"]["thinking"] is think
        assert row["prompt"][0]["content"].endswith(" /think") is think
        assert row["reward_model"] == {"style": "rule", "ground_truth": r.answer}
        assert row["images"][0]["image"] == f"file://{tmp_path}/images/img{i}.jpg"
    assert {verl_data_source(t) for t in Task} == {
        "mimic_grpo",
        "radgrpo_classification",
        "radgrpo_anatomical_grounding",
        "radgrpo_abnormality_grounding",
        "radgrpo_detection",
        "radgrpo_phrase_grounding",
        "radgrpo_conversation",
    }


def test_verl_missing_images_write_nothing(tmp_path):
    src = _records_file(tmp_path, _records(), missing={"images/img0.jpg", "images/img2.jpg", "images/img3.jpg"})
    with pytest.raises(ValueError) as e:
        write_verl(src, tmp_path / "verl", val_size=0)
    # the 5 written rows (int(0.99 * 6), in shuffled order) are checked
    train_idx, _ = shuffle_split(6, val_size=0)
    missing = [int(j) for j in train_idx if int(j) in (0, 2, 3)]
    assert str(e.value) == (
        f"verl export: {len(missing)} of 5 images do not exist; first missing: {tmp_path}/images/img{missing[0]}.jpg "
        f"(record 'r{missing[0]}'); relative paths were resolved against {tmp_path}"
    )
    assert not (tmp_path / "verl").exists()


def _hydra(value: str):
    """A Hydra override value read back as Python (bools, ints, floats, strings)."""
    if value in ("True", "False"):
        return value == "True"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _script_overrides(text: str) -> dict[str, str]:
    body = text.split("ARGS=(\n", 1)[1].split("\n)\n", 1)[0]
    out = {}
    for line in body.splitlines():
        key, value = shlex.split(line)[0].split("=", 1)
        out[key] = value
    return out


def test_run_script_matches_the_paper_settings(tmp_path):
    report = _script_overrides(verl_run_script(["report_generation"]))
    grounding = _script_overrides(verl_run_script(["anatomical_grounding", "phrase_grounding"]))
    # every setting of the paper's verl job, with the same value
    for key, want in PAPER_REPORT_VERL.items():
        got = _hydra(report[key])
        assert got == want and type(got) is type(want), (key, got, want)
    assert report["actor_rollout_ref.actor.optim.lr"] == "1e-06" and report["actor_rollout_ref.rollout.n"] == "8"
    assert (
        report["actor_rollout_ref.actor.kl_loss_type"] == "low_var_kl" and report["algorithm.adv_estimator"] == "grpo"
    )
    # the task-dependent lengths are the TRL presets' (grpo/paper_report, grpo/paper_grounding)
    rep_cfg = yaml.safe_load((CONFIGS / "paper_report.yaml").read_text())
    gr_cfg = yaml.safe_load((CONFIGS / "paper_grounding.yaml").read_text())
    assert int(report["data.max_response_length"]) == rep_cfg["max_completion_length"] == 1024
    from radgrpo.train.verl import trl_schedule

    rep_schedule = trl_schedule(rep_cfg, world_size=32)  # TRL's max_steps counts optimizer steps, 4 per verl step
    assert int(report["trainer.total_training_steps"]) == rep_schedule["rollout_batches"] == 300
    assert int(grounding["data.max_response_length"]) == gr_cfg["max_completion_length"] == 4096
    assert int(grounding["trainer.total_epochs"]) == gr_cfg["num_train_epochs"] == 10
    assert "trainer.total_training_steps" not in grounding
    # reward: verl 0.9's reward loop, per-sample form, radgrpo's module by package path
    assert report["reward.custom_reward_function.path"] == "pkg://radgrpo.integrations.verl"
    assert report["reward.custom_reward_function.name"] == "compute_score"
    assert report["reward.reward_manager.name"] == "naive"
    assert report["data.train_files"] == "$HERE/train.parquet" and report["data.val_files"] == "$HERE/val.parquet"
    assert report["trainer.save_freq"] == str(rep_schedule["save_every_rollouts"])
    assert report["trainer.test_freq"] == str(rep_schedule["eval_every_rollouts"])
    assert (
        int(grounding["actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu"]) == gr_cfg["per_device_train_batch_size"]
    )
    assert (int(report["data.max_prompt_length"]), int(grounding["data.max_prompt_length"])) == (3072, 4096)
    # TRL's reading of the script's settings is the presets' (same batch arithmetic on 32 GPUs)
    from radgrpo.train.verl import verl_to_trl

    kw = verl_to_trl(verl_run_overrides(["report_generation"]), n_gpus=32)
    for field in ("num_generations", "per_device_train_batch_size", "gradient_accumulation_steps", "beta", "delta"):
        assert kw[field] == rep_cfg[field], field
    path = write_verl_run_script(tmp_path, ["report_generation"])
    assert path.read_text() == verl_run_script(["report_generation"])
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0
    # MODEL_PATH is required: the script stops before launching anything
    res = subprocess.run(["bash", str(path)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert res.returncode != 0 and "set MODEL_PATH" in res.stderr
