"""Interpolation to a new voxel grid aligned on the image centre (IBSI 1 §2.4).

The new grid follows the IBSI rules: its size along each axis is the fractional size
n·s/s' rounded up, its centre coincides with the centre of the original grid, and
intensities beyond the original grid are extrapolated from the nearest boundary voxel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from radiomix.types import FloatArray

ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}
"""Spline order of each interpolation method (cubic: B-spline with prefilter)."""


@dataclass(frozen=True, slots=True)
class Grid:
    """A regular grid along one axis, in index units of the original grid.

    Attributes
    ----------
    size : int
        Number of points of the new grid.
    start : float
        Position of the first new point, in original-grid index units.
    step : float
        Distance between new points, in original-grid index units (s'/s).
    """

    size: int
    start: float
    step: float

    def positions(self) -> FloatArray:
        """Positions of all points in original index units."""
        return np.asarray(self.start + self.step * np.arange(self.size), dtype=np.float64)


def aligned_grid(n: int, spacing: float, new_spacing: float) -> Grid:
    """The IBSI interpolation grid along one axis.

    Parameters
    ----------
    n : int
        Number of voxels of the original grid.
    spacing, new_spacing : float
        Original and new voxel spacing, mm.

    Returns
    -------
    Grid
        ``size = ceil(n · spacing / new_spacing)``; positions centred on the original grid
        centre ``(n − 1) / 2``.

    Examples
    --------
    A 5-voxel axis of 1 mm resampled to 2 mm has ceil(2.5) = 3 points at 0, 2, 4 (the
    centre, 2, is kept):

    >>> g = aligned_grid(5, 1.0, 2.0)
    >>> g.size, g.positions().tolist()
    (3, [0.0, 2.0, 4.0])
    """
    size = math.ceil(round(n * spacing / new_spacing, 6))
    step = new_spacing / spacing
    start = (n - 1) / 2.0 - (size - 1) / 2.0 * step
    return Grid(size=size, start=start, step=step)


def resample(
    array: FloatArray,
    grids: tuple[Grid, Grid, Grid],
    *,
    order: int,
    index_range: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None,
) -> FloatArray:
    """Sample ``array`` at the points of three axis grids (z, y, x).

    Parameters
    ----------
    array : (Z, Y, X) ndarray
        Values on the original grid (may be a crop; grid positions are then relative to
        the crop's first voxel).
    grids : tuple of Grid
        New grid along z, y and x, in index units of ``array``.
    order : int
        Spline order (0 nearest, 1 linear, 3 cubic B-spline).
    index_range : tuple of (first, stop) per axis, optional
        Sub-range of new-grid indices to evaluate (default: all).

    Returns
    -------
    (Z', Y', X') ndarray of float64
        Interpolated values; points beyond ``array`` take the nearest boundary value.
    """
    if index_range is None:
        index_range = tuple((0, g.size) for g in grids)  # type: ignore[assignment]
    assert index_range is not None
    starts = [g.start + g.step * lo for g, (lo, _) in zip(grids, index_range, strict=True)]
    shape = tuple(hi - lo for lo, hi in index_range)
    return ndimage.affine_transform(
        np.asarray(array, dtype=np.float64),
        matrix=np.array([g.step for g in grids]),
        offset=np.array(starts),
        output_shape=shape,
        order=order,
        mode="nearest",
        prefilter=order > 1,
    )
