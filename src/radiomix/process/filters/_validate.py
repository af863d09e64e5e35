"""Boundary checks of filter inputs (private)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from radiomix.errors import InputError, InvalidIntensityError
from radiomix.types import FloatArray


def check_image(image: object) -> FloatArray:
    """Return ``image`` as a float64 (Z, Y, X) array (a copy only when the dtype differs).

    Raises :class:`InputError` for non-3D or non-real input and
    :class:`InvalidIntensityError` for NaN or infinite values.
    """
    arr = np.asarray(image)
    if arr.ndim != 3:
        raise InputError(
            f"image must be a 3D array indexed (z, y, x), got {arr.ndim}D with shape "
            f"{arr.shape}; pass a single slice as shape (1, Y, X)"
        )
    if arr.size == 0:
        raise InputError(f"image is empty (shape {arr.shape})")
    if not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
        or arr.dtype == np.bool_
    ):
        raise InputError(f"image must hold real numbers, got dtype {arr.dtype}")
    out = arr.astype(np.float64, copy=False)
    if not np.isfinite(out).all():
        n = int((~np.isfinite(out)).sum())
        raise InvalidIntensityError(
            f"image holds {n} NaN or infinite value(s); filters need finite intensities "
            "(fill or crop them first)"
        )
    return out


def check_spacing(spacing: Sequence[float]) -> tuple[float, float, float]:
    """Return spacing as 3 positive finite floats (z, y, x) or raise :class:`InputError`."""
    try:
        sp = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise InputError(f"spacing must be 3 numbers (z, y, x) in mm, got {spacing!r}") from None
    if len(sp) != 3 or not all(math.isfinite(s) and s > 0 for s in sp):
        raise InputError(f"spacing must be 3 positive numbers (z, y, x) in mm, got {spacing!r}")
    return (sp[0], sp[1], sp[2])


def isotropic_spacing(spacing: tuple[float, float, float], axes: Sequence[int], what: str) -> float:
    """The common spacing of ``axes``; :class:`InputError` if they differ by > 0.1 %."""
    values = [spacing[a] for a in axes]
    if max(values) > min(values) * (1 + 1e-3):
        names = "".join("zyx"[a] for a in axes)
        raise InputError(
            f"the {what} needs isotropic voxels along its filtered axes ({names}); spacing "
            f"(z, y, x) = {spacing} mm. Interpolate to isotropic voxels first (IBSI 2 "
            "recommends it), or, when only the slice spacing differs, give the filter its own "
            "dimensionality: 2d (a key of each response_maps filter; the extraction's "
            "dimensionality does not reach the filters)"
        )
    return float(np.mean(values))
