"""Grounding metrics against hand-computed values, RadVLM's test vectors (anchors_metrics.md §4) and pycocotools.
Run: pytest tests/metrics/test_grounding_metrics.py"""

import numpy as np
import pytest

from radgrpo.metrics.grounding import (hungarian_match, iou, iou_matrix, matched_mean_iou, radvlm_ap,
                                       radvlm_ap_from_text, radvlm_avg_iou, radvlm_map, soft_f1)

GT = [(0.38, 0.47, 0.76, 0.62)]
PRED = (0.35, 0.51, 0.75, 0.64)
WRONG = (0.84, 0.34, 0.91, 0.50)


def test_iou_of_the_paper_figure_pair_by_hand():
    inter = (0.75 - 0.38) * (0.62 - 0.51)
    union = 0.38 * 0.15 + 0.40 * 0.13 - inter
    assert iou(GT[0], PRED) == pytest.approx(inter / union, abs=1e-12)
    assert iou(GT[0], PRED) == pytest.approx(0.5959004392, abs=1e-10)
    assert iou((0.5, 0.5, 0.4, 0.4), (0, 0, 1, 1)) == 0.0  # inverted box has area 0
    assert iou((0.2, 0.2, 0.2, 0.2), (0.2, 0.2, 0.2, 0.2)) == 0.0  # zero union
    m = iou_matrix([PRED, WRONG], GT)
    assert m.shape == (2, 1) and m[1, 0] == 0.0


def test_soft_f1_worked_example_both_variants():
    v = iou(GT[0], PRED)
    assert soft_f1([PRED], GT) == pytest.approx(2 * v / (1 + v), abs=1e-7)  # P = v/v = 1, R = v -> 0.747
    assert soft_f1([PRED], GT) == pytest.approx(0.7468, abs=1e-4)
    assert soft_f1([PRED], GT, variant="dice") == pytest.approx(v)  # paper Fig. 1 shows 0.6
    assert soft_f1([WRONG], GT) == 0.0 and soft_f1([WRONG], GT, variant="dice") == 0.0
    assert soft_f1([], GT) == 0.0 and soft_f1([PRED], []) == 0.0


def test_soft_f1_extra_prediction_counts_as_false_positive():
    v = iou(GT[0], PRED)
    p, r = v / (v + 1), v
    assert soft_f1([WRONG, PRED], GT) == pytest.approx(2 * p * r / (p + r), abs=1e-7)
    assert soft_f1([WRONG, PRED], GT, variant="dice") == pytest.approx(2 * v / 3)
    # min_iou: a pair at IoU 0.596 is not valid above 0.6 -> counted as FP, TP mass 0
    assert soft_f1([PRED], GT, min_iou=0.6) == 0.0
    with pytest.raises(ValueError, match="variant"):
        soft_f1([PRED], GT, variant="f2")


def test_hungarian_matching_is_globally_optimal_not_greedy():
    # greedy-by-prediction would pair p0 with g0 (0.6) and leave p1 with g1 (0.0); the optimum pairs crosswise
    g = [(0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 1.0, 1.0)]
    p = [(0.2, 0.0, 0.7, 1.0), (0.0, 0.0, 0.4, 1.0)]
    pairs = hungarian_match(p, g)
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 1), (1, 0)]
    assert matched_mean_iou(p, g) == pytest.approx((iou(p[0], g[1]) + iou(p[1], g[0])) / 2)


def test_radvlm_test_vectors():
    assert radvlm_ap_from_text("[0.35, 0.51, 0.75, 0.64]", GT) == 1.0
    assert radvlm_ap_from_text("[0.84, 0.34, 0.91, 0.50] and [0.35, 0.51, 0.75, 0.64]", GT) == 0.5
    assert radvlm_ap_from_text("[0.35, 0.51, 0.75, 0.64] and [0.84, 0.34, 0.91, 0.50]", GT) == 1.0
    assert radvlm_ap_from_text("[-0.1, 0.5, 0.7, 0.6]", GT) == 0.0
    assert radvlm_avg_iou([[PRED]], [GT]) == pytest.approx(0.5959004392, abs=1e-10)
    assert radvlm_avg_iou([[]], [GT]) is None
    assert radvlm_ap([PRED], GT + [(0.0, 0.0, 0.1, 0.1)]) == 0.5
    assert radvlm_map([[PRED], [WRONG]], [GT, GT]) == 0.5


def test_radvlm_ap_duplicate_prediction_is_false_positive():
    # second copy of the same box: its argmax GT is used -> FP; precision curve [1, 0.5], recall [1, 1] -> AP 1
    assert radvlm_ap([PRED, PRED], GT) == 1.0
    # two GT, one correct box first then a duplicate: recall 0.5 -> AP 0.5
    assert radvlm_ap([PRED, PRED], GT + [(0.0, 0.0, 0.1, 0.1)]) == 0.5


def test_radvlm_ap_equals_pycocotools_when_definitions_coincide():
    """One image, one class, predictions scored in output order (descending scores), IoU threshold 0.5:
    COCO's 101-point interpolated AP and RadVLM's all-point AP agree when recall only jumps to 1.0 or 0.5 steps
    land on the 101-point grid. We compare on such cases (pycocotools is the peer)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def coco_ap(preds, gts):
        W = H = 100.0
        def xywh(b):
            return [b[0] * W, b[1] * H, (b[2] - b[0]) * W, (b[3] - b[1]) * H]
        gt = COCO()
        gt.dataset = {"images": [{"id": 1, "width": W, "height": H}], "categories": [{"id": 1, "name": "x"}],
                      "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "bbox": xywh(b),
                                       "area": xywh(b)[2] * xywh(b)[3], "iscrowd": 0} for i, b in enumerate(gts)]}
        gt.createIndex()
        dt = gt.loadRes([{"image_id": 1, "category_id": 1, "bbox": xywh(b), "score": 1.0 - 0.01 * k}
                         for k, b in enumerate(preds)])
        ev = COCOeval(gt, dt, "bbox")
        ev.params.iouThrs = np.array([0.5])
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.params.maxDets = [100]
        import contextlib, io
        with contextlib.redirect_stdout(io.StringIO()):
            ev.evaluate(); ev.accumulate()
        return float(ev.eval["precision"][0, :, 0, 0, 0].mean())

    g2 = GT + [(0.0, 0.0, 0.2, 0.2)]
    for preds, gts in [([PRED], GT), ([WRONG, PRED], GT), ([PRED, WRONG], GT), ([PRED], g2),
                       ([PRED, (0.0, 0.0, 0.2, 0.2)], g2)]:
        assert radvlm_ap(preds, gts) == pytest.approx(coco_ap(preds, gts), abs=0.01), (preds, gts)
