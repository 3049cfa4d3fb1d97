"""User errors: the input or the set-up is wrong, not radgrpo.

Every project exception that means "fix your flag, file, folder, model or endpoint" derives from
:class:`RadgrpoUserError` (and keeps its older base, e.g. ``ValueError``). The ``radgrpo`` command line catches
this one class and prints ``radgrpo <command>: <message>`` in one line, exit code 2; any other exception is a bug and
keeps its traceback. So paths the user gives are checked up front, where the config is validated
(:func:`check_path`), never left to fail as a bare ``FileNotFoundError`` deep inside.

Example:
    >>> class ShapeError(RadgrpoUserError, ValueError):
    ...     '''An image that is not 2-D.'''
    >>> try:
    ...     raise ShapeError("--image x.png: expected a 2-D image, got 3-D")
    ... except RadgrpoUserError as e:
    ...     print(e)
    --image x.png: expected a 2-D image, got 3-D
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

__all__ = ["RadgrpoUserError", "UserPathError", "check_path"]


class RadgrpoUserError(Exception):
    """The base of every user error: a message written for the user (the CLI prints it in one line and exits 2).

    Subclasses keep the built-in base that says what went wrong (``class ConfigError(RadgrpoUserError,
    ValueError)``), so ``except ValueError`` still catches them.
    """


class UserPathError(RadgrpoUserError, FileNotFoundError):
    """A path the user gave (a flag or a YAML key) that does not exist or is not the kind expected (a file or a
    folder). A ``FileNotFoundError`` too; ``str(e)`` is the message.

    Example:
        >>> str(UserPathError("--train_file t.jsonl does not exist"))
        '--train_file t.jsonl does not exist'
    """


def check_path(
    path: str | os.PathLike,
    flag: str,
    kind: Literal["file", "dir", "any", "out"] = "file",
    what: str = "",
) -> Path:
    """``path`` as a ``Path`` when it exists and is of ``kind`` (an output folder: when it is not a file), else a
    one-line :class:`UserPathError`.

    Args:
        path: the path as the user gave it.
        flag: how the user named it, for the message (``"--train_file"``).
        kind: ``"file"``, ``"dir"`` (a folder), ``"any"``, or ``"out"``: an output folder, which may not exist yet
            but must not be a file (nor have a file among its parents).
        what: what the path should hold, added to the message in brackets (``"a records JSONL"``).
    Raises:
        UserPathError: ``"<flag> <path> does not exist"``, ``"... is a folder, not a file"`` or
            ``"... is a file, not a folder"`` (for ``"out"``: ``"<flag> <path>: <parent> is a file, not a folder"``
            when a parent is).

    Example:
        >>> check_path(".", "--root", kind="dir").is_dir()
        True
        >>> check_path("runs/new", "--out", kind="out").name  # an output folder may not exist yet
        'new'
        >>> check_path("no/such.jsonl", "--train_file", what="a records JSONL")
        Traceback (most recent call last):
        ...
        radgrpo.errors.UserPathError: --train_file no/such.jsonl does not exist (a records JSONL)
    """
    p = Path(path)
    hint = f" ({what})" if what else ""
    if kind == "out":
        for q in (p, *p.parents):
            if q.exists() and not q.is_dir():
                where = "" if q == p else f": {q}"
                raise UserPathError(f"{flag} {path}{where} is a file, not a folder{hint}")
        return p
    if not p.exists():
        raise UserPathError(f"{flag} {path} does not exist{hint}")
    if kind == "file" and p.is_dir():
        raise UserPathError(f"{flag} {path} is a folder, not a file{hint}")
    if kind == "dir" and not p.is_dir():
        raise UserPathError(f"{flag} {path} is a file, not a folder{hint}")
    return p
