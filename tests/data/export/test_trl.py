"""TRL rows from records: exact message structure, reward columns, thinking suffix, save/load, and the SFT
assistant-only mask (through TRL's own ``SFTTrainer`` collator on the tiny model) covering exactly the answer.
Run: pytest tests/data/export/test_trl.py"""

import shutil

import pytest

from radgrpo.data.export.trl import (
    grpo_prompt,
    load_saved_dataset,
    records_to_grpo_dataset,
    records_to_sft_dataset,
    save_dataset,
    sft_messages,
)
from radgrpo.records import Record

IMG = {"type": "image", "text": None}  # Arrow gives every content part both keys; TRL reads "type"


def test_sft_rows_exact_structure(tiny_records):
    records, path = tiny_records
    ds = records_to_sft_dataset(records[:2], path.parent)
    assert ds.column_names == ["messages", "images", "id", "task"]
    assert ds[0]["messages"] == [
        {
            "role": "user",
            "content": [IMG, {"type": "text", "text": "Where is the nodule located in this Chest X-ray?"}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": records[0].answer}]},
    ]
    assert ds[1]["task"] == "report_generation" and ds[1]["id"] == "r1"
    (img,) = ds[0]["images"]
    assert img.size == (256, 256)  # decoded from the PNG when the row is read


def test_grpo_rows_reward_columns_and_thinking(tiny_records):
    records, path = tiny_records
    ds = records_to_grpo_dataset(records[:2], path.parent, thinking=True)
    assert ds.column_names == [
        "prompt",
        "images",
        "id",
        "task",
        "reference_report",
        "reference_boxes",
        "target",
        "thinking",
    ]
    g, r = ds[0], ds[1]
    assert g["prompt"] == [
        {
            "role": "user",
            "content": [IMG, {"type": "text", "text": "Where is the nodule located in this Chest X-ray? /think"}],
        }
    ]
    assert g["reference_boxes"] == [list(records[0].reference_boxes[0])] and len(g["reference_boxes"][0]) == 4
    assert (g["task"], g["target"], g["thinking"]) == ("abnormality_grounding", "nodule", True)
    assert r["reference_report"] == "There is a nodule in the right lung. No pleural effusion."
    assert r["reference_boxes"] == [] and r["target"] == ""


def test_multi_turn_keeps_turns_image_first_only():
    rec = Record(
        "c",
        "x.png",
        "conversation",
        "Is there an effusion?",
        "Yes, on the right.",
        conversation=[
            {"role": "user", "content": "Is there an effusion?"},
            {"role": "assistant", "content": "Yes, on the right."},
            {"role": "user", "content": "How large?"},
            {"role": "assistant", "content": "Small."},
        ],
    )
    msgs = sft_messages(rec, thinking=True)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[0]["content"] == [{"type": "image"}, {"type": "text", "text": "Is there an effusion? /think"}]
    assert msgs[2]["content"] == [{"type": "text", "text": "How large?"}]
    assert grpo_prompt(rec) == [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Is there an effusion?"}]}
    ]


def test_missing_image_is_a_clear_error(tmp_path):
    rec = Record("m", "nope.png", "report_generation", "q", "a")
    with pytest.raises(FileNotFoundError, match="record 'm': image .*nope.png not found"):
        records_to_sft_dataset([rec], tmp_path)


def test_save_and_load_embed_images(tiny_records, tmp_path):
    records, path = tiny_records
    img_dir = tmp_path / "imgs"
    img_dir.mkdir()
    for r in records[:2]:
        shutil.copy(path.parent / r.image, img_dir / r.image)
    out = save_dataset(records_to_grpo_dataset(records[:2], img_dir), tmp_path / "saved")
    shutil.rmtree(img_dir)  # the saved folder must not need the original files
    back = load_saved_dataset(out)
    assert back[0]["images"][0].size == (256, 256)
    assert back[0]["reference_boxes"] == [list(records[0].reference_boxes[0])]
    with pytest.raises(FileNotFoundError, match="not a saved dataset"):
        load_saved_dataset(tmp_path)


def test_assistant_only_mask_supervises_exactly_the_answer(tiny_model_dir, tiny_records, tmp_path):
    """TRL's SFTTrainer collator (with our rows, our processor and TRL's Qwen3-VL template) masks all but the answer."""
    from trl import SFTTrainer

    from radgrpo.models.qwen3_vl import load_model, load_processor
    from radgrpo.train.configs import RadSFTConfig

    records, path = tiny_records
    ds = records_to_sft_dataset(records[:2], path.parent)
    cfg = RadSFTConfig(
        output_dir=str(tmp_path),
        model_name_or_path=str(tiny_model_dir),
        train_file="unused",
        max_length=None,
        assistant_only_loss=True,
        report_to="none",
    )
    trainer = SFTTrainer(
        model=load_model(tiny_model_dir),
        args=cfg,
        train_dataset=ds,
        processing_class=load_processor(tiny_model_dir, padding_side="right"),
    )
    batch = trainer.data_collator([ds[0], ds[1]])
    tok = trainer.processing_class.tokenizer
    image_id = tok.convert_tokens_to_ids("<|image_pad|>")
    for i, rec in enumerate(records[:2]):
        ids, labels = batch["input_ids"][i], batch["labels"][i]
        supervised = ids[labels != -100]
        assert tok.decode(supervised) == rec.answer + "<|im_end|>\n"  # the answer and its end-of-turn, nothing else
        assert int((ids == image_id).sum()) == 64 and not (supervised == image_id).any()
        assert (labels[labels != -100] == supervised).all()
