"""The reward service for real: one local Ray Serve application (num_cpus=2, no dashboard) on a free loopback port,
serving three offline rewards (grounding_soft_f1, rule_finding_f1, bleu4; two replicas each) behind a bearer token,
shared by every test here and torn down at the end. Clients are real HTTP clients (httpx), nothing is mocked.

- answers equal in-process ``get_reward(name)`` scoring to 1e-6 (other-task rows, failures, malformed boxes);
- 64 concurrent clients for ``RADGRPO_SERVE_LOAD_S`` seconds (default 20): every answer equal, none lost;
- one replica of a 2-replica deployment killed mid-load: no answer lost at the client (which retries 5xx and
  connection errors, as ``radgrpo.rewards.remote.RemoteReward`` does) and Serve brings the deployment back to 2;
- every bad-request class gets its 4xx and a one-line ``{"error": ...}``, and the service keeps serving.
- the real ``RemoteReward`` client (``get_reward("remote:NAME@URL")``) gives the in-process values, and with a
  closed port as its first URL it fails over to the live one.

Run: pytest tests/serve/test_app.py   (about a minute; RADGRPO_SERVE_LOAD_S=5 for a shorter load test)
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import Any

import httpx
import pytest
import ray
from ray import serve

from radgrpo.rewards import get_reward
from radgrpo.rewards.registry import REWARDS
from radgrpo.serve.app import deployment_name
from radgrpo.serve.config import APP_NAME
from radgrpo.serve.scoring import answer

NAMES = ["grounding_soft_f1", "rule_finding_f1", "bleu4"]
TOKEN_ENV, TOKEN = "RADGRPO_TEST_SERVE_TOKEN", "test-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_ITEMS, MAX_BODY = 64, 64 * 1024
LOAD_S = float(os.environ.get("RADGRPO_SERVE_LOAD_S", "20"))
REWARD_OPTIONS = {"rule_finding_f1": {"side": True}}  # the service's reward_options

# every row carries the columns of both kinds of reward, so each reward sees its own task and others' rows
# (completion, reference_boxes, reference_report, task, thinking)
ROWS: list[tuple[Any, Any, Any, Any, Any]] = [
    ("[0, 0, 1, 1]", [[0, 0, 1, 1]], None, "detection", None),
    ("[0.1, 0.1, 0.6, 0.6] [0.5, 0.5, 0.9, 0.9]", [[0.1, 0.1, 0.5, 0.5]], None, "abnormality_grounding", False),
    ("[0.1, 0.2, abc, 0.4] [0.3, 0.3]", "[0.1, 0.2, 0.3, 0.4]", None, "phrase_grounding", None),  # malformed boxes
    ("[-0.1, 1e-1, 5e-1, 0.7] [1e400, 0, 1, 1]", [0.0, 0.1, 0.5, 0.7], None, "anatomical_grounding", None),
    ("<think>look</think>[0, 0, 0.5, 0.5]", [[0, 0, 0.5, 0.5]], None, "detection", True),
    ("no think tag [0, 0, 1, 1]", [[0, 0, 1, 1]], None, "detection", True),
    ("[0, 0, 1, 1]", [], None, "detection", None),  # empty reference set: 0.0
    ("[0, 0, 1, 1]", None, None, "detection", None),  # grounding sample without boxes: failed
    (
        "The heart is enlarged. Small right pleural effusion.",
        None,
        "The heart is enlarged. Small right pleural effusion. No pneumothorax.",
        "report_generation",
        None,
    ),
    (
        "No acute cardiopulmonary process.",
        None,
        "Left pleural effusion. There is a nodule in the left upper zone.",
        "report_generation",
        False,
    ),
    (
        "<think>cardiac silhouette</think> The heart is enlarged.",
        None,
        "The heart is enlarged.",
        "report_generation",
        True,
    ),
    ("The heart is enlarged.", None, "The heart is enlarged.", "report_generation", True),  # no </think>
    ("Anything at all.", None, "", "report_generation", None),  # empty reference: failed
    ("Right pneumothorax.", None, None, None, None),  # no task: every reward applies; no reference: failed
    (
        [{"role": "assistant", "content": "There is a nodule in the left upper zone."}],
        [[0.2, 0.2, 0.4, 0.4]],
        "There is a nodule in the left upper zone.",
        None,
        None,
    ),
]


def body_of(rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    return {
        "completions": [r[0] for r in rows],
        "reference_boxes": [r[1] for r in rows],
        "reference_report": [r[2] for r in rows],
        "task": [r[3] for r in rows],
        "thinking": [r[4] for r in rows],
    }


def in_process(name: str, body: dict[str, list[Any]]) -> dict[str, Any]:
    """What the service must answer: the reward scored here, on the body's completions and columns."""
    columns = {k: v for k, v in body.items() if k != "completions"}
    want = answer(get_reward(name).breakdowns(body["completions"], **columns))
    assert want["rewards"] == get_reward(name)(body["completions"], **columns)  # breakdowns = the TRL call
    return want


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["status"] == want["status"]
    assert got["n_failed"] == want["n_failed"] and got["errors"] == want["errors"]
    assert [g is None for g in got["rewards"]] == [w is None for w in want["rewards"]]
    assert [g for g in got["rewards"] if g is not None] == pytest.approx(
        [w for w in want["rewards"] if w is not None], abs=1e-6
    )
    assert sorted(got["components"]) == sorted(want["components"])
    for k, values in want["components"].items():
        assert [g is None for g in got["components"][k]] == [w is None for w in values], k
        assert [g for g in got["components"][k] if g is not None] == pytest.approx(
            [w for w in values if w is not None], abs=1e-6
        )


def make_pool(n: int, seed: int, names: list[str] = NAMES) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``n`` (reward, body, expected answer) triples: random subsets of :data:`ROWS`, in random order."""
    rng = random.Random(seed)
    pool = []
    for i in range(n):
        name = names[i % len(names)]
        body = body_of(rng.sample(ROWS, rng.randint(1, 8)))
        pool.append((name, body, in_process(name, body)))
    return pool


@pytest.fixture(scope="module")
def url(reward_service):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(TOKEN_ENV, TOKEN)
        with reward_service(
            rewards=NAMES,
            replicas=2,
            num_cpus_per_replica=0.25,
            max_batch_size=16,
            batch_wait_timeout_s=0.005,
            max_items=MAX_ITEMS,
            max_body_bytes=MAX_BODY,
            api_key_env=TOKEN_ENV,
            reward_options=REWARD_OPTIONS,
        ) as service_url:
            yield service_url


def post(client: httpx.Client, url: str, body: Any, attempts: int = 10) -> tuple[httpx.Response, int]:
    """POST with a tiny retry on connection errors and 5xx (a replica being replaced); (response, retries)."""
    for attempt in range(attempts):
        try:
            r = client.post(url, json=body, headers=AUTH)
        except httpx.TransportError:
            r = None
        if r is not None and r.status_code < 500:
            return r, attempt
        time.sleep(0.1 * 2 ** min(attempt, 4))
    raise AssertionError(f"no answer from {url} after {attempts} attempts")


def test_health_and_catalog(url):
    with httpx.Client(timeout=30) as c:
        health = c.get(f"{url}/healthz")
        assert health.status_code == 200, health.text
        got = health.json()
        assert got["status"] == "RUNNING"
        assert {deployment_name(n) for n in NAMES} | {"ingress"} == set(got["deployments"])
        for name in NAMES:
            d = got["deployments"][deployment_name(name)]
            assert d["status"] == "HEALTHY" and d["replicas"] == {"RUNNING": 2}
        catalog = c.get(f"{url}/rewards", headers=AUTH).json()
    assert [r["name"] for r in catalog["rewards"]] == NAMES
    assert [r["description"] for r in catalog["rewards"]] == [REWARDS[n][1] for n in NAMES]
    assert [r["metric"] for r in catalog["rewards"]] == ["soft_f1", "rule_finding_f1", "bleu4"]
    assert all(r["models"] == [] for r in catalog["rewards"])  # offline rewards need no model files
    assert catalog["rewards"][1]["options"] == {"side": True}
    assert (catalog["max_items"], catalog["max_body_bytes"]) == (MAX_ITEMS, MAX_BODY)


def test_answers_equal_in_process_scoring(url):
    with httpx.Client(timeout=60) as c:
        for name in NAMES:  # all rows in one request: ok, not_applicable and failed samples
            body = body_of(ROWS)
            r, _ = post(c, f"{url}/rewards/{name}", body)
            assert r.status_code == 200, r.text
            got = r.json()
            assert_same(got, in_process(name, body))
            assert {"ok", "not_applicable", "failed"} <= set(got["status"]), (name, got["status"])
        for name, body, want in make_pool(24, seed=1):
            r, _ = post(c, f"{url}/rewards/{name}", body)
            assert r.status_code == 200, r.text
            assert_same(r.json(), want)
        r, _ = post(c, f"{url}/rewards/bleu4", {"completions": []})
        assert r.json() == {"rewards": [], "status": [], "components": {}, "errors": [], "n_failed": 0}


def run_load(url: str, pool, n_clients: int, stop: threading.Event, deadline: float | None = None):
    """``n_clients`` threads posting random pool requests until ``stop`` (or ``deadline``); per-request results."""
    results: list[tuple[float, int, Any, int]] = []  # (time sent, pool index, answer or error text, retries)
    lock = threading.Lock()

    def client(k: int) -> None:
        rng = random.Random(k)
        with httpx.Client(timeout=120) as c:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                i = rng.randrange(len(pool))
                sent = time.monotonic()
                try:
                    r, retries = post(c, f"{url}/rewards/{pool[i][0]}", pool[i][1])
                    got: Any = r.json() if r.status_code == 200 else f"HTTP {r.status_code}: {r.text}"
                except AssertionError as e:
                    got, retries = str(e), -1
                with lock:
                    results.append((sent, i, got, retries))

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n_clients)]
    for t in threads:
        t.start()
    return threads, results


def check_results(pool, results) -> None:
    for _, i, got, _ in results:
        assert isinstance(got, dict), got  # answered with 200 (else the error text)
        assert_same(got, pool[i][2])


def test_64_concurrent_clients_get_exact_answers(url):
    pool = make_pool(48, seed=2)
    stop = threading.Event()
    t0 = time.monotonic()
    threads, results = run_load(url, pool, 64, stop, deadline=t0 + LOAD_S)
    for t in threads:
        t.join(timeout=LOAD_S + 120)
    assert not any(t.is_alive() for t in threads)
    assert len(results) >= 64, len(results)  # every client got at least one answer
    check_results(pool, results)
    assert all(retries == 0 for *_, retries in results)  # nothing failed: no retry was needed
    rate = len(results) / (time.monotonic() - t0)
    print(f"\n{len(results)} requests in {LOAD_S:.0f} s from 64 clients ({rate:.0f}/s), all exact")


def replicas_of(name: str) -> set[str]:
    prefix = f"SERVE_REPLICA::{APP_NAME}#{deployment_name(name)}#"
    return {a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["name"].startswith(prefix)}


def running(name: str) -> dict[str, int]:
    d = serve.status().applications[APP_NAME].deployments[deployment_name(name)]
    return {str(getattr(k, "value", k)): int(v) for k, v in d.replica_states.items()}


def test_a_killed_replica_loses_no_answer_and_is_replaced(url):
    name = "grounding_soft_f1"
    before = replicas_of(name)
    assert len(before) == 2 and running(name) == {"RUNNING": 2}
    pool = make_pool(16, seed=3, names=[name])
    stop = threading.Event()
    threads, results = run_load(url, pool, 16, stop)
    try:
        time.sleep(1.5)
        victim = sorted(before)[0]
        killed_at = time.monotonic()
        ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
        deadline = killed_at + 60
        while time.monotonic() < deadline:
            now = replicas_of(name)
            if victim not in now and len(now) == 2 and running(name) == {"RUNNING": 2}:
                break
            time.sleep(0.25)
        replaced_after = time.monotonic() - killed_at
        time.sleep(1.0)  # keep the load on the replaced deployment for a moment
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    after = replicas_of(name)
    assert victim not in after and len(after) == 2 and running(name) == {"RUNNING": 2}, (before, after)
    assert len(after - before) == 1  # one new replica replaced the killed one
    check_results(pool, results)  # no answer lost, every one exact
    assert any(sent > killed_at for sent, *_ in results)
    print(
        f"\nreplica {victim} killed; replaced in {replaced_after:.1f} s; {len(results)} answers, "
        f"{sum(r > 0 for *_, r in results)} retried by the client"
    )


BAD_REQUESTS = [  # (path, headers, raw body, status, start of the error)
    ("/rewards/bleu4", AUTH, b"{", 400, "invalid JSON"),
    ("/rewards/bleu4", AUTH, b'{"completions": ["\xff"]}', 400, "body is not UTF-8 text"),
    ("/rewards/bleu4", AUTH, b'{"completions": ["' + b"a" * MAX_BODY + b'"]}', 413, "body of"),
    ("/rewards/bleu4", AUTH, b'{"completions": "abc"}', 400, "'completions' must be a list"),
    ("/rewards/bleu4", AUTH, b'{"completions": ["a", 1]}', 400, "completions[1] must be a string"),
    ("/rewards/bleu4", AUTH, b'{"completions": ["a"], "thinking": ["no"]}', 400, "thinking[0] must be"),
    (
        "/rewards/bleu4",
        AUTH,
        b'{"completions": ["a", "b"], "reference_report": ["r"]}',
        400,
        "column 'reference_report' has 1 values for 2",
    ),
    (
        "/rewards/bleu4",
        AUTH,
        b'{"completions": ["a"]}',
        400,
        "ValueError: this reward needs the dataset column 'reference_report'",
    ),
    ("/rewards/bleu", AUTH, b'{"completions": ["a"]}', 404, "unknown reward 'bleu'; did you mean 'bleu4'?"),
    (
        "/rewards/bleu4",
        AUTH,
        json.dumps({"completions": ["a"] * (MAX_ITEMS + 1)}).encode(),
        413,
        f"{MAX_ITEMS + 1} completions is over the limit of {MAX_ITEMS}",
    ),
    ("/rewards/bleu4", {}, b'{"completions": ["a"]}', 401, "missing bearer token"),
    ("/rewards/bleu4", {"Authorization": "Bearer nope"}, b'{"completions": ["a"]}', 401, "invalid bearer token"),
    ("/rewards", {"Authorization": "Basic x"}, None, 401, "malformed Authorization header"),
    ("/nowhere", AUTH, b"{}", 404, "no route POST /nowhere"),
]


def test_every_bad_request_gets_its_4xx_then_a_good_request_succeeds(url):
    good = body_of(ROWS[:3])
    with httpx.Client(timeout=60) as c:
        for path, headers, raw, status, start in BAD_REQUESTS:
            if raw is None:
                r = c.get(f"{url}{path}", headers=headers)
            else:
                r = c.post(f"{url}{path}", content=raw, headers=headers)
            assert r.status_code == status, (path, raw[:60] if raw else raw, r.status_code, r.text)
            got = r.json()
            assert list(got) == ["error"] and len(got["error"].splitlines()) == 1, got
            assert got["error"].startswith(start), (got["error"], start)
        # a body over the limit without Content-Length (chunked) is cut off while it streams
        r = c.post(f"{url}/rewards/bleu4", content=iter([b'{"completions": ["', b"a" * MAX_BODY, b'"]}']), headers=AUTH)
        assert r.status_code == 413 and r.json()["error"].startswith("body is over the limit")
        r = c.get(f"{url}/rewards/bleu4", headers=AUTH)
        assert r.status_code == 405 and list(r.json()) == ["error"]
        r, retries = post(c, f"{url}/rewards/grounding_soft_f1", good)
        assert r.status_code == 200 and retries == 0
        assert_same(r.json(), in_process("grounding_soft_f1", good))
        assert c.get(f"{url}/healthz").status_code == 200


def test_remote_reward_equals_in_process_and_fails_over(url, free_port):
    body = body_of(ROWS * 2)  # every task: ok, other-task (not_applicable) and failed samples
    completions = body.pop("completions")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    for name in NAMES:
        local = get_reward(name, **REWARD_OPTIONS.get(name, {}))
        want = local(completions, **body)
        remote = get_reward(f"remote:{name}@{url}", api_key_env=TOKEN_ENV, retries=0)
        got = remote(completions, **body)
        assert remote.__name__ == name and (remote.n_requests, remote.n_failed_requests) == (1, 0)
        assert [g is None for g in got] == [w is None for w in want], name
        assert [g for g in got if g is not None] == pytest.approx([w for w in want if w is not None], abs=1e-6)
        fresh = get_reward(name, **REWARD_OPTIONS.get(name, {}))  # breakdowns count failures again
        n_skipped = sum(b.status == "skipped" for b in fresh.breakdowns(completions, **body))
        assert n_skipped > 0 and remote.n_failed == local.n_failed > 0, name  # other-task rows: None, not failed
        assert got.count(None) == remote.n_failed + n_skipped
        remote.close()
    # failover: each chunk starts at the next URL in turn; a chunk that starts at the dead one moves on at once
    name = "grounding_soft_f1"
    want = get_reward(name)(completions, **body)
    remote = get_reward(f"remote:{name}@{dead},{url}", api_key_env=TOKEN_ENV, retries=1, backoff_s=0, chunk_size=8)
    got = remote(completions, **body)  # 30 completions: 4 chunks, starting at dead, live, dead, live
    assert (remote.n_requests, remote.n_failed_requests) == (6, 2)
    assert [g is None for g in got] == [w is None for w in want]
    assert [g for g in got if g is not None] == pytest.approx([w for w in want if w is not None], abs=1e-6)
    remote.close()
