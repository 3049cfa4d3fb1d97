"""A small OpenAI-compatible chat client: ``POST {base_url}/chat/completions`` with caching, retries and rate limits.

What it is: :class:`ChatClient` (httpx) with an on-disk cache keyed by the exact request (model, messages, params), so
a re-run resumes without re-asking; a requests-per-minute limit; retries with exponential back-off on connection
errors, 408/409/429 and 5xx (honouring ``Retry-After``); and :meth:`ChatClient.complete_many` for bounded
concurrency that records failures per item instead of raising halfway. Shared by the LLM text steps of dataset
building (``radgrpo.data.llm``) and the GREEN judge's endpoint backend (``radgrpo.metrics.text.green``). What it is
not: a model server, nor a client for anything but chat completions.

Example:
    >>> c = ChatClient("http://127.0.0.1:9/v1", "m")
    >>> k = c.cache_key([{"role": "user", "content": "x"}]); (len(k), k == c.cache_key([{"role": "user", "content": "x"}]))
    (64, True)
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from radgrpo.errors import RadgrpoUserError


class ChatError(RadgrpoUserError, RuntimeError):
    """A request that failed after all retries, or a malformed endpoint response."""


class ChatClient:
    """A small OpenAI-compatible chat client with caching, concurrency and rate limits.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1`` (vLLM) or ``https://api.openai.com/v1``.
        model: model name sent in each request.
        api_key: bearer token (default: ``$OPENAI_API_KEY`` if set, else none).
        cache_dir: folder of cached responses (one JSON file per request hash); None disables caching.
        max_concurrency: simultaneous requests in :meth:`map`.
        requests_per_minute: start at most this many requests per minute (None = unlimited).
        max_retries: retries on connection errors, 429 and 5xx.
        timeout_s: per-request timeout in seconds.
        backoff_s: first retry delay (doubles each retry) when the server gives no ``Retry-After``.

    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        max_concurrency: int = 4,
        requests_per_minute: float | None = None,
        max_retries: int = 4,
        timeout_s: float = 120.0,
        backoff_s: float = 1.0,
        **params: Any,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_concurrency = max_concurrency
        self.min_interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.params = {"temperature": 0.0, **params}
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.n_requests = 0
        self.n_cache_hits = 0

    def cache_key(self, messages: list[dict[str, str]]) -> str:
        """sha256 of (model, messages, params): the cache file name."""
        blob = json.dumps([self.model, messages, self.params], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _wait_for_slot(self) -> None:
        if not self.min_interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.min_interval
        if start > now:
            time.sleep(start - now)

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The assistant text for ``messages`` (from the cache when present).

        Raises:
            ChatError: after ``max_retries`` failed attempts, or on a response without ``choices[0].message``.
        """
        import httpx

        key = self.cache_key(messages)
        cpath = self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir else None
        if cpath is not None and cpath.is_file():
            with self._lock:
                self.n_cache_hits += 1
            return json.loads(cpath.read_text(encoding="utf-8"))["content"]
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, **self.params}
        delay = self.backoff_s
        last = ""
        for attempt in range(self.max_retries + 1):
            self._wait_for_slot()
            with self._lock:
                self.n_requests += 1
            try:
                resp = httpx.post(
                    f"{self.base_url}/chat/completions", json=body, headers=headers, timeout=self.timeout_s
                )
            except httpx.HTTPError as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if resp.status_code == 200:
                    try:
                        content = resp.json()["choices"][0]["message"]["content"]
                    except (ValueError, KeyError, IndexError, TypeError) as e:
                        raise ChatError(f"malformed response from {self.base_url}: {resp.text[:200]!r}") from e
                    if not isinstance(content, str):
                        raise ChatError(f"no text in the response from {self.base_url}: {resp.text[:200]!r}")
                    if cpath is not None:
                        cpath.parent.mkdir(parents=True, exist_ok=True)
                        tmp = cpath.with_name(cpath.name + f".{threading.get_ident()}.tmp")
                        tmp.write_text(json.dumps({"content": content}, ensure_ascii=False), encoding="utf-8")
                        os.replace(tmp, cpath)
                    return content
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in (408, 409, 429) and resp.status_code < 500:
                    raise ChatError(f"{self.base_url}: {last}")
                ra = resp.headers.get("Retry-After")
                if ra:
                    try:
                        delay = max(delay, float(ra))
                    except ValueError:
                        pass
            if attempt < self.max_retries:
                time.sleep(delay)
                delay *= 2
        raise ChatError(f"{self.base_url}: giving up after {self.max_retries + 1} attempts ({last})")

    def complete_many(self, messages_list: Sequence[list[dict[str, str]]]) -> tuple[list[str | None], list[str | None]]:
        """Complete every message list with ``max_concurrency`` requests in flight.

        Returns:
            ``(texts, errors)`` aligned with the input: the text and ``None``, or ``None`` and the error message
            (a failed item never stops the others).
        """

        def one(messages: list[dict[str, str]]) -> tuple[str | None, str | None]:
            try:
                return self.complete(messages), None
            except ChatError as e:
                return None, str(e)

        with ThreadPoolExecutor(self.max_concurrency) as pool:
            pairs = list(pool.map(one, messages_list))
        return [t for t, _ in pairs], [e for _, e in pairs]
