"""The reward service on Ray Serve: one deployment per reward, a FastAPI ingress, and the blocking serve loop.

What it is:

- :data:`RewardDeployment` (:class:`RewardReplica`): each replica holds ``radgrpo.rewards.get_reward(name,
  **options)`` (its models and reference caches stay loaded between requests) and scores with ``@serve.batch``: up
  to ``max_batch_size`` concurrent requests are combined into one reward call and the results split back per
  request, in order (:func:`radgrpo.serve.scoring.score_requests`). Scoring runs in a worker thread, so the replica
  keeps queueing requests while a batch is scored.
- :data:`RewardIngress` (:class:`IngressReplica`): the HTTP API (``POST /rewards/{name}``, ``GET /rewards``,
  ``GET /healthz``); it checks every request first (:mod:`radgrpo.serve.requests`: 4xx answers
  ``{"error": "..."}``) and retries a call whose replica died (Serve replaces the replica, so a killed replica costs
  latency, not answers).
- :func:`build_app` (the application of a :class:`~radgrpo.serve.config.ServeConfig`), :func:`deploy` (run it on
  the Ray cluster this process is connected to; returns the URL) and :func:`serve_forever` (what
  ``radgrpo serve rewards`` runs: start or join Ray, deploy, print the URL, wait for SIGINT/SIGTERM, shut down).

Ray Serve's Prometheus metrics (``ray_serve_*``, ``serve_batch_*``) stay on. The API: docs/rewards.md#reward-service.

Example:
    >>> import ray  # doctest: +SKIP
    >>> ray.init(num_cpus=2, include_dashboard=False)  # doctest: +SKIP
    >>> deploy(ServeConfig(rewards=["bleu4"], port=8123))  # doctest: +SKIP
    'http://127.0.0.1:8123'
"""

# no ``from __future__ import annotations``: FastAPI reads the route annotations (``Request``) at runtime
import asyncio
import os
import signal
import socket
import sys
import threading
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve import Deployment
from ray.serve.handle import DeploymentHandle
from starlette.exceptions import HTTPException

from radgrpo.config import ConfigError
from radgrpo.serve.catalog import reward_info
from radgrpo.serve.config import APP_NAME, ServeConfig
from radgrpo.serve.requests import (
    RequestError,
    check_bearer,
    check_body_size,
    parse_score_request,
    token_digest,
    unknown_reward,
)
from radgrpo.serve.scoring import score_requests

__all__ = [
    "IngressReplica",
    "RewardDeployment",
    "RewardIngress",
    "RewardReplica",
    "build_app",
    "deploy",
    "serve_forever",
    "url_of",
]

#: concurrent requests one ingress replica handles (it only checks and forwards, so it is set high)
INGRESS_MAX_ONGOING = 512
#: seconds between Serve's health checks of a reward replica (a dead replica is replaced within about this long)
HEALTH_CHECK_PERIOD_S = 2.0
#: attempts of a reward call whose replica died or is unavailable (Serve routes a retry to a live replica)
REPLICA_ATTEMPTS = 4

api = FastAPI(title="radgrpo rewards", docs_url=None, redoc_url=None, openapi_url=None)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


@api.exception_handler(HTTPException)
async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 404:
        return _error(
            404,
            f"no route {request.method} {request.url.path} (routes: POST /rewards/<name>, GET /rewards, GET /healthz)",
        )
    if exc.status_code == 405:
        return _error(405, f"method {request.method} not allowed on {request.url.path}")
    return _error(exc.status_code, str(exc.detail))


@api.exception_handler(Exception)
async def _bug(request: Request, exc: Exception) -> JSONResponse:
    return _error(500, f"internal error: {type(exc).__name__}: {exc}")


@api.exception_handler(RequestValidationError)
async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return _error(400, f"bad request: {exc.errors()[:1]}")


class RewardReplica:
    """A replica of one reward (deployed as :data:`RewardDeployment`): ``score(request) -> answer``, batched across
    concurrent requests.

    Args:
        name: the registered reward name.
        options: keyword arguments of its factory (``get_reward(name, **options)``).
        max_batch_size: most requests combined into one reward call.
        batch_wait_timeout_s: seconds to wait for more requests before scoring a partial batch.
    """

    def __init__(self, name: str, options: dict[str, Any], max_batch_size: int, batch_wait_timeout_s: float) -> None:
        from radgrpo.rewards import get_reward

        self.name = name
        self.reward = get_reward(name, **options)
        batched: Any = self.score  # the @serve.batch wrapper (its setters are not in its static type)
        batched.set_max_batch_size(max_batch_size)
        batched.set_batch_wait_timeout_s(batch_wait_timeout_s)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.01)
    async def score(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Answers of a batch of checked requests (:func:`radgrpo.serve.scoring.score_requests`), in order."""
        return await asyncio.to_thread(score_requests, self.reward, requests)


@serve.ingress(api)
class IngressReplica:
    """A replica of the HTTP front of the service (deployed as :data:`RewardIngress`): checks requests and forwards
    them to the reward deployments.

    Args:
        handles: reward name -> handle of its :data:`RewardDeployment`.
        settings: ``max_items``, ``max_body_bytes``, ``token_digest`` (SHA-256 of the bearer token, or ``None``),
            ``catalog`` (the ``GET /rewards`` entries) and ``app_name``.
    """

    def __init__(self, handles: dict[str, DeploymentHandle], settings: dict[str, Any]) -> None:
        self.handles = handles
        self.settings = settings

    async def _body(self, request: Request) -> bytes:
        limit = int(self.settings["max_body_bytes"])
        check_body_size(request.headers.get("content-length"), limit)
        chunks, n = [], 0
        async for chunk in request.stream():
            n += len(chunk)
            if n > limit:
                raise RequestError(413, f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _call(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        from ray.exceptions import ActorUnavailableError, RayActorError

        for attempt in range(REPLICA_ATTEMPTS):
            try:
                return await self.handles[name].score.remote(request)
            except (RayActorError, ActorUnavailableError) as e:
                if attempt == REPLICA_ATTEMPTS - 1:
                    return {"error": f"reward {name!r}: no replica answered ({type(e).__name__})", "status_code": 503}
                await asyncio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    @api.post("/rewards/{name}")
    async def score(self, name: str, request: Request) -> JSONResponse:
        """``POST /rewards/{name}``: the answer of :func:`radgrpo.serve.scoring.answer`, or a 4xx/5xx error."""
        try:
            check_bearer(request.headers.get("authorization"), self.settings["token_digest"])
            if name not in self.handles:
                raise unknown_reward(name, sorted(self.handles))
            req = parse_score_request(
                await self._body(request), self.settings["max_items"], self.settings["max_body_bytes"]
            )
        except RequestError as e:
            return JSONResponse(e.answer(), status_code=e.status)
        if not req.completions:
            return JSONResponse({"rewards": [], "status": [], "components": {}, "errors": [], "n_failed": 0})
        try:
            result = await self._call(name, req.to_dict())
        except Exception as e:  # a bug in a reward (not a sample failure: those are answered per sample)
            return _error(500, f"reward {name!r} raised {type(e).__name__}: {e}")
        if "error" in result:
            return _error(int(result.get("status_code", 500)), result["error"])
        return JSONResponse(result)

    @api.get("/rewards")
    async def rewards(self, request: Request) -> JSONResponse:
        """``GET /rewards``: the served rewards (name, description, options, metric, models) and the limits."""
        try:
            check_bearer(request.headers.get("authorization"), self.settings["token_digest"])
        except RequestError as e:
            return JSONResponse(e.answer(), status_code=e.status)
        return JSONResponse(
            {
                "rewards": self.settings["catalog"],
                "max_items": self.settings["max_items"],
                "max_body_bytes": self.settings["max_body_bytes"],
            }
        )

    @api.get("/healthz")
    async def healthz(self) -> JSONResponse:
        """``GET /healthz``: 200 when the application and every deployment are healthy, else 503; per-deployment
        status and replica counts either way (no token needed)."""
        status = await asyncio.to_thread(serve.status)
        app = status.applications.get(self.settings["app_name"])
        if app is None:
            return JSONResponse({"status": "NOT_FOUND", "deployments": {}}, status_code=503)
        deployments = {
            name: {
                "status": str(getattr(d.status, "value", d.status)),
                "replicas": {str(getattr(k, "value", k)): int(v) for k, v in d.replica_states.items()},
                "message": d.message,
            }
            for name, d in app.deployments.items()
        }
        app_status = str(getattr(app.status, "value", app.status))
        healthy = app_status == "RUNNING" and all(d["status"] == "HEALTHY" for d in deployments.values())
        return JSONResponse({"status": app_status, "deployments": deployments}, status_code=200 if healthy else 503)


# serve.deployment(cls) returns a Deployment; its annotation only describes the decorator-factory form
#: the Serve deployment of a reward's replicas (``.options(...)`` sets replicas, resources, batching)
RewardDeployment = cast(Deployment, serve.deployment(RewardReplica))
#: the Serve deployment of the HTTP front
RewardIngress = cast(Deployment, serve.deployment(IngressReplica))


def deployment_name(reward: str) -> str:
    """The Serve deployment of a reward: ``reward_<name>``."""
    return f"reward_{reward}"


def build_app(cfg: ServeConfig, digest: str | None = None) -> Any:
    """The Ray Serve application of ``cfg``: one :data:`RewardDeployment` per reward behind a :data:`RewardIngress`.

    Args:
        cfg: the service settings.
        digest: :func:`~radgrpo.serve.requests.token_digest` of the bearer token, or ``None`` (no token).
    Returns:
        a ``serve.Application`` for ``serve.run``.
    """
    handles = {}
    for name in cfg.rewards:
        options: dict[str, Any] = {
            "name": deployment_name(name),
            "ray_actor_options": {"num_cpus": cfg.num_cpus_per_replica, "num_gpus": cfg.num_gpus_per_replica},
            "max_ongoing_requests": max(2 * cfg.max_batch_size, 8),
            "health_check_period_s": HEALTH_CHECK_PERIOD_S,
        }
        auto = cfg.autoscaling()
        if auto:
            options["autoscaling_config"] = auto
        else:
            options["num_replicas"] = cfg.replicas
        handles[name] = RewardDeployment.options(**options).bind(
            name, cfg.options_for(name), cfg.max_batch_size, cfg.batch_wait_timeout_s
        )
    settings = {
        "max_items": cfg.max_items,
        "max_body_bytes": cfg.max_body_bytes,
        "token_digest": digest,
        "catalog": [reward_info(n, cfg.options_for(n)) for n in cfg.rewards],
        "app_name": APP_NAME,
    }
    ingress = RewardIngress.options(
        name="ingress", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=INGRESS_MAX_ONGOING
    )
    return ingress.bind(handles, settings)


def url_of(cfg: ServeConfig) -> str:
    """``http://host:port`` of the service (an IPv6 host in brackets)."""
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    return f"http://{host}:{cfg.port}"


def bearer_digest(cfg: ServeConfig) -> str | None:
    """The digest of the token in ``cfg.api_key_env`` (``None`` when no variable is named).

    Raises:
        ConfigError: the variable is named but unset or empty.
    """
    if not cfg.api_key_env:
        return None
    token = os.environ.get(cfg.api_key_env, "").strip()
    if not token:
        raise ConfigError(f"--api_key_env {cfg.api_key_env}: the environment variable is not set (or empty)")
    return token_digest(token)


def check_rewards(cfg: ServeConfig) -> None:
    """Build every reward once here, so bad ``reward_options`` fail before Ray starts (models load lazily).

    Raises:
        ConfigError: a factory refused its options.
    """
    from radgrpo.rewards import get_reward

    for name in cfg.rewards:
        try:
            get_reward(name, **cfg.options_for(name))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"--reward_options for {name!r}: {e}") from e


def check_port(host: str, port: int) -> None:
    """Refuse a host/port this machine cannot listen on (in use, or not a local address) before Ray starts.

    Raises:
        ConfigError: the port cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError(f"--host {host} --port {port}: cannot listen there ({e.strerror or e})") from None


def deploy(cfg: ServeConfig) -> str:
    """Run the application on the Ray cluster this process is connected to (``ray.init`` first) and return its URL.

    Serve's HTTP proxy is started on ``cfg.host:cfg.port`` (when Serve already runs on the cluster, its proxy keeps
    its own address). Blocks until every deployment is running.
    """
    digest = bearer_digest(cfg)
    serve.start(http_options={"host": cfg.host, "port": cfg.port})
    serve.run(build_app(cfg, digest), name=APP_NAME, route_prefix="/")
    return url_of(cfg)


def serve_forever(cfg: ServeConfig) -> int:
    """``radgrpo serve rewards``: start a local Ray (or join ``cfg.address``), deploy, print the URL, serve until
    SIGINT/SIGTERM, then delete the application (joined cluster) or shut Serve and Ray down (local Ray).

    Returns:
        exit code 0.
    Raises:
        ConfigError: bad reward options, an unset ``api_key_env`` variable or a port in use (before Ray starts).
    """
    import ray

    bearer_digest(cfg)
    check_rewards(cfg)
    joined = bool(cfg.address)
    if not joined:  # a joined cluster's proxy may run on another node
        check_port(cfg.host, cfg.port)
    # the handlers go in before Ray starts, so Ctrl-C while Ray or the deployments start is a clean stop, not a
    # KeyboardInterrupt traceback
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        ray.init(address=cfg.address or None, log_to_driver=True)
        url = "" if stop.is_set() else deploy(cfg)
        if url and not stop.is_set():
            print(
                f"radgrpo serve rewards: serving {', '.join(cfg.rewards)} at {url} "
                f"(POST {url}/rewards/<name>, GET {url}/rewards, GET {url}/healthz); Ctrl-C stops",
                flush=True,
            )
        while not stop.wait(0.5):
            pass
    finally:
        print("radgrpo serve rewards: shutting down", file=sys.stderr, flush=True)
        try:
            if ray.is_initialized():
                if joined:
                    serve.delete(APP_NAME)
                else:
                    serve.shutdown()
        finally:
            ray.shutdown()
            for s, handler in previous.items():
                signal.signal(s, handler)
    return 0
