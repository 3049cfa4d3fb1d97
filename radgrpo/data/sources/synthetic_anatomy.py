"""Geometry of the synthetic chest phantom: jittered anatomy, pixel masks of its parts and anatomical region boxes.

What it is: the anatomy half of the synthetic data source (docs/data.md#synthetic-generator): :class:`Anatomy`
(lungs, heart, body, mediastinum, trachea, clavicles in normalised image units), the boolean masks that
:func:`radgrpo.data.sources.synthetic_draw.render` paints, and :func:`region_boxes`, the boxes of Chest
ImaGenome-style anatomical regions computed FROM those masks (lungs, lung zones, apical zones, costophrenic angles,
hemidiaphragms, cardiac silhouette, mediastinum, upper mediastinum, trachea, clavicles), which give anatomical grounding
an exact ground truth.

Convention: the patient's RIGHT side is on the IMAGE LEFT (box centre x < 0.5). Boxes are normalised [0, 1] xyxy with
pixel-edge coordinates (x2 = (last column + 1) / width).

What it is not: the renderer or the findings (:mod:`radgrpo.data.sources.synthetic_draw`); not a realistic model of
the 29 Chest ImaGenome regions (a subset of them, with simple geometric definitions given in :func:`region_masks`).

Example:
    >>> a = sample_anatomy(np.random.default_rng(0))
    >>> b = region_boxes(a, 64)
    >>> b["right lung"][0] < 0.5 < b["left lung"][2], b["trachea"][1] < b["cardiac silhouette"][1]
    (True, True)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]

#: Anatomical regions :func:`region_boxes` returns (Chest ImaGenome names), in this order.
ANATOMICAL_REGIONS: tuple[str, ...] = (
    "right lung",
    "left lung",
    "right upper lung zone",
    "left upper lung zone",
    "right mid lung zone",
    "left mid lung zone",
    "right lower lung zone",
    "left lower lung zone",
    "right apical zone",
    "left apical zone",
    "right costophrenic angle",
    "left costophrenic angle",
    "right hemidiaphragm",
    "left hemidiaphragm",
    "cardiac silhouette",
    "mediastinum",
    "upper mediastinum",
    "trachea",
    "right clavicle",
    "left clavicle",
)
_SIDE_SIGN = {"right": -1.0, "left": 1.0}  # patient side -> image direction from the midline


@dataclass
class Anatomy:
    """Jittered geometry of one phantom, in normalised image units (x right, y down, both in [0, 1]).

    Attributes:
        cx, cy: thorax centre. s: global scale. body: (cx, cy, ax, ay) body ellipse.
        lungs: patient side -> (cx, cy, a, b) lung ellipse (cut below by its diaphragm dome).
        heart: (cx, cy, a, b) normal heart ellipse; heart_big: half-axes (a, b) used for cardiomegaly.
        contrast, offset: linear intensity jitter applied before noise.
    """

    cx: float
    cy: float
    s: float
    body: tuple[float, float, float, float]
    lungs: dict[str, tuple[float, float, float, float]]
    heart: tuple[float, float, float, float]
    heart_big: tuple[float, float]
    contrast: float
    offset: float
    rib_phase: float
    rib_period: float


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw the jittered anatomy of one study.

    Args:
        rng: the study's anatomy stream.

    Returns:
        An :class:`Anatomy`. The right lung (image left) is wider and shorter; the right dome sits higher.

    Example:
        >>> a = sample_anatomy(np.random.default_rng(0))
        >>> a.lungs["right"][0] < 0.5 < a.lungs["left"][0]
        True
    """
    u = rng.uniform
    s = u(0.9, 1.04)
    cx, cy = 0.5 + u(-0.03, 0.03), 0.5 + u(-0.03, 0.03)
    body = (cx, cy + 0.06 * s, 0.43 * s, 0.56 * s)
    lungs = {
        "right": (cx - 0.18 * s, cy - 0.04 * s, 0.145 * s * u(0.96, 1.04), 0.29 * s * u(0.96, 1.04)),
        "left": (cx + 0.18 * s, cy - 0.025 * s, 0.135 * s * u(0.96, 1.04), 0.305 * s * u(0.96, 1.04)),
    }
    heart = (
        cx + 0.06 * s + u(-0.012, 0.012),
        cy + 0.13 * s + u(-0.01, 0.01),
        0.125 * s * u(0.92, 1.06),
        0.095 * s * u(0.92, 1.06),
    )
    heart_big = (0.2 * s * u(0.97, 1.12), 0.125 * s * u(0.95, 1.08))
    return Anatomy(
        cx=cx,
        cy=cy,
        s=s,
        body=body,
        lungs=lungs,
        heart=heart,
        heart_big=heart_big,
        contrast=u(0.9, 1.1),
        offset=u(-0.04, 0.04),
        rib_phase=u(0, 1),
        rib_period=0.075 * s,
    )


def lung_zone_y(lung: tuple[float, float, float, float], zone: str) -> float:
    """Centre y of a lung zone ("apical", "upper", "mid", "lower", "base") for a lung ellipse.

    Example:
        >>> lung_zone_y((0.3, 0.5, 0.1, 0.3), "upper") < lung_zone_y((0.3, 0.5, 0.1, 0.3), "lower")
        True
    """
    _, cy, _, b = lung
    return cy + b * {"apical": -0.72, "upper": -0.5, "mid": -0.05, "lower": 0.36, "base": 0.5}[zone]


@functools.lru_cache(maxsize=8)
def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates normalised to [0, 1]: x of shape (1, size), y of shape (size, 1), float32."""
    v = (np.arange(size, dtype=np.float32) + 0.5) / size
    return v[None, :], v[:, None]


def ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, a: float, b: float) -> np.ndarray:
    """((x-cx)/a)^2 + ((y-cy)/b)^2 on the grid (< 1 inside)."""
    return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2


def mask_box(mask: np.ndarray) -> Box | None:
    """Normalised xyxy bounding box of the True pixels (pixel edges: x2 = (last column + 1) / width), or None.

    Example:
        >>> m = np.zeros((4, 8), bool); m[1:3, 2:4] = True
        >>> mask_box(m), mask_box(np.zeros((2, 2), bool))
        ((0.25, 0.25, 0.5, 0.75), None)
    """
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    h, w = mask.shape
    return (float(cols[0] / w), float(rows[0] / h), float((cols[-1] + 1) / w), float((rows[-1] + 1) / h))


def drawn_box(mask: np.ndarray, message: str) -> Box:
    """:func:`mask_box` of a mask that must have pixels (normalised xyxy); ``RuntimeError(message)`` when it is empty.

    Example:
        >>> m = np.zeros((4, 8), bool); m[1:3, 2:4] = True
        >>> drawn_box(m, "the heart drew no pixels")
        (0.25, 0.25, 0.5, 0.75)
    """
    box = mask_box(mask)
    if box is None:
        raise RuntimeError(message)
    return box


def lung_masks(anat: Anatomy, size: int) -> dict[str, np.ndarray]:
    """Boolean lung masks per patient side: the lung ellipse cut below by a diaphragm dome.

    Example:
        >>> m = lung_masks(sample_anatomy(np.random.default_rng(0)), 64)
        >>> bool(m["right"][:, :32].sum() > m["right"][:, 32:].sum())
        True
    """
    x, y = grid(size)
    out = {}
    for side, (lx, ly, a, b) in anat.lungs.items():
        dome_top = 0.6 if side == "right" else 0.66  # the right hemidiaphragm sits higher
        dome = ly + b * (dome_top + 0.28 * ((x - lx) / a) ** 2)
        out[side] = (ellipse(x, y, lx, ly, a, b) < 1.0) & (y < dome)
    return out


def body_mask(anat: Anatomy, size: int) -> np.ndarray:
    """Boolean mask of the body ellipse.

    Example:
        >>> bool(body_mask(sample_anatomy(np.random.default_rng(0)), 32)[16, 16])
        True
    """
    x, y = grid(size)
    return ellipse(x, y, *anat.body) < 1.0


def mediastinum_mask(anat: Anatomy, size: int) -> np.ndarray:
    """The bright vertical spine/mediastinum column through the body.

    Example:
        >>> m = mediastinum_mask(sample_anatomy(np.random.default_rng(0)), 64)
        >>> bool(m[30, 32]), bool(m[30, 5])
        (True, False)
    """
    x, y = grid(size)
    return (np.abs(x - anat.cx) < 0.055 * anat.s) & (y > anat.cy - 0.4 * anat.s) & (y < anat.cy + 0.55 * anat.s)


def clavicle_masks(anat: Anatomy, size: int) -> dict[str, np.ndarray]:
    """Thin bands from the sternal end outwards and slightly up, over the lung apices, per patient side.

    Example:
        >>> m = clavicle_masks(sample_anatomy(np.random.default_rng(0)), 64)
        >>> bool(np.flatnonzero(m["right"].any(0)).mean() < 32 < np.flatnonzero(m["left"].any(0)).mean())
        True
    """
    x, y = grid(size)
    out = {}
    for side, sign in _SIDE_SIGN.items():
        ccx, ccy = anat.cx + sign * 0.17 * anat.s, anat.body[1] - anat.body[3] * 0.63
        # the band's vertical half-extent is 0.036 s; evaluate only the rows within 0.045 s of its centre
        r0, r1 = max(0, int((ccy - 0.045 * anat.s) * size)), min(size, int((ccy + 0.045 * anat.s) * size) + 2)
        dx, dy = x - ccx, y[r0:r1] - ccy
        c, sn = np.cos(0.22 * sign), np.sin(0.22 * sign)
        m = np.zeros((size, size), bool)
        m[r0:r1] = ((dx * c + dy * sn) / (0.15 * anat.s)) ** 2 + ((-dx * sn + dy * c) / (0.016 * anat.s)) ** 2 < 1.0
        out[side] = m
    return out


def trachea_mask(anat: Anatomy, size: int) -> np.ndarray:
    """The dark trachea band on the midline, above the carina.

    Example:
        >>> bool(trachea_mask(sample_anatomy(np.random.default_rng(0)), 64).any())
        True
    """
    x, y = grid(size)
    return (
        (np.abs(x - anat.cx) < 0.014 * anat.s)
        & (y > anat.body[1] - anat.body[3] * 0.98)
        & (y < anat.cy - 0.14 * anat.s)
    )


def heart_mask(anat: Anatomy, size: int, enlarged: bool = False) -> np.ndarray:
    """The heart ellipse, low and to the image right; ``enlarged`` uses the cardiomegaly half-axes (shifted down so
    the enlarged heart still sits on the diaphragm).

    Example:
        >>> a = sample_anatomy(np.random.default_rng(0))
        >>> bool(heart_mask(a, 64, enlarged=True).sum() > heart_mask(a, 64).sum())
        True
    """
    x, y = grid(size)
    hx, hy, ha, hb = anat.heart
    if enlarged:
        ha, hb = anat.heart_big
        hy = hy + (hb - anat.heart[3]) * 0.3
    return ellipse(x, y, hx, hy, ha, hb) < 1.0


def _row_band(mask: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``mask`` restricted to the rows between fractions ``lo`` and ``hi`` of its own row extent."""
    rows = np.flatnonzero(mask.any(1))
    r0, n = rows[0], rows[-1] + 1 - rows[0]
    out = np.zeros_like(mask)
    a, b = r0 + int(round(lo * n)), r0 + int(round(hi * n))
    out[a:b] = mask[a:b]
    return out


def region_masks(anat: Anatomy, size: int, enlarged_heart: bool = False) -> dict[str, np.ndarray]:
    """Boolean masks of the :data:`ANATOMICAL_REGIONS`, from the drawn anatomy.

    Definitions: lung = the lung field; upper/mid/lower zone = its rows in thirds; apical zone = its top 15% rows;
    costophrenic angle = its lowest 20% rows on the lateral side of the lung's box centre; hemidiaphragm = the dome
    under the lung (lung pixels whose lower neighbour is cut off by the dome, not by the lung's outline); cardiac
    silhouette = the heart (enlarged with cardiomegaly); mediastinum = the mediastinal column and the heart, down to the
    heart's lowest row; upper mediastinum = the column above the heart; trachea; clavicles.

    Args:
        anat: the study's anatomy.
        size: image side in pixels.
        enlarged_heart: draw the cardiomegaly heart.

    Returns:
        Region name -> boolean (size, size) mask, in :data:`ANATOMICAL_REGIONS` order.
    """
    x, y = grid(size)
    lungs = lung_masks(anat, size)
    heart = heart_mask(anat, size, enlarged_heart)
    column = mediastinum_mask(anat, size)
    clav = clavicle_masks(anat, size)
    out: dict[str, np.ndarray] = {}
    for side in ("right", "left"):
        lung = lungs[side]
        out[f"{side} lung"] = lung
        for k, zone in enumerate(("upper", "mid", "lower")):
            out[f"{side} {zone} lung zone"] = _row_band(lung, k / 3, (k + 1) / 3)
        out[f"{side} apical zone"] = _row_band(lung, 0.0, 0.15)
        cols = np.flatnonzero(lung.any(0))
        mid = (cols[0] + cols[-1] + 1) // 2
        lateral = np.zeros_like(lung)
        if side == "right":
            lateral[:, :mid] = True
        else:
            lateral[:, mid:] = True
        out[f"{side} costophrenic angle"] = _row_band(lung, 0.8, 1.0) & lateral
        lx, ly, a, b = anat.lungs[side]
        in_ellipse = ellipse(x, y, lx, ly, a, b) < 1.0
        below_lung, below_ellipse = np.zeros_like(lung), np.zeros_like(lung)
        below_lung[:-1], below_ellipse[:-1] = lung[1:], in_ellipse[1:]
        out[f"{side} hemidiaphragm"] = lung & ~below_lung & below_ellipse  # lung cut off by the dome below
    out["cardiac silhouette"] = heart
    heart_rows = np.flatnonzero(heart.any(1))
    mediastinum = column | heart
    mediastinum[heart_rows[-1] + 1 :] = False  # the spine below the heart is not mediastinum
    out["mediastinum"] = mediastinum
    upper = column.copy()
    upper[heart_rows[0] :] = False
    out["upper mediastinum"] = upper
    out["trachea"] = trachea_mask(anat, size)
    out["right clavicle"], out["left clavicle"] = clav["right"], clav["left"]
    return {name: out[name] for name in ANATOMICAL_REGIONS}


def region_boxes(anat: Anatomy, size: int, enlarged_heart: bool = False) -> dict[str, Box]:
    """Normalised xyxy boxes of the :data:`ANATOMICAL_REGIONS` (see :func:`region_masks` for the definitions).

    Args:
        anat: the study's anatomy.
        size: image side in pixels.
        enlarged_heart: the study has cardiomegaly (the cardiac silhouette and mediastinum grow).

    Returns:
        Region name -> box, for the regions with at least one pixel (all of them from about 64², the thin trachea
        vanishes at 32²).

    Example:
        >>> b = region_boxes(sample_anatomy(np.random.default_rng(0)), 64)
        >>> b["right upper lung zone"][1] < b["right mid lung zone"][1] < b["right lower lung zone"][1], len(b)
        (True, 20)
    """
    boxes = {name: mask_box(m) for name, m in region_masks(anat, size, enlarged_heart).items()}
    return {name: box for name, box in boxes.items() if box is not None}
