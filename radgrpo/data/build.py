"""``build_dataset(DataConfig)``: dataset roots -> mixed, split, exported RadVLM instruction set + statistics.

What it is: the one command behind ``radgrpo data build``. For each :class:`~radgrpo.data.mixture.Block` it streams
the source's raw rows (``radgrpo.data.sources.<source>.iter_rows``), turns them into records
(:func:`radgrpo.data.tasks.source_records.records_of_row`) and writes ``shards/<block>.<split>.jsonl`` (atomically; a
shard whose sidecar ``.json`` matches the block's fingerprint is skipped on a re-run, so an interrupted build
resumes), then interleaves the shards of each split with a seeded order into ``records/<split>.jsonl`` and exports
them (``llava/<split>.json``, ``verl/{train,val}.parquet``, optionally TRL datasets dirs ``trl/{sft,grpo}/<split>``
through :mod:`radgrpo.data.export.trl`). Statistics (records per source × task × split, dropped rows with reasons,
repairs, patients found in several splits) are printed with rich and saved to ``stats.json``; the resolved config
goes to ``config.yaml``. Memory stays bounded: records are streamed, only per-source lookup tables (CSV joins) are
held.

What it is not: an image converter beyond VinDr's DICOMs (``vindr_convert``), nor the LLM text steps
(``radgrpo data filter-reports`` / ``radgrpo data conversations``, :mod:`radgrpo.data.llm_steps`: run them first
to create ``filtered_reports/`` and ``conversations/``).

Example:
    >>> cfg = DataConfig(out="/tmp/x")
    >>> [b.name for b in cfg.resolved_blocks()][:2]
    ['vindr-cxr-train', 'vindr-cxr-mono-train']
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.data.mixture import RADVLM_BLOCKS, Block, interleave, select_by_hash
from radgrpo.data.sources import (
    chest_imagenome,
    chexpert,
    chexpert_plus,
    mimic_cxr,
    ms_cxr,
    padchest_gr,
    vindr_cxr,
)
from radgrpo.data.sources.common import DropCounter, RawRow
from radgrpo.data.tasks.source_records import records_of_row
from radgrpo.errors import check_path
from radgrpo.records import Record

SOURCES = ("mimic_cxr", "chexpert", "chexpert_plus", "chest_imagenome", "vindr_cxr", "ms_cxr", "padchest_gr")
EXPORTS = ("records", "llava_json", "verl", "trl")
#: The row key that identifies an item of each source (sampling, ids).
ROW_KEYS = {
    "mimic_cxr": "dicom_id",
    "chexpert": "path",
    "chexpert_plus": "path",
    "chest_imagenome": "dicom_id",
    "vindr_cxr": "image_id",
    "ms_cxr": None,
    "padchest_gr": "image_id",
}


@dataclass
class DataConfig:
    """Build the RadVLM instruction dataset from local dataset roots (``radgrpo data build``)."""

    out: str = "data/radvlm"
    mimic_cxr_root: str | None = None
    chexpert_root: str | None = None
    chexpert_plus_root: str | None = None
    chest_imagenome_root: str | None = None
    vindr_cxr_root: str | None = None
    ms_cxr_root: str | None = None
    padchest_gr_root: str | None = None
    blocks: list[dict] | None = None
    seed: int = 0
    uncertain: str = "positive"
    blank_as_negative: bool = True
    only_frontal: bool = True
    check_images: bool = True
    mimic_reports: str = "auto"
    chexpert_plus_capitalize: bool = False
    vindr_convert: bool = False
    vindr_convert_mode: str = "display"
    vindr_image_size: int = 512
    vindr_iou_thr: float = 0.1
    exports: list[str] = field(default_factory=lambda: ["records", "llava_json", "verl"])
    verl_tasks: list[str] = field(default_factory=lambda: ["report_generation"])
    verl_think_suffix: bool = True
    verl_reasoning: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        bad = [e for e in self.exports if e not in EXPORTS]
        if bad:
            raise ValueError(f"--exports: unknown {bad}; valid: {list(EXPORTS)}")
        if self.uncertain not in ("positive", "negative", "keep"):
            raise ValueError(f"--uncertain must be positive, negative or keep, got {self.uncertain!r}")
        self.resolved_blocks()

    def resolved_blocks(self) -> list[Block]:
        """The mix: ``blocks`` from the config, else RadVLM's (:data:`radgrpo.data.mixture.RADVLM_BLOCKS`)."""
        if self.blocks is None:
            return [Block(**asdict(b)) for b in RADVLM_BLOCKS]
        out = []
        for i, b in enumerate(self.blocks):
            try:
                blk = Block(**b)
            except TypeError as e:
                raise ValueError(
                    f"--blocks[{i}]: {e}; keys: name, source, tasks, repeats, num_samples, splits, as_split"
                ) from None
            if blk.source not in SOURCES:
                raise ValueError(f"--blocks[{i}] {blk.name!r}: unknown source {blk.source!r}; valid: {SOURCES}")
            out.append(blk)
        names = [b.name for b in out]
        if len(set(names)) != len(names):
            raise ValueError(f"--blocks: duplicate block names {names}")
        return out

    def root(self, source: str) -> str | None:
        """The configured root folder of ``source``."""
        return getattr(self, f"{source}_root")


#: Files each source needs under its root (checked by :func:`validate_roots`).
REQUIRED_FILES = {
    "mimic_cxr": [mimic_cxr.METADATA_CSV, mimic_cxr.SPLIT_CSV, mimic_cxr.CHEXPERT_CSV, "files"],
    "chexpert": ["train.csv"],
    "chexpert_plus": [chexpert_plus.CSV_NAME],
    "chest_imagenome": ["silver_dataset/scene_graph", "silver_dataset/splits"],
    "vindr_cxr": [],
    "ms_cxr": [],
    "padchest_gr": [padchest_gr.GROUNDED_JSON, padchest_gr.MASTER_CSV, padchest_gr.PADCHEST_CSV, padchest_gr.IMAGE_DIR],
}


def validate_roots(cfg: DataConfig) -> list[str]:
    """Problems with the configured roots for the sources the blocks use (empty list = ready to build).

    Example:
        >>> validate_roots(DataConfig(blocks=[{"name": "c", "source": "chexpert", "tasks": ["classification"]}]))
        ['chexpert: --chexpert_root is not set (needed by block c)']
    """
    import importlib.util

    problems = []
    if "trl" in cfg.exports and importlib.util.find_spec("radgrpo.data.export.trl") is None:
        problems.append(
            "exports: --exports trl needs radgrpo.data.export.trl (records_to_sft_dataset, "
            "records_to_grpo_dataset), which this checkout lacks"
        )
    blocks = cfg.resolved_blocks()
    needed: dict[str, list[str]] = {}
    for b in blocks:
        needed.setdefault(b.source, []).append(b.name)
        if b.source in ("chest_imagenome",):
            needed.setdefault("mimic_cxr", []).append(b.name)
    for src, users in needed.items():
        root = cfg.root(src)
        if not root:
            problems.append(f"{src}: --{src}_root is not set (needed by block {', '.join(users)})")
            continue
        if not Path(root).is_dir():
            problems.append(f"{src}: {root} is not a folder")
            continue
        for rel in REQUIRED_FILES[src]:
            if rel in ("files", padchest_gr.IMAGE_DIR) and not cfg.check_images:
                continue
            if not (Path(root) / rel).exists():
                problems.append(f"{src}: {Path(root) / rel} is missing")
        if src == "vindr_cxr":
            for b in blocks:
                if b.source == src:
                    for sp in b.splits:
                        if not vindr_cxr.annotations_path(root, sp).is_file():
                            problems.append(f"vindr_cxr: {vindr_cxr.annotations_path(root, sp)} is missing")
                        if not cfg.vindr_convert and cfg.check_images and not (Path(root) / f"{sp}_jpg").is_dir():
                            problems.append(f"vindr_cxr: {Path(root) / f'{sp}_jpg'} is missing (set --vindr_convert)")
        if src == "ms_cxr" and not ms_cxr.csv_path(root).is_file():
            problems.append(f"ms_cxr: no {' or '.join(ms_cxr.CSV_NAMES)} in {root}")
    return sorted(set(problems))


def _source_split(source: str, split: str) -> str:
    """Our split name -> the name the source's reader takes."""
    if source in ("chexpert", "chest_imagenome") and split == "validate":
        return "valid"
    if source == "chexpert_plus":
        return {"validate": "valid"}.get(split, split)
    return split


def iter_source_rows(cfg: DataConfig, block: Block, drops: DropCounter) -> Iterator[RawRow]:
    """Raw rows of one block's source with the config's options.

    Example:
        >>> next(iter_source_rows(DataConfig(), Block("x", "padchest_gr", ["phrase_grounding"]), DropCounter()))
        Traceback (most recent call last):
        ValueError: padchest_gr: --padchest_gr_root is not set
    """
    src = block.source
    root = cfg.root(src)
    if not root:
        raise ValueError(f"{src}: --{src}_root is not set")
    splits = tuple(_source_split(src, s) for s in block.splits)
    ci = cfg.check_images
    if src == "mimic_cxr":
        reports = cfg.mimic_reports if "report_generation" in block.tasks else "none"
        return mimic_cxr.iter_rows(
            root,
            drops,
            splits=splits,
            only_frontal=cfg.only_frontal,
            reports=reports,
            uncertain=cfg.uncertain,
            blank_as_negative=cfg.blank_as_negative,
            check_images=ci,
        )
    if src == "chexpert":
        return chexpert.iter_rows(
            root,
            drops,
            splits=splits,
            only_frontal=cfg.only_frontal,
            uncertain=cfg.uncertain,
            blank_as_negative=cfg.blank_as_negative,
            check_images=ci,
        )
    if src == "chexpert_plus":
        return chexpert_plus.iter_rows(
            root,
            drops,
            splits=splits,
            only_frontal=cfg.only_frontal,
            capitalize=cfg.chexpert_plus_capitalize,
            uncertain=cfg.uncertain,
            blank_as_negative=cfg.blank_as_negative,
            check_images=ci,
            image_root=cfg.chexpert_root,
        )
    if src == "chest_imagenome":
        if not cfg.mimic_cxr_root:
            raise ValueError("chest_imagenome: --mimic_cxr_root is needed (images and Rows/Columns)")
        return chest_imagenome.iter_rows(
            root, cfg.mimic_cxr_root, drops, splits=splits, only_frontal=cfg.only_frontal, check_images=ci
        )
    if src == "vindr_cxr":
        return vindr_cxr.iter_rows(root, drops, splits=splits, iou_thr=cfg.vindr_iou_thr, check_images=ci)
    if src == "ms_cxr":
        return ms_cxr.iter_rows(root, drops, mimic_root=cfg.mimic_cxr_root, splits=tuple(block.splits), check_images=ci)
    return padchest_gr.iter_rows(root, drops, splits=tuple(block.splits), check_images=ci)


def _row_key(source: str, row: RawRow) -> str:
    k = ROW_KEYS[source]
    return f"{row['dicom_id']}/{row['phrase']}" if k is None else str(row[k])


def _to_records(
    source: str,
    row: RawRow,
    tasks: tuple[str, ...],
    seed: int,
    repeat: int,
    drops: DropCounter,
    cfg: DataConfig | None = None,
) -> list[Record]:
    options: dict[str, Any] = {}
    if source == "mimic_cxr" and "conversation" in tasks and cfg is not None and cfg.mimic_cxr_root:
        # RadVLM's layout: conversations/{train,test}/standard/<dicom_id>.json
        conv = Path(cfg.mimic_cxr_root) / "conversations" / ("test" if row["split"] == "test" else "train")
        options["conversation_dir"] = conv / "standard"
    return records_of_row(source, row, tasks, seed=seed, repeat=repeat, drops=drops, **options)


def _fingerprint(cfg: DataConfig, block: Block) -> str:
    opts = {
        k: v
        for k, v in asdict(cfg).items()
        if k not in ("out", "exports", "verl_tasks", "verl_think_suffix", "verl_reasoning", "progress", "blocks")
    }
    return hashlib.sha256(json.dumps([asdict(block), opts], sort_keys=True, default=str).encode()).hexdigest()[:16]


def build_block(cfg: DataConfig, block: Block, shard_dir: Path) -> dict[str, Any]:
    """Write one block's shards (``<block>.<split>.jsonl``) atomically, or reuse them when the fingerprint matches.

    Returns:
        The block's sidecar stats: ``{fingerprint, source, counts: {split: {task: n}}, drops, resumed}``.
    """
    side = shard_dir / f"{block.name}.json"
    fp = _fingerprint(cfg, block)
    if side.is_file():
        prev = json.loads(side.read_text(encoding="utf-8"))
        if prev.get("fingerprint") == fp and all(
            (shard_dir / f"{block.name}.{s}.jsonl").is_file() for s in prev["counts"]
        ):
            prev["resumed"] = True
            return prev
    drops = DropCounter()
    tasks = tuple(block.tasks)
    keep = None
    if block.num_samples is not None:
        keep = select_by_hash(
            (_row_key(block.source, r) for r in iter_source_rows(cfg, block, DropCounter())),
            block.num_samples,
            cfg.seed,
        )
    files: dict[str, Any] = {}
    counts: dict[str, Counter] = {}
    try:
        for k in range(block.repeats):  # re-read the source per repeat: memory stays bounded
            d = drops if k == 0 else DropCounter()
            for row in iter_source_rows(cfg, block, d):
                if keep is not None and _row_key(block.source, row) not in keep:
                    continue
                for rec in _to_records(block.source, row, tasks, cfg.seed, k, d, cfg):
                    _write_rec(rec, block, files, counts, shard_dir)
    finally:
        for f in files.values():
            f.close()
    for split in files:
        tmp = shard_dir / f"{block.name}.{split}.jsonl.tmp"
        os.replace(tmp, shard_dir / f"{block.name}.{split}.jsonl")
    stats = {
        "fingerprint": fp,
        "source": block.source,
        "resumed": False,
        "counts": {s: dict(sorted(c.items())) for s, c in sorted(counts.items())},
        "drops": drops.to_dict(),
    }
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(json.dumps(stats, indent=1), encoding="utf-8")
    os.replace(tmp, side)
    return stats


def _write_rec(rec: Record, block: Block, files: dict, counts: dict, shard_dir: Path) -> None:
    if block.as_split:
        rec.split = block.as_split
    rec.meta["block"] = block.name
    f = files.get(rec.split)
    if f is None:
        f = files[rec.split] = open(shard_dir / f"{block.name}.{rec.split}.jsonl.tmp", "w", encoding="utf-8")
        counts[rec.split] = Counter()
    f.write(json.dumps(rec.to_dict(), ensure_ascii=False) + "\n")
    counts[rec.split][rec.task.value] += 1


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        yield from f


def mix_split(
    shards: list[tuple[Path, int]],
    dst: Path,
    seed: int,
    patients: dict[str, str],
    split: str,
    leaks: dict[str, set[str]],
) -> int:
    """Interleave shard lines into ``dst`` (atomic) with a seeded order.

    ``patients`` maps ``source/patient`` to the first split it was seen in (a plain string keeps memory small);
    a patient met in another split is added to ``leaks`` with all its splits.

    Returns:
        The number of records written.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for line in interleave([_lines(p) for p, _ in shards], [k for _, k in shards], seed):
            d = json.loads(line)
            if d.get("patient_id") is not None:
                key = f"{d['source']}/{d['patient_id']}"
                first = patients.setdefault(key, split)
                if first != split:
                    leaks.setdefault(key, {first}).add(split)
            f.write(line)
            n += 1
    os.replace(tmp, dst)
    return n


def build_dataset(cfg: DataConfig) -> dict[str, Any]:
    """Build, mix, split and export the instruction dataset described by ``cfg``.

    Args:
        cfg: the :class:`DataConfig`.

    Returns:
        The statistics dict also saved as ``<out>/stats.json``: ``blocks`` (per block: source, counts per split
        and task, drops with reasons and examples, resumed flag), ``splits`` (records per split), ``table`` (records
        per source × task), ``patients_in_several_splits`` (count and examples), ``exports`` and ``seconds``.

    Raises:
        ValueError: listing every problem :func:`validate_roots` finds, before any work.
        radgrpo.errors.UserPathError: ``out`` (or a folder above it) is a file.

    Example:
        >>> build_dataset(DataConfig(out="/tmp/x", blocks=[{"name": "c", "source": "chexpert",
        ...                          "tasks": ["classification"]}]))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: dataset roots are not ready: ...
    """
    from radgrpo.config import save_config

    t0 = time.perf_counter()
    problems = validate_roots(cfg)
    if problems:
        raise ValueError("dataset roots are not ready:\n  " + "\n  ".join(problems))
    out = check_path(cfg.out, "--out", kind="out")
    shard_dir = out / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out)
    blocks = cfg.resolved_blocks()
    if cfg.vindr_convert and cfg.vindr_cxr_root:  # validate_roots has checked the root is set
        for sp in sorted({s for b in blocks if b.source == "vindr_cxr" for s in b.splits}):
            d = DropCounter()
            vindr_cxr.convert_images(cfg.vindr_cxr_root, sp, d, mode=cfg.vindr_convert_mode, size=cfg.vindr_image_size)
    block_stats = {}
    for b in blocks:
        t = time.perf_counter()
        block_stats[b.name] = build_block(cfg, b, shard_dir)
        block_stats[b.name]["seconds"] = round(time.perf_counter() - t, 2)
        if cfg.progress:
            n = sum(sum(c.values()) for c in block_stats[b.name]["counts"].values())
            print(
                f"[data build] {b.name}: {n} records{' (resumed)' if block_stats[b.name]['resumed'] else ''}",
                flush=True,
            )
    splits = sorted({s for st in block_stats.values() for s in st["counts"]})
    patients: dict[str, str] = {}
    leak_sets: dict[str, set[str]] = {}
    split_counts = {}
    for i, sp in enumerate(splits):
        shards = [
            (shard_dir / f"{name}.{sp}.jsonl", sum(st["counts"][sp].values()))
            for name, st in block_stats.items()
            if sp in st["counts"]
        ]
        split_counts[sp] = mix_split(shards, out / "records" / f"{sp}.jsonl", cfg.seed + i, patients, sp, leak_sets)
    del patients
    leaks = {k: sorted(v) for k, v in leak_sets.items()}
    exports = _export(cfg, out, splits)
    table: dict[str, Counter] = {}
    for st in block_stats.values():
        for c in st["counts"].values():
            table.setdefault(st["source"], Counter()).update(c)
    stats = {
        "blocks": block_stats,
        "splits": split_counts,
        "table": {s: dict(sorted(c.items())) for s, c in sorted(table.items())},
        "patients_in_several_splits": {"count": len(leaks), "examples": dict(list(leaks.items())[:5])},
        "exports": exports,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    tmp = out / "stats.json.tmp"
    tmp.write_text(json.dumps(stats, indent=1), encoding="utf-8")
    os.replace(tmp, out / "stats.json")
    return stats


def _export(cfg: DataConfig, out: Path, splits: list[str]) -> dict[str, Any]:
    from radgrpo.records import iter_jsonl

    done: dict[str, Any] = {}
    if "llava_json" in cfg.exports:
        from radgrpo.data.export.llava_json import write_dataset_info, write_llava_json

        # source image paths are as the roots were given: relative ones start from the current folder
        done["llava_json"] = {
            sp: write_llava_json(
                iter_jsonl(out / "records" / f"{sp}.jsonl"),
                out / "llava" / f"{sp}.json",
                base=Path.cwd(),
                check_images=cfg.check_images,
            )
            for sp in splits
        }
        write_dataset_info(out / "llava" / "dataset_info.json", "radvlm_train", "train.json")
    if "verl" in cfg.exports and "train" in splits:
        from radgrpo.data.export.verl import write_verl, write_verl_run_script

        train = (r for r in iter_jsonl(out / "records" / "train.jsonl") if r.task.value in cfg.verl_tasks)
        done["verl"] = write_verl(
            train,
            out / "verl",
            think_suffix=cfg.verl_think_suffix,
            reasoning=cfg.verl_reasoning,
            base=Path.cwd(),
            check_images=cfg.check_images,
        )
        write_verl_run_script(out / "verl", cfg.verl_tasks)  # verl/verl_run.sh: docs/training.md#verl
    if "trl" in cfg.exports:
        from radgrpo.data.export.trl import records_to_grpo_dataset, records_to_sft_dataset, save_dataset

        done["trl"] = {}
        for sp in splits:  # datasets builds each split in memory (Arrow); use records/<split>.jsonl for huge sets
            recs = list(iter_jsonl(out / "records" / f"{sp}.jsonl"))
            save_dataset(records_to_sft_dataset(recs), out / "trl" / "sft" / sp)
            save_dataset(records_to_grpo_dataset(recs), out / "trl" / "grpo" / sp)
            done["trl"][sp] = len(recs)
    return done
