"""Drawing of the synthetic chest radiograph phantom and its findings (numpy only, deterministic per seed).

What it is: the image half of the synthetic data source (data.md §8.1, learnability.md "Task design"). A greyscale
frontal chest phantom (air, body, two darker lungs, spine and mediastinum, trachea, heart low and to image-right,
diaphragm domes, faint ribs, lung texture, blur, noise, jitter of position/scale/contrast) and parametric findings
drawn at plausible anatomical places. Every finding's box is the bounding box of the pixels that were actually
changed for it (normalised [0, 1] xyxy, full precision; text rounding happens later).

Convention: radiographs are viewed as if facing the patient, so the patient's RIGHT lung is on the IMAGE LEFT
(box centre x < 0.5) and the LEFT lung on the image right.

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

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The findings the generator can draw.
SUPPORTED_FINDINGS: tuple[str, ...] = (
    "cardiomegaly", "pleural effusion", "consolidation", "pneumothorax", "nodule", "atelectasis",
)
#: Standard deviation of the additive Gaussian noise, in [0, 1] intensity units (x 255 for grey levels).
NOISE_SIGMA = 0.02
#: Gaussian blur sigma applied to the drawn image, in pixels at 256² (scaled with the image size).
BLUR_SIGMA_256 = 1.2

_AIR, _BODY, _LUNG, _MEDIASTINUM, _HEART = 0.05, 0.6, 0.27, 0.72, 0.74
_FLUID, _PTX, _PLEURAL_LINE = 0.66, 0.03, 0.14
_SIDE_SIGN = {"right": -1.0, "left": 1.0}  # patient side -> image direction of the lung centre from the midline

Box = tuple[float, float, float, float]


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


@dataclass
class FindingSpec:
    """One finding to draw: its name, patient side, zone, size word and drawing parameters (normalised units)."""

    name: str
    side: str | None
    zone: str | None
    size: str
    params: dict[str, Any] = field(default_factory=dict)


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
    heart = (cx + 0.06 * s + u(-0.012, 0.012), cy + 0.13 * s + u(-0.01, 0.01),
             0.125 * s * u(0.92, 1.06), 0.095 * s * u(0.92, 1.06))
    heart_big = (0.2 * s * u(0.97, 1.12), 0.125 * s * u(0.95, 1.08))
    return Anatomy(cx=cx, cy=cy, s=s, body=body, lungs=lungs, heart=heart, heart_big=heart_big,
                   contrast=u(0.9, 1.1), offset=u(-0.04, 0.04), rib_phase=u(0, 1), rib_period=0.075 * s)


def lung_zone_y(lung: tuple[float, float, float, float], zone: str) -> float:
    """Centre y of a lung zone ("apical", "upper", "mid", "lower", "base") for a lung ellipse.

    Example:
        >>> lung_zone_y((0.3, 0.5, 0.1, 0.3), "upper") < lung_zone_y((0.3, 0.5, 0.1, 0.3), "lower")
        True
    """
    _, cy, _, b = lung
    return cy + b * {"apical": -0.72, "upper": -0.5, "mid": -0.05, "lower": 0.36, "base": 0.5}[zone]


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates normalised to [0, 1]: x of shape (1, size), y of shape (size, 1), float32."""
    v = ((np.arange(size, dtype=np.float32) + 0.5) / size)
    return v[None, :], v[:, None]


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
        out += k[i] * p[:, i:i + w]
    p = np.pad(out, ((r, r), (0, 0)), mode="edge")
    out = k[0] * p[0:h]
    for i in range(1, len(k)):
        out += k[i] * p[i:i + h]
    return out


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, a: float, b: float) -> np.ndarray:
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


def lung_masks(anat: Anatomy, size: int) -> dict[str, np.ndarray]:
    """Boolean lung masks per patient side: the lung ellipse cut below by a diaphragm dome.

    Example:
        >>> m = lung_masks(sample_anatomy(np.random.default_rng(0)), 64)
        >>> bool(m["right"][:, :32].sum() > m["right"][:, 32:].sum())
        True
    """
    x, y = _grid(size)
    out = {}
    for side, (lx, ly, a, b) in anat.lungs.items():
        dome_top = 0.6 if side == "right" else 0.66  # the right hemidiaphragm sits higher
        dome = ly + b * (dome_top + 0.28 * ((x - lx) / a) ** 2)
        out[side] = (_ellipse(x, y, lx, ly, a, b) < 1.0) & (y < dome)
    return out


def body_mask(anat: Anatomy, size: int) -> np.ndarray:
    """Boolean mask of the body ellipse.

    Example:
        >>> bool(body_mask(sample_anatomy(np.random.default_rng(0)), 32)[16, 16])
        True
    """
    x, y = _grid(size)
    return _ellipse(x, y, *anat.body) < 1.0


def render(anat: Anatomy, findings: list[FindingSpec], size: int,
           noise_rng: np.random.Generator) -> tuple[np.ndarray, list[list[Box]]]:
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
    x, y = _grid(size)
    tex_bank, noise_bank = _banks(size)
    ox, oy, nx, ny = (int(v) for v in noise_rng.integers(0, size, 4))
    lungs = lung_masks(anat, size)
    lung_any = lungs["right"] | lungs["left"]

    img = np.full((size, size), _AIR, np.float32)
    img[body_mask(anat, size)] = _BODY
    # spine and mediastinum: a bright vertical column through the body
    col = (np.abs(x - anat.cx) < 0.055 * anat.s) & (y > anat.cy - 0.4 * anat.s) & (y < anat.cy + 0.55 * anat.s)
    img = np.where(col, _MEDIASTINUM, img)
    img[lung_any] = _LUNG

    names = [f.name for f in findings]
    ptx_regions = np.zeros((size, size), bool)
    boxes: list[list[Box]] = [[] for _ in findings]
    for i, f in enumerate(findings):
        if f.name == "pneumothorax":
            region, line = _pneumothorax(anat.lungs[f.side], lungs[f.side], f.side, f.params, x, y)
            img[region] = _PTX
            img[line] += _PLEURAL_LINE
            ptx_regions |= region
            boxes[i] = [mask_box(region | line)]

    # lung texture (vascular markings) except where the lung has collapsed away from the chest wall
    textured = lung_any & ~ptx_regions
    img[textured] += 0.035 * tex_bank[oy:oy + size, ox:ox + size][textured]
    # ribs: thin bright arcs sloping down laterally, visible over the lungs
    phase = (y - 0.35 * np.abs(x - anat.cx) ** 1.0) / anat.rib_period + anat.rib_phase
    ribs = np.clip(np.cos(2 * np.pi * phase) * 4.0 - 3.0, 0.0, 1.0)
    img[lung_any] += 0.07 * ribs[lung_any]
    # clavicles: thin bright bands from the sternal end outwards and slightly up, over the lung apices
    for sign in (-1.0, 1.0):
        ccx, ccy = anat.cx + sign * 0.17 * anat.s, anat.body[1] - anat.body[3] * 0.63
        dx, dy = x - ccx, y - ccy
        c, sn = np.cos(0.22 * sign), np.sin(0.22 * sign)
        clav = ((dx * c + dy * sn) / (0.15 * anat.s)) ** 2 + ((-dx * sn + dy * c) / (0.016 * anat.s)) ** 2 < 1.0
        img[clav] += 0.12
    # trachea: dark band above the carina
    trachea = (np.abs(x - anat.cx) < 0.014 * anat.s) & (y > anat.body[1] - anat.body[3] * 0.98) & (
        y < anat.cy - 0.14 * anat.s)
    img[trachea] = 0.3

    hx, hy, ha, hb = anat.heart
    if "cardiomegaly" in names:
        ha, hb = anat.heart_big
        hy = hy + (hb - anat.heart[3]) * 0.3
    heart = _ellipse(x, y, hx, hy, ha, hb) < 1.0
    img[heart] = _HEART

    for i, f in enumerate(findings):
        if f.name == "cardiomegaly":
            boxes[i] = [mask_box(heart)]
        elif f.name == "pleural effusion":
            sides = ("right", "left") if f.side == "bilateral" else (f.side,)
            for side in sides:
                fluid = _effusion(anat.lungs[side], lungs[side], side, f.params, x, y)
                img[fluid] = np.maximum(img[fluid], _FLUID)
                boxes[i].append(mask_box(fluid))
        elif f.name in ("consolidation", "nodule", "atelectasis"):
            add = _lesion(f, lungs[f.side], x, y)
            img += add
            boxes[i] = [mask_box(add > 0)]

    img = _blur(img, BLUR_SIGMA_256 * size / 256)
    img = img * anat.contrast + anat.offset + NOISE_SIGMA * noise_bank[ny:ny + size, nx:nx + size]
    img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if any(b is None for bs in boxes for b in bs):
        raise RuntimeError(f"a finding drew no pixels: {[f.name for f in findings]} at size {size}")
    return img, boxes


def _pneumothorax(lung_geo, lung: np.ndarray, side: str, p: dict, x: np.ndarray, y: np.ndarray):
    """Apical/lateral air between chest wall and a collapsed lung edge; returns (region, pleural line) masks."""
    lx, ly, a, b = lung_geo
    f = p["collapse"]
    medial = -_SIDE_SIGN[side]
    ca, cb = a * f, b * f
    ccx, ccy = lx + medial * (a - ca) * 1.0, ly + (b - cb) * 0.9
    r = _ellipse(x, y, ccx, ccy, ca, cb)
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
    return lung & (y > level - p["meniscus"] * b * lateral ** 2)


def _lesion(f: FindingSpec, lung: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Additive intensity of a consolidation (fuzzy blob), nodule (sharp disc) or atelectasis (plate-like band)."""
    p = f.params
    dx, dy = x - p["cx"], y - p["cy"]
    if f.name == "consolidation":
        d2 = (dx / p["rx"]) ** 2 + (dy / p["ry"]) ** 2
        add = np.where(d2 < 1.0, 0.36 * np.minimum(1.1 - d2, 1.0), 0.0).astype(np.float32)
    elif f.name == "nodule":
        add = np.where(dx ** 2 + dy ** 2 < p["r"] ** 2, np.float32(0.3), np.float32(0.0))
    else:  # atelectasis
        c, s = np.cos(p["angle"]), np.sin(p["angle"])
        d2 = ((dx * c + dy * s) / p["half_len"]) ** 2 + ((-dx * s + dy * c) / p["half_thick"]) ** 2
        add = np.where(d2 < 1.0, np.float32(0.26), np.float32(0.0))
    return np.where(lung, add, np.float32(0.0)).astype(np.float32)


def _size_word(value: float, cuts: tuple[float, float], words=("small", "moderate", "large")) -> str:
    return words[0] if value < cuts[0] else words[1] if value < cuts[1] else words[2]


def sample_finding(name: str, anat: Anatomy, rng: np.random.Generator) -> FindingSpec:
    """Draw the side, zone, size and drawing parameters of one finding for a given anatomy.

    Args:
        name: one of :data:`SUPPORTED_FINDINGS`.
        anat: the study's anatomy (findings are placed relative to its lungs and heart).
        rng: the study's findings stream.

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
        height = u(0.2, 0.6)
        return FindingSpec(name, side, "base", _size_word(height, (0.33, 0.47)),
                           {"height": height, "meniscus": u(0.25, 0.4)})
    side = "right" if rng.random() < 0.5 else "left"
    lx, ly, a, b = anat.lungs[side]
    if name == "pneumothorax":
        collapse = u(0.45, 0.78)
        return FindingSpec(name, side, "apical", _size_word(-collapse, (-0.67, -0.56)), {"collapse": collapse})
    if name == "atelectasis":
        half_len = u(0.075, 0.1)
        return FindingSpec(name, side, "base", _size_word(half_len, (0.0835, 0.0915)),
                           {"cx": lx + u(-0.2, 0.2) * a, "cy": ly + 0.38 * b, "half_len": half_len,
                            "half_thick": u(0.024, 0.032), "angle": u(-0.3, 0.3)})
    zone = ("upper", "mid", "lower")[int(rng.integers(0, 3))]
    cx, cy = lx + u(-0.25, 0.25) * a, lung_zone_y(anat.lungs[side], zone) + u(-0.03, 0.03)
    if name == "consolidation":
        rx = u(0.065, 0.09)
        return FindingSpec(name, side, zone, _size_word(rx, (0.0733, 0.0817)),
                           {"cx": cx, "cy": cy, "rx": rx, "ry": rx * u(0.9, 1.25)})
    if name == "nodule":
        r = u(0.06, 0.08)
        return FindingSpec(name, side, zone, _size_word(r, (0.0667, 0.0733)), {"cx": cx, "cy": cy, "r": r})
    raise ValueError(f"unknown synthetic finding {name!r}; supported: {list(SUPPORTED_FINDINGS)}")
