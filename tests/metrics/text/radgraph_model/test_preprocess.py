"""RadGraph word tokenisation equals the radgraph package's (v1 regex, XL wordpunct pipeline) and span enumeration.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/radgraph_model/test_preprocess.py

The oracles are the peer's documented behaviour: v1 = ``re.sub(PEER_V1, " ", text).split()`` with the regex of
radgraph 0.1.18 ``utils.preprocess_reports``; XL = NLTK ``wordpunct_tokenize`` plus the peer's replacements.
"""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize import wordpunct_tokenize

from radgrpo.metrics.text.radgraph_model.preprocess import (
    enumerate_spans,
    normalize_word,
    tokenization_for_model,
    tokenize_report,
)

PEER_V1 = "(?<! )(?=[/,-,:,.,!?()])|(?<=[/,-,:,.,!?()])(?! )"  # the peer's pattern (its ',-,' is just ',')
ALPHABET = "ab1 %.,;:/()!?-'\"\n\t\\n\\fé_"


def xl_oracle(text):
    for old, new in (("\\n", "  "), ("\\f", "  "), ("\\u2122", "      "), ("\n", " "), ('\\"', "``")):
        text = text.replace(old, new)
    out = " ".join(wordpunct_tokenize(re.sub(r"\s+", " ", text)))
    for old, new in ((").", ") ."), ("%.", "% ."), (".'", ". '"), ("%,", "% ,"), ("%)", "% )")):
        out = out.replace(old, new)
    return out.split()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_v1_matches_peer_regex(text):
    assert tokenize_report(text, "v1") == re.sub(PEER_V1, " ", text).split()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET + "™\\u2122", max_size=40))
def test_xl_matches_wordpunct_pipeline(text):
    assert tokenize_report(text, "xl") == xl_oracle(text)


def test_hand_cases():
    assert tokenize_report("1.Status post CABG-related change; (stable).", "v1") == [
        "1",
        ".",
        "Status",
        "post",
        "CABG-related",
        "change;",
        "(",
        "stable",
        ")",
        ".",
    ]
    assert tokenize_report("1.Status post CABG-related change; (stable).", "xl") == [
        "1",
        ".",
        "Status",
        "post",
        "CABG",
        "-",
        "related",
        "change",
        ";",
        "(",
        "stable",
        ")",
        ".",
    ]
    assert tokenize_report("   ", "v1") == [] and tokenize_report("", "xl") == []
    assert tokenization_for_model("echograph") == "xl"  # the peer's always-true elif
    assert normalize_word("/?") == "?" and normalize_word("/") == "/"


def test_enumerate_spans_order_and_count():
    assert enumerate_spans(0, 8) == []
    spans = enumerate_spans(10, 8)
    assert len(spans) == sum(min(8, 10 - s) for s in range(10)) == 52  # 3 * 8 + 7 + 6 + 5 + 4 + 3 + 2 + 1
    assert spans == sorted(spans) and all(e - s < 8 for s, e in spans)
