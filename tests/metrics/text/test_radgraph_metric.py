"""The ``radgraph`` metric of the metric table: its function imports, equals the scorer's F1, and names its model."""

import numpy as np
import pytest

from radgrpo.metrics.loaders import ModelNotFoundError
from radgrpo.metrics.registry import METRICS, get_metric
from radgrpo.metrics.text.radgraph import RadGraphScorer, score_radgraph
from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

REFS = ["mild pulmonary edema. left pleural effusion.", "heart size is normal", "no pneumothorax", ""]
HYPS = ["left pleural effusion and mild edema.", "heart size is normal", "small right pneumothorax", "normal"]


@pytest.mark.parametrize("name", list(METRICS))
def test_every_table_entry_imports(name):
    # a table entry whose function does not exist fails only at scoring time; this catches it at test time
    assert callable(get_metric(name).load())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_radgraph(tmp_path_factory.mktemp("rgm"), "radgraph-xl", seed=1, weight_scale=2.0)


def test_metric_equals_the_scorer_complete_level(tiny):
    got = get_metric("radgraph").score(REFS, HYPS, model_dir=tiny.folder, backbone_dir=tiny.backbone_dir, device="cpu")
    want = RadGraphScorer("radgraph-xl", model_dir=tiny.folder, backbone_dir=tiny.backbone_dir, device="cpu")(
        REFS, HYPS
    )["complete"]
    assert np.allclose(got, want)
    assert got[1] == 1.0 and got[3] == 0.0  # identical texts score 1; an empty reference scores 0, unparsed


def test_levels_differ_and_are_checked(tiny):
    kw = {"model_dir": tiny.folder, "backbone_dir": tiny.backbone_dir, "device": "cpu"}
    simple, complete = (score_radgraph(REFS, HYPS, level=lv, **kw) for lv in ("simple", "complete"))
    assert np.all(simple >= complete - 1e-12)  # complete needs the relations too
    with pytest.raises(ValueError, match="unknown RadGraph F1 level"):
        score_radgraph(REFS, HYPS, level="full", **kw)


def test_missing_model_names_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path))  # no cached copy either
    with pytest.raises(ModelNotFoundError, match="radgraph"):
        score_radgraph(["a"], ["b"], model_dir=tmp_path / "absent", device="cpu")


@pytest.mark.parametrize("level", ["simple", "partial", "complete"])
def test_each_eval_level_equals_the_pure_f1_of_the_same_annotations(tiny, level):
    from radgrpo.eval.config import EvalConfig
    from radgrpo.metrics.text.radgraph import radgraph_f1

    options = EvalConfig(radgraph_level=level, device="cpu").metric_options()["radgraph"]
    assert options == {"level": level, "device": "cpu"}
    got = get_metric("radgraph").score(REFS, HYPS, model_dir=tiny.folder, backbone_dir=tiny.backbone_dir, **options)
    scorer = RadGraphScorer("radgraph-xl", model_dir=tiny.folder, backbone_dir=tiny.backbone_dir, device="cpu")
    pairs = [(r, h) for r, h in zip(REFS, HYPS) if r and h]  # an empty side scores 0 without parsing
    want = radgraph_f1(scorer.annotate([r for r, _ in pairs]), scorer.annotate([h for _, h in pairs]), level).tolist()
    assert got == [*want, 0.0]
    assert got[1] == 1.0  # identical texts


def test_the_levels_give_different_values_on_these_reports(tiny):
    # the test above would pass with one level passed for all three: these reports tell them apart
    kw = {"model_dir": tiny.folder, "backbone_dir": tiny.backbone_dir, "device": "cpu"}
    values = {lv: tuple(score_radgraph(REFS, HYPS, level=lv, **kw)) for lv in ("simple", "partial", "complete")}
    assert len(set(values.values())) == 3, values
