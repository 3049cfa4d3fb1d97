"""The reward service's pure parts, without Ray: request checks (every bad-request class -> its 4xx and one line),
batched scoring of several requests in one reward call (equal to scoring each alone), the config and the catalog.

Run: pytest tests/serve/test_requests.py
"""

from __future__ import annotations

import json

import pytest

from radgrpo.config import ConfigError
from radgrpo.rewards import get_reward
from radgrpo.rewards.registry import REWARDS
from radgrpo.serve.catalog import reward_info
from radgrpo.serve.config import ServeConfig
from radgrpo.serve.requests import (
    RequestError,
    check_bearer,
    check_body_size,
    parse_score_request,
    token_digest,
    unknown_reward,
)
from radgrpo.serve.scoring import answer, score_requests

GOOD = {"completions": ["[0, 0, 1, 1]", "no box"], "reference_boxes": [[[0, 0, 1, 1]], [0, 0, 0.5, 0.5]]}


def refused(body, **limits) -> tuple[int, str]:
    with pytest.raises(RequestError) as info:
        parse_score_request(body, **limits)
    message = str(info.value)
    assert len(message.splitlines()) == 1 and message
    assert info.value.answer() == {"error": message}
    return info.value.status, message


def test_a_good_request_keeps_its_columns_and_drops_null_columns():
    req = parse_score_request(json.dumps({**GOOD, "task": None, "thinking": [False, None]}).encode())
    assert req.completions == GOOD["completions"]
    assert req.columns == {"reference_boxes": GOOD["reference_boxes"], "thinking": [False, None]}
    assert req.to_dict() == {"completions": GOOD["completions"], "columns": req.columns}
    conversational = [[{"role": "assistant", "content": [{"type": "text", "text": "[0, 0, 1, 1]"}]}]]
    assert parse_score_request({"completions": conversational}).completions == conversational
    assert len(parse_score_request({"completions": []})) == 0


@pytest.mark.parametrize(
    "body, status, start",
    [
        (b"{", 400, "invalid JSON: Expecting property name"),
        (b'{"completions": [NaN]}', 400, "invalid JSON: NaN is not valid JSON"),
        (b"\xff\xfe{}", 400, "body is not UTF-8 text (invalid byte at position 0)"),
        (b"[1, 2]", 400, "the body must be a JSON object"),
        (b"[" * 100000 + b"]" * 100000, 400, "invalid JSON"),
        ({"reference_boxes": []}, 400, "missing 'completions'"),
        ({"completions": "abc"}, 400, "'completions' must be a list, got str"),
        ({"completions": ["a", 3]}, 400, "completions[1] must be a string or a list of messages, got int 3"),
        ({"completions": [[1]]}, 400, "completions[0][0] must be a message object"),
        ({"completions": [[{"content": 5}]]}, 400, "completions[0][0].content must be a string or a list of parts"),
        (
            {"completions": ["a"], "task": "detection"},
            400,
            "column 'task' must be a list with one value per completion",
        ),
        ({"completions": ["a", "b"], "reference_report": ["r"]}, 400, "column 'reference_report' has 1 values for 2"),
        (
            {"completions": ["a"], "task": ["detektion"]},
            400,
            "task[0]: unknown task \"detektion\"; did you mean 'detection'?",
        ),
        ({"completions": ["a"], "thinking": ["yes"]}, 400, 'thinking[0] must be true, false or null, got "yes"'),
        ({"completions": ["a"], "reference_report": [3]}, 400, "reference_report[0] must be a string or null"),
        ({"completions": ["a"], "reference_boxes": [{"x": 1}]}, 400, "reference_boxes[0] must be a list of"),
        ({"completions": ["a"] * 5}, 413, "5 completions is over the limit of 4 per request"),
        (b'{"completions": ["' + b"a" * 100 + b'"]}', 413, "body of 121 bytes is over the limit of 100 bytes"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else "",
)
def test_every_bad_request_is_a_4xx_with_one_line(body, status, start):
    limit = 100 if status == 413 else 10**7
    got_status, message = refused(body, max_items=4, max_body_bytes=limit)
    assert (got_status, message[: len(start)]) == (status, start)


def test_body_size_headers_tokens_and_names():
    check_body_size("100", 100)
    check_body_size(None, 1)
    for value, status in (("101", 413), ("-1", 400), ("ten", 400)):
        with pytest.raises(RequestError) as info:
            check_body_size(value, 100)
        assert info.value.status == status
    digest = token_digest("s3cret")
    assert digest != "s3cret" and len(digest) == 64
    check_bearer("Bearer s3cret", digest)
    check_bearer("bearer  s3cret ", digest)
    check_bearer(None, None)  # no token configured: anything goes
    for header, start in (
        (None, "missing bearer token"),
        ("", "missing bearer token"),
        ("Basic s3cret", "malformed Authorization header"),
        ("Bearer", "malformed Authorization header"),
        ("Bearer wrong", "invalid bearer token"),
    ):
        with pytest.raises(RequestError) as info:
            check_bearer(header, digest)
        assert info.value.status == 401 and str(info.value).startswith(start)
    e = unknown_reward("grounding_soft_f", ["bleu4", "grounding_soft_f1"])
    assert e.status == 404 and "did you mean 'grounding_soft_f1'?" in str(e)
    assert "did you mean" not in str(unknown_reward("zzz", ["bleu4"]))


ROWS = [  # (completion, reference_boxes, task, thinking)
    ("[0, 0, 1, 1]", [[0, 0, 1, 1]], "detection", None),
    ("[0.1, 0.1, 0.6, 0.6] [0.5, 0.5, 0.9, 0.9]", [[0.1, 0.1, 0.5, 0.5]], "abnormality_grounding", False),
    ("[0.1, 0.2, abc, 0.4]", "[0.1, 0.2, 0.3, 0.4]", "phrase_grounding", None),
    ("<think>look</think>[0, 0, 0.5, 0.5]", [0, 0, 0.5, 0.5], None, True),
    ("no tag [0, 0, 1, 1]", [[0, 0, 1, 1]], "detection", True),
    ("a report", [[0, 0, 1, 1]], "report_generation", None),
    ("[0, 0, 1, 1]", None, "detection", None),
]


def columns_of(rows):
    return {
        "reference_boxes": [r[1] for r in rows],
        "task": [r[2] for r in rows],
        "thinking": [r[3] for r in rows],
    }


def test_requests_scored_together_equal_each_scored_in_process():
    reward = get_reward("grounding_soft_f1")
    parts = [ROWS[:3], ROWS[3:5], ROWS[5:], ROWS[:1]]
    requests = [{"completions": [r[0] for r in p], "columns": columns_of(p)} for p in parts]
    requests.append({"completions": ["[0, 0, 1, 1]"], "columns": {}})  # no reference_boxes: refused alone
    requests.append({"completions": ["x"], "columns": {"task": ["report_generation"]}})  # nothing applies: fine
    answers = score_requests(reward, requests)
    assert len(answers) == len(requests)
    for req, got in zip(requests[:4], answers):
        fresh = get_reward("grounding_soft_f1")
        assert got["rewards"] == pytest.approx(fresh(req["completions"], **req["columns"]), abs=1e-6)
        assert got == answer(get_reward("grounding_soft_f1").breakdowns(req["completions"], **req["columns"]))
    assert answers[0]["status"] == ["ok", "ok", "ok"]
    assert answers[0]["components"]["n_pred_boxes"] == [1.0, 2.0, 0.0]
    assert answers[1]["rewards"][1] == 0.0 and answers[1]["components"]["answer_found"] == [1.0, 0.0]
    assert answers[2]["status"] == ["not_applicable", "failed"] and answers[2]["n_failed"] == 1
    assert answers[2]["errors"] == [None, "ValueError: grounding sample without reference_boxes"]
    assert answers[4]["status_code"] == 400 and "reference_boxes" in answers[4]["error"]
    assert answers[5]["status"] == ["not_applicable"]


def test_a_plain_trl_reward_function_is_served_too():
    def length(completions, **kw):
        return [float(len(c)) if c else None for c in completions]

    got = score_requests(length, [{"completions": ["ab", ""], "columns": {}}])[0]
    assert got["rewards"] == [2.0, None] and got["status"] == ["ok", "not_applicable"] and got["n_failed"] == 0


def test_config_checks_and_normalises():
    cfg = ServeConfig(
        rewards="bleu4, gleu,bleu4", reward_options={"gleu": {"thinking": True}}, target_ongoing_requests=2
    )
    assert cfg.rewards == ["bleu4", "gleu"]
    assert cfg.options_for("gleu") == {"thinking": True} and cfg.options_for("bleu4") == {}
    assert cfg.autoscaling() == {"target_ongoing_requests": 2, "min_replicas": 1}
    assert ServeConfig(rewards=["bleu4"]).autoscaling() is None
    assert ServeConfig(rewards=["bleu4"], autoscaling_config="{max_replicas: 3}").autoscaling() == {
        "max_replicas": 3,
        "min_replicas": 1,
    }
    for kwargs, start in (
        ({}, "--rewards is required"),
        ({"rewards": ["remote:bleu4@http://a:1"]}, "--rewards: unknown reward 'remote:bleu4@http://a:1'"),
        ({"rewards": ["bleu4"], "port": 0}, "--port must be in 1..65535"),
        ({"rewards": ["bleu4"], "replicas": 0}, "--replicas must be >= 1"),
        ({"rewards": ["bleu4"], "num_gpus_per_replica": -1}, "--num_gpus_per_replica must be"),
        ({"rewards": ["bleu4"], "reward_options": {"gleu": {}}}, "--reward_options names 'gleu'"),
        ({"rewards": ["bleu4"], "reward_options": "[1"}, "--reward_options: not JSON/YAML"),
        ({"rewards": ["bleu4"], "min_replicas": 3, "max_replicas": 2}, "autoscaling: need integers"),
    ):
        with pytest.raises(ConfigError) as info:
            ServeConfig(**kwargs)
        assert str(info.value).startswith(start), str(info.value)


def test_catalog_names_the_metric_models():
    assert reward_info("bleu4", {"thinking": True}) == {
        "name": "bleu4",
        "description": REWARDS["bleu4"][1],
        "options": {"thinking": True},
        "metric": "bleu4",
        "models": [],
    }
    assert reward_info("bertscore")["models"] == ["distilbert-base-uncased"]
    assert reward_info("think_format")["metric"] is None and reward_info("think_format")["models"] == []
