"""The readers world's reader model: over 10,000 draws, sensitivity by severity, false positives, hedge shares, the
subtle share and the inter-reader box IoU match the shipped config (``data/synth_demo``) within 3 binomial standard
errors; the readers world is reproducible, keeps the truth in ``meta`` and leaves the clean world untouched."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from radgrpo.configs import load_config
from radgrpo.data.sources import synthetic_readers as sr
from radgrpo.data.sources.synthetic import SynthConfig, draw_study

N = 10_000
SHIPPED = load_config("data/synth_demo")
READERS = sr.readers_from_config(SHIPPED["readers"])
PANEL = sr.reader_panel(READERS, SHIPPED["n_readers"], SHIPPED["reader_spread"], seed=0)
FINDINGS = list(SHIPPED["findings"])


def close(count: int, n: int, p: float) -> bool:
    """The observed share count/n lies within 3 binomial standard errors of p."""
    se = math.sqrt(max(p * (1.0 - p), 1e-12) / n)
    return abs(count / n - p) <= 3.0 * se


def reads(truth: list[sr.TruthFinding], finding: str, seed: int) -> list[list[sr.Said]]:
    rng = random.Random(seed)
    return [
        sr.read_findings(truth, PANEL[rng.randrange(len(PANEL))], READERS, rng, findings=[finding]) for _ in range(N)
    ]


def expected_sensitivity(finding: str, severity: float) -> float:
    r = READERS[finding]
    return float(np.mean([r.sensitivity(severity, p.offsets[finding]) for p in PANEL]))


def side_of(finding: str) -> str | None:
    return None if finding == "cardiomegaly" else "left"


@pytest.mark.parametrize("finding", FINDINGS)
@pytest.mark.parametrize("severity", [0.05, 0.3, 0.9])
def test_sensitivity_and_hedging_by_severity(finding: str, severity: float) -> None:
    truth = [sr.TruthFinding(finding, side_of(finding), severity, "small", "mid")]
    out = reads(truth, finding, seed=int(severity * 100) + len(finding))
    named = [s for said in out for s in said if s.name == finding]
    p = expected_sensitivity(finding, severity)
    assert close(len(named), N, p), (finding, severity, len(named) / N, p)
    hedged = sum(s.hedged for s in named)
    assert close(hedged, len(named), READERS[finding].hedge_share(severity))
    assert all(s.side == side_of(finding) and not s.false_positive for s in named)


def test_sensitivity_falls_with_subtlety() -> None:
    for f in FINDINGS:
        values = [expected_sensitivity(f, v) for v in (0.0, 0.2, 0.4, 0.6, 1.0)]
        assert values == sorted(values) and values[0] < 0.5 < values[-1]


@pytest.mark.parametrize("finding", FINDINGS)
def test_false_positives(finding: str) -> None:
    out = reads([], finding, seed=7)
    named = [s for said in out for s in said]
    assert all(s.name == finding and s.false_positive for s in named)
    assert close(len(named), N, READERS[finding].false_positive)
    if finding != "cardiomegaly":
        assert {s.side for s in named} <= {"right", "left"}


@pytest.mark.parametrize("finding", FINDINGS)
def test_subtle_share(finding: str) -> None:
    """Severity ~ U(0, 1); subtle = a typical reader names it at most half the time."""
    r = READERS[finding]
    cut = r.saturation * (sr.SUBTLE_BELOW - r.sens_min) / (r.sens_max - r.sens_min)
    rng = np.random.default_rng(3)
    n_subtle = sum(r.sensitivity(v) <= sr.SUBTLE_BELOW for v in rng.random(N))
    assert close(n_subtle, N, cut)
    if finding != "consolidation":
        assert 0.20 <= cut <= 0.30  # the 20-30 % of positive studies


@pytest.mark.parametrize("finding", sorted(sr.DEFAULT_READERS))
def test_box_iou_between_readers(finding: str) -> None:
    r = sr.readers_from_config(SHIPPED["readers"])[finding]
    rng = np.random.default_rng(11)

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    box = (0.3, 0.3, 0.6, 0.7)
    hits = sum(iou(sr.jitter_box(box, r.box_sigma, rng), sr.jitter_box(box, r.box_sigma, rng)) >= 0.5 for _ in range(N))
    assert close(hits, N, r.box_iou50), (finding, hits / N, r.box_iou50)


def test_wordings_start_with_distinct_words() -> None:
    for name, groups in sr.WORDINGS.items():
        for bilateral in (False, True):
            keys = [k for k in groups if k.endswith("_bilateral") == bilateral]
            firsts = [t.split()[0] for k in keys for t in groups[k]]
            if firsts:
                assert len(set(firsts)) == len(firsts), (name, firsts)


def test_readers_world_records_keep_truth_and_reproduce() -> None:
    cfg = SynthConfig(out="unused", image_size=64, world="readers", normal_fraction=0.0, seed=5)
    a, b = draw_study(12, cfg), draw_study(12, cfg)
    assert a.report == b.report and (a.image == b.image).all() and a.reader == b.reader
    assert all(f.severity is not None and f.reader_boxes is not None for f in a.findings)
    from radgrpo.data.synth import to_task_study

    meta = to_task_study(a, "test-000012", "test").meta
    assert [t["finding"] for t in meta["truth"]] == [f.name for f in a.findings]
    assert {"finding", "side", "severity", "subtle", "boxes"} <= set(meta["truth"][0])


def test_clean_world_unchanged() -> None:
    """The clean world draws exactly what it drew before the readers world existed: the hash of 30 studies' reports
    and pixels, pinned from the code before that change (commit b8f5648)."""
    import hashlib

    cfg = SynthConfig(out="unused", image_size=64, seed=0)
    h = hashlib.sha256()
    for i in range(30):
        s = draw_study(i, cfg)
        assert s.reader is None and all(f.severity is None for f in s.findings)
        h.update(s.report.encode())
        h.update(s.image.tobytes())
    assert h.hexdigest()[:16] == "7806d92ef913ac4a"


def test_bad_reader_config_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown parameters"):
        SynthConfig(out="x", world="readers", readers={"consolidation": {"sensitivity": 0.5}})
    with pytest.raises(ValueError, match="unknown finding"):
        SynthConfig(out="x", world="readers", readers={"edema": {"sens_max": 0.5}})
    with pytest.raises(ValueError, match="world"):
        SynthConfig(out="x", world="noisy")
