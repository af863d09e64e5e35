"""Preprocessing on the original grid, before the IBSI 1 chain (issue 9).

Order (IBSI 2 §2 and the reference studies: filtering and intensity normalisation precede
interpolation; the lung study smooths, then min–max-normalises):

1. peritumoral ring (``roi="ring"``): replaces the tumour mask; it depends on the mask only,
   so it is computed first and every later step that reads the ROI sees the ring;
2. N4 bias-field correction, estimated from the whole image (ROI-independent);
3. Gaussian smoothing, σ in mm;
4. z-score or min–max normalisation, statistics from the analysed ROI or the whole image;

then :func:`radiomix.process.pipeline.process_arrays` crops, interpolates, re-segments and
discretises as usual.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from radiomix.errors import EmptyRoiError
from radiomix.process.bias_field import correct_bias_field
from radiomix.process.filters.gaussian import gaussian_smooth
from radiomix.process.normalise import minmax_normalise, zscore_normalise
from radiomix.process.peritumoral import peritumoral_ring
from radiomix.settings.steps import PreprocessSettings
from radiomix.types import BoolArray, FloatArray, Spacing

log = logging.getLogger(__name__)

SMOOTHING_TRUNCATION = 4.0
"""Gaussian kernel cut-off in standard deviations (radius ``floor(4σ/s + 0.5)`` voxels)."""


def analysis_mask(
    mask: BoolArray,
    spacing: Spacing,
    settings: PreprocessSettings,
    *,
    dimensionality: str = "3d",
) -> BoolArray:
    """The analysed ROI: the tumour mask, or its peritumoral ring (``settings.roi``).

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        Tumour mask.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm.
    settings : PreprocessSettings
        ``roi``, ``ring_inner_mm`` and ``ring_outer_mm``.
    dimensionality : {"3d", "2d"}
        ``2d`` grows the ring within each axial slice.

    Returns
    -------
    (Z, Y, X) ndarray of bool
        ``mask`` itself, or the ring (never a tumour voxel).

    Raises
    ------
    EmptyRoiError
        Empty tumour mask.
    """
    if settings.roi == "tumour":
        return mask
    assert settings.ring_outer_mm is not None  # enforced by PreprocessSettings
    return peritumoral_ring(
        mask,
        spacing=spacing,
        outer_mm=settings.ring_outer_mm,
        inner_mm=settings.ring_inner_mm,
        dimensionality=dimensionality,
    )


def preprocess(
    image: np.ndarray,
    mask: BoolArray,
    spacing: Spacing,
    settings: PreprocessSettings,
    *,
    dimensionality: str = "3d",
) -> tuple[FloatArray, BoolArray]:
    """Apply the preprocessing steps of ``settings`` to a (Z, Y, X) image and its ROI.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image on its original grid.
    mask : (Z, Y, X) ndarray of bool
        Tumour mask on the same grid.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm.
    settings : PreprocessSettings
        Steps to apply; the defaults return the inputs unchanged (as float64 / bool).
    dimensionality : {"3d", "2d"}
        ``2d``: smoothing and ring growth stay within each axial slice.

    Returns
    -------
    image : (Z, Y, X) ndarray of float64
        Preprocessed image.
    mask : (Z, Y, X) ndarray of bool
        Analysed ROI: the tumour mask or its peritumoral ring.

    Raises
    ------
    EmptyRoiError
        Empty tumour mask, or a ring that is empty.
    InputError
        Bias-field correction of non-positive intensities; normalisation of a constant
        region.

    Notes
    -----
    Steps, in order: ring (mask only) → N4 bias field (from all voxels > 0, whatever the
    ROI) → Gaussian smoothing (mirror padding, 4σ kernel) → normalisation

    .. math:: I' = \\frac{I - \\mu_R}{\\sigma_R} \\quad\\text{or}\\quad
       I' = \\frac{I - \\min_R I}{\\max_R I - \\min_R I}

    with R the analysed ROI (``normalise_region="roi"``) or the whole image.
    """
    img = np.asarray(image, dtype=np.float64)
    roi = analysis_mask(
        np.asarray(mask, dtype=bool), spacing, settings, dimensionality=dimensionality
    )
    if not roi.any():
        raise EmptyRoiError(
            f"the peritumoral ring ({settings.ring_inner_mm}-{settings.ring_outer_mm} mm) "
            "holds no voxel"
        )
    if settings.bias_field:
        log.debug("preprocess: N4 bias-field correction on %s voxels", img.size)
        img = correct_bias_field(img, spacing=spacing, mask=None).corrected
    if settings.smoothing_sigma_mm is not None:
        img = gaussian_smooth(
            img,
            spacing=spacing,
            sigma_mm=settings.smoothing_sigma_mm,
            dimensionality=dimensionality,
            padding="mirror",
            truncation=SMOOTHING_TRUNCATION,
        )
    if settings.normalise != "none":
        region = roi if settings.normalise_region == "roi" else None
        if settings.normalise == "zscore":
            img = zscore_normalise(img, region)
        else:
            img = minmax_normalise(img, region, out_range=(0.0, 1.0))
    return img, roi


def smoothing_radius_voxels(settings: PreprocessSettings, spacing: Spacing) -> tuple[int, ...]:
    """Gaussian kernel radius along (z, y, x), in voxels (0 without smoothing)."""
    if settings.smoothing_sigma_mm is None:
        return (0, 0, 0)
    return tuple(
        math.floor(SMOOTHING_TRUNCATION * settings.smoothing_sigma_mm / s + 0.5) for s in spacing
    )


def preprocess_around_roi(
    image: np.ndarray,
    mask: BoolArray,
    spacing: Spacing,
    settings: PreprocessSettings,
    *,
    dimensionality: str = "3d",
    margin_mm: float,
    pad_voxels: int,
) -> tuple[FloatArray, BoolArray]:
    """:func:`preprocess`, exact within ``margin_mm`` + ``pad_voxels`` of the analysed ROI.

    When no step needs the whole image (no bias field, normalisation statistics from the
    ROI), the steps run on a box around the tumour only: the tumour bounding box grown by
    the ring's outer radius, ``margin_mm``, ``pad_voxels`` and the smoothing kernel radius.
    The box is written into a copy of the full image, so that grids and indices stay those
    of the original image; voxels outside the box are left unprocessed and must not be
    used (the pipeline's crop lies inside the box). Otherwise :func:`preprocess` runs on the
    whole image.
    """
    whole = settings.bias_field or (
        settings.normalise != "none" and settings.normalise_region == "image"
    )
    if whole:
        return preprocess(image, mask, spacing, settings, dimensionality=dimensionality)
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        raise EmptyRoiError("the ROI mask holds no voxel")
    ring_mm = settings.ring_outer_mm if settings.roi == "ring" else 0.0
    radius = smoothing_radius_voxels(settings, spacing)
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(m.any(axis=other))
        grow = math.ceil(((ring_mm or 0.0) + margin_mm) / spacing[axis]) + pad_voxels
        grow += radius[axis] + 1
        box.append(slice(max(0, int(idx[0]) - grow), min(m.shape[axis], int(idx[-1]) + grow + 1)))
    sl = tuple(box)
    sub_img, sub_roi = preprocess(
        image[sl], m[sl], spacing, settings, dimensionality=dimensionality
    )
    out = np.array(image, dtype=np.float64)
    out[sl] = sub_img
    roi = np.zeros(m.shape, dtype=bool)
    roi[sl] = sub_roi
    return out, roi
