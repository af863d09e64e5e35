"""Public entry point of the filters: :func:`apply_filter`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from radiomix.errors import InputError
from radiomix.process.filters._validate import check_image, check_spacing
from radiomix.process.filters.gabor import aliasing_caveat, gabor_filter
from radiomix.process.filters.gaussian import gaussian_response
from radiomix.process.filters.laws import laws_filter
from radiomix.process.filters.log import log_filter, settings_caveat
from radiomix.process.filters.mean import mean_filter
from radiomix.process.filters.simoncelli import simoncelli_filter
from radiomix.process.filters.wavelets import wavelet_filter
from radiomix.settings.filters import FilterSettings
from radiomix.types import FloatArray

log = logging.getLogger(__name__)


def apply_filter(
    image: np.ndarray, *, spacing: Sequence[float], settings: FilterSettings
) -> FloatArray:
    """Filter an image and return its response map (IBSI 2 convolutional filters).

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image indexed (z, y, x), any real dtype. It is not modified. A single slice is passed
        as shape (1, Y, X) with a ``2d`` filter.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x). Filters with lengths in mm (Gaussian, LoG, Gabor)
        convert them to voxels with it; LoG and Gabor need isotropic voxels along the filtered
        axes (interpolate first, as IBSI 2 recommends).
    settings : FilterSettings
        The filter, its parameters, boundary condition, 2D/3D and pooling.

    Returns
    -------
    response : (Z, Y, X) ndarray of float64
        Response map on the image grid; its column-name token is ``settings.tag``.

    Raises
    ------
    InputError
        Not a 3D real array, bad spacing, or anisotropic voxels for LoG/Gabor.
    InvalidIntensityError
        The image holds NaN or infinite values.

    Notes
    -----
    Filtering happens on the whole array given; filter the image before cropping to the
    ROI, or keep a margin of at least the filter's reach
    (:func:`radiomix.process.filters.margin.support_radius_vox`: the kernel radius, or the
    whole image for the Simoncelli wavelet and Riesz transforms), so that the response
    inside the ROI does not depend on the boundary condition. ``settings.boundary`` is the
    boundary condition in force (mirror by default, periodic for the Simoncelli wavelet).

    References
    ----------
    Depeursinge A, et al. Standardised convolutional filtering for radiomics.
    arXiv:2006.05470 (IBSI 2). Whybra P, et al. Radiology 2024;310(2):e231319.

    Examples
    --------
    >>> import numpy as np
    >>> from radiomix.settings.filters import FilterSettings
    >>> img = np.zeros((5, 5, 5)); img[2, 2, 2] = 27.0
    >>> out = apply_filter(img, spacing=(1.0, 1.0, 1.0),
    ...                    settings=FilterSettings(kind="mean", support=3, padding="constant"))
    >>> float(out[1, 1, 1]), float(out[0, 0, 0])
    (1.0, 0.0)
    """
    if not isinstance(settings, FilterSettings):
        raise InputError(
            f"settings must be a FilterSettings, got {type(settings).__name__}; build one with "
            "FilterSettings(kind=...) or settings_from_dict(data, cls=FilterSettings)"
        )
    data = check_image(image)
    sp = check_spacing(spacing)
    log.debug("filter %s on image %s, spacing %s", settings.tag, data.shape, sp)
    kind = settings.kind
    if kind == "mean":
        out = mean_filter(
            data, support=int(settings.support or 1), ndim=settings.ndim, padding=settings.boundary
        )
    elif kind == "gaussian":
        out = gaussian_response(data, sp, settings)
    elif kind == "log":
        out = log_filter(data, sp, settings)
    elif kind == "laws":
        out = laws_filter(data, settings)
    elif kind == "gabor":
        out = gabor_filter(data, sp, settings)
    elif kind == "wavelet":
        out = wavelet_filter(data, settings)
    else:
        out = simoncelli_filter(data, settings)
    if out is data or np.shares_memory(out, data):  # never hand back the caller's buffer
        out = out.copy()
    return np.ascontiguousarray(out, dtype=np.float64)


def filter_caveat(settings: FilterSettings, spacing: Sequence[float]) -> str | None:
    """Why the response map of ``settings`` on an image of this spacing is not quite the
    filter its name says (for the response map's provenance note; each filter logs it as
    it runs), ``None`` when it is: a sampled LoG kernel that does not sum to about 0
    (:func:`radiomix.process.filters.log.settings_caveat`), a Gabor wavelength below the
    sampling limit computed with ``allow_aliasing``
    (:func:`radiomix.process.filters.gabor.aliasing_caveat`)."""
    sp = tuple(float(v) for v in spacing)
    return settings_caveat(settings, sp) or aliasing_caveat(settings, sp)
