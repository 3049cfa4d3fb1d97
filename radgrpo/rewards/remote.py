"""A reward scored by a reward service over HTTP: :class:`RemoteReward` (docs/rewards.md#remote-rewards).

What it is: a TRL reward callable, like the in-process rewards (it subclasses :class:`radgrpo.rewards.base.Reward`,
so it has the same ``n_failed`` / ``n_scored`` counters, the same per-batch failure warning and the same component
logging through TRL's ``log_metric`` / ``log_extra``), that sends each step's batch to ``POST {url}/rewards/{name}``
of a reward service and returns the service's values in request order. The service's JSON contract is:
request ``{"completions": [str, ...], COLUMN: [one value per completion], ...}``; answer ``200 {"rewards": [float |
null, ...], "components": {NAME: [float | null, ...]}, "status": ["ok" | "not_applicable" | "failed", ...],
"n_failed": int}``, or ``4xx {"error": "one line"}``. What it is not: a server (the client imports nothing of
``radgrpo.serve``) and not a scorer (the values are whatever the service's reward computes).

Transport: a batch is split into requests, in order, so that none holds more than ``chunk_size`` items or more
bytes than the service accepts. The limits come from the service's ``GET {url}/rewards`` (``max_items``,
``max_body_bytes``; the smallest over the URLs that answer, asked once), with :data:`DEFAULT_MAX_BODY_BYTES` when
no URL advertises a body limit; ``max_body_bytes=`` lowers it further. Each item (its completion text and its column
values) is JSON-encoded once, the request body is put together from those pieces (byte for byte
``json.dumps(payload)``), and :func:`pack_requests` fills each request greedily. An item too large to go even alone
is not sent: it fails (``None``, counted in ``n_failed``) with an error giving its size and the limit. Connection
errors, timeouts, ``5xx``, ``408``, ``429`` and malformed answers are retried up to ``retries`` times; each failed
attempt moves to the next URL (the first URL of a request goes round-robin over ``urls``), at once when that URL has
not been tried for this request yet, else after an exponential wait ``backoff_s * 2**k`` (k = 0, 1, ...). Items of a
request that still fails get ``None`` and are counted in ``n_failed`` (a ``not_applicable`` item is ``None`` too, but
never counted). Any other ``4xx`` is a bug in the request or the setup (unknown reward name, bad token, a request
over limits the service did not advertise): it raises :class:`RemoteRewardError` with the status and the service's
message, without retrying.

Example:
    >>> r = RemoteReward("radcliq", "http://rewards-a:8000,http://rewards-b:8000/", timeout_s=120)
    >>> r.__name__, r.urls
    ('radcliq', ('http://rewards-a:8000', 'http://rewards-b:8000'))
    >>> parse_remote_spec("remote:radcliq@http://a:8000,http://b:8000")
    ('radcliq', ('http://a:8000', 'http://b:8000'))
"""

from __future__ import annotations

import enum
import json
import math
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from radgrpo.config import ConfigError
from radgrpo.errors import RadgrpoUserError
from radgrpo.rewards.base import TRL_NON_COLUMNS, Reward, column, completion_text, logger
from radgrpo.rewards.composite import RewardBreakdown

if TYPE_CHECKING:
    import httpx

#: prefix of a remote reward in ``reward_funcs`` / :func:`radgrpo.rewards.get_reward`
REMOTE_PREFIX = "remote:"
#: the form :func:`parse_remote_spec` reads (what ``radgrpo rewards list`` shows)
REMOTE_FORM = "remote:NAME@URL[,URL]"
#: environment variable read for the bearer token when ``api_key_env`` is not given (no header when it is unset)
DEFAULT_API_KEY_ENV = "RADGRPO_REWARD_API_KEY"
#: keyword arguments that are never sent: TRL's extras and the image/prompt columns (the service scores text)
SKIPPED_COLUMNS = TRL_NON_COLUMNS | {"prompt", "images", "image"}
#: 4xx answers that are retried like a 5xx (the service is busy, not the request wrong)
RETRY_4XX = frozenset({408, 429})
#: body limit used when no URL advertises ``max_body_bytes`` on ``GET /rewards``: the service's default
#: (``radgrpo.serve.config.ServeConfig.max_body_bytes``, not imported: the client does not depend on the server)
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


class RemoteRewardError(RadgrpoUserError, RuntimeError):
    """The reward service rejected the request (a ``4xx`` other than 408/429): a bug in the request or the setup."""


class _AttemptFailed(Exception):
    """One HTTP attempt failed in a way worth retrying (connection, timeout, 5xx, malformed answer)."""


def parse_remote_spec(spec: str) -> tuple[str, tuple[str, ...]]:
    """``(name, urls)`` of ``"remote:NAME@URL[,URL...]"``.

    Args:
        spec: the reward spec, e.g. ``"remote:radcliq@http://a:8000,http://b:8000"``.
    Returns:
        the service's reward name and the URLs (trailing ``/`` dropped).
    Raises:
        ConfigError: not of that form, an empty name, or a URL that is not ``http(s)://host[:port]``.

    Example:
        >>> parse_remote_spec("remote:bleu4@https://rewards.example.org/")
        ('bleu4', ('https://rewards.example.org',))
        >>> parse_remote_spec("remote:bleu4")
        Traceback (most recent call last):
        ...
        radgrpo.config.ConfigError: a remote reward is written remote:NAME@URL[,URL], got 'remote:bleu4'
    """
    body = spec[len(REMOTE_PREFIX) :] if spec.startswith(REMOTE_PREFIX) else None
    if body is None or "@" not in body:
        raise ConfigError(f"a remote reward is written {REMOTE_FORM}, got {spec!r}")
    name, urls = body.split("@", 1)
    return name, _check_urls(urls, spec)


def _check_urls(urls: str | Sequence[str], where: str) -> tuple[str, ...]:
    items = urls.split(",") if isinstance(urls, str) else list(urls)
    out = tuple(str(u).strip().rstrip("/") for u in items if str(u).strip())
    if not out:
        raise ConfigError(f"a remote reward needs at least one URL ({REMOTE_FORM}), got {where!r}")
    for u in out:
        if not u.startswith(("http://", "https://")) or len(u.split("://", 1)[1]) == 0:
            raise ConfigError(f"reward service URL must start with http:// or https://, got {u!r} in {where!r}")
    return out


def to_json_value(value: Any, name: str = "value") -> Any:
    """``value`` as JSON data: numpy arrays and scalars via ``tolist``, tuples as lists, enums by value.

    Args:
        value: one column value.
        name: the column name, for the error message.
    Returns:
        None, bool, int, float, str, or lists/dicts of those.
    Raises:
        TypeError: a value with no JSON form (an image, an object).

    Example:
        >>> import numpy as np
        >>> to_json_value((np.array([0.1, 0.2]), np.float32(0.5), ("a", None)))
        [[0.1, 0.2], 0.5, ['a', None]]
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return to_json_value(value.value, name)
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, name) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v, name) for k, v in value.items()}
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars, torch tensors
        return to_json_value(value.tolist(), name)
    raise TypeError(
        f"column {name!r} holds a {type(value).__name__}, which cannot be sent to the reward service as JSON "
        f"(pass columns=[...] to choose the columns sent)"
    )


def pack_requests(
    item_bytes: Sequence[int], max_body_bytes: int, max_items: int, overhead_bytes: int = 0
) -> tuple[list[list[int]], list[int]]:
    """Split items into requests, greedily and in order, so that no request is over either limit.

    A request holding the items ``S`` is ``overhead_bytes + sum(item_bytes[i] for i in S)`` bytes long. Each request
    takes the next items while it stays within ``max_body_bytes`` and ``max_items``; an item that is over the limit
    even alone (``overhead_bytes + item_bytes[i] > max_body_bytes``) goes into no request and is returned apart.

    Args:
        item_bytes: bytes each item adds to a request, in batch order.
        max_body_bytes: largest request body, in bytes.
        max_items: most items per request.
        overhead_bytes: bytes of a request besides its items.
    Returns:
        ``(requests, oversized)``: the positions of each request's items, and those of the items sent in none; both
        in order.
    Raises:
        ValueError: a limit below 1.

    Example:
        >>> pack_requests([40, 30, 50, 120, 10, 10], max_body_bytes=100, max_items=2, overhead_bytes=10)
        ([[0, 1], [2, 4], [5]], [3])
    """
    if max_body_bytes < 1 or max_items < 1:
        raise ValueError(f"limits must be >= 1, got max_body_bytes={max_body_bytes}, max_items={max_items}")
    requests: list[list[int]] = []
    oversized: list[int] = []
    current: list[int] = []
    size = overhead_bytes
    for i, b in enumerate(item_bytes):
        if overhead_bytes + b > max_body_bytes:
            oversized.append(i)
            continue
        if current and (size + b > max_body_bytes or len(current) >= max_items):
            requests.append(current)
            current, size = [], overhead_bytes
        current.append(i)
        size += b
    if current:
        requests.append(current)
    return requests, oversized


def _encode_items(payload: dict[str, list[Any]]) -> tuple[dict[bytes, list[bytes]], list[int], int]:
    """``(pieces, item_bytes, overhead_bytes)`` of a request payload (key -> one value per item).

    ``pieces`` holds each key and value JSON-encoded once (``allow_nan=False``); :func:`_request_body` joins them into
    exactly ``json.dumps({k: [v[i] for i in idx] ...}, allow_nan=False)``. With K keys, a request of the items S is
    ``overhead_bytes + sum(item_bytes[S])`` bytes: each item adds its K values and K ``", "`` separators, which the
    first item of a request does not need (the overhead is the empty lists' body less those 2K bytes).
    """
    pieces = {
        json.dumps(k).encode(): [json.dumps(v, allow_nan=False).encode("utf-8") for v in values]
        for k, values in payload.items()
    }
    n = len(next(iter(payload.values()), []))
    sep = 2 * len(pieces)
    item_bytes = [sum(len(p[i]) for p in pieces.values()) + sep for i in range(n)]
    overhead = len(_request_body(pieces, [])) - sep
    return pieces, item_bytes, overhead


def _request_body(pieces: dict[bytes, list[bytes]], idx: Sequence[int]) -> bytes:
    """The JSON body ``{KEY: [values of the items idx], ...}``, as ``json.dumps`` writes it."""
    return b"{" + b", ".join(k + b": [" + b", ".join(v[i] for i in idx) + b"]" for k, v in pieces.items()) + b"}"


class RemoteReward(Reward):
    """A reward scored by a reward service: TRL's ``fn(completions, **columns) -> list[float | None]``.

    Args:
        name: the reward's name on the service (``POST {url}/rewards/{name}``); also this callable's ``__name__``
            (TRL logs ``rewards/<name>/mean``, the same as the in-process reward), unless ``log_name`` is given.
        urls: service base URLs, a list or one comma-separated string; a request starts at the next URL in turn.
        timeout_s: seconds allowed for connecting and for each read/write of one request.
        retries: retries of a failed request (so ``1 + retries`` attempts at most).
        backoff_s: seconds before the first retry on an already-tried URL; doubled for each further wait.
        chunk_size: most completions per request (a larger batch is split, in order); the service's advertised
            ``max_items`` lowers it.
        max_body_bytes: most bytes per request body; ``None`` uses what the service advertises on ``GET /rewards``
            (:data:`DEFAULT_MAX_BODY_BYTES` when no URL does), and a value here is lowered to that too.
        api_key_env: environment variable holding the bearer token (it must be set); ``None`` reads
            :data:`DEFAULT_API_KEY_ENV` when it is set and sends no token otherwise.
        thinking: force the thinking rule on/off by sending this ``thinking`` value for every completion; ``None``
            sends the dataset's ``thinking`` column as it is.
        columns: the columns to send; ``None`` sends every column TRL passes except :data:`SKIPPED_COLUMNS`.
        log_name: ``__name__`` when it should differ from ``name`` (e.g. an in-process reward of the same name).

    Attributes:
        n_scored, n_failed, last_statuses, last_error: as on every reward; n_requests: scoring attempts
        (``POST``) so far; n_failed_requests: attempts that failed (connection, timeout, 5xx, 408/429, malformed
        answer). The ``GET /rewards`` that reads the limits is counted in neither.

    Example:
        >>> r = RemoteReward("bleu4", ["http://localhost:8000"], retries=0, chunk_size=256)
        >>> r
        RemoteReward(name='bleu4', urls=('http://localhost:8000',))
    """

    def __init__(
        self,
        name: str,
        urls: str | Sequence[str],
        *,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        chunk_size: int = 1024,
        max_body_bytes: int | None = None,
        api_key_env: str | None = None,
        thinking: bool | None = None,
        columns: Sequence[str] | None = None,
        log_name: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise ConfigError(f"remote reward name must be a non-empty name without '/', got {name!r}")
        super().__init__(log_name or name, tasks=None)  # the service routes tasks (not_applicable items)
        self.name = name
        self.urls = _check_urls(urls, f"{name}@{urls}")
        if not (timeout_s > 0 and math.isfinite(timeout_s)):
            raise ConfigError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
        if int(retries) != retries or retries < 0:
            raise ConfigError(f"retries must be an integer >= 0, got {retries!r}")
        if not (backoff_s >= 0 and math.isfinite(backoff_s)):
            raise ConfigError(f"backoff_s must be >= 0 seconds, got {backoff_s!r}")
        if int(chunk_size) != chunk_size or chunk_size < 1:
            raise ConfigError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
        if max_body_bytes is not None and (int(max_body_bytes) != max_body_bytes or max_body_bytes < 1):
            raise ConfigError(f"max_body_bytes must be an integer >= 1 or None, got {max_body_bytes!r}")
        if api_key_env is not None and not os.environ.get(api_key_env):
            raise ConfigError(f"api_key_env={api_key_env!r} names an environment variable that is not set")
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.backoff_s = float(backoff_s)
        self.chunk_size = int(chunk_size)
        self.max_body_bytes = None if max_body_bytes is None else int(max_body_bytes)
        self.api_key_env = api_key_env
        self.thinking = thinking
        self.columns = None if columns is None else tuple(columns)
        self.n_requests = 0
        self.n_failed_requests = 0
        self._next_url = 0
        self._client: httpx.Client | None = None
        self._limits: tuple[int, int] | None = None  # (max_items, max_body_bytes), read once from the service

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, urls={self.urls!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"] = None  # a connection pool does not pickle; the copy opens its own
        return state

    def close(self) -> None:
        """Close the HTTP connections (a later call opens new ones)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # ---- request building ----

    def payload_columns(self, n: int, kwargs: dict[str, Any]) -> dict[str, list[Any]]:
        """The columns sent for ``n`` completions: JSON lists, one value per completion.

        Args:
            n: number of completions.
            kwargs: the reward call's keyword arguments (TRL's extras are skipped).
        Returns:
            column name -> list of ``n`` JSON values (``thinking`` forced when the reward was built with it).
        Raises:
            ValueError: a list column without ``n`` values; TypeError: a value with no JSON form.
        """
        names = [k for k in kwargs if k not in SKIPPED_COLUMNS] if self.columns is None else list(self.columns)
        cols = {k: [to_json_value(v, k) for v in column(kwargs, k, n)] for k in names if k != "completions"}
        if self.thinking is not None:
            cols["thinking"] = [bool(self.thinking)] * n
        return cols

    # ---- transport ----

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            token = os.environ.get(self.api_key_env or DEFAULT_API_KEY_ENV)
            if token:
                headers["Authorization"] = f"Bearer {token}"
            self._client = httpx.Client(timeout=httpx.Timeout(self.timeout_s), headers=headers)
        return self._client

    def service_limits(self) -> tuple[int, int]:
        """``(max_items, max_body_bytes)`` a request is split by: ``chunk_size`` and ``max_body_bytes`` lowered to the
        smallest limits the URLs advertise on ``GET {url}/rewards``.

        Every URL is asked once; the answer is kept once some URL answered (a URL that answers without limits, such
        as a service of another make with no ``GET /rewards``, leaves the client's values; the body limit is then
        :data:`DEFAULT_MAX_BODY_BYTES` unless ``max_body_bytes`` was given). While no URL answers, the client's values
        are used and the next call asks again. A ``413`` answer forgets the limits, so a restarted service is asked
        again.
        """
        if self._limits is not None:
            return self._limits
        items, body, answered = [self.chunk_size], [], False
        for url in self.urls:
            got = self._advertised(url)
            if got is None:
                continue
            answered = True
            items += [got["max_items"]] if "max_items" in got else []
            body += [got["max_body_bytes"]] if "max_body_bytes" in got else []
        if self.max_body_bytes is not None:
            body.append(self.max_body_bytes)
        limits = (min(items), min(body) if body else DEFAULT_MAX_BODY_BYTES)
        if answered:
            self._limits = limits
            logger.debug("reward %s: requests split by %d items and %d bytes", self.__name__, *limits)
        return limits

    def _advertised(self, url: str) -> dict[str, int] | None:
        """The positive integer ``max_items``/``max_body_bytes`` of ``GET {url}/rewards``; ``{}`` when the service
        answers without them (or has no such route: 404, 405, 501), ``None`` when it does not answer (unreachable,
        busy, 401/403)."""
        import httpx

        try:
            resp = self._http().get(f"{url}/rewards")
        except httpx.TransportError as e:
            logger.debug("reward %s: GET %s/rewards failed: %s", self.__name__, url, e)
            return None
        if (resp.status_code >= 500 and resp.status_code != 501) or resp.status_code in RETRY_4XX | {401, 403}:
            return None
        try:
            data = resp.json() if resp.status_code == 200 else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return {}
        return {
            k: int(data[k])
            for k in ("max_items", "max_body_bytes")
            if isinstance(data.get(k), int) and not isinstance(data[k], bool) and data[k] >= 1
        }

    def _post_once(self, url: str, body: bytes, n: int) -> dict[str, Any]:
        import httpx

        self.n_requests += 1
        endpoint = f"{url}/rewards/{quote(self.name, safe='')}"
        try:
            resp = self._http().post(endpoint, content=body)
        except httpx.TransportError as e:  # connection refused/reset, timeouts, protocol errors
            raise _AttemptFailed(f"{url}: {type(e).__name__}: {e}") from e
        if resp.status_code >= 500 or resp.status_code in RETRY_4XX:
            raise _AttemptFailed(f"{url}: HTTP {resp.status_code}: {_error_text(resp)}")
        if resp.status_code >= 400:
            limits = self._limits or (self.chunk_size, self.max_body_bytes or DEFAULT_MAX_BODY_BYTES)
            hint = {
                401: f" (the bearer token comes from ${self.api_key_env or DEFAULT_API_KEY_ENV})",
                404: f" (GET {url}/rewards lists the service's reward names)",
                413: f" (this request held {n} completions in {len(body)} bytes, split by at most {limits[0]} "
                f"completions and {limits[1]} bytes; lower chunk_size, now {self.chunk_size}, or max_body_bytes)",
            }.get(resp.status_code, "")
            if resp.status_code == 413:
                self._limits = None  # ask the service again next time: its limits may have changed
            raise RemoteRewardError(
                f"reward service answered {resp.status_code} to POST {endpoint}: {_error_text(resp)}{hint}"
            )
        if resp.status_code != 200:
            raise _AttemptFailed(f"{url}: unexpected HTTP {resp.status_code}")
        try:
            return _check_answer(resp.json(), n)
        except ValueError as e:  # not JSON, or not the contract's shape
            raise _AttemptFailed(f"{url}: malformed answer: {e}") from e

    def _post(self, body: bytes, n: int) -> dict[str, Any] | str:
        """The answer of the first attempt that succeeds, or the last error text when all fail."""
        start = self._next_url
        self._next_url = (self._next_url + 1) % len(self.urls)
        tried: set[int] = set()
        waits = 0
        error = ""
        for attempt in range(1 + self.retries):
            k = (start + attempt) % len(self.urls)
            if k in tried and self.backoff_s > 0:
                time.sleep(self.backoff_s * 2**waits)
                waits += 1
            tried.add(k)
            try:
                return self._post_once(self.urls[k], body, n)
            except _AttemptFailed as e:
                self.n_failed_requests += 1
                error = str(e)
                logger.debug("reward %s: attempt %d failed: %s", self.__name__, attempt + 1, error)
        return error

    # ---- the reward contract ----

    def breakdowns(self, completions: Sequence[Any], **kwargs: Any) -> list[RewardBreakdown]:
        """Per-sample :class:`RewardBreakdown` from the service (no TRL logging; failures counted and warned about).

        Args:
            completions: TRL completions (strings or conversational lists).
            **kwargs: dataset columns, one value per completion (TRL's extras and images are not sent).
        Returns:
            one breakdown per completion, in order: ``ok`` with the service's components, ``skipped`` for its
            ``not_applicable`` items, ``failed`` for its failed items, for every item of a request that failed
            after all retries and for an item over the body limit on its own (never sent).
        Raises:
            RemoteRewardError: the service answered a 4xx other than 408/429.
        """
        n = len(completions)
        cols = self.payload_columns(n, kwargs)
        out: list[RewardBreakdown] = [RewardBreakdown.skipped()] * n
        todo: list[int] = []
        texts: list[str] = []
        for i, c in enumerate(completions):
            try:
                texts.append(completion_text(c))
                todo.append(i)
            except TypeError as e:
                out[i] = RewardBreakdown.failed(f"TypeError: {e}")
        if todo:
            payload = {k: [v[i] for i in todo] for k, v in cols.items()}
            payload["completions"] = texts
            pieces, item_bytes, overhead = _encode_items(payload)
            max_items, max_body = self.service_limits()
            requests, oversized = pack_requests(item_bytes, max_body, max_items, overhead)
            for j in oversized:
                out[todo[j]] = RewardBreakdown.failed(
                    f"completion {todo[j]} is too large for the reward service: a request with it alone would be "
                    f"{overhead + item_bytes[j]} bytes ({len(texts[j])} characters of completion), over the limit "
                    f"of {max_body} bytes per request; it was not sent"
                )
            for req in requests:
                answer = self._post(_request_body(pieces, req), len(req))
                if isinstance(answer, str):
                    err = f"reward service failed after {1 + self.retries} attempts: {answer}"
                    for j in req:
                        out[todo[j]] = RewardBreakdown.failed(err)
                    continue
                for k, j in enumerate(req):
                    out[todo[j]] = _item(answer, k)
        failed = [b for b in out if b.status == "failed"]
        self.n_scored += sum(b.ok for b in out)
        self.last_statuses = [b.status for b in out]
        if failed:
            self.last_error = failed[0].error
            self.n_failed += len(failed)
            logger.warning(
                "reward %s: %d of %d samples failed and were excluded (None); %d failures so far; first error: %s",
                self.__name__,
                len(failed),
                n - sum(b.status == "skipped" for b in out),
                self.n_failed,
                failed[0].error,
            )
        return out


def make_remote_reward(spec: str, **options: Any) -> RemoteReward:
    """The :class:`RemoteReward` of ``"remote:NAME@URL[,URL]"`` (what :func:`radgrpo.rewards.get_reward` calls).

    Args:
        spec: ``"remote:"`` + the service's reward name + ``"@"`` + comma-separated base URLs.
        **options: :class:`RemoteReward` keyword options (``timeout_s``, ``retries``, ``chunk_size`` ...).
    Returns:
        the reward callable; its ``__name__`` is ``NAME``.
    Raises:
        ConfigError: a malformed spec or option value.

    Example:
        >>> make_remote_reward("remote:radcliq@http://a:8000,http://b:8000", timeout_s=300).timeout_s
        300.0
    """
    name, urls = parse_remote_spec(spec)
    return RemoteReward(name, urls, **options)


def _error_text(resp: Any) -> str:
    """The service's one-line ``error`` message, or the start of the body."""
    try:
        data = resp.json()
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return data["error"]
    except ValueError:
        pass
    text = resp.text.strip().replace("\n", " ")
    return text[:300] or resp.reason_phrase


def _check_answer(data: Any, n: int) -> dict[str, Any]:
    """``data`` when it has the contract's shape for ``n`` items, else ``ValueError``."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    for key in ("rewards", "status"):
        if not isinstance(data.get(key), list) or len(data[key]) != n:
            raise ValueError(f"{key!r} must be a list of {n} values")
    comps = data.get("components") or {}
    if not isinstance(comps, dict) or any(not isinstance(v, list) or len(v) != n for v in comps.values()):
        raise ValueError(f"'components' must map names to lists of {n} values")
    errors = data.get("errors")
    if errors is not None and (not isinstance(errors, list) or len(errors) != n):
        raise ValueError(f"'errors' must be a list of {n} values")
    return data


def _item(answer: dict[str, Any], j: int) -> RewardBreakdown:
    """The breakdown of item ``j`` of a checked answer (an item that breaks the contract counts as failed)."""
    status = answer["status"][j]
    if status == "not_applicable":
        return RewardBreakdown.skipped()
    if status == "failed":
        errors = answer.get("errors")
        msg = errors[j] if errors and isinstance(errors[j], str) else None
        return RewardBreakdown.failed(msg or "the reward service reported a scoring failure")
    value = answer["rewards"][j]
    if status != "ok" or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return RewardBreakdown.failed(f"the reward service sent status {status!r} with reward {value!r}")
    comps = {
        str(k): float(v[j])
        for k, v in (answer.get("components") or {}).items()
        if isinstance(v[j], (int, float)) and not isinstance(v[j], bool)
    }
    return RewardBreakdown(float(value), comps)
