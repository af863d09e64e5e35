"""Network inputs from one lesion: tumour-centred crops, intensity mapping, resampling.

Pure numpy/scipy (no torch). Every input is sampled in physical space (mm), so the field
of view is square (2D) or cubic (3D) in millimetres whatever the voxel spacing, and is
resized to the network's input size by the same (linear) interpolation.

Geometry
--------
The lesion's bounding box (voxel indices ``lo..hi`` per axis, inclusive) has its centre at
index ``(lo + hi) / 2`` and an extent of ``(hi - lo + 1) * spacing`` mm. The field of view
is a square (or cube) of side ``max(extents) + 2 * margin_mm`` centred on that centre; pixel
``k`` of ``n`` along an axis sits at ``centre + ((k + 0.5) / n - 0.5) * side`` mm.

- ``slices``: every axial slice holding ROI voxels, one image each, all with the lesion's
  in-plane field of view (the extents of the y and x axes);
- ``max_slice``: the axial slice with the most ROI voxels (lowest index on ties);
- ``2.5d``: the axial, coronal and sagittal planes through the lesion (at voxel index
  ``(lo + hi) // 2`` along each plane's normal) as the three channels, with a common
  field of view (extents of all three axes);
- ``3d``: a cube sampled on an ``n`` × ``n`` × ``n`` grid.

Positions outside the image take the lowest mapped intensity of the statistics region
(below); with ``mask_background`` so do positions outside the ROI (the ROI resampled
linearly and thresholded at 0.5). A field of view of which fewer than two positions along
an axis it samples lie inside the image is refused (:func:`check_coverage`): an image of
one slice has no ``2.5d`` or ``3d`` input, only ``slices`` and ``max_slice`` ones.

Intensity
---------
Statistics are taken over the *statistics region*: the bounding box grown by
``margin_mm`` on each side (clipped to the image).

- window presets (level L, width W, in HU): ``ct_lung`` (−600, 1500), ``ct_soft_tissue``
  (40, 400), ``ct_liver`` (30, 150), or any ``(level, width)`` pair:
  :math:`v = \\mathrm{clip}((x - L + W/2) / W, 0, 1)`;
- ``minmax``: :math:`v = (x - \\min) / (\\max - \\min)` over the statistics region, clipped
  to [0, 1] (0 when the region is constant);
- ``zscore``: :math:`v = (x - \\mu) / \\sigma` over the statistics region (0 when
  :math:`\\sigma = 0`), not clipped.

For 2D networks the [0, 1] values are then standardised per channel with the ImageNet
mean (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225); a grey slice is
repeated over the three channels first. z-scored inputs are already standardised and are
passed as they are. 3D inputs have one channel and no ImageNet step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from radiomix.errors import EmptyRoiError, InputError, InvalidIntensityError, SettingsError
from radiomix.types import BoolArray, FloatArray, Spacing

Mode: TypeAlias = Literal["slices", "max_slice", "2.5d", "3d"]
MODES: tuple[str, ...] = ("slices", "max_slice", "2.5d", "3d")

WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "ct_lung": (-600.0, 1500.0),
    "ct_soft_tissue": (40.0, 400.0),
    "ct_liver": (30.0, 150.0),
}
"""CT window presets: name -> (level, width) in HU."""
INTENSITY_SCHEMES: tuple[str, ...] = (*WINDOW_PRESETS, "minmax", "zscore")

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

Intensity: TypeAlias = str | tuple[float, float]


@dataclass(frozen=True, slots=True)
class LesionGeometry:
    """Bounding box of a lesion and the derived crop geometry.

    Attributes
    ----------
    lo, hi : tuple of 3 int
        First and last ROI voxel index per axis (z, y, x), inclusive.
    centre : tuple of 3 float
        Bounding-box centre in voxel index units.
    extent_mm : tuple of 3 float
        Bounding-box size in mm.
    stats_lo, stats_hi : tuple of 3 int
        Statistics region: the box grown by the margin, clipped (``hi`` exclusive).
    """

    lo: tuple[int, int, int]
    hi: tuple[int, int, int]
    centre: tuple[float, float, float]
    extent_mm: tuple[float, float, float]
    stats_lo: tuple[int, int, int]
    stats_hi: tuple[int, int, int]


def validate_arrays(image: FloatArray, mask: BoolArray, spacing: Spacing) -> None:
    """Check shapes, dtypes, spacing and values of one lesion's arrays.

    Raises
    ------
    InputError
        Not 3D, shapes differ, mask not boolean, spacing not three positive numbers.
    EmptyRoiError
        The mask has no voxel.
    InvalidIntensityError
        NaN or infinite intensities.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        raise InputError(f"image must be a (Z, Y, X) array, got shape {np.shape(image)}")
    if not isinstance(mask, np.ndarray) or mask.shape != image.shape:
        raise InputError(
            f"mask shape {np.shape(mask)} differs from image shape {image.shape}; both must "
            "be (Z, Y, X) on the same grid"
        )
    if mask.dtype != np.bool_:
        raise InputError(f"mask must be a boolean array, got dtype {mask.dtype}")
    if len(spacing) != 3 or not all(math.isfinite(s) and s > 0 for s in spacing):
        raise InputError(f"spacing must be three positive numbers (z, y, x) in mm, got {spacing}")
    if not mask.any():
        raise EmptyRoiError("the ROI mask holds no voxel: nothing to embed")
    if not np.issubdtype(image.dtype, np.number):
        raise InputError(f"image must be numeric, got dtype {image.dtype}")


def lesion_geometry(mask: BoolArray, spacing: Spacing, margin_mm: float) -> LesionGeometry:
    """Bounding box, centre, extents and statistics region of the ROI."""
    idx = [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
    lo = tuple(int(i[0]) for i in idx)
    hi = tuple(int(i[-1]) for i in idx)
    centre = tuple((a + b) / 2.0 for a, b in zip(lo, hi, strict=True))
    extent = tuple((b - a + 1) * s for a, b, s in zip(lo, hi, spacing, strict=True))
    grow = [math.ceil(margin_mm / s - 1e-9) for s in spacing]
    s_lo = tuple(max(0, a - g) for a, g in zip(lo, grow, strict=True))
    s_hi = tuple(min(n, b + g + 1) for b, g, n in zip(hi, grow, mask.shape, strict=True))
    return LesionGeometry(lo, hi, centre, extent, s_lo, s_hi)  # type: ignore[arg-type]


def parse_intensity(intensity: Intensity) -> tuple[str, tuple[float, float] | None]:
    """Return ``(scheme, window)``: ``("window", (L, W))``, ``("minmax", None)`` ...

    Raises
    ------
    SettingsError
        Unknown preset or a non-positive window width.
    """
    if isinstance(intensity, str):
        if intensity in WINDOW_PRESETS:
            return "window", WINDOW_PRESETS[intensity]
        if intensity in ("minmax", "zscore"):
            return intensity, None
        import difflib

        close = difflib.get_close_matches(intensity, INTENSITY_SCHEMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SettingsError(
            f"unknown intensity scheme {intensity!r}{hint}; expected one of "
            f"{list(INTENSITY_SCHEMES)} or a (level, width) pair"
        )
    try:
        level, width = (float(v) for v in intensity)
    except (TypeError, ValueError):
        raise SettingsError(
            f"intensity must be a preset name or a (level, width) pair, got {intensity!r}"
        ) from None
    if not (math.isfinite(level) and math.isfinite(width) and width > 0):
        raise SettingsError(
            f"window (level, width) must be finite with width > 0, got {intensity!r}"
        )
    return "window", (level, width)


def _mapper(
    image: FloatArray, geo: LesionGeometry, intensity: Intensity
) -> tuple[str, float, float]:
    """Affine map ``v = (x - a) / b`` of the scheme and whether it is clipped to [0, 1].

    Returns ``(clip, a, b)`` with ``clip`` "clip" or "none".
    """
    scheme, window = parse_intensity(intensity)
    if scheme == "window":
        assert window is not None
        level, width = window
        return "clip", level - width / 2.0, width
    region = np.asarray(stats_region(image, geo), dtype=np.float64)
    if scheme == "minmax":
        lo, hi = float(region.min()), float(region.max())
        return "clip", lo, (hi - lo) if hi > lo else math.inf
    mu = float(region.mean())
    sd = float(region.std())
    return "none", mu, sd if sd > 0 else math.inf


def stats_region(image: FloatArray, geo: LesionGeometry) -> FloatArray:
    """View of the statistics region (bounding box grown by the margin, clipped)."""
    return image[tuple(slice(lo, hi) for lo, hi in zip(geo.stats_lo, geo.stats_hi, strict=True))]


def _apply(x: FloatArray, clip: str, a: float, b: float) -> FloatArray:
    v = (x - a) / b
    if clip == "clip":
        np.clip(v, 0.0, 1.0, out=v)
    return v


def _axis_positions(centre: float, side_mm: float, spacing: float, n: int) -> FloatArray:
    """Voxel-index positions of ``n`` pixel centres spanning ``side_mm`` around ``centre``."""
    k = (np.arange(n, dtype=np.float64) + 0.5) / n - 0.5
    return centre + k * side_mm / spacing


def sample_lesion(
    image: FloatArray,
    mask: BoolArray,
    spacing: Spacing,
    *,
    mode: Mode,
    size: int,
    margin_mm: float,
    intensity: Intensity,
    mask_background: bool,
) -> tuple[npt.NDArray[np.float64], list[int] | None]:
    """Resampled, intensity-mapped crops of one lesion (before any ImageNet step).

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Intensities (HU for CT).
    mask : (Z, Y, X) ndarray of bool
        The lesion's ROI on the image grid.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).
    mode : {"slices", "max_slice", "2.5d", "3d"}
        Input kind (module docstring).
    size : int
        Output pixels per side.
    margin_mm : float
        Margin around the bounding box, in mm.
    intensity : str or (float, float)
        Intensity scheme (module docstring).
    mask_background : bool
        Set positions outside the ROI to the lowest value.

    Returns
    -------
    crops : ndarray of float64
        ``(n_slices, size, size)`` for ``slices`` and ``max_slice`` (one slice),
        ``(3, size, size)`` for ``2.5d`` (axial, coronal, sagittal) and
        ``(size, size, size)`` for ``3d``.
    slice_indices : list of int or None
        Axial index of each slice (2D slice modes), None otherwise.

    Raises
    ------
    InputError, EmptyRoiError, InvalidIntensityError, SettingsError
        See :func:`validate_arrays` and :func:`parse_intensity`.
    """
    validate_arrays(image, mask, spacing)
    if mode not in MODES:
        raise SettingsError(f"unknown deep input mode {mode!r}; expected one of {list(MODES)}")
    sp = np.asarray(spacing, dtype=np.float64)
    geo = lesion_geometry(mask, spacing, margin_mm)
    clip, a, b = _mapper(image, geo, intensity)
    centre = np.asarray(geo.centre)
    slice_indices: list[int] | None = None
    stats = stats_region(image, geo)
    if not np.isfinite(stats).all():
        raise InvalidIntensityError(_NOT_FINITE)
    low = float(_apply(np.array([float(np.min(stats))]), clip, a, b)[0])

    def intensities(block: FloatArray) -> FloatArray:
        if not np.isfinite(block).all():
            raise InvalidIntensityError(_NOT_FINITE)
        return _apply(block, clip, a, b)

    def sample(positions: list[FloatArray]) -> npt.NDArray[np.float64]:
        out = _sample_grid(image, positions, intensities, low)
        if mask_background:
            inside = _sample_grid(mask, positions, lambda m: m, 0.0)
            out[inside < 0.5] = low
        return out

    if mode in ("slices", "max_slice"):
        side = max(geo.extent_mm[1], geo.extent_mm[2]) + 2.0 * margin_mm
        if mode == "slices":
            zs = [int(z) for z in np.flatnonzero(mask.any(axis=(1, 2)))]
        else:
            zs = [int(np.argmax(mask.sum(axis=(1, 2))))]
        slice_indices = zs
        ys = _axis_positions(centre[1], side, sp[1], size)
        xs = _axis_positions(centre[2], side, sp[2], size)
        check_coverage({1: ys, 2: xs}, image.shape, spacing, mode=mode, side_mm=side)
        return sample([np.asarray(zs, dtype=np.float64), ys, xs]), slice_indices
    side = max(geo.extent_mm) + 2.0 * margin_mm
    pos = [_axis_positions(centre[ax], side, sp[ax], size) for ax in range(3)]
    # 3d reads every axis; 2.5d too, each axis in the two planes that contain it
    check_coverage(dict(enumerate(pos)), image.shape, spacing, mode=mode, side_mm=side)
    if mode == "3d":
        return sample(pos), None
    # 2.5d: the plane normal to axis ax through the box's middle voxel, its remaining axes
    # in (z, y, x) order as rows and columns
    planes = []
    for ax in range(3):
        normal = float((geo.lo[ax] + geo.hi[ax]) // 2)
        plane_pos = [np.array([normal]) if d == ax else pos[d] for d in range(3)]
        planes.append(sample(plane_pos).reshape(size, size))
    return np.stack(planes), None


AXES: tuple[str, str, str] = ("z", "y", "x")


def check_coverage(
    positions: dict[int, FloatArray],
    shape: tuple[int, ...],
    spacing: Spacing,
    *,
    mode: Mode,
    side_mm: float,
) -> None:
    """Refuse a crop that the image cannot fill along an axis it samples.

    Linear interpolation is defined between the outermost voxel centres, index ``0`` to
    ``n - 1`` along an axis (:func:`_sample_grid`); a position beyond them takes the fill
    value. An axis sampled at several positions of which fewer than two fall inside holds
    one value at most along it, so the crop is (almost) all fill: an image of one slice
    read in ``3d`` is one constant cube whatever the lesion, and its coronal and sagittal
    planes in ``2.5d`` are fill only.

    Parameters
    ----------
    positions : dict of int to 1-D ndarray of float
        Voxel-index positions sampled along each axis (0 = z, 1 = y, 2 = x).
    shape : tuple of 3 int
        Image shape (Z, Y, X).
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).
    mode : str
        Input mode, named in the message.
    side_mm : float
        Side of the field of view, in mm.

    Raises
    ------
    InputError
        Fewer than two positions inside the image along an axis sampled at several; the
        message names the mode, the axis, the image's size along it and the fix.
    """
    for axis, p in positions.items():
        n = shape[axis]
        if len(p) < 2:
            continue
        inside = int(np.count_nonzero((p >= 0.0) & (p <= n - 1)))
        if inside >= 2:
            continue
        name = AXES[axis]
        if n == 1:
            extent = f"has one voxel along {name}" + (" (a 2D image)" if axis == 0 else "")
        else:
            extent = f"has {n} voxels along {name}, spanning {(n - 1) * spacing[axis]:.4g} mm"
        if axis == 0 and min(shape[1], shape[2]) >= 2:  # the axial slices can serve
            fix = (
                "use mode 'slices' or 'max_slice' (--deep MODEL:slices), which read one axial "
                "slice per network input"
            )
        else:
            fix = "check that the file holds the image, in (Z, Y, X) order"
        raise InputError(
            f"deep mode {mode!r} samples {len(p)} positions along {name} over {side_mm:.4g} mm "
            f"around the lesion, but the image {extent}: "
            f"{'none' if inside == 0 else 'only one'} of them lies inside it, so the network "
            f"input would be {'all' if inside == 0 else 'almost all'} fill; {fix}"
        )


_NOT_FINITE = (
    "the image holds NaN or infinite values around the ROI; deep features need finite intensities"
)


def _sample_grid(
    volume: npt.NDArray[Any],
    positions: list[FloatArray],
    prepare: Callable[[FloatArray], FloatArray],
    cval: float,
) -> npt.NDArray[np.float64]:
    """Linear interpolation of ``prepare(volume)`` on the outer grid of three position lists.

    ``out[i, j, k]`` interpolates at voxel-index position ``(p0[i], p1[j], p2[k])`` with the
    semantics of ``scipy.ndimage.map_coordinates(order=1, mode="constant")``: a position
    outside ``[0, n - 1]`` along any axis takes ``cval``; inside, the two neighbours
    ``floor(p)`` and ``floor(p) + 1`` weigh ``1 - t`` and ``t`` (``t = p - floor(p)``).
    The grid is separable, so the interpolation runs one axis at a time (two gathers and a
    weighted sum per axis) instead of eight corners per point; ``prepare`` (the intensity
    mapping) sees only the block of voxels the positions touch, as float64.
    """
    shape = tuple(len(p) for p in positions)
    axes = []
    for p, n in zip(positions, volume.shape, strict=True):
        valid = (p >= 0.0) & (p <= n - 1)
        if not valid.any():
            return np.full(shape, cval)
        q = np.where(valid, p, 0.0)
        i0 = np.floor(q).astype(np.intp)
        i1 = np.minimum(i0 + 1, n - 1)
        lo, hi = int(i0[valid].min()), int(i1[valid].max()) + 1
        # block-local indices; an outside position reads voxel 0 and is overwritten below
        axes.append(
            (np.where(valid, i0 - lo, 0), np.where(valid, i1 - lo, 0), q - i0, valid, lo, hi)
        )
    block = prepare(
        np.asarray(volume[tuple(slice(lo, hi) for *_, lo, hi in axes)], dtype=np.float64)
    )
    # interpolate first along the axes that shrink the block most
    order = sorted(range(3), key=lambda d: shape[d] / block.shape[d])
    for d in order:
        i0, i1, t, _, _, _ = axes[d]
        w = t.reshape([-1 if k == d else 1 for k in range(3)])
        block = np.take(block, i0, axis=d) * (1.0 - w) + np.take(block, i1, axis=d) * w
    inside = axes[0][3][:, None, None] & axes[1][3][None, :, None] & axes[2][3][None, None, :]
    block[~inside] = cval
    return block


def to_network_input(
    crops: npt.NDArray[np.float64],
    *,
    mode: Mode,
    intensity: Intensity,
    dtype: type[np.floating[Any]] = np.float32,
) -> npt.NDArray[np.floating[Any]]:
    """Arrange crops as a network batch, with ImageNet standardisation for 2D.

    Returns
    -------
    ndarray of ``dtype``
        ``(N, 3, n, n)`` for the 2D modes (N slices, or one lesion for 2.5D) and
        ``(1, 1, n, n, n)`` for 3D.
    """
    scheme, _ = parse_intensity(intensity)
    if mode == "3d":
        return np.ascontiguousarray(crops[None, None], dtype=dtype)
    # 2.5d: one image whose channels are the axial, coronal and sagittal planes
    batch = crops[None] if mode == "2.5d" else np.repeat(crops[:, None], 3, axis=1)
    if scheme != "zscore":
        mean = np.asarray(IMAGENET_MEAN)[None, :, None, None]
        std = np.asarray(IMAGENET_STD)[None, :, None, None]
        batch = (batch - mean) / std
    return np.ascontiguousarray(batch, dtype=dtype)
