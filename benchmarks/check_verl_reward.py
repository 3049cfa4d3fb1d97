"""radgrpo's verl reward run through verl 0.9.1's own code: parquet -> RLHFDataset -> reward loop (not part of CI).

verl is not a radgrpo dependency, so this runs in an environment that has both (docs/training.md#verl)::

    python -m venv /tmp/verlenv
    /tmp/verlenv/bin/pip install verl==0.9.1 torch "transformers>=5.5.3,<5.11,!=5.6.0" qwen-vl-utils ...
    /tmp/verlenv/bin/pip install -e . --no-deps        # plus radgrpo's own dependencies
    /tmp/verlenv/bin/python benchmarks/check_verl_reward.py [--n-train 12] [--work DIR]

What it does, offline on CPU:

1. a tiny synthetic dataset (``radgrpo.data.synth``: report generation + abnormality grounding, 64 px images),
   exported with :func:`radgrpo.data.export.verl.write_verl` and :func:`write_verl_run_script`, and a tiny Qwen3-VL
   folder (:func:`radgrpo.models.tiny.build_tiny_model`) whose local tokenizer/processor verl loads;
2. ``verl_run.sh`` is run (its defaults: 4 nodes x 8 GPUs) with a stand-in ``python3`` that records its arguments;
   those overrides are composed with Hydra on verl's own ``ppo_trainer.yaml`` (an unknown key fails here as it
   would in ``main_ppo``) and pass ``main_ppo``'s ``validate_config``;
3. verl's ``RLHFDataset`` reads ``train.parquet`` with that ``data`` config (image loading and prompt-length
   filtering included: every row must survive);
4. verl's ``RewardLoopWorker`` (the class its Ray reward actors run) builds the ``naive`` manager through
   ``load_reward_manager`` / ``get_custom_reward_fn`` (``pkg://radgrpo.integrations.verl``, ``compute_score``) and
   scores each response as the agent loop sends it (one-sample ``DataProto``, all samples concurrently), and once
   more as one padded batch (``compute_score_batch``); verl's legacy ``BatchRewardManager`` scores the batch with
   ``compute_score_batch`` loaded from the module's file path;
5. each score is compared with ``radgrpo.rewards.get_reward(name)`` called in process on the original record
   (the JSONL, not the parquet): report rows with ``rule_finding_f1`` and ``bleu4``, grounding rows with
   ``grounding_soft_f1``.

Responses: each row's reference answer (inside ``<think>...</think>``, as the prompts end with ``/think``), two
corruptions, and the bare answer (no think block: the thinking rule scores it 0). It prints one line per (row, response, report reward) and exits 1 on any difference: above 1e-9 for
the reward loop (which passes the float on), any bit for the legacy manager's float32 reward tensor.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASKS = ["report_generation", "abnormality_grounding"]
REPORT_REWARDS = ["rule_finding_f1", "bleu4"]
GROUNDING_REWARD = "grounding_soft_f1"
TOL = 1e-9


def responses_for(task: str, answer: str) -> list[tuple[str, str]]:
    """``(label, response)``: the reference answer and two corruptions in the thinking format, and the bare answer."""
    if task == "report_generation":
        sentences = re.split(r"(?<=\.)\s+", answer.strip())
        bad = [
            ("reference", answer),
            ("first_sentence_dropped", " ".join(sentences[1:]) or "No acute cardiopulmonary process."),
            ("other_report", "Large right pleural effusion. Cardiomegaly. Left lower lobe consolidation."),
        ]
    else:
        shifted = re.sub(r"\d\.\d+", lambda m: f"{min(1.0, float(m.group()) + 0.15):.2f}", answer)
        bad = [("reference", answer), ("boxes_shifted", shifted), ("no_box", "No abnormality is visible.")]
    out = [(label, f"<think>Looking at the image.</think> {text}") for label, text in bad]
    return [*out, ("reference_no_think", answer)]  # the thinking rule (extra_info.thinking) scores this 0


def run_script_overrides(verl_dir: Path, model_dir: Path, report_reward: str) -> list[str]:
    """The Hydra overrides ``verl_run.sh`` passes to ``python3 -m verl.trainer.main_ppo``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "argv.json"
        fake = Path(tmp) / "python3"
        fake.write_text(
            f"#!/bin/sh\nexec {sys.executable} -c 'import json, sys; json.dump(sys.argv[1:], open(sys.argv[1], "
            f'"w"))\' "{out}" "$@"\n'
        )
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        env = dict(os.environ, PATH=f"{tmp}:{os.environ['PATH']}", MODEL_PATH=str(model_dir))
        env["REPORT_REWARD"] = report_reward
        env.pop("RADGRPO_REWARD_URL", None)
        subprocess.run(["bash", str(verl_dir / "verl_run.sh")], env=env, check=True)
        argv = json.loads(out.read_text())
    assert argv[1:3] == ["-m", "verl.trainer.main_ppo"], argv[:3]
    return argv[3:]


def compose_config(overrides: list[str]) -> Any:
    """verl's ``ppo_trainer`` config with ``overrides``, composed by Hydra as ``main_ppo`` does."""
    import verl.trainer
    from hydra import compose, initialize_config_dir

    cfg_dir = str(Path(verl.trainer.__file__).parent / "config")
    with initialize_config_dir(config_dir=cfg_dir, version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def one_sample_proto(row: dict[str, Any], prompt_ids: list[int], response_ids: list[int]) -> Any:
    """The one-sample ``DataProto`` verl's agent loop (``AgentLoopWorker._compute_score``) sends a reward worker."""
    import numpy as np
    import torch
    from tensordict import TensorDict
    from verl import DataProto

    prompts = torch.tensor([prompt_ids], dtype=torch.int64)
    responses = torch.tensor([response_ids], dtype=torch.int64)
    input_ids = torch.cat([prompts, responses], dim=1)
    batch = TensorDict(
        {
            "prompts": prompts,
            "responses": responses,
            "attention_mask": torch.ones_like(input_ids),
            "input_ids": input_ids,
            "position_ids": torch.arange(input_ids.shape[1]).unsqueeze(0),
        },
        batch_size=1,
    )
    non_tensor: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, torch.Tensor):
            continue
        arr = np.empty(1, dtype=object)
        arr[0] = v
        non_tensor[k] = arr
    non_tensor["__num_turns__"] = np.array([2])
    non_tensor["tool_extra_fields"] = np.array([{}], dtype=object)
    return DataProto(batch=batch, non_tensor_batch=non_tensor)


def padded_batch(protos: list[Any], pad_id: int) -> Any:
    """The protos as one batch: prompts left-padded, responses right-padded (the trainer's batch layout)."""
    import numpy as np
    import torch
    from tensordict import TensorDict
    from verl import DataProto

    lp = max(p.batch["prompts"].shape[1] for p in protos)
    lr = max(p.batch["responses"].shape[1] for p in protos)
    prompts, responses, masks = [], [], []
    for p in protos:
        pr, rs = p.batch["prompts"][0], p.batch["responses"][0]
        prompts.append(torch.cat([torch.full((lp - len(pr),), pad_id), pr]))
        responses.append(torch.cat([rs, torch.full((lr - len(rs),), pad_id)]))
        masks.append(torch.cat([torch.zeros(lp - len(pr)), torch.ones(len(pr) + len(rs)), torch.zeros(lr - len(rs))]))
    batch = TensorDict(
        {
            "prompts": torch.stack(prompts),
            "responses": torch.stack(responses),
            "attention_mask": torch.stack(masks).long(),
            "input_ids": torch.cat([torch.stack(prompts), torch.stack(responses)], dim=1),
        },
        batch_size=len(protos),
    )
    keys = [k for k in protos[0].non_tensor_batch if k != "tool_extra_fields"]
    non_tensor = {}
    for k in keys:
        arr = np.empty(len(protos), dtype=object)
        for i, p in enumerate(protos):
            arr[i] = p.non_tensor_batch[k][0]
        non_tensor[k] = arr
    return DataProto(batch=batch, non_tensor_batch=non_tensor)


def expected_score(name: str, record: dict[str, Any], text: str, thinking: bool) -> float:
    """radgrpo's own value: ``get_reward(name)`` in process on the original record's columns."""
    from radgrpo.rewards import get_reward

    fn = get_reward(name)
    col = "reference_report" if record["task"] == "report_generation" else "reference_boxes"
    # the verl row's ground truth is the record's answer: the report, or the answer text whose boxes the reward reads
    ref = record["reference_report"] if col == "reference_report" else record["answer"]
    [v] = fn([text], **{col: [ref], "task": [record["task"]], "thinking": [thinking]})
    assert v is not None, (name, text)
    return float(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=12, help="synthetic training studies")
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.time()

    import numpy as np
    import verl
    from omegaconf import OmegaConf
    from verl.experimental.reward_loop import RewardLoopWorker
    from verl.trainer.main_ppo import need_critic, need_reference_policy
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.utils import hf_processor, hf_tokenizer
    from verl.utils.config import validate_config
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.ray_utils import get_event_loop
    from verl.workers.reward_manager.batch import BatchRewardManager

    import radgrpo
    import radgrpo.integrations.verl as integ
    from radgrpo.data.export.verl import write_verl, write_verl_run_script
    from radgrpo.data.sources.synthetic import SynthConfig
    from radgrpo.data.synth import synthesize
    from radgrpo.models.tiny import TinyModelConfig, build_tiny_model

    work = Path(args.work or tempfile.mkdtemp(prefix="check_verl_"))
    synthesize(SynthConfig(out=str(work / "synth"), n_train=args.n_train, n_test=1, image_size=64, tasks=TASKS), False)
    records = {r["id"]: r for r in map(json.loads, (work / "synth" / "train.jsonl").read_text().splitlines())}
    counts = write_verl(work / "synth" / "train.jsonl", work / "verl", val_size=len(records))
    write_verl_run_script(work / "verl", TASKS)
    corpus = [t for r in records.values() for t in (r["question"], r["answer"])]
    model_dir = build_tiny_model(work / "tiny", corpus, TinyModelConfig(image_size=64))
    tok, proc = hf_tokenizer(str(model_dir)), hf_processor(str(model_dir))
    proc_note = "verl's hf_processor"
    if proc is None:  # no torchvision (a CPU-only torch): transformers builds no Qwen3-VL video processor
        from radgrpo.models.qwen3_vl import load_processor

        proc, proc_note = load_processor(model_dir), "radgrpo's image-only processor (no torchvision)"

    configs = {name: compose_config(run_script_overrides(work / "verl", model_dir, name)) for name in REPORT_REWARDS}
    cfg0 = configs[REPORT_REWARDS[0]]
    validate_config(config=cfg0, use_reference_policy=need_reference_policy(cfg0), use_critic=need_critic(cfg0))
    data_cfg = cfg0.data
    if importlib.util.find_spec("torchvision") is None:
        # qwen_vl_utils (verl's image loader) imports torchvision: without it every row fails the prompt-length
        # filter and verl drops it with a printed traceback; the rows are then read without that filter
        data_cfg = OmegaConf.merge(data_cfg, {"filter_overlong_prompts": False})
        proc_note += "; no torchvision: data.filter_overlong_prompts=False (images not decoded)"
    ds = RLHFDataset(str(work / "verl" / "train.parquet"), tok, data_cfg, processor=proc)
    rows = [ds[i] for i in range(len(ds))]
    print(f"verl {verl.__version__}, radgrpo {getattr(radgrpo, '__version__', '?')}; work {work}")
    print("run script overrides: composed on verl's ppo_trainer.yaml, validate_config passed")
    print(f"processor: {proc_note}")
    print(f"export {counts}; RLHFDataset kept {len(ds)} of {counts['train']} train rows")
    failures = [] if len(ds) == counts["train"] else [f"RLHFDataset dropped {counts['train'] - len(ds)} rows"]

    # what each call scores: (row, label, response text, token ids)
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    samples, n_roundtrip = [], 0
    for row in rows:
        rec = records[row["extra_info"]["id"]]
        prompt_ids = tok.encode(row["raw_prompt"][0]["content"][-1]["text"], add_special_tokens=False)
        for label, text in responses_for(rec["task"], rec["answer"]):
            ids = tok.encode(text, add_special_tokens=False) + [eos]
            n_roundtrip += tok.decode(ids, skip_special_tokens=True) != text
            samples.append((row, rec, label, text, one_sample_proto(row, prompt_ids, ids)))

    print(f"{len(samples)} responses; {n_roundtrip} do not decode back to their text (verl scores the decoded text)")
    kw = configs[REPORT_REWARDS[0]].reward.custom_reward_function
    print(f"run script reward: path={kw.path} name={kw.name} reward_kwargs={dict(kw.get('reward_kwargs', {}))}")
    loop = get_event_loop()
    table = []
    for name, cfg in configs.items():
        worker = RewardLoopWorker(cfg)  # the class verl's Ray reward actors run (RewardLoopManager)
        manager = type(worker.reward_manager).__name__
        per_sample = loop.run_until_complete(asyncio.gather(*(worker.compute_score(s[4]) for s in samples)))
        batch = padded_batch([s[4] for s in samples], tok.pad_token_id)
        batched = loop.run_until_complete(worker.compute_score_batch(batch))
        # the legacy BatchRewardManager with compute_score_batch from the module's file path
        legacy_cfg = compose_config(
            [
                f"reward.custom_reward_function.path={integ.__file__}",
                "reward.custom_reward_function.name=compute_score_batch",
                f"+reward.custom_reward_function.reward_kwargs.report_reward={name}",
            ]
        )
        legacy_fn = get_custom_reward_fn(legacy_cfg)
        legacy = BatchRewardManager(tok, 0, legacy_fn)(batch, return_dict=True)["reward_tensor"].sum(-1).tolist()
        for i, (row, rec, label, text, _) in enumerate(samples):
            reward = name if rec["task"] == "report_generation" else GROUNDING_REWARD
            if reward != name and name != REPORT_REWARDS[0]:
                continue  # grounding rows do not depend on the report reward: shown once
            want = expected_score(reward, rec, text, bool(row["extra_info"]["thinking"]))
            got = [per_sample[i]["reward_score"], batched[i]["reward_score"], legacy[i]]
            # the reward loop passes the float through; the legacy manager stores it in a float32 reward tensor
            ok = all(abs(g - want) <= TOL for g in got[:2]) and got[2] == float(np.float32(want))
            table.append((row["data_source"], reward, label, want, *got, ok))
            if not ok:
                failures.append(f"{row['data_source']} {label} {reward}: radgrpo {want} verl {got}")
    print(f"reward manager: {manager} (reward loop), BatchRewardManager (legacy)")
    head = ("data_source", "reward", "response", "radgrpo", "naive/1", "naive/batch", "legacy batch", "equal")
    print(f"{head[0]:32} {head[1]:18} {head[2]:22} {head[3]:>9} {head[4]:>9} {head[5]:>11} {head[6]:>12} {head[7]}")
    for ds_, rw, lab, want, a, b, c, ok in table:
        print(f"{ds_:32} {rw:18} {lab:22} {want:9.6f} {a:9.6f} {b:11.6f} {c:12.6f} {ok}")
    for sc in integ.scorers():
        print(
            f"radgrpo scorer {sc.name}: {sc.n_samples} samples in {sc.n_calls} calls, largest batch {sc.largest_batch}"
        )
    n_equal = sum(r[-1] for r in table)
    print(f"{len(table)} scores x 3 verl paths, {n_equal} equal, {len(failures)} failures; {time.time() - t0:.0f} s")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
