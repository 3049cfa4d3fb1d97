"""``radgrpo grpo``'s user errors before training: every missing scoring model of the rewards in one line, exit code
2, nothing written. (GRPO itself: tests/train/.)

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_grpo.py
"""

from radgrpo.cli.main import main


def test_preflight_lists_every_missing_model_and_writes_nothing(
    tiny_model_dir, tiny_records, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "no_models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no_cache"))
    out = tmp_path / "run"
    argv = ["grpo", "--model_name_or_path", str(tiny_model_dir), "--train_file", str(tiny_records[1])]
    argv += ["--output_dir", str(out), "--reward_funcs", "radcliq", "grounding_soft_f1", "--report_to", "none"]
    argv += ["--reward_kwargs", '{"radcliq": {"config": "radcliq_v1"}}']
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "5 scoring model(s) missing, training did not start" in err[0]
    for model in ("radgraph-xl", "radgraph-xl-backbone", "chexbert", "bert-base-uncased", "distilroberta-base"):
        assert f"{model} (for radcliq)" in err[0]
    assert "radgrpo models download" in err[0] and not out.exists()
