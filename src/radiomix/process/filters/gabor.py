"""Gabor filter (IBSI 2 Q88H)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator

import numpy as np

from radiomix.process.filters._convolve import PlaneConvolver, pooled
from radiomix.process.filters._validate import isotropic_spacing
from radiomix.settings.filters import FilterSettings
from radiomix.types import FloatArray

log = logging.getLogger(__name__)

# (transpose putting the plane axes last, plane axes of the (z, y, x) array)
_PLANES: dict[str, tuple[tuple[int, int, int], tuple[int, int]]] = {
    "axial": ((0, 1, 2), (1, 2)),  # rows y, columns x
    "coronal": ((1, 0, 2), (0, 2)),  # rows z, columns x
    "sagittal": ((2, 0, 1), (0, 1)),  # rows z, columns y
}


def gabor_kernel(
    sigma_vox: float,
    wavelength_vox: float,
    gamma: float,
    theta_rad: float,
    truncation: float = 4.0,
) -> np.ndarray:
    """Complex 2D Gabor kernel, rows = second in-plane axis (y), columns = first (x).

    .. math:: h(x, y) = \\exp\\left(-\\frac{\\tilde{x}^2 + \\gamma^2 \\tilde{y}^2}
       {2\\sigma^2}\\right) \\exp\\left(i \\frac{2\\pi \\tilde{x}}{\\lambda}\\right),\\quad
       \\tilde{x} = x\\cos\\theta + y\\sin\\theta,\\;
       \\tilde{y} = -x\\sin\\theta + y\\cos\\theta

    in voxel units, on a square of radius ``floor(truncation · max(σ, σ/γ) + 0.5)``; x grows
    with the column index and y with the row index. The kernel is not normalised (its centre
    value is 1), as in the IBSI 2 reference response maps.
    """
    radius = math.floor(truncation * max(sigma_vox, sigma_vox / gamma) + 0.5)
    r = np.arange(-radius, radius + 1, dtype=np.float64)
    y, x = np.meshgrid(r, r, indexing="ij")
    xt = x * math.cos(theta_rad) + y * math.sin(theta_rad)
    yt = -x * math.sin(theta_rad) + y * math.cos(theta_rad)
    envelope = np.exp(-(xt**2 + gamma**2 * yt**2) / (2.0 * sigma_vox**2))
    return envelope * np.exp(1j * 2.0 * math.pi * xt / wavelength_vox)


SAMPLING_LIMIT_VOXELS = 2.0
"""Shortest wavelength a voxel grid holds (the alternation +1, -1), in voxels."""


def _below_sampling_limit(wavelength_vox: float) -> bool:
    return wavelength_vox < SAMPLING_LIMIT_VOXELS - 1e-9


def _check_sampling(settings: FilterSettings, sigma_vox: float, wavelength_vox: float,
                    gamma: float, voxel: float, truncation: float) -> None:
    """Refuse a Gabor filter the voxel grid cannot sample: a kernel of a single voxel (the
    response is the image itself) or, unless ``allow_aliasing`` is set, a wavelength below 2
    voxels (beyond the sampling limit the oscillation folds back onto a longer one: 1 voxel
    is no oscillation at all, 0.4 voxel is 2 voxels; 2 voxels, the alternation +1, -1, is
    the shortest the grid holds)."""
    from radiomix.errors import InputError

    where = f"response_maps filter {settings.tag}"
    if math.floor(truncation * max(sigma_vox, sigma_vox / gamma) + 0.5) == 0:
        raise InputError(
            f"{where}: sigma_mm {settings.sigma_mm:g} is {sigma_vox:.3g} voxels of {voxel:g} "
            "mm, so the Gabor kernel is a single voxel and its response is the image itself; "
            f"give sigma_mm of at least {voxel:.3g} mm (sigma is in mm, not voxels)")
    if _below_sampling_limit(wavelength_vox) and not settings.allow_aliasing:
        raise InputError(
            f"{where}: wavelength_mm {settings.wavelength_mm:g} is {wavelength_vox:.3g} voxels "
            f"of {voxel:g} mm, below the sampling limit of 2 voxels: the oscillation cannot "
            "be represented on this grid (it folds back onto a longer one); give "
            f"wavelength_mm of at least {2 * voxel:.3g} mm, or interpolate to a finer spacing "
            "(or, only to reproduce a study that did so, set allow_aliasing: true)")


def aliasing_caveat(settings: FilterSettings, spacing: tuple[float, ...]) -> str | None:
    """What the grid makes of a Gabor wavelength below the sampling limit that
    ``allow_aliasing`` lets through (for the response map's provenance note and the log),
    ``None`` for any other filter or wavelength.

    Examples
    --------
    >>> s = FilterSettings(kind="gabor", sigma_mm=3, wavelength_mm=3, gamma=1,
    ...                    dimensionality="2d", allow_aliasing=True)
    >>> aliasing_caveat(s, (3.0, 3.0, 3.0))[:58]
    'wavelength 3 mm is 1 voxel of 3 mm, below the sampling lim'
    >>> aliasing_caveat(s, (1.0, 1.0, 1.0)) is None
    True
    """
    if settings.kind != "gabor" or not settings.allow_aliasing:
        return None
    voxel = float(spacing[-1])
    wavelength = float(settings.wavelength_mm or 0.0) / voxel
    if not _below_sampling_limit(wavelength):
        return None
    return (f"wavelength {settings.wavelength_mm:g} mm is {wavelength:.3g} voxel of "
            f"{voxel:g} mm, below the sampling limit of 2 voxels, computed as asked "
            "(allow_aliasing): the sampled kernel's oscillation folds back onto a longer "
            "wavelength, so this map is not the response of a Gabor filter of this wavelength")


def _part(response: np.ndarray, which: str) -> FloatArray:
    if which == "modulus":
        return np.abs(response)
    if which == "real":
        return np.real(response).copy()
    if which == "imaginary":
        return np.imag(response).copy()
    return np.angle(response)


def gabor_filter(
    image: FloatArray, spacing: tuple[float, float, float], settings: FilterSettings
) -> FloatArray:
    """Gabor response (IBSI 2 Q88H): axial plane (2D) or pooled orthogonal planes (3D).

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Validated image.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm; isotropic in every filtered plane.
    settings : FilterSettings
        ``kind="gabor"`` with ``sigma_mm``, ``wavelength_mm``, ``gamma``, ``theta_deg``,
        ``rotation_invariant`` + ``theta_step_deg``, ``pooling``, ``response``, ``padding``.

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Notes
    -----
    Each plane is convolved with :func:`gabor_kernel` by FFT after padding by the kernel
    radius with the boundary condition. Orientations: θ, or with rotation invariance
    θ + kΔθ for k = 0 … 360/Δθ − 1. Planes: axial (rows y, columns x) for ``2d``; axial,
    coronal (rows z, columns x) and sagittal (rows z, columns y) for ``3d``. The chosen part
    of the complex response (modulus by default) of every orientation and plane is pooled
    with ``pooling`` (with average pooling this equals averaging over orientations, then over
    the three planes, as IBSI 2 describes).

    References
    ----------
    IBSI 2 reference manual (arXiv:2006.05470), section "Gabor filters".
    """
    planes = ["axial"] if settings.ndim == 2 else ["axial", "coronal", "sagittal"]
    axes = sorted({a for p in planes for a in _PLANES[p][1]})
    voxel = isotropic_spacing(spacing, tuple(axes), "Gabor filter")
    sigma = float(settings.sigma_mm or 0.0) / voxel
    wavelength = float(settings.wavelength_mm or 0.0) / voxel
    gamma = float(settings.gamma or 1.0)
    theta0 = float(settings.theta_deg or 0.0)
    if settings.rotation_invariant:
        step = float(settings.theta_step_deg or 360.0)
        thetas = [theta0 + k * step for k in range(round(360.0 / step))]
    else:
        thetas = [theta0]
    which = settings.response or "modulus"
    trunc = settings.effective_truncation
    _check_sampling(settings, sigma, wavelength, gamma, voxel, trunc)
    caveat = aliasing_caveat(settings, spacing)
    if caveat:
        log.warning("%s: %s", settings.tag, caveat)

    kernels = [
        gabor_kernel(sigma, wavelength, gamma, math.radians(theta), trunc) for theta in thetas
    ]
    radius = (kernels[0].shape[0] // 2, kernels[0].shape[1] // 2)

    def responses() -> Iterator[FloatArray]:
        for plane in planes:
            perm, _ = _PLANES[plane]
            conv = PlaneConvolver(np.transpose(image, perm), radius, settings.boundary)
            back = np.argsort(perm)
            for kernel in kernels:
                yield np.transpose(_part(conv(kernel), which), back)

    if len(planes) == 1 and len(thetas) == 1:
        return np.ascontiguousarray(next(iter(responses())))
    return pooled(responses(), settings.pooling or "average")
