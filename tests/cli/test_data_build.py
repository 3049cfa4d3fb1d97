"""``radgrpo data validate`` and ``radgrpo data build`` on fixture roots of all seven sources: exit codes 0 / 1 / 2,
the missing roots printed, the statistics tables. (``build_dataset`` itself: tests/data/test_build.py.)

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_data_build.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data" / "fixtures"))

from grounding_layouts import write_chest_imagenome, write_ms_cxr, write_padchest_gr, write_vindr
from source_layouts import write_chexpert, write_chexpert_plus, write_mimic

from radgrpo.cli.main import main


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """The seven dataset roots as ``--<source>_root`` flag values (the fixture layouts of tests/data/test_build.py)."""
    base = tmp_path_factory.mktemp("roots")
    mimic = write_mimic(base / "mimic", n_subjects=10)
    write_chexpert(base / "chexpert")
    write_chexpert_plus(base / "chexpert")
    write_chest_imagenome(base / "ci", mimic["frontal_meta"])
    write_vindr(base / "vindr", images=False)
    write_ms_cxr(base / "ms", mimic["frontal_meta"])
    write_padchest_gr(base / "pc")
    flags = {
        "mimic_cxr_root": base / "mimic",
        "chexpert_root": base / "chexpert",
        "chexpert_plus_root": base / "chexpert",
        "chest_imagenome_root": base / "ci",
        "vindr_cxr_root": base / "vindr",
        "ms_cxr_root": base / "ms",
        "padchest_gr_root": base / "pc",
    }
    return {k: str(v) for k, v in flags.items()}


def test_cli_validate_and_build(roots, tmp_path, capsys):
    args = [x for k, v in roots.items() for x in (f"--{k}", v)]
    assert main(["data", "validate", *args, "--vindr_convert"]) == 0
    assert main(["data", "validate", "--chexpert_root", str(tmp_path / "nope")]) == 1
    import importlib.util

    if importlib.util.find_spec("radgrpo.data.export.trl") is None:
        assert main(["data", "validate", *args, "--vindr_convert", "--exports", "trl"]) == 1
        assert "--exports trl needs" in capsys.readouterr().out
    assert "chexpert: " in capsys.readouterr().out
    assert main(["data", "build", "--out", str(tmp_path / "cli"), "--chexpert_root", str(tmp_path / "nope")]) == 2
    assert "dataset roots are not ready" in capsys.readouterr().err
    out = str(tmp_path / "cli")
    flags = ["--vindr_convert", "--out", out, "--exports", "records", "--progress", "false"]
    assert main(["data", "build", *args, *flags]) == 0
    text = capsys.readouterr().out
    assert "records per source" in text and "missing_image: 1" in text
