"""Drawing of the synthetic chest radiograph phantom and its findings (numpy only, deterministic per seed).

What it is: the image half of the synthetic data source (docs/data.md#synthetic-generator). A greyscale
frontal chest phantom (air, body, two darker lungs, spine and mediastinum, trachea, heart low and to image-right,
diaphragm domes, faint ribs, lung texture, blur, noise, jitter of position/scale/contrast) and parametric findings
drawn at plausible anatomical places. Every finding's box is the bounding box of the pixels that were actually
changed for it (normalised [0, 1] xyxy, full precision; text rounding happens later).

Convention: radiographs are viewed as if facing the patient, so the patient's RIGHT lung is on the IMAGE LEFT
(box centre x < 0.5) and the LEFT lung on the image right.

The anatomy geometry and its masks live in :mod:`radgrpo.data.sources.synthetic_anatomy` (re-exported here).

What it is not: the report text, labels or records (:mod:`radgrpo.data.sources.synthetic`). Not a realistic
simulator: intensities and shapes are chosen so a tiny model can see the findings at 256² with 64 visual tokens.

Randomness: three independent streams per study, ``default_rng([base_seed, seed, stream])``: anatomy (0), findings
(1) and noise (2). Removing a finding therefore leaves the anatomy and the noise of the study unchanged (the "normal
twin" used by the tests).

Example:
    >>> a = sample_anatomy(np.random.default_rng(0))
    >>> img, boxes = render(a, [], 64, np.random.default_rng(1))
    >>> img.shape, img.dtype.name, boxes
    ((64, 64), 'uint8', [])
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# anatomy names used here, plus re-exports for callers of this module
from radgrpo.data.sources.synthetic_anatomy import (  # noqa: F401
    ANATOMICAL_REGIONS,
    Anatomy,
    Box,
    body_mask,
    clavicle_masks,
    drawn_box,
    ellipse,
    grid,
    heart_mask,
    lung_masks,
    lung_zone_y,
    mask_box,
    mediastinum_mask,
    region_boxes,
    sample_anatomy,
    trachea_mask,
)

#: The findings the generator can draw.
SUPPORTED_FINDINGS: tuple[str, ...] = (
    "cardiomegaly",
    "pleural effusion",
    "consolidation",
    "pneumothorax",
    "nodule",
    "atelectasis",
)
#: Standard deviation of the additive Gaussian noise, in [0, 1] intensity units (x 255 for grey levels).
NOISE_SIGMA = 0.02
#: Gaussian blur sigma applied to the drawn image, in pixels at 256² (scaled with the image size).
BLUR_SIGMA_256 = 1.2

_AIR, _BODY, _LUNG, _MEDIASTINUM, _HEART = 0.05, 0.6, 0.27, 0.72, 0.74
_FLUID, _PTX, _PLEURAL_LINE = 0.66, 0.03, 0.14
_SIDE_SIGN = {"right": -1.0, "left": 1.0}  # patient side -> image direction of the lung centre from the midline
#: Peak added intensity of a lesion at full severity (the clean world draws every lesion at this level).
_LESION_INTENSITY = {"consolidation": 0.36, "nodule": 0.3, "atelectasis": 0.26}
#: Graded drawing (``severity`` in [0, 1]): parameter at severity 0 and at severity 1, interpolated linearly. Severity
#: 0 is the faintest finding the generator draws, 1 the most conspicuous; the clean world's ranges lie inside.
GRADED: dict[str, dict[str, tuple[float, float]]] = {
    "cardiomegaly": {"enlargement": (0.3, 1.1)},  # share of the way from the normal heart to the enlarged one
    "pleural effusion": {"height": (0.1, 0.6)},
    "pneumothorax": {"collapse": (0.86, 0.45)},  # lung size kept (1 = no pneumothorax)
    "consolidation": {"intensity": (0.14, 0.36)},
    "nodule": {"intensity": (0.12, 0.3)},
    "atelectasis": {"intensity": (0.1, 0.26)},
}


@dataclass
class FindingSpec:
    """One finding to draw: its name, patient side, zone, size word and drawing parameters (normalised units)."""

    name: str
    side: str | None
    zone: str | None
    size: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def lung(self) -> str:
        """The patient side of a lung or pleural finding: "right", "left" or "bilateral" (effusion only).

        Example:
            >>> FindingSpec("nodule", "left", "upper", "small").lung
            'left'
        """
        if self.side is None:
            raise ValueError(f"{self.name} has no patient side")
        return self.side


@functools.lru_cache(maxsize=8)
def _banks(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (seeded) noise banks of shape (2*size, 2*size): smooth lung texture and white noise, float32."""
    rng = np.random.default_rng(20240917)
    n = 2 * size
    coarse = rng.standard_normal((n // 8 + 2, n // 8 + 2)).astype(np.float32)
    t = np.repeat(np.repeat(coarse, 8, 0), 8, 1)[:n, :n]
    t = _blur(t, 4.0)
    t = t / (t.std() + 1e-6)
    fine = _blur(rng.standard_normal((n, n)).astype(np.float32), 1.0)
    tex = 0.6 * t + 0.4 * fine / (fine.std() + 1e-6)
    return tex.astype(np.float32), rng.standard_normal((n, n)).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _kernel(sigma: float) -> np.ndarray:
    r = max(1, int(round(2.5 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1, dtype=np.float32) / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with edge padding (numpy only)."""
    k = _kernel(float(sigma))
    r = len(k) // 2
    h, w = img.shape
    p = np.pad(img, ((0, 0), (r, r)), mode="edge")
    out = k[0] * p[:, 0:w]
    for i in range(1, len(k)):
        out += k[i] * p[:, i : i + w]
    p = np.pad(out, ((r, r), (0, 0)), mode="edge")
    out = k[0] * p[0:h]
    for i in range(1, len(k)):
        out += k[i] * p[i : i + h]
    return out


def render(
    anat: Anatomy, findings: list[FindingSpec], size: int, noise_rng: np.random.Generator
) -> tuple[np.ndarray, list[list[Box]]]:
    """Draw the phantom with its findings.

    Args:
        anat: the study's anatomy.
        findings: the findings to draw (an empty list gives the normal twin).
        size: image side in pixels.
        noise_rng: the study's noise stream (crop offsets into fixed noise banks).

    Returns:
        ``(image, boxes)``: uint8 array (size, size) and, per finding, its list of normalised xyxy boxes
        (one per side for a bilateral effusion).
    """
    x, y = grid(size)
    tex_bank, noise_bank = _banks(size)
    ox, oy, nx, ny = (int(v) for v in noise_rng.integers(0, size, 4))
    lungs = lung_masks(anat, size)
    lung_any = lungs["right"] | lungs["left"]

    img: np.ndarray = np.full((size, size), _AIR, np.float32)  # float32 while painting, uint8 at the end
    img[body_mask(anat, size)] = _BODY
    # spine and mediastinum: a bright vertical column through the body
    img = np.where(mediastinum_mask(anat, size), _MEDIASTINUM, img)
    img[lung_any] = _LUNG

    names = [f.name for f in findings]
    no_pixels = f"a finding drew no pixels: {names} at size {size}"
    ptx_regions = np.zeros((size, size), bool)
    boxes: list[list[Box]] = [[] for _ in findings]
    for i, f in enumerate(findings):
        if f.name == "pneumothorax":
            region, line = _pneumothorax(anat.lungs[f.lung], lungs[f.lung], f.lung, f.params, x, y)
            img[region] = _PTX
            img[line] += _PLEURAL_LINE
            ptx_regions |= region
            boxes[i] = [drawn_box(region | line, no_pixels)]

    # lung texture (vascular markings) except where the lung has collapsed away from the chest wall
    textured = lung_any & ~ptx_regions
    img[textured] += 0.035 * tex_bank[oy : oy + size, ox : ox + size][textured]
    # ribs: thin bright arcs sloping down laterally, visible over the lungs
    phase = (y - 0.35 * np.abs(x - anat.cx) ** 1.0) / anat.rib_period + anat.rib_phase
    ribs = np.clip(np.cos(2 * np.pi * phase) * 4.0 - 3.0, 0.0, 1.0)
    img[lung_any] += 0.07 * ribs[lung_any]
    # clavicles: thin bright bands from the sternal end outwards and slightly up, over the lung apices
    for clav in clavicle_masks(anat, size).values():
        img[clav] += 0.12
    # trachea: dark band above the carina
    img[trachea_mask(anat, size)] = 0.3

    heart = heart_mask(anat, size, enlarged="cardiomegaly" in names)
    img[heart] = _HEART

    for i, f in enumerate(findings):
        if f.name == "cardiomegaly":
            boxes[i] = [drawn_box(heart, no_pixels)]
        elif f.name == "pleural effusion":
            sides = ("right", "left") if f.lung == "bilateral" else (f.lung,)
            for side in sides:
                fluid = _effusion(anat.lungs[side], lungs[side], side, f.params, x, y)
                img[fluid] = np.maximum(img[fluid], _FLUID)
                boxes[i].append(drawn_box(fluid, no_pixels))
        elif f.name in ("consolidation", "nodule", "atelectasis"):
            add = _lesion(f, lungs[f.lung], x, y)
            img += add
            boxes[i] = [drawn_box(add > 0, no_pixels)]

    img = _blur(img, BLUR_SIGMA_256 * size / 256)
    img = img * anat.contrast + anat.offset + NOISE_SIGMA * noise_bank[ny : ny + size, nx : nx + size]
    img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return img, boxes


def _pneumothorax(lung_geo, lung: np.ndarray, side: str, p: dict, x: np.ndarray, y: np.ndarray):
    """Apical/lateral air between chest wall and a collapsed lung edge; returns (region, pleural line) masks."""
    lx, ly, a, b = lung_geo
    f = p["collapse"]
    medial = -_SIDE_SIGN[side]
    ca, cb = a * f, b * f
    ccx, ccy = lx + medial * (a - ca) * 1.0, ly + (b - cb) * 0.9
    r = ellipse(x, y, ccx, ccy, ca, cb)
    keep = y < ly + 0.45 * b
    region = lung & (r >= 1.0) & keep
    width = 0.012 / min(ca, cb)
    line = lung & (np.abs(np.sqrt(r) - 1.0) < width) & (r < 1.0) & keep
    return region, line


def _effusion(lung_geo, lung: np.ndarray, side: str, p: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fluid at the lung base with a meniscus rising towards the lateral chest wall."""
    lx, ly, a, b = lung_geo
    level = ly + b * (0.62 - p["height"])
    lateral = np.clip((x - lx) / a * _SIDE_SIGN[side], 0.0, 1.0)
    return lung & (y > level - p["meniscus"] * b * lateral**2)


def _lesion(f: FindingSpec, lung: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Additive intensity of a consolidation (fuzzy blob), nodule (sharp disc) or atelectasis (plate-like band)."""
    p = f.params
    dx, dy = x - p["cx"], y - p["cy"]
    level = np.float32(p.get("intensity", _LESION_INTENSITY[f.name]))
    if f.name == "consolidation":
        d2 = (dx / p["rx"]) ** 2 + (dy / p["ry"]) ** 2
        add = np.where(d2 < 1.0, level * np.minimum(1.1 - d2, 1.0), 0.0).astype(np.float32)
    elif f.name == "nodule":
        add = np.where(dx**2 + dy**2 < p["r"] ** 2, level, np.float32(0.0))
    else:  # atelectasis
        c, s = np.cos(p["angle"]), np.sin(p["angle"])
        d2 = ((dx * c + dy * s) / p["half_len"]) ** 2 + ((-dx * s + dy * c) / p["half_thick"]) ** 2
        add = np.where(d2 < 1.0, level, np.float32(0.0))
    return np.where(lung, add, np.float32(0.0)).astype(np.float32)


def _size_word(value: float, cuts: tuple[float, float], words=("small", "moderate", "large")) -> str:
    return words[0] if value < cuts[0] else words[1] if value < cuts[1] else words[2]


def graded(name: str, key: str, severity: float) -> float:
    """A graded drawing parameter of ``name`` at ``severity`` in [0, 1] (:data:`GRADED`, linear).

    Example:
        >>> graded("pleural effusion", "height", 0.0), graded("pleural effusion", "height", 1.0)
        (0.1, 0.6)
    """
    lo, hi = GRADED[name][key]
    return lo + (hi - lo) * float(severity)


def graded_anatomy(anat: Anatomy, severity: float) -> Anatomy:
    """``anat`` whose cardiomegaly heart is enlarged by ``severity``: half-axes moved from the normal heart's towards
    ``anat.heart_big`` by :func:`graded` ``("cardiomegaly", "enlargement")``.

    Example:
        >>> a = sample_anatomy(np.random.default_rng(0))
        >>> graded_anatomy(a, 0.0).heart_big[0] < graded_anatomy(a, 1.0).heart_big[0]
        True
    """
    e = graded("cardiomegaly", "enlargement", severity)
    (_, _, a, b), (ba, bb) = anat.heart, anat.heart_big
    return dataclasses.replace(anat, heart_big=(a + e * (ba - a), b + e * (bb - b)))


def sample_finding(name: str, anat: Anatomy, rng: np.random.Generator, severity: float | None = None) -> FindingSpec:
    """Draw the side, zone, size and drawing parameters of one finding for a given anatomy.

    Args:
        name: one of :data:`SUPPORTED_FINDINGS`.
        anat: the study's anatomy (findings are placed relative to its lungs and heart); for a graded cardiomegaly,
            pass :func:`graded_anatomy` of the severity.
        rng: the study's findings stream.
        severity: None draws the clean world's parameters (the same random calls as always); a value in [0, 1]
            draws the graded size or contrast of :data:`GRADED` instead (side, zone and place are drawn as before).

    Returns:
        A :class:`FindingSpec`; ``side`` is the patient side ("right" = image left), None for cardiomegaly.

    Example:
        >>> a = sample_anatomy(np.random.default_rng(0))
        >>> f = sample_finding("nodule", a, np.random.default_rng(0))
        >>> f.side in ("right", "left"), f.zone in ("upper", "mid", "lower"), f.params["r"] >= 0.06
        (True, True, True)
    """
    u = rng.uniform
    if name == "cardiomegaly":
        ratio = anat.heart_big[0] / anat.s
        return FindingSpec(name, None, None, "mild" if ratio < 0.21 else "moderate")
    if name == "pleural effusion":
        v = rng.random()
        side = "right" if v < 0.35 else "left" if v < 0.7 else "bilateral"
        height = u(0.2, 0.6) if severity is None else graded(name, "height", severity)
        return FindingSpec(
            name, side, "base", _size_word(height, (0.33, 0.47)), {"height": height, "meniscus": u(0.25, 0.4)}
        )
    side = "right" if rng.random() < 0.5 else "left"
    lx, ly, a, b = anat.lungs[side]
    if name == "pneumothorax":
        collapse = u(0.45, 0.78) if severity is None else graded(name, "collapse", severity)
        return FindingSpec(name, side, "apical", _size_word(-collapse, (-0.67, -0.56)), {"collapse": collapse})
    extra = {} if severity is None else {"intensity": graded(name, "intensity", severity)}
    if name == "atelectasis":
        half_len = u(0.075, 0.1)
        return FindingSpec(
            name,
            side,
            "base",
            _size_word(half_len, (0.0835, 0.0915)),
            {
                "cx": lx + u(-0.2, 0.2) * a,
                "cy": ly + 0.38 * b,
                "half_len": half_len,
                "half_thick": u(0.024, 0.032),
                "angle": u(-0.3, 0.3),
                **extra,
            },
        )
    zone = ("upper", "mid", "lower")[int(rng.integers(0, 3))]
    cx, cy = lx + u(-0.25, 0.25) * a, lung_zone_y(anat.lungs[side], zone) + u(-0.03, 0.03)
    if name == "consolidation":
        rx = u(0.065, 0.09)
        return FindingSpec(
            name,
            side,
            zone,
            _size_word(rx, (0.0733, 0.0817)),
            {"cx": cx, "cy": cy, "rx": rx, "ry": rx * u(0.9, 1.25), **extra},
        )
    if name == "nodule":
        r = u(0.06, 0.08)
        return FindingSpec(name, side, zone, _size_word(r, (0.0667, 0.0733)), {"cx": cx, "cy": cy, "r": r, **extra})
    raise ValueError(f"unknown synthetic finding {name!r}; supported: {list(SUPPORTED_FINDINGS)}")
