"""Box text: RadVLM formatting, the reward parser (never raises), Qwen 0–1000 converters, and the frames of the
baseline models (Qwen2.5-VL pixels of the resized input, MAIRA-2 bins of a centre crop, 0–100 grids, y-first order):
round trips and clipping.
Run: pytest tests/test_boxes.py"""

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radgrpo.boxes import (
    clip_box,
    format_box,
    format_boxes,
    from_bins,
    from_center_crop,
    from_grid,
    from_pixels_input,
    from_qwen_1000,
    join_items,
    parse_boxes,
    parse_boxes_radvlm_eval,
    to_bins,
    to_center_crop,
    to_pixels_input,
    to_qwen_1000,
    yxyx_to_xyxy,
)


def test_radvlm_format_exact_strings():
    assert format_box((0.35, 0.5, 0.75, 0.64)) == "[0.35, 0.5, 0.75, 0.64]"
    assert format_box((0.0, 0.1, 1.0, 0.9)) == "[0.0, 0.1, 1.0, 0.9]"
    assert format_box((0.351, 0.499, 0.7549, 0.6449)) == "[0.35, 0.5, 0.75, 0.64]"
    b = [(0.1, 0.2, 0.3, 0.4)] * 3
    assert format_boxes(b[:1]) == "[0.1, 0.2, 0.3, 0.4]"
    assert format_boxes(b[:2]) == "[0.1, 0.2, 0.3, 0.4] and [0.1, 0.2, 0.3, 0.4]"
    assert format_boxes(b) == "[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4] and [0.1, 0.2, 0.3, 0.4]"
    assert join_items([]) == ""
    with pytest.raises(ValueError):
        format_box((0.1, 0.2))


def test_parser_accepts_what_the_reward_accepts():
    assert parse_boxes("[-0.1, 2e-1, 0.5, 6E-1]") == [(-0.1, 0.2, 0.5, 0.6)]
    assert parse_boxes("x[ 1 ,2,3 , 4 ]y [0.1,0.2,0.3]") == [(1.0, 2.0, 3.0, 4.0)]
    assert parse_boxes("[1e400, 0, 1, 1] [0, 0, 1, 1]") == [(0.0, 0.0, 1.0, 1.0)]  # non-finite dropped
    assert parse_boxes(None) == [] and parse_boxes(12) == []
    assert parse_boxes([[0, 0, 1, 1], [1, 2], ["a", 1, 2, 3], [0, 0, float("inf"), 1]]) == [(0.0, 0.0, 1.0, 1.0)]
    assert parse_boxes_radvlm_eval("[-0.1, 0.5, 0.7, 0.6] [1.2.3, 0, 1, 1] [0.1, 0.2, 0.3, 0.4]") == [
        (0.1, 0.2, 0.3, 0.4)
    ]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_raises_on_any_text(text):
    boxes = parse_boxes(text)
    assert all(len(b) == 4 and all(math.isfinite(v) for v in b) for b in boxes)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0, 1, allow_nan=False)] * 4), min_size=1, max_size=5))
def test_format_then_parse_round_trips_to_rounded_boxes(boxes):
    parsed = parse_boxes("The nodule is at " + format_boxes(boxes) + " on the image.")
    assert parsed == [tuple(round(v, 2) for v in b) for b in boxes]


def test_adversarial_and_huge_inputs_are_fast():
    nasty = "[" * 200_000 + "0.1, " * 100_000 + "]" * 1000
    t = time.perf_counter()
    assert parse_boxes(nasty) == []
    assert len(parse_boxes("[0.1, 0.2, 0.3, 0.4] " * 50_000)) == 50_000
    assert time.perf_counter() - t < 5.0  # linear regex: no catastrophic backtracking on 1 MB strings


def test_clip_and_qwen_coordinates():
    assert clip_box((-0.01, 0.2, 1.02, 0.1)) == (0.0, 0.1, 1.0, 0.2)
    assert to_qwen_1000((0.35, 0.5, 0.75, 0.6414)) == (350, 500, 750, 641)
    assert from_qwen_1000(to_qwen_1000((0.125, 0.5, 0.75, 1.0))) == (0.125, 0.5, 0.75, 1.0)


FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
NO_BOX_CHARS = st.text(
    alphabet=st.characters(blacklist_characters="[]0123456789.-+eE,", blacklist_categories=("Cs",)), max_size=30
)


@settings(max_examples=300, deadline=None)
@given(st.tuples(FINITE, FINITE, FINITE, FINITE))
def test_any_finite_float_repr_parses_back_exactly(box):
    # Python's repr gives negatives and exponents ("-1e-05", "1.5e+300"): the reward regex takes them all
    text = "[" + ", ".join(repr(v) for v in box) + "]"
    assert parse_boxes(text) == [tuple(float(v) for v in box)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0, 1, allow_nan=False)] * 4), max_size=4), NO_BOX_CHARS, NO_BOX_CHARS)
def test_boxes_are_found_inside_arbitrary_prose(boxes, before, after):
    text = before + format_boxes(boxes) + after
    assert parse_boxes(text) == [tuple(round(v, 2) for v in b) for b in boxes]


def test_many_near_miss_fragments_are_linear_time():
    t = time.perf_counter()
    assert parse_boxes("[0.1, 0.2, 0.3" * 80_000) == []  # ~1.1 MB of unclosed boxes
    assert parse_boxes("[" + "1" * 1_000_000) == []  # one huge unterminated number
    assert parse_boxes("[1e5000, 0, 1, 1]" + "-" * 1_000_000) == []
    assert time.perf_counter() - t < 5.0


# ---- the frames of baseline models ----

UNIT_BOX = st.tuples(*[st.floats(0, 1, allow_nan=False)] * 4)
SIZES = st.tuples(st.integers(1, 4000), st.integers(1, 4000))


def _ordered(box):
    x1, y1, x2, y2 = box
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


@settings(max_examples=300, deadline=None)
@given(UNIT_BOX, SIZES)
def test_qwen2_5_vl_pixels_round_trip_within_half_a_pixel(box, size):
    px = to_pixels_input(box, size)
    assert all(isinstance(v, int) for v in px)
    assert all(0 <= v <= lim for v, lim in zip(px, (size[0], size[1], size[0], size[1])))
    back = from_pixels_input(px, size)
    want = _ordered(box)
    tol = (0.5 / size[0] + 1e-9, 0.5 / size[1] + 1e-9) * 2
    assert all(abs(b - w) <= t for b, w, t in zip(back, want, tol))


def test_qwen2_5_vl_pixels_are_clipped_and_ordered():
    assert to_pixels_input((0.25, 0.5, 0.75, 1.0), (112, 84)) == (28, 42, 84, 84)
    assert to_pixels_input((-0.5, 0.1, 1.5, 0.2), (100, 50)) == (0, 5, 100, 10)  # clipped to the image first
    assert from_pixels_input((28, 42, 84, 84), (112, 84)) == (0.25, 0.5, 0.75, 1.0)
    assert from_pixels_input((-10, 5, 250, 50), (100, 100)) == (0.0, 0.05, 1.0, 0.5)
    assert from_pixels_input((80, 60, 20, 10), (100, 100)) == (0.2, 0.1, 0.8, 0.6)  # swapped corners
    for bad in ((0, 84), (112, -1), (float("nan"), 84), ("a", "b"), (112,)):
        with pytest.raises(ValueError, match="input_size"):
            from_pixels_input((1, 2, 3, 4), bad)


@settings(max_examples=300, deadline=None)
@given(UNIT_BOX, st.sampled_from([10, 100, 1000]))
def test_bins_round_trip_within_half_a_bin(box, n):
    bins = to_bins(box, n)
    assert all(0 <= b <= n - 1 for b in bins)
    assert all(abs(c - v) <= 0.5 / n + 1e-9 for c, v in zip(from_bins(bins, n), box))
    assert to_bins(from_bins(bins, n), n) == bins  # a bin centre stays in its bin


def test_bins_and_grids_exact_values():
    assert from_bins((55, 45, 70, 56)) == (0.555, 0.455, 0.705, 0.565)
    assert from_bins((0, 0, 99, 99)) == (0.005, 0.005, 0.995, 0.995)
    assert to_bins((0.0, 0.0099, 0.999, 1.0)) == (0, 0, 99, 99) and to_bins((-0.2, 1.7, 0.5, 0.5)) == (0, 99, 50, 50)
    assert from_grid((35, 50, 75, 64), 100) == (0.35, 0.5, 0.75, 0.64)
    assert from_grid((350, 500, 750, 641), 1000) == from_qwen_1000((350, 500, 750, 641))
    assert yxyx_to_xyxy((200, 100, 400, 300)) == (100.0, 200.0, 300.0, 400.0)
    with pytest.raises(ValueError):
        from_grid((1, 2, 3, 4), 0)
    with pytest.raises(ValueError):
        from_bins((1, 2, 3, 4), 0)


@settings(max_examples=300, deadline=None)
@given(UNIT_BOX, SIZES)
def test_centre_crop_round_trip(box, size):
    crop = to_center_crop(from_center_crop(box, size), size)
    assert all(abs(a - b) <= 1e-9 for a, b in zip(crop, _ordered(box)))


def test_centre_crop_exact_values_and_clipping():
    # 200 x 100: the crop is the middle 100 x 100 (x offset 50)
    assert from_center_crop((0.0, 0.25, 1.0, 0.75), (200, 100)) == (0.25, 0.25, 0.75, 0.75)
    assert from_center_crop((0.5, 0.0, 1.0, 1.0), (100, 300)) == (0.5, 1 / 3, 1.0, 2 / 3)
    assert from_center_crop((0.2, 0.1, 0.4, 0.3), (64, 64)) == (0.2, 0.1, 0.4, 0.3)  # square: identity
    assert from_center_crop((0.2, 0.1, 0.4, 0.3), (101, 100)) == pytest.approx((0.2, 0.1, 0.4, 0.3), abs=0.01)
    # a box reaching outside the crop is clipped to it
    assert to_center_crop((0.0, 0.0, 0.5, 1.0), (200, 100)) == (0.0, 0.0, 0.5, 1.0)
    assert to_center_crop((0.1, 0.2, 0.2, 0.3), (200, 100)) == (0.0, 0.2, 0.0, 0.3)
    with pytest.raises(ValueError, match="image_size"):
        from_center_crop((0, 0, 1, 1), (0, 100))
