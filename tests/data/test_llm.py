"""``radgrpo.data.llm`` against a real OpenAI-compatible HTTP server started by the test on 127.0.0.1:
request shape, caching/resume, retry on 429 with Retry-After, bounded concurrency, rate limit, failure counting.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_llm.py
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from radgrpo.data.llm import LLMClient, LLMError, filter_reports, generate_conversations


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_once = set()
        self.starts = []


@pytest.fixture()
def server():
    state = _State()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests.append((self.path, self.headers.get("Authorization"), body))
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                state.starts.append(time.monotonic())
            try:
                time.sleep(0.05)
                user = body["messages"][-1]["content"]
                if "RATE" in user and user not in state.fail_once:
                    state.fail_once.add(user)
                    self.send_response(429)
                    self.send_header("Retry-After", "0.01")
                    self.end_headers()
                    return
                if "BROKEN" in user:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b"bad request")
                    return
                if body["messages"][0]["content"].startswith("You write training dialogues"):
                    content = (
                        "```json\n"
                        + json.dumps(
                            [
                                {"from": "human", "value": "Is there an effusion?"},
                                {"from": "gpt", "value": "Yes, on the left."},
                            ]
                        )
                        + "\n```"
                        if "GOOD" in user
                        else "not json"
                    )
                else:
                    content = "None" if "EMPTY" in user else "FILTERED " + user.split("\n", 1)[1].upper()
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                with state.lock:
                    state.in_flight -= 1

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", state
    httpd.shutdown()
    httpd.server_close()


def test_filter_reports_cache_resume_retry_concurrency(server, tmp_path):
    url, state = server
    client = LLMClient(url, "gpt-x", api_key="k", cache_dir=tmp_path / "cache", max_concurrency=3, backoff_s=0.01)
    reports = {str(50000000 + i): f"report {i}" for i in range(8)}
    reports["50000100"] = "RATE limited once"
    reports["50000101"] = "EMPTY after filtering"
    reports["50000102"] = "   "
    res = filter_reports(client, reports, tmp_path / "filtered")
    assert res["written"] == 10 and res["empty_input"] == 1
    assert (tmp_path / "filtered" / "s50000003.txt").read_text() == "FILTERED REPORT 3\n"
    assert (tmp_path / "filtered" / "s50000101.txt").read_text() == "None\n"
    assert (tmp_path / "filtered" / "s50000100.txt").read_text() == "FILTERED RATE LIMITED ONCE\n"
    path, auth, body = state.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k" and body["model"] == "gpt-x"
    assert body["messages"][0]["role"] == "system" and body["temperature"] == 0.0
    assert len(state.requests) == 11  # 10 jobs + one retry after the 429
    assert 2 <= state.max_in_flight <= 3
    # resume: finished files are skipped, nothing is requested again
    res2 = filter_reports(client, reports, tmp_path / "filtered")
    assert res2["skipped_existing"] == 10 and res2["written"] == 0 and len(state.requests) == 11
    # a new output folder with the same cache answers from the cache
    res3 = filter_reports(client, reports, tmp_path / "filtered2")
    assert res3["written"] == 10 and len(state.requests) == 11 and client.n_cache_hits == 10


def test_rate_limit_spaces_request_starts(server, tmp_path):
    import time

    url, state = server

    class Timed(LLMClient):  # record when each request is released, on the client side (server arrival jitters)
        released: list[float] = []

        def _wait_for_slot(self):
            super()._wait_for_slot()
            self.released.append(time.monotonic())

    client = Timed(url, "m", max_concurrency=4, requests_per_minute=600)  # one start per 0.1 s
    filter_reports(client, {str(i): f"r{i}" for i in range(4)}, tmp_path)
    rel = sorted(client.released)
    assert len(rel) == 4 and len(state.starts) == 4
    # slots at t0, t0+0.1, t0+0.2, t0+0.3 (sleep never returns early); an unlimited client releases all 4 at once
    assert rel[-1] - rel[0] >= 0.25


def test_errors_are_counted_not_raised(server, tmp_path):
    url, _ = server
    client = LLMClient(url, "m", max_concurrency=2)
    res = filter_reports(client, {"1": "BROKEN input", "2": "fine"}, tmp_path)
    assert res["written"] == 1 and res["drops"]["counts"] == {"llm_error": 1}
    with pytest.raises(LLMError, match="HTTP 400"):
        client.complete([{"role": "user", "content": "x\nBROKEN"}])
    dead = LLMClient("http://127.0.0.1:9/v1", "m", max_retries=1, backoff_s=0.01, timeout_s=1)
    with pytest.raises(LLMError, match="giving up after 2 attempts"):
        dead.complete([{"role": "user", "content": "x"}])


def test_generate_conversations(server, tmp_path):
    url, _ = server
    client = LLMClient(url, "m")
    items = {
        "d1": {
            "findings": "GOOD Left effusion.",
            "abnormalities": ["Pleural Effusion"],
            "view": "PA",
            "sex": "female",
            "boxes": [("Left effusion", [(0.6, 0.6, 0.9, 0.8)])],
        },
        "d2": {"findings": "bad answer", "abnormalities": [], "view": "AP", "sex": "male"},
    }
    res = generate_conversations(client, items, tmp_path)
    assert res["written"] == 1 and res["drops"]["counts"] == {"bad_conversation": 1}
    turns = json.loads((tmp_path / "d1.json").read_text())
    assert turns == [{"from": "human", "value": "Is there an effusion?"}, {"from": "gpt", "value": "Yes, on the left."}]
    from radgrpo.data.sources.mimic_cxr import read_conversation

    assert read_conversation(tmp_path / "d1.json")[1] == {"role": "assistant", "content": "Yes, on the left."}
