"""RadVLM per-sample AP / mAP@0.5 and avg_iou: the RadVLM test vectors (docs/metrics.md#map50), hand-computed VOC
values, and a cross-check of the matching against pycocotools.

What coincides with pycocotools (COCOeval, one image, one category, detection scores decreasing in output order):
the true/false-positive flag of every prediction, whenever each prediction has IoU >= the threshold with at most one
reference box (RadVLM takes the argmax-IoU box even if it is used; COCO takes the best still-unused box). The AP
numbers coincide only when the AP is 0 or 1: COCO interpolates precision at 101 recall points, RadVLM integrates
the VOC all-point curve. Both facts are asserted below.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/grounding/test_mean_ap.py
"""

import contextlib
import io

import numpy as np
import pytest

from radgrpo.boxes import parse_boxes_radvlm_eval
from radgrpo.metrics.grounding import radvlm_ap, radvlm_ap_from_text, radvlm_avg_iou, radvlm_map

GT = [(0.38, 0.47, 0.76, 0.62)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("[0.35, 0.51, 0.75, 0.64]", 1.0),
        ("[0.84, 0.34, 0.91, 0.50] and [0.35, 0.51, 0.75, 0.64]", 0.5),
        ("[0.35, 0.51, 0.75, 0.64] and [0.84, 0.34, 0.91, 0.50]", 1.0),
        ("[-0.1, 0.5, 0.7, 0.6]", 0.0),  # RadVLM's eval regex rejects negatives: no box
        ("no boxes here", 0.0),
    ],
)
def test_radvlm_vectors(text, expected):
    assert radvlm_ap_from_text(text, GT) == expected
    assert radvlm_map([parse_boxes_radvlm_eval(text)], [GT]) == expected


def test_one_of_two_gt_boxes_gives_half():
    assert radvlm_ap([(0.35, 0.51, 0.75, 0.64)], GT + [(0.05, 0.05, 0.2, 0.2)]) == 0.5


def test_avg_iou_vectors():
    assert round(radvlm_avg_iou([[(0.35, 0.51, 0.75, 0.64)]], [GT]), 10) == 0.5959004392
    assert radvlm_avg_iou([[]], [GT]) is None  # "[-0.1, ...]" parses to no box: key absent
    # pooled over ALL pairs, not matched pairs: (1 + 0) / 2
    assert radvlm_avg_iou([[GT[0], (0.9, 0.9, 1.0, 1.0)]], [GT]) == 0.5


def test_duplicate_prediction_is_a_false_positive():
    # TP, FP -> precision [1, 0.5], recall [1, 1]; AP = 1
    assert radvlm_ap([GT[0], GT[0]], GT) == 1.0
    # FP, TP -> precision [0, 0.5] at recall [0, 1]: AP = 0.5
    assert radvlm_ap([(0.9, 0.9, 1, 1), GT[0]], GT) == 0.5


def test_hand_computed_voc_all_point_ap():
    g = [(0.0, 0.0, 0.1, 0.1), (0.3, 0.3, 0.4, 0.4), (0.6, 0.6, 0.7, 0.7)]
    miss = (0.9, 0.9, 1.0, 1.0)
    # TP, FP, TP, FP, TP: recall 1/3, 1/3, 2/3, 2/3, 1; precision 1, 1/2, 2/3, 1/2, 3/5
    # monotone envelope at the recall steps: 1, 2/3, 3/5 -> AP = (1 + 2/3 + 3/5) / 3
    ap = radvlm_ap([g[0], miss, g[1], miss, g[2]], g)
    assert ap == pytest.approx((1 + 2 / 3 + 3 / 5) / 3, abs=1e-12)


def test_argmax_box_already_used_is_false_positive_even_if_another_box_fits():
    # pred 2 overlaps g0 (IoU 1) and g1 (IoU 0.5): its argmax g0 is used -> FP under RadVLM's rule
    g = [(0.0, 0.0, 0.4, 0.4), (0.0, 0.0, 0.4, 0.2)]
    ap = radvlm_ap([g[0], g[0]], g)
    # TP then FP: recall 1/2, 1/2 -> AP = 0.5
    assert ap == 0.5


def test_threshold_is_inclusive_and_map_is_mean():
    half = (0.0, 0.0, 0.5, 1.0)
    assert radvlm_ap([half], [(0.0, 0.0, 1.0, 1.0)], iou_threshold=0.5) == 1.0
    assert radvlm_ap([half], [(0.0, 0.0, 1.0, 1.0)], iou_threshold=0.51) == 0.0
    assert radvlm_map([[half], []], [[(0, 0, 1, 1)], [(0, 0, 1, 1)]]) == 0.5
    with pytest.raises(ValueError):
        radvlm_map([[half]], [])


def _coco_eval(preds, gts):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [b[0], b[1], b[2] - b[0], b[3] - b[1]]

    gt = COCO()
    gt.dataset = {
        "images": [{"id": 1}],
        "categories": [{"id": 1}],
        "annotations": [
            {
                "id": k + 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": xywh(b),
                "iscrowd": 0,
                "area": (b[2] - b[0]) * (b[3] - b[1]),
            }
            for k, b in enumerate(gts)
        ],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dets = gt.loadRes(
            [{"image_id": 1, "category_id": 1, "bbox": xywh(b), "score": 1.0 - k / 100} for k, b in enumerate(preds)]
        )
        ev = COCOeval(gt, dets, "bbox")
        ev.params.iouThrs = np.array([0.5])
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.params.maxDets = [100]
        ev.evaluate()
        ev.accumulate()
    e = [x for x in ev.evalImgs if x is not None][0]
    flags = (e["dtMatches"][0] > 0).astype(float).tolist()  # in score order = output order
    return flags, float(ev.eval["precision"][0, :, 0, 0, 0].mean())


def _radvlm_flags(preds, gts, thr=0.5):
    from radgrpo.metrics.grounding import iou_matrix

    m, used, flags = iou_matrix(preds, gts), set(), []
    for i in range(len(preds)):
        j = int(np.argmax(m[i]))
        ok = m[i, j] >= thr and j not in used
        used |= {j} if ok else set()
        flags.append(float(ok))
    return flags


def test_matching_agrees_with_pycocotools_when_each_pred_overlaps_one_gt():
    rng = np.random.default_rng(3)
    centres = [(0.15, 0.15), (0.5, 0.5), (0.85, 0.2)]
    gts = [(x - 0.1, y - 0.1, x + 0.1, y + 0.1) for x, y in centres]
    checked = 0
    for _ in range(20):
        preds = []
        for _ in range(int(rng.integers(1, 6))):
            x, y = centres[int(rng.integers(0, 3))]
            dx, dy = rng.uniform(-0.06, 0.06, 2)
            preds.append((x - 0.1 + dx, y - 0.1 + dy, x + 0.1 + dx, y + 0.1 + dy))
        flags, coco_ap = _coco_eval(preds, gts)
        assert flags == _radvlm_flags(preds, gts)
        ap = radvlm_ap(preds, gts)
        if ap in (0.0, 1.0):
            assert coco_ap == pytest.approx(ap)
        checked += 1
    assert checked == 20


def test_ap_values_differ_from_coco_101_point_interpolation():
    gts = [(0.0, 0.0, 0.2, 0.2), (0.5, 0.5, 0.7, 0.7)]
    preds = [gts[0]]
    flags, coco_ap = _coco_eval(preds, gts)
    assert flags == [1.0]
    assert radvlm_ap(preds, gts) == 0.5  # all-point: recall 0 -> 0.5 at precision 1
    assert coco_ap == pytest.approx(51 / 101)  # 101-point: recall thresholds 0.00 .. 0.50 reached
