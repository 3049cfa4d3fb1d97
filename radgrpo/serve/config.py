"""``ServeConfig``: the settings of ``radgrpo serve rewards`` (YAML keys = fields = flags).

What it is: which rewards the Ray Serve application serves and how (replicas, GPUs, batching, request limits, the
optional bearer token, the Ray cluster to join), checked when it is built so a bad value is a one-line
:class:`~radgrpo.config.ConfigError` before Ray starts. What it is not: the application itself
(:mod:`radgrpo.serve.app`) or the request checks (:mod:`radgrpo.serve.requests`). The service and its HTTP API:
docs/rewards.md#reward-service.

``rewards`` accepts ``NAME,NAME`` or a list; ``reward_options`` and ``autoscaling_config`` accept a mapping (YAML) or a
JSON/YAML string (flags). ``min_replicas``/``max_replicas``/``target_ongoing_requests`` are shorthands that fill
``autoscaling_config``; with autoscaling, ``replicas`` is not used (put ``initial_replicas`` in the mapping).

Example:
    >>> cfg = ServeConfig(rewards=["bleu4,grounding_soft_f1"], reward_options='{"bleu4": {"thinking": true}}')
    >>> cfg.rewards, cfg.options_for("bleu4"), cfg.options_for("grounding_soft_f1")
    (['bleu4', 'grounding_soft_f1'], {'thinking': True}, {})
    >>> ServeConfig(rewards=["bleu4"], max_replicas=4).autoscaling()
    {'max_replicas': 4, 'min_replicas': 1}
    >>> ServeConfig(rewards=["bleu5"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    radgrpo.config.ConfigError: --rewards: unknown reward 'bleu5'; did you mean 'bleu4'? ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from radgrpo.config import ConfigError, closest, mapping_flag
from radgrpo.rewards.registry import list_rewards

__all__ = ["APP_NAME", "ServeConfig"]

#: the Ray Serve application name (``serve status`` shows it)
APP_NAME = "radgrpo_rewards"


@dataclass
class ServeConfig:
    """Settings of ``radgrpo serve rewards`` (YAML keys = fields = flags)."""

    rewards: list[str] = field(
        default_factory=list,
        metadata={"help": "rewards to serve: NAME[,NAME...] (`radgrpo rewards list`); one deployment each; required"},
    )
    host: str = field(default="127.0.0.1", metadata={"help": "HTTP host (default: loopback only; 0.0.0.0 = all)"})
    port: int = field(default=8000, metadata={"help": "HTTP port"})
    replicas: int = field(default=1, metadata={"help": "replicas per reward deployment (not used with autoscaling)"})
    num_gpus_per_replica: float = field(default=0.0, metadata={"help": "GPUs per reward replica (fractions allowed)"})
    num_cpus_per_replica: float = field(default=1.0, metadata={"help": "CPUs per reward replica (fractions allowed)"})
    max_batch_size: int = field(
        default=16, metadata={"help": "most concurrent requests one reward call combines (@serve.batch)"}
    )
    batch_wait_timeout_s: float = field(
        default=0.01, metadata={"help": "seconds a replica waits for more requests before scoring a partial batch"}
    )
    max_items: int = field(default=4096, metadata={"help": "most completions in one request (more: HTTP 413)"})
    max_body_bytes: int = field(default=8 * 1024 * 1024, metadata={"help": "largest request body (more: HTTP 413)"})
    api_key_env: str = field(
        default="",
        metadata={"help": "environment variable holding a bearer token the requests must carry (default: no token)"},
    )
    address: str = field(
        default="", metadata={"help": "Ray cluster to join, e.g. ray://head:10001 or auto (default: start a local Ray)"}
    )
    reward_options: dict[str, Any] | str | None = field(
        default=None,
        metadata={"help": 'JSON/YAML mapping NAME -> factory options, e.g. \'{"radcliq": {"device": "cuda"}}\''},
    )
    autoscaling_config: dict[str, Any] | str | None = field(
        default=None, metadata={"help": "JSON/YAML Ray Serve autoscaling_config for every reward deployment"}
    )
    min_replicas: int | None = field(default=None, metadata={"help": "autoscaling: fewest replicas per reward"})
    max_replicas: int | None = field(default=None, metadata={"help": "autoscaling: most replicas per reward"})
    target_ongoing_requests: float | None = field(
        default=None, metadata={"help": "autoscaling: ongoing requests per replica to aim for"}
    )

    def __post_init__(self) -> None:
        names = [self.rewards] if isinstance(self.rewards, str) else list(self.rewards or [])
        self.rewards = list(dict.fromkeys(n.strip() for s in names for n in str(s).split(",") if n.strip()))
        if not self.rewards:
            raise ConfigError("--rewards is required: NAME[,NAME...] (`radgrpo rewards list` shows the names)")
        valid = [n for n in list_rewards() if not n.startswith("remote:")]  # a service serves in-process rewards
        for name in self.rewards:
            if name not in valid:
                near = closest(name, valid)
                hint = f"; did you mean {near!r}?" if near else ""
                raise ConfigError(f"--rewards: unknown reward {name!r}{hint} (valid: {', '.join(valid)})")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"--port must be in 1..65535, got {self.port}")
        for flag in ("replicas", "max_batch_size", "max_items", "max_body_bytes"):
            if getattr(self, flag) < 1:
                raise ConfigError(f"--{flag} must be >= 1, got {getattr(self, flag)}")
        for flag in ("num_gpus_per_replica", "num_cpus_per_replica", "batch_wait_timeout_s"):
            v = float(getattr(self, flag))
            if not math.isfinite(v) or v < 0:
                raise ConfigError(f"--{flag} must be a finite number >= 0, got {getattr(self, flag)}")
        options = mapping_flag(self.reward_options, "reward_options")
        for name, opts in options.items():
            if name not in self.rewards:
                raise ConfigError(f"--reward_options names {name!r}, which is not in --rewards {self.rewards}")
            if not isinstance(opts, dict):
                raise ConfigError(f"--reward_options: the options of {name!r} must be a mapping, got {opts!r}")
        self.reward_options = options
        auto = mapping_flag(self.autoscaling_config, "autoscaling_config")
        for key in ("min_replicas", "max_replicas", "target_ongoing_requests"):
            if getattr(self, key) is not None:
                auto[key] = getattr(self, key)
        if auto:
            lo, hi = auto.setdefault("min_replicas", 1), auto.get("max_replicas", max(int(auto["min_replicas"]), 1))
            if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi and hi >= 1):
                raise ConfigError(f"autoscaling: need integers 0 <= min_replicas <= max_replicas, >= 1; got {auto}")
        self.autoscaling_config = auto or None

    def options_for(self, name: str) -> dict[str, Any]:
        """The factory options of reward ``name`` (``{}`` when none were given)."""
        options = self.reward_options if isinstance(self.reward_options, dict) else {}
        return dict(options.get(name) or {})

    def autoscaling(self) -> dict[str, Any] | None:
        """The Ray Serve ``autoscaling_config`` of every reward deployment, or ``None`` (fixed ``replicas``)."""
        return dict(self.autoscaling_config) if isinstance(self.autoscaling_config, dict) else None
