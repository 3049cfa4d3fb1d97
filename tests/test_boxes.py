"""Box text: RadVLM formatting, the reward parser (never raises), Qwen 0–1000 converters.
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
    from_qwen_1000,
    join_items,
    parse_boxes,
    parse_boxes_radvlm_eval,
    to_qwen_1000,
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
