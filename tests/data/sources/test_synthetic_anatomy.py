"""Synthetic phantom anatomy (radgrpo.data.sources.synthetic_anatomy): anatomical region boxes computed from the drawn
masks lie inside the body on the right side, zones nest and order inside their lung, the cardiac silhouette box is the
cardiomegaly box, region intensities match the drawing, and the banded clavicle evaluation equals the full formula.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/sources/test_synthetic_anatomy.py
"""

from __future__ import annotations

import numpy as np
import pytest

from radgrpo.data.sources import synthetic_anatomy as A
from radgrpo.data.sources.synthetic import SynthConfig, draw_study

SIZE = 256


@pytest.fixture(scope="module")
def studies():
    cfg = SynthConfig(out="unused", normal_fraction=0.2)
    return [draw_study(i, cfg) for i in range(40)]


def test_all_regions_valid_inside_the_body_and_on_their_side(studies):
    for s in studies:
        assert list(s.regions) == list(A.ANATOMICAL_REGIONS)
        bx1, by1, bx2, by2 = s.body_box
        for name, (x1, y1, x2, y2) in s.regions.items():
            assert 0.0 <= x1 < x2 <= 1.0 and 0.0 <= y1 < y2 <= 1.0, name
            assert bx1 <= x1 and x2 <= bx2 and by1 <= y1 and y2 <= by2, name
            cx = (x1 + x2) / 2
            if name.startswith("right "):
                assert cx < 0.5, name  # patient right = image left
            elif name.startswith("left "):
                assert cx > 0.5, name
        tx1, _, tx2, _ = s.regions["trachea"]
        assert abs((tx1 + tx2) / 2 - 0.5) < 0.05


def test_zones_nest_and_order_inside_their_lung(studies):
    for s in studies:
        for side in ("right", "left"):
            lx1, ly1, lx2, ly2 = s.regions[f"{side} lung"]
            zones = [s.regions[f"{side} {z} lung zone"] for z in ("upper", "mid", "lower")]
            parts = zones + [s.regions[f"{side} {r}"] for r in ("apical zone", "costophrenic angle", "hemidiaphragm")]
            for x1, y1, x2, y2 in parts:
                assert lx1 <= x1 and x2 <= lx2 and ly1 <= y1 and y2 <= ly2
            assert zones[0][1] == ly1 and zones[2][3] == ly2
            assert zones[0][3] <= zones[1][1] + 1 / SIZE and zones[1][3] <= zones[2][1] + 1 / SIZE
            apical, cpa = s.regions[f"{side} apical zone"], s.regions[f"{side} costophrenic angle"]
            assert apical[1] == ly1 and apical[3] - ly1 == pytest.approx(0.15 * (ly2 - ly1), abs=1.5 / SIZE)
            assert cpa[1] >= ly1 + 0.79 * (ly2 - ly1)
            lateral = (
                (cpa[0] + cpa[2]) / 2 < (lx1 + lx2) / 2 if side == "right" else (cpa[0] + cpa[2]) / 2 > (lx1 + lx2) / 2
            )
            assert lateral
            hx1, hy1, hx2, hy2 = s.regions[f"{side} hemidiaphragm"]
            assert hy1 > (ly1 + ly2) / 2 and hy2 - hy1 < 0.1 and hx2 - hx1 > 0.5 * (lx2 - lx1)


def test_mediastinum_regions(studies):
    for s in studies:
        heart, med, upper = s.regions["cardiac silhouette"], s.regions["mediastinum"], s.regions["upper mediastinum"]
        assert med[0] <= heart[0] and med[2] >= heart[2] and med[3] == heart[3]
        assert upper[3] <= heart[1] + 1 / SIZE and upper[1] == med[1]


def test_cardiac_silhouette_is_the_cardiomegaly_box(studies):
    n = 0
    for s in studies:
        for f in s.findings:
            if f.name == "cardiomegaly":
                assert f.boxes == [s.regions["cardiac silhouette"]]
                n += 1
    assert n >= 3


def test_region_intensities_match_the_drawing(studies):
    cfg = SynthConfig(out="unused")
    for seed in range(5):
        s = draw_study(seed, cfg)
        anat = A.sample_anatomy(np.random.default_rng([cfg.seed, seed, 0]))
        masks = A.region_masks(anat, SIZE, enlarged_heart=any(f.name == "cardiomegaly" for f in s.findings))
        img = s.image.astype(float)
        inner = masks["upper mediastinum"] & ~masks["trachea"]
        assert img[masks["trachea"]].mean() < img[inner].mean() - 50
        assert img[masks["cardiac silhouette"]].mean() > img[masks["right upper lung zone"]].mean() + 60
        clav_on_lung = masks["right clavicle"] & masks["right lung"]
        assert img[clav_on_lung].mean() > img[masks["right apical zone"] & ~masks["right clavicle"]].mean() + 10
        assert {n: A.mask_box(m) for n, m in masks.items()} == A.region_boxes(
            anat, SIZE, enlarged_heart=any(f.name == "cardiomegaly" for f in s.findings)
        )


def test_banded_clavicles_equal_the_full_formula():
    for seed in range(10):
        anat = A.sample_anatomy(np.random.default_rng(seed))
        x, y = A.grid(SIZE)
        got = A.clavicle_masks(anat, SIZE)
        for side, sign in (("right", -1.0), ("left", 1.0)):
            ccx, ccy = anat.cx + sign * 0.17 * anat.s, anat.body[1] - anat.body[3] * 0.63
            c, sn = np.cos(0.22 * sign), np.sin(0.22 * sign)
            dx, dy = x - ccx, y - ccy
            full = ((dx * c + dy * sn) / (0.15 * anat.s)) ** 2 + ((-dx * sn + dy * c) / (0.016 * anat.s)) ** 2 < 1.0
            assert full.any() and np.array_equal(got[side], full)


def test_small_images_drop_only_the_regions_without_pixels():
    missing = []
    for seed in range(30):
        anat = A.sample_anatomy(np.random.default_rng(seed))
        masks = A.region_masks(anat, 32)
        got = A.region_boxes(anat, 32)
        assert got == {n: A.mask_box(m) for n, m in masks.items() if m.any()}
        missing += [n for n in A.ANATOMICAL_REGIONS if n not in got]
        assert len(A.region_boxes(anat, 64)) == len(A.ANATOMICAL_REGIONS)
    assert set(missing) == {"trachea"}  # the 0.028-wide trachea falls between pixel centres at 32²
