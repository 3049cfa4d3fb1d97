"""Think-format reward and ``split_thinking``.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_format.py
"""

import pytest

from radgrpo.rewards.base import completion_text, split_thinking
from radgrpo.rewards.format import ThinkFormatReward, is_well_formed, think_format_reward


@pytest.mark.parametrize(
    "text,ok",
    [
        ("<think>reason</think> answer", True),
        ("  \n<think>reason</think>\nanswer", True),
        ("<think>reason</think>", False),  # no answer
        ("<think>reason</think>   \n", False),
        ("answer", False),
        ("<think>reason answer", False),  # unclosed
        ("reason</think> answer", False),  # no opening tag
        ("pre <think>reason</think> answer", False),  # text before the block
        ("<think>a<think>b</think> c", False),  # nested
        ("<think>a</think> b <think>c</think> d", False),  # two blocks
        ("<think>a</think> b </think>", False),  # extra close tag
        ("<think> </think> answer", False),  # empty thinking
        ("<THINK>a</THINK> b", False),  # exact lowercase tags
    ],
)
def test_is_well_formed(text, ok):
    assert is_well_formed(text) is ok


def test_reward_values_and_non_thinking_samples():
    assert think_format_reward(
        ["<think>a</think> b", "<think>a<think>b</think> c", "b"], thinking=[True, True, False]
    ) == [1.0, 0.0, None]
    assert think_format_reward(["<think>a</think> b"]) == [1.0]  # no thinking column: all are thinking samples
    assert ThinkFormatReward(require_nonempty_thinking=False)(["<think></think> b"]) == [1.0]


def test_split_thinking_first_and_last():
    t = "<think>a</think> b </think> c"
    assert split_thinking(t, "first") == ("b </think> c", True)
    assert split_thinking(t, "last") == ("c", True)
    assert split_thinking("<think>a</THINK>b", "first") == ("b", True)  # grounding regex: case-insensitive
    assert split_thinking("<think>a</THINK>b", "last") == ("", False)  # report rfind: case-sensitive
    assert split_thinking("x") == ("", False)
    with pytest.raises(ValueError, match="first"):
        split_thinking("x", "middle")


def test_completion_text_forms():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]) == "ab"
    assert completion_text([{"role": "tool", "content": "t"}, {"role": "assistant", "content": "a"}]) == "a"
    with pytest.raises(TypeError):
        completion_text(None)
    with pytest.raises(TypeError):
        completion_text(["x"])
