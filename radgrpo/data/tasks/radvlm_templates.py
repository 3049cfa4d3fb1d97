"""RadVLM's instruction template pools, verbatim, and the answer strings built from them (data.md §3–4, paper.md §6).

Attribution: the strings below are RadVLM's (uzh-dqbm-cmi/RadVLM, ``radvlm/data/create_instructions.py``), kept as
data so that records match what RadVLM-trained models saw and what RadVLM's evaluation parses. Typos, the duplicated
single-label prefix, the missing periods and the double space in one grounding answer are deliberate.

What it is not: a task builder (``radgrpo.data.tasks.source_records`` makes Records from these) nor an
evaluation parser (``radgrpo.boxes``). NOTE for the lead: helper A owns ``radgrpo/data/prompts.py`` with the same
pools; when it lands, one of the two modules should import the other (this one was written because it had not).

Example:
    >>> import random
    >>> detection_answer([("Aortic enlargement", [(0.5, 0.2, 0.6, 0.3)])], random.Random(6))
    "From the examination, it's evident there are an aortic enlargement located at the coordinates [0.5, 0.2, 0.6, 0.3]."
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from radgrpo.boxes import format_boxes, join_items

REPORT_QUESTIONS: tuple[str, ...] = (
    "Provide a radiology report for this Chest X-Ray.", "Analyze the Chest X-Ray and report your findings.",
    "Please give a detailed radiology report from this Chest X-Ray image.",
    "Please offer a detailed analysis based on this image.", "Analyze this image and provide a report.",
    "Write a radiology report for this Chest X-ray.", "Draft a concise report for this image.",
    "Please provide a brief radiology report.", "Compose a radiology report focusing on key findings.",
    "Create a structured radiology report for this X-ray.", "Produce a summary radiology report for this chest image.",
    "Provide a radiology report for this exam.", "Write a report summarizing this Chest X-ray.",
    "Draft a simple radiology report for these findings.", "Outline a radiology report for this X-ray.",
)
PHRASE_QUESTIONS: tuple[str, ...] = (
    "Please locate the following sentence: {}", "Identify the position of the following phrase in the CXR: {}",
    "Please show me the location of: {}", "Highlight the area of the following observation on the image: {}",
    "Where on the image can you see the following observation: {}", "Find the region corresponding to: {}",
    "Please indicate where this finding is located: {}", "Mark the area where you observe: {}",
)
PHRASE_ANSWERS: tuple[str, ...] = (
    "This sentence is located at the coordinates {} on the image.", "You'll find it at {} in the CXR.",
    "This phrase can be observed at {} on the image.", "The bounding box for this observation is {}.",
    "Its location is given by {}.", "It is displayed at {} in the radiograph.",
    "The area specified is at coordinates {}.", "This finding is located at {} in the image.",
)
GROUNDING_QUESTIONS: tuple[str, ...] = (
    "Where is the {} located in this Chest X-ray?", "Can you point out the {}'s position on the image?",
    "What's the location of the {} in the X-ray?", "Identify where the {} is on this Chest X-ray, please.",
    "Where exactly is the {} found on this image?", "Could you specify where to find the {} on this X-ray?",
    "Highlight the {}'s area on the image.", "Show me the {}'s location on this CXR.",
    "Where should I look to find the {} in this image?", "Can you locate the {} on this X-ray for me?",
    "Please point to the {} on this Chest X-ray.", "Indicate the position of the {} on this image.",
    "Describe the location of the {} on the X-ray.", "Where on this image is the {} located?",
    "Point out the exact location of the {} in the Chest X-ray.", "How can I identify the {} on this image?",
    "Where is the {} situated in this CXR?", "Can you highlight the {} on this image?",
    "Indicate where the {} is found on this X-ray.", "Describe where to find the {} on this Chest X-ray.",
)
GROUNDING_ANSWERS: tuple[str, ...] = (
    "The {} is located at the coordinates {} on the image.", "You'll find the {} at {} in the X-ray.",
    "The {} can be seen at {} on the Chest X-ray.", "The location of the {} is at {} on the image.",
    "For the {}, the coordinates are {} on the X-ray.", "The {} is situated at {} in the image.",
    "On the Chest X-ray, the {} is located at {}.", "The {} appears at the coordinates {} on the image.",
    "In the X-ray, the {} is identifiable at {}.", "The location for the {} is marked at {} on the Chest X-ray.",
    "The {} is positioned at {} on the image.", "The area occupied by the {} is at {} in the X-ray.",
    "On the image, you can find the {} at {}.", "The {}'s  location is at {} on the Chest X-ray.",
    "In terms of coordinates, the {} is found at {} on the image.", "Regarding the {}, it is located at {} on the X-ray.",
    "The {} specifically is at {} on the Chest X-ray.", "Concerning the {}, you will find it at {} in the image.",
    "The {} is at {} on the X-ray.", "For identifying the {}, look at {} on the Chest X-ray.",
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
    "Sure! I can find", "Indeed, there are", "Yes, the following abnormalities are identified:",
    "Upon examination, I detect", "The analysis reveals", "After a detailed review, we have discovered",
    "The findings include", "Notably, I can identify", "Based on the image, there are",
    "From the examination, it's evident there are",
)
NO_LESION_ANSWERS: tuple[str, ...] = (
    "I can't find any lesion on the image.", "No abnormalities or lesions are detected on this Chest X-ray.",
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
    "Can you tell me if there are any abnormalities on this image?", "Are there any abnormalities on this Chest X-ray?",
    "Please identify abnormalities on this X-ray.", "Can you point out if there are any abnormalities on this Chest X-ray?",
    "Are there abnormalities on this Chest X-ray?", "Tell me about abnormalities on this image",
    "Do any abnormalities appear on this Chest X-ray?", "Identify abnormalities on this image",
    "Could you indicate if there are any lesions on this Chest X-ray?",
    "Are there any abnormalities present on this image?", "Please identify the abnormalities from this image.",
)
CLASSIFICATION_PREFIXES_MANY: tuple[str, ...] = (
    "The following abnormalities are identified:", "The following abnormalities are present:",
    "The analysis reveals these abnormalities:",
    "From the examination, it is evident that these abnormalities are present:",
    "The Chest X-ray includes the following abnormalities:",
)
CLASSIFICATION_PREFIXES_ONE: tuple[str, ...] = (
    "Yes, there is one abnormality identified:", "Yes, there is one abnormality identified:",
    "The following abnormality is present:", "The analysis reveals the following abnormality:",
    "The Chest X-ray includes the following finding:",
)
CLASSIFICATION_NONE: tuple[str, ...] = (
    "No abnormalities or lesions are detected on this Chest X-ray.",
    "The Chest X-ray appears to be clear of any abnormalities.", "There are no detectable abnormalities on this X-ray.",
    "This Chest X-ray shows no signs of abnormalities.", "Based on this X-ray, there are no abnormalities to report.",
    "There are no findings on this Chest X-ray.", "The Chest X-ray appears to be clear of any findings.",
)


def grounding_label(label: str) -> str:
    """RadVLM's label casing in grounding templates: lowercase when it starts upper-case and is not all caps.

    Example:
        >>> grounding_label("Cardiomegaly"), grounding_label("ILD"), grounding_label("right lung")
        ('cardiomegaly', 'ILD', 'right lung')
    """
    return label.lower() if label[:1].isupper() and not label.isupper() else label


def article(label: str) -> str:
    """``an`` before a vowel (first letter), else ``a``.

    Example:
        >>> article("ILD"), article("nodule/mass")
        ('an', 'a')
    """
    return "an" if label[:1].lower() in "aeiou" else "a"


def grounding_qa(label: str, boxes: Sequence[Sequence[float]], rng: random.Random) -> tuple[str, str]:
    """(question, answer) for anatomical / abnormality grounding.

    Example:
        >>> grounding_qa("Cardiomegaly", [(0.35, 0.51, 0.75, 0.64)], random.Random(0))[1]
        "The cardiomegaly's  location is at [0.35, 0.51, 0.75, 0.64] on the Chest X-ray."
    """
    name = grounding_label(label)
    q = rng.choice(GROUNDING_QUESTIONS).format(name)
    return q, rng.choice(GROUNDING_ANSWERS).format(name, format_boxes(boxes))


def phrase_qa(phrase: str, boxes: Sequence[Sequence[float]], rng: random.Random) -> tuple[str, str]:
    """(question, answer) for phrase grounding.

    Example:
        >>> phrase_qa("Left effusion", [(0.12, 0.4, 0.45, 0.77)], random.Random(1))
        ('Please show me the location of: Left effusion', "You'll find it at [0.12, 0.4, 0.45, 0.77] in the CXR.")
    """
    return rng.choice(PHRASE_QUESTIONS).format(phrase), rng.choice(PHRASE_ANSWERS).format(format_boxes(boxes))


def detection_answer(findings: Sequence[tuple[str, Sequence[Sequence[float]]]], rng: random.Random) -> str:
    """Detection answer: ``"{prefix} {a|an} {label} located at the coordinates {boxes}; ...."`` or a no-lesion answer.

    Args:
        findings: ``[(label, boxes), ...]`` in order of first appearance; empty -> a no-lesion answer.
        rng: the record's RNG.

    Returns:
        The answer string.
    """
    if not findings:
        return rng.choice(NO_LESION_ANSWERS)
    items = [f"{article(lab)} {lab.lower()} located at the coordinates {format_boxes(b)}" for lab, b in findings]
    return f"{rng.choice(DETECTION_PREFIXES)} {'; '.join(items)}."


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
        return rng.choice(CLASSIFICATION_NONE)
    pool = CLASSIFICATION_PREFIXES_ONE if len(names) == 1 else CLASSIFICATION_PREFIXES_MANY
    return f"{rng.choice(pool)} {join_items(names)}."
