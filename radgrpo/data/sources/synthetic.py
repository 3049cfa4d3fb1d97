"""Synthetic chest X-ray source: studies with consistent images, findings, boxes, reports and CheXpert labels.

What it is: the data source of the demo and of many tests (docs/data.md#synthetic-generator). A study is a
256² greyscale phantom (:mod:`radgrpo.data.sources.synthetic_draw`) with 0–2 findings among cardiomegaly, pleural
effusion, consolidation, pneumothorax (the default, learnable set), nodule and atelectasis; each finding's boxes are
computed from the pixels drawn for it. The findings text uses one canonical sentence order (heart, lungs, pleura),
names laterality (patient side), zone and size, states the absent major findings as negatives and never compares to
a prior. Labels follow CheXpert (:data:`radgrpo.records.CHEXPERT_LABELS`); the rule labeller
(:mod:`radgrpo.metrics.text.rule_labeler`) recovers them from the text. :func:`synthesize` writes PNGs and RadVLM-style
instruction records with the real template pools: :func:`radgrpo.data.synth.synthesize` (this module only draws and
writes the text; sources never build records).

What it is not: a realistic simulator, nor a fixture writer for the real on-disk layouts (``tests/data/fixtures``).

Example:
    >>> cfg = SynthConfig(out="unused", image_size=64)
    >>> s = draw_study(3, cfg)
    >>> s.image.shape, s.report == draw_study(3, cfg).report
    ((64, 64), True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from radgrpo.config import mapping_flag
from radgrpo.data.sources import synthetic_draw as draw
from radgrpo.data.sources import synthetic_readers as readers_mod
from radgrpo.records import CHEXPERT_LABELS, STUDY_TASKS, Box

SOURCE = "synthetic"
#: Study seeds of the test split start here, so test studies never share a seed with training studies.
TEST_SEED_OFFSET = 10_000_000
#: Study seeds of the validation split (held-out curves during training) start here.
VAL_SEED_OFFSET = 20_000_000
#: The default findings: high-contrast, large, learnable by a tiny model.
DEFAULT_FINDINGS: tuple[str, ...] = ("cardiomegaly", "pleural effusion", "consolidation", "pneumothorax")
#: Tasks :func:`synthesize` can write.
SUPPORTED_TASKS: tuple[str, ...] = STUDY_TASKS
#: Finding -> CheXpert labels set to 1.
FINDING_LABELS: dict[str, tuple[str, ...]] = {
    "cardiomegaly": ("Cardiomegaly", "Enlarged Cardiomediastinum"),
    "pleural effusion": ("Pleural Effusion",),
    "consolidation": ("Consolidation", "Lung Opacity"),
    "pneumothorax": ("Pneumothorax",),
    "nodule": ("Lung Lesion",),
    "atelectasis": ("Atelectasis", "Lung Opacity"),
}
#: Absent major finding -> the CheXpert label its negative sentence sets to 0.
NEGATED_LABELS: dict[str, str] = {
    "cardiomegaly": "Cardiomegaly",
    "consolidation": "Consolidation",
    "pleural effusion": "Pleural Effusion",
    "pneumothorax": "Pneumothorax",
}
_REPORT_ORDER = ("cardiomegaly", "consolidation", "nodule", "atelectasis", "pleural effusion", "pneumothorax")
#: The worlds :class:`SynthConfig` can draw: "clean" (one deterministic, complete reference per study; every finding
#: conspicuous) and "readers" (graded findings, references and boxes written by simulated readers,
#: :mod:`radgrpo.data.sources.synthetic_readers`).
WORLDS: tuple[str, ...] = ("clean", "readers")


@dataclass
class SynthConfig:
    """Write a synthetic chest X-ray instruction dataset (``radgrpo data synth``)."""

    out: str = field(default="data/synth", metadata={"help": "output folder (images/, train.jsonl, test.jsonl)"})
    n_train: int = field(default=4000, metadata={"help": "training studies"})
    n_test: int = field(default=150, metadata={"help": "held-out test studies (seeds disjoint from training)"})
    n_val: int = field(
        default=0,
        metadata={"help": "validation studies written to val.jsonl (seeds disjoint from train and test; 0 = none)"},
    )
    image_size: int = field(default=256, metadata={"help": "image side in pixels"})
    seed: int = field(default=0, metadata={"help": "base seed of the whole dataset"})
    findings: list[str] = field(
        default_factory=lambda: list(DEFAULT_FINDINGS),
        metadata={"help": f"findings to draw, among {list(draw.SUPPORTED_FINDINGS)}"},
    )
    tasks: list[str] = field(
        default_factory=lambda: ["report_generation", "abnormality_grounding"],
        metadata={"help": f"tasks to write, among {list(SUPPORTED_TASKS)}"},
    )
    normal_fraction: float = field(default=0.25, metadata={"help": "share of studies without findings"})
    second_finding_prob: float = field(default=0.35, metadata={"help": "probability of a second, different finding"})
    world: str = field(
        default="clean",
        metadata={
            "help": "clean: complete deterministic references, conspicuous findings; readers: graded findings with "
            "references and boxes written by simulated readers (docs/rl_vs_imitation.md)"
        },
    )
    readers: dict = field(
        default_factory=dict,
        metadata={
            "help": "readers world: per-finding reader parameters laid over the defaults, e.g. "
            "'{consolidation: {sens_max: 0.8}}' (keys: sens_min, sens_max, saturation, hedge_max, hedge_min, "
            "false_positive, box_sigma, box_iou50)"
        },
    )
    n_readers: int = field(default=4, metadata={"help": "readers world: readers in the panel (one drawn per study)"})
    reader_spread: float = field(
        default=0.25, metadata={"help": "readers world: sd of each reader's per-finding logit offset of sensitivity"}
    )
    grounding_per_study: int = field(
        default=1,
        metadata={"help": "abnormality grounding records per abnormal study (distinct findings, at most all present)"},
    )
    anatomical_per_study: int = field(
        default=1,
        metadata={
            "help": f"anatomical grounding records per study (distinct regions among {len(draw.ANATOMICAL_REGIONS)})"
        },
    )

    def __post_init__(self) -> None:
        bad = [f for f in self.findings if f not in draw.SUPPORTED_FINDINGS]
        if bad or not self.findings:
            raise ValueError(
                f"SynthConfig.findings: unknown or empty {bad or self.findings}; "
                f"supported: {list(draw.SUPPORTED_FINDINGS)}"
            )
        if len(set(self.findings)) != len(self.findings):
            raise ValueError(f"SynthConfig.findings has duplicates: {self.findings}")
        bad = [t for t in self.tasks if t not in SUPPORTED_TASKS]
        if bad or not self.tasks:
            raise ValueError(
                f"SynthConfig.tasks: unknown or empty {bad or self.tasks}; supported: {list(SUPPORTED_TASKS)}"
            )
        if not (0.0 <= self.normal_fraction <= 1.0 and 0.0 <= self.second_finding_prob <= 1.0):
            raise ValueError("SynthConfig: normal_fraction and second_finding_prob must lie in [0, 1]")
        if not all(0 <= n < TEST_SEED_OFFSET for n in (self.n_train, self.n_test, self.n_val)):
            raise ValueError(f"SynthConfig: n_train, n_test and n_val must lie in [0, {TEST_SEED_OFFSET})")
        if self.image_size < 32:
            raise ValueError(f"SynthConfig.image_size must be >= 32, got {self.image_size}")
        if self.grounding_per_study < 0 or self.anatomical_per_study < 0:
            raise ValueError("SynthConfig.grounding_per_study and anatomical_per_study must be >= 0")
        if self.world not in WORLDS:
            raise ValueError(f"SynthConfig.world must be one of {list(WORLDS)}, got {self.world!r}")
        self.readers = mapping_flag(self.readers, "readers")
        readers_mod.readers_from_config(self.readers)  # validates
        if self.n_readers < 1 or self.reader_spread < 0:
            raise ValueError("SynthConfig: n_readers must be >= 1 and reader_spread >= 0")


@dataclass
class SynthFinding:
    """One drawn finding: name, patient side ("right"/"left"/"bilateral", None for cardiomegaly), zone, size word
    and its boxes (normalised [0, 1] xyxy, one per side, full precision). In the readers world also its severity in
    [0, 1], whether it is subtle (a typical reader names it at most half the time) and the reader's boxes."""

    name: str
    side: str | None
    zone: str | None
    size: str
    boxes: list[Box]
    severity: float | None = None
    subtle: bool | None = None
    reader_boxes: list[Box] | None = None


@dataclass
class SynthStudy:
    """One synthetic study: image (uint8 HxW), findings, findings text, CheXpert labels, per-finding sentences, the
    body box and the anatomical region boxes (:data:`radgrpo.data.sources.synthetic_anatomy.ANATOMICAL_REGIONS`,
    normalised xyxy, full precision)."""

    seed: int
    image: np.ndarray
    findings: list[SynthFinding]
    report: str
    labels: dict[str, int]
    sentences: dict[str, str]
    body_box: Box
    regions: dict[str, Box]
    reader: int | None = None


def _rng(cfg: SynthConfig, seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, seed, stream])


def choose_findings(cfg: SynthConfig, rng: np.random.Generator) -> list[str]:
    """Which findings a study has: none with ``normal_fraction``, else one, plus a second different one with
    ``second_finding_prob``; returned in canonical report order.

    Example:
        >>> choose_findings(SynthConfig(normal_fraction=0.0, second_finding_prob=0.0, findings=["nodule"]),
        ...                 np.random.default_rng(0))
        ['nodule']
    """
    if rng.random() < cfg.normal_fraction:
        return []
    pool = list(cfg.findings)
    names = [pool.pop(int(rng.integers(0, len(pool))))]
    if pool and rng.random() < cfg.second_finding_prob:
        names.append(pool[int(rng.integers(0, len(pool)))])
    return sorted(names, key=_REPORT_ORDER.index)


def draw_study(seed: int, cfg: SynthConfig, *, drop: tuple[str, ...] = ()) -> SynthStudy:
    """Draw one study deterministically from ``(cfg.seed, seed)``.

    Args:
        seed: the study seed (train studies use 0.., test studies :data:`TEST_SEED_OFFSET` + i).
        cfg: the generator config (world, findings pool, probabilities, image size, readers).
        drop: finding names to leave out; anatomy and noise stay identical (the "normal twin" when all are dropped).

    Returns:
        A :class:`SynthStudy`. In the clean world its report names every finding; in the readers world a reader of
        the panel (:mod:`radgrpo.data.sources.synthetic_readers`) writes the report and the boxes, and every
        finding carries its severity.

    Example:
        >>> cfg = SynthConfig(image_size=64, normal_fraction=0.0, findings=["cardiomegaly"])
        >>> s = draw_study(0, cfg)
        >>> [f.name for f in s.findings], s.labels["Cardiomegaly"], s.report.split(".")[0] in ("Mild cardiomegaly",
        ...     "Moderate cardiomegaly", "The heart is mildly enlarged", "The heart is moderately enlarged")
        (['cardiomegaly'], 1, True)
    """
    if cfg.world == "readers":
        return _draw_read_study(seed, cfg, drop)
    anat = draw.sample_anatomy(_rng(cfg, seed, 0))
    frng = _rng(cfg, seed, 1)
    specs = [draw.sample_finding(n, anat, frng) for n in choose_findings(cfg, frng)]
    specs = [s for s in specs if s.name not in drop]
    image, boxes = draw.render(anat, specs, cfg.image_size, _rng(cfg, seed, 2))
    findings = [SynthFinding(s.name, s.side, s.zone, s.size, b) for s, b in zip(specs, boxes)]
    sentences, report = write_report(findings, random.Random(int(frng.integers(0, 2**31))))
    body = draw.body_mask(anat, cfg.image_size)
    regions = draw.region_boxes(anat, cfg.image_size, enlarged_heart=any(s.name == "cardiomegaly" for s in specs))
    return SynthStudy(
        seed=seed,
        image=image,
        findings=findings,
        report=report,
        labels=study_labels(findings),
        sentences=sentences,
        body_box=draw.drawn_box(body, "the body drew no pixels"),
        regions=regions,
    )


def _draw_read_study(seed: int, cfg: SynthConfig, drop: tuple[str, ...]) -> SynthStudy:
    """The readers world's :func:`draw_study`: graded findings, then one reader of the panel writes report and boxes.

    Streams: anatomy (0), findings and severities (1), noise (2), the reader's choices (3) and box jitter (4).
    """
    readers = readers_mod.readers_from_config(cfg.readers)
    anat = draw.sample_anatomy(_rng(cfg, seed, 0))
    frng = _rng(cfg, seed, 1)
    names = choose_findings(cfg, frng)
    severity = {n: float(frng.random()) for n in names}
    if "cardiomegaly" in severity:
        anat = draw.graded_anatomy(anat, severity["cardiomegaly"])
    specs = [draw.sample_finding(n, anat, frng, severity=severity[n]) for n in names]
    specs = [s for s in specs if s.name not in drop]
    image, boxes = draw.render(anat, specs, cfg.image_size, _rng(cfg, seed, 2))
    panel = readers_mod.reader_panel(readers, cfg.n_readers, cfg.reader_spread, cfg.seed)
    rrng = random.Random(int(_rng(cfg, seed, 3).integers(0, 2**31)))
    reader = panel[rrng.randrange(len(panel))]
    jrng = _rng(cfg, seed, 4)
    findings = []
    for s, b in zip(specs, boxes):
        v = severity[s.name]
        findings.append(
            SynthFinding(
                s.name,
                s.side,
                s.zone,
                s.size,
                b,
                severity=v,
                subtle=readers[s.name].sensitivity(v) <= readers_mod.SUBTLE_BELOW,
                reader_boxes=[readers_mod.jitter_box(x, readers[s.name].box_sigma, jrng) for x in b],
            )
        )
    truth = [readers_mod.TruthFinding(f.name, f.side, float(f.severity or 0.0), f.size, f.zone) for f in findings]
    said = readers_mod.read_findings(truth, reader, readers, rrng, findings=cfg.findings)
    report = readers_mod.write_reader_report(said)
    by_said = {x.name: readers_mod.sentence(x) for x in said}
    plain = random.Random(int(_rng(cfg, seed, 3).integers(0, 2**31)) + 1)
    sentences = {f.name: by_said.get(f.name) or finding_sentence(f, plain) for f in findings}
    body = draw.body_mask(anat, cfg.image_size)
    regions = draw.region_boxes(anat, cfg.image_size, enlarged_heart=any(s.name == "cardiomegaly" for s in specs))
    return SynthStudy(
        seed=seed,
        image=image,
        findings=findings,
        report=report,
        labels=said_labels(said, cfg.findings),
        sentences=sentences,
        body_box=draw.drawn_box(body, "the body drew no pixels"),
        regions=regions,
        reader=reader.id,
    )


def said_labels(said: list, pool: list[str]) -> dict[str, int]:
    """CheXpert labels of a reader's report: 1 for plainly named findings, -1 (uncertain) for hedged ones, 0 for
    the stock negatives of the absent major findings of ``pool``, "No Finding" 1 when nothing is named.

    Example:
        >>> from radgrpo.data.sources.synthetic_readers import Said
        >>> said_labels([Said("pneumothorax", "left", "small", None, True, 0)], ["pneumothorax", "cardiomegaly"])
        {'Cardiomegaly': 0, 'Pneumothorax': -1}
    """
    named = {x.name: x for x in said}
    labels = {lab: 0 for name, lab in NEGATED_LABELS.items() if name not in named and name in pool}
    for x in said:
        labels.update(dict.fromkeys(FINDING_LABELS[x.name], -1 if x.hedged else 1))
    if not named:
        labels["No Finding"] = 1
    return {lab: labels[lab] for lab in CHEXPERT_LABELS if lab in labels}


def study_labels(findings: list[SynthFinding]) -> dict[str, int]:
    """CheXpert labels of a study: 1 for each finding's labels, 0 for the absent major findings the report negates,
    "No Finding" 1 when nothing is positive; other labels are absent (not mentioned).

    Example:
        >>> study_labels([])
        {'Cardiomegaly': 0, 'Consolidation': 0, 'Pneumothorax': 0, 'Pleural Effusion': 0, 'No Finding': 1}
    """
    names = {f.name for f in findings}
    labels = {lab: 0 for name, lab in NEGATED_LABELS.items() if name not in names}
    for f in findings:
        labels.update(dict.fromkeys(FINDING_LABELS[f.name], 1))
    if not any(v == 1 for v in labels.values()):
        labels["No Finding"] = 1
    return {lab: labels[lab] for lab in CHEXPERT_LABELS if lab in labels}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def finding_sentence(f: SynthFinding, rng: random.Random) -> str:
    """The positive sentence of one finding (one of two paraphrases), with laterality, zone and size.

    Example:
        >>> finding_sentence(SynthFinding("pleural effusion", "bilateral", "base", "small", []), random.Random(0))
        'Small bilateral pleural effusions.'
    """
    alt = rng.random() < 0.5
    n, side, zone, size = f.name, f.side, f.zone, f.size
    if n == "cardiomegaly":
        return f"The heart is {size}ly enlarged." if alt else f"{_cap(size)} cardiomegaly."
    if n == "pleural effusion":
        if side == "bilateral":
            return (
                f"There are {size} bilateral pleural effusions."
                if alt
                else f"{_cap(size)} bilateral pleural effusions."
            )
        return f"There is a {size} {side} pleural effusion." if alt else f"{_cap(size)} {side} pleural effusion."
    if n == "pneumothorax":
        return f"There is a {size} {side} apical pneumothorax." if alt else f"{_cap(size)} {side} apical pneumothorax."
    if n == "atelectasis":
        return (
            f"There is plate-like atelectasis at the {side} lung base."
            if alt
            else f"Plate-like atelectasis at the {side} lung base."
        )
    if n in ("consolidation", "nodule"):
        word = "focal consolidation" if n == "consolidation" else "nodule"
        return (
            f"There is a {size} {word} in the {side} {zone} lung zone."
            if alt
            else f"{_cap(size)} {word} in the {side} {zone} lung zone."
        )
    raise ValueError(f"no sentence for finding {n!r}")


def write_report(findings: list[SynthFinding], rng: random.Random) -> tuple[dict[str, str], str]:
    """Findings text in canonical order: heart, lungs, pleura; positives first in each part, then negatives.

    Args:
        findings: the study's findings.
        rng: paraphrase choices.

    Returns:
        ``(sentences, report)``: finding name -> its positive sentence, and the whole report.

    Example:
        >>> write_report([], random.Random(1))[1].split(". ")  # doctest: +NORMALIZE_WHITESPACE
        ['The heart size is normal', 'The lungs are clear without focal consolidation',
         'No pleural effusion or pneumothorax.']
    """
    by_name = {f.name: f for f in findings}
    sentences = {f.name: finding_sentence(f, rng) for f in sorted(findings, key=lambda f: _REPORT_ORDER.index(f.name))}
    parts = [
        sentences["cardiomegaly"]
        if "cardiomegaly" in by_name
        else rng.choice(["The heart size is normal.", "Normal heart size."])
    ]
    lung_pos = [sentences[n] for n in ("consolidation", "nodule", "atelectasis") if n in by_name]
    parts += lung_pos
    if "consolidation" not in by_name:
        parts.append(
            "No focal consolidation."
            if lung_pos or rng.random() < 0.5
            else "The lungs are clear without focal consolidation."
        )
    parts += [sentences[n] for n in ("pleural effusion", "pneumothorax") if n in by_name]
    if "pleural effusion" not in by_name and "pneumothorax" not in by_name:
        parts.append(rng.choice(["No pleural effusion or pneumothorax.", "No pleural effusion. No pneumothorax."]))
    elif "pleural effusion" not in by_name:
        parts.append("No pleural effusion.")
    elif "pneumothorax" not in by_name:
        parts.append("No pneumothorax.")
    return sentences, " ".join(parts)


def round_boxes(boxes: list[Box], ndigits: int = 4) -> list[Box]:
    """Boxes with coordinates rounded (reference boxes are stored to 4 decimals; answers show 2).

    Example:
        >>> round_boxes([(0.123456, 0.5, 0.77777, 0.9)])
        [(0.1235, 0.5, 0.7778, 0.9)]
    """
    return [
        (
            round(float(b[0]), ndigits),
            round(float(b[1]), ndigits),
            round(float(b[2]), ndigits),
            round(float(b[3]), ndigits),
        )
        for b in boxes
    ]
