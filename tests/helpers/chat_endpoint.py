"""A real OpenAI-compatible chat endpoint on 127.0.0.1 for tests: ``POST /v1/chat/completions`` answered by a function.

``serve_chat(respond)`` starts a threaded ``http.server`` and yields its base URL; ``respond(body, headers)`` returns
either the assistant text (sent as ``choices[0].message.content`` with status 200) or ``(status, raw_bytes)`` for
error cases. Every request is recorded in the yielded ``requests`` list as ``(authorization header, body)``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextlib.contextmanager
def serve_chat(respond: Callable[[dict, Any], str | tuple[int, bytes]]) -> Iterator[tuple[str, list]]:
    requests: list[tuple[str | None, dict]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                requests.append((self.headers.get("Authorization"), body))
            out = respond(body, self.headers)
            if isinstance(out, tuple):
                status, data = out
                ctype = "text/plain"
            else:
                status, ctype = 200, "application/json"
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": out}}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
