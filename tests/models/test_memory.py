"""The memory formula (radgrpo.models.memory) and benchmarks/bench_memory.py's fit: stated arithmetic, exact values.

Run: python -m pytest -q tests/models/test_memory.py
"""

import sys
from pathlib import Path

import pytest

from radgrpo.models.memory import COEFFICIENTS, per_gpu_bytes, predict_peak_bytes
from radgrpo.models.shapes import SHAPES

sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))
from bench_loader import load_benchmark


def test_fit_recovers_the_coefficients_of_exact_runs():
    v, w, a, b, c = 2.0e8, 5.0e7, 3.0e5, 1.2e5, 2.5
    runs = [
        {
            "batch": n,
            "tokens": t,
            "layers": lay,
            "logit_tokens": k,
            "activations": n * (v + w * lay) + t * (a + b * lay) + k * 151936 * c,
        }
        for n, t, lay, k in (
            (1, 610, 1, 128),
            (4, 2440, 1, 512),
            (1, 994, 1, 512),
            (1, 610, 2, 128),
            (4, 2440, 2, 512),
            (1, 994, 2, 512),
            (2, 1800, 2, 300),
        )
    ]
    f = load_benchmark("bench_memory").fit(runs)
    for name, value in zip("vwabc", (v, w, a, b, c)):
        assert f[name] == pytest.approx(value, rel=1e-4), name
    assert f["max_rel_error"] < 1e-6


def test_prediction_is_the_stated_formula():
    k = {"v": 1000.0, "w": 50.0, "a": 100.0, "b": 10.0, "c": 0.5}
    full = predict_peak_bytes(
        "qwen3-vl-2b", 2, tokens=1000, logit_tokens=16, images=3, dtype="bfloat16", coefficients=k
    )
    p = SHAPES["qwen3-vl-2b"].parameter_count(2, 2)
    assert full["parameters"] == p and full["state"] == 16 * p
    assert full["activations"] == int((3 * (1000 + 50 * 2) + 1000 * (100 + 10 * 2)) * 2 / 4)
    assert full["logits"] == int(16 * 151936 * 0.5 * 2 / 4)
    assert full["total"] == full["state"] + full["activations"] + full["logits"]
    lora = predict_peak_bytes("qwen3-vl-2b", 2, tokens=1000, logit_tokens=16, mode="lora", coefficients=k)
    assert lora["state"] == 2 * p  # frozen bf16 weights only
    with pytest.raises(ValueError, match="unknown shape"):
        predict_peak_bytes("qwen3-vl-3b", 2, tokens=1, logit_tokens=1)


def test_per_gpu_figure_of_the_8b_model_shards_state_and_reference():
    g = per_gpu_bytes("qwen3-vl-8b", world_size=8, tokens=4 * 1524, logit_tokens=4 * 1024, sharding="zero3")
    s = SHAPES["qwen3-vl-8b"]
    p = s.parameter_count(s.text_layers, s.vision_depth)
    assert 8.7e9 < p < 8.8e9  # Qwen3-VL-8B: 8.77 B parameters
    assert g["parameters"] == p and g["state"] == 16 * p // 8 and g["reference"] == 2 * p // 8
    one_layer = s.parameter_count(2, 1) - s.parameter_count(1, 1)
    assert g["gathered_layers"] == 4 * one_layer
    parts = ("state", "reference", "gathered_layers", "activations", "logits")
    assert g["total"] == sum(g[x] for x in parts)
    assert per_gpu_bytes("qwen3-vl-8b", world_size=8, tokens=1, logit_tokens=1, sharding="fsdp2")["sharding"] == "fsdp2"
    assert set(COEFFICIENTS) == set(SHAPES)
