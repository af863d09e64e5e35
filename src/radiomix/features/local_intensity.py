"""Local intensity features (IBSI family 9ST6): intensity peaks in a 1 cm³ sphere.

Only intensity-mask voxels are sphere centres, but the sphere averages every image voxel
whose centre lies within it, inside the ROI or not (IBSI 1 §3.2); the
:class:`~radiomix.roi.RoiContext` image is cropped with a margin for this purpose. Where the
sphere reaches beyond the available image, the mean is taken over the voxels that exist
(this reproduces the IBSI digital-phantom values, whose image is smaller than the sphere).
Features are computed in 3D (IBSI DHQ4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features._kernels import local_intensity as _k
from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.roi import RoiContext
from radiomix.types import BoolArray, FloatArray, IntArray, Spacing

PEAK_RADIUS_MM = 10.0 * (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0)
"""Radius of a 1 cm³ sphere in mm, :math:`r = (3/(4\\pi))^{1/3}` cm ≈ 6.2035 mm."""


def sphere_kernel(spacing: Spacing, *, radius: float = PEAK_RADIUS_MM) -> BoolArray:
    """Voxels whose centres lie within ``radius`` mm of the central voxel's centre.

    Parameters
    ----------
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).
    radius : float
        Sphere radius in mm.

    Returns
    -------
    (2a+1, 2b+1, 2c+1) ndarray of bool
        The spherical neighbourhood, centred, including the centre voxel.

    Examples
    --------
    >>> int(sphere_kernel((2.0, 2.0, 2.0)).sum())
    123
    """
    sp = np.asarray(spacing, dtype=np.float64)
    if sp.shape != (3,) or not (sp > 0).all():
        raise InputError(f"spacing must be 3 positive values in mm, got {spacing!r}")
    half = np.floor(radius / sp).astype(int).tolist()
    z2, y2, x2 = ((np.arange(-h, h + 1) * s) ** 2 for h, s in zip(half, sp.tolist(), strict=True))
    return z2[:, None, None] + y2[:, None] + x2 <= radius**2


def sphere_means(image: FloatArray, *, spacing: Spacing) -> FloatArray:
    """Mean intensity in the 1 cm³ sphere around every voxel (IBSI 9ST6 filter).

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Intensities.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).

    Returns
    -------
    (Z, Y, X) ndarray of float64
        Mean over the sphere voxels that lie inside the image.

    Notes
    -----
    A spherical mean filter evaluated by FFT convolution (convolution theorem, as the IBSI
    manual suggests): the sum of intensities and the number of available voxels are both
    convolutions with the sphere indicator.
    """
    from scipy import fft

    img = np.asarray(image, dtype=np.float64)
    kernel = sphere_kernel(spacing).astype(np.float64)
    ks = kernel.shape
    size = tuple(
        fft.next_fast_len(n + k - 1, real=True) for n, k in zip(img.shape, ks, strict=True)
    )
    fk = fft.rfftn(kernel, s=size)
    # "Same" part of the full linear convolution: offset by the kernel half-width.
    sl = tuple(slice(k // 2, k // 2 + n) for n, k in zip(img.shape, ks, strict=True))
    sums = fft.irfftn(fft.rfftn(img, s=size) * fk, s=size)[sl]
    counts = fft.irfftn(fft.rfftn(np.ones_like(img), s=size) * fk, s=size)[sl]
    return np.asarray(sums / np.rint(counts))


def sphere_means_in_mask(image: FloatArray, mask: BoolArray, *, spacing: Spacing) -> FloatArray:
    """Mean intensity in the 1 cm³ sphere around every voxel of ``mask`` (IBSI 9ST6).

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Intensities.
    mask : (Z, Y, X) ndarray of bool
        Voxels at which the mean is needed.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).

    Returns
    -------
    (N,) ndarray of float64
        Sphere means of the ``mask`` voxels, in the order of ``image[mask]``; the same
        values as ``sphere_means(image, spacing=spacing)[mask]``.

    Notes
    -----
    Direct sums over the sphere offsets (numba), at the mask voxels only: cheaper than the
    whole-image FFT convolution of :func:`sphere_means` unless the sphere holds many
    voxels (fine spacing); the FFT route is taken then (:data:`DIRECT_SUM_RATIO`). Both
    give the same means up to floating-point rounding. The direct sums of an image of
    whole numbers (rounded CT HU) run along x from row prefix sums, exact in any order and
    so equal to the offset-by-offset sums; other images (a sample of 64 voxels tells most
    of them) add each voxel's offsets in order.
    """
    img = np.ascontiguousarray(image, dtype=np.float64)
    msk = np.ascontiguousarray(mask, dtype=bool)
    if img.shape != msk.shape or img.ndim != 3:
        raise InputError(
            f"image and mask must be 3D arrays of one shape, got {img.shape} and {msk.shape}"
        )
    kernel = sphere_kernel(spacing)
    n, n_sphere = int(np.count_nonzero(msk)), int(np.count_nonzero(kernel))
    if not _direct_sum(n * n_sphere, img.shape, kernel.shape):
        return np.asarray(sphere_means(img, spacing=spacing)[msk])
    nz, ny, nx = img.shape
    out = np.empty(n)
    sample = img.ravel()[:: max(1, img.size // 64)]  # (MR, PET: the kernel is not compiled)
    if (sample == sample.round()).all():
        runs = _sphere_runs(kernel, ny, nx)
        limit = 2.0**53 / (runs.shape[0] * (nx + 1) + n_sphere)
        prefix = np.empty(nz * ny * (nx + 1))
        if _k.sphere_means_whole(
            img.ravel(), msk.ravel(), (nz, ny, nx), runs, limit, prefix, np.empty(nx), out
        ):
            return out
    offsets = np.argwhere(kernel) - np.asarray(kernel.shape) // 2
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)  # one kernel signature
    dz, dy, dx = (np.ascontiguousarray(offsets[:, a]) for a in range(3))
    flat = (dz * ny + dy) * nx + dx
    halo = (int(np.abs(dz).max()), int(np.abs(dy).max()), int(np.abs(dx).max()))
    _k.sphere_means_at(
        img.ravel(), msk.ravel(), (nz, ny, nx), halo, dz, dy, dx, flat, np.empty(nx), out
    )
    return out


def _sphere_runs(kernel: BoolArray, ny: int, nx: int) -> IntArray:
    """The sphere ``kernel`` as runs along x, the ``runs`` of
    :func:`~radiomix.features._kernels.local_intensity.sphere_means_whole` for an image of
    ``ny`` rows of ``nx`` voxels: (R, 5) int64 rows ``dz, dy, w, start, stop``."""
    width = np.count_nonzero(kernel, axis=2)
    dz, dy = np.nonzero(width)
    runs = np.empty((dz.size, 5), dtype=np.int64)
    runs[:, 0] = dz - kernel.shape[0] // 2
    runs[:, 1] = dy - kernel.shape[1] // 2
    runs[:, 2] = width[dz, dy] // 2  # a row of a ball is centred and contiguous
    row = (runs[:, 0] * ny + runs[:, 1]) * (nx + 1)
    runs[:, 3] = row - runs[:, 2]
    runs[:, 4] = row + runs[:, 2] + 1
    return runs


DIRECT_SUM_RATIO = 64
""":func:`sphere_means_in_mask` sums directly while (mask voxels x sphere voxels) stays
below this many times the FFT grid size, and uses the FFT convolution above it."""


def _direct_sum(n_terms: int, shape: tuple[int, ...], kernel_shape: tuple[int, ...]) -> bool:
    """Whether :func:`sphere_means_in_mask` sums ``n_terms`` (mask voxels x sphere voxels)
    directly: at most :data:`DIRECT_SUM_RATIO` times the size of the FFT grid of
    :func:`sphere_means`. Each side of the grid is ``n + k - 1`` rounded up to a fast FFT
    length, so the product of the unrounded sides settles most ROIs without asking scipy
    for the lengths (100 µs)."""
    full = [n + k - 1 for n, k in zip(shape, kernel_shape, strict=True)]
    if n_terms <= DIRECT_SUM_RATIO * math.prod(full):
        return True
    from scipy import fft

    return n_terms <= DIRECT_SUM_RATIO * math.prod(fft.next_fast_len(n, real=True) for n in full)


def _means(ctx: RoiContext) -> FloatArray:
    """Sphere means of the intensity-mask voxels, in the order of ``ctx.intensities``."""
    if not ctx.int_mask.any():
        raise EmptyRoiError(
            "the intensity mask holds no voxel (after re-segmentation); local intensity "
            "features are undefined"
        )
    return ctx.cached(
        ("loc", "sphere_means_in_mask"),
        lambda: sphere_means_in_mask(ctx.image, ctx.int_mask, spacing=ctx.spacing),
    )


@family("loc")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate local intensity features (3D, DHQ4)."""
    _means(ctx)
    return evaluate_each(ctx, specs, ctx)


@feature(name="loc.peak_local", ibsi="VJGA", requires=("sphere_means",))
def peak_local(ctx: RoiContext) -> float:
    """Local intensity peak (IBSI VJGA).

    Notes
    -----
    .. math:: F_{loc.peak.local} = \\max_{k:\\,X_{gl,k}=\\max(\\mathbf{X}_{gl})}
        \\overline{X}_{S(k)}

    the mean intensity in the 1 cm³ sphere :math:`S(k)` (radius
    :math:`(3/(4\\pi))^{1/3}` cm, voxel centres in world coordinates, every image voxel)
    centred on the voxel of maximum intensity in the intensity mask; when several voxels
    share the maximum, the highest of their sphere means. Voxels within
    :data:`PEAK_TIE_RELATIVE` of the largest magnitude below the maximum share it: two
    interpolated values equal in exact arithmetic can differ in their last bits, and the
    choice of the sphere must not hang on them.

    References
    ----------
    IBSI 1 manual, §3.2.1 "Local intensity peak"; Frings et al., J Nucl Med 2014.
    """
    means = _means(ctx)
    x = ctx.intensities
    top_value = float(x.max())
    largest = max(abs(top_value), abs(float(x.min())))  # the largest magnitude
    top = x >= top_value - PEAK_TIE_RELATIVE * largest
    return float(means[top].max())


PEAK_TIE_RELATIVE = 1e-12
"""Relative distance (to the largest intensity magnitude in the ROI) within which a voxel
shares the maximum intensity for the local intensity peak: interpolation sums eight
weighted terms, so values equal in exact arithmetic (a maximum tied between two voxels of
an integer image on a finer grid) differ by a few units of the last place (about 1e-15
relative); distinct values of real images lie far beyond it."""


@feature(name="loc.peak_global", ibsi="0F91", requires=("sphere_means",))
def peak_global(ctx: RoiContext) -> float:
    """Global intensity peak (IBSI 0F91).

    Notes
    -----
    .. math:: F_{loc.peak.global} = \\max_{k\\in\\text{intensity mask}}\\overline{X}_{S(k)}

    the highest 1 cm³ sphere mean over every voxel of the intensity mask.

    References
    ----------
    IBSI 1 manual, §3.2.2 "Global intensity peak".
    """
    return float(_means(ctx).max())
