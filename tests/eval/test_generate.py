"""Greedy batched generation on the tiny Qwen3-VL: prediction fields, predictions.jsonl, left padding, resume.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_generate.py
"""

import json

import pytest

from radgrpo.eval.generate import GenerationSpec, generate_predictions, split_answer, split_thought
from radgrpo.eval.score import score_predictions
from radgrpo.records import Prediction, read_predictions

MAX_NEW = 6


@pytest.fixture(scope="module")
def first_run(varied_model, eval_data, tmp_path_factory):
    model, processor = varied_model
    records, base, _ = eval_data
    out = tmp_path_factory.mktemp("gen") / "predictions.jsonl"
    spec = GenerationSpec(batch_size=4, max_new_tokens=MAX_NEW)
    preds = generate_predictions(
        model, processor, records, spec, base_dir=base, out_path=out, progress=False, meta={"run": "t"}
    )
    return preds, out


def test_prediction_fields(first_run, eval_data, varied_model):
    preds, _ = first_run
    records, _, _ = eval_data
    tok = varied_model[1].tokenizer
    assert [p.id for p in preds] == [r.id for r in records]  # record order, although batched by task
    for p, r in zip(preds, records):
        assert (p.task, p.prompt, p.thinking, p.meta) == (r.task.value, r.question, False, {"run": "t"})
        assert 1 <= p.n_tokens <= MAX_NEW
        assert p.finished or p.n_tokens == MAX_NEW  # stopping early is only possible on EOS
        assert p.answer == p.completion.strip()
        assert p.seconds > 0
        assert (p.thought, p.n_regenerations, p.total_tokens) == ("", 0, p.n_tokens)  # greedy, not thinking
        assert p.generation == {"thinking": "off", "adapter": "radgrpo", "backend": "hf", "do_sample": False}
        # the completion decodes exactly the generated tokens, stop token and padding excluded
        assert tok.eos_token not in p.completion and "<|endoftext|>" not in p.completion


def test_predictions_jsonl_matches_returned(first_run):
    preds, out = first_run
    lines = out.read_text().splitlines()
    assert len(lines) == len(preds)
    on_disk = {p.id: p for p in (Prediction.from_dict(json.loads(line)) for line in lines)}
    assert on_disk == {p.id: p for p in preds}  # the file is in generation order (grouped by task)


def test_left_padded_batch_equals_one_by_one(first_run, varied_model, eval_data):
    preds, _ = first_run
    model, processor = varied_model
    records, base, _ = eval_data
    single = [
        generate_predictions(
            model, processor, [r], GenerationSpec(batch_size=1, max_new_tokens=MAX_NEW), base_dir=base, progress=False
        )[0]
        for r in records
    ]
    # the four prompts differ in length, so the batch is padded; the outputs must not depend on it
    assert [p.completion for p in single] == [p.completion for p in preds]
    assert [p.n_tokens for p in single] == [p.n_tokens for p in preds]
    assert len({p.completion for p in preds}) > 1  # the model's output varies, so this comparison can fail


def test_resume_skips_done_ids(varied_model, eval_data, tmp_path):
    model, processor = varied_model
    records, base, _ = eval_data
    out = tmp_path / "predictions.jsonl"
    done = Prediction(
        id="r0",
        task="report_generation",
        prompt="q",
        completion="SENTINEL",
        answer="SENTINEL",
        n_tokens=1,
        finished=True,
    )
    out.write_text(json.dumps(done.to_dict()) + "\n" + '{"id": "g0", "task": "abnor')  # + a line cut by a crash
    calls = []
    real_generate = model.generate

    def counting_generate(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        return real_generate(*args, **kwargs)

    model.generate = counting_generate
    try:
        spec = GenerationSpec(batch_size=8, max_new_tokens=3)
        preds = generate_predictions(model, processor, records, spec, base_dir=base, out_path=out, progress=False)
        again = generate_predictions(model, processor, records, spec, base_dir=base, out_path=out, progress=False)
    finally:
        del model.generate
    assert sum(calls) == len(records) - 1  # r0 was not generated again; the broken g0 line was; run 2 did nothing
    assert preds[1].completion == "SENTINEL" and again == preds
    on_disk, bad = read_predictions(out)
    assert bad == 0 and sorted(p.id for p in on_disk) == sorted(r.id for r in records)
    assert {p.max_new_tokens for p in on_disk} == {0, 3}  # the sentinel did not record its limit
    with pytest.raises(
        ValueError,
        match="generated with thinking=False, max_new_tokens=3; this run asks for thinking=False, max_new_tokens=5",
    ):
        generate_predictions(
            model, processor, records, GenerationSpec(max_new_tokens=5), base_dir=base, out_path=out, progress=False
        )
    with pytest.raises(ValueError, match="this run asks for thinking=True"):
        spec = GenerationSpec(max_new_tokens=3, thinking="suffix")
        generate_predictions(model, processor, records, spec, base_dir=base, out_path=out, progress=False)


def test_per_task_limits_and_thinking(varied_model, eval_data):
    model, processor = varied_model
    records, base, _ = eval_data
    spec = GenerationSpec(
        batch_size=4,
        thinking="suffix",
        max_new_tokens={"report_generation": 2, "abnormality_grounding": 3, "anatomical_grounding": 4},
    )
    preds = generate_predictions(model, processor, records, spec, base_dir=base, progress=False)
    limits = {"report_generation": 2, "abnormality_grounding": 3, "anatomical_grounding": 4}
    for p in preds:
        assert p.prompt.endswith(" /think") and p.thinking
        assert p.n_tokens <= limits[p.task]
        assert (p.answer, p.think_closed) == split_answer(p.completion, thinking=True)
        assert p.thought == split_thought(p.completion) and p.n_regenerations == 0  # the thought is kept, unscored
        assert p.generation["thinking"] == "suffix"
        tok = processor.tokenizer
        assert p.thought_tokens == (len(tok(p.thought, add_special_tokens=False)["input_ids"]) if p.thought else 0)
    rows = score_predictions(preds, records, ["bleu4"])
    assert [r["thought_words"] for r in rows] == [len(p.thought.split()) for p in preds]
    assert [r["thought_tokens"] for r in rows] == [p.thought_tokens for p in preds]


def test_errors(varied_model, eval_data, tmp_path):
    model, processor = varied_model
    records, base, _ = eval_data
    with pytest.raises(FileNotFoundError, match="record 'g0': image not found"):
        generate_predictions(
            model, processor, records[:1], GenerationSpec(max_new_tokens=2), base_dir=tmp_path, progress=False
        )
    with pytest.raises(ValueError, match="duplicate record ids"):
        generate_predictions(
            model, processor, records[:1] * 2, GenerationSpec(max_new_tokens=2), base_dir=base, progress=False
        )
