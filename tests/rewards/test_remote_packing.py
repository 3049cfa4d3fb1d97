"""How ``RemoteReward`` splits a batch into requests: :func:`radgrpo.rewards.remote.pack_requests` on hand-built
sizes, and the byte sizes it is given, which must be those of the body actually sent (``json.dumps`` of the request).

No service here: tests/rewards/test_remote.py and tests/serve/test_app_remote_split.py send the requests.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_remote_packing.py
"""

import json
import random

import pytest

from radgrpo.rewards.remote import _encode_items, _request_body, pack_requests


def test_greedy_in_order_with_both_limits():
    # overhead 10, limit 100: 10+40+30 = 80 fits, +50 would be 130 -> new request; 10+50+20 = 80, and the item limit
    # (3) closes the next one after three small items
    sizes = [40, 30, 50, 20, 10, 10, 10, 10]
    assert pack_requests(sizes, max_body_bytes=100, max_items=3, overhead_bytes=10) == (
        [[0, 1], [2, 3, 4], [5, 6, 7]],
        [],
    )
    # count only: the byte limit is never reached
    assert pack_requests([1] * 7, max_body_bytes=10**6, max_items=3) == ([[0, 1, 2], [3, 4, 5], [6]], [])
    # bytes only: every item fills half a request
    assert pack_requests([45] * 5, max_body_bytes=100, max_items=1000, overhead_bytes=10) == (
        [[0, 1], [2, 3], [4]],
        [],
    )


def test_an_item_exactly_at_the_limit_goes_alone():
    # 10 + 90 = 100 = the limit: sent, on its own (the request before it is closed, the one after starts afresh)
    assert pack_requests([5, 90, 5], max_body_bytes=100, max_items=10, overhead_bytes=10) == ([[0], [1], [2]], [])


def test_oversized_items_are_left_out_and_the_rest_still_packed():
    # item 1 alone would be 10 + 91 = 101 > 100: in no request; items 0 and 2 still share one
    assert pack_requests([20, 91, 20], max_body_bytes=100, max_items=10, overhead_bytes=10) == ([[0, 2]], [1])
    assert pack_requests([200, 300], max_body_bytes=100, max_items=10) == ([], [0, 1])
    # an overhead over the limit leaves nothing that can be sent
    assert pack_requests([1, 1], max_body_bytes=100, max_items=10, overhead_bytes=100) == ([], [0, 1])
    assert pack_requests([], max_body_bytes=100, max_items=10) == ([], [])


def test_bad_limits_raise():
    with pytest.raises(ValueError, match="limits must be >= 1"):
        pack_requests([1], max_body_bytes=0, max_items=1)
    with pytest.raises(ValueError, match="limits must be >= 1"):
        pack_requests([1], max_body_bytes=10, max_items=0)


@pytest.mark.parametrize("seed", range(5))
def test_random_sizes_keep_order_limits_and_greed(seed):
    rng = random.Random(seed)
    sizes = [rng.choice([rng.randint(1, 30), rng.randint(30, 120)]) for _ in range(300)]
    limit, max_items, overhead = 100, 7, 5
    requests, oversized = pack_requests(sizes, limit, max_items, overhead)
    flat = [i for r in requests for i in r]
    assert flat == sorted(flat) and sorted(flat + oversized) == list(range(len(sizes)))  # order kept, none lost
    assert oversized == [i for i, b in enumerate(sizes) if overhead + b > limit]
    for r in requests:
        assert 1 <= len(r) <= max_items and overhead + sum(sizes[i] for i in r) <= limit
    for r, nxt in zip(requests, requests[1:]):  # greedy: the next request's first item did not fit in this one
        assert len(r) == max_items or overhead + sum(sizes[i] for i in r) + sizes[nxt[0]] > limit


def test_item_sizes_are_those_of_the_body_sent():
    payload = {
        "reference_report": ["Mild cardiomegaly.", None, "Épanchement pleural ✓", ""],
        "reference_boxes": [[[0.1, 0.2, 0.5, 0.6]], [], None, [[0, 0, 1, 1], [0.25, 0.5, 0.75, 1.0]]],
        "thinking": [True, False, None, True],
        "completions": ['<think>"quoted"\n\ttab</think> A.', "", "日本語 report", "x" * 1000],
    }
    pieces, item_bytes, overhead = _encode_items(payload)
    for idx in ([0], [2], [0, 1, 2, 3], [1, 3], []):
        want = json.dumps({k: [v[i] for i in idx] for k, v in payload.items()}, allow_nan=False).encode("utf-8")
        body = _request_body(pieces, idx)
        assert body == want  # the same bytes the unsplit client sent for these items
        if idx:
            assert len(body) == overhead + sum(item_bytes[i] for i in idx)
    with pytest.raises(ValueError, match="Out of range float"):  # NaN is not JSON: refused, as before
        _encode_items({"completions": ["a"], "score": [float("nan")]})
