"""Reward service speed: −RadCliQ pairs/s through ``radgrpo serve rewards`` (Ray Serve), batched vs one pair per request.

What it measures, in one run, on one device, through the real service (:func:`radgrpo.serve.app.deploy` on a local
Ray, real HTTP) with the real client (:class:`radgrpo.rewards.remote.RemoteReward`, one instance per client thread):

a. batched (this toolkit's design): ``--clients`` concurrent clients, each sending what ``RemoteReward`` sends for a
   GRPO step -- ``--prompts-per-request`` prompts x 8 rollouts in one ``POST /rewards/radcliq`` (the rollouts of a
   prompt share its reference) -- to a ``radcliq`` deployment of ``--replicas`` replicas, which combine concurrent
   requests into one reward call (``@serve.batch``, ``--max-batch-size`` requests) and cache reference outputs;
b. one pair per request (the paper's reward worker, docs/rewards.md#radcliq, scored one pair per HTTP request):
   ``--per-pair-clients`` (32) concurrent clients, each sending one (prediction, reference) pair per request, to
   ``--per-pair-replicas`` replicas with no cross-request batching (``max_batch_size`` 1). The service's reward always
   keeps its reference cache, so these pairs all have distinct references: the cache never hits and every pair
   encodes its reference and its prediction, as the paper's cache-less worker does. Default replicas: as many as
   memory allows (GPU: free memory; CPU: available RAM), capped at the number of clients and of CPU cores (each
   replica's tokenising and RadGraph decoding needs a core);
c. the grounding reward (``grounding_soft_f1``, no model) batched as in (a), ``--replicas`` replicas.

Each measurement: deploy (models load once per replica, outside the timing), warm every replica up (with several
replicas, as many concurrent one-pair requests as they accept at once, ``replicas x max_ongoing_requests``, so each
gets some; plus ``--warmup-seconds`` of the real load), then clients send requests for ``--seconds`` seconds; requests
in flight at the deadline are waited for and counted. Reported: pairs/s (pairs answered / time to the last answer),
p50/p95 request latency (one ``RemoteReward`` call = one HTTP request), errors (failed requests + failed pairs), and
the ratio batched / per-pair. ``RemoteReward`` runs with ``retries=0`` so every failure shows.

Models: the random real-size models of ``benchmarks/bench_rewards.py`` (:func:`bench_rewards.build_models`: CheXbert
and RadGraph-XL on BERT-base, distilroberta-base BERTScore, calibrated RadGraph heads; ``--tiny``: the tests' tiny
models, for a smoke run), passed to the replicas as the service's ``reward_options``
(``{"radcliq": {"model_dirs": ..., "device": ..., "dtype": ...}}``, as ``radgrpo serve rewards --reward_options``).
Reports: bench_rewards' synthetic 40-80-word findings (:func:`bench_rewards.make_workload`); grounding samples: 1-4
reference boxes per sample and a prediction that jitters, drops or adds boxes. The pools are generated before the
timing and are large enough for about 2,400 pairs/s (cuda) over 20 s; ``pool_cycles`` > 1 in the JSON means requests
were reused (then the reference cache may hit for radcliq).

GPU placement: every replica of a deployment gets ``--num-gpus / replicas`` of the GPU(s) and ``cores / replicas``
CPUs (torch threads = that, at least 1). Targets (one H100): batched >= 2,000 pairs/s and >= 50x the per-pair design.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_serve.py [--device cpu|cuda] [--replicas N] [--per-pair-replicas M]
     [--clients C] [--prompts-per-request P] [--seconds S] [--tiny] [--models-dir DIR] [--json out.json]
     [--markdown out.md]
Smoke (about a minute on 2 cores): python benchmarks/bench_serve.py --tiny --seconds 1 --prompts-per-request 1 --clients 2
     --per-pair-clients 4 --per-pair-replicas 1 --max-batch-size 4
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rewards import ROLLOUTS, build_models, machine, make_workload  # the same models and reports

TARGET_PAIRS_PER_S = 2000.0
TARGET_RATIO = 50.0

Batch = tuple[list[str], dict[str, list[Any]]]  # (completions, columns), one RemoteReward call


# ------------------------------------------------------------------ workloads
def report_batches(n_prompts: int, per_request: int, rollouts: int, seed: int) -> list[Batch]:
    """Requests of ``per_request`` prompts x ``rollouts`` rollouts (group order), ``n_prompts`` prompts in all."""
    refs, hyps = make_workload(n_prompts, rollouts, seed=seed)
    step = per_request * rollouts
    return [
        (hyps[a : a + step], {"reference_report": refs[a : a + step], "task": ["report_generation"] * step})
        for a in range(0, len(hyps) - step + 1, step)
    ]


def _box(rng: random.Random) -> list[float]:
    x, y = rng.uniform(0, 0.7), rng.uniform(0, 0.7)
    return [
        round(x, 3),
        round(y, 3),
        round(min(1.0, x + rng.uniform(0.05, 0.3)), 3),
        round(min(1.0, y + rng.uniform(0.05, 0.3)), 3),
    ]


def grounding_batches(n_batches: int, per_request: int, rollouts: int, seed: int) -> list[Batch]:
    """Grounding requests: per prompt 1-4 reference boxes; each rollout jitters them, drops one or adds one."""
    rng = random.Random(seed)
    out = []
    for _ in range(n_batches):
        comps, boxes = [], []
        for _ in range(per_request):
            ref = [_box(rng) for _ in range(rng.randint(1, 4))]
            for _ in range(rollouts):
                pred = [[min(1.0, max(0.0, round(v + rng.gauss(0, 0.03), 3))) for v in b] for b in ref]
                if len(pred) > 1 and rng.random() < 0.2:
                    pred.pop(rng.randrange(len(pred)))
                if rng.random() < 0.2:
                    pred.append(_box(rng))
                comps.append(" ".join(f"[{', '.join(f'{v:.3f}' for v in b)}]" for b in pred))
                boxes.append(ref)
        out.append((comps, {"reference_boxes": boxes, "task": ["abnormality_grounding"] * len(comps)}))
    return out


def per_pair_batches(n_pairs: int, seed: int) -> list[Batch]:
    """One-pair requests, every pair with its own reference (the service's reference cache never hits)."""
    refs, hyps = make_workload(n_pairs, 1, seed=seed)
    return [([h], {"reference_report": [r], "task": ["report_generation"]}) for r, h in zip(refs, hyps)]


# ------------------------------------------------------------------ resources
def _dir_bytes(dirs: dict[str, str]) -> int:
    seen, total = set(), 0
    for d in dirs.values():
        for p in [Path(d)] if Path(d).is_file() else Path(d).rglob("*"):
            if p.is_file() and p.resolve() not in seen:
                seen.add(p.resolve())
                total += p.stat().st_size
    return total


def _mem_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def replicas_memory_allows(model_dirs: dict[str, str], device: str, dtype: str, n_gpus: float) -> dict[str, Any]:
    """How many radcliq replicas fit: (free GPU memory x 0.85) or (available RAM x 0.6) over a replica's estimate.

    A replica's estimate: the weights (model folders; halved for bfloat16 on the GPU) plus working memory -- GPU:
    1 GiB (CUDA context, activations of one pair); CPU: the weights once more (loaded state dict, activations) plus
    0.5 GiB (Python, torch).
    """
    weights = _dir_bytes(model_dirs)
    if device.startswith("cuda"):
        import torch

        free = torch.cuda.mem_get_info(torch.device(device))[0]
        per = int(weights * (0.5 if dtype == "bfloat16" else 1.0)) + (1 << 30)
        budget = int(free * 0.85 * max(1.0, n_gpus))  # --num-gpus > 1: as many GPUs like this one
    else:
        per = 2 * weights + (1 << 29)
        budget = int(_mem_available() * 0.6)
    return {"replica_bytes": per, "budget_bytes": budget, "replicas": max(1, budget // per)}


def resources(device: str, replicas: int, cores: int, n_gpus: float, gpu: bool = True) -> tuple[float, float]:
    """(num_cpus, num_gpus) of each replica of a deployment of ``replicas`` replicas."""
    cpus = cores / replicas if cores >= replicas else round(cores / replicas, 4)
    gpus = round(n_gpus / replicas, 4) if gpu and device.startswith("cuda") else 0.0
    return cpus, gpus


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ clients
def drive(
    url: str, name: str, batches: list[Batch], n_clients: int, seconds: float, timeout_s: float, n_each: int = 0
) -> dict:
    """``n_clients`` threads, each with its own ``RemoteReward``, sending ``batches`` in turn for ``seconds``
    (``n_each`` > 0: exactly that many requests per client instead)."""
    from radgrpo.rewards.remote import RemoteReward, RemoteRewardError

    chunk = max(len(b[0]) for b in batches)
    counter = itertools.count()
    lock = threading.Lock()
    lat: list[float] = []
    done: list[float] = []
    stats = {"pairs": 0, "failed_requests": 0, "failed_pairs": 0, "refused": 0, "sent": 0}
    errors: list[str] = []
    t0 = time.perf_counter()
    deadline = t0 + seconds

    def client() -> None:
        reward = RemoteReward(name, [url], timeout_s=timeout_s, retries=0, chunk_size=chunk)
        try:
            for k in itertools.count():
                if (k >= n_each) if n_each else time.perf_counter() >= deadline:
                    break
                i = next(counter)
                comps, cols = batches[i % len(batches)]
                f0, r0 = reward.n_failed, reward.n_failed_requests
                t = time.perf_counter()
                try:
                    reward(comps, **cols)
                except RemoteRewardError as e:  # a 4xx: the setup is wrong; this client stops
                    with lock:
                        stats["refused"] += 1
                        errors.append(str(e))
                    return
                t1 = time.perf_counter()
                failed = reward.n_failed - f0
                with lock:
                    stats["sent"] += 1
                    stats["failed_requests"] += reward.n_failed_requests - r0
                    stats["failed_pairs"] += failed
                    if reward.n_failed_requests == r0:
                        lat.append(t1 - t)
                        done.append(t1)
                        stats["pairs"] += len(comps) - failed
        finally:
            reward.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + (n_each + 1) * timeout_s + 60)
    wall = (max(done) if done else time.perf_counter()) - t0
    lat.sort()

    def pct(q: float) -> float:
        return round(1000 * lat[min(len(lat) - 1, math.ceil(q * len(lat)) - 1)], 1) if lat else float("nan")

    n_sent = next(counter)
    return {
        "requests": len(lat),
        "pairs": stats["pairs"],
        "seconds": round(wall, 3),
        "pairs_per_s": round(stats["pairs"] / wall, 2) if wall > 0 else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "errors": stats["failed_requests"] + stats["failed_pairs"] + stats["refused"],
        "failed_requests": stats["failed_requests"],
        "failed_pairs": stats["failed_pairs"],
        "refused_requests": stats["refused"],
        "first_error": errors[0] if errors else None,
        "pool_cycles": round(n_sent / len(batches), 2),
    }


def warm_up(url: str, name: str, pool: list[Batch], replicas: int, max_batch_size: int, timeout_s: float) -> None:
    """Every replica loads its models: one one-pair request, or with several replicas ``replicas x
    max_ongoing_requests`` concurrent ones (a replica takes at most that many at once, so each gets some while the
    first ones wait on the model load)."""
    n = 1 if replicas == 1 else replicas * max(2 * max_batch_size, 8)  # build_app's max_ongoing_requests
    singles = [([comps[0]], {k: [v[0]] for k, v in cols.items()}) for comps, cols in pool]
    res = drive(url, name, singles, n, 0.0, timeout_s, n_each=1)
    if res["errors"]:
        raise RuntimeError(f"warm-up of {name}: {res['errors']} errors; first: {res['first_error']}")


# ------------------------------------------------------------------ one measurement
def measure(
    label: str,
    reward: str,
    url: str,
    cfg_kwargs: dict,
    batches: list[Batch],
    warm_pool: list[Batch],
    clients: int,
    args: argparse.Namespace,
) -> dict:
    from ray import serve

    from radgrpo.serve.app import deploy
    from radgrpo.serve.config import APP_NAME, ServeConfig

    cfg = ServeConfig(rewards=[reward], **cfg_kwargs)
    t = time.perf_counter()
    deploy(cfg)
    deploy_s = time.perf_counter() - t
    try:
        t = time.perf_counter()
        warm_up(url, reward, warm_pool, cfg.replicas, cfg.max_batch_size, args.timeout)
        if args.warmup_seconds > 0:
            drive(url, reward, warm_pool, clients, args.warmup_seconds, args.timeout)
        warm_s = time.perf_counter() - t
        res = drive(url, reward, batches, clients, args.seconds, args.timeout)
    finally:
        serve.delete(APP_NAME)
    res.update(
        design=label,
        reward=reward,
        replicas=cfg.replicas,
        clients=clients,
        pairs_per_request=len(batches[0][0]),
        max_batch_size=cfg.max_batch_size,
        num_cpus_per_replica=cfg.num_cpus_per_replica,
        num_gpus_per_replica=cfg.num_gpus_per_replica,
        deploy_s=round(deploy_s, 1),
        warmup_s=round(warm_s, 1),
    )
    print(
        f"{label}: {res['pairs_per_s']:,.1f} pairs/s, p50 {res['p50_ms']} ms, p95 {res['p95_ms']} ms, "
        f"{res['errors']} errors ({res['requests']} requests; deploy {deploy_s:.0f} s, warm-up {warm_s:.0f} s)",
        flush=True,
    )
    return res


# ------------------------------------------------------------------ table
HEADER = [
    "design",
    "reward",
    "replicas",
    "clients",
    "pairs/request",
    "requests",
    "pairs",
    "s",
    "pairs/s",
    "p50 ms",
    "p95 ms",
    "errors",
]


def rows(res: dict) -> list[list[str]]:
    return [
        [
            d["design"],
            d["reward"],
            str(d["replicas"]),
            str(d["clients"]),
            str(d["pairs_per_request"]),
            f"{d['requests']:,}",
            f"{d['pairs']:,}",
            f"{d['seconds']:.1f}",
            f"{d['pairs_per_s']:,.1f}",
            f"{d['p50_ms']:,.0f}",
            f"{d['p95_ms']:,.0f}",
            str(d["errors"]),
        ]
        for d in res["designs"]
    ]


def _find(res: dict, design: str, reward: str) -> dict | None:
    return next((d for d in res["designs"] if d["design"] == design and d["reward"] == reward), None)


def summary(res: dict) -> str:
    b, p = _find(res, "batched", "radcliq"), _find(res, "per-pair (paper)", "radcliq")
    lines = []
    if b and p:
        lines.append(
            f"ratio batched / per-pair (radcliq): {res['ratio']:.2f}x (target >= {TARGET_RATIO:.0f}x on one H100); "
            f"batched radcliq {b['pairs_per_s']:,.1f} pairs/s (target >= {TARGET_PAIRS_PER_S:,.0f} on one H100)"
        )
    mem = res.get("per_pair_memory")
    if mem and p:
        lines.append(
            f"per-pair replicas: {p['replicas']} (memory allows {mem['replicas']}: "
            f"{mem['budget_bytes'] / 2**30:.1f} GiB budget / {mem['replica_bytes'] / 2**30:.2f} GiB per replica; "
            f"cap {res['per_pair_cap']})"
        )
    for d in res["designs"]:
        if d["pool_cycles"] > 1:
            why = "the reference cache may have hit" if d["reward"] == "radcliq" else "no cache: no effect"
            lines.append(f"{d['design']} {d['reward']}: request pool reused {d['pool_cycles']}x ({why})")
    return "\n".join(lines)


def markdown(res: dict) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(r) + " |" for r in rows(res)]
    return "\n".join(out + [""] + [f"- {line}" for line in summary(res).splitlines()]) + "\n"


def print_table(res: dict) -> None:
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"reward service on {res['machine'].get('gpu', res['machine']['cpu'])}")
        for h in HEADER:
            t.add_column(h, justify="left" if h in ("design", "reward") else "right")
        for r in rows(res):
            t.add_row(*r)
        Console(width=max(140, Console().width)).print(t)
    except ImportError:
        print(" | ".join(HEADER))
        for r in rows(res):
            print(" | ".join(r))
    print(summary(res))


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    import ray
    import torch

    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, help="cpu | cuda[:i] (default: cuda when available)")
    p.add_argument("--replicas", type=int, default=1, help="replicas of the batched deployments (default 1)")
    p.add_argument(
        "--per-pair-replicas",
        type=int,
        default=None,
        help="replicas of the per-pair design (default: as many as memory allows)",
    )
    p.add_argument("--clients", type=int, default=4, help="concurrent clients of the batched designs (default 4)")
    p.add_argument(
        "--per-pair-clients", type=int, default=32, help="concurrent clients of the per-pair design (default 32)"
    )
    p.add_argument(
        "--prompts-per-request", type=int, default=64, help="prompts (x 8 rollouts) per batched request (default 64)"
    )
    p.add_argument("--max-batch-size", type=int, default=16, help="requests a batched replica combines (@serve.batch)")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds of each measurement (default 20)")
    p.add_argument(
        "--warmup-seconds",
        type=float,
        default=None,
        help="seconds of untimed load after the warm-up (default 5 cuda, 0 cpu)",
    )
    p.add_argument(
        "--dtype", default="float32", choices=["float32", "bfloat16"], help="radcliq model weights (both designs)"
    )
    p.add_argument("--num-gpus", type=float, default=1.0, help="GPUs the radcliq replicas of a design share (cuda)")
    p.add_argument("--timeout", type=float, default=600.0, help="RemoteReward timeout_s (seconds per read/connect)")
    p.add_argument("--no-grounding", action="store_true", help="skip the grounding_soft_f1 measurement")
    p.add_argument("--tiny", action="store_true", help="tiny random models (smoke run)")
    p.add_argument("--models-dir", help="build the random models here once and reuse them (default: a temp dir)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--markdown", help="write the table (Markdown) here")
    args = p.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.startswith("cuda")
    if gpu and not torch.cuda.is_available():
        p.error(f"--device {device}: no CUDA device here")
    if args.warmup_seconds is None:
        args.warmup_seconds = 5.0 if gpu else 0.0
    cores = os.cpu_count() or 1
    per_request = args.prompts_per_request
    # pools: enough for ~2,400 pairs/s (cuda) over --seconds without reuse; cpu: ~400 pairs/s
    pool_prompts = max(per_request * args.clients * 2, math.ceil((2400 if gpu else 400) * args.seconds / ROLLOUTS))
    pool_pairs = max(args.per_pair_clients * 2, math.ceil((300 if gpu else 50) * args.seconds))

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        info = build_models(Path(args.models_dir or tmp), args.tiny)
        dirs = info["model_dirs"]
        batched = report_batches(pool_prompts, per_request, ROLLOUTS, args.seed)
        single = per_pair_batches(pool_pairs, args.seed + 1)
        warm = report_batches(max(8, args.per_pair_clients), 1, ROLLOUTS, args.seed + 2)
        grounding = grounding_batches(max(8, pool_prompts // per_request), per_request, ROLLOUTS, args.seed + 3)
        print(
            f"models from {Path(dirs['bertscore']).parent}; pools: {len(batched)} batched requests, "
            f"{len(single)} one-pair requests ({time.perf_counter() - t:.0f} s)",
            flush=True,
        )
        mem = replicas_memory_allows(dirs, device, args.dtype, args.num_gpus)
        cap = min(args.per_pair_clients, cores)
        per_pair_replicas = args.per_pair_replicas or max(1, min(mem["replicas"], cap))
        res: dict[str, Any] = {
            "device": device,
            "machine": {**machine(device), "ray": ray.__version__, "memory_gib": round(_mem_available() / 2**30, 1)},
            "models": info,
            "argv": argv,
            "per_pair_memory": mem,
            "per_pair_cap": f"min({args.per_pair_clients} clients, {cores} cores) = {cap}",
            "designs": [],
        }
        options = {"radcliq": {"model_dirs": dirs, "device": device, "dtype": args.dtype}}
        common = {
            "port": free_port(),
            "max_items": max(4096, per_request * ROLLOUTS),
            "max_body_bytes": 64 << 20,
        }
        url = f"http://127.0.0.1:{common['port']}"
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
        try:
            cpus, gpus = resources(device, args.replicas, cores, args.num_gpus)
            res["designs"].append(
                measure(
                    "batched",
                    "radcliq",
                    url,
                    {
                        **common,
                        "replicas": args.replicas,
                        "num_cpus_per_replica": cpus,
                        "num_gpus_per_replica": gpus,
                        "max_batch_size": args.max_batch_size,
                        "reward_options": options,
                    },
                    batched,
                    warm,
                    args.clients,
                    args,
                )
            )
            cpus, gpus = resources(device, per_pair_replicas, cores, args.num_gpus)
            res["designs"].append(
                measure(
                    "per-pair (paper)",
                    "radcliq",
                    url,
                    {
                        **common,
                        "replicas": per_pair_replicas,
                        "num_cpus_per_replica": cpus,
                        "num_gpus_per_replica": gpus,
                        "max_batch_size": 1,
                        "batch_wait_timeout_s": 0.0,
                        "reward_options": options,
                    },
                    single,
                    warm,
                    args.per_pair_clients,
                    args,
                )
            )
            if not args.no_grounding:
                cpus, _ = resources(device, args.replicas, cores, 0.0, gpu=False)
                res["designs"].append(
                    measure(
                        "batched",
                        "grounding_soft_f1",
                        url,
                        {
                            **common,
                            "replicas": args.replicas,
                            "num_cpus_per_replica": cpus,
                            "max_batch_size": args.max_batch_size,
                        },
                        grounding,
                        grounding[:2],
                        args.clients,
                        args,
                    )
                )
        finally:
            from ray import serve

            serve.shutdown()
            ray.shutdown()
    b, pp = _find(res, "batched", "radcliq"), _find(res, "per-pair (paper)", "radcliq")
    assert b and pp
    res["ratio"] = round(b["pairs_per_s"] / pp["pairs_per_s"], 2) if pp["pairs_per_s"] > 0 else float("inf")
    res["targets"] = {
        "pairs_per_s": TARGET_PAIRS_PER_S,
        "ratio": TARGET_RATIO,
        "met": bool(gpu and b["pairs_per_s"] >= TARGET_PAIRS_PER_S and res["ratio"] >= TARGET_RATIO),
    }
    print_table(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
