"""Benchmark ``radgrpo data build`` at the paper's scale (~1.1M records) on fixture roots scaled up.

Writes the seven sources' real layouts (no image files: loaders run with ``check_images=False``; DICOM conversion is
excluded) with sizes that reproduce RadVLM's mix (docs/method.md#instruction-data): MIMIC ~231k frontal train images
(84k subjects x 4 studies, ~69% in train) (report generation + classification), CheXpert ~191k, CheXpert-Plus ~186k,
Chest ImaGenome 80k sampled (from ``--ci_images`` scene graphs), VinDr 15k images (detection x2, grounding x3), MS-CXR
~970 x3, PadChest-GR ~4.5k x2. Then it builds in a child process and reports records/s and the child's peak RSS.
Exports: records JSONL + LLaVA JSON (verl parquet is included with ``--verl``).

Run (about 5–10 minutes on 2 cores at --scale 1):
    HF_HUB_OFFLINE=1 python benchmarks/bench_data.py --work /tmp/bench_data --scale 1.0 --append
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "data" / "fixtures"))


def write_roots(work: Path, scale: float, ci_images: int) -> dict:
    """Write all fixture roots under ``work`` (skipped when ``work/roots.json`` exists for the same sizes)."""
    from grounding_layouts import write_chest_imagenome, write_ms_cxr, write_padchest_gr, write_vindr
    from source_layouts import write_chexpert, write_chexpert_plus, write_mimic

    sizes = {
        "mimic_subjects": int(84200 * scale),
        "chexpert": int(191027 * scale),
        "chexpert_plus": int(186463 * scale),
        "ci_images": int(ci_images * scale),
        "vindr": int(15000 * scale),
        "ms": int(971 * scale),
        "padchest": int(4478 * scale),
    }
    marker = work / "roots.json"
    if marker.is_file() and json.loads(marker.read_text()).get("sizes") == sizes:
        return json.loads(marker.read_text())
    t = time.perf_counter()
    mimic = write_mimic(
        work / "mimic",
        n_subjects=sizes["mimic_subjects"],
        studies_per_subject=4,
        reports="csv",
        images=False,
        awkward=False,
    )
    meta = mimic["frontal_meta"]
    ci_meta = dict(list(meta.items())[: sizes["ci_images"]])
    write_chest_imagenome(work / "ci", ci_meta)
    write_chexpert(work / "chexpert", n_patients=sizes["chexpert"], images=False)
    write_chexpert_plus(work / "chexpert", n_patients=sizes["chexpert_plus"], images=False)
    write_vindr(work / "vindr", n_images=sizes["vindr"], images=False, dicoms=False, resolutions=True)
    write_ms_cxr(work / "ms", meta, n_images=sizes["ms"])
    write_padchest_gr(work / "pc", n_images=sizes["padchest"], images=False)
    info = {"sizes": sizes, "write_seconds": round(time.perf_counter() - t, 1)}
    marker.write_text(json.dumps(info))
    return info


def build_child(work: Path, out: Path, exports: list[str], ci_samples: int) -> dict:
    """Run in the child process: the build, timed."""
    from radgrpo.data.build import DataConfig, build_dataset
    from radgrpo.data.mixture import RADVLM_BLOCKS

    blocks = []
    for b in RADVLM_BLOCKS:
        d = {k: getattr(b, k) for k in ("name", "source", "tasks", "repeats", "num_samples", "splits", "as_split")}
        if b.source == "chest_imagenome":
            d["num_samples"] = ci_samples
        blocks.append(d)
    cfg = DataConfig(
        out=str(out),
        mimic_cxr_root=str(work / "mimic"),
        chexpert_root=str(work / "chexpert"),
        chexpert_plus_root=str(work / "chexpert"),
        chest_imagenome_root=str(work / "ci"),
        vindr_cxr_root=str(work / "vindr"),
        ms_cxr_root=str(work / "ms"),
        padchest_gr_root=str(work / "pc"),
        check_images=False,
        exports=exports,
        blocks=blocks,
        progress=True,
    )
    t = time.perf_counter()
    stats = build_dataset(cfg)
    secs = time.perf_counter() - t
    n = sum(stats["splits"].values())
    per_block = {k: v["seconds"] for k, v in stats["blocks"].items()}
    return {
        "records": n,
        "seconds": round(secs, 1),
        "records_per_s": round(n / secs),
        "block_seconds": per_block,
        "splits": stats["splits"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="/tmp/bench_data")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--ci_images", type=int, default=90000, help="scene graphs written (80k sampled at scale 1)")
    ap.add_argument("--verl", action="store_true")
    ap.add_argument("--append", action="store_true", help="append the result to benchmarks/RESULTS.md")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    work = Path(a.work)
    exports = ["records", "llava_json"] + (["verl"] if a.verl else [])
    ci_samples = int(80000 * a.scale)
    if a.child:
        print("RESULT " + json.dumps(build_child(work, work / "out", exports, ci_samples)), flush=True)
        return 0
    work.mkdir(parents=True, exist_ok=True)
    info = write_roots(work, a.scale, a.ci_images)
    print(f"fixture roots: {info}", flush=True)
    import shutil

    shutil.rmtree(work / "out", ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--work", str(work), "--scale", str(a.scale)]
        + (["--verl"] if a.verl else []),
        env=env,
        capture_output=True,
        text=True,
    )
    sys.stderr.write(proc.stderr[-3000:])
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        print(proc.stdout[-3000:])
        return 1
    res = json.loads(line[0][7:])
    res["exports"] = exports
    print(json.dumps(res, indent=1))
    if a.append:
        rows = "\n".join(f"| {k} | {v} |" for k, v in res["block_seconds"].items())
        text = (
            f"\n## data build (`benchmarks/bench_data.py --scale {a.scale}`)\n\n"
            f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}. Fixture roots in the real layouts, "
            f"no image files (image checks and DICOM conversion excluded); exports: {', '.join(exports)}.\n\n"
            f"| metric | value |\n|---|---|\n| records built | {res['records']:,} |\n"
            f"| wall time (build + mix + exports) | {res['seconds']} s |\n"
            f"| records/s | {res['records_per_s']:,} (target >= 5,000) |\n"
            f"| peak RSS of the build process | {res['peak_rss_mb']} MB (target < 2,048) |\n\n"
            f"Seconds per block (shard writing):\n\n| block | s |\n|---|---|\n{rows}\n"
        )
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
