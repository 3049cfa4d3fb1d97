"""The evaluation tests' fixtures (tests/eval/conftest.py: ``eval_data``, ``varied_model``) for test modules outside
tests/eval, which bind them by name (a fixture bound in a test module is that module's fixture):

    sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))
    import eval_fixtures
    eval_data = eval_fixtures.eval_data
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("eval_conftest", Path(__file__).parents[1] / "eval" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_eval = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_eval)

eval_data = _eval.eval_data
varied_model = _eval.varied_model
