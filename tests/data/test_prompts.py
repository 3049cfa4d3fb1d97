"""RadVLM prompt pools and answer strings (radgrpo.data.prompts): pool sizes, verbatim strings of RadVLM's
``create_instructions.py`` (docs/method.md#prompts), casing and article rules, exact answer strings that parse back
to 2-decimal boxes, the thinking suffix.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_prompts.py
"""

from __future__ import annotations

import hashlib
import random

import pytest

from radgrpo.boxes import parse_boxes
from radgrpo.data import prompts as P

# sha256 of all pools joined by "\n" in POOLS order. Derived on 2026-11-24 after checking every pool string for string
# equality against RadVLM's ``create_instructions.py`` pools; any edit to a template breaks it.
POOLS_SHA256 = "b2258d5f904ef96b6e020b91167c181d43712fb7c1260f5cfd4182b3335e5fa4"


def test_pool_sizes():
    assert {k: len(v) for k, v in P.POOLS.items()} == {
        "report_questions": 15,
        "grounding_questions": 20,
        "grounding_answers": 20,
        "phrase_questions": 8,
        "phrase_answers": 8,
        "detection_questions": 10,
        "detection_prefixes": 10,
        "no_lesion_answers": 10,
        "classification_questions": 11,
        "classification_prefixes_many": 5,
        "classification_prefixes_one": 5,
        "classification_none": 7,
    }


def test_pools_digest():
    text = "\n".join("\n".join(v) for v in P.POOLS.values())
    assert hashlib.sha256(text.encode()).hexdigest() == POOLS_SHA256


def test_verbatim_spot_checks():
    assert P.REPORT_QUESTIONS[0] == "Provide a radiology report for this Chest X-Ray."
    assert P.REPORT_QUESTIONS[-1] == "Outline a radiology report for this X-ray."
    assert "Please offer a detailed analysis based on this image." in P.REPORT_QUESTIONS  # paper Fig. 1
    assert "Identify where the {} is on this Chest X-ray, please." in P.GROUNDING_QUESTIONS  # paper Fig. 1
    assert P.GROUNDING_ANSWERS[13] == "The {}'s  location is at {} on the Chest X-ray."  # [sic] two spaces
    assert P.PHRASE_QUESTIONS[0] == "Please locate the following sentence: {}"
    assert P.PHRASE_ANSWERS[3] == "The bounding box for this observation is {}."
    assert P.DETECTION_PREFIXES[0] == "Sure! I can find"
    assert P.NO_LESION_ANSWERS[1] == "No abnormalities or lesions are detected on this Chest X-ray."
    assert [q for q in P.CLASSIFICATION_QUESTIONS if not q.endswith((".", "?"))] == [
        "Tell me about abnormalities on this image",
        "Identify abnormalities on this image",
    ]
    assert P.CLASSIFICATION_PREFIXES_ONE[:2] == ("Yes, there is one abnormality identified:",) * 2
    assert P.CLASSIFICATION_NONE[-1] == "The Chest X-ray appears to be clear of any findings."
    assert P.THINK_SUFFIX == " /think"


def test_label_casing_and_article():
    assert [P.label_for_template(x) for x in ("Cardiomegaly", "ILD", "Pleural effusion", "right lung", "COPD")] == [
        "cardiomegaly",
        "ILD",
        "pleural effusion",
        "right lung",
        "COPD",
    ]
    assert [P.article(x) for x in ("Aortic enlargement", "ILD", "nodule/mass", "Edema", "pleural effusion")] == [
        "an",
        "an",
        "a",
        "an",
        "a",
    ]


def test_grounding_answer_exact_and_parses_back():
    boxes = [(0.123, 0.456, 0.789, 0.901), (0.5, 0.25, 0.625, 0.875)]
    rng = random.Random(11)
    template = random.Random(11).choice(P.GROUNDING_ANSWERS)
    got = P.grounding_answer("Pleural Effusion", boxes, rng)
    assert got == template.format("pleural effusion", "[0.12, 0.46, 0.79, 0.9] and [0.5, 0.25, 0.62, 0.88]")
    assert parse_boxes(got) == [(0.12, 0.46, 0.79, 0.9), (0.5, 0.25, 0.62, 0.88)]


@pytest.mark.parametrize("seed", range(5))
def test_every_answer_kind_parses_back(seed):
    rng = random.Random(seed)
    boxes = [(0.1, 0.2, 0.3, 0.4), (0.55, 0.6, 0.95, 0.99), (0.0, 0.0, 1.0, 1.0)]
    for text in (
        P.grounding_answer("Nodule/Mass", boxes, rng),
        P.phrase_answer(boxes, rng),
        P.detection_answer([("Nodule/Mass", boxes[:2]), ("ILD", boxes[2:])], rng),
    ):
        assert parse_boxes(text) == boxes
    assert P.detection_answer([], rng) in P.NO_LESION_ANSWERS


def test_detection_and_classification_answers_exact():
    rng = random.Random(2)
    prefix = random.Random(2).choice(P.DETECTION_PREFIXES)
    got = P.detection_answer([("ILD", [(0.1, 0.1, 0.4, 0.5)]), ("Nodule/Mass", [(0.6, 0.3, 0.7, 0.4)])], rng)
    assert got == (
        f"{prefix} an ild located at the coordinates [0.1, 0.1, 0.4, 0.5]; a nodule/mass located at the "
        "coordinates [0.6, 0.3, 0.7, 0.4]."
    )
    one = random.Random(5).choice(P.CLASSIFICATION_PREFIXES_ONE)
    assert P.classification_answer(["Edema", "Edema"], random.Random(5)) == f"{one} edema."
    many = random.Random(5).choice(P.CLASSIFICATION_PREFIXES_MANY)
    assert P.classification_answer(["Edema", "Atelectasis", "Pneumonia"], random.Random(5)) == (
        f"{many} edema, atelectasis and pneumonia."
    )


def test_questions_fill_their_slot_and_are_seeded():
    qs = {P.grounding_question("Cardiomegaly", random.Random(k)) for k in range(200)}
    assert len(qs) == 20 and all("cardiomegaly" in q and "{}" not in q for q in qs)
    assert {P.phrase_question("Left effusion", random.Random(k)) for k in range(100)} == {
        t.format("Left effusion") for t in P.PHRASE_QUESTIONS
    }
    assert [P.report_question(random.Random(7)) for _ in range(3)] == [random.Random(7).choice(P.REPORT_QUESTIONS)] * 3
    assert P.detection_question(random.Random(1)) == random.Random(1).choice(P.DETECTION_QUESTIONS)
    assert P.classification_question(random.Random(1)) == random.Random(1).choice(P.CLASSIFICATION_QUESTIONS)


def test_thinking_suffix_round_trip_and_empty_pool():
    q = "Analyze this image and provide a report."
    assert P.with_thinking(q) == q + " /think" and P.strip_thinking(P.with_thinking(q)) == q
    with pytest.raises(ValueError, match="empty"):
        P.choose((), random.Random(0))
