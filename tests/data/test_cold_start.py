"""Cold-start thinking traces (``radgrpo thinking generate``) against a real local OpenAI-compatible endpoint: every
rejection reason, a retry after an HTTP 500, the image inside the request, resume after a killed run, the synthetic
stand-in teacher and the leak detector on hand-written traces. The command's one-line errors:
tests/cli/test_thinking_generate.py.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_cold_start.py
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))

from chat_endpoint import serve_chat

from radgrpo.config import parse_config, save_config
from radgrpo.data.cold_start import (
    DEFAULT_LEAK_PHRASES,
    REJECTION_REASONS,
    SyntheticTeacher,
    ThinkingTraceConfig,
    generate_traces,
    validate_response,
)
from radgrpo.data.sources.synthetic import SynthConfig
from radgrpo.data.synth import synthesize
from radgrpo.records import Record, read_jsonl

GOOD = (
    "The film is a frontal view with adequate inspiration and no rotation. The trachea is central. "
    "I measure the heart against the thorax and compare both lungs zone by zone, the upper, middle and lower zones, "
    "looking for opacity, lucency and pleural lines. The costophrenic angles are checked for blunting and the "
    "diaphragm for free air. Finally the bones and soft tissues are reviewed. Case {i}."
)


@pytest.fixture(scope="module")
def records_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(SynthConfig(out=str(out), n_train=12, n_test=1, n_val=0, image_size=64, seed=3), progress=False)
    path = out / "train.jsonl"
    recs = read_jsonl(path)[:13]
    assert len(recs) == 13
    (out / "small.jsonl").write_text("".join(json.dumps(r.to_dict()) + "\n" for r in recs))
    return out / "small.jsonl"


def _user_text(body: dict) -> str:
    return next(p["text"] for p in body["messages"][1]["content"] if p["type"] == "text")


def _answer_of(body: dict) -> str:
    return _user_text(body).split("after </think>):\n", 1)[1]


#: record index -> the teacher's behaviour
SCENARIOS = [
    "good",
    "no_think_block",
    "multiple_think_blocks",
    "empty_trace",
    "trace_too_short",
    "trace_too_long",
    "answer_mismatch",
    "leak",
    "duplicate_trace",
    "empty_response",
    "unparseable_response",
    "retry_then_good",
    "request_failed",
]


def _respond_factory(records: list[Record], calls: dict):
    by_answer = {r.answer: i for i, r in enumerate(records)}
    lock = threading.Lock()

    def respond(body, headers):
        i = by_answer[_answer_of(body)]
        kind = SCENARIOS[i]
        with lock:
            calls[i] = calls.get(i, 0) + 1
            n = calls[i]
        ans = records[i].answer
        good = GOOD.format(i=i)
        if kind in ("good", "duplicate_trace"):
            return f"<think>{GOOD.format(i=0)}</think>\n\n{ans}"
        if kind == "no_think_block":
            return ans
        if kind == "multiple_think_blocks":
            return f"<think>{good}</think><think>{good}</think>\n\n{ans}"
        if kind == "empty_trace":
            return f"<think>  </think>\n\n{ans}"
        if kind == "trace_too_short":
            return f"<think>Heart normal.</think>\n\n{ans}"
        if kind == "trace_too_long":
            return f"<think>{' '.join(['lung'] * 2001)}</think>\n\n{ans}"
        if kind == "answer_mismatch":
            return f"<think>{good}</think>\n\nSomething else entirely."
        if kind == "leak":
            return f"<think>{good} This matches the provided answer.</think>\n\n{ans}"
        if kind == "empty_response":
            return "   "
        if kind == "unparseable_response":
            return (200, b"not json at all")
        if kind == "retry_then_good":
            return (500, b"overloaded") if n == 1 else f"<think>{good}</think>\n\n{ans}"
        return (500, b"down")  # request_failed: every attempt

    return respond


def _generate(argv: list[str]) -> dict:
    """What ``radgrpo thinking generate ARGV`` runs: parse, check, save the config, generate."""
    cfg = parse_config(ThinkingTraceConfig, argv)
    cfg.check()
    save_config(cfg, cfg.out)
    return generate_traces(cfg)


def test_every_rejection_reason_retry_image_and_rerun(records_file, tmp_path, monkeypatch):
    records = read_jsonl(records_file)
    calls: dict[int, int] = {}
    monkeypatch.setenv("TEACHER_KEY", "sekret")
    with serve_chat(_respond_factory(records, calls)) as (url, requests):
        argv = [
            "--records", str(records_file), "--out", str(tmp_path / "cs"),
            "--base_url", url, "--model", "teacher-x", "--api_key_env", "TEACHER_KEY", "--concurrency", "3",
            "--max_retries", "1", "--max_pixels", "2048", "--no-progress",
        ]  # fmt: skip
        _generate(argv)
        stats = json.loads((tmp_path / "cs" / "stats.json").read_text())
        # every reason but the good ones, exactly once
        expected = {k: 1 for k in SCENARIOS if k not in ("good", "retry_then_good")}
        assert stats["rejected"] == expected
        assert set(stats["rejected"]) == set(REJECTION_REASONS)
        assert (stats["n_records"], stats["n_accepted"], stats["n_rejected"]) == (13, 2, 11)
        assert calls[SCENARIOS.index("retry_then_good")] == 2  # one HTTP 500, then the retry succeeded
        assert calls[SCENARIOS.index("request_failed")] == 2  # max_retries 1: two attempts
        rejected = [json.loads(line) for line in (tmp_path / "cs" / "rejected.jsonl").read_text().splitlines()]
        assert {r["id"]: r["reason"] for r in rejected} == {
            records[i].id: k for i, k in enumerate(SCENARIOS) if k in expected
        }
        accepted = read_jsonl(tmp_path / "cs" / "thinking.jsonl")
        assert [r.id for r in accepted] == [records[0].id, records[11].id]
        assert accepted[0].answer == f"<think>{GOOD.format(i=0)}</think>\n\n{records[0].answer}"
        assert accepted[0].meta["cold_start"]["think_words"] == len(GOOD.format(i=0).split())
        # the request: key from the environment, the teacher's settings, the image within the pixel bounds
        auth, body = requests[0]
        assert auth == "Bearer sekret"
        assert (body["model"], body["temperature"], body["max_tokens"]) == ("teacher-x", 0.7, 8192)
        img_url = body["messages"][1]["content"][0]["image_url"]["url"]
        assert img_url.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(img_url.split(",", 1)[1]))) as im:
            assert im.size == (45, 45) and im.size[0] * im.size[1] <= 2048  # 64x64 scaled into 2048 pixels
        assert "Reading guide:" in body["messages"][0]["content"] and "costophrenic" in body["messages"][0]["content"]
        assert "sekret" not in (tmp_path / "cs" / "config.yaml").read_text()
        # rerun: answered records come from the cache; only the failed ones are sent again: the unparseable reply
        # (once: not retried within a run) and the HTTP 500s (twice: 1 retry)
        n_before = len(requests)
        _generate(argv)
        assert len(requests) - n_before == 3
        assert json.loads((tmp_path / "cs" / "stats.json").read_text())["rejected"] == expected


def test_resume_after_kill_sends_only_unfinished(records_file, tmp_path):
    records = read_jsonl(records_file)
    answered = []

    def respond(body, headers):
        answered.append(1)
        i = len(answered)
        time.sleep(0.25)
        return f"<think>{GOOD.format(i=i)}</think>\n\n{_answer_of(body)}"

    out = tmp_path / "cs"
    with serve_chat(respond) as (url, requests):
        cmd = [sys.executable, "-m", "radgrpo.cli.main", "thinking", "generate", "--records", str(records_file),
               "--out", str(out), "--base_url", url, "--model", "m", "--concurrency", "1", "--no-progress"]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while len(requests) < 5 and time.time() < deadline:
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        assert proc.returncode == -9
        assert not (out / "thinking.jsonl").exists()
        cached = len(list((out / "cache").rglob("*.json")))
        assert 3 <= cached < len(records)
        n_before = len(requests)
        stats = generate_traces(
            ThinkingTraceConfig(records=str(records_file), out=str(out), base_url=url, model="m", progress=False)
        )
        assert len(requests) - n_before == len(records) - cached
        assert stats["cache_hits"] == cached and stats["n_accepted"] == len(records)


def test_synthetic_teacher_goes_through_the_same_validation(records_file, tmp_path):
    stats = generate_traces(
        ThinkingTraceConfig(records=str(records_file), out=str(tmp_path), teacher="synthetic", progress=False)
    )
    recs = read_jsonl(records_file)
    acc = read_jsonl(tmp_path / "thinking.jsonl")
    assert stats["n_accepted"] + stats["n_rejected"] == len(recs) == 13
    assert stats["n_accepted"] >= 12 and set(stats["rejected"]) <= {"duplicate_trace"}
    assert "stand-in" in stats["teacher"] and stats["requests"] == 0
    for r in acc:
        orig = next(o for o in recs if o.id == r.id)
        assert r.answer.endswith("</think>\n\n" + orig.answer)
        names = [f["name"] for f in orig.meta["findings"]]
        for n in names:  # the trace names every finding of the scene
            assert n in r.answer.split("</think>")[0]
    # deterministic per record
    assert SyntheticTeacher().complete(recs[0]) == SyntheticTeacher().complete(recs[0])


REC = Record("r", "x.png", "report_generation", "Write the report.", "No pleural effusion.")
BOX = Record("g", "x.png", "abnormality_grounding", "Where?", "The nodule is at [0.1, 0.2, 0.3, 0.4].", target="nodule")
TRACE = " ".join(["The lungs are clear and the angles are sharp on both sides."] * 5)


@pytest.mark.parametrize(
    "trace,leaks",
    [
        (TRACE, False),
        (TRACE + " The ground truth says so.", True),
        (TRACE + " As stated, there is no effusion.", True),
        (TRACE + " Reading the Reference Report again.", True),
        (TRACE + " The answer was given as normal.", True),
        (TRACE + " I compare it with the groundwork of the exam.", False),  # "ground" alone is no leak
        (TRACE + " The given view is frontal.", False),
    ],
)
def test_leak_detector(trace, leaks):
    v = validate_response(f"<think>{trace}</think>\n\nNo pleural effusion.", REC)
    assert (v.reason == "leak") is leaks
    assert (v.record is None) is leaks


def test_leak_phrases_configurable_and_grounding_boxes_compare():
    text = f"<think>{TRACE} Per protocol.</think>\n\nNo pleural effusion."
    assert validate_response(text, REC, leak_phrases=["per protocol"]).reason == "leak"
    assert validate_response(text, REC, leak_phrases=[]).reason is None
    same_boxes = f"<think>{TRACE}</think>\n\nNodule: [0.10, 0.20, 0.30, 0.40]"
    v = validate_response(same_boxes, BOX)
    assert v.reason is None and v.record.answer.endswith("\n\n" + BOX.answer)  # the ground truth is written
    other = f"<think>{TRACE}</think>\n\nNodule: [0.10, 0.20, 0.30, 0.50]"
    assert validate_response(other, BOX).reason == "answer_mismatch"
    assert validate_response(f"<think>{TRACE}</think>\n\n  No   pleural\neffusion. ", REC).reason is None
    assert "ground truth" in DEFAULT_LEAK_PHRASES
