"""Model resolution and the missing-model error. Run: pytest tests/metrics/test_loaders.py"""

import pytest

from radgrpo.metrics.loaders import MODEL_SPECS, ModelNotFoundError, resolve_model


def test_missing_model_error_names_files_folder_and_command(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ModelNotFoundError) as e:
        resolve_model("distilroberta-base")
    msg = str(e.value)
    assert "config.json" in msg and "vocab.json" in msg
    assert str(tmp_path / "models" / "distilroberta-base") in msg
    assert "radgrpo models download distilroberta-base" in msg


def test_resolves_radgrpo_models_dir_and_explicit_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path))
    folder = tmp_path / "distilbert-base-uncased"
    folder.mkdir()
    for f in MODEL_SPECS["distilbert-base-uncased"].files:
        (folder / f).write_text("{}")
    # config and tokenizer without weights is not a model: the error names the weight files too
    with pytest.raises(ModelNotFoundError, match=r"and the weights \(model.safetensors or pytorch_model.bin\)"):
        resolve_model("distilbert-base-uncased")
    (folder / "model.safetensors").write_bytes(b"")
    assert resolve_model("distilbert-base-uncased") == folder
    other = tmp_path / "elsewhere"
    other.mkdir()
    with pytest.raises(ModelNotFoundError, match="missing: config.json"):
        resolve_model("distilbert-base-uncased", model_dir=other)
    assert resolve_model(str(other)) == other  # an arbitrary local folder is taken as is
