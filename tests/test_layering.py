"""Imports only go downward through radgrpo's layers (STYLE.md, "Dependency direction").

Run: pytest tests/test_layering.py
"""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "radgrpo"

# top-level module/package -> layer; a module may import only from its own layer or below.
LAYER = {"records": 0, "boxes": 0, "config": 0, "chat_client": 0, "data": 1, "metrics": 1, "models": 1,
         "rewards": 2, "train": 3, "eval": 3, "serve": 4, "cli": 4}
# same-layer imports that are forbidden all the same
FORBIDDEN = {("metrics", "data"), ("metrics", "models"), ("eval", "rewards"), ("eval", "train"),
             ("rewards", "models"), ("rewards", "data")}
# heavy stacks that must stay out of the cheap layers at module level
HEAVY = {"trl", "fastapi", "uvicorn"}
NO_HEAVY = {"records", "boxes", "config", "chat_client", "metrics", "rewards", "data"}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node


def _top(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def test_every_module_has_a_layer():
    tops = {_top(p) for p in PKG.rglob("*.py") if p.name != "__init__.py" or p.parent != PKG}
    assert tops <= set(LAYER), f"modules without a layer: {sorted(tops - set(LAYER))}"


def test_imports_only_go_downward():
    bad = []
    for path in PKG.rglob("*.py"):
        if path.parent == PKG and path.name == "__init__.py":
            continue
        me = _top(path)
        for name, node in _imports(path):
            parts = name.split(".")
            if parts[0] != "radgrpo" or len(parts) < 2:
                continue
            other = parts[1]
            if other not in LAYER:
                continue
            if LAYER[other] > LAYER[me] or (me, other) in FORBIDDEN:
                bad.append(f"{path.relative_to(PKG.parent)}:{node.lineno} {me} -> {other}")
    assert not bad, "upward or forbidden imports:\n" + "\n".join(bad)


def test_cheap_layers_do_not_import_heavy_stacks_at_module_level():
    bad = []
    for path in PKG.rglob("*.py"):
        if _top(path) not in NO_HEAVY:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only; lazy imports inside functions are fine
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in HEAVY:
                    bad.append(f"{path.relative_to(PKG.parent)}:{node.lineno} imports {n}")
    assert not bad, "\n".join(bad)


def test_layering_check_catches_an_upward_import(tmp_path):
    # the checker itself must be able to fail: an eval module importing train is flagged
    fake = tmp_path / "x.py"
    fake.write_text("from radgrpo.train import grpo\n")
    names = [n for n, _ in _imports(fake)]
    assert names == ["radgrpo.train"]
    assert LAYER["train"] >= LAYER["eval"] and ("eval", "train") in FORBIDDEN
