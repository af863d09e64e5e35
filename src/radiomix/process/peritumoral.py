"""Peritumoral rings: shells of given thickness in mm around the ROI, as extra ROI masks.

Works on numpy boolean masks indexed (z, y, x) with their spacing. A ring never contains a
tumour voxel and can be clipped to an organ mask (e.g. the liver, so that the peritumoral
zone of an HCC does not leak into fat or the abdominal wall).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence

import numpy as np

from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError, SettingsError
from radiomix.process.filters._validate import check_spacing
from radiomix.types import BoolArray, FloatArray

log = logging.getLogger(__name__)

_EPS_MM = 1e-6
"""Distances within this many mm of a ring radius count as equal to it (rounding)."""


def _mask(mask: object, name: str, shape: tuple[int, ...] | None = None) -> BoolArray:
    m = np.asarray(mask)
    if m.ndim != 3:
        raise InputError(f"{name} must be a 3D array indexed (z, y, x), got shape {m.shape}")
    if shape is not None and m.shape != shape:
        raise GeometryMismatchError(f"{name} shape {m.shape} differs from the ROI mask {shape}")
    return m.astype(bool, copy=False)


def distance_to_roi(
    mask: BoolArray, *, spacing: Sequence[float], dimensionality: str = "3d"
) -> FloatArray:
    """Euclidean distance (mm) from every voxel centre to the nearest ROI voxel centre.

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        ROI mask (non-empty).
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm.
    dimensionality : {"3d", "2d"}
        ``2d`` measures distances within each axial slice; slices without ROI voxels get
        ``inf``.

    Returns
    -------
    (Z, Y, X) ndarray of float64
        0 inside the ROI.
    """
    from scipy import ndimage  # rings only: its import is 0.1 s of every run's start

    sp = check_spacing(spacing)
    m = _mask(mask, "mask")
    if not m.any():
        raise EmptyRoiError("peritumoral ring: the ROI mask holds no voxel")
    if dimensionality == "3d":
        return ndimage.distance_transform_edt(~m, sampling=sp)
    if dimensionality != "2d":
        raise SettingsError(f"dimensionality must be 2d or 3d, got {dimensionality!r}")
    out = np.full(m.shape, np.inf)
    for z in range(m.shape[0]):
        if m[z].any():
            out[z] = ndimage.distance_transform_edt(~m[z], sampling=sp[1:])
    return out


def peritumoral_ring(
    mask: BoolArray,
    *,
    spacing: Sequence[float],
    outer_mm: float,
    inner_mm: float = 0.0,
    organ_mask: BoolArray | None = None,
    dimensionality: str = "3d",
) -> BoolArray:
    """Peritumoral ring: voxels at a distance in (``inner_mm``, ``outer_mm``] from the ROI.

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        Tumour (ROI) mask.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm; anisotropic spacing is handled exactly.
    outer_mm : float
        Outer radius of the ring in mm (> ``inner_mm``).
    inner_mm : float
        Inner radius in mm (>= 0); 0 starts the ring at the tumour border.
    organ_mask : (Z, Y, X) ndarray of bool or None
        If given, the ring is clipped to it (intersection).
    dimensionality : {"3d", "2d"}
        ``3d`` uses 3D distances; ``2d`` grows the ring within each axial slice that holds
        tumour (for per-slice 2D analyses).

    Returns
    -------
    (Z, Y, X) ndarray of bool
        The ring; never overlaps ``mask``. It can be empty (e.g. clipped away by the organ).

    Raises
    ------
    EmptyRoiError
        The tumour mask is empty.
    GeometryMismatchError
        The organ mask has another shape.
    SettingsError
        Radii out of range.

    Notes
    -----
    With d(k) the Euclidean distance in mm from voxel centre k to the nearest tumour voxel
    centre (exact Euclidean distance transform, Maurer et al. 2003, as computed by
    :func:`scipy.ndimage.distance_transform_edt`):

    .. math:: \\text{ring} = \\{k \\notin T : r_{in} < d(k) \\le r_{out}\\} \\cap O

    Distances within 1e-6 mm of a radius count as equal to it, so that a voxel exactly
    ``outer_mm`` away is included despite floating-point rounding.

    The ring is cut at the array border; crop the image with a margin of at least
    ``outer_mm`` around the ROI (a warning is logged when the ring touches the border).

    Examples
    --------
    >>> import numpy as np
    >>> roi = np.zeros((1, 1, 9), bool); roi[0, 0, 4] = True
    >>> ring = peritumoral_ring(roi, spacing=(1.0, 1.0, 1.0), outer_mm=2.0)
    >>> ring.astype(int).ravel().tolist()
    [0, 0, 1, 1, 0, 1, 1, 0, 0]
    """
    for name, v in (("outer_mm", outer_mm), ("inner_mm", inner_mm)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise SettingsError(f"{name} must be a finite number, got {v!r}")
    if inner_mm < 0 or not outer_mm > inner_mm:
        raise SettingsError(
            f"ring radii must satisfy 0 <= inner_mm < outer_mm; got inner {inner_mm}, "
            f"outer {outer_mm}"
        )
    m = _mask(mask, "mask")
    dist = distance_to_roi(m, spacing=spacing, dimensionality=dimensionality)
    ring = (dist > inner_mm + _EPS_MM) & (dist <= outer_mm + _EPS_MM) & ~m
    if organ_mask is not None:
        ring &= _mask(organ_mask, "organ_mask", m.shape)
    if touches_edge(ring, dimensionality=dimensionality):
        log.warning(
            "peritumoral ring (%s-%s mm) reaches the edge of the image array and is cut "
            "there: the image ends (or the crop margin is smaller than %s mm) that close to "
            "the tumour, so the ring holds fewer voxels than its radii ask",
            inner_mm,
            outer_mm,
            outer_mm,
        )
    return ring


def touches_edge(ring: BoolArray, *, dimensionality: str = "3d") -> bool:
    """Whether a ring reaches the edge of its array along an axis it grows along (all three
    in 3D, the in-plane two in 2D): there it is cut, and holds fewer voxels than its radii
    ask."""
    axes = (1, 2) if dimensionality == "2d" else (0, 1, 2)
    return any(ring.take(0, axis=a).any() or ring.take(-1, axis=a).any() for a in axes)


RING_CUT_NOTE = ("the peritumoral ring reaches the edge of the image (the image ends within the "
                 "ring's outer radius of the tumour) and is cut there: it holds fewer voxels "
                 "than its radii ask")
"""Provenance note of a case whose ring :func:`touches_edge` of the whole image."""


def ring_name(inner_mm: float, outer_mm: float) -> str:
    """ROI name of a ring, usable in column names (no dots), e.g. ``ring_0to5mm``.

    Examples
    --------
    >>> ring_name(2.5, 5)
    'ring_2p5to5mm'
    """

    def fmt(v: float) -> str:
        return f"{v:.6g}".replace(".", "p")

    return f"ring_{fmt(inner_mm)}to{fmt(outer_mm)}mm"


def peritumoral_rings(
    mask: BoolArray,
    *,
    spacing: Sequence[float],
    edges_mm: Sequence[float],
    organ_mask: BoolArray | None = None,
    dimensionality: str = "3d",
) -> dict[str, BoolArray]:
    """Consecutive peritumoral rings between the given radii, keyed by ROI name.

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        Tumour mask.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm.
    edges_mm : sequence of float
        Increasing radii, e.g. ``(0, 5, 10)`` gives the rings (0, 5] and (5, 10] mm.
    organ_mask, dimensionality
        As in :func:`peritumoral_ring`.

    Returns
    -------
    dict of str to (Z, Y, X) ndarray of bool
        ``{"ring_0to5mm": ..., "ring_5to10mm": ...}``; the rings are disjoint.

    Raises
    ------
    SettingsError
        Fewer than two edges or edges not strictly increasing from >= 0.
    """
    edges = [float(e) for e in edges_mm]
    if len(edges) < 2 or edges[0] < 0 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise SettingsError(
            f"edges_mm must hold at least two strictly increasing radii >= 0, got {edges_mm!r}"
        )
    return {
        ring_name(a, b): peritumoral_ring(
            mask,
            spacing=spacing,
            inner_mm=a,
            outer_mm=b,
            organ_mask=organ_mask,
            dimensionality=dimensionality,
        )
        for a, b in itertools.pairwise(edges)
    }
