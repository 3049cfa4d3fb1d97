"""``RemoteReward`` splits paper-length batches by bytes against the real reward service.

One local Ray Serve application (num_cpus=2, no dashboard) serving ``bleu4`` with a 64 KiB body limit and a
200-item limit, torn down at the end. The client is the real ``RemoteReward``; an httpx event hook on its client
records every request it sends (method, body size) and every answer's status, so the requests are counted where
they leave the client, and the service itself refuses (413) any body over its limit.

- the limits are read from ``GET /rewards`` (64 KiB, 200 items);
- a batch of thinking completions of 3-12 KB (about 8 times the limit as one body, which the service refuses) goes
  as several requests, each under the limit, and the values equal in-process scoring of the whole batch;
- a completion over the limit on its own fails once with its size and the limit, is never sent (no retry, no 413),
  and the rest of its batch is scored.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/serve/test_app_remote_split.py   (about 20 s, most of it Ray's start)
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import numpy as np
import pytest

from radgrpo.rewards import get_reward
from radgrpo.rewards.remote import RemoteReward

MAX_BODY, MAX_ITEMS = 64 * 1024, 200


@pytest.fixture(scope="module")
def url(reward_service):
    with reward_service(
        rewards=["bleu4"], num_cpus_per_replica=0.25, max_items=MAX_ITEMS, max_body_bytes=MAX_BODY
    ) as service_url:
        yield service_url


def recorded(remote: RemoteReward) -> list[dict[str, Any]]:
    """Every request ``remote`` sends from now on: ``{"method", "path", "bytes", "status"}`` and, for a POST, the
    ``completions`` it carried, in order."""
    seen: list[dict[str, Any]] = []

    def on_request(request: httpx.Request) -> None:
        seen.append({"method": request.method, "path": request.url.path, "bytes": len(request.content)})
        if request.method == "POST":
            seen[-1]["completions"] = json.loads(request.content)["completions"]

    def on_response(response: httpx.Response) -> None:
        seen[-1]["status"] = response.status_code

    remote._http().event_hooks = {"request": [on_request], "response": [on_response]}
    return seen


def batch(n: int, seed: int) -> tuple[list[str], dict[str, list[Any]]]:
    """``n`` thinking completions of 3-12 KB: a long thinking block, then a short report (right on 2 of 3)."""
    rng = np.random.default_rng(seed)
    refs = [f"Finding {i}: small left pleural effusion, no pneumothorax." for i in range(n)]
    comps = []
    for i in range(n):
        thinking = " ".join(["the costophrenic angle is blunted"] * int(rng.integers(90, 360)))
        comps.append(f"<think>{thinking}</think> {refs[i] if i % 3 else 'No acute findings.'}")
    return comps, {"reference_report": refs, "thinking": [True] * n, "task": ["report_generation"] * n}


def assert_values_equal(got: list[float | None], want: list[float | None]) -> None:
    assert [g is None for g in got] == [w is None for w in want]
    assert [g for g in got if g is not None] == pytest.approx([w for w in want if w is not None], abs=1e-12)


def test_the_limits_are_read_from_the_service(url):
    remote = RemoteReward("bleu4", url, retries=0)
    seen = recorded(remote)
    assert remote.service_limits() == (MAX_ITEMS, MAX_BODY)
    assert remote.service_limits() == (MAX_ITEMS, MAX_BODY)  # asked once
    assert [(s["method"], s["path"], s["status"]) for s in seen] == [("GET", "/rewards", 200)]
    remote.close()


def test_a_batch_over_the_limit_is_split_and_scored_as_one(url):
    comps, cols = batch(64, seed=0)
    whole = json.dumps({**cols, "completions": comps}).encode()
    assert len(whole) > 6 * MAX_BODY  # about 8 times the limit as one body
    with httpx.Client(timeout=60) as c:  # which the service refuses
        r = c.post(f"{url}/rewards/bleu4", content=whole)
        assert r.status_code == 413 and "over the limit of 65536 bytes" in r.json()["error"]

    remote = RemoteReward("bleu4", url, retries=0)
    seen = recorded(remote)
    got = remote(comps, **cols)
    assert_values_equal(got, get_reward("bleu4")(comps, **cols))  # the whole batch scored in process
    assert remote.last_statuses == ["ok"] * 64 and (remote.n_failed, remote.n_failed_requests) == (0, 0)
    posts = [s for s in seen if s["method"] == "POST"]
    assert len(posts) == remote.n_requests and all(s["status"] == 200 for s in posts)
    assert all(s["bytes"] <= MAX_BODY for s in posts)
    assert [c for s in posts for c in s["completions"]] == comps  # each sent once, in order
    # greedy packing: at least the ceiling of size / limit requests, and fewer than twice that
    least = math.ceil(sum(s["bytes"] for s in posts) / MAX_BODY)
    assert least >= 7 and least <= len(posts) < 2 * least
    remote.close()


def test_an_oversized_completion_fails_once_and_the_rest_is_scored(url):
    comps, cols = batch(24, seed=1)
    comps[10] = "<think>" + "z" * (MAX_BODY + 100) + "</think> " + cols["reference_report"][10]
    remote = RemoteReward("bleu4", url, retries=3, backoff_s=0.01)
    seen = recorded(remote)
    got = remote(comps, **cols)
    want = get_reward("bleu4")(comps, **cols)
    assert got[10] is None and want[10] == pytest.approx(1.0)
    assert_values_equal(got[:10] + got[11:], want[:10] + want[11:])
    assert remote.last_statuses == ["ok"] * 10 + ["failed"] + ["ok"] * 13
    assert (remote.n_failed, remote.n_scored, remote.n_failed_requests) == (1, 23, 0)
    error = remote.last_error or ""
    size = int(error.split("would be ")[1].split(" bytes")[0])
    assert size > MAX_BODY
    assert error == (
        f"completion 10 is too large for the reward service: a request with it alone would be {size} bytes "
        f"({len(comps[10])} characters of completion), over the limit of {MAX_BODY} bytes per request; it was not sent"
    )
    posts = [s for s in seen if s["method"] == "POST"]
    assert len(posts) == remote.n_requests and all(s["status"] == 200 and s["bytes"] <= MAX_BODY for s in posts)
    # no retry and no 413: the other 23 completions (181 KB as one body) go once each, in ceil(181 / 64) = 3 requests
    assert [c for s in posts for c in s["completions"]] == comps[:10] + comps[11:] and len(posts) == 3
    remote.close()
