"""Dynamic sampling and prompt selection (radgrpo.train.sampling, .rollouts, .grpo_sampling).

The pure decisions are checked on hand-built groups and score tables; the trainer runs on the tiny Qwen3-VL with the
probe reward of ``sampling_probe.py``, whose rewards the test sets per generation round, so every logged count
(kept, dropped, refills, prompts) and every trained batch follows from the plan; prompt draws are checked against a
replay of the seeded :class:`PromptSource`. The two-process run is in test_grpo_sampling_multiprocess.py.
Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/train/test_grpo_sampling.py
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from radgrpo.train.rollouts import concat_rollouts, select_rows
from radgrpo.train.sampling import (
    DrawStream,
    PromptSource,
    group_unit,
    groups_with_signal,
    intermediate_prompts,
    needs_refill,
    pool_subset,
    trainable_groups,
)

sys.path.insert(0, str(Path(__file__).parent))  # sampling_probe.py, the probe reward module beside this test

NAN = float("nan")


# ---- pure decisions ----
def test_groups_with_signal_uses_a_std_threshold_not_exact_equality():
    rewards = [1, 1, 1, 1] + [0, 1, 0, 1] + [0.5, 0.5, 0.5, 0.5 + 1e-9]
    assert groups_with_signal(rewards, 4, min_std=1e-6) == [False, True, False]
    assert groups_with_signal(rewards, 4, min_std=0.0) == [False, True, True]  # exact equality keeps float noise
    # unscored completions (NaN) are left out; a group with < 2 scored rewards has no signal
    assert groups_with_signal([NAN, 0, 1, NAN] + [NAN, NAN, NAN, 1], 4, 1e-6) == [True, False]
    with pytest.raises(ValueError, match="groups of 4"):
        groups_with_signal([1, 2, 3], 4, 0.0)


def test_trainable_groups_truncates_to_the_target_and_the_slice_unit():
    assert [trainable_groups(k, target=4) for k in range(7)] == [0, 1, 2, 3, 4, 4, 4]
    # steps_per_generation 4 with groups of 2: each of the 4 slices needs whole rows, so groups come in pairs
    assert group_unit(2, 4) == 2 and [trainable_groups(k, 4, unit=2) for k in range(6)] == [0, 0, 2, 2, 4, 4]
    assert group_unit(8, 32) == 4 and group_unit(8, 4) == 1 and group_unit(3, 1) == 1


def _simulate(kept_per_round, target, max_rounds):
    """The refill loop of one process on hand-written round outcomes: (rounds run, groups trained)."""
    have, rounds = min(kept_per_round[0], target), 1
    while needs_refill(have, target, rounds, max_rounds):
        have = min(have + kept_per_round[rounds], target)
        rounds += 1
    return rounds, trainable_groups(have, target)


def test_refill_rounds_stop_when_full_or_at_the_cap():
    assert _simulate([4, 9, 9], target=4, max_rounds=3) == (1, 4)  # full at once: no refill
    assert _simulate([1, 0, 2, 9], target=4, max_rounds=4) == (4, 4)  # full in the 4th round
    assert _simulate([1, 0, 2, 9], target=4, max_rounds=3) == (3, 3)  # cap: fewer groups that step
    assert _simulate([0, 0, 0], target=4, max_rounds=3) == (3, 0)  # cap without any signal
    assert _simulate([0, 9], target=4, max_rounds=1) == (1, 0)  # max_rounds 1: filter only, never refill


def test_intermediate_prompts_keep_exactly_the_sometimes_solved_ones():
    scores = {
        0: [1, 1, 1, 1],  # always solved
        1: [0, 0, 0, 0],  # never solved
        2: [0, 1, 0, 0],  # intermediate
        3: [0.7, 0.7, 0.7, 0.7 + 1e-9],  # float noise only
        4: [NAN, 1, 0, NAN],  # intermediate among its scored rollouts
        5: [NAN, NAN, NAN, 1],  # one scored rollout: no std
        6: [0.2, 0.6, 0.4, 0.5],  # continuous reward, std 0.17
    }
    assert intermediate_prompts(scores, min_std=1e-6) == [2, 4, 6]
    assert intermediate_prompts(scores, min_std=0.2) == [2, 4]  # a higher bar for continuous rewards


def test_pool_subset_is_seeded_and_redrawn_per_pass():
    a, b = pool_subset(100, 10, seed=3, round_=0), pool_subset(100, 10, seed=3, round_=1)
    assert a == pool_subset(100, 10, 3, 0) and len(set(a)) == 10 and a == sorted(a) and a != b
    assert pool_subset(5, 0, 3, 0) == pool_subset(5, 9, 3, 0) == [0, 1, 2, 3, 4]


def test_draw_stream_uses_each_prompt_once_per_pass():
    s = DrawStream(range(7), seed=1, tag="t")
    first, second = s.take(7), s.take(7)
    assert sorted(first) == sorted(second) == list(range(7)) and first != second


def test_prompt_source_draws_from_the_kept_set_and_respects_the_unfiltered_share():
    kept = [3, 7, 11]
    src = PromptSource(20, seed=0, unfiltered_share=0.0)
    src.set_kept(kept)
    idx, from_all = src.draw(30)
    assert set(idx) == set(kept) and not any(from_all) and sorted(idx[:3]) == kept
    share = 0.3
    src = PromptSource(20, seed=0, unfiltered_share=share)
    src.set_kept(kept)
    idx, from_all = [], []
    for _ in range(200):
        i, f = src.draw(10)
        idx += i
        from_all += f
    n = len(from_all)
    assert abs(sum(from_all) / n - share) < 4 * math.sqrt(share * (1 - share) / n)  # 4 sigma of a binomial
    assert all(i in kept for i, f in zip(idx, from_all) if not f)
    assert {i for i, f in zip(idx, from_all) if f} == set(range(20))  # the unfiltered walk covers the whole set
    # an empty kept set (nothing intermediate) draws everything from the whole set
    src.set_kept([])
    assert src.draw(5)[1] == [True] * 5


def test_prompt_source_is_deterministic_and_resumes_from_its_state():
    def fresh(seed=0):
        s = PromptSource(50, seed=seed, unfiltered_share=0.5)
        s.set_kept(range(0, 50, 5))
        return s

    a, b = fresh(), fresh()
    assert [a.draw(4) for _ in range(5)] == [b.draw(4) for _ in range(5)]
    assert fresh(0).draw(8) != fresh(1).draw(8)
    state = json.loads(json.dumps(a.state_dict()))  # it travels as JSON inside a checkpoint
    after = [a.draw(4) for _ in range(5)]
    c = PromptSource(50, seed=0, unfiltered_share=0.5)
    c.load_state_dict(state)
    assert [c.draw(4) for _ in range(5)] == after


# ---- rollout batches ----
def _batch(prompt_w, completion_w, rows, patches_per_image, start):
    """A Qwen-style rollout batch: row r has one image of ``patches_per_image[r]`` patches; values encode the row."""
    b = len(rows)
    grid = torch.tensor([[1, 1, p] for p in patches_per_image])
    pixels = torch.cat([torch.full((p, 2), float(start + r)) for r, p in enumerate(patches_per_image)])
    prompt = torch.tensor([[start + r] * prompt_w for r in range(b)])
    completion = torch.tensor([[100 + start + r] * completion_w for r in range(b)])
    return {
        "prompt_ids": prompt,
        "prompt_mask": torch.ones_like(prompt),
        "completion_ids": completion,
        "completion_mask": torch.ones_like(completion),
        "mm_token_type_ids": torch.cat([torch.ones_like(prompt), torch.zeros_like(completion)], dim=1),
        "ref_per_token_logps": torch.full((b, completion_w), -1.0),
        "advantages": torch.tensor([float(start + r) for r in range(b)]),
        "pixel_values": pixels,
        "image_grid_thw": grid,
        "num_images": [1] * b,
        "num_items_in_batch": torch.tensor(99),
    }


def test_select_and_concat_keep_rows_images_and_padding_aligned():
    a = _batch(prompt_w=2, completion_w=3, rows=[0, 1, 2], patches_per_image=[1, 2, 3], start=0)
    b = _batch(prompt_w=4, completion_w=1, rows=[0, 1], patches_per_image=[2, 1], start=10)
    out = concat_rollouts([select_rows(a, [2, 0]), select_rows(b, [1])], pad_token_id=-1)
    assert "num_items_in_batch" not in out  # recomputed by the caller for the rows it keeps
    assert out["prompt_ids"].tolist() == [[-1, -1, 2, 2], [-1, -1, 0, 0], [11, 11, 11, 11]]  # left padding
    assert out["prompt_mask"].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]]
    assert out["completion_ids"].tolist() == [[102, 102, 102], [100, 100, 100], [111, -1, -1]]  # right padding
    assert out["completion_mask"].tolist() == [[1, 1, 1], [1, 1, 1], [1, 0, 0]]
    assert out["ref_per_token_logps"].tolist() == [[-1, -1, -1], [-1, -1, -1], [-1, 0, 0]]
    # prompt + completion columns: the prompt part padded left, the completion part right
    assert out["mm_token_type_ids"].tolist() == [[0, 0, 1, 1, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0]]
    assert out["advantages"].tolist() == [2.0, 0.0, 11.0]
    assert out["num_images"] == [1, 1, 1] and out["image_grid_thw"][:, 2].tolist() == [3, 1, 1]
    assert out["pixel_values"][:, 0].tolist() == [2.0, 2.0, 2.0, 0.0, 11.0]  # each row's own patches, in row order


def test_rollout_layouts_without_a_row_split_are_refused_by_name():
    batch = _batch(1, 1, [0], [1], 0) | {"pixel_attention_mask": torch.ones(1, 1)}
    with pytest.raises(ValueError, match=r"pixel_attention_mask.*--dynamic_sampling"):
        select_rows(batch, [0])


# ---- configuration ----
def _cfg(tmp_path, **kw):
    from radgrpo.train.configs import RadGRPOConfig

    base = dict(output_dir=str(tmp_path), model_name_or_path="m", train_file="t.jsonl", report_to="none")
    return RadGRPOConfig(**(base | kw))


def test_config_rejects_groups_that_straddle_processes_and_bad_values(tmp_path):
    from radgrpo.train.configs import _check_whole_groups

    # on one process TRL's own divisibility rule already gives whole groups; on 2 processes 2 x 1 rows per process
    # would split a group of 4 (the 2-process test runs this geometry without dynamic sampling)
    straddling = SimpleNamespace(per_device_train_batch_size=2, steps_per_generation=1, num_generations=4)
    with pytest.raises(ValueError, match=r"whole groups on each process: .* 2 x 1 = 2 is not a multiple of --num_gen"):
        _check_whole_groups(straddling)
    _check_whole_groups(SimpleNamespace(per_device_train_batch_size=2, steps_per_generation=2, num_generations=4))
    assert _cfg(tmp_path, dynamic_sampling=True, per_device_train_batch_size=4, num_generations=4).dynamic_sampling
    for kw, flag in [
        ({"dynamic_sampling_max_rounds": 0}, "--dynamic_sampling_max_rounds"),
        ({"dynamic_sampling_min_std": -1.0}, "--dynamic_sampling_min_std"),
        ({"prompt_selection": "easy"}, "--prompt_selection must be one of none, uncertainty"),
        ({"prompt_selection_samples": 1}, "--prompt_selection_samples"),
        ({"prompt_selection_unfiltered_share": 1.5}, "--prompt_selection_unfiltered_share"),
        ({"prompt_selection_every": -1}, "--prompt_selection_every"),
    ]:
        with pytest.raises(ValueError, match=flag):
            _cfg(tmp_path, **kw)


# ---- the trainer on the tiny model ----
@pytest.fixture(scope="module")
def probe_registered():
    from radgrpo.rewards.registry import register_reward

    register_reward("sampling_probe", "sampling_probe:make_probe_reward", "test probe", overwrite=True)


def _train(tiny_model_dir, tiny_records, out: Path, probe_out: Path, probe: dict, **kw):
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import run_grpo

    settings = dict(
        output_dir=str(out),
        model_name_or_path=str(tiny_model_dir),
        train_file=str(tiny_records[1]),
        reward_funcs=["sampling_probe"],
        reward_kwargs={"sampling_probe": {"out": str(probe_out), "group": 2, **probe}},
        per_device_train_batch_size=4,
        num_generations=2,  # 2 prompts x 2 completions per step
        max_completion_length=4,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
    )
    run_grpo(RadGRPOConfig(**(settings | kw)))
    logs = {r["step"]: r for r in json.loads((out / "log_history.json").read_text()) if "loss" in r}
    calls = [json.loads(line) for line in (probe_out / "rank0.jsonl").read_text().splitlines()]
    return logs, calls, json.loads((out / "sampling.json").read_text())


@pytest.fixture
def trained_batches(monkeypatch):
    """What each micro-batch the loss saw held: (rows, whether every advantage was 0)."""
    from trl import GRPOTrainer

    seen: list[tuple[int, bool]] = []
    original = GRPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append((int(inputs["completion_ids"].size(0)), bool((inputs["advantages"] == 0).all())))
        return original(self, model, inputs)

    monkeypatch.setattr(GRPOTrainer, "_compute_loss", spy)
    return seen


def test_dynamic_sampling_refills_caps_and_logs_what_the_rewards_imply(
    tiny_model_dir, tiny_records, tmp_path, probe_registered, trained_batches
):
    # per step, one reward mode per generation round (2 groups each): step 0 keeps 1 group, then finds 2 (1 surplus);
    # step 1 finds none in 3 rounds (cap, zero-advantage step); step 2 finds 1 (cap: trains 1 group). Float noise
    # (std 8e-8) counts as no signal.
    plan = {"0": ["half", "vary"], "1": ["zero", "zero", "zero"], "2": ["half", "noisy", "zero"]}
    logs, calls, totals = _train(
        tiny_model_dir,
        tiny_records,
        tmp_path / "grpo",
        tmp_path / "probe",
        {"plan": plan},
        max_steps=3,
        dynamic_sampling=True,
        dynamic_sampling_max_rounds=3,
    )
    expected = {  # step: (refill_rounds, prompts_generated, groups_kept, groups_dropped, groups_surplus, capped)
        1: (1, 4, 2, 1, 1, 0),
        2: (2, 6, 0, 6, 0, 1),
        3: (2, 6, 1, 5, 0, 1),
    }
    keys = ["refill_rounds", "prompts_generated", "groups_kept", "groups_dropped", "groups_surplus", "capped"]
    for step, values in expected.items():
        assert tuple(logs[step][f"dynamic_sampling/{k}"] for k in keys) == values, step
    assert [len([c for c in calls if c["step"] == s]) for s in (0, 1, 2)] == [2, 3, 3]  # generation rounds
    # the loss saw 2 groups, then the first round's 2 groups with zero advantages, then the 1 group found
    assert trained_batches == [(4, False), (4, True), (2, False)]
    # the monitor's zero-variance share is over every generated group (step 2: all of them), before filtering
    zero = {k: v for k, v in logs[2].items() if k.endswith("/zero_std_groups")}
    assert zero and set(zero.values()) == {1.0}
    # the first round comes from TRL's sampler, refills from radgrpo's seeded draw of the training set
    ids = [r.id for r in tiny_records[0]]
    src = PromptSource(len(ids), seed=0, tag="rollouts")
    refills = [c["ids"] for s in (0, 1, 2) for c in [c for c in calls if c["step"] == s][1:]]
    assert refills == [[ids[i] for i in src.draw(2)[0] for _ in range(2)] for _ in refills]
    assert totals == totals | {
        "dynamic_sampling": True,
        "rollout_batches": 3,
        "prompts_generated": 16,
        "completions_generated": 32,
        "groups_trained": 2 + 2 + 1,  # the zero-advantage step trained on its first round's 2 groups
        "groups_dropped": 12,
        "refill_rounds": 5,
        "capped_batches": 2,
        "no_signal_batches": 1,
        "prompts_seen": 16,
    }


def _record_index(tiny_records):
    return {r.id: i for i, r in enumerate(tiny_records[0])}


def test_prompt_selection_rescored_every_step_trains_on_the_current_intermediate_prompts(
    tiny_model_dir, tiny_records, tmp_path, probe_registered
):
    # g0 and r1 are intermediate at step 0 only, g2 and r3 from step 1 on; every other prompt is always solved
    vary = {"g0": [0, 1], "r1": [0, 1], "g2": [1, 9], "r3": [1, 9]}
    logs, calls, totals = _train(
        tiny_model_dir,
        tiny_records,
        tmp_path / "grpo",
        tmp_path / "probe",
        {"vary": vary},
        max_steps=2,
        prompt_selection="uncertainty",
        prompt_selection_every=1,
        prompt_selection_samples=2,
        prompt_selection_unfiltered_share=0.0,
    )
    scoring = [c for c in calls if c["scoring"]]
    assert sorted({c["step"] for c in scoring}) == [0, 1]  # a pass before each step's rollouts
    for step in (0, 1):
        scored = sorted({i for c in scoring if c["step"] == step for i in c["ids"]})
        assert scored == sorted(r.id for r in tiny_records[0])  # the whole pool, each prompt 2 times
        assert all(len(c["ids"]) == 4 for c in scoring)
    trained = {c["step"]: set(c["ids"]) for c in calls if not c["scoring"]}
    assert trained[0] <= {"g0", "r1"} and trained[1] <= {"g2", "r3"}  # the pass of step t shapes step t's batch
    for step in (1, 2):
        row = logs[step]
        assert (row["prompt_selection/pool"], row["prompt_selection/kept"], row["prompt_selection/kept_share"]) == (
            8.0,
            2.0,
            0.25,
        )
        assert row["prompt_selection/abnormality_grounding/kept"] == row["prompt_selection/report_generation/kept"] == 1
        assert row["prompt_selection/completions"] == 16.0 and row["prompt_selection/unfiltered_share"] == 0.0
    assert totals == totals | {
        "selection_passes": 2,
        "selection_prompts_scored": 16,
        "selection_completions": 32,
        "prompts_generated": 4,
        "prompts_trained_selected": 4,
        "prompts_trained_unfiltered": 0,
        "prompts_seen": 20,
        "completions_seen": 40,
    }


def test_prompt_selection_once_with_dynamic_sampling_resumes_its_kept_set_and_draws(
    tiny_model_dir, tiny_records, tmp_path, probe_registered
):
    """K = 0 scores once; refills come from the kept set mixed with the unfiltered share; a resumed run keeps the
    kept set and continues the draws (no second scoring pass)."""
    vary = {"g0": [0, 1], "r1": [0, 1]}  # intermediate at step 0 only: step 1 finds no signal (cap)
    kw = dict(
        prompt_selection="uncertainty",
        prompt_selection_samples=2,
        prompt_selection_unfiltered_share=0.5,
        dynamic_sampling=True,
        dynamic_sampling_max_rounds=2,
        save_strategy="steps",
        save_steps=1,
    )
    out, probe = tmp_path / "grpo", tmp_path / "probe"
    _train(tiny_model_dir, tiny_records, out, probe, {"vary": vary}, max_steps=1, **kw)
    state = json.loads((out / "checkpoint-1" / "callback_state" / "SamplingCallback.json").read_text())
    index = _record_index(tiny_records)
    assert state["source"]["kept"] == sorted([index["g0"], index["r1"]]) and state["scored_at"] == 0
    logs, calls, totals = _train(tiny_model_dir, tiny_records, out, probe, {"vary": vary}, max_steps=2, **kw)
    assert sorted({c["step"] for c in calls if c["scoring"]}) == [0]  # the resumed run did not score again
    # every training round's prompts are the seeded draws from the kept set {g0, r1} and the whole set
    ids = [r.id for r in tiny_records[0]]
    src = PromptSource(len(ids), seed=0, unfiltered_share=0.5, tag="rollouts")
    src.set_kept(state["source"]["kept"])
    training = [c for c in calls if not c["scoring"]]
    draws = [src.draw(2) for _ in training]
    assert [c["ids"] for c in training] == [[ids[i] for i in idx for _ in range(2)] for idx, _ in draws]
    # step 0: the first two groups with signal (the prompts g0, r1) are trained; step 1: none has signal (cap)
    with_signal = [
        (pid, from_all)
        for c, (idx, flags) in zip(training, draws)
        if c["step"] == 0
        for pid, from_all in zip(c["ids"][::2], flags)
        if pid in vary
    ][:2]
    step1 = [d for c, d in zip(training, draws) if c["step"] == 1]
    assert len(with_signal) == 2 and logs[1]["dynamic_sampling/groups_kept"] == 2
    assert logs[1]["prompt_selection/unfiltered_share"] == sum(f for _, f in with_signal) / 2
    assert logs[1]["dynamic_sampling/refill_rounds"] == len([c for c in training if c["step"] == 0]) - 1
    assert logs[2]["dynamic_sampling/capped"] == 1 and logs[2]["dynamic_sampling/groups_kept"] == 0
    assert logs[2]["prompt_selection/unfiltered_share"] == sum(step1[0][1]) / 2  # the zero-advantage first round
    assert totals["selection_passes"] == 1 and totals["rollout_batches"] == 2 and totals["capped_batches"] >= 1
    assert totals["prompts_generated"] == 2 * len(training)


def test_fewer_groups_keep_the_micro_batch_slices_equal_with_a_reference_model(
    tiny_model_dir, tiny_records, tmp_path, probe_registered, trained_batches
):
    # 4 micro-batches per rollout batch of 4 groups of 2: a batch of fewer groups must hold a multiple of 2 groups
    # (group_unit(2, 4)); beta > 0 adds the reference log-probs to the rows that are cut and re-padded
    plan = {"0": ["half", "half"], "1": ["half", "zero"]}
    logs, calls, totals = _train(
        tiny_model_dir,
        tiny_records,
        tmp_path / "grpo",
        tmp_path / "probe",
        {"plan": plan},
        max_steps=2,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=4,
        beta=0.04,
        dynamic_sampling=True,
        dynamic_sampling_max_rounds=2,
    )
    assert [len([c for c in calls if c["step"] == s]) for s in (0, 1)] == [2, 2]
    # step 0: 2 groups found (4 rows, one per micro-batch); step 1: 1 group, less than the unit: zero advantages
    assert trained_batches == [(1, False)] * 4 + [(2, True)] * 4
    assert [logs[s]["dynamic_sampling/groups_kept"] for s in (1, 2)] == [2, 0]
    assert [logs[s]["dynamic_sampling/capped"] for s in (1, 2)] == [1, 1]
    assert all(math.isfinite(logs[s]["loss"]) and math.isfinite(logs[s]["kl"]) for s in (1, 2))
    assert totals["groups_trained"] == 2 + 4 and totals["no_signal_batches"] == 1
