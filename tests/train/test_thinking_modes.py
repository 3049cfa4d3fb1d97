"""One thinking mode for training (off | suffix | native, true/false still accepted), the thinking presets, the
cold-start SFT mix and the paper's missing-</think> rule of the rewards.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/train/test_thinking_modes.py
"""

from __future__ import annotations

import dataclasses

import pytest

from radgrpo.config import ConfigError
from radgrpo.data.export.trl import records_to_grpo_dataset, sft_messages
from radgrpo.data.prompts import THINK_SUFFIX
from radgrpo.records import write_jsonl
from radgrpo.rewards.registry import get_reward
from radgrpo.train.configs import RadGRPOConfig, RadSFTConfig
from radgrpo.train.parse import parse_train_config
from radgrpo.train.sft import build_sft_dataset, mix_count

BASE = ["--model_name_or_path", "m", "--train_file", "t.jsonl", "--output_dir", "/tmp/radgrpo_thinking_modes"]


@pytest.mark.parametrize(
    "argv,mode",
    [
        ([], "off"),
        (["--thinking"], "suffix"),
        (["--thinking", "native"], "native"),
        (["--thinking", "true"], "suffix"),
        (["--thinking", "false"], "off"),
        (["--thinking", "SUFFIX"], "suffix"),
    ],
)
def test_flag_values(argv, mode):
    assert parse_train_config(RadSFTConfig, BASE + argv).thinking == mode


def test_yaml_values_and_bad_value(tmp_path):
    for text, mode in (("thinking: true", "suffix"), ("thinking: off", "off"), ("thinking: native", "native")):
        (tmp_path / "c.yaml").write_text(text + "\n")
        assert parse_train_config(RadGRPOConfig, BASE + ["--config", str(tmp_path / "c.yaml")]).thinking == mode
    with pytest.raises(ConfigError, match="thinking must be one of off, suffix, native"):
        parse_train_config(RadSFTConfig, BASE + ["--thinking", "maybe"])


def test_thinking_presets_layer_over_the_paper_presets():
    for overlay, mode in (("grpo/thinking_suffix", "suffix"), ("grpo/thinking_native", "native")):
        for preset in ("grpo/paper_report", "grpo/paper_grounding"):
            cfg = parse_train_config(RadGRPOConfig, BASE + ["--config", preset, "--config", overlay])
            assert (cfg.thinking, cfg.max_completion_length) == (mode, 4096)
        assert parse_train_config(RadGRPOConfig, BASE + ["--config", "grpo/paper_report"]).thinking == "off"
    sft = parse_train_config(RadSFTConfig, BASE + ["--config", "sft/thinking", "--mix_file", "plain.jsonl"])
    assert (sft.thinking, sft.mix_share, sft.learning_rate) == ("suffix", 0.06, 1e-5)
    with pytest.raises(ConfigError, match="--mix_share needs --mix_file"):
        parse_train_config(RadSFTConfig, BASE + ["--config", "sft/thinking"])


def test_modes_in_the_training_rows(tiny_records):
    records, path = tiny_records
    q = records[0].question
    for mode, text, col in (
        ("off", q, False),
        ("suffix", q + THINK_SUFFIX, True),
        ("native", q, True),
        (True, q + THINK_SUFFIX, True),
    ):
        ds = records_to_grpo_dataset(records[:1], path.parent, thinking=mode)
        assert ds[0]["prompt"][0]["content"][1]["text"] == text
        assert ds[0]["thinking"] is col
        assert sft_messages(records[0], thinking=mode)[0]["content"][1]["text"] == text


def test_cold_start_mix(tiny_records, tmp_path):
    records, path = tiny_records
    think_recs = [dataclasses.replace(r, answer="<think>look</think>\n\n" + r.answer) for r in records[:6]]
    write_jsonl(think_recs, path.parent / "thinking.jsonl")
    cfg = parse_train_config(
        RadSFTConfig,
        [
            "--model_name_or_path",
            "m",
            "--output_dir",
            str(tmp_path / "o"),
            "--train_file",
            str(path.parent / "thinking.jsonl"),
            "--mix_file",
            str(path),
            "--mix_share",
            "0.25",
            "--thinking",
            "suffix",
            "--seed",
            "3",
        ],  # fmt: skip
    )
    ds, recs = build_sft_dataset(cfg)
    assert mix_count(6, 0.25, 8) == 2 and len(ds) == len(recs) == 8
    by_think = {}
    for row in ds:
        user = row["messages"][0]["content"][1]["text"]
        answer = row["messages"][-1]["content"][0]["text"]
        by_think.setdefault(answer.startswith("<think>"), []).append(user.endswith(THINK_SUFFIX))
    assert by_think[True] == [True] * 6  # thinking traces: " /think" prompts
    assert by_think[False] == [False] * 2  # the plain share: thinking off
    ds2, _ = build_sft_dataset(cfg)
    assert ds2["id"] == ds["id"]  # the same seed gives the same mix and order


def test_missing_think_tag_gets_the_papers_values():
    ref = "There is no pleural effusion and no pneumothorax on this image."
    comps = [f"<think>the heart is large but I never close {ref}", f"<think>ok</think> {ref}"]
    cols = {"task": ["report_generation"] * 2, "reference_report": [ref] * 2, "thinking": [True] * 2}
    bleu = get_reward("bleu4")(comps, **cols)
    assert bleu[0] == 0.0 and bleu[1] == pytest.approx(1.0)
    g = get_reward("grounding_soft_f1")(
        ["<think>looking", "<think>ok</think> [0.1, 0.1, 0.5, 0.5]"],
        task=["abnormality_grounding"] * 2,
        reference_boxes=[[[0.1, 0.1, 0.5, 0.5]]] * 2,
        thinking=[True] * 2,
    )
    assert g[0] == 0.0 and g[1] == pytest.approx(1.0)
    # rule_finding_errors' best value is 0: a missing </think> is scored as an empty report instead
    ref2 = "Moderate cardiomegaly. Small left pleural effusion."
    errs = get_reward("rule_finding_errors")(
        ["<think>never closed Moderate cardiomegaly.", "<think>x</think>", "<think>x</think> Moderate cardiomegaly."],
        reference_report=[ref2] * 3,
        thinking=[True] * 3,
    )
    assert errs == [-2.0, -2.0, -1.0]
    import inspect

    from radgrpo.rewards.clinical import RadCliQReward

    assert inspect.signature(RadCliQReward).parameters["missing_think_score"].default == -3.0
