"""Imports only go downward through radgrpo's layers, nothing private crosses a package, data sources only read.

The rules (each a checker function over a source tree, so the self-tests below run the same code on bad files):

1. Layers (:func:`upward_imports`): a module of the top-level part ``radgrpo.<part>`` may import only parts of its
   own layer or below (:data:`LAYER`), minus the same-layer pairs in :data:`FORBIDDEN` (save the module pairs of
   :data:`FORBIDDEN_EXCEPTIONS`, each with its reason).
2. Private modules and names (:func:`private_imports`). A dotted component starting with ``_`` (not a dunder) is
   private. (a) A private module ``radgrpo.a.b._m`` (or anything below it) may be imported only by modules inside
   the package that holds it, ``radgrpo.a.b`` (its ``__init__`` or any module or sub-package below it).
   (b) A private name ``from radgrpo.a.b import _z`` (``_z`` not a module) may be imported only by the ``__init__``
   of a package that contains ``radgrpo.a.b`` (a package re-exporting its own internals); every other module uses
   public names only. ``from radgrpo.a import _m`` where ``_m`` is a module is rule (a), and so are the names imported
   from a private module.
3. Inside ``radgrpo.data`` (:func:`data_imports`): sources read datasets into raw rows, tasks build records, export
   and build come last; the pairs in :data:`DATA_FORBIDDEN` never import each other in that direction (lazily
   either). Exceptions would be listed with a reason in :data:`DATA_EXCEPTIONS` (there are none).
4. Cheap layers do not import heavy stacks at module level (:func:`heavy_imports`).
5. Nothing imports the command line (:func:`cli_imports`): no module outside ``radgrpo.cli``, no benchmark and no test
   outside ``tests/cli/`` imports ``radgrpo.cli`` (they run a command as a subprocess, or call the ``run_*`` function
   it calls). A command's body lives in its stage package; ``radgrpo.cli`` only parses, calls it and prints.
6. No import cycles between the package's modules (:func:`import_graph`, :func:`import_cycles`): every module's
   imports (lazy ones too) form a graph without a cycle, so each module can be read after the ones it imports.
7. Tests mirror the package (:func:`unmirrored_tests`): ``tests/<package path>/test_<module>[_<aspect>].py`` tests
   ``radgrpo/<package path>/<module>.py`` (or the sub-package ``<module>/``); ``tests/cli/test_<command words>.py``
   tests ``radgrpo/cli/<command words>.py``; ``tests/benchmarks/test_<script>.py`` tests ``benchmarks/<script>.py``.
   A test of an agreement between stages or of the repository itself is listed in :data:`CROSS_CUTTING` with its
   reason. Every test folder is a package (``__init__.py``), so basenames need no prefixes.

Every rule walks the whole AST, so a lazy import inside a function counts the same as a module-level one (except
rule 4, which is about module level only). Relative imports are resolved against the importing module.

Run: pytest tests/test_layering.py
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # the folder that holds the radgrpo package

# top-level module/package -> layer; a module may import only from its own layer or below.
LAYER = {
    "errors": 0,
    "records": 0,
    "boxes": 0,
    "config": 0,
    "configs": 0,
    "chat_client": 0,
    "thinking": 0,
    "data": 1,
    "metrics": 1,
    "models": 1,
    "rewards": 2,
    "train": 3,
    "eval": 3,
    "recipes": 4,
    "serve": 5,
    "cli": 5,
    "integrations": 5,
}
# same-layer imports that are forbidden all the same
FORBIDDEN = {
    ("metrics", "data"),
    ("metrics", "models"),
    ("eval", "rewards"),
    ("eval", "train"),
    ("rewards", "models"),
    ("rewards", "data"),
}
# (importer module, imported module) -> why a FORBIDDEN pair is allowed for it: a name table read, no code of the part
FORBIDDEN_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("radgrpo.eval.report.tables", "radgrpo.rewards.registry"): "Table 3 reads each reward's metric and label from the "
    "reward table (names and strings only; no reward is built or imported)",
}
# (importer package, imported package) inside radgrpo.data: sources < tasks < export, build
DATA_FORBIDDEN = {
    ("radgrpo.data.sources", "radgrpo.data.tasks"),
    ("radgrpo.data.sources", "radgrpo.data.export"),
    ("radgrpo.data.sources", "radgrpo.data.build"),
    ("radgrpo.data.tasks", "radgrpo.data.export"),
    ("radgrpo.data.tasks", "radgrpo.data.build"),
}
# importer module -> why it may break DATA_FORBIDDEN (keep this list short; each entry is a debt to pay off)
DATA_EXCEPTIONS: dict[str, str] = {}  # importer module -> why it may break rule 3 (none today)
# heavy stacks that must stay out of the cheap layers at module level
#: Test files that check an agreement between stages or the repository itself, not one module: path -> why.
CROSS_CUTTING = {
    "tests/test_layering.py": "the import rules and the layout of tests/",
    "tests/test_docs.py": "README.md and docs/ against the code they describe",
    "tests/test_dependencies.py": "every third-party import is a declared dependency",
    "tests/data/test_prompt_owner.py": "the TRL export, the verl export and evaluation send the same user turn",
    "tests/eval/test_real_radiographs.py": "the real NIH radiographs through data, prediction and evaluation",
    "tests/train/test_cluster_configs.py": "the shipped accelerate/DeepSpeed/FSDP launch files and vLLM overlays of GRPO",
    "tests/train/test_multiprocess.py": "GRPO under a two-process accelerate launch",
    "tests/train/test_resume_kill.py": "SFT and GRPO killed after a checkpoint resume step for step",
    "tests/train/test_thinking_modes.py": "one thinking mode from training presets through the cold-start mix to the rewards",
}

HEAVY = {"trl", "fastapi", "uvicorn"}
NO_HEAVY = {"records", "boxes", "config", "chat_client", "metrics", "rewards", "data"}


# ---- the checker ----


def python_files(root: Path) -> list[Path]:
    """All ``.py`` files of the ``radgrpo`` package under ``root``, sorted."""
    return sorted((root / "radgrpo").rglob("*.py"))


def module_name(path: Path, root: Path) -> str:
    """``root/radgrpo/data/build.py`` -> ``radgrpo.data.build``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def is_module(name: str, root: Path) -> bool:
    """Whether ``name`` (dotted) is a module or package in the tree under ``root``."""
    p = root.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def within(name: str, package: str) -> bool:
    """``name`` is ``package`` or lies below it (dotted names)."""
    return name == package or name.startswith(package + ".")


def iter_imports(path: Path, root: Path) -> Iterator[tuple[str, list[str], ast.stmt]]:
    """Every import of ``path`` anywhere in its AST as ``(absolute module, imported names, node)``.

    ``import a.b`` gives ``("a.b", [], node)``; ``from a.b import c, d`` gives ``("a.b", ["c", "d"], node)``;
    relative imports are resolved against the importing module's package.
    """
    me = module_name(path, root).split(".")
    package = me if is_package(path) else me[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, [a.name for a in node.names], node


def imported_modules(module: str, names: list[str], root: Path) -> list[str]:
    """The modules an import statement brings in: ``module`` plus each ``module.name`` that is a module itself."""
    return [module] + [f"{module}.{n}" for n in names if is_module(f"{module}.{n}", root)]


def _where(path: Path, root: Path, node: ast.stmt) -> str:
    return f"{path.relative_to(root)}:{node.lineno}"


def upward_imports(root: Path, files: Iterable[Path] | None = None) -> list[str]:
    """Rule 1: imports of a higher layer, or of a same-layer part listed in :data:`FORBIDDEN`."""
    bad = []
    for path in python_files(root) if files is None else files:
        me = module_name(path, root).split(".")
        if len(me) < 2:  # radgrpo/__init__.py
            continue
        for module, _, node in iter_imports(path, root):
            parts = module.split(".")
            if parts[0] != "radgrpo" or len(parts) < 2 or parts[1] not in LAYER or me[1] not in LAYER:
                continue
            other = parts[1]
            if (".".join(me), module) in FORBIDDEN_EXCEPTIONS and LAYER[other] <= LAYER[me[1]]:
                continue
            if LAYER[other] > LAYER[me[1]] or (me[1], other) in FORBIDDEN:
                bad.append(f"{_where(path, root, node)} {me[1]} -> {other}")
    return bad


def private_imports(root: Path, files: Iterable[Path] | None = None) -> list[str]:
    """Rule 2: private modules imported from outside their package, private names imported from another module."""
    bad = []
    for path in python_files(root) if files is None else files:
        me = module_name(path, root)
        for module, names, node in iter_imports(path, root):
            if not within(module, "radgrpo"):
                continue
            targets = [module] + [f"{module}.{n}" for n in names if is_private(n) and is_module(f"{module}.{n}", root)]
            for target in targets:
                parts = target.split(".")
                first = next((i for i, p in enumerate(parts) if is_private(p)), None)
                if first is not None and not within(me, ".".join(parts[:first])):
                    bad.append(f"{_where(path, root, node)} {me} imports private module {target}")
            for n in names:
                if (
                    not is_private(n)
                    or is_module(f"{module}.{n}", root)
                    or any(is_private(p) for p in module.split("."))
                ):
                    continue  # a private module (above), or a name of a private module (counted once, above)
                if not (is_package(path) and within(module, me) and module != me):
                    bad.append(f"{_where(path, root, node)} {me} imports private name {module}.{n}")
    return bad


def data_imports(
    root: Path, files: Iterable[Path] | None = None, exceptions: Iterable[str] = tuple(DATA_EXCEPTIONS)
) -> list[str]:
    """Rule 3: inside ``radgrpo.data``, the (importer, imported) package pairs of :data:`DATA_FORBIDDEN`, except for
    the importer modules in ``exceptions``."""
    bad = []
    allowed = set(exceptions)
    for path in python_files(root) if files is None else files:
        me = module_name(path, root)
        if me in allowed:
            continue
        for module, names, node in iter_imports(path, root):
            targets = imported_modules(module, names, root)
            for low, high in sorted(DATA_FORBIDDEN):
                hits = [t for t in targets if within(t, high)]
                if within(me, low) and hits:  # one report per statement, naming the deepest module
                    target = max(hits, key=len)
                    bad.append(f"{_where(path, root, node)} {me} -> {target} ({low} must not import {high})")
    return bad


def heavy_imports(root: Path, files: Iterable[Path] | None = None) -> list[str]:
    """Rule 4: module-level imports of :data:`HEAVY` stacks in the :data:`NO_HEAVY` parts."""
    bad = []
    for path in python_files(root) if files is None else files:
        me = module_name(path, root).split(".")
        if len(me) < 2 or me[1] not in NO_HEAVY:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in HEAVY:
                    bad.append(f"{_where(path, root, node)} imports {n}")
    return bad


def cli_imports(root: Path, files: Iterable[Path] | None = None) -> list[str]:
    """Rule 5: imports of ``radgrpo.cli`` (or below) by a ``.py`` file under ``root/radgrpo`` outside ``radgrpo/cli``,
    under ``root/benchmarks``, or under ``root/tests`` outside ``tests/cli``; ``files`` (default: all of those)."""
    if files is None:
        files = [p for p in python_files(root) if not within(module_name(p, root), "radgrpo.cli")]
        files += sorted((root / "benchmarks").rglob("*.py")) + sorted((root / "tests").rglob("*.py"))
        files = [p for p in files if (root / "tests" / "cli") not in p.parents]
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue  # a relative import stays inside its package
            if any(within(m, "radgrpo.cli") for m in modules):
                bad.append(f"{_where(path, root, node)} imports radgrpo.cli")
    return bad


def import_graph(root: Path, files: Iterable[Path] | None = None) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in its AST). ``from a import b`` imports the module
    ``a.b`` when there is one (``import a.b``), else the name ``b`` of ``a``; a package's parents, which Python imports
    first, are not edges."""
    graph: dict[str, set[str]] = {}
    for path in python_files(root) if files is None else files:
        me = module_name(path, root)
        edges = graph.setdefault(me, set())
        for module, names, _ in iter_imports(path, root):
            submodules = [f"{module}.{n}" for n in names if is_module(f"{module}.{n}", root)]
            targets = submodules + ([module] if len(submodules) < max(1, len(names)) else [])
            edges.update(t for t in targets if is_module(t, root) and t != me)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of two or more modules, each sorted, in
    sorted order (Tarjan's algorithm, iterative). An edge to a module outside the graph is ignored."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


# ---- the rules on the real tree ----


def mirrored_module(test: Path, root: Path) -> Path | None:
    """The module a test file mirrors (rule 7), or ``None``: ``tests/eval/test_generate_resume.py`` ->
    ``radgrpo/eval/generate.py`` (the longest module name that the stem equals or starts with, then ``_``)."""
    rel = test.relative_to(root / "tests").parent
    if test.parent == root / "tests" / "benchmarks":
        src = root / "benchmarks"
    else:
        src = root / "radgrpo" / rel
    if not src.is_dir() or not test.stem.startswith("test_"):
        return None
    stem = test.stem[len("test_") :]
    names = {p.stem: p for p in src.glob("*.py") if p.stem != "__init__"}
    names.update({p.name: p for p in src.iterdir() if (p / "__init__.py").is_file()})
    hits = [m for m in names if stem == m or stem.startswith(m + "_")]
    return names[max(hits, key=len)] if hits else None


def unmirrored_tests(root: Path) -> list[str]:
    """Test files that mirror no module and are not in :data:`CROSS_CUTTING`, and test folders without an
    ``__init__.py`` (rule 7)."""
    bad = []
    for test in sorted((root / "tests").rglob("test_*.py")):
        rel = test.relative_to(root).as_posix()
        if rel not in CROSS_CUTTING and mirrored_module(test, root) is None:
            bad.append(
                f"{rel}: mirrors no module (name it tests/<package>/test_<module>.py or list it in CROSS_CUTTING)"
            )
        for folder in test.relative_to(root).parents[:-1]:
            if not (root / folder / "__init__.py").is_file():
                bad.append(f"{folder.as_posix()}: a test folder without __init__.py")
    return sorted(set(bad))


def test_tests_mirror_the_package():
    assert unmirrored_tests(ROOT) == []
    assert [p for p in CROSS_CUTTING if not (ROOT / p).is_file()] == []


def test_mirror_rule_on_a_small_tree(tmp_path):
    for f in (
        "radgrpo/eval/generate.py",
        "radgrpo/eval/report/html.py",
        "radgrpo/eval/report/__init__.py",
        "benchmarks/gpu_check.py",
        "tests/__init__.py",
        "tests/eval/__init__.py",
    ):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("")
    tests = tmp_path / "tests"
    assert (
        mirrored_module(tests / "eval" / "test_generate_resume.py", tmp_path) == tmp_path / "radgrpo/eval/generate.py"
    )
    assert mirrored_module(tests / "eval" / "test_report.py", tmp_path) == tmp_path / "radgrpo/eval/report"
    assert mirrored_module(tests / "benchmarks" / "test_gpu_check.py", tmp_path) == tmp_path / "benchmarks/gpu_check.py"
    assert mirrored_module(tests / "eval" / "test_eval_generate.py", tmp_path) is None  # a prefix, not a module
    assert mirrored_module(tests / "eval" / "test_generator.py", tmp_path) is None
    (tests / "eval" / "test_generate.py").write_text("")
    (tests / "eval" / "report").mkdir()
    (tests / "eval" / "report" / "test_html.py").write_text("")
    (tests / "test_stray.py").write_text("")
    assert unmirrored_tests(tmp_path) == [
        "tests/eval/report: a test folder without __init__.py",
        "tests/test_stray.py: mirrors no module (name it tests/<package>/test_<module>.py or list it in CROSS_CUTTING)",
    ]


def test_every_module_has_a_layer():
    tops = {module_name(p, ROOT).split(".")[1] for p in python_files(ROOT) if module_name(p, ROOT) != "radgrpo"}
    assert tops <= set(LAYER), f"modules without a layer: {sorted(tops - set(LAYER))}"


def test_imports_only_go_downward():
    bad = upward_imports(ROOT)
    assert not bad, "upward or forbidden imports:\n" + "\n".join(bad)


def test_no_private_imports_across_packages():
    bad = private_imports(ROOT)
    assert not bad, "private imports across packages:\n" + "\n".join(bad)


def test_data_sources_only_read():
    bad = data_imports(ROOT)
    assert not bad, "imports against the data flow (sources < tasks < export, build):\n" + "\n".join(bad)


def test_cheap_layers_do_not_import_heavy_stacks_at_module_level():
    bad = heavy_imports(ROOT)
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_command_line():
    bad = cli_imports(ROOT)
    assert not bad, "imports of radgrpo.cli outside radgrpo/cli and tests/cli:\n" + "\n".join(bad)


def test_no_import_cycles():
    cycles = import_cycles(import_graph(ROOT))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


# ---- the checker can fail: the same functions on a small tree of bad and good files ----


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        for parent in p.relative_to(tmp_path).parents:  # every folder is a package
            if str(parent) != ".":
                (tmp_path / parent / "__init__.py").touch()
        p.write_text(text)
    return tmp_path


PACKAGES = {  # the modules the bad and good files import, so that module resolution sees them
    "radgrpo/train/grpo.py": "",
    "radgrpo/data/prompts.py": "",
    "radgrpo/data/sources/_common.py": "",
    "radgrpo/data/sources/common.py": "",
    "radgrpo/data/tasks/source_records.py": "",
    "radgrpo/models/tiny.py": "def _helper():\n    pass\n",
}


def test_checker_reports_an_upward_and_a_forbidden_same_layer_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            **PACKAGES,
            "radgrpo/eval/up.py": "from radgrpo.train import grpo\n",
            "radgrpo/metrics/side.py": "def f():\n    import radgrpo.data.prompts\n",
            "radgrpo/data/rel.py": "from ..train import grpo\n",
        },
    )
    assert sorted(upward_imports(root)) == [
        "radgrpo/data/rel.py:1 data -> train",
        "radgrpo/eval/up.py:1 eval -> train",
        "radgrpo/metrics/side.py:2 metrics -> data",
    ]


def test_checker_reports_private_imports(tmp_path):
    root = _tree(
        tmp_path,
        {
            **PACKAGES,
            "radgrpo/data/build.py": "from radgrpo.data.sources._common import DropCounter\n",
            "radgrpo/train/common.py": "def f():\n    from radgrpo.models.tiny import _helper\n",
            "radgrpo/models/qwen3_vl.py": "from radgrpo.models.tiny import _helper\n",
            "radgrpo/cli/x.py": "from radgrpo.data.sources import _common\n",
        },
    )
    assert sorted(private_imports(root)) == [
        "radgrpo/cli/x.py:1 radgrpo.cli.x imports private module radgrpo.data.sources._common",
        "radgrpo/data/build.py:1 radgrpo.data.build imports private module radgrpo.data.sources._common",
        "radgrpo/models/qwen3_vl.py:1 radgrpo.models.qwen3_vl imports private name radgrpo.models.tiny._helper",
        "radgrpo/train/common.py:2 radgrpo.train.common imports private name radgrpo.models.tiny._helper",
    ]


def test_checker_reports_a_lazy_sources_to_tasks_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            **PACKAGES,
            "radgrpo/data/sources/mimic.py": ("def to_records():\n    from radgrpo.data.tasks import source_records\n"),
            "radgrpo/data/sources/other.py": "from radgrpo.data import tasks\n",
            "radgrpo/data/synth.py": "from radgrpo.data import tasks\n",
        },
    )  # above both: allowed
    assert sorted(data_imports(root)) == [
        "radgrpo/data/sources/mimic.py:2 radgrpo.data.sources.mimic -> radgrpo.data.tasks.source_records "
        "(radgrpo.data.sources must not import radgrpo.data.tasks)",
        "radgrpo/data/sources/other.py:1 radgrpo.data.sources.other -> radgrpo.data.tasks "
        "(radgrpo.data.sources must not import radgrpo.data.tasks)",
    ]
    # a listed exception is skipped, and only that one
    assert data_imports(root, exceptions=("radgrpo.data.sources.other",)) == [
        "radgrpo/data/sources/mimic.py:2 radgrpo.data.sources.mimic -> radgrpo.data.tasks.source_records "
        "(radgrpo.data.sources must not import radgrpo.data.tasks)"
    ]


def test_checker_reports_a_heavy_module_level_import_only(tmp_path):
    root = _tree(
        tmp_path,
        {
            "radgrpo/metrics/h.py": "import trl\n\n\ndef f():\n    import fastapi\n",
            "radgrpo/train/t.py": "import trl\n",
        },
    )
    assert heavy_imports(root) == ["radgrpo/metrics/h.py:1 imports trl"]


@pytest.mark.parametrize("check", [upward_imports, private_imports, data_imports, heavy_imports])
def test_checker_accepts_good_files(tmp_path, check):
    root = _tree(
        tmp_path,
        {
            **PACKAGES,
            # a private module from inside its own package, lazily too
            "radgrpo/data/sources/mimic.py": (
                "from radgrpo.data.sources._common import x\ndef f():\n    from ._common import y\n"
            ),
            # a package __init__ re-exporting a private name of its own sub-module
            "radgrpo/models/__init__.py": "from radgrpo.models.tiny import _helper\n",
            # tasks use the sources' public API; eval may use data; dunders are not private
            "radgrpo/data/tasks/build.py": "from radgrpo.data.sources.common import DropCounter\n",
            "radgrpo/eval/e.py": "from radgrpo.data import prompts\nfrom radgrpo import __name__\n",
            "radgrpo/train/t.py": "import trl\nfrom radgrpo.models import tiny\n",
            "radgrpo/metrics/lazy.py": "def f():\n    import trl\n",
        },
    )
    assert check(root) == []


def test_cycle_finder_on_a_small_graph():
    graph = {
        "a": {"b"},
        "b": {"c", "x"},  # x: outside the graph, ignored
        "c": {"a", "d"},
        "d": {"e"},
        "e": {"d"},
        "f": {"a", "f"},  # a self-edge is no cycle
        "g": set(),
    }
    assert import_cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_checker_reports_an_import_cycle_and_imports_of_the_cli(tmp_path):
    root = _tree(
        tmp_path,
        {
            "radgrpo/recipes/demo/stages.py": "def f():\n    from radgrpo.recipes.demo import thinking\n",
            "radgrpo/recipes/demo/thinking.py": "from radgrpo.recipes.demo.stages import f\n",
            "radgrpo/recipes/demo/notes.py": "from radgrpo.recipes.demo.stages import f\n",
            "radgrpo/cli/demo.py": "from radgrpo.recipes.demo.thinking import f\n",
            "radgrpo/cli/main.py": "def main():\n    from radgrpo.cli import demo\n",
            "radgrpo/eval/run.py": "def main():\n    from radgrpo.cli.main import main\n",
            "benchmarks/bench.py": "import radgrpo.cli.main\n",
            "tests/test_x.py": "from radgrpo.cli import main\n",
            "tests/cli/test_demo.py": "from radgrpo.cli.main import main\n",
        },
    )
    assert import_cycles(import_graph(root)) == [["radgrpo.recipes.demo.stages", "radgrpo.recipes.demo.thinking"]]
    assert cli_imports(root) == [
        "radgrpo/eval/run.py:2 imports radgrpo.cli",
        "benchmarks/bench.py:1 imports radgrpo.cli",
        "tests/test_x.py:1 imports radgrpo.cli",
    ]
