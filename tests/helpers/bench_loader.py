"""The scripts of ``benchmarks/`` as modules, for tests of their functions: ``load_benchmark("bench_memory")``.

They are scripts, not a package (run as ``python benchmarks/NAME.py``), so each is loaded from its file.
"""

import importlib.util
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """The module of ``benchmarks/<name>.py`` (executed once per call)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
