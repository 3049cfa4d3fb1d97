"""``radgrpo models build-tiny``: the tokenizer is trained on the corpus file, the image size reaches the processor.
Run: pytest tests/cli/test_models_build_tiny.py"""

import json

from radgrpo.records import Record, write_jsonl


def test_build_tiny_cli_trains_the_tokenizer_on_the_corpus(tmp_path, capsys):
    from radgrpo.cli.main import main
    from radgrpo.models.qwen3_vl import load_processor

    corpus = tmp_path / "train.jsonl"
    text = "Pneumomediastinum pneumomediastinum is seen. " * 3
    write_jsonl(
        [Record(str(i), "x.png", "report_generation", "Describe the pneumomediastinum.", text) for i in range(5)],
        corpus,
    )
    out = tmp_path / "tiny"
    assert main(["models", "build-tiny", "--out", str(out), "--corpus_file", str(corpus), "--image_size", "64"]) == 0
    assert str(out) in capsys.readouterr().out
    assert json.loads((out / "radgrpo_tiny.json").read_text())["image_size"] == 64
    proc = load_processor(out)
    assert proc.image_processor.size == {"shortest_edge": 64 * 64, "longest_edge": 64 * 64}
    assert "Ġpneumomediastinum" in proc.tokenizer.get_vocab()  # a word repeated in the corpus became one token
