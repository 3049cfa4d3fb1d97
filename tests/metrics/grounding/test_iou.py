"""IoU, IoU matrix and Hungarian matching against hand-computed values (docs/metrics.md#iou).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/grounding/test_iou.py
"""

import itertools

import numpy as np
import pytest

from radgrpo.metrics.grounding import hungarian_match, iou, iou_matrix

GT = (0.38, 0.47, 0.76, 0.62)
PRED = (0.35, 0.51, 0.75, 0.64)


def test_paper_worked_example_iou():
    # intersection 0.37 * 0.11 = 0.0407; areas 0.057 and 0.052; union 0.0683
    assert iou(GT, PRED) == pytest.approx(0.0407 / 0.0683, abs=1e-12)
    assert round(iou(GT, PRED), 10) == 0.5959004392


@pytest.mark.parametrize(
    "a,b,expected",
    [
        ((0, 0, 1, 1), (0, 0, 1, 1), 1.0),
        ((0, 0, 1, 1), (0.5, 0, 1.5, 1), 1 / 3),  # inter 0.5, union 1.5
        ((0, 0, 0.2, 0.2), (0.5, 0.5, 1, 1), 0.0),  # disjoint
        ((0, 0, 0.5, 0.5), (0.5, 0, 1, 0.5), 0.0),  # touching edge
        ((0.6, 0.6, 0.2, 0.2), (0, 0, 1, 1), 0.0),  # inverted box: area 0
        ((0.3, 0.3, 0.3, 0.3), (0.3, 0.3, 0.3, 0.3), 0.0),  # zero union
        ((0.25, 0.25, 0.75, 0.75), (0, 0, 1, 1), 0.25),  # contained
    ],
)
def test_iou_values(a, b, expected):
    assert iou(a, b) == pytest.approx(expected, abs=1e-12)
    assert iou(b, a) == pytest.approx(expected, abs=1e-12)


def test_iou_matrix_matches_scalar_iou():
    rng = np.random.default_rng(0)
    p = rng.uniform(-0.2, 1.2, size=(7, 4))
    g = rng.uniform(-0.2, 1.2, size=(5, 4))
    m = iou_matrix(p, g)
    assert m.shape == (7, 5)
    for i, j in itertools.product(range(7), range(5)):
        assert m[i, j] == pytest.approx(iou(p[i], g[j]), abs=1e-12)
    assert iou_matrix([], [GT]).shape == (0, 1)


def test_hungarian_beats_greedy():
    # greedy on the best pair (p0-g0, IoU 0.6) would leave p1 with g1 at 0; the optimum pairs p0-g1 and p1-g0.
    g = [(0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.5, 1.0)]
    p = [(0.0, 0.0, 0.6, 1.0), (0.0, 0.0, 0.9, 1.0)]
    m = iou_matrix(p, g)
    assert m.round(6).tolist() == [[0.6, 0.833333], [0.9, 0.555556]]
    pairs = hungarian_match(p, g)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (1, 0)]
    assert sum(v for *_, v in pairs) == pytest.approx(0.5 / 0.6 + 0.9)


def test_hungarian_pairs_count_is_min_size():
    p = [(0, 0, 0.1, 0.1), (0.5, 0.5, 0.6, 0.6), (0.8, 0.8, 0.9, 0.9)]
    g = [(0.5, 0.5, 0.6, 0.6)]
    assert hungarian_match(p, g) == [(1, 0, 1.0)]
    assert len(hungarian_match(g, p)) == 1
    assert hungarian_match(p, []) == []
