"""One owner for prompt text (radgrpo.data.prompts): for records of every task, thinking on and off, the prompt the
TRL export (SFT first turn and GRPO prompt), the verl export and evaluation (``generate_predictions`` on the tiny
Qwen3-VL, its chat-template input captured) send are equal, and the thinking suffix / user-turn structure is defined
in one module only.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_prompt_owner.py
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radgrpo.data import prompts as P
from radgrpo.data.export.llava_json import record_to_llava
from radgrpo.data.export.trl import grpo_prompt, sft_messages
from radgrpo.data.export.verl import record_to_verl_row
from radgrpo.data.tasks import STUDY_TASKS, Study, StudyFinding, build_study_records
from radgrpo.records import Record, Task

PKG = Path(__file__).resolve().parents[2] / "radgrpo"
REPORT = "Moderate cardiomegaly. Small right pleural effusion. No pneumothorax."


def _records() -> list[Record]:
    """Real builder output for two studies and every study task (report, the groundings, classification, detection)."""
    out: list[Record] = []
    for key in ("s1", "s2"):
        study = Study(
            key=key,
            image=f"{key}.png",
            source="synthetic",
            split="test",
            report=REPORT,
            labels={"Cardiomegaly": 1, "Pleural Effusion": 1, "Pneumothorax": 0},
            findings=[
                StudyFinding("cardiomegaly", [(0.35, 0.51, 0.75, 0.64)], "Moderate cardiomegaly."),
                StudyFinding("pleural effusion", [(0.1, 0.6, 0.4, 0.8)], "Small right pleural effusion."),
            ],
            regions={"right lung": (0.15, 0.2, 0.45, 0.75), "trachea": (0.48, 0.05, 0.52, 0.33)},
        )
        out += build_study_records(study, list(STUDY_TASKS), seed=7)
    return out


RECORDS = _records()


def test_records_cover_every_task():
    tasks = {r.task for r in RECORDS}
    assert {
        Task.REPORT_GENERATION,
        Task.ANATOMICAL_GROUNDING,
        Task.ABNORMALITY_GROUNDING,
        Task.PHRASE_GROUNDING,
        Task.CLASSIFICATION,
        Task.DETECTION,
    } <= tasks
    assert len({r.question for r in RECORDS}) > 5  # several distinct template draws, not one string


@pytest.mark.parametrize("thinking", [False, True])
def test_trl_and_verl_prompts_are_the_same_text(thinking):
    suffix = " /think" if thinking else ""  # today's literal format: the demo numbers depend on it
    for r in RECORDS:
        want = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": r.question + suffix}]}]
        assert grpo_prompt(r, thinking=thinking) == want
        assert sft_messages(r, thinking=thinking) == [
            *want,
            {"role": "assistant", "content": [{"type": "text", "text": r.answer}]},
        ]
        row = record_to_verl_row(r, r.id, 0, "train", think_suffix=thinking, base="/data")
        assert row["prompt"] == [{"role": "user", "content": "<image>\n" + r.question + suffix}]
        assert P.prompt_messages(r, thinking=thinking) == want
        assert P.prompt_text(r, thinking=thinking) == r.question + suffix


def test_llava_first_turn_uses_the_same_question():
    for r in RECORDS:
        assert record_to_llava(r, base="/data")["conversations"][0]["value"] == "<image>\n" + r.question


def test_multi_turn_first_user_turn_matches_grpo_and_eval_text():
    turns = [
        {"role": "user", "content": "Is there an effusion?"},
        {"role": "assistant", "content": "Yes."},
        {"role": "user", "content": "How large?"},
        {"role": "assistant", "content": "Small."},
    ]
    rec = Record("c", "c.png", Task.CONVERSATION, "Is there an effusion?", "Yes.", conversation=turns)
    assert (
        sft_messages(rec, thinking=True)[0]
        == grpo_prompt(rec, thinking=True)[0]
        == P.user_message("Is there an effusion?", thinking=True)
    )
    assert sft_messages(rec, thinking=True)[2] == {"role": "user", "content": [{"type": "text", "text": "How large?"}]}
    assert P.prompt_text(rec, thinking=True) == "Is there an effusion? /think"


@pytest.fixture(scope="module")
def model_and_images(tiny_model_dir, tmp_path_factory):
    from radgrpo.models.qwen3_vl import load_model_and_processor

    base = tmp_path_factory.mktemp("owner_images")
    for i, image in enumerate(sorted({r.image for r in RECORDS})):
        arr = (np.random.default_rng(i).random((64, 64)) * 255).astype("uint8")
        Image.fromarray(arr, mode="L").save(base / image)
    model, processor = load_model_and_processor(str(tiny_model_dir))
    return model, processor, base


@pytest.mark.parametrize("thinking", [False, True])
def test_evaluation_sends_the_training_prompt(model_and_images, monkeypatch, thinking):
    from radgrpo.eval.generate import GenerationSpec, generate_predictions

    model, processor, base = model_and_images
    sent: list[list[dict]] = []
    real = processor.apply_chat_template

    def capture(messages, *args, **kwargs):
        sent.append(messages)
        return real(messages, *args, **kwargs)

    monkeypatch.setattr(processor, "apply_chat_template", capture)
    spec = GenerationSpec(batch_size=4, max_new_tokens=1, thinking=thinking)
    preds = generate_predictions(model, processor, RECORDS, spec, base_dir=base, progress=False)
    # generation runs task by task, in the order tasks first appear
    order = [r for task in dict.fromkeys(r.task for r in RECORDS) for r in RECORDS if r.task is task]
    assert sent == [grpo_prompt(r, thinking=thinking) for r in order]
    assert [p.prompt for p in preds] == [grpo_prompt(r, thinking=thinking)[0]["content"][1]["text"] for r in RECORDS]
    assert [p.prompt for p in preds] == [r.question + (" /think" if thinking else "") for r in RECORDS]


def _module_trees():
    for path in sorted(PKG.rglob("*.py")):
        yield path.relative_to(PKG.parent).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_think_suffix_is_defined_in_one_module_only():
    defines, literals, image_parts = set(), set(), set()
    for name, tree in _module_trees():
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            )
            if any(isinstance(t, ast.Name) and t.id == "THINK_SUFFIX" for t in targets):
                defines.add(name)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() == "/think":
                literals.add(name)
            if (
                isinstance(node, ast.Dict)
                and any(isinstance(k, ast.Constant) and k.value == "type" for k in node.keys)
                and any(isinstance(v, ast.Constant) and v.value == "image" for v in node.values)
            ):
                image_parts.add(name)  # a {"type": "image"} content part: the chat user turn is built here
    assert defines == {"radgrpo/data/prompts.py"}
    assert literals == {"radgrpo/data/prompts.py"}
    assert image_parts == {"radgrpo/data/prompts.py"}
    assert P.THINK_SUFFIX == " /think"


def test_baseline_prompts_live_with_their_adapters():
    # the published prompts of the baseline families are their adapters' (radgrpo.models.adapters.<family>), not
    # radgrpo's own prompt text
    from radgrpo.models.adapters import chexagent, llava_rad, maira2, medgemma, qwen

    for module in (qwen, medgemma, maira2, llava_rad, chexagent):
        names = [n for n in module.__all__ if n.isupper()]
        assert names and not [n for n in names if hasattr(P, n)], module.__name__


def test_template_module_is_gone_and_pools_live_in_prompts():
    assert not (PKG / "data" / "tasks" / "radvlm_templates.py").exists()
    from radgrpo.data.tasks import source_records

    assert source_records.REPORT_QUESTIONS is P.REPORT_QUESTIONS
    assert source_records.grounding_qa is P.grounding_qa
