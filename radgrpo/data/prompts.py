"""RadVLM's instruction template pools and answer strings: radgrpo's public prompt API (paper.md §6, data.md §3–4).

Attribution: the template strings are RadVLM's (uzh-dqbm-cmi/RadVLM, ``radvlm/data/create_instructions.py``),
reproduced verbatim (typos, the duplicated one-label prefix, the two missing periods and the double space in one
grounding answer included) because RadVLM-trained models and RadVLM's evaluation expect exactly these strings. They are
stored once, in :mod:`radgrpo.data.tasks.radvlm_templates`; this module re-exports them under stable names and adds
the seeded choice helpers, one function per question/answer kind, and the thinking-mode suffix.

Every helper takes a ``random.Random``: callers seed one per record (:func:`radgrpo.data.tasks.study.study_rng`), so
outputs never depend on iteration or worker order. Boxes are normalised [0, 1] xyxy and written with
:func:`radgrpo.boxes.format_boxes` (2 decimals, ``A, B and C``).

What it is not: the record builders (:mod:`radgrpo.data.tasks`) nor a box parser (:mod:`radgrpo.boxes`).

Example:
    >>> import random
    >>> rng = random.Random(0)
    >>> grounding_question("Cardiomegaly", rng)
    'Describe the location of the cardiomegaly on the X-ray.'
    >>> grounding_answer("Cardiomegaly", [(0.35, 0.51, 0.75, 0.64)], rng)
    "The cardiomegaly's  location is at [0.35, 0.51, 0.75, 0.64] on the Chest X-ray."
    >>> with_thinking("Analyze this image and provide a report.")
    'Analyze this image and provide a report. /think'
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from radgrpo.boxes import format_boxes
from radgrpo.data.tasks.radvlm_templates import (
    CLASSIFICATION_NONE, CLASSIFICATION_PREFIXES_MANY, CLASSIFICATION_PREFIXES_ONE, CLASSIFICATION_QUESTIONS,
    DETECTION_PREFIXES, DETECTION_QUESTIONS, GROUNDING_ANSWERS, GROUNDING_QUESTIONS, NO_LESION_ANSWERS,
    PHRASE_ANSWERS, PHRASE_QUESTIONS, REPORT_QUESTIONS, article, classification_answer, detection_answer,
    grounding_label,
)

__all__ = [
    "REPORT_QUESTIONS", "GROUNDING_QUESTIONS", "GROUNDING_ANSWERS", "PHRASE_QUESTIONS", "PHRASE_ANSWERS",
    "DETECTION_QUESTIONS", "DETECTION_PREFIXES", "NO_LESION_ANSWERS", "CLASSIFICATION_QUESTIONS",
    "CLASSIFICATION_PREFIXES_MANY", "CLASSIFICATION_PREFIXES_ONE", "CLASSIFICATION_NONE", "POOLS", "THINK_SUFFIX",
    "choose", "label_for_template", "article", "report_question", "grounding_question", "grounding_answer",
    "phrase_question", "phrase_answer", "detection_question", "detection_answer", "classification_question",
    "classification_answer", "with_thinking", "strip_thinking",
]

#: Appended to the user turn in thinking mode (paper.md §4.3, ``mimic_mm.py``).
THINK_SUFFIX = " /think"

#: Every pool by name, with its RadVLM size: report 15, grounding 20 + 20, phrase 8 + 8, detection 10 + 10, no-lesion
#: 10, classification 11 questions, 5 / 5 / 7 prefixes (many / one / none).
POOLS: dict[str, tuple[str, ...]] = {
    "report_questions": REPORT_QUESTIONS, "grounding_questions": GROUNDING_QUESTIONS,
    "grounding_answers": GROUNDING_ANSWERS, "phrase_questions": PHRASE_QUESTIONS, "phrase_answers": PHRASE_ANSWERS,
    "detection_questions": DETECTION_QUESTIONS, "detection_prefixes": DETECTION_PREFIXES,
    "no_lesion_answers": NO_LESION_ANSWERS, "classification_questions": CLASSIFICATION_QUESTIONS,
    "classification_prefixes_many": CLASSIFICATION_PREFIXES_MANY,
    "classification_prefixes_one": CLASSIFICATION_PREFIXES_ONE, "classification_none": CLASSIFICATION_NONE,
}

T = TypeVar("T")


def choose(pool: Sequence[T], rng: random.Random) -> T:
    """One uniform pick from ``pool`` with the record's RNG (``rng.choice``, as RadVLM's ``random.choice``).

    Args:
        pool: a non-empty template pool.
        rng: the record's RNG.

    Returns:
        The chosen element.

    Example:
        >>> choose(("a", "b", "c"), random.Random(1))
        'a'
    """
    if not pool:
        raise ValueError("choose: empty template pool")
    return rng.choice(pool)


def label_for_template(label: str) -> str:
    """RadVLM's casing of a label inside grounding templates: lowercase unless all caps (``ILD`` stays).

    Example:
        >>> label_for_template("Aortic enlargement"), label_for_template("ILD"), label_for_template("right lung")
        ('aortic enlargement', 'ILD', 'right lung')
    """
    return grounding_label(label)


def report_question(rng: random.Random) -> str:
    """A report-generation question (15 variants).

    Example:
        >>> report_question(random.Random(0)) in REPORT_QUESTIONS
        True
    """
    return choose(REPORT_QUESTIONS, rng)


def grounding_question(label: str, rng: random.Random) -> str:
    """An anatomical/abnormality grounding question about ``label`` (20 variants, RadVLM casing).

    Example:
        >>> grounding_question("ILD", random.Random(3))
        "Show me the ILD's location on this CXR."
    """
    return choose(GROUNDING_QUESTIONS, rng).format(label_for_template(label))


def grounding_answer(label: str, boxes: Sequence[Sequence[float]], rng: random.Random) -> str:
    """An anatomical/abnormality grounding answer: ``label`` and all its boxes (20 variants).

    Args:
        label: region or finding name (RadVLM casing applied).
        boxes: normalised [0, 1] xyxy boxes, written to 2 decimals.
        rng: the record's RNG.

    Returns:
        The answer string.

    Example:
        >>> grounding_answer("Pleural effusion", [(0.1, 0.6, 0.4, 0.8), (0.6, 0.6, 0.9, 0.8)], random.Random(0))
        'On the image, you can find the pleural effusion at [0.1, 0.6, 0.4, 0.8] and [0.6, 0.6, 0.9, 0.8].'
    """
    return choose(GROUNDING_ANSWERS, rng).format(label_for_template(label), format_boxes(boxes))


def phrase_question(phrase: str, rng: random.Random) -> str:
    """A phrase-grounding question with ``phrase`` verbatim (8 variants).

    Example:
        >>> phrase_question("Small left pleural effusion", random.Random(0))
        'Please indicate where this finding is located: Small left pleural effusion'
    """
    return choose(PHRASE_QUESTIONS, rng).format(phrase)


def phrase_answer(boxes: Sequence[Sequence[float]], rng: random.Random) -> str:
    """A phrase-grounding answer with all boxes (8 variants).

    Example:
        >>> phrase_answer([(0.12, 0.4, 0.45, 0.77)], random.Random(4))
        'The bounding box for this observation is [0.12, 0.4, 0.45, 0.77].'
    """
    return choose(PHRASE_ANSWERS, rng).format(format_boxes(boxes))


def detection_question(rng: random.Random) -> str:
    """A detection question (10 variants).

    Example:
        >>> detection_question(random.Random(0)) in DETECTION_QUESTIONS
        True
    """
    return choose(DETECTION_QUESTIONS, rng)


def classification_question(rng: random.Random) -> str:
    """A classification question (11 variants; two lack the final period, as in RadVLM).

    Example:
        >>> classification_question(random.Random(0)) in CLASSIFICATION_QUESTIONS
        True
    """
    return choose(CLASSIFICATION_QUESTIONS, rng)


def with_thinking(question: str) -> str:
    """The question with the thinking-mode suffix :data:`THINK_SUFFIX` (added once).

    Example:
        >>> with_thinking(with_thinking("Q?"))
        'Q? /think'
    """
    return question if question.endswith(THINK_SUFFIX) else question + THINK_SUFFIX


def strip_thinking(question: str) -> str:
    """The question without a trailing :data:`THINK_SUFFIX`.

    Example:
        >>> strip_thinking("Q? /think"), strip_thinking("Q?")
        ('Q?', 'Q?')
    """
    return question[:-len(THINK_SUFFIX)] if question.endswith(THINK_SUFFIX) else question
