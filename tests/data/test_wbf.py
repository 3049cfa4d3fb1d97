"""Weighted Box Fusion against hand-computed boxes (RadVLM's VinDr setting: equal scores, iou_thr 0.1, 3 decimals).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_wbf.py
"""

from radgrpo.data.wbf import box_iou, fuse_reader_boxes, weighted_boxes_fusion


def test_three_readers_one_cluster_is_the_mean():
    boxes = [(0.10, 0.20, 0.30, 0.40), (0.12, 0.22, 0.32, 0.44), (0.11, 0.18, 0.31, 0.39)]
    # hand: x1 (0.10+0.12+0.11)/3 = 0.11, y1 (0.20+0.22+0.18)/3 = 0.2, x2 0.31, y2 (0.40+0.44+0.39)/3 = 0.41
    assert fuse_reader_boxes(boxes) == [(0.11, 0.2, 0.31, 0.41)]


def test_disjoint_boxes_stay_apart_and_threshold_is_strict():
    a, b = (0.0, 0.0, 0.2, 0.2), (0.5, 0.5, 0.7, 0.7)
    assert sorted(fuse_reader_boxes([a, b])) == [a, b]
    # IoU of these two = 0.04 / (0.08 - 0.04)... hand: overlap 0.1x0.2=0.02, union 0.04+0.04-0.02=0.06 -> 1/3
    c, d = (0.0, 0.0, 0.2, 0.2), (0.1, 0.0, 0.3, 0.2)
    assert abs(box_iou(c, d) - 1 / 3) < 1e-12
    assert len(weighted_boxes_fusion([c, d], iou_thr=1 / 3)) == 2  # not strictly greater: two clusters
    assert weighted_boxes_fusion([c, d], iou_thr=0.3)[0][0] == (0.05, 0.0, 0.25, 0.2)


def test_running_fused_box_decides_membership():
    # visited in reverse input order (equal scores): z opens a cluster, y joins (IoU 0.6 > 0.5) -> fused
    # (0.05,0,0.45,0.4); x has IoU 0.14/0.18 = 0.78 with that fused box and joins too.
    x, y, z = (0.0, 0.0, 0.4, 0.4), (0.1, 0.0, 0.5, 0.4), (0.0, 0.0, 0.4, 0.4)
    out = weighted_boxes_fusion([x, y, z], iou_thr=0.5)
    assert len(out) == 1 and out[0][2] == 3
    assert all(abs(u - v) < 1e-12 for u, v in zip(out[0][0], (0.1 / 3, 0.0, 1.3 / 3, 0.4)))


def test_scores_weight_the_mean_and_prefilter():
    out = weighted_boxes_fusion([(0.0, 0.0, 0.4, 0.4), (0.1, 0.1, 0.5, 0.5)], [3.0, 1.0], iou_thr=0.2)
    assert out[0][0] == (0.025, 0.025, 0.42500000000000004, 0.42500000000000004) and out[0][1] == 2.0
    # swapped corners are re-ordered, out-of-range clipped, zero-area dropped, low scores skipped
    out = weighted_boxes_fusion(
        [(0.4, 0.4, 0.0, 0.0), (0.2, 0.2, 0.2, 0.5), (0.5, 0.5, 1.2, 0.9)], [1.0, 1.0, 0.05], skip_box_thr=0.1
    )
    assert [b for b, _, _ in out] == [(0.0, 0.0, 0.4, 0.4)]
