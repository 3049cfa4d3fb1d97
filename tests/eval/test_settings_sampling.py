"""Sampling with seeds, the paper's regeneration policy, model adapters, the vLLM request path and the throughput
block of the run meta, on the tiny Qwen3-VL (re-drawn weights, so outputs vary with input and seed).

The vLLM engine itself is not installed here: its request and ``SamplingParams`` building are tested as data, the
regeneration loop through a scripted stand-in for the engine, and the missing package as its one-line error.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_settings_sampling.py
"""

from __future__ import annotations

import json
import logging

import pytest
from PIL import Image

from radgrpo.config import ConfigError
from radgrpo.eval.backends.hf import chat_text
from radgrpo.eval.backends.vllm import build_requests, engine_kwargs, sampling_params_kwargs, vllm_available
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import generate_predictions, generation_stats
from radgrpo.eval.settings import GenerationSpec, recorded_settings, sample_seed
from radgrpo.models.adapters import ModelAdapter, get_adapter
from radgrpo.records import Prediction, read_predictions

MAX_NEW = 6


def _gen(model, processor, records, base, **kw):
    """generate_predictions with the settings as flat keywords (GenerationSpec.build) beside out_path/progress/meta."""
    kw.setdefault("max_new_tokens", MAX_NEW)
    call = {k: kw.pop(k) for k in ("out_path", "progress", "meta") if k in kw}
    call.setdefault("progress", False)
    return generate_predictions(model, processor, records, GenerationSpec.build(**kw), base_dir=base, **call)


class _Recorder:
    """Wraps the real ``model.generate`` to record its keyword arguments and generated token ids (nothing faked)."""

    def __init__(self, model):
        self.model, self.real, self.calls = model, model.generate, []

    def __enter__(self):
        def generate(*args, **kwargs):
            out = self.real(*args, **kwargs)
            self.calls.append((kwargs, out[:, kwargs["input_ids"].shape[1] :].tolist()))
            return out

        self.model.generate = generate
        return self

    def __exit__(self, *exc):
        del self.model.generate


# ---- seeds ----


def test_same_seed_same_predictions_whatever_the_batching(varied_model, eval_data):
    model, processor = varied_model
    records, base, _ = eval_data
    a = _gen(model, processor, records, base, batch_size=4, do_sample=True, seed=3)
    b = _gen(model, processor, records, base, batch_size=1, do_sample=True, seed=3)
    subset = [records[3], records[0], records[2]]  # another order, another subset, other batch neighbours
    c = _gen(model, processor, subset, base, batch_size=2, do_sample=True, seed=3)
    other = _gen(model, processor, records, base, batch_size=4, do_sample=True, seed=4)
    greedy = _gen(model, processor, records, base, batch_size=4)
    assert [p.completion for p in a] == [p.completion for p in b]
    assert [p.n_tokens for p in a] == [p.n_tokens for p in b]
    by_id = {p.id: p.completion for p in a}
    assert [p.completion for p in c] == [by_id[r.id] for r in subset]
    assert sum(x.completion != y.completion for x, y in zip(a, other)) >= 3  # another seed draws other tokens
    assert sum(x.completion != y.completion for x, y in zip(a, greedy)) >= 3  # and sampling is not greedy
    assert a[0].generation == {
        "thinking": "off",
        "adapter": "radgrpo",
        "backend": "hf",
        "do_sample": True,
        "temperature": 1.0,
        "top_p": 1.0,
        "top_k": 0,
        "seed": 3,
        "regenerate": 0,
    }
    assert greedy[0].generation == {"thinking": "off", "adapter": "radgrpo", "backend": "hf", "do_sample": False}


def test_truncated_sampling_is_greedy(varied_model, eval_data):
    model, processor = varied_model
    records, base, _ = eval_data
    greedy = [p.completion for p in _gen(model, processor, records, base)]
    # top_k=1 and a tiny nucleus keep only the most likely token: sampling must then reproduce greedy decoding
    assert [p.completion for p in _gen(model, processor, records, base, do_sample=True, top_k=1, seed=9)] == greedy
    assert [p.completion for p in _gen(model, processor, records, base, do_sample=True, top_p=1e-6)] == greedy
    hot = _gen(model, processor, records, base, do_sample=True, temperature=50.0, seed=9)
    assert sum(p.completion != g for p, g in zip(hot, greedy)) >= 3


def test_min_p_reaches_generate_changes_the_draws_and_is_recorded_only_when_set(varied_model, eval_data, tmp_path):
    # min_p was added as a field of SamplingOptions and a line in each backend: nothing else knows it
    from transformers import MinPLogitsWarper

    from radgrpo.eval.backends.hf import SeededSampler

    model, processor = varied_model
    records, base, _ = eval_data
    out = tmp_path / "predictions.jsonl"
    plain = _gen(model, processor, records, base, do_sample=True, temperature=5.0, seed=9, out_path=out)
    with _Recorder(model) as rec:
        cut = _gen(model, processor, records, base, do_sample=True, temperature=5.0, min_p=0.5, seed=9)
    samplers = [lp for kw, _ in rec.calls for lp in kw["logits_processor"] if isinstance(lp, SeededSampler)]
    assert len(samplers) == len(rec.calls) > 0
    assert all([w.min_p for w in s.warpers if isinstance(w, MinPLogitsWarper)] == [0.5] for s in samplers)
    assert sum(a.completion != b.completion for a, b in zip(plain, cut)) >= 3  # the option changes the draws
    # min_p 1 keeps only the most likely token: sampling then reproduces greedy decoding
    greedy = [p.completion for p in _gen(model, processor, records, base)]
    assert [p.completion for p in _gen(model, processor, records, base, do_sample=True, min_p=1.0, seed=3)] == greedy
    # at its default it is not recorded (folders written before it existed still resume); set, it is compared
    assert "min_p" not in plain[0].generation and cut[0].generation["min_p"] == 0.5
    again = _gen(model, processor, records, base, do_sample=True, temperature=5.0, seed=9, out_path=out)
    assert again == plain
    with pytest.raises(ValueError, match=r"this run asks for \{.*'min_p': 0.5"):
        _gen(model, processor, records, base, do_sample=True, temperature=5.0, min_p=0.5, seed=9, out_path=out)
    # the vLLM request carries it when set
    assert sampling_params_kwargs(max_new_tokens=8, do_sample=True, min_p=0.5)["min_p"] == 0.5
    assert "min_p" not in sampling_params_kwargs(max_new_tokens=8, do_sample=True)
    with pytest.raises(ValueError, match=r"--min_p must be in \[0, 1\], got 2"):
        EvalConfig(min_p=2)


def test_sample_seed_is_stable():
    # fixed values: the seed of a record must not change between Python processes or versions (no hash())
    assert sample_seed(0, "r1") == sample_seed(0, "r1", attempt=0)
    assert len({sample_seed(0, "r1"), sample_seed(1, "r1"), sample_seed(0, "r2"), sample_seed(0, "r1", 1)}) == 4
    assert (sample_seed(0, "r1"), sample_seed(3, "g0", attempt=2)) == (218485137, 219933767)


# ---- regeneration ----


def test_regenerate_needs_sampling(varied_model, eval_data):
    model, processor = varied_model
    records, base, _ = eval_data
    with pytest.raises(ValueError, match=r"--regenerate needs --do_sample \(greedy decoding gives the same output"):
        _gen(model, processor, records, base, thinking=True, regenerate=2)
    with pytest.raises(ValueError, match="do_sample"):
        from radgrpo.eval.pipeline import evaluate

        evaluate(model, processor, records, EvalConfig(out="unused", metrics=["rougeL"], regenerate=2))


def test_regeneration_on_the_tiny_model(varied_model, eval_data):
    model, processor = varied_model
    records, base, _ = eval_data
    with _Recorder(model) as rec:
        preds = _gen(
            model, processor, records, base, batch_size=4, max_new_tokens=3, thinking=True, do_sample=True, regenerate=2
        )
    # the tiny model never writes </think>: every sample is generated 1 + 2 times, batched per task and attempt
    assert [p.n_regenerations for p in preds] == [2, 2, 2, 2]
    assert sorted(len(ids) for _, ids in rec.calls) == [1, 1, 1, 1, 1, 1, 2, 2, 2]
    for p in preds:
        assert (p.answer, p.think_closed, p.thinking) == ("", False, True)
        assert p.thought == p.completion.strip() and p.thought  # no </think>: everything is thought
        assert p.n_tokens <= 3 < p.total_tokens <= 9
    rows = sum((ids for _, ids in rec.calls), [])
    assert sum(p.total_tokens for p in preds) == sum(len(r) for r in rows)  # no eos in 3 tokens: all rows counted
    first = _gen(model, processor, records, base, max_new_tokens=3, thinking=True, do_sample=True)
    assert sum(a.completion != b.completion for a, b in zip(preds, first)) >= 3  # the kept attempt is a new draw


class ScriptedEngine:
    """A stand-in for :class:`radgrpo.eval.backends.vllm.VLLMEngine` (vLLM is not installed): the k-th request for a
    record's prompt gets the k-th scripted ``(text, finished)`` (the last one repeats); 5 tokens each."""

    def __init__(self, scripts, question_to_id):
        self.scripts, self.q2id, self.calls, self.seen = scripts, question_to_id, [], {}

    def _id(self, prompt):
        (rid,) = [i for q, i in self.q2id.items() if q in prompt]
        return rid

    def generate(self, requests, params):
        self.calls.append((requests, params))
        out = []
        for req in requests:
            rid = self._id(req["prompt"])
            k = self.seen[rid] = self.seen.get(rid, -1) + 1
            text, finished = self.scripts[rid][min(k, len(self.scripts[rid]) - 1)]
            out.append((text, 5, finished))
        return out


def test_regeneration_policy_and_vllm_requests(varied_model, eval_data):
    _, processor = varied_model
    records, base, _ = eval_data
    scripts = {
        "g0": [
            ("<think>looking", True),
            ("<think>a</think>", True),
            ("<think>ok</think> It is at [0.1, 0.2, 0.4, 0.5].", True),
        ],
        "r0": [("<think>fine</think> No effusion.", True)],
        "g1": [("<think>x</think> The heart", False)],  # cut by the token limit every time
        "r1": [("<think>never closed", True)],
    }
    engine = ScriptedEngine(scripts, {r.question: r.id for r in records})
    preds = _gen(engine, processor, records, base, thinking=True, do_sample=True, seed=7, regenerate=3, backend="vllm")
    got = {p.id: (p.n_regenerations, p.answer, p.thought, p.total_tokens) for p in preds}
    assert got == {
        "g0": (2, "It is at [0.1, 0.2, 0.4, 0.5].", "ok", 15),
        "r0": (0, "No effusion.", "fine", 5),
        "g1": (3, "The heart", "x", 20),
        "r1": (3, "", "never closed", 20),
    }
    assert [p.finished for p in preds] == [True, True, False, True]
    stats = generation_stats(preds)
    assert (stats["regenerations"], stats["regenerated_samples"], stats["no_answer"], stats["not_finished"]) == (
        8,
        3,
        1,
        1,
    )
    assert stats["generated_tokens"] == 60 and stats["tokens_per_s"] == round(60 / sum(p.seconds for p in preds), 3)
    # every request: the HF chat-template text with " /think", the record's image, its own seed for this attempt
    adapter, by_id, attempts = get_adapter("radgrpo"), {r.id: r for r in records}, {}
    for requests, params in engine.calls:
        for req, kw in zip(requests, params):
            rid = engine._id(req["prompt"])
            k = attempts[rid] = attempts.get(rid, -1) + 1
            assert req["prompt"] == chat_text(processor, adapter, by_id[rid], "suffix")
            assert by_id[rid].question + " /think" in req["prompt"]
            image = req["multi_modal_data"]["image"]
            assert isinstance(image, Image.Image) and image.size == (96, 80)
            assert kw["seed"] == sample_seed(7, rid, k)
            assert (kw["max_tokens"], kw["temperature"], kw["top_p"], kw["top_k"]) == (MAX_NEW, 1.0, 1.0, -1)
    assert attempts == {"g0": 2, "r0": 0, "g1": 3, "r1": 3}


def test_sampling_params_and_engine_kwargs(caplog):
    greedy = sampling_params_kwargs(max_new_tokens=64, do_sample=False, seed=3, stop_token_ids=[2])
    assert greedy == {
        "max_tokens": 64,
        "n": 1,
        "skip_special_tokens": True,
        "temperature": 0.0,
        "top_p": 1.0,
        "top_k": -1,
        "stop_token_ids": [2],
    }
    with caplog.at_level(logging.WARNING, logger="radgrpo.eval.backends.vllm"):
        sampled = sampling_params_kwargs(
            max_new_tokens=8,
            do_sample=True,
            temperature=0.6,
            top_p=0.9,
            top_k=20,
            seed=11,
            extra={"repetition_penalty": 1.05, "min_new_tokens": 2, "temperature": 0.1, "num_beams": 3},
        )
    assert sampled == {
        "repetition_penalty": 1.05,
        "min_tokens": 2,
        "max_tokens": 8,
        "n": 1,
        "skip_special_tokens": True,
        "temperature": 0.6,  # the evaluation's option wins over the adapter's default
        "top_p": 0.9,
        "top_k": 20,
        "seed": 11,
    }
    assert "['num_beams'] have no vLLM equivalent" in caplog.text
    assert engine_kwargs("m", tensor_parallel_size=4, gpu_memory_utilization=0.7, seed=2, max_model_len=8192) == {
        "model": "m",
        "tensor_parallel_size": 4,
        "gpu_memory_utilization": 0.7,
        "seed": 2,
        "limit_mm_per_prompt": {"image": 1},
        "max_model_len": 8192,
    }
    with pytest.raises(ValueError, match="tensor_parallel_size >= 1"):
        engine_kwargs("m", tensor_parallel_size=0)
    with pytest.raises(ValueError, match="2 texts but 1 images"):
        build_requests(["a", "b"], ["img"])


@pytest.mark.skipif(vllm_available(), reason="vLLM is installed here: the missing-package error cannot happen")
def test_missing_vllm_is_one_line_error(varied_model, eval_data, tiny_model_dir):
    from radgrpo.errors import RadgrpoUserError

    model, processor = varied_model
    records, base, _ = eval_data
    with pytest.raises(ConfigError, match=r"needs vLLM, which is not installed: pip install vllm") as e:
        _gen(str(tiny_model_dir), processor, records, base, backend="vllm")
    assert isinstance(e.value, RadgrpoUserError) and "\n" not in str(e.value)  # the CLI prints it in one line
    with pytest.raises(ConfigError, match="pip install vllm"):
        _gen(model, processor, records, base, backend="vllm")  # an HF model: vLLM would load its folder


# ---- adapters ----


class RecordingAdapter(ModelAdapter):
    """A test adapter: its own prompt (the default ``messages`` send it) and answer reading; ``parse`` records the
    image sizes it is given."""

    seen: list = []  # class-level on purpose: the adapter dataclass is frozen

    def prompt(self, record, thinking=False):
        return "Describe: " + record.question

    def parse(self, completion, record, *, thinking=False, image_size=None, input_size=None):
        RecordingAdapter.seen.append((record.id, image_size, input_size))
        return completion.strip().upper(), True


def test_adapter_prompt_parse_sizes_and_generation_defaults(varied_model, eval_data):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    model, processor = varied_model
    records, base, _ = eval_data
    plain = RecordingAdapter(name="test_recording")
    RecordingAdapter.seen.clear()
    with _Recorder(model) as rec:
        preds = _gen(model, processor, records, base, batch_size=4, adapter=plain)
    assert [p.prompt for p in preds] == ["Describe: " + r.question for r in records]
    assert [p.answer for p in preds] == [p.completion.strip().upper() for p in preds]
    assert preds[0].generation["adapter"] == "test_recording"
    # sizes: the original (w, h) and the resized model input from image_grid_thw x patch size (Qwen's smart_resize)
    ip = processor.image_processor
    factor = ip.patch_size * ip.merge_size
    h, w = smart_resize(80, 96, factor=factor, min_pixels=ip.size.shortest_edge, max_pixels=ip.size.longest_edge)
    assert (w, h) == (288, 256)
    assert sorted(RecordingAdapter.seen) == sorted((r.id, (96, 80), (w, h)) for r in records)
    # generation defaults: the adapter's suppress_tokens reach generate, its max_new_tokens loses to the evaluation's
    firsts = sorted({ids[0] for _, rows in rec.calls for ids in rows})
    strict = RecordingAdapter(name="test_suppress", generation={"suppress_tokens": firsts, "max_new_tokens": 50})
    with _Recorder(model) as rec2:
        again = _gen(model, processor, records, base, batch_size=4, adapter=strict)
    assert all(kw["suppress_tokens"] == firsts and kw["max_new_tokens"] == MAX_NEW for kw, _ in rec2.calls)
    assert all(ids[0] not in firsts for _, rows in rec2.calls for ids in rows)
    assert all(p.n_tokens <= MAX_NEW for p in again)


# ---- resume and old files ----


def test_resume_compares_sampling_settings(varied_model, eval_data, tmp_path):
    model, processor = varied_model
    records, base, _ = eval_data
    out = tmp_path / "predictions.jsonl"
    first = _gen(model, processor, records, base, do_sample=True, seed=1, out_path=out)
    with _Recorder(model) as rec:
        again = _gen(model, processor, records, base, do_sample=True, seed=1, out_path=out)
    assert rec.calls == [] and again == first
    with pytest.raises(ValueError, match=r"was generated with \{.*'seed': 1.*\}; this run asks for \{.*'seed': 2"):
        _gen(model, processor, records, base, do_sample=True, seed=2, out_path=out)
    with pytest.raises(
        ValueError,
        match=r"this run asks for \{'thinking': 'off', 'adapter': 'radgrpo', 'backend': 'hf', 'do_sample': False\}",
    ):
        _gen(model, processor, records, base, out_path=out)


def test_old_prediction_lines_load_and_resume_as_greedy(varied_model, eval_data, tmp_path):
    model, processor = varied_model
    records, base, _ = eval_data
    old = {  # a line written before thought / n_regenerations / total_tokens / generation existed
        "id": "r0",
        "task": "report_generation",
        "prompt": records[1].question,
        "completion": "OLD",
        "answer": "OLD",
        "n_tokens": 2,
        "finished": True,
        "thinking": False,
        "think_closed": True,
        "seconds": 0.5,
        "max_new_tokens": MAX_NEW,
        "meta": {},
    }
    p = Prediction.from_dict(old)
    assert (p.thought, p.n_regenerations, p.total_tokens, p.generation) == ("", 0, 0, {})
    assert recorded_settings(p) == {"thinking": "off", "adapter": "radgrpo", "backend": "hf", "do_sample": False}
    assert generation_stats([p])["tokens_per_s"] == 4.0  # n_tokens stands in for the missing total_tokens
    out = tmp_path / "predictions.jsonl"
    out.write_text(json.dumps(old) + "\n")
    preds = _gen(model, processor, records, base, out_path=out)
    assert preds[1].completion == "OLD" and len(read_predictions(out)[0]) == 4
    with pytest.raises(ValueError, match="'backend': 'hf', 'do_sample': False}; this run asks for"):
        _gen(model, processor, records, base, do_sample=True, out_path=out)


# ---- the run meta ----


def test_evaluate_records_generation_block(varied_model, eval_data, tmp_path):
    from radgrpo.eval.pipeline import evaluate

    model, processor = varied_model
    records, base, _ = eval_data
    cfg = EvalConfig(
        out=str(tmp_path / "run"),
        metrics=["rougeL"],
        n_resamples=10,
        html=False,
        progress=False,
        max_new_tokens=4,
        do_sample=True,
        temperature=0.8,
        top_k=5,
        seed=5,
    )
    res = evaluate(model, processor, records, cfg, base_dir=base)
    gen = res["detail"]["meta"]["generation"]
    preds, _ = read_predictions(tmp_path / "run" / "predictions.jsonl")
    direct = _gen(model, processor, records, base, max_new_tokens=4, do_sample=True, temperature=0.8, top_k=5, seed=5)
    assert {p.id: p.completion for p in preds} == {p.id: p.completion for p in direct}  # the options reached generation
    tokens, seconds = sum(p.n_tokens for p in preds), sum(p.seconds for p in preds)
    assert gen == {
        "backend": "hf",
        "adapter": "radgrpo",
        "do_sample": True,
        "temperature": 0.8,
        "top_p": 1.0,
        "top_k": 5,
        "seed": 5,
        "regenerate": 0,
        "n_samples": 4,
        "generated_tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 3),
        "samples_per_s": round(4 / seconds, 3),
        "regenerations": 0,
        "regenerated_samples": 0,
        "no_answer": sum(1 for p in preds if not p.answer),
        "not_finished": sum(1 for p in preds if not p.finished),
    }
    assert 0 < seconds <= res["detail"]["meta"]["generate_seconds"]
