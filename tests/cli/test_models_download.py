"""``radgrpo models download`` with no names lists the known scoring models (nothing is downloaded).
Run: pytest tests/cli/test_models_download.py"""


def test_download_lists_every_scoring_model_without_downloading(capsys):
    from radgrpo.cli.main import main

    assert main(["models", "download"]) == 0
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
