"""Golden tests: each source's ``iter_rows`` on a fixture dir in the real layout reproduces the written labels, texts
and boxes (to 2 decimals) and counts every awkward row under its reason.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/sources/test_common.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures"))

from grounding_layouts import (
    write_chest_imagenome,
    write_ms_cxr,
    write_padchest_gr,
    write_vindr,
)
from source_layouts import write_chexpert, write_chexpert_plus, write_mimic

from radgrpo.data.sources import (
    chest_imagenome,
    chexpert,
    chexpert_plus,
    mimic_cxr,
    ms_cxr,
    padchest_gr,
    vindr_cxr,
)
from radgrpo.data.sources.common import DropCounter


def _close(a, b, nd=2):
    return [tuple(round(v, nd) for v in x) for x in a] == [tuple(round(v, nd) for v in x) for x in b]


@pytest.mark.parametrize("reports", ["filtered", "csv", "raw"])
def test_mimic_rows_golden(tmp_path, reports):
    truth = write_mimic(tmp_path, reports=reports)
    drops = DropCounter()
    rows = {r["dicom_id"]: r for r in mimic_cxr.iter_rows(tmp_path, drops, require_report=True)}
    assert set(rows) == set(truth["rows"])
    for d, exp in truth["rows"].items():
        r = rows[d]
        assert (r["split"], r["subject_id"], r["study_id"], r["view"]) == (
            exp["split"],
            exp["subject_id"],
            exp["study_id"],
            exp["view"],
        )
        assert r["labels"] == exp["labels"]
        assert r["report"] == (exp["report"] if reports != "raw" else exp["report"])
        assert Path(r["image"]) == Path(exp["image"])
    assert drops.counts == truth["drops"]


def test_mimic_uncertainty_policies(tmp_path):
    write_mimic(tmp_path, awkward=False)
    keep = {
        r["dicom_id"]: r["labels"]
        for r in mimic_cxr.iter_rows(tmp_path, DropCounter(), uncertain="keep", blank_as_negative=False)
    }
    pos = {r["dicom_id"]: r["labels"] for r in mimic_cxr.iter_rows(tmp_path, DropCounter())}
    n_unc = sum(v == -1 for lab in keep.values() for v in lab.values())
    assert n_unc > 0
    for d in keep:
        for k, v in keep[d].items():
            assert pos[d][k] == (1 if v == -1 else v)
        assert set(pos[d]) - set(keep[d])  # blanks are absent with blank_as_negative=False, 0 otherwise
        assert all(pos[d][k] == 0 for k in set(pos[d]) - set(keep[d]))


def test_mimic_official_split_is_patient_level(tmp_path):
    write_mimic(tmp_path, n_subjects=12)
    split_of: dict[str, set] = {}
    for r in mimic_cxr.iter_rows(tmp_path, DropCounter()):
        split_of.setdefault(r["subject_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    assert {"train", "test"} <= set().union(*split_of.values())


def test_chexpert_rows_golden(tmp_path):
    truth = write_chexpert(tmp_path)
    drops = DropCounter()
    rows = {r["path"]: r for r in chexpert.iter_rows(tmp_path, drops)}
    assert set(rows) == set(truth["rows"])
    for p, exp in truth["rows"].items():
        assert rows[p]["labels"] == exp["labels"] and rows[p]["patient_id"] == exp["patient_id"]
    first = rows["train/patient00001/study1/view1_frontal.jpg"]["labels"]
    assert first["Edema"] == 0 and first["Support Devices"] == 1 and first["No Finding"] == 1
    assert drops.counts == truth["drops"]


def test_chexpert_plus_rows_golden(tmp_path):
    truth = write_chexpert_plus(tmp_path)
    drops = DropCounter()
    rows = {r["path"]: r for r in chexpert_plus.iter_rows(tmp_path, drops)}
    assert set(rows) == set(truth["rows"])
    for p, exp in truth["rows"].items():
        assert rows[p]["report"] == exp["report"]
        assert rows[p]["labels"] == exp["labels"]
    assert drops.counts == truth["drops"]
    capped = next(chexpert_plus.iter_rows(tmp_path, DropCounter(), capitalize=True))["report"]
    assert capped == capped.capitalize() and capped != next(iter(rows.values()))["report"]


def test_chest_imagenome_rows_golden(tmp_path):
    mimic = write_mimic(tmp_path / "mimic", awkward=False)
    truth = write_chest_imagenome(tmp_path / "ci", mimic["frontal_meta"])
    drops = DropCounter()
    rows = {r["dicom_id"]: r for r in chest_imagenome.iter_rows(tmp_path / "ci", tmp_path / "mimic", drops)}
    assert set(rows) == set(truth["rows"])
    for d, exp in truth["rows"].items():
        got = dict(rows[d]["regions"])
        assert set(got) == set(exp["regions"])
        for name, box in exp["regions"].items():
            assert _close([got[name]], [box], nd=6)
            assert all(0.0 <= v <= 1.0 for v in got[name])
    assert drops.counts == truth["drops"]
    assert drops.notes["box_clipped"] == 1


def test_vindr_rows_golden_wbf(tmp_path):
    truth = write_vindr(tmp_path)
    drops = DropCounter()
    rows = {r["image_id"]: r for r in vindr_cxr.iter_rows(tmp_path, drops)}
    assert set(rows) == set(truth["rows"])
    for i, exp in truth["rows"].items():
        assert (rows[i]["rows"], rows[i]["columns"]) == (exp["rows"], exp["columns"])  # from the DICOM header
        assert list(rows[i]["findings"]) == list(exp["findings"])
        for cls, boxes in exp["findings"].items():
            assert _close(rows[i]["findings"][cls], boxes, nd=3)
    assert drops.counts == truth["drops"]
    assert drops.notes["resolution_from_dicom"] == len(truth["rows"])
    assert drops.notes["box_clipped"] == 1


def test_vindr_convert_images_writes_complete_resolutions(tmp_path):
    truth = write_vindr(tmp_path, images=False)
    drops = DropCounter()
    first = vindr_cxr.convert_images(tmp_path, "train", drops, size=32)
    again = vindr_cxr.convert_images(tmp_path, "train", drops, size=32)  # re-run: all skipped, JSON still complete
    assert first == again == {i: [e["rows"], e["columns"]] for i, e in truth["rows"].items()}
    import json

    assert json.loads(vindr_cxr.resolutions_path(tmp_path, "train").read_text()) == first
    drops2 = DropCounter()
    assert len(list(vindr_cxr.iter_rows(tmp_path, drops2))) == len(truth["rows"])
    assert "resolution_from_dicom" not in drops2.notes
    (tmp_path / "train" / "broken.dicom").write_bytes(b"not a dicom")
    d3 = DropCounter()
    vindr_cxr.convert_images(tmp_path, "train", d3, size=32)
    assert d3.counts == {"unreadable_dicom": 1}


@pytest.mark.parametrize("version", ["1.1.0", "1.0.0"])
def test_ms_cxr_rows_golden(tmp_path, version):
    mimic = write_mimic(tmp_path / "mimic", awkward=False)
    truth = write_ms_cxr(tmp_path / "ms", mimic["frontal_meta"], version=version)
    drops = DropCounter()
    rows = {
        (r["dicom_id"], r["phrase"]): r
        for r in ms_cxr.iter_rows(
            tmp_path / "ms", drops, mimic_root=tmp_path / "mimic", splits=("train", "validate", "test")
        )
    }
    assert set(rows) == set(truth["rows"])
    for k, exp in truth["rows"].items():
        assert _close(rows[k]["boxes"], exp["boxes"], nd=6)
        if version == "1.1.0":
            assert rows[k]["split"] == exp["split"]
    assert drops.counts == truth["drops"]


def test_padchest_gr_rows_golden(tmp_path):
    truth = write_padchest_gr(tmp_path)
    drops = DropCounter()
    rows = {r["image_id"]: r for r in padchest_gr.iter_rows(tmp_path, drops, splits=("train", "validate", "test"))}
    assert set(rows) == set(truth["rows"])
    for i, exp in truth["rows"].items():
        assert rows[i]["split"] == exp["split"] and rows[i]["patient_id"] == exp["patient_id"]
        grounded = [f for f in rows[i]["findings"] if f["boxes"]]
        assert len(grounded) == 1 and grounded[0]["phrase"] == "Cardiomegaly."
        assert _close(grounded[0]["boxes"], exp["boxes"], nd=6)
    assert drops.counts == truth["drops"]
    assert drops.notes == {"box_clipped": 1}
