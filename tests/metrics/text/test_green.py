"""GREEN (radgrpo.metrics.text.green): the published prompt, the parser on recorded GREEN-RadLlama2-7b completions,
the hf backend end to end on a tiny random Llama built here, the openai backend against a real local HTTP server.

Recorded completions: ``fixtures/green_completions.json`` holds the five pairs of Stanford-AIMI/GREEN
``tests/test_repro.py`` (commit d72c195; identical in jbdel/RadEval ``tests/test_greenscore.py``, e0a3909) and the
model outputs recorded there; RadEval asserts mean 0.25 and std 0.16666666666666669 on them.

Run: HF_HUB_OFFLINE=1 python -m pytest -q -p no:cacheprovider tests/metrics/text/test_green.py
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from radgrpo.metrics.loaders import MODEL_SPECS, ModelNotFoundError
from radgrpo.metrics.text.green import (
    ERROR_KINDS,
    GREEN_CHAT_TEMPLATE,
    GREEN_MODEL,
    GreenScorer,
    format_green_chat,
    make_green_prompt,
    parse_green,
    score_green,
)

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "green_completions.json").read_text(encoding="utf-8"))
REFS, HYPS, COMPLETIONS = FIXTURE["references"], FIXTURE["candidates"], FIXTURE["completions"]
EXPECTED_SCORES = [0.0, 1 / 6, 1 / 3, 1 / 2, 1 / 4]

# sha256 of the reference's make_prompt text with its slots named "{reference}" / "{candidate}", computed from
# Stanford-AIMI/GREEN green_score/utils.py at d72c195 (1866 characters).
TEMPLATE_SHA256 = "62ff3675597dd0994584f5b08cd33076bc5d74c72de27cf0124b0a9dac8aad0f"

# Another recorded GREEN output (Stanford-AIMI/GREEN tests/responses_test.csv, row 2, commit 1507234): only the
# listed items (b), (c), (e), an insignificant section "None.", the older ":\n" start and the "</s>" end.
PARTIAL_ITEMS = (
    ':\nThe candidate report has missed the finding of "multiple chronic appearing left-sided rib fractures" from '
    "the reference report. It also misidentified the anatomic location of the pleural abnormalities, stating they "
    "were bilateral instead of specifically on the right side as mentioned in the reference report. The candidate "
    "report also mentioned a comparison to a CT thorax scan, which was not mentioned in the reference report.\n\n"
    "[Clinically Significant Errors]:\n"
    "(b) Missing a finding present in the reference: 1. Multiple chronic appearing left-sided rib fractures.\n"
    "(c) Misidentification of a finding's anatomic location/position: 1. Pleural abnormalities were reported as "
    "bilateral instead of right-sided.\n"
    "(e) Mentioning a comparison that isn't in the reference: 1. Comparison to a CT thorax scan.\n\n"
    "[Clinically Insignificant Errors]:\nNone.\n\n"
    "[Matched Findings]:\n2. No pneumothorax; Pleural abnormalities have not substantially changed.</s>"
)


# ------------------------------------------------------------------------------------------------ prompt
def test_prompt_is_the_published_template():
    assert hashlib.sha256(make_green_prompt("{reference}", "{candidate}").encode()).hexdigest() == TEMPLATE_SHA256
    p = make_green_prompt(REFS[3], HYPS[3])
    assert p.startswith(
        "Objective: Evaluate the accuracy of a candidate radiology report in comparison to a "
        "reference radiology report composed by expert radiologists.\n\n    Process Overview:"
    )
    assert f"    2. Reference Report:\n    {REFS[3]}\n\n    3. Candidate Report:\n    {HYPS[3]}\n\n" in p
    assert p.endswith(
        "    [Matched Findings]:\n    <The number of matched findings>. <Finding 1>; <Finding 2>; "
        "...; <Finding n>\n    ```\n"
    )


def test_prompt_cuts_each_report_to_300_words_and_collapses_whitespace():
    long_ref = " ".join(f"w{i}" for i in range(400))
    p = make_green_prompt(long_ref, "a  b\n\tc")
    assert "w299\n" in p and "w300" not in p
    assert "Candidate Report:\n    a b c\n" in p
    assert f"Reference Report:\n    {REFS[0]}\n" not in make_green_prompt(REFS[0], HYPS[0])  # double spaces collapsed
    assert f"Reference Report:\n    {' '.join(REFS[0].split())}\n" in make_green_prompt(REFS[0], HYPS[0])
    assert f"Reference Report:\n    {REFS[0]}\n" in make_green_prompt(REFS[0], HYPS[0], max_words=None)


# ------------------------------------------------------------------------------------------------ parser
def test_parser_on_the_recorded_completions():
    parses = [parse_green(c) for c in COMPLETIONS]
    exp = FIXTURE["expected"]
    assert [p.matched for p in parses] == exp["matched"]
    assert [list(p.significant) for p in parses] == exp["significant"]
    assert [list(p.insignificant) for p in parses] == exp["insignificant"]
    scores = [p.score for p in parses]
    assert scores == EXPECTED_SCORES  # exact: 0, 1/(1+5), 2/(2+4), 1/(1+1), 1/(1+3)
    assert all(p.parseable and p.problem is None and p.reference_score == p.score for p in parses)
    assert np.mean(scores) == pytest.approx(0.25, rel=1e-12)
    assert np.std(scores) == pytest.approx(0.16666666666666669, rel=1e-12)


def test_parser_partial_items_none_section_and_special_tokens():
    p = parse_green(PARTIAL_ITEMS)
    assert p.significant == (0, 1, 1, 0, 1, 0) and p.insignificant == (0,) * 6 and p.matched == 2
    assert p.score == 2 / 5


def test_matched_zero_scores_zero():
    p = parse_green("[Clinically Significant Errors]:\nNone.\n\n[Matched Findings]:\n0.")
    assert (p.matched, p.n_significant, p.score) == (0, 0, 0.0)
    assert parse_green(COMPLETIONS[0]).score == 0.0  # errors but nothing matched
    assert parse_green("[Clinically Significant Errors]:\nNo errors.\n\n[Matched Findings]:\nNone.").score == 0.0


def test_numbered_items_and_counts():
    text = (
        "[Clinically Significant Errors]:\n(1) False report of a finding: 2. A; B\n(3) Location: 1. C\n"
        "(6) Omitted comparison: 4. D\n\n[Clinically Insignificant Errors]:\n(2) Missing: 3. E\n\n"
        "[Matched Findings]:\n5. F"
    )
    p = parse_green(text)
    assert p.significant == (2, 0, 1, 0, 0, 4) and p.insignificant == (0, 3, 0, 0, 0, 0)
    assert p.score == 5 / 12
    # an item without ": N." counts 0, as in the reference; the first of duplicate letters is used
    p = parse_green(
        "[Clinically Significant Errors]:\n(a) False report: two errors\n(b) Missing: 1. X\n"
        "(b) Missing: 3. Y\n\n[Matched Findings]:\n1. Z"
    )
    assert p.significant == (0, 1, 0, 0, 0, 0) and p.score == 0.5
    assert len(ERROR_KINDS) == 6 and ERROR_KINDS[2].startswith("(c) Misidentification")


@pytest.mark.parametrize(
    "text, problem, reference_score",
    [
        ("", "no [Clinically Significant Errors] section", 0.0),
        ("The candidate matches the reference.", "no [Clinically Significant Errors] section", 0.0),
        # matched findings but no error section: the reference would score 1.0
        ("[Matched Findings]:\n3. A; B; C", "no [Clinically Significant Errors] section", 1.0),
        (
            "[Clinically Significant Errors]:\nThere are some.\n\n[Matched Findings]:\n2. A; B",
            "[Clinically Significant Errors] has no readable (a)-(f) items",
            1.0,
        ),
        (
            "[Clinically Significant Errors]:\n\n[Matched Findings]:\n2. A; B",
            "[Clinically Significant Errors] has no readable (a)-(f) items",
            1.0,
        ),
        ("[Clinically Significant Errors]:\n(a) False report: 1. X", "no [Matched Findings] section", 0.0),
        (
            "[Clinically Significant Errors]:\n(a) False report: 1. X\n\n[Matched Findings]:\nBoth mention edema.",
            "[Matched Findings] does not start with a count",
            0.0,
        ),
        # the model echoing the template's placeholders
        (make_green_prompt("r", "c").split("```")[1], "[Matched Findings] does not start with a count", 0.0),
    ],
)
def test_unparseable_completions_score_none(text, problem, reference_score):
    p = parse_green(text)
    assert p.score is None and not p.parseable
    assert p.problem == problem
    assert p.reference_score == reference_score


# ------------------------------------------------------------------------------------------------ hf backend
@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    """A random 2-layer Llama (hidden 32; init std 0.5 so that outputs depend on the reports) + a byte-level BPE
    tokenizer with <s>/</s> trained on GREEN's text."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny_green")
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<unk>", "<s>", "</s>"],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator([make_green_prompt(r, h) for r, h in zip(REFS, HYPS)] + COMPLETIONS, trainer)
    bpe.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tok.save_pretrained(out)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        initializer_range=0.5,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        LlamaForCausalLM(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_scorer(tiny_judge):
    return GreenScorer(model_dir=tiny_judge, device="cpu", batch_size=3, max_new_tokens=6)


def _capture_generate(scorer, monkeypatch):
    seen = []
    model = scorer.backend.model
    original = model.generate

    def spy(**kw):
        seen.append((kw["input_ids"].clone(), kw["attention_mask"].clone(), kw["max_new_tokens"]))
        return original(**kw)

    monkeypatch.setattr(model, "generate", spy)
    return seen


def test_hf_backend_sends_the_green_chat_text_and_counts_unparseable(tiny_scorer, monkeypatch):
    tiny_scorer.backend.load()
    seen = _capture_generate(tiny_scorer, monkeypatch)
    res = tiny_scorer(REFS[:3], HYPS[:3])
    tok = tiny_scorer.backend.tokenizer
    chats = [format_green_chat(make_green_prompt(r, h)) for r, h in zip(REFS[:3], HYPS[:3])]
    assert res.prompts == chats
    # what reached the model, unpadded and decoded: BOS + the chat text + the appended EOS (add_eos_token)
    ((ids, mask, _),) = seen
    reached = [tok.decode(row[m.bool()].tolist(), skip_special_tokens=False) for row, m in zip(ids, mask)]
    assert sorted(reached) == sorted(f"<s>{c}</s>" for c in chats)
    assert (mask == 0).any() and (mask[:, -1] == 1).all()  # left padding ...
    assert (ids[mask == 0] == tok.eos_token_id).all()  # ... with EOS
    # a random judge writes no GREEN format: every pair is counted unparseable, none scored
    assert all(isinstance(c, str) for c in res.completions) and res.errors == [None] * 3
    assert res.scores == [None] * 3 and res.n_unparseable == 3 and res.n_failed == 0 and res.n_scored == 0
    assert res.mean is None and np.isnan(res.as_array()).all()


def test_hf_chat_text_equals_the_reference_jinja_template(tiny_scorer):
    tiny_scorer.backend.load()
    tok = tiny_scorer.backend.tokenizer
    tok.chat_template = GREEN_CHAT_TEMPLATE
    prompt = make_green_prompt(REFS[1], HYPS[1])
    rendered = tok.apply_chat_template(
        [{"from": "human", "value": prompt}, {"from": "gpt", "value": ""}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == format_green_chat(prompt, tok.eos_token)


def test_hf_greedy_and_batch_invariant(tiny_judge, tiny_scorer):
    import torch

    alone = GreenScorer(model_dir=tiny_judge, device="cpu", batch_size=1, max_new_tokens=6)
    singles = [alone([r], [h]).completions[0] for r, h in zip(REFS, HYPS)]
    assert len(set(singles)) == 5  # the random judge does react to the reports, so the comparison means something
    order = [3, 0, 4, 1, 2]
    batched = tiny_scorer([REFS[i] for i in order], [HYPS[i] for i in order])  # batches of 3, left-padded
    assert batched.completions == [singles[i] for i in order]
    # greedy, 6 tokens: a plain argmax loop over full forward passes gives the same text
    be = alone.backend
    ids = be.encode(format_green_chat(make_green_prompt(REFS[2], HYPS[2])))
    new = []
    with torch.inference_mode():
        for _ in range(6):
            nxt = int(be.model(torch.tensor([ids + new])).logits[0, -1].argmax())
            if nxt == be.tokenizer.eos_token_id:
                break
            new.append(nxt)
    assert be.tokenizer.decode(new, skip_special_tokens=True) == singles[2]


def test_hf_budget_is_per_pair(tiny_judge, monkeypatch):
    # max_length = prompt + completion per pair; a pair whose prompt leaves no room is not generated (failed)
    tight = GreenScorer(model_dir=tiny_judge, device="cpu", batch_size=5)
    be = tight.backend
    be.load()
    lens = [len(be.encode(format_green_chat(make_green_prompt(r, h)))) for r, h in zip(REFS, HYPS)]
    be.max_length = min(lens) + 3
    seen = _capture_generate(tight, monkeypatch)
    res = tight(REFS, HYPS)
    room = [n < be.max_length for n in lens]
    assert [c is not None for c in res.completions] == room
    assert all("no room to generate" in e for e, r in zip(res.errors, room) if not r)
    assert res.n_failed == room.count(False) and res.n_unparseable == room.count(True)
    assert [m for _, _, m in seen] == [3]  # the longest budget in the batch; each row is cut to its own


def test_missing_model_folder_names_the_files(tmp_path):
    with pytest.raises(ModelNotFoundError) as e:
        GreenScorer(model_dir=tmp_path)
    msg = str(e.value)
    assert "missing: config.json, tokenizer_config.json" in msg and str(tmp_path) in msg
    assert GREEN_MODEL in msg and "radgrpo models download GREEN-radllama2-7b" in msg
    with pytest.raises(ModelNotFoundError, match="the folder itself"):
        GreenScorer(GREEN_MODEL, model_dir=tmp_path / "absent")
    assert MODEL_SPECS["GREEN-radllama2-7b"].hub_repo == GREEN_MODEL


# ------------------------------------------------------------------------------------------------ openai backend
class _Server:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.hits: dict[str, int] = {}


@pytest.fixture()
def server():
    state = _Server()
    by_candidate = {" ".join(h.split()): c for h, c in zip(HYPS, COMPLETIONS)}  # as in the prompt

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _send(self, code, body: bytes, headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            user = body["messages"][-1]["content"]
            cand = user.split("3. Candidate Report:\n    ", 1)[1].split("\n\n    4. Reporting", 1)[0]
            with state.lock:
                state.requests.append((self.path, self.headers.get("Authorization"), body))
                n = state.hits[cand] = state.hits.get(cand, 0) + 1
            if cand.startswith("FLAKY") and n == 1:
                return self._send(500, b"overloaded")
            if cand.startswith("FLAKY") and n == 2:
                return self._send(429, b"slow down", [("Retry-After", "0.01")])
            if cand.startswith("BADJSON"):
                return self._send(200, b"{not json", [("Content-Type", "application/json")])
            if cand.startswith("FORBIDDEN"):
                return self._send(403, b"no")
            text = by_candidate.get(cand, by_candidate.get(cand.split(" ", 1)[-1], "I cannot assess these."))
            payload = {"choices": [{"message": {"role": "assistant", "content": text}}]}
            return self._send(200, json.dumps(payload).encode(), [("Content-Type", "application/json")])

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _openai(server, **kw):
    return GreenScorer("green-judge", backend="openai", base_url=server.url, api_key="k", backoff_s=0.01, **kw)


def test_openai_backend_scores_the_recorded_completions(server, tmp_path):
    res = _openai(server, concurrency=3, cache_dir=tmp_path)(REFS, HYPS)
    assert res.scores == EXPECTED_SCORES and res.completions == COMPLETIONS
    assert res.mean == pytest.approx(0.25, rel=1e-12) and res.std == pytest.approx(0.16666666666666669, rel=1e-12)
    assert res.n_unparseable == 0 and res.n_failed == 0
    path, auth, body = server.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k"
    assert body["model"] == "green-judge" and body["temperature"] == 0.0
    assert sorted(b["messages"][0]["content"] for _, _, b in server.requests) == sorted(res.prompts)
    assert res.prompts == [make_green_prompt(r, h) for r, h in zip(REFS, HYPS)]
    # the cache answers a second scorer without any request
    again = _openai(server, cache_dir=tmp_path)
    assert again(REFS, HYPS).scores == EXPECTED_SCORES and len(server.requests) == 5
    assert again.backend.n_cache_hits == 5 and again.backend.n_requests == 0


def test_openai_retries_500_and_429(server):
    scorer = _openai(server, max_retries=3)
    res = scorer([REFS[2]], ["FLAKY " + HYPS[2]])
    assert server.hits["FLAKY " + " ".join(HYPS[2].split())] == 3 and scorer.backend.n_requests == 3
    assert res.scores == [1 / 3] and res.errors == [None]


def test_openai_failures_are_counted_not_raised(server):
    refs = [REFS[3], REFS[1], REFS[4], REFS[0]]
    hyps = [HYPS[3], "BADJSON", "GARBAGE", "FORBIDDEN"]
    res = _openai(server, max_retries=2)(refs, hyps)
    assert res.scores == [0.5, None, None, None]
    assert res.completions[1] is None and "malformed response" in res.errors[1]
    assert res.completions[3] is None and "HTTP 403" in res.errors[3] and server.hits["FORBIDDEN"] == 1
    assert res.completions[2] == "I cannot assess these." and res.errors[2] is None
    assert res.parses[2].problem == "no [Clinically Significant Errors] section"
    assert (res.n_failed, res.n_unparseable, res.n_scored, res.mean) == (2, 1, 1, 0.5)
    arr = score_green(
        refs, hyps, model="green-judge", backend="openai", base_url=server.url, backoff_s=0.01, max_retries=0
    )
    assert arr[0] == 0.5 and np.isnan(arr[1:]).all() and arr.dtype == np.float64


def test_connection_refused_is_a_failure(tmp_path):
    res = GreenScorer("m", backend="openai", base_url="http://127.0.0.1:9/v1", max_retries=0)(["a"], ["b"])
    assert res.completions == [None] and res.scores == [None] and "ConnectError" in res.errors[0]


def test_argument_checks():
    with pytest.raises(ValueError, match="same length"):
        score_green(["a"], [], backend="openai", base_url="http://127.0.0.1:9/v1", model="m")
    with pytest.raises(ValueError, match="needs base_url"):
        GreenScorer(backend="openai")
    with pytest.raises(ValueError, match="backend must be one of"):
        GreenScorer(backend="vllm")
