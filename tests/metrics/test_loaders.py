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


def test_preflight_finds_radgraph_where_the_metric_does(tmp_path, monkeypatch):
    """An extracted RadGraph archive (in radgrpo's models folder or the radgraph package's cache) passes the
    preflight, as the metric would use it; nothing is extracted by the check."""
    from radgrpo.metrics.loaders import ModelNotFoundError, require_models
    from radgrpo.metrics.text.radgraph_model import archive

    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(archive, "RADGRAPH_PACKAGE_CACHE", tmp_path / "pkg_cache")
    with pytest.raises(ModelNotFoundError, match="radgraph-xl"):
        require_models({"radgraph-xl": ["radgraph"]})
    extracted = tmp_path / "pkg_cache" / "radgraph-xl"
    (extracted / "vocabulary").mkdir(parents=True)
    (extracted / "config.json").write_text("{}")
    (extracted / "weights.th").write_bytes(b"")
    require_models({"radgraph-xl": ["radgraph"]})  # found in the package cache, as locate_archive finds it
    assert archive.archive_present("radgraph-xl") == extracted
    # a .tar.gz in radgrpo's models folder is enough too, and the check does not extract it
    (tmp_path / "models" / "radgraph").mkdir(parents=True)
    (tmp_path / "models" / "radgraph" / "radgraph.tar.gz").write_bytes(b"not extracted by the check")
    require_models({"radgraph": ["radcliq_v1"]})
    assert not (tmp_path / "models" / "radgraph" / "radgraph.extracted").exists()
