"""DICOM -> uint8 on the real CR chest radiograph RG1_UNCR.dcm (MONOCHROME1, 15-bit) from pydicom-data, plus
synthetic 12-bit MONOCHROME1/2 files written with pydicom.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/test_dicom.py
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from grounding_layouts import write_dicom

from radgrpo.data.dicom import DicomError, convert_dicom, read_dicom_array, read_dicom_size


@pytest.fixture(scope="module")
def rg1():
    import pydicom.data as data  # pydicom-data is a test dependency: its absence fails, never skips

    try:
        return data.get_testdata_file("RG1_UNCR.dcm", download=False)
    except TypeError:  # older pydicom without the download flag
        return data.get_testdata_file("RG1_UNCR.dcm")


def test_rg1_monochrome1_is_windowed_and_inverted(rg1):
    assert rg1, "pydicom-data's RG1_UNCR.dcm is missing (pip install pydicom-data)"
    import pydicom

    raw = pydicom.dcmread(rg1).pixel_array.astype(np.float64)
    img, info = read_dicom_array(rg1)
    assert img.shape == (1955, 1841) and img.dtype == np.uint8
    assert info["photometric"] == "MONOCHROME1" and info["inverted"] and info["voi"] == "window"
    assert info["bits_stored"] == 15
    # hand-computed: window centre 15000, width 30000 -> y = ((x - 14999.5) / 29999 + 0.5) * 255, then inverted
    for r, c in [(0, 0), (977, 920), (1500, 300)]:
        y = min(255.0, max(0.0, ((raw[r, c] - 14999.5) / 29999 + 0.5) * 255))
        assert img[r, c] == 255 - int(np.rint(y))
    # the raw RadVLM mode is plain min-max without inversion: the two are anti-correlated
    rad, rinfo = read_dicom_array(rg1, mode="radvlm")
    assert rinfo["voi"] == "minmax" and not rinfo["inverted"] and rad.min() == 0 and rad.max() == 255
    assert np.corrcoef(rad.ravel()[::97].astype(float), img.ravel()[::97].astype(float))[0, 1] < -0.99
    assert read_dicom_size(rg1) == (1955, 1841)


def test_convert_writes_resized_jpg_and_returns_original_size(rg1, tmp_path):
    assert rg1, "pydicom-data's RG1_UNCR.dcm is missing (pip install pydicom-data)"
    from PIL import Image

    hw = convert_dicom(rg1, tmp_path / "rg1.jpg", size=64)
    assert hw == (1955, 1841)
    im = Image.open(tmp_path / "rg1.jpg")
    assert im.size == (64, 64) and im.mode == "L"
    assert not list(tmp_path.glob("*.tmp"))


def test_12bit_monochrome1_and_2_min_max(tmp_path):
    px = np.array([[0, 1000], [2000, 4095]], dtype=np.uint16)
    write_dicom(tmp_path / "m2.dicom", px, "MONOCHROME2", bits_stored=12)
    write_dicom(tmp_path / "m1.dicom", px, "MONOCHROME1", bits_stored=12)
    m2, i2 = read_dicom_array(tmp_path / "m2.dicom")
    m1, i1 = read_dicom_array(tmp_path / "m1.dicom")
    expect = np.rint(px / 4095 * 255).astype(np.uint8)  # no window in the file -> min-max over 0..4095
    assert (m2 == expect).all() and (m1 == 255 - expect).all()
    assert i2["voi"] == "minmax" and i1["inverted"] and i2["bits_stored"] == 12


def test_unreadable_dicom_raises_clear_error(tmp_path):
    p = tmp_path / "bad.dicom"
    p.write_bytes(b"garbage")
    with pytest.raises(DicomError, match="bad.dicom"):
        read_dicom_array(p)
