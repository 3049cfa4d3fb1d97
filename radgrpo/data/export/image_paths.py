"""Image paths of exported rows: resolved against the records file's folder, and checked to exist.

What it is: the rule the LLaVA JSON and verl exporters share (docs/data.md#export-formats). A record's ``image`` is
absolute, or relative to the folder of the records file it was read from. The exporters write absolute paths, so a
relative path needs that folder (``base``); without it the path is an error, never silently resolved against the
current folder. Every exported image must exist: trainers that read these files drop or crash on a missing image
far from its cause (verl filters the unreadable rows away without a word), so the exporters count the missing ones
and raise one error naming the first and the count. What it is not: an image reader (nothing is opened).

Example:
    >>> from radgrpo.records import Record
    >>> str(resolve_image(Record("r", "images/a.png", "report_generation", "Q", "A"), "/data/synth"))
    '/data/synth/images/a.png'
    >>> check = ImageCheck("verl export", base="/data/synth")
    >>> check.add(Path("/nonexistent/a.png"), "r")
    >>> check.raise_if_missing()
    Traceback (most recent call last):
    ...
    ValueError: verl export: 1 of 1 images do not exist; first missing: /nonexistent/a.png (record 'r'); relative paths were resolved against /data/synth
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from radgrpo.records import Record, iter_jsonl

#: what the exporters take as ``records``: records, or the path of a records JSONL file
RecordsArg = Iterable[Record] | str | os.PathLike


def records_and_base(
    records: RecordsArg, base: str | os.PathLike | None
) -> tuple[Iterable[Record], str | os.PathLike | None]:
    """The records to export and the folder their relative image paths start from.

    Args:
        records: records, or the path of a records JSONL file (streamed).
        base: the folder for relative image paths; ``None`` with a file path = that file's folder.
    Returns:
        ``(records, base)``.

    Example:
        >>> records_and_base("/data/synth/train.jsonl", None)[1]
        PosixPath('/data/synth')
    """
    if isinstance(records, (str, os.PathLike)):
        path = Path(records)
        return iter_jsonl(path), (base if base is not None else path.parent)
    return records, base


def resolve_image(record: Record, base: str | os.PathLike | None) -> Path:
    """The record's image as an absolute path.

    Args:
        record: the record.
        base: the folder a relative ``record.image`` starts from (the records file's folder).
    Returns:
        ``record.image`` when it is absolute, else ``base / record.image`` made absolute.
    Raises:
        ValueError: a relative path and no ``base``.
    """
    p = Path(record.image)
    if p.is_absolute():
        return p
    if base is None:
        raise ValueError(
            f"record {record.id!r}: image path {record.image!r} is relative and no base folder was given; "
            f"pass base= (the folder of the records file) or the records file's path"
        )
    return (Path(base) / p).resolve()


class ImageCheck:
    """Counts exported images that do not exist, to raise once with the first one and the count.

    Args:
        what: the export's name, the start of the error message.
        base: the folder relative paths were resolved against (named in the message).
    """

    def __init__(self, what: str, base: str | os.PathLike | None = None) -> None:
        self.what = what
        self.base = base
        self.n = 0
        self.n_missing = 0
        self.first: tuple[Path, str] | None = None

    def add(self, path: Path, record_id: str) -> None:
        """Count one exported image (``path`` absolute), checking that it is a file."""
        self.n += 1
        if not path.is_file():
            self.n_missing += 1
            if self.first is None:
                self.first = (path, record_id)

    def raise_if_missing(self) -> None:
        """Raise when any counted image is missing.

        Raises:
            ValueError: ``"<what>: K of N images do not exist; first missing: PATH (record ID)..."``.
        """
        if self.first is None:
            return
        path, rid = self.first
        where = f"; relative paths were resolved against {self.base}" if self.base is not None else ""
        raise ValueError(
            f"{self.what}: {self.n_missing} of {self.n} images do not exist; first missing: {path} "
            f"(record {rid!r}){where}"
        )
