"""Gaussian smoothing with σ in mm (a preprocessing step; not an IBSI 2 filter)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from radiomix.process.filters._convolve import convolve_separable
from radiomix.process.filters._validate import check_image, check_spacing
from radiomix.settings.filters import FilterSettings
from radiomix.types import FloatArray


def gaussian_kernel_1d(sigma_vox: float, truncation: float = 4.0) -> FloatArray:
    """Sampled 1D Gaussian of standard deviation ``sigma_vox`` voxels, normalised to sum 1.

    The radius is ``floor(truncation * sigma_vox + 0.5)`` voxels (IBSI 2 kernel size rule).
    """
    radius = math.floor(truncation * sigma_vox + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma_vox) ** 2)
    return g / g.sum()


def gaussian_smooth(
    image: np.ndarray,
    *,
    spacing: Sequence[float],
    sigma_mm: float,
    dimensionality: str = "3d",
    padding: str = "mirror",
    truncation: float = 4.0,
) -> FloatArray:
    """Gaussian smoothing with a standard deviation given in mm.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image to smooth (any real dtype; the result is float64).
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x). Anisotropic spacing is allowed: the standard
        deviation along axis i is ``sigma_mm / spacing[i]`` voxels.
    sigma_mm : float
        Standard deviation σ in mm (> 0).
    dimensionality : {"3d", "2d"}
        ``2d`` smooths each axial slice on its own (no smoothing across slices).
    padding : {"mirror", "constant", "nearest", "periodic"}
        IBSI 2 boundary condition.
    truncation : float
        Kernel cut-off in standard deviations.

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Raises
    ------
    InputError
        Not a 3D array, bad spacing; ``InvalidIntensityError`` for NaN/inf values.
    SettingsError
        Non-positive σ or truncation, unknown padding or dimensionality.

    Notes
    -----
    .. math:: g_i(k) \\propto \\exp\\left(-\\frac{k^2 s_i^2}{2\\sigma^2}\\right),\\quad
       \\sum_k g_i(k) = 1

    applied separably along each smoothed axis i (spacing :math:`s_i`), so constant images
    are unchanged. The lung reference study of radiomix smooths with a Gaussian before
    min–max normalisation.

    Examples
    --------
    >>> import numpy as np
    >>> out = gaussian_smooth(np.ones((4, 5, 6)), spacing=(2.0, 1.0, 1.0), sigma_mm=1.5)
    >>> bool(np.allclose(out, 1.0))
    True
    """
    settings = FilterSettings(
        kind="gaussian",
        sigma_mm=sigma_mm,
        dimensionality=dimensionality,  # type: ignore[arg-type]
        padding=padding,  # type: ignore[arg-type]
        truncation=truncation,
    )
    data = check_image(image)
    sp = check_spacing(spacing)
    return gaussian_response(data, sp, settings)


def gaussian_response(
    image: FloatArray, spacing: tuple[float, float, float], settings: FilterSettings
) -> FloatArray:
    """Gaussian smoothing of a validated float64 image (see :func:`gaussian_smooth`)."""
    sigma_mm = float(settings.sigma_mm or 0.0)
    axes = (1, 2) if settings.ndim == 2 else (0, 1, 2)
    kernels = []
    for a in axes:
        k = gaussian_kernel_1d(sigma_mm / spacing[a], settings.effective_truncation)
        kernels.append((a, k, k.shape[0] // 2))
    return convolve_separable(image, kernels, settings.boundary)
