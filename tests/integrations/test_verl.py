"""verl's custom reward function (radgrpo.integrations.verl) on recorded inputs: rows of radgrpo's own verl export of a
tiny synthetic dataset, called with exactly the keyword arguments verl's reward managers pass, must score what the
in-process rewards score (docs/training.md#verl).

How verl calls it (read from verl 0.9.0's sources, ``verl/experimental/reward_loop/reward_manager/naive.py`` and the
legacy ``verl/workers/reward_manager/batch.py``): the per-sample form gets ``data_source=row["data_source"],
solution_str=<decoded response>, ground_truth=row["reward_model"]["ground_truth"], extra_info=row["extra_info"]``
with ``num_turns`` and ``rollout_reward_scores`` added, plus ``reward_kwargs``; the batch form gets ``data_sources``
(a numpy array), ``solution_strs``, ``ground_truths`` and ``extra_infos`` (a numpy array of dicts with
``rollout_reward_scores`` added). verl 0.9 loads the function with ``load_module``: ``pkg://`` imports the package
module, a file path executes the file as a module that is not put in ``sys.modules``.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/integrations/test_verl.py
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from radgrpo.boxes import parse_boxes
from radgrpo.config import ConfigError
from radgrpo.data.export.verl import parse_verl_data_source, write_verl
from radgrpo.data.sources.synthetic import SynthConfig
from radgrpo.data.synth import synthesize
from radgrpo.integrations import verl as integ
from radgrpo.records import Task, read_jsonl
from radgrpo.rewards import get_reward

TASKS = ["report_generation", "abnormality_grounding", "anatomical_grounding", "phrase_grounding"]
KW = {"report_reward": "bleu4"}  # an offline report reward (radcliq, the default, needs its models)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The synthetic records, their verl rows (exported with and without the thinking suffix) and the records' folder."""
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("verl")
    cfg = SynthConfig(out=str(root / "syn"), n_train=8, n_test=0, image_size=64, tasks=TASKS, anatomical_per_study=1)
    synthesize(cfg, progress=False)
    records = {r.id: r for r in read_jsonl(root / "syn" / "train.jsonl")}
    rows = {}
    for think in (True, False):
        write_verl(root / "syn" / "train.jsonl", root / f"verl_{think}", think_suffix=think, val_size=0)
        rows[think] = pq.read_table(root / f"verl_{think}" / "train.parquet").to_pylist()
    return records, rows, root / "syn"


def responses(row: dict) -> list[str]:
    """Four rollouts of a row: the reference answer, a worse one, no answer (each after a thinking block on thinking
    rows), and the last one the other way: the bare reference on thinking rows, a thinking block on plain rows."""
    gt = row["reward_model"]["ground_truth"]
    if row["data_source"].startswith("mimic_grpo"):
        worse = gt.split(".")[0] + ". Large left pneumothorax."
    else:
        worse = re.sub(r"\[([\d.]+),", lambda m: f"[{min(float(m.group(1)) + 0.05, 1.0):.2f},", gt)
    base = [gt, worse, "I cannot tell."]
    if row["extra_info"]["thinking"]:
        return [f"<think>Look at the film.</think> {x}" for x in base] + [gt]
    return [*base, f"<think>Look at the film.</think> {gt}"]


def naive_kwargs(row: dict, response: str) -> dict:
    """The keyword arguments verl 0.9's NaiveRewardManager.run_single passes."""
    extra_info = dict(row["extra_info"])
    extra_info["num_turns"] = None
    extra_info["rollout_reward_scores"] = {}
    return {
        "data_source": row["data_source"],
        "solution_str": response,
        "ground_truth": row["reward_model"]["ground_truth"],
        "extra_info": extra_info,
    }


def batch_kwargs(rows: list[dict], resps: list[str]) -> dict:
    """The keyword arguments verl's BatchRewardManager.verify passes (numpy arrays as in its non-tensor batch)."""
    extras = np.array([dict(r["extra_info"]) for r in rows], dtype=object)
    for e in extras:
        e["rollout_reward_scores"] = {}
    return {
        "data_sources": np.array([r["data_source"] for r in rows], dtype=object),
        "solution_strs": list(resps),
        "ground_truths": [r["reward_model"].get("ground_truth", None) for r in rows],
        "extra_infos": extras,
    }


def expected(row: dict, resps: list[str], report_reward: str = "bleu4") -> list[float | None]:
    """The in-process radgrpo reward of the row's task on ``resps``."""
    task = parse_verl_data_source(row["data_source"])[0]
    cols = {"task": [task.value] * len(resps), "thinking": [row["extra_info"]["thinking"]] * len(resps)}
    gt = [row["reward_model"]["ground_truth"]] * len(resps)
    if task is Task.REPORT_GENERATION:
        return get_reward(report_reward)(resps, reference_report=gt, **cols)
    return get_reward("grounding_soft_f1")(resps, reference_boxes=gt, **cols)


def test_export_rows_carry_what_the_reward_needs(data):
    records, rows, folder = data
    assert not any(r.meta.get("block") for r in records.values())  # so extra_info.id is the record id
    seen = set()
    for think, rs in rows.items():
        for row in rs:
            rec = records[row["extra_info"]["id"]]
            seen.add(rec.task)
            assert row["extra_info"]["thinking"] is think
            assert row["images"][0]["image"] == f"file://{folder / rec.image}"
            assert (folder / rec.image).is_file()
            gt = row["reward_model"]["ground_truth"]
            if rec.task is Task.REPORT_GENERATION:
                assert row["data_source"] == "mimic_grpo" and gt == rec.reference_report  # what TRL rows score
            else:
                assert row["data_source"] == f"radgrpo_{rec.task.value}"
                # the answer's boxes are the record's, written to 2 decimals
                assert parse_boxes(gt) == [tuple(round(v, 2) for v in b) for b in rec.reference_boxes]
    assert seen == {Task(t) for t in TASKS}


@pytest.mark.parametrize("think", [True, False])
def test_per_sample_calls_equal_the_in_process_rewards(data, think):
    _, rows, _ = data
    for row in rows[think]:
        resps = responses(row)
        got = [integ.compute_score(**naive_kwargs(row, r), **KW) for r in resps]
        want = expected(row, resps)
        assert got == pytest.approx(want, abs=1e-12), row["data_source"]
        assert got[0] == pytest.approx(1.0, abs=1e-6)  # the reference answer itself
        assert got[1] < got[0] and got[2] < got[0]
        # thinking rows score the text after </think> and give 0 without the tag; plain rows score the whole text
        # (the thinking words cost a report reward; the box parser reads past them)
        if think:
            assert got[3] == 0.0
        elif row["data_source"] == "mimic_grpo":
            assert got[3] < 1.0 - 1e-6
        else:
            assert got[3] == pytest.approx(1.0, abs=1e-6)


def test_batch_calls_equal_the_per_sample_calls(data):
    _, rows, _ = data
    flat_rows, flat_resps = [], []
    for row in rows[True] + rows[False]:
        for r in responses(row):
            flat_rows.append(row)
            flat_resps.append(r)
    got = integ.compute_score_batch(**batch_kwargs(flat_rows, flat_resps), **KW)
    want = [integ.compute_score(**naive_kwargs(row, r), **KW) for row, r in zip(flat_rows, flat_resps)]
    assert got == pytest.approx(want, abs=1e-12) and len(got) == len(flat_rows) > 40


def test_routing_by_data_source():
    gt = "The heart is enlarged at [0.35, 0.51, 0.75, 0.64]. No pleural effusion or pneumothorax."
    resp = "The heart is enlarged at [0.35, 0.51, 0.75, 0.64]."
    info = {"thinking": False}
    report = integ.compute_score("mimic_grpo", resp, gt, info, **KW)
    boxes = integ.compute_score("radgrpo_anatomical_grounding", resp, gt, info, **KW)
    assert report == pytest.approx(get_reward("bleu4")([resp], reference_report=[gt])[0], abs=1e-12)
    assert boxes == pytest.approx(1.0, abs=1e-6) and report < 0.6
    with pytest.raises(ValueError, match="data_source 'openai/gsm8k' is not one radgrpo's verl export writes"):
        integ.compute_score("openai/gsm8k", resp, gt, info)
    with pytest.raises(ValueError, match="task 'classification' has no reward"):
        integ.compute_score("radgrpo_classification", resp, gt, info)


def test_thinking_from_the_data_source_when_the_row_does_not_say():
    gt = "The heart is mildly enlarged. No focal consolidation. No pleural effusion or pneumothorax."
    paper_row = {"id": "m_0", "split": "train", "index": 0}  # mimic_mm.py's extra_info: no thinking key
    assert integ.compute_score("mimic_grpo", gt, gt, paper_row, **KW) == pytest.approx(1.0, abs=1e-6)
    assert integ.compute_score("mimic_grpo_reasoning", gt, gt, paper_row, **KW) == 0.0  # no </think>
    assert integ.compute_score("mimic_grpo_reasoning", f"<think>x</think>{gt}", gt, paper_row, **KW) == (
        pytest.approx(1.0, abs=1e-6)
    )
    # the thinking setting overrides both
    assert integ.compute_score("mimic_grpo_reasoning", gt, gt, {"thinking": True}, thinking=False, **KW) == (
        pytest.approx(1.0, abs=1e-6)
    )


def test_settings_from_reward_kwargs_then_environment(monkeypatch):
    assert integ.VerlRewardSettings.resolve({}, environ={}).report_reward == "radcliq"
    assert integ.VerlRewardSettings.resolve({}, environ={}).grounding_reward == "grounding_soft_f1"
    gt = "The heart is mildly enlarged. No focal consolidation."
    resp = "The heart is enlarged. No consolidation."
    monkeypatch.setenv("RADGRPO_VERL_REPORT_REWARD", "gleu")
    gleu = get_reward("gleu")([resp], reference_report=[gt])[0]
    assert integ.compute_score("mimic_grpo", resp, gt, {"thinking": False}) == pytest.approx(gleu, abs=1e-12)
    # reward_kwargs win over the environment; verl's own extra kwargs are accepted
    bleu = get_reward("bleu4")([resp], reference_report=[gt])[0]
    got = integ.compute_score("mimic_grpo", resp, gt, {"thinking": False}, reward_router_address=None, **KW)
    assert got == pytest.approx(bleu, abs=1e-12) and bleu != pytest.approx(gleu)
    with pytest.raises(ConfigError, match=r"unknown reward_kwargs \['report_rewrd'\]; valid: report_reward"):
        integ.compute_score("mimic_grpo", resp, gt, {}, report_rewrd="bleu4")
    with pytest.raises(ConfigError, match="failed_score must be a number"):
        integ.compute_score("mimic_grpo", resp, gt, {}, failed_score="low")


def test_failed_samples_raise_unless_failed_score_is_set():
    with pytest.raises(RuntimeError, match=r"reward 'bleu4' failed on a report_generation sample \(data_source "):
        integ.compute_score("mimic_grpo", "A report.", "", {"thinking": False}, **KW)
    assert integ.compute_score("mimic_grpo", "A report.", "", {"thinking": False}, failed_score=-1.0, **KW) == -1.0
    got = integ.compute_score_batch(
        ["mimic_grpo", "mimic_grpo"], ["A report.", "A report."], ["", "A report."], None, failed_score=-1, **KW
    )
    assert got[0] == -1.0 and got[1] == pytest.approx(
        get_reward("bleu4")(["A report."], reference_report=["A report."])[0]
    )


def test_loaded_the_ways_verl_loads_it(data):
    """``pkg://radgrpo.integrations.verl`` imports the module; a file path runs the file outside ``sys.modules``."""
    _, rows, _ = data
    row = rows[True][0]
    want = integ.compute_score(**naive_kwargs(row, responses(row)[1]), **KW)
    spec = importlib.util.spec_from_file_location("custom_module_radgrpo_test", integ.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "custom_module_radgrpo_test" not in sys.modules
    assert module.compute_score(**naive_kwargs(row, responses(row)[1]), **KW) == pytest.approx(want, abs=1e-12)
    assert importlib.import_module("radgrpo.integrations.verl").compute_score_batch is integ.compute_score_batch


@contextlib.contextmanager
def reward_service(delay_s: float = 0.0):
    """A real HTTP reward service on 127.0.0.1 answering the radgrpo reward-service contract with in-process rewards
    (``POST /rewards/{name}``: ``{"completions", COLUMN: [...]}`` -> ``{"rewards", "status", "components"}``),
    taking ``delay_s`` more per request; yields its URL and the requests ``(name, body)``."""
    seen: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            name = self.path.rsplit("/", 1)[-1]
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((name, dict(body)))
            time.sleep(delay_s)
            completions = body.pop("completions")
            bds = get_reward(name).breakdowns(completions, **body)
            status = [{"ok": "ok", "skipped": "not_applicable"}.get(b.status, "failed") for b in bds]
            data = json.dumps({"rewards": [b.total for b in bds], "status": status, "components": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_reward_service_path_scores_the_same(data, monkeypatch):
    _, rows, _ = data
    flat = [(row, r) for row in rows[True][:6] for r in responses(row)]
    local = integ.compute_score_batch(**batch_kwargs([p[0] for p in flat], [p[1] for p in flat]), **KW)
    with reward_service() as (url, seen):
        monkeypatch.setenv("RADGRPO_REWARD_URL", url)
        remote = integ.compute_score_batch(**batch_kwargs([p[0] for p in flat], [p[1] for p in flat]), **KW)
        one = integ.compute_score(**naive_kwargs(*flat[0]), **KW)
    assert remote == pytest.approx(local, abs=1e-12) and one == pytest.approx(local[0], abs=1e-12)
    tasks = {parse_verl_data_source(row["data_source"])[0] for row, _ in flat}
    want_names = {"bleu4" if t is Task.REPORT_GENERATION else "grounding_soft_f1" for t in tasks}
    assert {name for name, _ in seen} == want_names
    assert len(seen) == len(want_names) + 1  # one request per reward for the batch, one for the single call
    name, body = seen[0]
    assert set(body) >= {"completions", "task", "thinking"} and all(body["thinking"])
    assert ("reference_report" if name == "bleu4" else "reference_boxes") in body


def test_concurrent_calls_are_scored_in_batches(data):
    """verl 0.9's reward loop runs the per-sample calls in threads: while one reward call is scoring (here a reward
    service that takes 0.3 s a request), the calls that arrive queue and go in the next call, so 24 rollouts take a
    few requests, and each call gets its own score back."""
    _, rows, _ = data
    pairs = [(row, r) for row in rows[True] for r in responses(row)][:24]
    want = [integ.compute_score(**naive_kwargs(row, r), **KW) for row, r in pairs]
    results: list[float | None] = [None] * len(pairs)
    barrier = threading.Barrier(len(pairs))
    with reward_service(delay_s=0.3) as (url, seen):
        kw = {**KW, "reward_url": url}

        def call(i: int) -> None:
            barrier.wait()
            results[i] = integ.compute_score(**naive_kwargs(*pairs[i]), **kw)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(pairs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert results == pytest.approx(want, abs=1e-12)
    assert sum(len(body["completions"]) for _, body in seen) == len(pairs)
    assert len(seen) <= 6 < len(pairs)  # per reward: the first call alone, then the calls that queued meanwhile
    settings = integ.VerlRewardSettings.resolve(kw, environ={})
    scorers = [integ.get_scorer(n, settings) for n in ("bleu4", "grounding_soft_f1")]
    assert sum(sc.n_calls for sc in scorers) == len(seen)
    assert max(sc.largest_batch for sc in scorers) >= 6
