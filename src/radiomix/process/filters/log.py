"""Laplacian of Gaussian filter (IBSI 2 L6PA), optionally Riesz-transformed."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from radiomix.process.filters._convolve import (
    convolve_separable,
    crop,
    fourier_pad_widths,
    pad,
    riesz_multiplier,
)
from radiomix.process.filters._validate import isotropic_spacing
from radiomix.settings.filters import FilterSettings
from radiomix.types import FloatArray

log = logging.getLogger(__name__)

MAX_DC_LEAK = 0.004
"""Largest share of a sampled LoG kernel's absolute sum that its sum may be (0 for the
continuous Laplacian of Gaussian) before a warning says the map is no Laplacian of
Gaussian: its response to a constant region is far from 0. The share is 0.4 % at σ = 0.7
voxel with the default truncation (4σ), 13 % at 0.5, and grows as the truncation shrinks."""


def log_kernel_1d(sigma_vox: float, truncation: float) -> tuple[FloatArray, FloatArray]:
    """The 1D factors of the IBSI LoG kernel: the Gaussian ``g`` and ``g2 = (k²/σ⁴ − 1/σ²) g``.

    ``g(k) = exp(−k²/(2σ²)) / (√(2π) σ)`` (not renormalised), radius
    ``floor(truncation σ + 0.5)``.
    """
    radius = math.floor(truncation * sigma_vox + 0.5)
    k = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (k / sigma_vox) ** 2) / (math.sqrt(2.0 * math.pi) * sigma_vox)
    g2 = (k**2 / sigma_vox**4 - 1.0 / sigma_vox**2) * g
    return g, g2


def log_kernel(sigma_vox: float, ndim: int, truncation: float = 4.0) -> FloatArray:
    """Dense IBSI LoG kernel on a cube (square) of side ``2 floor(truncation σ + 0.5) + 1``.

    .. math:: h(\\mathbf{k}) = -\\frac{1}{\\sigma^2}\\left(\\frac{1}{\\sqrt{2\\pi}\\sigma}
       \\right)^d \\left(d - \\frac{\\|\\mathbf{k}\\|^2}{\\sigma^2}\\right)
       \\exp\\left(-\\frac{\\|\\mathbf{k}\\|^2}{2\\sigma^2}\\right)

    with σ and k in voxels. Used by tests and for inspection; filtering uses the separable
    form.
    """
    radius = math.floor(truncation * sigma_vox + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    grids = np.meshgrid(*([x] * ndim), indexing="ij")
    r2 = sum(g * g for g in grids)
    return (
        -1.0
        / sigma_vox**2
        * (1.0 / (math.sqrt(2.0 * math.pi) * sigma_vox)) ** ndim
        * (ndim - r2 / sigma_vox**2)
        * np.exp(-r2 / (2.0 * sigma_vox**2))
    )


def _log_separable(
    image: FloatArray, sigma_vox: float, axes: tuple[int, ...], padding: str, truncation: float
) -> FloatArray:
    g, g2 = log_kernel_1d(sigma_vox, truncation)
    anchor = g.shape[0] // 2
    out = np.zeros(image.shape, dtype=np.float64)
    for second in axes:
        kernels = [(a, g2 if a == second else g, anchor) for a in axes]
        out += convolve_separable(image, kernels, padding)
    return out


def log_filter(
    image: FloatArray, spacing: tuple[float, float, float], settings: FilterSettings
) -> FloatArray:
    """Laplacian-of-Gaussian response (IBSI 2 L6PA), Riesz-transformed when requested.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Validated image.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm; it must be isotropic along the filtered axes.
    settings : FilterSettings
        ``kind="log"`` with ``sigma_mm`` (σ), ``truncation``, ``dimensionality``, ``padding``
        and optionally ``riesz_order_xyz``.

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Notes
    -----
    σ in voxels is ``sigma_mm / spacing``. The kernel (see :func:`log_kernel`) is the
    IBSI 2 formula in voxel units, truncated to a cube of radius ⌊4σ + 0.5⌋, and is applied
    as the sum over axes i of separable products (second-derivative factor along i, Gaussian
    along the others), which equals the dense kernel exactly.

    With ``riesz_order_xyz`` the LoG response is computed on the image padded along each
    filtered axis by half its length, at most max(32, 4 × kernel radius) voxels (no padding
    for periodic boundaries), multiplied in the Fourier
    domain by the Riesz multiplier
    (:func:`~radiomix.process.filters._convolve.riesz_multiplier`)
    and cropped; the real part is returned.

    References
    ----------
    IBSI 2 reference manual (arXiv:2006.05470), sections "Laplacian of Gaussian" and
    "Riesz transform".
    """
    axes = (1, 2) if settings.ndim == 2 else (0, 1, 2)
    voxel = isotropic_spacing(spacing, axes, "LoG filter")
    sigma_vox = float(settings.sigma_mm or 0.0) / voxel
    trunc = settings.effective_truncation
    _check_sigma(settings, sigma_vox, voxel, trunc)
    if settings.riesz_order_xyz is None:
        return _log_separable(image, sigma_vox, axes, settings.boundary, trunc)
    radius = math.floor(trunc * sigma_vox + 0.5)
    widths = fourier_pad_widths(image.shape, axes, settings.boundary, max(32, 4 * radius))
    padded = pad(image, widths, settings.boundary)
    response = _log_separable(padded, sigma_vox, axes, settings.boundary, trunc)
    return crop(riesz_apply(response, settings.riesz_order_xyz, axes), widths)


def _check_sigma(settings: FilterSettings, sigma_vox: float, voxel: float,
                 truncation: float) -> None:
    """Refuse a kernel of a single voxel (the response is the image times a constant) and
    warn with :func:`kernel_caveat`."""
    from radiomix.errors import InputError

    if math.floor(truncation * sigma_vox + 0.5) == 0:
        raise InputError(
            f"response_maps filter {settings.tag}: sigma_mm {settings.sigma_mm:g} is "
            f"{sigma_vox:.3g} voxels of {voxel:g} mm and the truncation {truncation:g} sigma, "
            "so the LoG kernel is a single voxel and its response is the image times a "
            f"constant; give sigma_mm of at least {0.7 * voxel:.3g} mm (sigma is in mm, not "
            "voxels) and the default truncation (4)")
    caveat = kernel_caveat(sigma_vox, voxel, truncation, 2 if settings.ndim == 2 else 3)
    if caveat:
        log.warning("response_maps filter %s: %s", settings.tag, caveat)


def settings_caveat(settings: FilterSettings, spacing: Sequence[float]) -> str | None:
    """:func:`kernel_caveat` of a LoG filter on an image of this spacing (for the response
    map's provenance note), None for other filters."""
    if settings.kind != "log":
        return None
    axes = (1, 2) if settings.ndim == 2 else (0, 1, 2)
    voxel = float(spacing[axes[-1]])
    return kernel_caveat(float(settings.sigma_mm or 0.0) / voxel, voxel,
                         settings.effective_truncation, len(axes))


def kernel_caveat(sigma_vox: float, voxel: float, truncation: float, ndim: int) -> str | None:
    """Why a sampled LoG kernel is no Laplacian of Gaussian (its coefficients sum to more
    than :data:`MAX_DC_LEAK` of their absolute sum: too small a σ in voxels, or too short a
    truncation), None when it is one.

    Examples
    --------
    >>> kernel_caveat(3.0, 1.0, 4.0, 3) is None
    True
    >>> kernel_caveat(0.5, 1.0, 4.0, 3)[:40]
    'sigma 0.5 voxel of 1 mm, truncation 4 si'
    """
    radius = math.floor(truncation * sigma_vox + 0.5)
    if radius > 12:  # far below the limit for any truncation that reaches so far
        return None
    h = log_kernel(sigma_vox, ndim, truncation)
    leak = abs(float(h.sum())) / float(np.abs(h).sum())
    if leak <= MAX_DC_LEAK:
        return None
    return (f"sigma {sigma_vox:.3g} voxel of {voxel:g} mm, truncation {truncation:g} sigma: "
            f"the sampled LoG kernel sums to {100 * leak:.2g} % of its absolute sum, not "
            "about 0, so its response to a constant region is far from 0 and the map is no "
            "Laplacian of Gaussian; use a larger sigma_mm (at least one voxel) or the default "
            "truncation (4)")


def riesz_apply(
    response: FloatArray, order_xyz: tuple[int, ...], axes: tuple[int, ...]
) -> FloatArray:
    """Riesz transform of ``response`` over ``axes`` (periodic on the array), real part.

    ``order_xyz`` is in (x, y[, z]) order; it is mapped onto the (z, y, x) array axes.
    """
    order_axes = tuple(reversed(order_xyz))  # (z, y, x) or (y, x), matching ``axes``
    shape = [response.shape[a] for a in axes]
    mult = riesz_multiplier(shape, order_axes)
    full = [1] * response.ndim
    for a, n in zip(axes, shape, strict=True):
        full[a] = n
    spectrum = np.fft.fftn(response, axes=axes) * mult.reshape(full)
    return np.real(np.fft.ifftn(spectrum, axes=axes))
