"""Intensity discretisation (IBSI 1 §2.7): fixed bin number, fixed bin size, and the
re-discretisation for the intensity-volume histogram."""

from __future__ import annotations

import numpy as np

from radiomix.errors import InputError
from radiomix.roi import IvhInput
from radiomix.settings.steps import DiscretisationSettings, IvhSettings, ResegmentationSettings
from radiomix.types import FloatArray, IntArray


def fixed_bin_number(values: FloatArray, bins: int) -> IntArray:
    """Fixed bin number discretisation (FBN).

    Notes
    -----
    .. math::
        X_{d,k} = \\begin{cases} \\lfloor N_g \\frac{X_{gl,k} - X_{gl,min}}{X_{gl,max} -
        X_{gl,min}} \\rfloor + 1 & X_{gl,k} < X_{gl,max} \\\\ N_g & X_{gl,k} = X_{gl,max}
        \\end{cases}

    with the minimum and maximum over the ROI. A flat ROI maps to level 1.

    Examples
    --------
    >>> fixed_bin_number(np.array([0.0, 1.0, 2.0, 4.0]), 4).tolist()
    [1, 2, 3, 4]
    """
    lo, hi = float(values.min()), float(values.max())
    if hi == lo:
        return np.ones(values.shape, dtype=np.int64)
    levels = np.floor(bins * (values - lo) / (hi - lo)).astype(np.int64) + 1
    return np.minimum(levels, bins)


def fixed_bin_size(values: FloatArray, width: float, lower: float) -> IntArray:
    """Fixed bin size discretisation (FBS).

    Notes
    -----
    .. math:: X_{d,k} = \\lfloor \\frac{X_{gl,k} - X_{gl,min}}{w_b} \\rfloor + 1

    with :math:`X_{gl,min}` the lower bound of the re-segmentation range (or the ROI minimum).

    Examples
    --------
    >>> fixed_bin_size(np.array([-500.0, -476.0, -475.0, 400.0]), 25.0, -500.0).tolist()
    [1, 1, 2, 37]
    """
    return np.floor((values - lower) / width).astype(np.int64) + 1


def discretise(
    values: FloatArray,
    settings: DiscretisationSettings,
    reseg: ResegmentationSettings,
    *,
    key: str = "discretisation",
) -> tuple[IntArray, int]:
    """Discretise the ROI intensities; return the grey levels and the number of levels.

    For ``none`` the intensities must already be integers >= 1 (such as the IBSI digital
    phantom); they are then used as grey levels. ``key``: the settings key of
    ``settings``, named in messages (``response_maps.discretisation`` for a response map).
    """
    if settings.method == "fbn":
        assert settings.bins is not None
        return fixed_bin_number(values, settings.bins), settings.bins
    if settings.method == "fbs":
        assert settings.bin_width is not None
        lower = _lower(values, reseg)
        _check_levels(values, settings, lower, key)
        levels = fixed_bin_size(values, settings.bin_width, lower)
        return levels, int(levels.max())
    rounded = np.rint(values)
    if np.any(rounded != values) or values.min() < 1:
        raise InputError(
            "discretisation 'none' needs integer intensities >= 1 in the ROI; got values "
            f"from {values.min():g} to {values.max():g}. Choose fbn or fbs."
        )
    _check_levels(values, settings, 1.0, key)
    levels = rounded.astype(np.int64)
    return levels, int(levels.max())


def nice_bin_width(span: float, max_levels: int) -> float:
    """Smallest width of the form {1, 2, 2.5, 5} × 10^k giving at most ``max_levels`` bins
    over ``span``.

    Examples
    --------
    >>> nice_bin_width(65535.0, 1000)
    100.0
    >>> nice_bin_width(1400.0, 1000)
    2.0
    """
    # floor(span / w) + 1 <= max_levels  <=>  w > span / max_levels; fitting is monotone in
    # w, so the first fitting width in increasing order is the smallest
    bound = span / max_levels
    exponent = int(np.floor(np.log10(bound))) if bound > 0 else 0
    for k in range(exponent, exponent + 3):
        for mantissa in (1.0, 2.0, 2.5, 5.0):
            width = float(mantissa * 10.0**k)
            if np.floor(span / width) + 1 <= max_levels:
                return width
    raise AssertionError("unreachable: 10^(k+2) > span / max_levels always fits")


def _check_levels(values: FloatArray, settings: DiscretisationSettings, lower: float,
                  key: str = "discretisation") -> None:
    """Refuse more grey levels than ``settings.max_levels``, before any array is made."""
    width = settings.bin_width if settings.method == "fbs" else 1.0
    assert width is not None
    top = float(values.max())
    n = int(np.floor((top - lower) / width)) + 1
    if n <= settings.max_levels:
        return
    span = top - lower
    suggestion = nice_bin_width(span, settings.max_levels)
    if key != "discretisation":  # a response map: its values are the filter's, not units
        raise InputError(
            f"{key} {settings.method} would give {n:,} grey levels (responses {lower:g} to "
            f"{top:g} with bin width {width:g}), more than {key}.max_levels "
            f"{settings.max_levels}: use {key}.bin_width {suggestion:g} or larger, or fbn")
    raise InputError(
        f"discretisation {settings.method} would give {n:,} grey levels (intensities "
        f"{lower:g} to {top:g} with bin width {width:g}), more than discretisation.max_levels "
        f"{settings.max_levels}. First check that these are the image's units (HU for CT, "
        "SUV for PET: a PET in Bq/ml, or an image with a wrong rescale or voxel type, holds "
        f"far larger values); if they are, use discretisation.bin_width {suggestion:g} or "
        "larger (method fbs), or fbn with fewer bins, or a re-segmentation range"
    )


def _lower(values: FloatArray, reseg: ResegmentationSettings) -> float:
    if reseg.range is not None and reseg.range[0] is not None:
        return float(reseg.range[0])
    return float(values.min())


def ivh_input(values: FloatArray, settings: IvhSettings, reseg: ResegmentationSettings) -> IvhInput:
    """Intensities and range for the intensity-volume histogram.

    Parameters
    ----------
    values : (N,) ndarray of float64
        Intensities of the intensity mask.
    settings : IvhSettings
        ``none``: intensities used directly (interval 1; integers only, else the IVH is
        ``undefined`` with the reason); ``fbs``: bin-centre intensities
        of a fixed-bin-size re-discretisation from the lower range bound (interval = bin
        width); ``fbn``: bin numbers (interval 1).
    reseg : ResegmentationSettings
        Its range bounds the IVH intensity fraction when ``use_resegmentation_range``.

    Notes
    -----
    IBSI 1 §4.5 (P88C): configurations A, B, D use calibrated HU directly, C re-discretises
    with 2.5 HU bins and uses the bin centres, E uses the bin numbers of 1000 fixed bins
    and ignores the re-segmentation range.
    With fixed bin size the IVH range is IBSI's :math:`[X_{min} + w/2, X_{max} - w/2]`
    (P88C, continuous case), the centres of the first and last bins: :math:`X_{min}` and
    :math:`X_{max}` are the re-segmentation range's bounds where set (and
    ``use_resegmentation_range``), else the edges of the lowest and highest occupied bins
    (the bins start at the range's lower bound where one is set, else at the ROI's
    minimum). Half a bin below the ROI's maximum instead, the highest bin's centre would
    lie beyond the range: with coarse bins no intensity of the range would reach 90 % of
    it, and V90 would be 0 with 1.8 % of the voxels in the top bin.
    """
    rng = reseg.range if settings.use_resegmentation_range else None
    if settings.method == "fbs":
        assert settings.bin_width is not None
        w = settings.bin_width
        lo = _lower(values, reseg)
        bins = fixed_bin_size(values, w, lo)
        out = np.asarray(lo + (bins - 0.5) * w, dtype=np.float64)
        # G from the centre of the first bin to that of the last: the range's, where a
        # bound is set and used, else the lowest and highest occupied bins'
        lower = lo + 0.5 * w if rng and rng[0] is not None else float(out.min())
        upper = rng[1] - 0.5 * w if rng and rng[1] is not None else float(out.max())
        return IvhInput(values=out, lower=float(lower), upper=float(upper), step=w)
    if settings.method == "fbn":
        assert settings.bins is not None
        out = fixed_bin_number(values, settings.bins).astype(np.float64)
        return IvhInput(values=out, lower=1.0, upper=float(settings.bins), step=1.0)
    lower = float(rng[0]) if rng and rng[0] is not None else float(values.min())
    upper = float(rng[1]) if rng and rng[1] is not None else float(values.max())
    x = np.asarray(values, dtype=np.float64)
    fractional = x != np.round(x)
    if fractional.any():
        # the unit-step IVH of IBSI's discrete case needs integer intensities (HU); on others
        # (PET SUV, MR, interpolated CT without rounding) it would report intensities no
        # voxel has, so nothing is computed and the note says what to set
        undefined = (f"not computed: ivh.method none uses the intensities as integers (e.g. HU) "
                     f"and {int(fractional.sum())} of {x.size} ROI intensities are not (e.g. "
                     f"{float(x[fractional][0]):.6g}); set ivh: {{method: fbs, bin_width: ...}} "
                     "(IBSI's continuous case, e.g. 0.1 for PET SUV), fbn, or round the "
                     "intensities (interpolation.round_intensities for CT)")
        return IvhInput(values=x, lower=lower, upper=upper, step=1.0, undefined=undefined)
    return IvhInput(values=x, lower=lower, upper=upper, step=1.0)
