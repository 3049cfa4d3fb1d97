"""All of radgrpo's own prompt text: RadVLM's instruction template pools, the answer strings built from them, the
thinking-mode suffix and the one builder of a record's chat user message (see ``docs/data.md``).

Attribution: the template strings are RadVLM's (uzh-dqbm-cmi/RadVLM, ``radvlm/data/create_instructions.py``),
reproduced verbatim (typos, the duplicated one-label prefix, the two missing periods and the double space in one
grounding answer included) because RadVLM-trained models and RadVLM's evaluation expect exactly these strings.

Every helper takes a ``random.Random``: callers seed one per record (:func:`radgrpo.data.tasks.study.study_rng`), so
outputs never depend on iteration or worker order. Boxes are normalised [0, 1] xyxy and written with
:func:`radgrpo.boxes.format_boxes` (2 decimals, ``A, B and C``).

The user turn a model sees, in training (SFT / GRPO rows of :mod:`radgrpo.data.export.trl`, verl rows of
:mod:`radgrpo.data.export.verl`) and in evaluation (:mod:`radgrpo.eval.generate`), is made here only:
:func:`prompt_text` (the question, plus :data:`THINK_SUFFIX` in thinking mode), :func:`user_message` (the chat turn:
image placeholder, then that text) and :func:`prompt_messages` (the one-turn prompt), so the prompts cannot drift
apart.

What it is not: the record builders (:mod:`radgrpo.data.tasks`), a box parser (:mod:`radgrpo.boxes`), nor the
published prompts of the baseline model families, which live with their adapters (:mod:`radgrpo.models.adapters`).

Example:
    >>> import random
    >>> rng = random.Random(0)
    >>> grounding_question("Cardiomegaly", rng)
    'Describe the location of the cardiomegaly on the X-ray.'
    >>> grounding_answer("Cardiomegaly", [(0.35, 0.51, 0.75, 0.64)], rng)
    "The cardiomegaly's  location is at [0.35, 0.51, 0.75, 0.64] on the Chest X-ray."
    >>> prompt_messages("Analyze this image and provide a report.", thinking=True)[0]["content"]
    [{'type': 'image'}, {'type': 'text', 'text': 'Analyze this image and provide a report. /think'}]
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, TypeVar

from radgrpo.boxes import format_boxes, join_items
from radgrpo.records import Record

__all__ = [
    "REPORT_QUESTIONS",
    "GROUNDING_QUESTIONS",
    "GROUNDING_ANSWERS",
    "PHRASE_QUESTIONS",
    "PHRASE_ANSWERS",
    "DETECTION_QUESTIONS",
    "DETECTION_PREFIXES",
    "NO_LESION_ANSWERS",
    "CLASSIFICATION_QUESTIONS",
    "CLASSIFICATION_PREFIXES_MANY",
    "CLASSIFICATION_PREFIXES_ONE",
    "CLASSIFICATION_NONE",
    "POOLS",
    "THINK_SUFFIX",
    "IMAGE_TOKEN",
    "choose",
    "label_for_template",
    "grounding_label",
    "article",
    "report_question",
    "grounding_question",
    "grounding_answer",
    "grounding_qa",
    "phrase_question",
    "phrase_answer",
    "phrase_qa",
    "detection_question",
    "detection_answer",
    "classification_question",
    "classification_answer",
    "with_thinking",
    "strip_thinking",
    "first_question",
    "prompt_text",
    "user_message",
    "prompt_messages",
    "inline_image_text",
    "COLD_START_INSTRUCTION",
    "COLD_START_USER",
    "cold_start_messages",
]

#: Appended to the user turn in thinking mode (the ``/think`` switch of Qwen3 chat templates; ``docs/method.md``).
THINK_SUFFIX = " /think"

#: The image placeholder of text-only prompt formats (LLaVA JSON, verl), written before the question and a newline.
IMAGE_TOKEN = "<image>"

# ---- RadVLM's template pools (verbatim) ----

REPORT_QUESTIONS: tuple[str, ...] = (
    "Provide a radiology report for this Chest X-Ray.",
    "Analyze the Chest X-Ray and report your findings.",
    "Please give a detailed radiology report from this Chest X-Ray image.",
    "Please offer a detailed analysis based on this image.",
    "Analyze this image and provide a report.",
    "Write a radiology report for this Chest X-ray.",
    "Draft a concise report for this image.",
    "Please provide a brief radiology report.",
    "Compose a radiology report focusing on key findings.",
    "Create a structured radiology report for this X-ray.",
    "Produce a summary radiology report for this chest image.",
    "Provide a radiology report for this exam.",
    "Write a report summarizing this Chest X-ray.",
    "Draft a simple radiology report for these findings.",
    "Outline a radiology report for this X-ray.",
)
PHRASE_QUESTIONS: tuple[str, ...] = (
    "Please locate the following sentence: {}",
    "Identify the position of the following phrase in the CXR: {}",
    "Please show me the location of: {}",
    "Highlight the area of the following observation on the image: {}",
    "Where on the image can you see the following observation: {}",
    "Find the region corresponding to: {}",
    "Please indicate where this finding is located: {}",
    "Mark the area where you observe: {}",
)
PHRASE_ANSWERS: tuple[str, ...] = (
    "This sentence is located at the coordinates {} on the image.",
    "You'll find it at {} in the CXR.",
    "This phrase can be observed at {} on the image.",
    "The bounding box for this observation is {}.",
    "Its location is given by {}.",
    "It is displayed at {} in the radiograph.",
    "The area specified is at coordinates {}.",
    "This finding is located at {} in the image.",
)
GROUNDING_QUESTIONS: tuple[str, ...] = (
    "Where is the {} located in this Chest X-ray?",
    "Can you point out the {}'s position on the image?",
    "What's the location of the {} in the X-ray?",
    "Identify where the {} is on this Chest X-ray, please.",
    "Where exactly is the {} found on this image?",
    "Could you specify where to find the {} on this X-ray?",
    "Highlight the {}'s area on the image.",
    "Show me the {}'s location on this CXR.",
    "Where should I look to find the {} in this image?",
    "Can you locate the {} on this X-ray for me?",
    "Please point to the {} on this Chest X-ray.",
    "Indicate the position of the {} on this image.",
    "Describe the location of the {} on the X-ray.",
    "Where on this image is the {} located?",
    "Point out the exact location of the {} in the Chest X-ray.",
    "How can I identify the {} on this image?",
    "Where is the {} situated in this CXR?",
    "Can you highlight the {} on this image?",
    "Indicate where the {} is found on this X-ray.",
    "Describe where to find the {} on this Chest X-ray.",
)
GROUNDING_ANSWERS: tuple[str, ...] = (
    "The {} is located at the coordinates {} on the image.",
    "You'll find the {} at {} in the X-ray.",
    "The {} can be seen at {} on the Chest X-ray.",
    "The location of the {} is at {} on the image.",
    "For the {}, the coordinates are {} on the X-ray.",
    "The {} is situated at {} in the image.",
    "On the Chest X-ray, the {} is located at {}.",
    "The {} appears at the coordinates {} on the image.",
    "In the X-ray, the {} is identifiable at {}.",
    "The location for the {} is marked at {} on the Chest X-ray.",
    "The {} is positioned at {} on the image.",
    "The area occupied by the {} is at {} in the X-ray.",
    "On the image, you can find the {} at {}.",
    "The {}'s  location is at {} on the Chest X-ray.",
    "In terms of coordinates, the {} is found at {} on the image.",
    "Regarding the {}, it is located at {} on the X-ray.",
    "The {} specifically is at {} on the Chest X-ray.",
    "Concerning the {}, you will find it at {} in the image.",
    "The {} is at {} on the X-ray.",
    "For identifying the {}, look at {} on the Chest X-ray.",
)
DETECTION_QUESTIONS: tuple[str, ...] = (
    "Could you indicate if there are any abnormalities on this Chest X-ray and their locations?",
    "Are abnormalities present on this Chest X-ray? Where exactly can they be found?",
    "Please identify any lesions or abnormalities on this X-ray and specify their locations.",
    "On this Chest X-ray, can you point out any abnormalities and their precise positions?",
    "I need information on any abnormalities or lesions on this X-ray, including their locations. Can you help?",
    "Can you detect and describe the location of any abnormalities found on this Chest X-ray?",
    "Are there identifiable abnormalities on this Chest X-ray? If so, where are they located?",
    "Tell me about any lesions on this X-ray and detail their specific locations.",
    "Do any abnormalities appear on this Chest X-ray? Please point them out along with their locations.",
    "Identify any abnormalities or lesions present on this X-ray and provide their exact locations.",
)
DETECTION_PREFIXES: tuple[str, ...] = (
    "Sure! I can find",
    "Indeed, there are",
    "Yes, the following abnormalities are identified:",
    "Upon examination, I detect",
    "The analysis reveals",
    "After a detailed review, we have discovered",
    "The findings include",
    "Notably, I can identify",
    "Based on the image, there are",
    "From the examination, it's evident there are",
)
NO_LESION_ANSWERS: tuple[str, ...] = (
    "I can't find any lesion on the image.",
    "No abnormalities or lesions are detected on this Chest X-ray.",
    "The Chest X-ray appears to be clear of any lesions or abnormalities.",
    "Upon review, no lesions are visible on the image.",
    "The examination reveals a clean bill of health with no visible abnormalities.",
    "This Chest X-ray shows no signs of abnormalities or lesions.",
    "No lesions or abnormalities are present on this X-ray, as far as I can tell.",
    "After a thorough examination, I conclude that there are no detectable lesions on this X-ray.",
    "The image does not display any abnormalities or lesions.",
    "Based on this X-ray, it appears there are no lesions or abnormalities to report.",
)
CLASSIFICATION_QUESTIONS: tuple[str, ...] = (
    "Can you tell me if there are any abnormalities on this image?",
    "Are there any abnormalities on this Chest X-ray?",
    "Please identify abnormalities on this X-ray.",
    "Can you point out if there are any abnormalities on this Chest X-ray?",
    "Are there abnormalities on this Chest X-ray?",
    "Tell me about abnormalities on this image",
    "Do any abnormalities appear on this Chest X-ray?",
    "Identify abnormalities on this image",
    "Could you indicate if there are any lesions on this Chest X-ray?",
    "Are there any abnormalities present on this image?",
    "Please identify the abnormalities from this image.",
)
CLASSIFICATION_PREFIXES_MANY: tuple[str, ...] = (
    "The following abnormalities are identified:",
    "The following abnormalities are present:",
    "The analysis reveals these abnormalities:",
    "From the examination, it is evident that these abnormalities are present:",
    "The Chest X-ray includes the following abnormalities:",
)
CLASSIFICATION_PREFIXES_ONE: tuple[str, ...] = (
    "Yes, there is one abnormality identified:",
    "Yes, there is one abnormality identified:",
    "The following abnormality is present:",
    "The analysis reveals the following abnormality:",
    "The Chest X-ray includes the following finding:",
)
CLASSIFICATION_NONE: tuple[str, ...] = (
    "No abnormalities or lesions are detected on this Chest X-ray.",
    "The Chest X-ray appears to be clear of any abnormalities.",
    "There are no detectable abnormalities on this X-ray.",
    "This Chest X-ray shows no signs of abnormalities.",
    "Based on this X-ray, there are no abnormalities to report.",
    "There are no findings on this Chest X-ray.",
    "The Chest X-ray appears to be clear of any findings.",
)


#: Every pool by name, with its RadVLM size: report 15, grounding 20 + 20, phrase 8 + 8, detection 10 + 10, no-lesion
#: 10, classification 11 questions, 5 / 5 / 7 prefixes (many / one / none).
POOLS: dict[str, tuple[str, ...]] = {
    "report_questions": REPORT_QUESTIONS,
    "grounding_questions": GROUNDING_QUESTIONS,
    "grounding_answers": GROUNDING_ANSWERS,
    "phrase_questions": PHRASE_QUESTIONS,
    "phrase_answers": PHRASE_ANSWERS,
    "detection_questions": DETECTION_QUESTIONS,
    "detection_prefixes": DETECTION_PREFIXES,
    "no_lesion_answers": NO_LESION_ANSWERS,
    "classification_questions": CLASSIFICATION_QUESTIONS,
    "classification_prefixes_many": CLASSIFICATION_PREFIXES_MANY,
    "classification_prefixes_one": CLASSIFICATION_PREFIXES_ONE,
    "classification_none": CLASSIFICATION_NONE,
}

T = TypeVar("T")

# ---- seeded choice helpers: questions and answers ----


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
    """RadVLM's casing of a label inside grounding templates: lowercase when it starts upper-case and is not all caps
    (``ILD`` stays, ``right lung`` stays).

    Example:
        >>> label_for_template("Aortic enlargement"), label_for_template("ILD"), label_for_template("right lung")
        ('aortic enlargement', 'ILD', 'right lung')
    """
    return label.lower() if label[:1].isupper() and not label.isupper() else label


#: Alias of :func:`label_for_template` (the record builders' name for it).
grounding_label = label_for_template


def article(label: str) -> str:
    """``an`` before a vowel (first letter), else ``a``.

    Example:
        >>> article("ILD"), article("nodule/mass")
        ('an', 'a')
    """
    return "an" if label[:1].lower() in "aeiou" else "a"


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


def grounding_qa(label: str, boxes: Sequence[Sequence[float]], rng: random.Random) -> tuple[str, str]:
    """(question, answer) for anatomical / abnormality grounding: the question is drawn first, then the answer.

    Args:
        label: region or finding name (RadVLM casing applied).
        boxes: normalised [0, 1] xyxy boxes, written to 2 decimals.
        rng: the record's RNG.

    Example:
        >>> grounding_qa("Cardiomegaly", [(0.35, 0.51, 0.75, 0.64)], random.Random(0))[1]
        "The cardiomegaly's  location is at [0.35, 0.51, 0.75, 0.64] on the Chest X-ray."
    """
    question = grounding_question(label, rng)
    return question, grounding_answer(label, boxes, rng)


def phrase_question(phrase: str, rng: random.Random) -> str:
    """A phrase-grounding question with ``phrase`` verbatim (8 variants).

    Example:
        >>> phrase_question("Small left pleural effusion", random.Random(0))
        'Please indicate where this finding is located: Small left pleural effusion'
    """
    return choose(PHRASE_QUESTIONS, rng).format(phrase)


def phrase_answer(boxes: Sequence[Sequence[float]], rng: random.Random) -> str:
    """A phrase-grounding answer with all boxes (normalised [0, 1] xyxy, 2 decimals; 8 variants).

    Example:
        >>> phrase_answer([(0.12, 0.4, 0.45, 0.77)], random.Random(4))
        'The bounding box for this observation is [0.12, 0.4, 0.45, 0.77].'
    """
    return choose(PHRASE_ANSWERS, rng).format(format_boxes(boxes))


def phrase_qa(phrase: str, boxes: Sequence[Sequence[float]], rng: random.Random) -> tuple[str, str]:
    """(question, answer) for phrase grounding: the question is drawn first, then the answer.

    Example:
        >>> phrase_qa("Left effusion", [(0.12, 0.4, 0.45, 0.77)], random.Random(1))
        ('Please show me the location of: Left effusion', "You'll find it at [0.12, 0.4, 0.45, 0.77] in the CXR.")
    """
    question = phrase_question(phrase, rng)
    return question, phrase_answer(boxes, rng)


def detection_question(rng: random.Random) -> str:
    """A detection question (10 variants).

    Example:
        >>> detection_question(random.Random(0)) in DETECTION_QUESTIONS
        True
    """
    return choose(DETECTION_QUESTIONS, rng)


def detection_answer(findings: Sequence[tuple[str, Sequence[Sequence[float]]]], rng: random.Random) -> str:
    """Detection answer: ``"{prefix} {a|an} {label} located at the coordinates {boxes}; ...."`` or a no-lesion answer.

    Args:
        findings: ``[(label, boxes), ...]`` in order of first appearance (boxes normalised [0, 1] xyxy); empty -> a
            no-lesion answer.
        rng: the record's RNG.

    Returns:
        The answer string.

    Example:
        >>> detection_answer([("Aortic enlargement", [(0.5, 0.2, 0.6, 0.3)])], random.Random(2))
        'Sure! I can find an aortic enlargement located at the coordinates [0.5, 0.2, 0.6, 0.3].'
    """
    if not findings:
        return choose(NO_LESION_ANSWERS, rng)
    items = [f"{article(lab)} {lab.lower()} located at the coordinates {format_boxes(b)}" for lab, b in findings]
    return f"{choose(DETECTION_PREFIXES, rng)} {'; '.join(items)}."


def classification_question(rng: random.Random) -> str:
    """A classification question (11 variants; two lack the final period, as in RadVLM).

    Example:
        >>> classification_question(random.Random(0)) in CLASSIFICATION_QUESTIONS
        True
    """
    return choose(CLASSIFICATION_QUESTIONS, rng)


def classification_answer(labels: Sequence[str], rng: random.Random) -> str:
    """Classification answer: prefix by count, labels lowercased, de-duplicated and joined ``a, b and c``.

    Example:
        >>> classification_answer(["Edema", "Cardiomegaly"], random.Random(0))
        'From the examination, it is evident that these abnormalities are present: edema and cardiomegaly.'
        >>> classification_answer([], random.Random(0))
        'The Chest X-ray appears to be clear of any findings.'
    """
    names = list(dict.fromkeys(lab.lower() for lab in labels))
    if not names:
        return choose(CLASSIFICATION_NONE, rng)
    pool = CLASSIFICATION_PREFIXES_ONE if len(names) == 1 else CLASSIFICATION_PREFIXES_MANY
    return f"{choose(pool, rng)} {join_items(names)}."


# ---- thinking suffix and the user turn ----


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
    return question[: -len(THINK_SUFFIX)] if question.endswith(THINK_SUFFIX) else question


def first_question(record: Record) -> str:
    """The text of a record's first user turn: the first turn of a multi-turn ``conversation``, else ``question``
    (the two agree for records built by :func:`radgrpo.data.tasks.source_records.conversation_record`).

    Example:
        >>> turns = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]
        >>> first_question(Record("c", "x.png", "conversation", "Q1", "A1", conversation=turns))
        'Q1'
    """
    return record.conversation[0]["content"] if record.conversation else record.question


def prompt_text(record_or_question: Record | str, *, thinking: bool = False) -> str:
    """The text of the prompt's user turn: the question (:func:`first_question` of a record) plus
    :data:`THINK_SUFFIX` when ``thinking`` (appended as is, without checking for one already there).

    Example:
        >>> prompt_text("Where is the nodule?", thinking=True)
        'Where is the nodule? /think'
        >>> prompt_text(Record("a", "a.png", "report_generation", "Describe.", "Clear."))
        'Describe.'
    """
    question = record_or_question if isinstance(record_or_question, str) else first_question(record_or_question)
    return question + THINK_SUFFIX if thinking else question


def image_part() -> dict[str, str]:
    """The image placeholder of a chat turn's content (where the processor puts the image tokens).

    Example:
        >>> image_part()
        {'type': 'image'}
    """
    return {"type": "image"}


def user_message(question: str, *, thinking: bool = False, with_image: bool = True) -> dict[str, Any]:
    """One chat user turn in the conversational vision format of TRL and Hugging Face processors.

    Args:
        question: the user text, without any ``<image>`` token.
        thinking: append :data:`THINK_SUFFIX`.
        with_image: put the image placeholder ``{"type": "image"}`` before the text (the first user turn only).

    Returns:
        ``{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question (+ " /think")}]}``.

    Example:
        >>> user_message("How large?", with_image=False)
        {'role': 'user', 'content': [{'type': 'text', 'text': 'How large?'}]}
    """
    content: list[dict[str, Any]] = [image_part()] if with_image else []
    content.append({"type": "text", "text": prompt_text(question, thinking=thinking)})
    return {"role": "user", "content": content}


def prompt_messages(record_or_question: Record | str, *, thinking: bool = False) -> list[dict[str, Any]]:
    """The prompt of a record (or a question) as chat messages: one user turn, image placeholder first. GRPO rows
    (:func:`radgrpo.data.export.trl.grpo_prompt`), SFT's first turn and evaluation (:mod:`radgrpo.eval.generate`)
    all use it.

    Example:
        >>> prompt_messages(Record("a", "a.png", "report_generation", "Describe.", "Clear."))
        [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': 'Describe.'}]}]
    """
    return [user_message(prompt_text(record_or_question), thinking=thinking)]


#: The cold-start teacher's instruction (:mod:`radgrpo.data.cold_start`), written for radgrpo after the paper's
#: description of RadVLM's ground-truth-conditioned template; ``{guide}`` is the reading guide's text.
COLD_START_INSTRUCTION = (
    "You are an experienced radiologist teaching a resident how to read chest radiographs. You will see a chest "
    "X-ray, a question about it and the correct final answer. Write the reasoning a careful radiologist would follow "
    "to reach that answer from the image alone: go through the image step by step (technical quality, devices, "
    "mediastinum, heart, hila, lungs zone by zone, pleura and diaphragm, bones and soft tissues, review areas), "
    "describing what is seen and why it supports or excludes each finding.\n\n"
    "Rules:\n"
    "1. Put the whole reasoning inside one <think> ... </think> block at the very start of your reply.\n"
    "2. Reason as if you had not been told the answer: never mention, quote or allude to a given, provided or "
    "reference answer or report.\n"
    "3. After </think>, write the final answer exactly as given, character for character, and nothing else.\n"
    "4. Keep the reasoning between 100 and 600 words, in plain clinical language.\n\n"
    "Reading guide:\n{guide}"
)
#: The user turn of a cold-start request (after the image).
COLD_START_USER = "Question: {question}\n\nCorrect final answer (reproduce it exactly after </think>):\n{answer}"


def cold_start_messages(question: str, answer: str, image_url: str, guide: str) -> list[dict[str, Any]]:
    """The cold-start teacher request in the OpenAI vision chat format: a system turn with
    :data:`COLD_START_INSTRUCTION` and the guide, then a user turn with the image (``image_url``, e.g. a base64 PNG
    data URL) and :data:`COLD_START_USER`.

    Example:
        >>> m = cold_start_messages("Where is the nodule?", "[0.1, 0.2, 0.3, 0.4]", "data:image/png;base64,AA", "G")
        >>> [x["role"] for x in m], m[1]["content"][0]["type"], m[0]["content"].endswith("Reading guide:\\nG")
        (['system', 'user'], 'image_url', True)
    """
    return [
        {"role": "system", "content": COLD_START_INSTRUCTION.format(guide=guide)},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_url}},
                {"type": "text", "text": COLD_START_USER.format(question=question, answer=answer)},
            ],
        },
    ]


def inline_image_text(record_or_question: Record | str, *, thinking: bool = False) -> str:
    """The prompt text of text-only formats (verl parquet, LLaVA JSON): :data:`IMAGE_TOKEN`, a newline, then
    :func:`prompt_text`.

    Example:
        >>> inline_image_text("Describe.", thinking=True)
        '<image>\\nDescribe. /think'
    """
    return f"{IMAGE_TOKEN}\n{prompt_text(record_or_question, thinking=thinking)}"
