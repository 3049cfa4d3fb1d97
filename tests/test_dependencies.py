"""Every third-party package that radgrpo imports is a declared dependency (a fresh ``pip install -e .`` runs the
demo): found by reading the imports of every module, not by importing them.

Run: pytest tests/test_dependencies.py
"""

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# import name -> distribution name, where they differ
DIST = {"PIL": "pillow", "yaml": "pyyaml", "sklearn": "scikit-learn"}
# installed by a declared dependency, never by the user: transformers -> huggingface_hub, tokenizers;
# datasets -> pyarrow
TRANSITIVE = {"huggingface_hub", "tokenizers", "pyarrow"}
# optional, imported behind a guard that works without them; the `serve` extra (radgrpo.serve.app, imported only
# by `radgrpo serve rewards`)
OPTIONAL = {"torchvision", "ray", "fastapi", "starlette"}


def _imported_packages() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in (ROOT / "radgrpo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top != "radgrpo" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_a_core_dependency():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() for d in meta["dependencies"]}
    missing = {
        top: where
        for top, where in _imported_packages().items()
        if top not in TRANSITIVE | OPTIONAL and DIST.get(top, top).lower().replace("_", "-") not in declared
    }
    assert not missing, f"imported but not in [project.dependencies]: {missing}"
