"""Checks of the reward service's HTTP requests: pure functions, no Ray, no web framework.

What it is: every rule that turns a bad request into a 4xx answer ``{"error": "<one line>"}`` before anything is
scored (docs/rewards.md#reward-service): the body size (413), UTF-8 and JSON (400; ``NaN``/``Infinity`` are not
JSON), the shape of ``POST /rewards/{name}`` (400: ``completions`` a list of strings or message lists, every other
key a column with one value per completion, known columns of the right type), the item limit (413), the bearer token
(401) and unknown reward names (404, naming the nearest served one). What it is not: scoring
(:mod:`radgrpo.serve.scoring`) or the HTTP app (:mod:`radgrpo.serve.app`), which maps :class:`RequestError` to its
status code.

Example:
    >>> req = parse_score_request(b'{"completions": ["[0, 0, 1, 1]"], "reference_boxes": [[[0, 0, 1, 1]]]}')
    >>> req.completions, req.columns
    (['[0, 0, 1, 1]'], {'reference_boxes': [[[0, 0, 1, 1]]]})
    >>> try:
    ...     parse_score_request(b'{"completions": ["a", "b"], "task": ["report_generation"]}')
    ... except RequestError as e:
    ...     print(e.status, e)
    400 column 'task' has 1 values for 2 completions
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from radgrpo.config import closest
from radgrpo.errors import RadgrpoUserError
from radgrpo.records import Task

__all__ = [
    "RequestError",
    "ScoreRequest",
    "check_body_size",
    "check_bearer",
    "parse_score_request",
    "token_digest",
    "unknown_reward",
]

#: default limits (``ServeConfig.max_items``, ``ServeConfig.max_body_bytes``)
MAX_ITEMS = 4096
MAX_BODY_BYTES = 8 * 1024 * 1024
_TASKS = tuple(t.value for t in Task)


class RequestError(RadgrpoUserError, ValueError):
    """A request the service refuses: ``status`` (4xx) and a one-line message (``str(e)``).

    Example:
        >>> e = RequestError(413, "body of 9 bytes is over the limit of 8 bytes")
        >>> e.status, e.answer()
        (413, {'error': 'body of 9 bytes is over the limit of 8 bytes'})
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
        self.status = int(status)

    def answer(self) -> dict[str, str]:
        """The JSON body of the answer."""
        return {"error": str(self)}


@dataclass
class ScoreRequest:
    """A checked ``POST /rewards/{name}`` body: the completions and the columns (one value per completion).

    ``to_dict()`` is what travels to a reward replica; ``columns`` never holds ``completions`` and never a column
    that was ``null`` as a whole (an absent column, as in TRL).
    """

    completions: list[Any]
    columns: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.completions)

    def to_dict(self) -> dict[str, Any]:
        """``{"completions": [...], "columns": {...}}`` (plain, picklable)."""
        return {"completions": self.completions, "columns": self.columns}


def token_digest(token: str) -> str:
    """SHA-256 hex digest of a bearer token: what the service keeps instead of the token itself.

    Example:
        >>> token_digest("secret")[:12]
        '2bb80d537b1d'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_bearer(authorization: str | None, digest: str | None) -> None:
    """Check an ``Authorization: Bearer <token>`` header against the token's :func:`token_digest`.

    Args:
        authorization: the header value (``None`` when absent).
        digest: the expected digest; ``None`` = the service takes no token (nothing checked).
    Raises:
        RequestError: 401, a missing, malformed or wrong token.

    Example:
        >>> check_bearer("Bearer secret", token_digest("secret"))  # accepted
        >>> check_bearer(None, token_digest("secret"))
        Traceback (most recent call last):
        ...
        radgrpo.serve.requests.RequestError: missing bearer token (send 'Authorization: Bearer <token>')
    """
    if digest is None:
        return
    if not authorization:
        raise RequestError(401, "missing bearer token (send 'Authorization: Bearer <token>')")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RequestError(401, "malformed Authorization header (expected 'Bearer <token>')")
    if not hmac.compare_digest(token_digest(token.strip()), digest):
        raise RequestError(401, "invalid bearer token")


def check_body_size(n_bytes: int | str | None, max_body_bytes: int = MAX_BODY_BYTES) -> None:
    """Refuse a body (or a ``Content-Length`` header value) over ``max_body_bytes`` bytes.

    Raises:
        RequestError: 413 over the limit; 400 a ``Content-Length`` that is not a non-negative integer.

    Example:
        >>> check_body_size("10", max_body_bytes=8)
        Traceback (most recent call last):
        ...
        radgrpo.serve.requests.RequestError: body of 10 bytes is over the limit of 8 bytes
    """
    if n_bytes is None:
        return
    try:
        n = int(n_bytes)
    except ValueError:
        raise RequestError(400, f"invalid Content-Length {n_bytes!r}") from None
    if n < 0:
        raise RequestError(400, f"invalid Content-Length {n_bytes!r}")
    if n > max_body_bytes:
        raise RequestError(413, f"body of {n} bytes is over the limit of {max_body_bytes} bytes")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """The JSON value of a UTF-8 body (strict: no ``NaN``/``Infinity``).

    Raises:
        RequestError: 400, not UTF-8 or not JSON.

    Example:
        >>> parse_json(b'{"a": [1, 2]}')
        {'a': [1, 2]}
        >>> parse_json(b"\\xff")
        Traceback (most recent call last):
        ...
        radgrpo.serve.requests.RequestError: body is not UTF-8 text (invalid byte at position 0)
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"body is not UTF-8 text (invalid byte at position {e.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise RequestError(400, "invalid JSON: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError and the NaN/Infinity refusal
        raise RequestError(400, f"invalid JSON: {e}") from None


def _check_completion(i: int, c: Any) -> None:
    if isinstance(c, str):
        return
    if not isinstance(c, list):
        raise RequestError(
            400, f"completions[{i}] must be a string or a list of messages, got {type(c).__name__} {_short(c)}"
        )
    for j, msg in enumerate(c):
        where = f"completions[{i}][{j}]"
        if not isinstance(msg, dict):
            raise RequestError(400, f"{where} must be a message object, got {type(msg).__name__}")
        if not isinstance(msg.get("role", "assistant"), str):
            raise RequestError(400, f"{where}.role must be a string")
        content = msg.get("content")
        if isinstance(content, list):
            if not all(isinstance(p, dict) for p in content):
                raise RequestError(400, f"{where}.content parts must be objects like {{'type': 'text', 'text': ...}}")
        elif content is not None and not isinstance(content, str):
            raise RequestError(
                400, f"{where}.content must be a string or a list of parts, got {type(content).__name__}"
            )


def _short(v: Any, n: int = 40) -> str:
    s = json.dumps(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _check_value(name: str, i: int, v: Any) -> None:
    """Type rules of the columns radgrpo's rewards read (others may hold any JSON value)."""
    if v is None:
        return
    where = f"{name}[{i}]"
    if name == "task":
        if not isinstance(v, str) or v not in _TASKS:
            near = closest(str(v), _TASKS)
            hint = f"; did you mean {near!r}?" if near else f" (valid: {', '.join(_TASKS)})"
            raise RequestError(400, f"{where}: unknown task {_short(v)}{hint}")
    elif name == "thinking":
        if not isinstance(v, bool):
            raise RequestError(400, f"{where} must be true, false or null, got {_short(v)}")
    elif name == "reference_report":
        if not isinstance(v, str):
            raise RequestError(400, f"{where} must be a string or null, got {type(v).__name__}")
    elif name == "reference_boxes" and not isinstance(v, (str, list)):
        raise RequestError(
            400, f"{where} must be a list of [x1, y1, x2, y2] boxes, one box, a string or null, got {_short(v)}"
        )


def parse_score_request(
    body: bytes | str | dict[str, Any], max_items: int = MAX_ITEMS, max_body_bytes: int = MAX_BODY_BYTES
) -> ScoreRequest:
    """Check a ``POST /rewards/{name}`` body and return it as a :class:`ScoreRequest`.

    The body is ``{"completions": [...], COLUMN: [...], ...}``: ``completions`` strings or conversational message
    lists; every other key a dataset column as TRL passes it, a list with one value per completion (a column that is
    ``null`` as a whole counts as absent). ``task`` values must be task names, ``thinking`` booleans,
    ``reference_report`` strings, ``reference_boxes`` lists or strings (``null`` allowed in each: the reward then
    decides, e.g. a grounding sample without boxes fails).

    Args:
        body: raw bytes (or already decoded text / JSON object).
        max_items: most completions accepted.
        max_body_bytes: largest body accepted, in bytes.
    Returns:
        the checked request.
    Raises:
        RequestError: 413 (body or item count over the limit) or 400 (anything else), with a one-line message.

    Example:
        >>> parse_score_request({"completions": ["a"] * 3}, max_items=2)
        Traceback (most recent call last):
        ...
        radgrpo.serve.requests.RequestError: 3 completions is over the limit of 2 per request
        >>> parse_score_request({"completions": ["a"], "reference_report": None}).columns  # a null column is absent
        {}
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, bytes):
        check_body_size(len(body), max_body_bytes)
        data = parse_json(body)
    else:
        data = body
    if not isinstance(data, dict):
        raise RequestError(400, f"the body must be a JSON object {{'completions': [...], ...}}, got {_short(data)}")
    if "completions" not in data:
        raise RequestError(400, f"missing 'completions' (a list of strings); got keys {sorted(data)}")
    completions = data["completions"]
    if not isinstance(completions, list):
        raise RequestError(400, f"'completions' must be a list, got {type(completions).__name__}")
    n = len(completions)
    if n > max_items:
        raise RequestError(413, f"{n} completions is over the limit of {max_items} per request")
    for i, c in enumerate(completions):
        _check_completion(i, c)
    columns: dict[str, list[Any]] = {}
    for name, values in data.items():
        if name == "completions" or values is None:
            continue
        if not isinstance(values, list):
            raise RequestError(
                400, f"column {name!r} must be a list with one value per completion, got {type(values).__name__}"
            )
        if len(values) != n:
            raise RequestError(400, f"column {name!r} has {len(values)} values for {n} completions")
        for i, v in enumerate(values):
            _check_value(name, i, v)
        columns[name] = values
    return ScoreRequest(completions, columns)


def unknown_reward(name: str, served: list[str]) -> RequestError:
    """The 404 for ``POST /rewards/<name>`` when ``name`` is not served, naming the nearest served reward.

    Example:
        >>> print(unknown_reward("bleu", ["bleu4", "grounding_soft_f1"]))
        unknown reward 'bleu'; did you mean 'bleu4'? (served: bleu4, grounding_soft_f1)
    """
    near = closest(name, served)
    hint = f"; did you mean {near!r}?" if near else ""
    return RequestError(404, f"unknown reward {name!r}{hint} (served: {', '.join(served)})")
