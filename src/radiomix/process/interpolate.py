"""Interpolation to a new voxel grid aligned on the image centre (IBSI 1 §2.4).

The new grid follows the IBSI rules: its size along each axis is the fractional size
n·s/s' rounded up, its centre coincides with the centre of the original grid, and
intensities beyond the original grid are extrapolated from the nearest boundary voxel.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiomix._numba import cached_njit
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


Corners = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Along one axis, the lower and upper corner indices (int64) and their weights (float64)
of linear interpolation at each new point (:func:`_linear_axis`)."""


GRID_SIZE_TOLERANCE = 2.0**-21
"""Relative tolerance within which ``n · spacing / new_spacing`` is taken for the integer it
rounds to: 12 voxels of 1.1 mm on a 0.6 mm grid compute as 22.000000000000004, whose
ceiling would add a plane and move the grid by half a voxel. It is eight times the
relative error of a float32 spacing (2^-24), so a spacing kept at float32 precision is
covered too; a ratio truly above an integer by more keeps IBSI's ceiling."""


def decimal_spacing(spacing: float) -> float:
    """The spacing a float32 value stands for: its shortest decimal (0.800000011920929 is
    0.8), also when the value comes as its decimal text cut to 9-16 significant digits; a
    spacing that is no float32 value (read as float64) is returned as it is.

    NIfTI headers store spacings as float32, DICOM and NRRD as decimal text read into
    float64: the same 0.8 mm scan is 0.800000011920929 mm from one and 0.8 mm from the
    other. The interpolation grid is built from the decimal, so both give the same grid
    points, ties between two voxels included (a 1.6 mm grid on 0.8 mm voxels puts every
    point halfway; float32's 2e-8 would send them all to the lower voxel, float64's to the
    upper). The decimal rounds to the same float32 value: it is what the header says.

    Examples
    --------
    >>> decimal_spacing(float(np.float32(0.8))), decimal_spacing(0.8)
    (0.8, 0.8)
    >>> decimal_spacing(0.97656200000001)  # no float32 value: kept
    0.97656200000001
    >>> decimal_spacing(0.97699999809265)  # float32 0.977 as 14 digits of DICOM text
    0.977
    """
    single = np.float32(spacing)
    exact = float(single)
    if not math.isfinite(exact):
        return spacing
    # or that value written as decimal text of 9 to 16 significant digits (a DICOM
    # PixelSpacing holds 16 characters: 0.97699999809265 is float32 0.977, cut short)
    if exact != spacing and not any(float(f"{exact:.{p}g}") == spacing for p in range(9, 17)):
        return spacing
    return float(np.format_float_positional(single, unique=True, trim="0"))


def grid_size(ratio: float) -> int:
    """IBSI's number of new grid points, ``ceil(ratio)`` with ``ratio = n · s / s'``, a
    ratio within :data:`GRID_SIZE_TOLERANCE` (relative) of an integer taken as that
    integer.

    Examples
    --------
    >>> grid_size(80.0000012), grid_size(22.000000000000004), grid_size(2.5)
    (80, 22, 3)
    >>> grid_size(80.01)
    81
    """
    nearest = round(ratio)
    if nearest >= 1 and abs(ratio - nearest) <= GRID_SIZE_TOLERANCE * max(1.0, ratio):
        return int(nearest)
    return max(1, math.ceil(ratio))


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
        ``size = ceil(n · spacing / new_spacing)`` (:func:`grid_size`: a ratio within
        rounding of an integer is that integer); positions centred on the original grid
        centre ``(n − 1) / 2``. A float32 ``spacing`` (a NIfTI header's) is taken as the
        decimal it stands for (:func:`decimal_spacing`).

    Examples
    --------
    A 5-voxel axis of 1 mm resampled to 2 mm has ceil(2.5) = 3 points at 0, 2, 4 (the
    centre, 2, is kept):

    >>> g = aligned_grid(5, 1.0, 2.0)
    >>> g.size, g.positions().tolist()
    (3, [0.0, 2.0, 4.0])
    """
    spacing = decimal_spacing(spacing)
    size = grid_size(n * spacing / new_spacing)
    step = new_spacing / spacing
    start = (n - 1) / 2.0 - (size - 1) / 2.0 * step
    return Grid(size=size, start=start, step=step)


def resample(
    array: np.ndarray,
    grids: tuple[Grid, Grid, Grid],
    *,
    order: int,
    index_range: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None,
    origin: tuple[int, int, int] = (0, 0, 0),
    support: Sequence[tuple[int, int]] | None = None,
    corners: Sequence[Corners] | None = None,
) -> FloatArray:
    """Sample ``array`` at the points of three axis grids (z, y, x).

    Parameters
    ----------
    array : (Z, Y, X) ndarray
        Values on the original grid, or a crop of it whose first voxel is at ``origin``
        (any real type, read as float64: a boolean mask, a stored integer image).
    grids : tuple of Grid
        New grid along z, y and x, in index units of the whole original grid.
    order : int
        Spline order (0 nearest, 1 linear, 3 cubic B-spline).
    index_range : tuple of (first, stop) per axis, optional
        Sub-range of new-grid indices to evaluate (default: all).
    origin : tuple of 3 int
        Index in the whole original grid of ``array``'s first voxel (a crop's start).
    support : sequence of 3 (first, last), optional
        Index range of ``array`` (inclusive, per axis) outside which it holds zeros only (a
        mask's bounding box). Linear interpolation then evaluates only the points that
        read a voxel of that box: the others are 0, as the sums of zeros give them (the
        other orders evaluate every point).
    corners : sequence of 3 Corners, optional
        :func:`linear_corners` of ``array``'s shape and these ``grids``, ``index_range`` and
        ``origin``, when the caller interpolates several arrays at the same points (order
        1 only; computed here otherwise).

    Returns
    -------
    (Z', Y', X') ndarray of float64
        Interpolated values; points beyond ``array`` take the nearest boundary value.

    Notes
    -----
    Nearest-neighbour and linear interpolation compute the position of new point ``k`` of
    each axis from ``k`` itself, in the whole grid, and only then subtract the crop's
    integer ``origin`` (exact in floating point): a point gets the same bits from any crop
    that holds its neighbours, so a value never depends on the crop margin (a maximum tied
    between two voxels stays tied). Cubic interpolation prefilters the crop it is given,
    which keeps its values to about 1e-12 of the whole image's only (the crop's padding).
    """
    if index_range is None:
        index_range = tuple((0, g.size) for g in grids)  # type: ignore[assignment]
    assert index_range is not None
    shape = tuple(hi - lo for lo, hi in index_range)
    if order == 1 and min(shape) > 0 and min(array.shape) > 0:
        # scipy's arithmetic, without its generic per-point bookkeeping
        axes = (list(corners) if corners is not None
                else linear_corners(array.shape, grids, index_range, origin))
        box = [slice(0, n) for n in shape]
        if support is not None:
            # corners are non-decreasing along each axis: the points whose corners reach
            # the support (i1 >= first and i0 <= last) are one run per axis, found by
            # bisection
            for axis, ((i0, i1, _, _), (first, last)) in enumerate(
                    zip(axes, support, strict=True)):
                a = int(np.searchsorted(i1, first, "left"))
                box[axis] = slice(a, max(a, int(np.searchsorted(i0, last, "right"))))
            axes = [(i0[b], i1[b], w0[b], w1[b]) for (i0, i1, w0, w1), b in
                    zip(axes, box, strict=True)]
        part = np.empty([b.stop - b.start for b in box])
        if part.size:
            _trilinear_slabs(array, axes, part)
        if support is None:
            return part
        out = np.zeros(shape)
        out[tuple(box)] = part
        return out
    if order == 0 and all(n > 0 for n in shape) and all(n > 0 for n in array.shape):
        index = [
            _nearest_axis(n, _axis_positions(g, lo, hi, o))
            for n, g, (lo, hi), o in zip(array.shape, grids, index_range, origin, strict=True)
        ]
        # the picked voxels become float64, not the whole crop first (the same values)
        return np.ascontiguousarray(array[np.ix_(*index)], dtype=np.float64)
    values = np.asarray(array, dtype=np.float64)
    matrix = np.array([g.step for g in grids])
    offset = np.array(
        [g.start + g.step * lo - o
         for g, (lo, _), o in zip(grids, index_range, origin, strict=True)]
    )
    from scipy import ndimage  # spline orders only: its import is 0.1 s of every run's start

    return ndimage.affine_transform(
        values,
        matrix=matrix,
        offset=offset,
        output_shape=shape,
        order=order,
        mode="nearest",
        prefilter=order > 1,
    )


SLAB_BYTES = 1 << 19
"""Bytes of the float64 planes that linear interpolation converts at a time (a core's L2
holds them through the kernel's pass); see :func:`_trilinear_slabs`."""


def _trilinear_slabs(array: np.ndarray, axes: Sequence[Corners], out: FloatArray) -> None:
    """Linear interpolation of ``array`` at the corners ``axes`` (z, y, x) into ``out``.

    Only the voxels the corners read become float64 (the corner indices are
    non-decreasing: from the first ``i0`` to the last ``i1`` of each axis), a slab of input
    planes at a time: the planes that the next run of output planes reads, at most
    :data:`SLAB_BYTES` (two at least), are copied into one C-contiguous, writeable buffer
    (a crop is a strided view; the image may be read-only, and the kernel has one
    signature) and the kernel computes those output planes from it. Each output voxel is
    the same sum of the same eight products as from a float64 copy of the whole block (the
    same bits), while the process touches a slab's worth of float64 memory instead of the
    whole block's.
    """
    (z0, z1, wz0, wz1), (y0, y1, wy0, wy1), (x0, x1, wx0, wx1) = axes
    ry = slice(int(y0[0]), int(y1[-1]) + 1)
    rx = slice(int(x0[0]), int(x1[-1]) + 1)
    y = (y0 - ry.start, y1 - ry.start, wy0, wy1)
    x = (x0 - rx.start, x1 - rx.start, wx0, wx1)
    span = max(2, SLAB_BYTES // ((ry.stop - ry.start) * (rx.stop - rx.start) * 8))
    planes = min(span, int(z1[-1]) + 1 - int(z0[0]))  # input planes a slab holds
    buffer = np.empty((planes, ry.stop - ry.start, rx.stop - rx.start))
    a = 0
    while a < z0.shape[0]:
        lo = int(z0[a])
        # the output planes a..b-1 read input planes lo..z1[b-1] only (z1 non-decreasing)
        b = max(a + 1, int(np.searchsorted(z1, lo + span - 1, "right")))
        hi = int(z1[b - 1]) + 1
        values = buffer[: hi - lo]
        np.copyto(values, array[lo:hi, ry, rx], casting="unsafe")
        _trilinear(values, z0[a:b] - lo, z1[a:b] - lo, wz0[a:b], wz1[a:b], *y, *x, out[a:b])
        a = b


def linear_corners(
    shape: Sequence[int],
    grids: tuple[Grid, Grid, Grid],
    index_range: Sequence[tuple[int, int]],
    origin: Sequence[int],
) -> list[Corners]:
    """The corners of linear interpolation of an array of ``shape`` whose first voxel is at
    ``origin``, at the new points ``index_range`` of ``grids``, along z, y and x (what
    :func:`resample` computes at ``order=1``).

    The positions (:func:`_axis_positions`) and corners (:func:`_linear_axis`) of the
    three axes are computed together, element by element as for each axis alone (the same
    bits), on one array of every axis' points: a few array operations instead of a few
    per axis.
    """
    counts = [hi - lo for lo, hi in index_range]
    # per point: its whole-grid index minus its place in the joined array, its axis'
    # start / step, step, crop origin and last voxel
    params = np.repeat(
        np.array([
            [lo - sum(counts[:axis]) for axis, (lo, _) in enumerate(index_range)],
            [np.float64(g.start) / np.float64(g.step) for g in grids],
            [g.step for g in grids],
            [float(o) for o in origin],
            [n - 1 for n in shape],
        ], dtype=np.float64),
        counts, axis=1,
    )  # fmt: skip
    k = np.arange(sum(counts), dtype=np.float64) + params[0]
    i0, i1, w0, w1 = _linear_axis(params[4].astype(np.int64), (k + params[1]) * params[2]
                                  - params[3])
    cuts = [0, counts[0], counts[0] + counts[1], sum(counts)]
    return [(i0[a:b], i1[a:b], w0[a:b], w1[a:b]) for a, b in itertools.pairwise(cuts)]


def _linear_axis(last: int | np.ndarray, cc: np.ndarray) -> Corners:
    """Corner indices and weights of linear interpolation along an axis whose last voxel
    is ``last`` (its size minus 1; an array gives each point's).

    At positions ``cc`` (:func:`_axis_positions`), with ``scipy.ndimage``'s arithmetic for
    ``order=1`` and ``mode="nearest"``: with ``f = c - floor(c)`` the weights of the corners
    ``floor(c)`` and ``floor(c) + 1`` are ``1 - f`` and ``1 - (1 - f)``; corners beyond the
    array take the nearest edge voxel.
    """
    start = np.floor(cc)
    w0 = 1.0 - (cc - start)
    w1 = 1.0 - w0
    first = start.astype(np.int64)
    i1 = np.minimum(np.maximum(first + 1, 0), last)  # (np.clip costs a few us more a call)
    i0 = np.minimum(np.maximum(first, 0), last)
    return i0, i1, w0, w1


TIE_TOLERANCE = 1e-9
"""Distance (index units) from a midpoint between two voxels within which nearest-neighbour
interpolation takes the upper voxel: a grid point exactly halfway (a 2 mm grid on 1 mm
voxels) computes a few bits off the midpoint, and must fall on the same voxel on every
machine and whatever the grid's offset."""


def _nearest_axis(n: int, cc: np.ndarray) -> np.ndarray:
    """Voxel taken by nearest-neighbour interpolation at positions ``cc`` along one axis of
    ``n`` voxels: ``floor(c + 0.5)`` (as ``scipy.ndimage`` at order 0: halfway goes up),
    with positions within :data:`TIE_TOLERANCE` below a midpoint counted as on it, and
    points beyond the array take the nearest edge voxel.
    """
    return np.clip(np.floor(cc + (0.5 + TIE_TOLERANCE)).astype(np.int64), 0, n - 1)


def _axis_positions(grid: Grid, lo: int, hi: int, origin: int) -> np.ndarray:
    """Positions, in index units of a crop starting at ``origin``, of the new points
    ``lo .. hi - 1`` of ``grid`` (whole-grid index units).

    ``scipy.ndimage.affine_transform``'s arithmetic for a diagonal matrix on the whole
    grid (its ``zoom_shift`` path), ``c = (k + start / step) * step`` with ``k`` the point's
    index in the whole grid, then minus the integer ``origin`` (exact: the crop starts at or
    before every position it serves), so that the bits of a position do not depend on the
    crop.
    """
    shift = np.float64(grid.start) / np.float64(grid.step)
    cc = (np.arange(lo, hi, dtype=np.float64) + shift) * np.float64(grid.step)
    if origin:
        cc -= np.float64(origin)
    return cc


@cached_njit()
def _trilinear(
    a: np.ndarray,
    z0: np.ndarray,
    z1: np.ndarray,
    wz0: np.ndarray,
    wz1: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    wy0: np.ndarray,
    wy1: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    wx0: np.ndarray,
    wx1: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Sum of the 8 corner terms ``((v * w_z) * w_y) * w_x`` in scipy's order (x fastest).

    ``a`` is C-contiguous float64 and every index / weight array contiguous int64 /
    float64 (:func:`resample` passes them so): one compiled signature. The result goes to
    ``out`` ((Z', Y', X') float64, allocated by the caller: no allocation is compiled).
    """
    for i in range(z0.shape[0]):
        za = z0[i]
        zb = z1[i]
        ca = wz0[i]
        cb = wz1[i]
        for j in range(y0.shape[0]):
            ya = y0[j]
            yb = y1[j]
            da = wy0[j]
            db = wy1[j]
            for k in range(x0.shape[0]):
                xa = x0[k]
                xb = x1[k]
                ea = wx0[k]
                eb = wx1[k]
                t = 0.0
                t += a[za, ya, xa] * ca * da * ea
                t += a[za, ya, xb] * ca * da * eb
                t += a[za, yb, xa] * ca * db * ea
                t += a[za, yb, xb] * ca * db * eb
                t += a[zb, ya, xa] * cb * da * ea
                t += a[zb, ya, xb] * cb * da * eb
                t += a[zb, yb, xa] * cb * db * ea
                t += a[zb, yb, xb] * cb * db * eb
                out[i, j, k] = t
