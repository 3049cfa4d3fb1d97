"""The rule labeller is exact on every wording the synthetic generator can write, hedged ones counted as named.

Every template of the readers world (``WORDINGS`` x sides x sizes x zones, and ``NEGATIVES``), every sentence of the
clean world, and 2,500 full reader reports drawn by the generator (what the reader said is captured from
``read_findings`` during ``draw_study``): ``finding_set`` plain and side-aware equals what was written (bilateral ->
right and left), ``label_report`` keeps -1 for a hedged mention, and ``uncertain_positive=False`` drops exactly the
hedged ones.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_rule_labeler_readers.py
"""

from __future__ import annotations

import itertools

import pytest

from radgrpo.data.sources import synthetic_readers as readers_mod
from radgrpo.data.sources.synthetic import FINDING_LABELS as SYNTH_LABELS
from radgrpo.data.sources.synthetic import SynthConfig, SynthFinding, draw_study, finding_sentence, write_report
from radgrpo.data.sources.synthetic_draw import SUPPORTED_FINDINGS
from radgrpo.data.sources.synthetic_readers import NEGATIVES, WORDINGS, Said
from radgrpo.metrics.text.rule_labeler import FINDING_LABELS, finding_set, label_report
from radgrpo.metrics.truth import TRUTH_LABELS

SIZES = ("small", "moderate", "large", "mild")
ZONES = ("upper", "mid", "lower")


def _expected(name: str, side: str | None) -> tuple[frozenset, frozenset]:
    label = SYNTH_LABELS[name][0]
    sides = (None,) if name == "cardiomegaly" else ("right", "left") if side == "bilateral" else (side,)
    return frozenset({label}), frozenset((label, s) for s in sides)


def _template_cases():
    for name, kinds in WORDINGS.items():
        for key, templates in kinds.items():
            bilateral = key.endswith("_bilateral")
            sides = ("bilateral",) if bilateral else (None,) if name == "cardiomegaly" else ("right", "left")
            for t, side, size, zone in itertools.product(templates, sides, SIZES, ZONES):
                text = t.format(size=size, Size=size[:1].upper() + size[1:], side=side or "", zone=zone)
                yield name, key.startswith("hedged"), side, text


TEMPLATES = list(dict.fromkeys(_template_cases()))


def test_truth_labels_are_the_generators():
    assert {n: labs[0] for n, labs in SYNTH_LABELS.items()} == TRUTH_LABELS
    assert set(TRUTH_LABELS.values()) == set(FINDING_LABELS)


def test_every_template_every_side_size_and_zone():
    assert len(TEMPLATES) == 210  # distinct texts (templates without {zone} or {size} repeat)
    for name, hedged, side, text in TEMPLATES:
        plain, sided = _expected(name, side)
        assert finding_set(text) == plain, text
        assert finding_set(text, side=True) == sided, text
        label = SYNTH_LABELS[name][0]
        assert label_report(text)[label] == (-1 if hedged else 1), text
        # opting out of uncertain = positive drops exactly the hedged wordings
        assert finding_set(text, side=True, uncertain_positive=False) == (frozenset() if hedged else sided), text


@pytest.mark.parametrize("name", list(NEGATIVES))
def test_every_stock_negative_names_nothing(name):
    text = NEGATIVES[name]
    if text is None:
        assert name in ("nodule", "atelectasis")
        return
    assert finding_set(text) == frozenset() and finding_set(text, side=True) == frozenset()
    assert label_report(text)[SYNTH_LABELS[name][0]] == 0


class _Pick:
    """A stand-in rng whose ``random()`` is fixed: picks one paraphrase of ``finding_sentence`` / ``write_report``."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value

    def choice(self, seq):
        return seq[0] if self.value < 0.5 else seq[-1]


def test_every_clean_world_sentence():
    for name in SUPPORTED_FINDINGS:
        sides = (
            [None]
            if name == "cardiomegaly"
            else ["right", "left"] + (["bilateral"] if name == "pleural effusion" else [])
        )
        for side, size, zone, pick in itertools.product(sides, SIZES, ZONES, (0.1, 0.9)):
            text = finding_sentence(SynthFinding(name, side, zone, size, []), _Pick(pick))  # type: ignore[arg-type]
            plain, sided = _expected(name, side)
            assert finding_set(text) == plain and finding_set(text, side=True) == sided, text
    for pick in (0.1, 0.9):  # the normal report's negatives, both paraphrases
        for findings in (
            [],
            [SynthFinding("pleural effusion", "left", "base", "small", [])],
            [SynthFinding("pneumothorax", "right", "apical", "small", [])],
        ):
            _, report = write_report(findings, _Pick(pick))  # type: ignore[arg-type]
            want = frozenset().union(*(_expected(f.name, f.side)[1] for f in findings)) if findings else frozenset()
            assert finding_set(report, side=True) == want, report


def _said_sets(said: list[Said]) -> tuple[frozenset, frozenset]:
    plain, sided = frozenset(), frozenset()
    for s in said:
        p, q = _expected(s.name, s.side)
        plain, sided = plain | p, sided | q
    return plain, sided


@pytest.mark.parametrize(
    "n, readers",
    [
        (2000, {}),
        # many false findings and hedges, so every wording and false-positive side shows up
        (500, {n: {"false_positive": 0.3, "hedge_max": 0.9, "hedge_min": 0.5} for n in SUPPORTED_FINDINGS}),
    ],
)
def test_exact_on_full_reader_reports(monkeypatch, n, readers):
    captured: list[list[Said]] = []
    original = readers_mod.read_findings

    def spy(*args, **kwargs):
        said = original(*args, **kwargs)
        captured.append(said)
        return said

    monkeypatch.setattr(readers_mod, "read_findings", spy)
    cfg = SynthConfig(out="unused", image_size=32, world="readers", findings=list(SUPPORTED_FINDINGS), readers=readers)
    seen: set[tuple] = set()
    for seed in range(n):
        study = draw_study(seed, cfg)
        said = captured[-1]
        plain, sided = _said_sets(said)
        assert finding_set(study.report) == plain, (seed, study.report)
        assert finding_set(study.report, side=True) == sided, (seed, study.report)
        labels = label_report(study.report)
        for lab in FINDING_LABELS:  # hedged -> -1, plain -> 1, unnamed -> never positive nor uncertain
            want = {SYNTH_LABELS[s.name][0]: -1 if s.hedged else 1 for s in said}.get(lab)
            assert labels.get(lab) == want or (want is None and labels.get(lab) in (None, 0)), (seed, lab)
        hedged_only = _said_sets([s for s in said if not s.hedged])
        assert finding_set(study.report, side=True, uncertain_positive=False) == hedged_only[1], study.report
        seen.update((s.name, s.hedged, s.side == "bilateral", s.wording, s.false_positive) for s in said)
    assert len(captured) == n
    # coverage: every hedged and plain wording of every finding was written at least once
    wordings = {
        (name, key.startswith("hedged"), key.endswith("_bilateral"), i)
        for name, kinds in WORDINGS.items()
        for key, ts in kinds.items()
        for i in range(len(ts))
    }
    assert {w[:4] for w in seen} == wordings
    assert any(w[4] for w in seen)  # false findings too
