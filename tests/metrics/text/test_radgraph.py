"""RadGraph F1 arithmetic on hand-built and peer-recorded annotations, hand-computed values.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_radgraph.py

The annotations A, D, U are the RadGraph-XL outputs recorded in radgraph 0.1.18 ``tests/radgraph-xl_test.py``
(data, copied as fixtures); V is the v1 output recorded in ``tests/radgraph_test.py``. Every expected value below is
computed by hand in the comment next to it.
"""

import copy

import numpy as np
import pytest

from radgrpo.metrics.text import radgraph_f1
from radgrpo.metrics.text.radgraph import RadGraphScorer, entity_set, pair_f1, set_f1

OA, OP, AP = "Observation::definitely absent", "Observation::definitely present", "Anatomy::definitely present"


def ent(tokens, label, rels=(), s=0):
    return {"tokens": tokens, "label": label, "start_ix": s, "end_ix": s, "relations": [list(r) for r in rels]}


def ann(*entities):
    return {
        "text": "",
        "entities": {str(i + 1): e for i, e in enumerate(entities)},
        "data_source": None,
        "data_split": "inference",
    }


# "no acute cardiopulmonary abnormality" (XL)
A = ann(ent("acute", OA), ent("cardiopulmonary", AP), ent("abnormality", OA, [("located_at", "2")]))
# "there is no significant change since the previous exam the feeding tube and nasogastric tube have been removed"
D = ann(
    ent("significant", OA, [("modify", "2")]),
    ent("change", OA),
    ent("feeding", OA, [("modify", "4")]),
    ent("tube", OA),
    ent("nasogastric", OA),
    ent("tube", OA),
)
# "unchanged mild pulmonary edema no radiographic evidence pneumonia" (XL)
U = ann(
    ent("unchanged", OP, [("modify", "4")]),
    ent("mild", OP),
    ent("pulmonary", AP),
    ent("edema", OP, [("located_at", "3")]),
    ent("pneumonia", OA),
)
# "no evidence of acute cardiopulmonary process moderate hiatal hernia" (v1)
V = ann(
    ent("acute", "OBS-DA"),
    ent("cardiopulmonary", "ANAT-DP"),
    ent("process", "OBS-DA", [("located_at", "2")]),
    ent("moderate", "OBS-DP"),
    ent("hiatal", "ANAT-DP"),
    ent("hernia", "OBS-DP"),
)
EMPTY = ann()


def test_identical_reports_score_one_at_every_level():
    for a in (A, D, U, V):
        assert radgraph_f1([a], [a], "all").tolist() == [[1.0, 1.0, 1.0]]
        assert radgraph_f1([a], [a], "radcliq").tolist() == [1.0]  # all have relations


def test_duplicate_entities_count_once():
    # D's simple set: significant, change, feeding, tube, nasogastric (the second 'tube' is the same tuple) -> 5
    assert len(entity_set(D, "simple")) == 5
    assert entity_set(D, "complete") == {
        ("significant", OA, "modify", "change"),
        ("change", OA),
        ("feeding", OA, "modify", "tube"),
        ("tube", OA),
        ("nasogastric", OA),
    }


def test_missing_entities_hand_computed():
    hyp = copy.deepcopy(D)
    del hyp["entities"]["5"], hyp["entities"]["6"]  # drop nasogastric and the duplicate tube
    # every level: |H| = 4, |R| = 5, tp = 4 -> P = 1, R = 0.8, F1 = 2 * 0.8 / 1.8 = 8/9
    assert radgraph_f1([D], [hyp], "all") == pytest.approx(np.array([[8 / 9] * 3]), abs=1e-15)


def test_lost_relation_changes_partial_and_complete_only():
    hyp = copy.deepcopy(D)
    hyp["entities"]["3"]["relations"] = []  # feeding no longer modifies tube
    # simple: same 5 tuples -> 1; partial: (feeding, OA) vs (feeding, OA, True): tp 4 of 5 each side -> 0.8
    # complete: (feeding, OA) vs (feeding, OA, modify, tube) -> 0.8
    assert radgraph_f1([D], [hyp], "all").tolist() == [[1.0, pytest.approx(0.8), pytest.approx(0.8)]]
    # radcliq: entity sets equal (F1 1); relations ref 2, hyp 1, tp 1 -> P 1, R 1/2, F1 2/3 -> (1 + 2/3) / 2 = 5/6
    assert radgraph_f1([D], [hyp], "radcliq")[0] == pytest.approx(5 / 6, abs=1e-15)


def test_case_sensitivity_and_lowercase_flag():
    hyp = copy.deepcopy(U)
    hyp["entities"]["4"]["tokens"] = "Edema"
    # simple: (Edema, OP) vs (edema, OP): tp 4, |H| = |R| = 5 -> 0.8; partial: (Edema, OP, True) mismatch -> 0.8
    # complete lowercases relation tuples: (edema, OP, located_at, pulmonary) matches -> 1.0 ('unchanged' modifies
    # entity 4, whose tokens are lowercased too)
    assert radgraph_f1([U], [hyp], "all") == pytest.approx(np.array([[0.8, 0.8, 1.0]]), abs=1e-15)
    assert radgraph_f1([U], [hyp], "all", lowercase=True).tolist() == [[1.0, 1.0, 1.0]]
    # radcliq keeps case: entities tp 4/5 -> 0.8; relations {(unchanged->Edema), (Edema->pulmonary)} vs lowercase:
    # tp 0 -> 0; (0.8 + 0) / 2 = 0.4
    assert radgraph_f1([U], [hyp], "radcliq")[0] == pytest.approx(0.4, abs=1e-15)


def test_disjoint_reports_and_v1_pair():
    assert radgraph_f1([U], [A], "all").tolist() == [[0.0, 0.0, 0.0]]
    # V vs A (labels differ between v1 and XL naming) -> no common tuple
    assert radgraph_f1([V], [A], "simple").tolist() == [0.0]
    hyp = ann(ent("acute", "OBS-DA"), ent("cardiopulmonary", "ANAT-DP"))
    # simple: |H| 2, |R| 6, tp 2 -> P 1, R 1/3, F1 = (2/3) / (4/3) = 0.5
    # partial/complete: V's 'process' carries a relation (not in hyp) -> tp still 2 of |R| 6 -> 0.5
    assert radgraph_f1([V], [hyp], "all") == pytest.approx(np.array([[0.5, 0.5, 0.5]]), abs=1e-15)
    # radcliq: entity F1 0.5, relations: ref 1, hyp 0 -> 0; mean 0.25
    assert radgraph_f1([V], [hyp], "radcliq")[0] == pytest.approx(0.25)


def test_either_side_without_entities_scores_zero():
    for level in ("simple", "partial", "complete", "radcliq"):
        assert radgraph_f1([A, EMPTY, EMPTY], [EMPTY, A, EMPTY], level).tolist() == [0.0, 0.0, 0.0]


def test_radcliq_exact_match_without_relations_is_half():
    a = ann(ent("edema", "OBS-DP"), ent("effusion", "OBS-DP"))
    assert radgraph_f1([a], [a], "radcliq").tolist() == [0.5]
    assert set_f1(set(), set()) == 0 and set_f1({1}, {1}) == 1.0


def test_f1radgraph_float_operation_order():
    # peer values of the radgraph test: 4/7 as 2PR/(P+R) is 0.5714285714285715 (not 4/7 = 0.5714285714285714)
    ref = ann(*[ent(f"t{i}", "OBS-DP") for i in range(8)])
    hyp = ann(*[ent(f"t{i}", "OBS-DP") for i in range(4)], ent("x", "OBS-DP"), ent("y", "OBS-DP"))
    assert pair_f1(ref, hyp, "simple") == 0.5714285714285715


def test_package_dict_form_and_errors():
    both = {"0": A, "1": U}
    assert radgraph_f1(both, [A, A], "simple").tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="2 reference annotations but 1"):
        radgraph_f1([A, U], [A], "simple")
    with pytest.raises(ValueError, match="unknown RadGraph F1 level"):
        radgraph_f1([A], [A], "exact")
    with pytest.raises(ValueError, match="not a RadGraph annotation"):
        radgraph_f1([{"text": "x"}], [A], "simple")
    bad = ann(ent("effusion", "OBS-DP", [("located_at", "9")]))
    with pytest.raises(ValueError, match="unknown entity id"):
        radgraph_f1([bad], [A], "complete")


def test_scorer_rejects_bad_input_before_loading():
    scorer = RadGraphScorer("radgraph", model_dir="/nonexistent")
    with pytest.raises(ValueError, match="2 refs but 1 hyps"):
        scorer(["a", "b"], ["a"])
    with pytest.raises(TypeError):
        scorer("a", "a")
    with pytest.raises(ValueError, match="unknown RadGraph F1 level"):
        scorer(["a"], ["a"], levels=("rg_er",))
