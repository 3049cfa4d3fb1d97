"""The protocol manifest of results.json: fast model fingerprints, test-file hash, secrets left out, settings.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_manifest.py
"""

import hashlib
import json
import struct
import time

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from radgrpo.eval.config import EvalConfig
from radgrpo.eval.manifest import (
    file_fingerprint,
    fingerprint_folder,
    fingerprint_model,
    protocol_manifest,
    records_file_fingerprint,
    safetensors_header_sha256,
    scoring_model_fingerprints,
)


def _model_folder(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text('{"model_type": "qwen3_vl", "hidden_size": 64}')
    (d / "tokenizer.json").write_text('{"model": {"vocab": {"a": 0}}}')
    (d / "generation_config.json").write_text('{"eos_token_id": 2}')
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(d / "model.safetensors"))
    (d / "trainer_state.json").write_text('{"step": 1}')  # training bookkeeping: not part of the model
    (d / ".lock").write_text("x")
    return d


def test_fingerprint_changes_with_config_bytes_not_with_weight_values(tmp_path):
    d = _model_folder(tmp_path / "m")
    fp = fingerprint_folder(d)
    assert list(fp["files"]) == ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json"]
    assert fp["files"]["config.json"]["sha256"] == hashlib.sha256((d / "config.json").read_bytes()).hexdigest()
    raw = (d / "model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert fp["files"]["model.safetensors"] == {
        "size": len(raw),
        "header_sha256": hashlib.sha256(raw[: 8 + n]).hexdigest(),  # the 8-byte length + the JSON header only
    }
    # the bookkeeping file does not count: changing it keeps the fingerprint
    (d / "trainer_state.json").write_text('{"step": 2}')
    assert fingerprint_folder(d) == fp
    # one byte of config.json changes it
    (d / "config.json").write_text('{"model_type": "qwen3_vl", "hidden_size": 65}')
    changed = fingerprint_folder(d)
    assert (
        changed["sha256"] != fp["sha256"] and changed["files"]["model.safetensors"] == fp["files"]["model.safetensors"]
    )
    (d / "config.json").write_text('{"model_type": "qwen3_vl", "hidden_size": 64}')
    assert fingerprint_folder(d) == fp
    # new weight VALUES with the same header and size: a fast fingerprint does NOT see them (documented)
    save_file({"w": -np.arange(6, dtype=np.float32).reshape(2, 3)}, str(d / "model.safetensors"))
    assert (d / "model.safetensors").read_bytes() != raw and load_file(str(d / "model.safetensors"))["w"][0, 1] == -1
    assert fingerprint_folder(d) == fp
    # a new shape changes the header, hence the fingerprint
    save_file({"w": np.arange(8, dtype=np.float32).reshape(2, 4)}, str(d / "model.safetensors"))
    assert fingerprint_folder(d)["sha256"] != fp["sha256"]


def test_big_weights_are_fingerprinted_from_headers_in_milliseconds(tmp_path):
    # 4 GiB files, sparse on disk: a safetensors file is read to its header, any other file to its first MiB
    header = json.dumps({"w": {"dtype": "F32", "shape": [2**30], "data_offsets": [0, 2**32]}}).encode()
    big = tmp_path / "model-00001-of-00001.safetensors"
    with open(big, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.truncate(8 + len(header) + 2**32)
    blob = tmp_path / "pytorch_model.bin"
    with open(blob, "wb") as f:
        f.write(b"PK" * 10)
        f.truncate(2**32)
    t0 = time.perf_counter()
    fp = fingerprint_folder(tmp_path)
    assert time.perf_counter() - t0 < 2.0
    assert fp["files"][big.name]["header_sha256"] == safetensors_header_sha256(big)
    assert fp["files"]["pytorch_model.bin"] == {
        "size": 2**32,
        "head_sha256": hashlib.sha256(b"PK" * 10 + b"\0" * (2**20 - 20)).hexdigest(),
    }
    assert fp["n_bytes"] == big.stat().st_size + 2**32
    # a file named .safetensors that is not one is hashed as a plain file
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 20)
    assert set(file_fingerprint(tmp_path / "bad.safetensors")) == {"size", "sha256"}


def test_model_kinds_folder_hub_id_and_missing_path(tmp_path):
    d = _model_folder(tmp_path / "m")
    fp = fingerprint_model(d)
    assert fp["path"] == str(d.resolve()) and fp["sha256"] == fingerprint_folder(d)["sha256"]
    # a hub id in a (hand-made) local cache: its commit and the snapshot's fingerprint
    cache = tmp_path / "hub"
    repo = cache / "models--org--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    _model_folder(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    hub = fingerprint_model("org/tiny", hub_cache=cache)
    assert (hub["id"], hub["revision"], hub["sha256"]) == ("org/tiny", commit, fp["sha256"])
    assert fingerprint_model("org/other", hub_cache=cache) == {"id": "org/other"}
    assert fingerprint_model("./runs/sftt") == {"path": "./runs/sftt", "exists": False}
    assert fingerprint_model(str(tmp_path / "nope" / "x")) == {"path": str(tmp_path / "nope" / "x"), "exists": False}


def test_scoring_models_as_the_loaders_resolve_them(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path))
    enc = tmp_path / "distilbert-base-uncased"
    enc.mkdir()
    (enc / "config.json").write_text('{"model_type": "distilbert"}')
    (enc / "vocab.txt").write_text("[PAD]\nheart\n")
    save_file({"w": np.zeros(3, dtype=np.float32)}, str(enc / "model.safetensors"))
    fps = scoring_model_fingerprints(["bleu4", "bertscore"])
    assert list(fps) == ["distilbert-base-uncased"]
    assert fps["distilbert-base-uncased"]["used_by"] == ["bertscore"]
    assert fps["distilbert-base-uncased"]["sha256"] == fingerprint_folder(enc)["sha256"]
    assert fps["distilbert-base-uncased"]["path"] == str(enc.resolve())
    chex = scoring_model_fingerprints(["chexbert"])  # not in this folder nor in the (offline) HF cache
    assert chex == {
        "chexbert": {"used_by": ["chexbert"], "missing": True},
        "bert-base-uncased": chex["bert-base-uncased"],
    }
    assert chex["bert-base-uncased"]["missing"] is True


def test_test_file_hash_settings_and_no_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_TEST_KEY", "sk-very-secret-123")
    test_file = tmp_path / "test.jsonl"
    test_file.write_text('{"id": "a"}\n{"id": "b"}\n\n{"id": "c"}\n')
    fp = records_file_fingerprint(test_file)
    assert fp["sha256"] == hashlib.sha256(test_file.read_bytes()).hexdigest() and fp["n_records"] == 3
    cfg = EvalConfig(
        metrics=["bleu4", "green"],
        green_backend="openai",
        green_base_url="http://127.0.0.1:8000/v1",
        green_model="green-judge",
        green_api_key_env="RADGRPO_TEST_KEY",
        n_resamples=123,
        seed=7,
        do_sample=True,
        temperature=0.6,
    )
    assert cfg.metric_options()["green"]["api_key"] == "sk-very-secret-123"  # what the judge gets...
    m = protocol_manifest(cfg, test_file, None, cfg.metrics, generation={"tokens_per_s": 12.5, "backend": "hf"})
    text = json.dumps(m)
    assert "sk-very-secret-123" not in text and "api_key" not in m["metric_options"]["green"]  # ...never written
    assert m["metric_options"]["green"]["base_url"] == "http://127.0.0.1:8000/v1"
    assert m["config"]["green_api_key_env"] == "RADGRPO_TEST_KEY"  # the variable's name, not its value
    assert m["test_file"]["sha256"] == fp["sha256"] and m["test_file"]["n_records"] == 3
    assert m["bootstrap"] == {"n_resamples": 123, "seed": 7, "confidence": 0.95, "method": "percentile"}
    assert m["seed"] == 7 and m["metrics"] == ["bleu4", "green"]
    assert m["generation"]["tokens_per_s"] == 12.5 and m["generation"]["temperature"] == 0.6
    assert m["generation"]["do_sample"] is True and m["model"] is None
    assert m["scoring_models"]["GREEN-radllama2-7b"]["used_by"] == ["green"]
    assert m["packages"]["radgrpo"] and m["packages"]["numpy"] == np.__version__
    assert m["created"].endswith("+00:00")


def test_evaluate_predictions_writes_the_manifest(tmp_path):
    from radgrpo.eval.generate import Prediction
    from radgrpo.eval.pipeline import evaluate_predictions
    from radgrpo.records import Record, write_jsonl

    model = _model_folder(tmp_path / "model")
    rec = Record("r1", "x.png", "report_generation", "Write the report.", "No effusion.", source="mimic_cxr")
    write_jsonl([rec], tmp_path / "test.jsonl")
    cfg = EvalConfig(
        model=str(model), test_file=str(tmp_path / "test.jsonl"), out=str(tmp_path / "out"), metrics=["rougeL"]
    )
    cfg.n_resamples, cfg.html = 10, False
    pred = Prediction("r1", "report_generation", rec.question, "No effusion.", "No effusion.", 4, True)
    res = evaluate_predictions([pred], [rec], cfg, meta={"generation": {"tokens_per_s": 3.0}})
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    m = on_disk["manifest"]
    assert m == res["manifest"]
    assert m["model"]["sha256"] == fingerprint_folder(model)["sha256"]
    assert m["test_file"]["sha256"] == hashlib.sha256((tmp_path / "test.jsonl").read_bytes()).hexdigest()
    assert m["n_records_evaluated"] == 1 and m["generation"]["tokens_per_s"] == 3.0
    assert on_disk["detail"]["meta"]["run_name"] == "model" and on_disk["detail"]["meta"]["n_resamples"] == 10
    assert on_disk["anc"] == len("No effusion.") and on_disk["per_source"]["mimic_cxr"]["rougeL"] == 1.0


@pytest.mark.parametrize("name", ["org/name", "name"])
def test_hub_ids_are_not_paths(name, tmp_path):
    assert fingerprint_model(name, hub_cache=tmp_path) == {"id": name}
