"""Held-out evaluation during GRPO and SFT (radgrpo.train.heldout) and the model card (radgrpo.train.model_card), on
the tiny Qwen3-VL: the evaluator equals `radgrpo eval`'s per-task numbers, the callback logs at the start / every
eval_steps / the end through the trainer, the best checkpoint survives rotation, the card repeats heldout.json, and
SFT trains exactly as without it.
Run: pytest tests/train/test_heldout.py"""

import json
import math

import pytest
import torch
import yaml

METRICS = ["soft_f1", "ap_50", "bleu4", "rougeL", "rule_finding_f1"]
LIMITS = {"report_generation": 6, "abnormality_grounding": 6}


@pytest.fixture(scope="module")
def heldout_files(tiny_records, tmp_path_factory):
    """(eval_file, eval_config): the tiny records as a held-out file, and an eval YAML with tiny generation limits."""
    _, train_file = tiny_records
    folder = tmp_path_factory.mktemp("heldout_cfg")
    eval_cfg = folder / "eval_tiny.yaml"
    eval_cfg.write_text(
        yaml.safe_dump({"metrics": METRICS, "max_new_tokens_per_task": LIMITS, "batch_size": 4, "n_resamples": 50})
    )
    return train_file, eval_cfg


def _grpo_cfg(tmp_path, tiny_model_dir, train_file, eval_cfg, **kw):
    from radgrpo.train.configs import RadGRPOConfig

    args = dict(
        output_dir=str(tmp_path / "grpo"),
        model_name_or_path=str(tiny_model_dir),
        train_file=str(train_file),
        reward_funcs=["grounding_soft_f1", "bleu4"],
        max_steps=4,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=8,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="steps",
        save_steps=2,
        eval_steps=2,
        report_to="none",
        seed=0,
        eval_file=str(train_file),
        eval_config=str(eval_cfg),
        eval_max_samples=2,
    )
    args.update(kw)
    return RadGRPOConfig(**args)


def test_evaluator_equals_the_eval_pipeline_and_leaves_the_model_as_it_was(
    tiny_model_dir, tiny_records, heldout_files, tmp_path
):
    from radgrpo.eval.config import EvalConfig
    from radgrpo.eval.generate import Prediction, read_predictions
    from radgrpo.eval.pipeline import evaluate, evaluate_predictions, select_records
    from radgrpo.models.qwen3_vl import load_model_and_processor
    from radgrpo.train.heldout import HeldOutEvaluator

    records, train_file = tiny_records
    cfg = _grpo_cfg(tmp_path, tiny_model_dir, *heldout_files)
    ev = HeldOutEvaluator.from_config(cfg)
    assert [r.id for r in ev.records] == ["g0", "r1", "g2", "r3"]  # the first 2 of each task, file order
    model, processor = load_model_and_processor(tiny_model_dir)
    model.train()
    processor.tokenizer.padding_side = "right"
    rng = torch.get_rng_state()
    values = ev(model, processor)
    assert model.training and processor.tokenizer.padding_side == "right"
    assert torch.equal(rng, torch.get_rng_state())  # greedy: the training RNG stream is untouched

    ref = evaluate(
        model,
        processor,
        select_records(records, max_per_task=2),
        EvalConfig(out=str(tmp_path / "eval"), metrics=METRICS, max_new_tokens_per_task=LIMITS, html=False),
        base_dir=train_file.parent,
        meta={},
    )
    expected = {f"{t}/{m}": v for t, block in ref["per_task"].items() for m, v in block.items() if m != "n"}
    assert set(values) == set(expected)
    assert {"abnormality_grounding/map_50", "report_generation/bleu4", "report_generation/rule_finding_f1"} <= set(
        values
    )
    for k, v in expected.items():
        assert math.isclose(values[k], v, abs_tol=1e-9), (k, values[k], v)
    ref_preds, _ = read_predictions(tmp_path / "eval" / "predictions.jsonl")
    assert [p.answer for p in ev.generate(model, processor)] == [p.answer for p in ref_preds]

    # the untrained tiny model scores 0 everywhere: the scoring half on answers that score in between
    answers = {
        "g0": records[0].answer,  # exact box
        "g2": "The nodule is located at the coordinates [0.2, 0.2, 0.5, 0.5] on the image.",  # a shifted box
        "r1": records[1].answer,  # exact report
        "r3": "There is a nodule in the left lung. Small pleural effusion.",  # wrong side, extra finding
    }
    preds = [Prediction(r.id, r.task.value, r.question, answers[r.id], answers[r.id], 5, True) for r in ev.records]
    crafted = ev.score(preds)
    ref = evaluate_predictions(
        preds, ev.records, EvalConfig(out=str(tmp_path / "eval2"), metrics=METRICS, n_resamples=50, html=False)
    )
    expected = {f"{t}/{m}": v for t, block in ref["per_task"].items() for m, v in block.items() if m != "n"}
    assert set(crafted) == set(expected) and 0 < crafted["report_generation/bleu4"] < 1
    assert 0 < crafted["abnormality_grounding/soft_f1"] < 1 and 0 < crafted["report_generation/rule_finding_f1"] < 1
    for k, v in expected.items():
        assert math.isclose(crafted[k], v, abs_tol=1e-9), (k, crafted[k], v)


def test_from_config_fails_before_training(tiny_model_dir, heldout_files, tmp_path):
    from radgrpo.metrics.loaders import ModelNotFoundError
    from radgrpo.metrics.registry import get_metric
    from radgrpo.train.heldout import HeldOutEvaluator

    with pytest.raises(ValueError, match="valid: abnormality_grounding/soft_f1, abnormality_grounding/map_50"):
        HeldOutEvaluator.from_config(
            _grpo_cfg(tmp_path, tiny_model_dir, *heldout_files, best_metric="abnormality_grounding/bleu4")
        )
    with pytest.raises(FileNotFoundError, match="--eval_file"):
        HeldOutEvaluator.from_config(_grpo_cfg(tmp_path, tiny_model_dir, *heldout_files, eval_file="nope.jsonl"))
    if get_metric("radgraph").missing_models():  # on a machine without the RadGraph files
        bad = heldout_files[1].parent / "radgraph.yaml"
        bad.write_text(yaml.safe_dump({"metrics": ["bleu4", "radgraph"]}))
        with pytest.raises(ModelNotFoundError, match="radgraph-xl"):
            HeldOutEvaluator.from_config(_grpo_cfg(tmp_path, tiny_model_dir, heldout_files[0], bad))


def test_callback_in_a_grpo_run_logs_keeps_the_best_and_the_card_repeats_it(
    tiny_model_dir, tiny_records, heldout_files, tmp_path
):
    from transformers import TrainerCallback
    from transformers.integrations.integration_utils import rewrite_logs

    from radgrpo.train.heldout import HeldOutEvalCallback
    from radgrpo.train.model_card import keep_model_card, write_model_card

    class Recorder(TrainerCallback):
        def __init__(self):
            self.logs = []

        def on_log(self, args, state, control, logs=None, **kw):
            self.logs.append((state.global_step, dict(logs)))

    cfg = _grpo_cfg(tmp_path, tiny_model_dir, *heldout_files, save_total_limit=1)
    heldout, recorder = HeldOutEvalCallback.from_config(cfg), Recorder()
    trainer, records = _trainer(cfg, [heldout, recorder])
    trainer.train()
    out = tmp_path / "grpo"

    keys = heldout.evaluator.keys()
    logged = [e for e in trainer.state.log_history if "eval_abnormality_grounding/map_50" in e]
    assert [e["step"] for e in logged] == [0, 2, 4]
    assert [s for s, logs in recorder.logs if "eval_report_generation/bleu4" in logs] == [0, 2, 4]
    for e in logged:  # every key the config promises, once per evaluation, never mixed with the training metrics
        assert {k.removeprefix("eval_") for k in e if k.startswith("eval_")} >= set(keys[:3])
        assert not {"loss", "reward", "kl"} & set(e)
    assert [e["step"] for e in trainer.state.log_history if "loss" in e] == [1, 2, 3, 4]  # no train log lost
    # what TensorBoard / wandb / trackio receive: transformers' rewrite_logs turns eval_x into eval/x
    assert "eval/abnormality_grounding/map_50" in rewrite_logs(recorder.logs[0][1])

    summary = json.loads((out / "heldout.json").read_text())
    assert summary["metric"] == "abnormality_grounding/soft_f1"  # default: the first metric of the first task
    history = {e["step"]: e["values"] for e in summary["history"]}
    assert list(history) == [0, 2, 4]
    for e in logged:
        assert history[e["step"]] == {k.removeprefix("eval_"): v for k, v in e.items() if k.startswith("eval_")}
    saved = {s: history[s][summary["metric"]] for s in (2, 4)}  # step 0 has no checkpoint
    best_step = 2 if saved[2] >= saved[4] else 4  # strictly better replaces; a tie keeps the earlier
    assert summary["best"] == {
        "step": best_step,
        "value": saved[best_step],
        "checkpoint": str(out / f"checkpoint-{best_step}"),
    }
    assert trainer.state.best_model_checkpoint == summary["best"]["checkpoint"]
    # save_total_limit=1: transformers keeps only the best checkpoint, because it is the trainer's best
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [f"checkpoint-{best_step}"]
    state = json.loads((out / f"checkpoint-{best_step}" / "trainer_state.json").read_text())
    assert state["best_global_step"] == best_step and state["best_model_checkpoint"] == summary["best"]["checkpoint"]

    readme = write_model_card(out, cfg, records=records)  # reads heldout.json
    text = readme.read_text()
    _, front, body = text.split("---\n", 2)
    fm = yaml.safe_load(front)
    assert fm["library_name"] == "transformers" and fm["pipeline_tag"] == "image-text-to-text"
    assert fm["tags"] == ["radgrpo", "grpo", "chest-x-ray", "radiology-report-generation", "visual-grounding"]
    assert "base_model" not in fm  # a local folder is no hub id
    rows = {
        line.split(" | ")[0].lstrip("| "): [c.strip() for c in line.strip("| \n").split(" | ")[1:]]
        for line in body.splitlines()
        if line.startswith("| ") and "/" in line.split(" | ")[0]
    }
    for key in history[0]:
        first, best, last = rows[key]
        assert first == f"{history[0][key]:.4f}" and last == f"{history[4][key]:.4f}"
        vals = [history[s][key] for s in (0, 2, 4)]
        assert best.split(" ")[0] == f"{max(vals) if 'radcliq' not in key else min(vals):.4f}"
    assert f"step {best_step} ({saved[best_step]:.4f}), `{out / f'checkpoint-{best_step}'}`" in body
    assert "| grounding_soft_f1 | 1.0 | – |" in body and "8 records trained on" in body
    assert "| max_steps | 4 | -1 |" in body and "hub_token" not in text
    keep_model_card(trainer)
    trainer.create_model_card(model_name="x")  # what TRL's checkpoints and push_to_hub call
    assert readme.read_text() == text


def _trainer(cfg, callbacks):
    from trl import GRPOTrainer

    from radgrpo.data.export.trl import records_to_grpo_dataset
    from radgrpo.models.qwen3_vl import load_model
    from radgrpo.rewards.registry import get_reward
    from radgrpo.train.common import load_processor_for, load_train_records

    records, base = load_train_records(cfg)
    processor = load_processor_for(cfg)
    processor.tokenizer.padding_side = "left"  # as run_grpo
    trainer = GRPOTrainer(
        model=load_model(cfg.model_name_or_path),
        reward_funcs=[get_reward(n) for n in cfg.reward_funcs],
        args=cfg,
        train_dataset=records_to_grpo_dataset(records, base, thinking=cfg.thinking),
        processing_class=processor,
        callbacks=callbacks,
    )
    for cb in callbacks:
        cb.trainer = trainer
    return trainer, records


def test_resume_does_not_evaluate_the_restored_step_again(tiny_model_dir, heldout_files, tmp_path):
    from radgrpo.train.callbacks import callback_state_path, restore_callback_states
    from radgrpo.train.heldout import HeldOutEvalCallback

    cfg = _grpo_cfg(tmp_path, tiny_model_dir, *heldout_files)
    first = HeldOutEvalCallback.from_config(cfg)
    trainer, _ = _trainer(cfg, [first])
    trainer.train()
    ckpt = tmp_path / "grpo" / "checkpoint-2"
    saved = json.loads(callback_state_path(ckpt, first.state_key).read_text())
    assert [e["step"] for e in saved["history"]] == [0, 2]  # step 2 was evaluated before its checkpoint
    assert saved["best"] == {
        "step": 2,
        "value": saved["history"][1]["values"][saved["metric"]],
        "checkpoint": str(ckpt),
    }

    again = HeldOutEvalCallback.from_config(cfg)
    trainer, _ = _trainer(cfg, [again])
    assert restore_callback_states(trainer.callback_handler.callbacks, ckpt) == [again.state_key]
    runs = []
    generate = again.evaluator.generate
    again.evaluator.generate = lambda m, p: runs.append(trainer.state.global_step) or generate(m, p)
    trainer.train(resume_from_checkpoint=str(ckpt))
    assert runs == [4]  # only step 4 is new
    evals = [e["step"] for e in trainer.state.log_history if "eval_report_generation/bleu4" in e]
    assert evals == [0, 2, 4] and [e["step"] for e in again.history] == [0, 2, 4]
    assert again.history == first.history and again.metric == first.metric  # same checkpoint and seed
    assert again.best == first.best


def test_sft_card_has_no_rewards_and_links_a_hub_base_model(tmp_path):
    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.model_card import write_model_card

    cfg = RadSFTConfig(
        output_dir=str(tmp_path / "sft"),
        model_name_or_path="Qwen/Qwen3-VL-2B-Instruct",
        train_file="data/train.jsonl",
        tasks=["abnormality_grounding"],
        use_lora=True,
        lora_r=8,
        hub_token="hf_secret_value",
        report_to="none",
    )
    text = write_model_card(cfg.output_dir, cfg).read_text()
    fm = yaml.safe_load(text.split("---\n", 2)[1])
    assert fm == {
        "base_model": "Qwen/Qwen3-VL-2B-Instruct",
        "library_name": "transformers",
        "pipeline_tag": "image-text-to-text",
        "tags": ["radgrpo", "sft", "chest-x-ray", "visual-grounding"],
    }
    assert "supervised fine-tuning" in text and "| reward |" not in text and "## Held-out" not in text
    assert "LoRA adapters: r=8, alpha=32, dropout=0.05." in text and "`abnormality_grounding`" in text
    assert "hf_secret_value" not in text and "hub_token" not in text


def test_sft_logs_the_grpo_keys_and_trains_exactly_as_without_the_evaluation(tiny_model_dir, heldout_files, tmp_path):
    """SFT takes the same held-out callback as GRPO (``eval_<task>/<metric>`` at the start, every eval_steps, the
    end; heldout.json), and the evaluation leaves training alone: same losses, weights and saved tokenizer as without
    it (greedy generation draws no random numbers; the tokenizer's padding is restored)."""
    from safetensors.torch import load_file

    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    train_file, eval_cfg = heldout_files
    runs = {}
    for name, heldout in (("plain", {}), ("heldout", {"eval_file": str(train_file), "eval_config": str(eval_cfg)})):
        cfg = RadSFTConfig(
            output_dir=str(tmp_path / name),
            model_name_or_path=str(tiny_model_dir),
            train_file=str(train_file),
            max_steps=4,
            per_device_train_batch_size=2,
            learning_rate=1e-3,
            logging_steps=1,
            save_strategy="no",
            eval_steps=2,
            eval_max_samples=2,
            report_to="none",
            seed=0,
            **heldout,
        )
        out = run_sft(cfg)
        runs[name] = (json.loads((out / "log_history.json").read_text()), load_file(out / "model.safetensors"))
    (plain_log, plain_w), (log, w) = runs["plain"], runs["heldout"]
    for f in ("tokenizer.json", "tokenizer_config.json"):  # the saved tokenizer keeps its padding (right)
        assert (tmp_path / "plain" / f).read_bytes() == (tmp_path / "heldout" / f).read_bytes(), f
    losses = [(e["step"], e["loss"]) for e in log if "loss" in e]
    assert losses == [(e["step"], e["loss"]) for e in plain_log if "loss" in e] and len(losses) == 4
    assert plain_w.keys() == w.keys() and all(torch.equal(plain_w[k], w[k]) for k in w)
    evals = [e for e in log if "eval_abnormality_grounding/map_50" in e]
    assert [e["step"] for e in evals] == [0, 2, 4] and all("eval_report_generation/bleu4" in e for e in evals)
    assert not any(k.startswith("heldout/") for e in log for k in e)  # one key scheme for SFT and GRPO
    summary = json.loads((tmp_path / "heldout" / "heldout.json").read_text())
    assert [e["step"] for e in summary["history"]] == [0, 2, 4] and summary["records"] == {
        "abnormality_grounding": 2,
        "report_generation": 2,
    }
    assert not (tmp_path / "plain" / "heldout.json").exists()


@pytest.mark.parametrize(("metric", "best_step"), [("report_generation/bleu4", 4), ("report_generation/radcliq", 2)])
def test_only_checkpointed_evaluations_become_the_best(tmp_path, metric, best_step, caplog):
    from transformers import TrainerControl, TrainerState, TrainingArguments
    from transformers.trainer_callback import DefaultFlowCallback

    from radgrpo.eval.config import EvalConfig
    from radgrpo.train.heldout import HeldOutEvalCallback, HeldOutEvaluator

    # one value per step; the high ones (steps 0, 1, 3, 5) have no checkpoint (saved: 2, 4, 6)
    by_step = {0: 0.9, 1: 0.8, 2: 0.3, 3: 0.7, 4: 0.5, 5: 0.6, 6: 0.4}
    state = TrainerState()

    class Preset(HeldOutEvaluator):  # radgrpo's own evaluator with the values above instead of a model
        def generate(self, model, processor):
            return []

        def score(self, predictions):
            return {metric: by_step[state.global_step]}

    args = TrainingArguments(str(tmp_path), save_steps=2, eval_steps=1, max_steps=6, use_cpu=True, report_to="none")
    state.compute_steps(args, 6)
    state.max_steps = 6
    control, flow = TrainerControl(), DefaultFlowCallback()
    cb = HeldOutEvalCallback(Preset([], ".", EvalConfig(metrics=["bleu4"])), best_metric=metric)
    with caplog.at_level("WARNING", logger="radgrpo.train"):
        cb.on_train_begin(args, state, control, model=torch.nn.Linear(1, 1))
    assert "eval_steps 1 is not a multiple of save_steps 2" in caplog.text
    for step in range(1, 7):
        state.global_step = step
        control = flow.on_step_end(args, state, control)  # as the trainer: the flow first, then the callbacks
        cb.on_step_end(args, state, control, model=torch.nn.Linear(1, 1))
        if control.should_save:
            (tmp_path / f"checkpoint-{step}").mkdir()
            cb.on_save(args, state, control)
            control.should_save = False
    cb.on_train_end(args, state, control, model=torch.nn.Linear(1, 1))
    ckpt = str(tmp_path / f"checkpoint-{best_step}")
    assert cb.best == {"step": best_step, "value": by_step[best_step], "checkpoint": ckpt}
    assert (state.best_global_step, state.best_metric, state.best_model_checkpoint) == (
        best_step,
        by_step[best_step],
        ckpt,
    )
    assert [e["step"] for e in cb.history] == list(range(7))
    summary = json.loads((tmp_path / "heldout.json").read_text())
    assert summary["best"] == cb.best and summary["higher_is_better"] is (metric.endswith("bleu4"))
    state_file = tmp_path / f"checkpoint-{best_step}" / "callback_state" / "HeldOutEvalCallback.json"
    assert json.loads(state_file.read_text())["best"]["step"] == best_step  # what a resume restores
