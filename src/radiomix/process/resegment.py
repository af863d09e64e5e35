"""Re-segmentation of the intensity mask (IBSI 1 §2.5): range and outlier filtering."""

from __future__ import annotations

from radiomix.settings.steps import ResegmentationSettings
from radiomix.types import BoolArray, FloatArray


def resegment(
    image: FloatArray, morph_mask: BoolArray, settings: ResegmentationSettings
) -> BoolArray:
    """Intensity mask: the morphological mask minus voxels outside range or outliers.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Processed intensities.
    morph_mask : (Z, Y, X) ndarray of bool
        Morphological ROI mask.
    settings : ResegmentationSettings
        Closed range ``[lower, upper]`` and/or outlier filtering factor n.

    Returns
    -------
    (Z, Y, X) ndarray of bool
        Intensity mask.

    Notes
    -----
    Outlier filtering removes voxels outside :math:`[\\mu - n\\sigma, \\mu + n\\sigma]` where
    μ and σ (population standard deviation) are taken over the morphological ROI. When a
    range is also set, the intensity mask is the intersection of both criteria, each
    evaluated on the morphological ROI (IBSI 1 §2.5, "Re-segmentation").
    """
    keep = morph_mask.copy()
    if settings.range is not None:
        lo, hi = settings.range
        if lo is not None:
            keep &= image >= lo
        if hi is not None:
            keep &= image <= hi
    if settings.outlier_sigma is not None:
        values = image[morph_mask]
        mu, sd = float(values.mean()), float(values.std())
        n = settings.outlier_sigma
        keep &= (image >= mu - n * sd) & (image <= mu + n * sd)
    return keep
