"""``radgrpo data filter-reports`` / ``data conversations`` end to end on fixture roots against a real local HTTP
endpoint: files land where the source readers look, re-runs resume without requests, failures exit 1 and are
retried by the next run, the API key comes from the environment.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_data_filter_reports.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data" / "fixtures"))
sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))

from chat_endpoint import serve_chat
from source_layouts import write_chexpert_plus, write_mimic

from radgrpo.cli.main import main
from radgrpo.data.sources import chexpert_plus, mimic_cxr
from radgrpo.data.sources.common import DropCounter


@pytest.fixture()
def endpoint():
    state = {"fail": False}

    def respond(body, headers):
        if state["fail"]:
            return 400, b"refused"
        user = body["messages"][-1]["content"]
        if body["messages"][0]["content"].startswith("You write training dialogues"):
            return json.dumps(
                [{"from": "human", "value": "Describe the heart."}, {"from": "gpt", "value": user.splitlines()[0]}]
            )
        report = user.split("\n", 1)[1]  # the filter: echo the findings part of the report, marked
        return "CURRENT: " + report.split("FINDINGS:")[-1].split("IMPRESSION:")[0].strip()

    with serve_chat(respond) as (url, requests):
        state["requests"] = requests
        yield url, state


def test_mimic_filter_then_conversations_feed_the_readers(tmp_path, endpoint, monkeypatch, capsys):
    url, state = endpoint
    root = tmp_path / "mimic"
    truth = write_mimic(root, n_subjects=6, reports="raw")
    monkeypatch.setenv("MY_KEY", "sekret")
    flags = [
        "--root",
        str(root),
        "--base_url",
        url,
        "--model",
        "m",
        "--api_key_env",
        "MY_KEY",
        "--max_concurrency",
        "3",
    ]
    assert main(["data", "filter-reports", *flags]) == 0
    studies = {e["study_id"] for e in truth["rows"].values()}
    files = {p.name for p in (root / "filtered_reports").iterdir()}
    # every frontal study with a raw report, named as the MIMIC reader expects (the one without -> no_report);
    # identical report texts are answered from the cache, so requests <= files
    assert studies <= {name[1:-4] for name in files} and all(n.startswith("s") and n.endswith(".txt") for n in files)
    assert 0 < len(state["requests"]) <= len(files)
    assert {a for a, _ in state["requests"]} == {"Bearer sekret"}
    assert "no_report" in capsys.readouterr().out
    rows = list(mimic_cxr.iter_rows(root, DropCounter(), reports="filtered", require_report=True))
    by_dicom = {r["dicom_id"]: r for r in rows}
    for dicom, e in truth["rows"].items():
        assert by_dicom[dicom]["report"] == "CURRENT: " + e["report"]  # the filter saw the raw FINDINGS
    # a re-run asks nothing (finished files are skipped)
    n = len(state["requests"])
    assert main(["data", "filter-reports", *flags]) == 0 and len(state["requests"]) == n
    stats = json.loads((root / "filter_reports_stats.json").read_text())
    assert stats["skipped_existing"] == len(files) and stats["written"] == 0 and stats["n_reports"] == len(files)

    assert main(["data", "conversations", *flags, "--split", "train"]) == 0
    conv_dir = root / "conversations" / "train" / "standard"
    train = [d for d, e in truth["rows"].items() if e["split"] == "train"]
    assert sorted(p.stem for p in conv_dir.iterdir()) == sorted(train)
    turns = mimic_cxr.read_conversation(conv_dir / f"{train[0]}.json")
    assert turns[1] == {"role": "assistant", "content": "Findings: CURRENT: " + truth["rows"][train[0]]["report"]}
    conv_prompts = [b["messages"][-1]["content"] for _, b in state["requests"][n:]]
    assert all("Sex: unknown" in p and "View: " in p for p in conv_prompts)


def test_chexpert_plus_names_and_failure_then_retry(tmp_path, endpoint):
    url, state = endpoint
    root = tmp_path / "cxp"
    truth = write_chexpert_plus(root)
    flags = ["--source", "chexpert_plus", "--root", str(root), "--base_url", url, "--model", "m", "--max_retries", "0"]
    state["fail"] = True
    assert main(["data", "filter-reports", *flags]) == 1  # every request refused: nothing written, exit 1
    assert not list((root / "filtered_reports").glob("*.txt"))
    state["fail"] = False
    assert main(["data", "filter-reports", *flags]) == 0  # the rerun retries them
    names = sorted(p.name for p in (root / "filtered_reports").glob("*.txt"))
    assert names == sorted(chexpert_plus.filtered_name(rel) for rel in truth["rows"])
    rows = list(chexpert_plus.iter_rows(root, DropCounter(), reports="filtered"))
    assert {r["path"] for r in rows} == set(truth["rows"])
    assert all(r["report"].startswith("CURRENT: ") for r in rows)


def test_flags_are_checked_before_any_work(tmp_path, capsys):
    assert main(["data", "filter-reports", "--root", str(tmp_path)]) == 2  # no endpoint
    assert "--base_url and --model are required" in capsys.readouterr().err
    assert (
        main(
            [
                "data",
                "filter-reports",
                "--source",
                "padchest",
                "--root",
                str(tmp_path),
                "--base_url",
                "u",
                "--model",
                "m",
            ]
        )
        == 2
    )
    assert "--source must be one of" in capsys.readouterr().err
    assert main(["data", "conversations", "--root", str(tmp_path / "nope"), "--base_url", "u", "--model", "m"]) == 2
    assert "is not a folder" in capsys.readouterr().err
