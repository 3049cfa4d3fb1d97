"""The synthetic dataset writer: draw studies (:mod:`radgrpo.data.sources.synthetic`), build their instruction records
(:mod:`radgrpo.data.tasks`) and write ``images/*.png`` and ``<split>.jsonl`` (``radgrpo data synth``).

What it is: the top of the data layer for synthetic data, as :mod:`radgrpo.data.build` is for the real datasets; the
source draws and the tasks build, so neither imports the other (docs/data.md#synthetic-generator).

What it is not: the drawing (:mod:`radgrpo.data.sources.synthetic_draw`) nor the report text
(:mod:`radgrpo.data.sources.synthetic`).

Example:
    >>> from radgrpo.data.sources.synthetic import SynthConfig, draw_study
    >>> cfg = SynthConfig(out="unused", image_size=64)
    >>> [r.task.value for r in study_records(draw_study(0, cfg), "train-000000", "train", cfg)]
    ['report_generation', 'abnormality_grounding']
"""

from __future__ import annotations

from radgrpo.config import save_config
from radgrpo.data.sources.synthetic import (
    SOURCE,
    TEST_SEED_OFFSET,
    VAL_SEED_OFFSET,
    SynthConfig,
    SynthStudy,
    draw_study,
    round_boxes,
)
from radgrpo.data.tasks import Study, StudyFinding, build_study_records
from radgrpo.errors import check_path
from radgrpo.records import Record, write_jsonl

__all__ = ["study_records", "synthesize", "to_task_study"]


def study_records(study: SynthStudy, sid: str, split: str, cfg: SynthConfig) -> list[Record]:
    """The instruction records of one study (RadVLM template pools; image path ``images/<sid>.png``).

    Args:
        study: the drawn study.
        sid: study id (also the patient id).
        split: "train" or "test".
        cfg: selects the tasks, ``grounding_per_study`` and ``anatomical_per_study``.

    Returns:
        Records in :data:`radgrpo.data.tasks.STUDY_TASKS` order (:func:`radgrpo.data.tasks.build_study_records`);
        boxes are stored to 4 decimals. Normal studies give no abnormality or phrase grounding records.
    """
    return build_study_records(
        to_task_study(study, sid, split),
        cfg.tasks,
        cfg.seed,
        grounding_per_study=cfg.grounding_per_study,
        anatomical_per_study=cfg.anatomical_per_study,
    )


def _ratio(regions: dict) -> float:
    """Heart width / outer lung width (both from the drawn regions), rounded to 2 decimals."""
    h = regions["cardiac silhouette"]
    thorax = regions["left lung"][2] - regions["right lung"][0]
    return round((h[2] - h[0]) / thorax, 2)


def to_task_study(study: SynthStudy, sid: str, split: str) -> Study:
    """The task-agnostic :class:`radgrpo.data.tasks.Study` of a synthetic study (boxes rounded to 4 decimals,
    phrases = the findings' sentences, ``meta`` = study id, seed, the heart's box and the findings).

    Example:
        >>> cfg = SynthConfig(out="unused", image_size=64)
        >>> t = to_task_study(draw_study(0, cfg), "train-000000", "train")
        >>> t.image, t.source, t.regions["trachea"] == round_boxes([draw_study(0, cfg).regions["trachea"]])[0]
        ('images/train-000000.png', 'synthetic', True)
    """
    meta = {
        "study": sid,
        "seed": study.seed,
        # the drawn heart's box (normalised xyxy) and its width over the lungs' outer width: the cold-start stand-in
        # teacher reasons from them (radgrpo.data.cold_start.SyntheticTeacher)
        "cardiac_silhouette": list(round_boxes([study.regions["cardiac silhouette"]])[0]),
        "cardiothoracic_ratio": _ratio(study.regions),
        "findings": [
            {
                "name": f.name,
                "side": f.side,
                "zone": f.zone,
                "size": f.size,
                "boxes": [list(b) for b in round_boxes(f.boxes)],
            }
            for f in study.findings
        ],
    }
    if study.reader is not None:
        # the readers world: the drawn truth (the reference report and boxes are one reader's), so results can be
        # scored against the truth and split by subtlety
        meta["reader"] = study.reader
        meta["truth"] = [
            {
                "finding": f.name,
                "side": f.side,
                "severity": round(float(f.severity or 0.0), 4),
                "subtle": bool(f.subtle),
                "boxes": [list(b) for b in round_boxes(f.boxes)],
            }
            for f in study.findings
        ]
    return Study(
        key=sid,
        image=f"images/{sid}.png",
        source=SOURCE,
        split=split,
        report=study.report,
        labels=dict(study.labels),
        patient_id=sid,
        meta=meta,
        findings=[
            StudyFinding(
                f.name,
                round_boxes(f.reader_boxes if f.reader_boxes is not None else f.boxes),
                study.sentences[f.name],
            )
            for f in study.findings
        ],
        regions=dict(zip(study.regions, round_boxes(list(study.regions.values())))),
    )


def synthesize(cfg: SynthConfig, progress: bool = True) -> dict[str, dict[str, int]]:
    """Draw ``n_train + n_test (+ n_val)`` studies and write ``out/images/*.png``, ``train.jsonl``, ``test.jsonl``
    (``val.jsonl`` when ``n_val`` > 0) and ``config.yaml``.

    Args:
        cfg: the generator config.
        progress: show a rich progress bar.

    Returns:
        Record counts ``{split: {task: n}}`` (every configured task appears, possibly with 0).
    Raises:
        radgrpo.errors.UserPathError: ``out`` (or a folder above it) is a file.
    """
    from PIL import Image

    out = check_path(cfg.out, "--out", kind="out")
    (out / "images").mkdir(parents=True, exist_ok=True)
    save_config(cfg, out)
    splits = [("train", 0, cfg.n_train), ("test", TEST_SEED_OFFSET, cfg.n_test)]
    if cfg.n_val:
        splits.append(("val", VAL_SEED_OFFSET, cfg.n_val))
    counts: dict[str, dict[str, int]] = {split: dict.fromkeys(cfg.tasks, 0) for split, _, _ in splits}
    prog = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        prog = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        )
        prog.start()
    try:
        for split, offset, n in splits:
            bar = prog.add_task(f"synthetic {split}", total=n) if prog is not None else None
            records: list[Record] = []
            for i in range(n):
                sid = f"{split}-{i:06d}"
                study = draw_study(offset + i, cfg)
                Image.fromarray(study.image, "L").save(out / "images" / f"{sid}.png", compress_level=1)
                for r in study_records(study, sid, split, cfg):
                    counts[split][r.task.value] += 1
                    records.append(r)
                if prog is not None and bar is not None and (i % 50 == 49 or i == n - 1):
                    prog.update(bar, completed=i + 1)
            write_jsonl(records, out / f"{split}.jsonl")
    finally:
        if prog is not None:
            prog.stop()
    return counts
