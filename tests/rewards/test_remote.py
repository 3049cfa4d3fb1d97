"""``RemoteReward`` against a real HTTP reward service (uvicorn in a thread, real sockets).

The service here implements the reward service's JSON contract (docs/rewards.md#remote-rewards) by calling the
in-process rewards, with switches to answer 503, sleep, reject a token or advertise limits on ``GET /rewards``.
Checked: values and components equal to in-process scoring (mixed tasks, chat completions, numpy columns, TRL's
extras not sent), chunking in order, splitting by bytes (an item over the limit alone fails, unsent), the limits read
from the service (or the defaults), failover over a closed port, retries with backoff after 503s, failures after
retries counted while not-applicable items are not, 4xx errors, timeouts, the ``remote:NAME@URL`` registry form and
pickling. tests/serve/test_app_remote_split.py splits by bytes against the real service.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_remote.py
"""

import json
import logging
import pickle
import socket
import threading
import time

import numpy as np
import pytest

from radgrpo.config import ConfigError
from radgrpo.rewards import get_reward, list_rewards
from radgrpo.rewards.remote import DEFAULT_MAX_BODY_BYTES, RemoteReward, RemoteRewardError

MAX_ITEMS = 64  # the test service answers 413 above this
STATE: dict = {}


def reset_state(**kw) -> None:
    STATE.clear()
    STATE.update(
        {"fail_next": 0, "sleep_s": 0.0, "token": None, "calls": [], "sizes": [], "gets": 0, "advertise": None}, **kw
    )


def make_app():
    """A FastAPI app with the reward service's contract, scoring with the in-process rewards."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()
    cache: dict = {}

    def error(status: int, msg: str) -> JSONResponse:
        return JSONResponse({"error": msg}, status_code=status)

    @app.get("/rewards")
    def catalog():  # the limits, when STATE["advertise"] holds them; else no such route, as on a service of another make
        STATE["gets"] += 1
        if STATE["advertise"] is None:
            return error(404, "no route GET /rewards")
        return {"rewards": [], **STATE["advertise"]}

    @app.post("/rewards/{name}")
    def score(name: str, body: dict, request: Request):  # sync: runs in uvicorn's thread pool
        STATE["calls"].append({"name": name, "n": len(body.get("completions", [])), "keys": sorted(body)})
        STATE["sizes"].append(int(request.headers["content-length"]))
        if STATE["token"] and request.headers.get("authorization") != f"Bearer {STATE['token']}":
            return error(401, "missing or wrong bearer token")
        if STATE["fail_next"] > 0:
            STATE["fail_next"] -= 1
            return error(503, "busy")
        if STATE["sleep_s"]:
            time.sleep(STATE["sleep_s"])
        completions = body.pop("completions", None)
        if not isinstance(completions, list) or not all(isinstance(c, str) for c in completions):
            return error(400, "'completions' must be a list of strings")
        if len(completions) > MAX_ITEMS:
            return error(413, f"{len(completions)} items, at most {MAX_ITEMS}")
        if any(not isinstance(v, list) or len(v) != len(completions) for v in body.values()):
            return error(400, "every column needs one value per completion")
        if name == "broken":  # a service that breaks the contract: one reward too few
            return {"rewards": [], "status": [], "components": {}, "n_failed": 0}
        try:
            reward = cache.setdefault(name, get_reward(name))
        except KeyError:
            return error(404, f"unknown reward {name!r}")
        bds = reward.breakdowns(completions, **body)
        keys = sorted({k for b in bds for k in b.components})
        return {
            "rewards": [b.total for b in bds],
            "components": {k: [b.components.get(k) for b in bds] for k in keys},
            "status": [{"skipped": "not_applicable"}.get(b.status, b.status) for b in bds],
            "n_failed": sum(b.status == "failed" for b in bds),
        }

    return app


@pytest.fixture(scope="module")
def url():
    import uvicorn

    reset_state()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(), log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "test reward service did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(autouse=True)
def _fresh_state():
    reset_state()


def closed_url() -> str:
    """A localhost URL nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


REF = "Mild cardiomegaly. No pleural effusion."
BOX = [[0.1, 0.1, 0.5, 0.5]]


def mixed_batch():
    """Report and grounding rows, string and chat completions, thinking on some, numpy/tuple boxes."""
    completions = [
        "Mild cardiomegaly. No pleural effusion.",
        [{"role": "assistant", "content": "<think>look</think> Mild cardiomegaly."}],
        "[0.1, 0.1, 0.5, 0.5]",
        [
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "<think>x</think>"},
                    {"type": "text", "text": "[0.2, 0.1, 0.5, 0.6]"},
                ],
            }
        ],
        "no tag at all",
        "[0, 0, 1, 1] and [0.1, 0.1, 0.5, 0.5]",
    ]
    columns = {
        "task": [
            "report_generation",
            "report_generation",
            "abnormality_grounding",
            "anatomical_grounding",
            "report_generation",
            "detection",
        ],
        "reference_report": [REF, REF, "", "", REF, ""],
        "reference_boxes": [[], [], np.array(BOX), (tuple(BOX[0]),), [], BOX],
        "thinking": [False, True, False, True, True, np.bool_(False)],
        "id": [f"r{i}" for i in range(6)],
    }
    return completions, columns


def logged(reward, completions, columns):
    """``(values, log_metric calls, log_extra calls)`` of one TRL-style call (with TRL's extras passed)."""
    metrics, extras = [], []
    out = reward(
        completions,
        **columns,
        prompts=["p"] * len(completions),
        completion_ids=[[1, 2]] * len(completions),
        images=[[object()]] * len(completions),
        trainer_state=object(),
        log_metric=lambda k, v: metrics.append((k, v)),
        log_extra=lambda k, v: extras.append((k, v)),
    )
    return out, metrics, extras


@pytest.mark.parametrize("name", ["grounding_soft_f1", "bleu4"])
def test_values_and_components_equal_in_process_scoring(url, name):
    completions, columns = mixed_batch()
    remote = RemoteReward(name, url, timeout_s=5)
    local = get_reward(name)
    # the service gets JSON lists; in process the same boxes as plain lists (TRL's datasets columns are lists)
    plain = {
        **columns,
        "reference_boxes": [[], [], BOX, BOX, [], BOX],
        "thinking": [False, True, False, True, True, False],
    }
    got, want = logged(remote, completions, columns), logged(local, completions, plain)
    assert got == want  # values, <name>/<component> means and completions-table columns, exactly
    assert remote.__name__ == local.__name__ == name
    if name == "bleu4":
        assert got[0][2:4] == [None, None] and got[0][5] is None and got[0][0] == pytest.approx(1.0)
    else:
        assert got[0][:2] == [None, None] and got[0][2] == pytest.approx(1.0) and got[0][4] is None
    assert (remote.n_scored, remote.n_failed) == (local.n_scored, local.n_failed) == (3, 0)
    # one request with the columns and the completions, none of TRL's extras and no images
    assert STATE["calls"] == [
        {
            "name": name,
            "n": 6,
            "keys": ["completions", "id", "reference_boxes", "reference_report", "task", "thinking"],
        }
    ]
    assert remote.n_requests == 1 and remote.n_failed_requests == 0


def test_forced_thinking_overrides_the_column(url):
    comps = ["<think>a</think> " + REF, REF]
    got = RemoteReward("bleu4", url, thinking=True)(comps, reference_report=[REF, REF], thinking=[False, False])
    assert got == get_reward("bleu4", thinking=True)(comps, reference_report=[REF, REF]) == [pytest.approx(1.0), 0.0]


def test_chunks_keep_the_order(url):
    refs = [f"finding number {i} in the left lung" for i in range(10)]
    comps = [refs[i] if i % 2 else f"finding number {i}" for i in range(10)]
    remote = RemoteReward("bleu4", url, chunk_size=3)
    got = remote(comps, reference_report=refs)
    assert got == get_reward("bleu4")(comps, reference_report=refs)
    assert [c["n"] for c in STATE["calls"]] == [3, 3, 3, 1] and remote.n_requests == 4
    assert [v == pytest.approx(1.0) for v in got] == [i % 2 == 1 for i in range(10)]


def test_failover_from_a_closed_port_and_round_robin(url):
    remote = RemoteReward("bleu4", [closed_url(), url], retries=1, backoff_s=5.0)
    t0 = time.monotonic()
    assert remote([REF], reference_report=[REF]) == [pytest.approx(1.0)]
    assert time.monotonic() - t0 < 2.0  # moving to a URL not tried yet does not wait backoff_s
    assert (remote.n_requests, remote.n_failed_requests, len(STATE["calls"]), remote.n_failed) == (2, 1, 1, 0)
    # the next request starts at the next URL in turn: the live one, one attempt
    assert remote([REF], reference_report=[REF]) == [pytest.approx(1.0)]
    assert (remote.n_requests, remote.n_failed_requests) == (3, 1)


def test_retries_with_exponential_backoff_after_503(url):
    STATE["fail_next"] = 2
    remote = RemoteReward("bleu4", url, retries=3, backoff_s=0.1)
    t0 = time.monotonic()
    assert remote([REF, "no"], reference_report=[REF, REF]) == get_reward("bleu4")(
        [REF, "no"], reference_report=[REF, REF]
    )
    elapsed = time.monotonic() - t0
    assert 0.1 + 0.2 <= elapsed < 2.0  # waits 0.1 s, then 0.2 s, on the one URL
    assert (len(STATE["calls"]), remote.n_requests, remote.n_failed_requests, remote.n_failed) == (3, 3, 2, 0)


def test_failed_after_retries_is_counted_not_applicable_is_not(url, caplog):
    STATE["fail_next"] = 100
    remote = RemoteReward("bleu4", url, retries=2, backoff_s=0.01)
    with caplog.at_level(logging.WARNING, logger="radgrpo.rewards"):
        assert remote([REF, REF], reference_report=[REF, REF], task=["report_generation"] * 2) == [None, None]
    assert (remote.n_failed, remote.n_scored, remote.n_requests) == (2, 0, 3)
    assert "2 of 2 samples failed" in caplog.text and "503" in caplog.text and "after 3 attempts" in caplog.text
    # the service answers: a report row without a reference fails there, a grounding row is not applicable
    STATE["fail_next"] = 0
    out = remote(
        [REF, "[0, 0, 1, 1]", REF, {"not": "a completion"}],
        reference_report=["", "", REF, REF],
        task=["report_generation", "abnormality_grounding", "report_generation", "report_generation"],
    )
    assert out == [None, None, pytest.approx(1.0), None]
    assert (remote.n_failed, remote.n_scored) == (2 + 2, 1)  # the failed row and the malformed completion
    assert STATE["calls"][-1]["n"] == 3  # the malformed completion is failed here, not sent


def test_a_malformed_answer_is_retried_then_counted(url):
    remote = RemoteReward("broken", url, retries=1, backoff_s=0.01)
    assert remote(["a", "b"], reference_report=[REF, REF]) == [None, None]
    assert (remote.n_requests, remote.n_failed_requests, remote.n_failed) == (2, 2, 2)


def test_4xx_raises_a_clear_error_without_retrying(url, monkeypatch):
    remote = RemoteReward("radcliqq", [url, url], retries=3)
    with pytest.raises(RemoteRewardError, match=r"404 .*/rewards/radcliqq: unknown reward 'radcliqq' \(GET .*/rewards"):
        remote([REF], reference_report=[REF])
    assert remote.n_requests == 1 and len(STATE["calls"]) == 1
    with pytest.raises(RemoteRewardError, match=r"413 .*at most 64 .*lower chunk_size, now 100"):
        RemoteReward("bleu4", url, chunk_size=100)([REF] * 70, reference_report=[REF] * 70)
    # a bearer token: rejected without it, accepted from the named environment variable
    STATE["token"] = "s3cret"
    monkeypatch.delenv("RADGRPO_REWARD_API_KEY", raising=False)
    with pytest.raises(RemoteRewardError, match=r"401 .*wrong bearer token .*RADGRPO_REWARD_API_KEY"):
        RemoteReward("bleu4", url)([REF], reference_report=[REF])
    monkeypatch.setenv("REWARD_TOKEN", "s3cret")
    assert RemoteReward("bleu4", url, api_key_env="REWARD_TOKEN")([REF], reference_report=[REF]) == [pytest.approx(1.0)]
    monkeypatch.delenv("REWARD_TOKEN")
    with pytest.raises(ConfigError, match="REWARD_TOKEN"):
        RemoteReward("bleu4", url, api_key_env="REWARD_TOKEN")


def test_a_slow_service_times_out(url):
    STATE["sleep_s"] = 1.0
    remote = RemoteReward("bleu4", url, timeout_s=0.2, retries=1, backoff_s=0.01)
    t0 = time.monotonic()
    assert remote([REF, REF], reference_report=[REF, REF]) == [None, None]
    assert time.monotonic() - t0 < 0.9 and (remote.n_requests, remote.n_failed) == (2, 2)


def test_registry_form_options_and_pickling(url):
    assert "remote:NAME@URL[,URL]" in list_rewards()
    r = get_reward(f"remote:bleu4@{closed_url()},{url}/", retries=1, timeout_s=2)
    assert (r.__name__, r.urls[1], r.timeout_s, r.retries) == ("bleu4", url, 2.0, 1)
    assert r([REF], reference_report=[REF]) == [pytest.approx(1.0)]
    copy = pickle.loads(pickle.dumps(r))  # the connection pool is not pickled; the copy opens its own
    assert copy([REF], reference_report=[REF]) == [pytest.approx(1.0)] and copy.n_scored == 2
    assert RemoteReward("bleu4", url, log_name="remote_bleu4").__name__ == "remote_bleu4"
    for bad, msg in [
        ("remote:bleu4", "remote:NAME@URL"),
        ("remote:bleu4@", "at least one URL"),
        ("remote:bleu4@localhost:8000", "http:// or https://"),
        ("remote:@http://a:8000", "non-empty name"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            get_reward(bad)
    with pytest.raises(ConfigError, match="chunk_size"):
        get_reward(f"remote:bleu4@{url}", chunk_size=0)
    with pytest.raises(TypeError, match="cannot be sent to the reward service as JSON"):
        RemoteReward("bleu4", url)([REF], reference_report=[REF], extra=[object()])
    assert json.loads(json.dumps(STATE["calls"]))  # the service saw only JSON


def long_batch(n: int, seed: int = 0):
    """``n`` thinking completions of 200-900 characters (a short answer after a long thinking block)."""
    rng = np.random.default_rng(seed)
    refs = [f"finding number {i} in the left lung" for i in range(n)]
    comps = [
        f"<think>{'x' * int(rng.integers(200, 900))}</think> {refs[i] if i % 3 else 'no finding'}" for i in range(n)
    ]
    return comps, {"reference_report": refs, "thinking": [True] * n}


def test_split_by_bytes_keeps_values_and_order(url):
    comps, cols = long_batch(30)
    remote = RemoteReward("bleu4", url, max_body_bytes=3000, retries=0)
    got = remote(comps, **cols)
    assert got == get_reward("bleu4")(comps, **cols)
    assert remote.service_limits() == (1024, 3000)  # the service advertises nothing: the client's values
    sizes = STATE["sizes"]
    assert len(sizes) == remote.n_requests >= 5 and max(sizes) <= 3000  # ~17 KB in requests of at most 3000 bytes
    assert sum(c["n"] for c in STATE["calls"]) == 30 and remote.n_failed_requests == 0


def test_an_item_over_the_limit_alone_fails_once_unsent(url, caplog):
    comps, cols = long_batch(10)
    comps[4] = "<think>" + "y" * 5000 + "</think> finding number 4 in the left lung"
    remote = RemoteReward("bleu4", url, max_body_bytes=3000, retries=3, backoff_s=0.01)
    with caplog.at_level(logging.WARNING, logger="radgrpo.rewards"):
        got = remote(comps, **cols)
    want = get_reward("bleu4")(comps, **cols)
    assert got[4] is None and want[4] == pytest.approx(1.0)
    assert got[:4] + got[5:] == want[:4] + want[5:]  # the others are scored
    assert (remote.n_failed, remote.n_scored, remote.n_failed_requests) == (1, 9, 0)
    assert remote.last_statuses == ["ok"] * 4 + ["failed"] + ["ok"] * 5
    assert remote.last_error is not None
    assert remote.last_error.startswith("completion 4 is too large for the reward service: a request with it alone ")
    assert "over the limit of 3000 bytes per request; it was not sent" in remote.last_error
    assert remote.n_requests == len(STATE["sizes"]) and sum(c["n"] for c in STATE["calls"]) == 9  # never sent
    assert max(STATE["sizes"]) <= 3000 and "1 of 10 samples failed" in caplog.text


def test_limits_come_from_the_service(url):
    STATE["advertise"] = {"max_items": 4, "max_body_bytes": 2500}
    remote = RemoteReward("bleu4", [closed_url(), url], retries=1, backoff_s=0)
    assert remote.service_limits() == (4, 2500)  # the closed port does not answer; the live one advertises
    comps, cols = long_batch(12)
    assert remote(comps, **cols) == get_reward("bleu4")(comps, **cols)
    assert max(STATE["sizes"]) <= 2500 and max(c["n"] for c in STATE["calls"]) <= 4
    assert STATE["gets"] == 1  # asked once
    # the client's own values are lowered to the service's, never raised
    assert RemoteReward("bleu4", url, chunk_size=3, max_body_bytes=9000).service_limits() == (3, 2500)
    assert RemoteReward("bleu4", url, max_body_bytes=1000).service_limits() == (4, 1000)
    # no URL answers: the defaults, and the next call asks again
    lonely = RemoteReward("bleu4", closed_url(), retries=0)
    assert lonely.service_limits() == lonely.service_limits() == (1024, DEFAULT_MAX_BODY_BYTES)
    with pytest.raises(ConfigError, match="max_body_bytes"):
        RemoteReward("bleu4", url, max_body_bytes=0)


def test_a_413_forgets_the_limits(url):
    STATE["advertise"] = {"max_items": 100}  # more than the fake really takes (64)
    remote = RemoteReward("bleu4", url)
    with pytest.raises(RemoteRewardError, match=r"413 .*held 70 completions in \d+ bytes, split by at most 100 "):
        remote([REF] * 70, reference_report=[REF] * 70)
    STATE["advertise"] = {"max_items": 64}
    assert remote([REF] * 70, reference_report=[REF] * 70) == [pytest.approx(1.0)] * 70  # asked again: 64 + 6
    assert STATE["gets"] == 2 and [c["n"] for c in STATE["calls"]] == [70, 64, 6]
