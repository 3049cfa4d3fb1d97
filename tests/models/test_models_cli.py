"""``radgrpo models build-tiny`` and the ``radgrpo sft/grpo`` parser (YAML first, flags override).
Run: pytest tests/models/test_models_cli.py"""

import json

import pytest
import torch

from radgrpo.records import Record, write_jsonl


def test_build_tiny_cli_trains_the_tokenizer_on_the_corpus(tmp_path, capsys):
    from radgrpo.cli.models import build_tiny_main
    from radgrpo.models.qwen3_vl import load_processor

    corpus = tmp_path / "train.jsonl"
    text = "Pneumomediastinum pneumomediastinum is seen. " * 3
    write_jsonl(
        [Record(str(i), "x.png", "report_generation", "Describe the pneumomediastinum.", text) for i in range(5)],
        corpus,
    )
    out = tmp_path / "tiny"
    assert build_tiny_main(["--out", str(out), "--corpus_file", str(corpus), "--image_size", "64"]) == 0
    assert str(out) in capsys.readouterr().out
    assert json.loads((out / "radgrpo_tiny.json").read_text())["image_size"] == 64
    proc = load_processor(out)
    assert proc.image_processor.size == {"shortest_edge": 64 * 64, "longest_edge": 64 * 64}
    assert "Ġpneumomediastinum" in proc.tokenizer.get_vocab()  # a word repeated in the corpus became one token


def test_train_parser_reads_yaml_then_flags(tmp_path):
    from radgrpo.cli.train import _parse
    from radgrpo.train.configs import RadGRPOConfig

    cfg_file = tmp_path / "g.yaml"
    cfg_file.write_text(
        "reward_funcs: [grounding_soft_f1, bleu4]\nnum_generations: 4\nlearning_rate: 1.0e-6\n"
        "per_device_train_batch_size: 8\n"
    )
    cfg = _parse(
        RadGRPOConfig,
        [
            "--config",
            str(cfg_file),
            "--model_name_or_path",
            "m",
            "--train_file",
            "t.jsonl",
            "--output_dir",
            str(tmp_path / "o"),
            "--learning_rate",
            "3e-6",
        ],
    )
    assert cfg.reward_funcs == ["grounding_soft_f1", "bleu4"] and cfg.num_generations == 4
    assert cfg.learning_rate == 3e-6  # the flag wins over the YAML
    if not torch.cuda.is_available():
        assert cfg.use_cpu is True and cfg.bf16 is False  # the CPU fallback
    with pytest.raises(ValueError, match="--train_file"):
        _parse(RadGRPOConfig, ["--model_name_or_path", "m", "--output_dir", str(tmp_path / "o")])


def test_download_lists_every_scoring_model_without_downloading(capsys):
    from radgrpo.cli.models import download_main

    assert download_main([]) == 0
    names = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert {
        "distilroberta-base",
        "distilbert-base-uncased",
        "bert-base-uncased",
        "chexbert",
        "radgraph",
        "radgraph-xl",
        "GREEN-radllama2-7b",
    } <= names
