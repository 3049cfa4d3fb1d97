"""DICOM -> 8-bit greyscale image: modality LUT, VOI LUT / windowing, MONOCHROME1 inversion, any bit depth.

What it is: the conversion step VinDr-CXR needs before training (docs/data.md#vindr-cxr). Two modes:

- ``"display"`` (default, our fix of RadVLM's conversion): rescale slope/intercept (modality LUT), then the VOI LUT
  sequence if the file has one, else the first window centre/width (DICOM PS3.3 C.11.2.1.2 linear function), else
  min-max; MONOCHROME1 images are inverted so that air is dark; the result is scaled to uint8.
- ``"radvlm"``: what ``dicom2jpg_vindrcxr.py`` does: the raw ``pixel_array``, min-max scaled to uint8 when it is not
  already 8-bit, no VOI LUT, no inversion. Kept for byte-level parity with RadVLM-trained models.

What it is not: a general DICOM viewer (no multi-frame, no colour, no overlays). Compressed transfer syntaxes need
pydicom's optional decoders (pylibjpeg / gdcm); without them :func:`read_dicom_array` raises ``DicomError`` naming
the package to install, which the VinDr loader counts as ``unreadable_dicom``.

Boxes are never rescaled here: they are normalised by the *original* (Rows, Columns), returned by :func:`convert_dicom`.

Example:
    >>> window_to_uint8(np.array([0.0, 50.0, 100.0]), center=50.5, width=100)
    array([  0, 128, 255], dtype=uint8)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from radgrpo.errors import RadgrpoUserError

MODES = ("display", "radvlm")


class DicomError(RadgrpoUserError, ValueError):
    """A DICOM file that cannot be turned into an image (unreadable, compressed without decoder, not greyscale)."""


def _first(value) -> float:
    """A DS/IS value or the first of a multi-valued one, as float."""
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def minmax_to_uint8(arr: np.ndarray) -> np.ndarray:
    """Linearly scale ``arr`` to 0..255 uint8 (a constant image becomes all zeros).

    Example:
        >>> minmax_to_uint8(np.array([10, 20, 30]))
        array([  0, 128, 255], dtype=uint8)
    """
    a = np.asarray(arr, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, dtype=np.uint8)
    return np.rint((a - lo) / (hi - lo) * 255.0).astype(np.uint8)


def window_to_uint8(arr: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM linear VOI windowing (PS3.3 C.11.2.1.2.1) straight to 0..255.

    Args:
        arr: modality values (after rescale slope/intercept).
        center: window centre.
        width: window width (>= 1).

    Returns:
        uint8 array: values <= c - 0.5 - (w-1)/2 -> 0, values > c - 0.5 + (w-1)/2 -> 255, linear between.

    Example:
        >>> window_to_uint8(np.array([15000.0]), center=15000, width=30000)
        array([128], dtype=uint8)
    """
    if width < 1:
        raise ValueError(f"window width must be >= 1, got {width}")
    a = np.asarray(arr, dtype=np.float64)
    y = ((a - (center - 0.5)) / (width - 1) + 0.5) * 255.0
    return np.rint(np.clip(y, 0.0, 255.0)).astype(np.uint8)


def read_dicom_array(path: str | os.PathLike, mode: str = "display") -> tuple[np.ndarray, dict]:
    """Read a DICOM file into a uint8 greyscale array.

    Args:
        path: the ``.dicom``/``.dcm`` file.
        mode: ``"display"`` (modality LUT, VOI LUT or window, MONOCHROME1 inverted) or ``"radvlm"`` (raw min-max).

    Returns:
        ``(image uint8 (Rows, Columns), info)`` with info keys ``rows, columns, photometric, bits_stored, inverted,
        voi`` (``"lut"``, ``"window"``, ``"minmax"`` or ``"none"``).

    Raises:
        DicomError: the file cannot be read or decoded, or is not single-frame greyscale.

    Example:
        >>> read_dicom_array("missing.dcm")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        DicomError: missing.dcm: cannot read DICOM
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}; valid: {MODES}")
    try:
        import pydicom
        from pydicom.pixels import apply_modality_lut, apply_voi_lut
    except ImportError as e:  # pragma: no cover - pydicom is a declared dependency of the data extra
        raise DicomError("pydicom is needed to read DICOM files: pip install pydicom") from e
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as e:
        raise DicomError(f"{path}: cannot read DICOM ({type(e).__name__}: {e})") from e
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise DicomError(f"{path}: PhotometricInterpretation {photometric!r} is not greyscale")
    try:
        raw = ds.pixel_array
    except Exception as e:
        raise DicomError(
            f"{path}: cannot decode pixel data ({type(e).__name__}: {e}); compressed files need "
            f"`pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg`"
        ) from e
    if raw.ndim != 2:
        raise DicomError(f"{path}: expected one greyscale frame, got pixel array of shape {raw.shape}")
    info = {
        "rows": int(raw.shape[0]),
        "columns": int(raw.shape[1]),
        "photometric": photometric,
        "bits_stored": int(ds.get("BitsStored", raw.dtype.itemsize * 8)),
        "inverted": False,
        "voi": "none",
    }
    if mode == "radvlm":
        img = raw.astype(np.uint8) if raw.dtype == np.uint8 else minmax_to_uint8(raw)
        info["voi"] = "none" if raw.dtype == np.uint8 else "minmax"
        return img, info
    values = apply_modality_lut(raw, ds).astype(np.float64)
    if "VOILUTSequence" in ds:
        img = minmax_to_uint8(apply_voi_lut(values, ds))
        info["voi"] = "lut"
    elif "WindowCenter" in ds and "WindowWidth" in ds and _first(ds.WindowWidth) >= 1:
        img = window_to_uint8(values, _first(ds.WindowCenter), _first(ds.WindowWidth))
        info["voi"] = "window"
    else:
        img = minmax_to_uint8(values)
        info["voi"] = "minmax"
    if photometric == "MONOCHROME1":
        img = 255 - img
        info["inverted"] = True
    return img, info


def convert_dicom(
    src: str | os.PathLike, dst: str | os.PathLike, mode: str = "display", size: int | None = None, quality: int = 95
) -> tuple[int, int]:
    """Convert one DICOM to JPG/PNG (by ``dst`` suffix), written atomically (temp file + rename).

    Args:
        src: the DICOM file.
        dst: output image path (``.jpg``/``.jpeg``/``.png``).
        mode: see :func:`read_dicom_array`.
        size: resize to ``size``×``size`` ignoring aspect (RadVLM uses 512), or keep the original size when None.
        quality: JPEG quality.

    Returns:
        The original ``(Rows, Columns)`` = (height, width) in pixels, by which boxes are normalised.

    Example:
        >>> convert_dicom("missing.dcm", "x.png")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        DicomError: missing.dcm: cannot read DICOM
    """
    from PIL import Image

    img, info = read_dicom_array(src, mode=mode)
    pil = Image.fromarray(img, mode="L")
    if size:
        pil = pil.resize((size, size), Image.Resampling.BILINEAR)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    fmt = "PNG" if dst.suffix.lower() == ".png" else "JPEG"
    pil.save(tmp, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    os.replace(tmp, dst)
    return info["rows"], info["columns"]


def read_dicom_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(Rows, Columns)`` from the header only (no pixel decoding).

    Raises:
        DicomError: unreadable file or no Rows/Columns.

    Example:
        >>> read_dicom_size("missing.dcm")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        DicomError: missing.dcm: cannot read DICOM header
    """
    import pydicom

    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        return int(ds.Rows), int(ds.Columns)
    except Exception as e:
        raise DicomError(f"{path}: cannot read DICOM header ({type(e).__name__}: {e})") from e
