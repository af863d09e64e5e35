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


def describe_empty(
    image: FloatArray, morph_mask: BoolArray, settings: ResegmentationSettings
) -> str:
    """Why re-segmentation left no voxel, in words: the criteria and the ROI's intensities.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Processed intensities.
    morph_mask : (Z, Y, X) ndarray of bool
        Morphological ROI mask (not empty).
    settings : ResegmentationSettings
        The re-segmentation that left no voxel.

    Returns
    -------
    str
        The criteria in words (an open bound as ±inf) and the ROI's intensity range.

    Examples
    --------
    >>> import numpy as np
    >>> from radiomix.settings import ResegmentationSettings
    >>> img = np.array([[[-120.0, 350.0]]])
    >>> why = describe_empty(img, img < 1000, ResegmentationSettings(range=(2000, None)))
    >>> for part in why.split(" keeps "):
    ...     print(part)
    the range [2000, +inf] (resegmentation.range)
    no voxel of the ROI, whose intensities lie in [-120, 350]
    """
    values = image[morph_mask]
    criteria = []
    if settings.range is not None:
        lo, hi = settings.range
        low = "-inf" if lo is None else f"{lo:g}"  # an open bound (null)
        high = "+inf" if hi is None else f"{hi:g}"
        criteria.append(f"the range [{low}, {high}] (resegmentation.range)")
    if settings.outlier_sigma is not None:
        criteria.append(
            f"mean ± {settings.outlier_sigma:g} SD (resegmentation.outlier_sigma)"
        )
    together = " together with ".join(criteria) or "re-segmentation"
    return (
        f"{together} keeps no voxel of the ROI, whose intensities lie in "
        f"[{float(values.min()):g}, {float(values.max()):g}]"
    )
