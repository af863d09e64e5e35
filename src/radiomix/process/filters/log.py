"""Laplacian of Gaussian filter (IBSI 2 L6PA), optionally Riesz-transformed."""

from __future__ import annotations

import logging
import math

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

MIN_SIGMA_VOX = 0.7
"""Smallest σ, in voxels, below which a warning says the sampled LoG kernel is no
Laplacian of Gaussian: its coefficients no longer sum to about 0 (0.4 % of their absolute
sum at 0.7 voxel, 13 % at 0.5, all of it once the kernel is a single voxel), so a constant
image gives a response far from 0."""


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
    """Refuse a σ whose sampled kernel is a single voxel (the response is the image times
    a constant) and warn below :data:`MIN_SIGMA_VOX`."""
    from radiomix.errors import InputError

    least = f"{MIN_SIGMA_VOX * voxel:.3g} mm"
    if math.floor(truncation * sigma_vox + 0.5) == 0:
        raise InputError(
            f"response_maps filter {settings.tag}: sigma_mm {settings.sigma_mm:g} is "
            f"{sigma_vox:.3g} voxels of {voxel:g} mm, so the LoG kernel is a single voxel and "
            f"its response is the image times a constant; give sigma_mm of at least {least} "
            "(sigma is in mm, not voxels)")
    if sigma_vox < MIN_SIGMA_VOX:
        log.warning(
            "response_maps filter %s: sigma_mm %g is %.3g voxels of %g mm; below %g voxel the "
            "sampled LoG kernel does not sum to about 0, so its response to a constant region "
            "is far from 0 and the map is no Laplacian of Gaussian; use sigma_mm of at least "
            "%s", settings.tag, settings.sigma_mm, sigma_vox, voxel, MIN_SIGMA_VOX, least)


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
