"""Deterministic mixing: per-block sampling caps, repetition, patient-level splits, a seeded shard interleave.

What it is: the pieces ``build_dataset`` uses to reproduce RadVLM's mix (docs/data.md#instruction-mix) without holding
the dataset in memory: :class:`Block` (one id prefix: a source, its tasks, a repetition factor and an optional
``num_samples`` cap), :func:`select_by_hash` (a seeded, order-independent choice of ``k`` keys), :func:`assign_split`
(hash-based patient-level split for sources without an official one), :func:`interleave` (streams several shards into
one seeded random order, each shard's own order kept) and :func:`patients_in_several_splits` (the leak check).
What it is not: a trainer-side sampler; trainers shuffle again.

Differences from RadVLM, on purpose: RadVLM shuffles each block with 128 DataLoader workers (not reproducible) and
re-draws Chest ImaGenome regions at every access; here every choice is a function of (seed, key) only.

Example:
    >>> assign_split("p10000032", {"train": 0.8, "test": 0.2}, seed=0) in ("train", "test")
    True
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from radgrpo.records import Record

T = TypeVar("T")


@dataclass
class Block:
    """One block of the instruction mix (a RadVLM ``id_prefix``).

    Args:
        name: id prefix, e.g. ``"vindr-cxr-mono-train"``; LLaVA ids are ``f"{name}_{index}"``.
        source: source module name (``mimic_cxr``, ``chexpert``, ``chexpert_plus``, ``chest_imagenome``,
            ``vindr_cxr``, ``ms_cxr``, ``padchest_gr``).
        tasks: task values to build from each raw row.
        repeats: how many times the block is repeated (templates and regions re-drawn per repeat).
        num_samples: keep only this many raw rows (seeded choice), or all when None.
        splits: the source's split names to read (our names: train / validate / test).
        as_split: put every record of the block in this split (RadVLM trains MS-CXR and PadChest-GR on
            train + validation); None keeps each record's own split.
    """

    name: str
    source: str
    tasks: list[str]
    repeats: int = 1
    num_samples: int | None = None
    splits: list[str] = field(default_factory=lambda: ["train"])
    as_split: str | None = None

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError(f"block {self.name!r}: repeats must be >= 1, got {self.repeats}")
        if self.num_samples is not None and self.num_samples < 0:
            raise ValueError(f"block {self.name!r}: num_samples must be >= 0, got {self.num_samples}")


def key_hash(seed: int, key: str) -> int:
    """A stable 64-bit hash of (seed, key).

    Example:
        >>> key_hash(0, "a") == key_hash(0, "a") != key_hash(1, "a")
        True
    """
    return int.from_bytes(hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest(), "little")


def select_by_hash(keys: Iterable[str], k: int, seed: int) -> set[str]:
    """The ``k`` keys with the smallest seeded hash: a uniform sample that does not depend on the keys' order.

    Memory is O(k). Duplicate keys count once.

    Example:
        >>> s = select_by_hash([str(i) for i in range(100)], 10, seed=0)
        >>> len(s), s == select_by_hash([str(i) for i in reversed(range(100))], 10, seed=0)
        (10, True)
    """
    return {key for _, key in heapq.nsmallest(k, ((key_hash(seed, x), x) for x in set(keys)))}


def assign_split(patient_id: str, fractions: dict[str, float], seed: int = 0) -> str:
    """Patient-level split by hashing the patient id (every image of a patient lands in the same split).

    Args:
        patient_id: the patient key.
        fractions: split name -> fraction (summing to 1), in a fixed order.
        seed: changes the assignment.

    Returns:
        The split name.

    Example:
        >>> {assign_split("p1", {"train": 1.0})}
        {'train'}
    """
    total = sum(fractions.values())
    if not fractions or abs(total - 1.0) > 1e-6 or any(v < 0 for v in fractions.values()):
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    u = key_hash(seed, f"split/{patient_id}") / 2.0**64
    acc = 0.0
    for name, frac in fractions.items():
        acc += frac
        if u < acc:
            return name
    return next(reversed(fractions))


def interleave(streams: list[Iterator[T]], sizes: list[int], seed: int) -> Iterator[T]:
    """Merge streams into one seeded random order, drawing each next item with probability ∝ items left.

    Every interleaving is equally likely; each stream's own order is kept; memory is O(number of streams).

    Args:
        streams: iterators (e.g. JSONL shard readers).
        sizes: exact lengths of the streams.
        seed: RNG seed.

    Returns:
        Iterator over all items.

    Example:
        >>> out = list(interleave([iter("aaa"), iter("bb")], [3, 2], seed=0))
        >>> sorted(out), out == list(interleave([iter("aaa"), iter("bb")], [3, 2], seed=0))
        (['a', 'a', 'a', 'b', 'b'], True)
    """
    if len(streams) != len(sizes):
        raise ValueError(f"{len(streams)} streams but {len(sizes)} sizes")
    rng = random.Random(seed)
    left = list(sizes)
    remaining = sum(left)
    while remaining:
        u = rng.randrange(remaining)
        i = 0
        while u >= left[i]:
            u -= left[i]
            i += 1
        try:
            item = next(streams[i])
        except StopIteration:
            raise ValueError(f"stream {i} ended early: expected {sizes[i]} items") from None
        left[i] -= 1
        remaining -= 1
        yield item


def patients_in_several_splits(records: Iterable[Record]) -> dict[str, list[str]]:
    """``(source, patient) -> splits`` for patients that appear in more than one split (should be empty).

    Example:
        >>> from radgrpo.records import Record
        >>> rs = [Record("a", "x", "classification", "q", "a", source="s", split=sp, patient_id="p1")
        ...       for sp in ("train", "test")]
        >>> patients_in_several_splits(rs)
        {'s/p1': ['test', 'train']}
    """
    seen: dict[str, set[str]] = {}
    for r in records:
        if r.patient_id is not None:
            seen.setdefault(f"{r.source}/{r.patient_id}", set()).add(r.split)
    return {k: sorted(v) for k, v in seen.items() if len(v) > 1}


#: RadVLM's SFT mix (docs/data.md#instruction-mix): id prefix, source, tasks, repeats, num_samples. Conversations
#: are opt-in.
RADVLM_BLOCKS: tuple[Block, ...] = (
    Block("vindr-cxr-train", "vindr_cxr", ["detection"], repeats=2),
    Block("vindr-cxr-mono-train", "vindr_cxr", ["abnormality_grounding"], repeats=3),
    Block("mscxr-train", "ms_cxr", ["phrase_grounding"], repeats=3, splits=["train", "validate"], as_split="train"),
    Block(
        "padchest-train", "padchest_gr", ["phrase_grounding"], repeats=2, splits=["train", "validate"], as_split="train"
    ),
    Block("mimic-train", "mimic_cxr", ["report_generation"]),
    Block("chexpertplus-train", "chexpert_plus", ["report_generation"]),
    Block("chestima-train", "chest_imagenome", ["anatomical_grounding"], num_samples=80000),
    Block("mimic-labels-train", "mimic_cxr", ["classification"]),
    Block("chexpert-train", "chexpert", ["classification"]),
)
