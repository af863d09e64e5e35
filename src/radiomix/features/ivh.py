"""Intensity-volume histogram features (IBSI family P88C).

The (cumulative) intensity-volume histogram relates each discretised intensity :math:`i`
of the total range :math:`\\mathbf{G}` to the fraction :math:`\\nu_i` of the ROI volume with
intensity at least :math:`i`. Its input comes from the processing chain as
:class:`~radiomix.roi.IvhInput`:

- ``values``: the IVH intensities :math:`\\mathbf{X}_{d,gl}` of the intensity-mask voxels,
  i.e. calibrated intensities (discrete case, e.g. CT in HU), fixed-bin-size bin centres
  (continuous calibrated case, e.g. PET) or fixed-bin-number bin numbers (arbitrary
  units, e.g. MR);
- ``lower``, ``upper``: the total range :math:`\\mathbf{G}` used for intensity fractions;
- ``step``: the discretisation interval :math:`w_d` between consecutive intensities.

These functions use ``lower``/``upper`` as :math:`\\min\\mathbf{G}` and
:math:`\\max\\mathbf{G}` as given. For the continuous case IBSI defines
:math:`\\mathbf{G}=[X_{gl,min}+w_b/2,\\ X_{gl,max}-w_b/2]` (the outermost bin centres);
the processing chain is responsible for passing those bounds.

Features are computed in 3D (IBSI DHQ4).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.features.statistics import sort_sample
from radiomix.roi import IvhInput, RoiContext
from radiomix.types import FloatArray

REFERENCE_TABLE_NAMES: dict[str, str] = {
    "Volume fraction at 10% intensity": "ivh.volume_fraction_at_10pct_intensity",
    "Volume fraction at 90% intensity": "ivh.volume_fraction_at_90pct_intensity",
    "Intensity at 10% volume": "ivh.intensity_at_10pct_volume",
    "Intensity at 90% volume": "ivh.intensity_at_90pct_volume",
}
"""Feature column of ``reference_values.csv`` -> feature name, for the codes BC2M and GBPN
that each cover two reference tables."""

log = logging.getLogger(__name__)

_EPS = 1e-9

IVH_MAX_POINTS = 10_000_000
"""Largest number of discretised intensities of the total range :math:`\\mathbf{G}`.

The area under the curve evaluates :math:`\\nu` at each of them (a few float64 arrays of
that length, 80 MB each at the limit). Calibrated images stay far below it (a 16-bit range
at unit steps is 65 536 points, a PET in Bq/mL at unit steps a few 10⁵); beyond it the
intensities are mis-scaled (a float image without its rescale) or the step is too fine for
the range, and the grid would exhaust memory, or would not even be representable, without
a meaningful result.
"""


@dataclass(frozen=True, slots=True)
class IntensityVolumeHistogram:
    """Sorted IVH intensities and the total range, shared by the IVH features.

    Attributes
    ----------
    sorted : (N,) ndarray of float64
        IVH intensities in increasing order.
    lower, upper : float
        Total range :math:`\\mathbf{G}`.
    step : float
        Discretisation interval :math:`w_d`.
    """

    sorted: FloatArray
    lower: float
    upper: float
    step: float

    @classmethod
    def of(cls, ivh: IvhInput) -> IntensityVolumeHistogram:
        """Validate an :class:`IvhInput` and sort its intensities.

        Raises
        ------
        EmptyRoiError
            If there are no intensities.
        InputError
            If the range or the step is invalid, or intensities are not finite.
        """
        x = sort_sample(np.asarray(ivh.values, dtype=np.float64).ravel(),
                        step=float(ivh.step))
        if x.size == 0:
            raise EmptyRoiError(
                "the intensity mask holds no voxel (after re-segmentation); IVH features "
                "are undefined"
            )
        if not (math.isfinite(x[0]) and math.isfinite(x[-1])):  # sorted: NaN last
            raise InputError("IVH intensities contain NaN or infinite values")
        lo, hi, step = float(ivh.lower), float(ivh.upper), float(ivh.step)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise InputError(f"IVH range must satisfy lower <= upper, got [{lo}, {hi}]")
        if not (step > 0 and math.isfinite(step)):
            raise InputError(f"IVH discretisation interval must be > 0, got {step!r}")
        _check_grid_size(lo, hi, step)
        return cls(sorted=x, lower=lo, upper=hi, step=step)

    @property
    def n(self) -> int:
        """Number of voxels :math:`N_v`."""
        return int(self.sorted.size)

    def grid(self) -> FloatArray:
        """Discretised intensities of :math:`\\mathbf{G}`: ``lower + k * step`` up to ``upper``."""
        k = math.floor((self.upper - self.lower) / self.step + _EPS)
        return self.lower + np.arange(k + 1, dtype=np.float64) * self.step

    def volume_fraction(self, i: FloatArray | float) -> FloatArray:
        """:math:`\\nu_i = 1 - \\frac{1}{N_v}\\sum_k [X_{d,gl,k} < i]` (fraction with X >= i)."""
        below = np.searchsorted(self.sorted, np.asarray(i) - _EPS * self.step, side="left")
        return np.asarray(1.0 - below / self.sorted.size, dtype=np.float64)

    def _fraction_at(self, i: float) -> float:
        """:meth:`volume_fraction` of one intensity, in plain Python arithmetic."""
        below = int(self.sorted.searchsorted(i - _EPS * self.step, side="left"))
        return 1.0 - below / self.sorted.size

    def volume_at_intensity_fraction(self, x: float) -> float:
        """:math:`V_x`: the largest :math:`\\nu_i` with intensity fraction :math:`\\gamma_i \\ge x`.

        :math:`\\nu` does not increase with :math:`i`, so this is :math:`\\nu` at the
        smallest grid intensity :math:`i = \\min\\mathbf{G} + k w_d` with
        :math:`\\gamma_i \\ge x`. With a single-intensity range
        (:math:`\\min\\mathbf{G}=\\max\\mathbf{G}`) every :math:`\\gamma` is taken as 0.
        """
        span = self.upper - self.lower
        if span <= 0:
            # one intensity: gamma = 0/0, no intensity fraction above 0 is defined
            return self._fraction_at(self.lower) if x <= 0 else math.nan
        k = max(0, math.ceil(x * span / self.step - _EPS))
        i = self.lower + k * self.step
        if i > self.upper + _EPS * self.step:
            return math.nan  # no intensity of G reaches the fraction
        return self._fraction_at(i)

    def intensity_at_volume_fraction(self, x: float) -> float:
        """:math:`I_x`: the smallest discretised intensity :math:`i` with :math:`\\nu_i \\le x`.

        Intensities lie on the lattice of spacing :math:`w_d` through the observed values,
        so with :math:`m = \\lfloor x N_v \\rfloor` and :math:`s_m` the :math:`(m+1)`-th
        largest intensity, :math:`\\nu_i \\le x \\iff i > s_m`, giving
        :math:`I_x = s_m + w_d`. When :math:`m \\ge N_v` every intensity qualifies and
        :math:`I_x` is the smallest observed intensity. When :math:`s_m + w_d` lies beyond
        :math:`\\max\\mathbf{G}` (the highest intensity of the range holds more than
        :math:`x` of the volume) no intensity of :math:`\\mathbf{G}` qualifies and
        :math:`I_x` is undefined (NaN; IBSI 1 evaluates the IVH on :math:`\\mathbf{G}`).
        """
        m = math.floor(x * self.n + _EPS)
        if m >= self.n:
            return float(self.sorted[0])
        s_m = float(self.sorted[self.n - 1 - m])
        if s_m + self.step > self.upper + _EPS * self.step:
            return math.nan  # G's highest intensity holds more than x of the volume
        return s_m + self.step

    def undefined(self) -> str | None:
        """Why some IVH features are NaN (IBSI defines the intensity fraction and the
        intensity at a volume fraction over the total range :math:`\\mathbf{G}` only), or
        None when all are defined."""
        reasons = []
        if self.upper <= self.lower:
            reasons.append(f"the total range G holds one intensity ({self.lower:g}), so the "
                           "intensity fraction is 0/0 and V10, V90 are undefined")
        else:
            short = [f"V{round(100 * x)}" for x in (0.10, 0.90)
                     if math.isnan(self.volume_at_intensity_fraction(x))]
            if short:
                reasons.append(f"no intensity of the total range G [{self.lower:g}, "
                               f"{self.upper:g}] in steps of {self.step:g} reaches the "
                               f"intensity fraction of {' and '.join(short)}")
        high = [f"I{round(100 * x)}" for x in (0.10, 0.90)
                if math.isnan(self.intensity_at_volume_fraction(x))]
        if high:
            top = self._fraction_at(self.upper)
            reasons.append(f"the highest intensity of G ({self.upper:g}) holds {100 * top:.1f} % "
                           f"of the volume, so no intensity of G lies in at most that share for "
                           f"{' and '.join(high)}")
        if not reasons:
            return None
        return ("undefined (NaN): " + "; ".join(reasons) + " (IBSI 1 evaluates the IVH on G "
                "only)")

    def area_under_curve(self) -> float:
        """Trapezoidal area under :math:`\\nu(\\gamma)` over the grid of :math:`\\mathbf{G}`."""
        g = self.grid()
        if g.size < 2:
            return 0.0
        gamma = (g - self.lower) / (self.upper - self.lower)
        nu = self.volume_fraction(g)
        width = gamma[1:] - gamma[:-1]
        return float(np.add.reduce((nu[1:] + nu[:-1]) * width)) / 2.0


def _check_grid_size(lower: float, upper: float, step: float) -> None:
    """Refuse a total range holding more than :data:`IVH_MAX_POINTS` intensities, before
    any array of them is made.

    Raises
    ------
    InputError
        Naming the range, the step, the number of intensities and the fixes (the image's
        scaling, or a coarser IVH step with the width to use).
    """
    points = (upper - lower) / step + 1.0  # inf when the range overflows float64
    if points <= IVH_MAX_POINTS:
        return
    from radiomix.process.discretise import nice_bin_width

    span = upper - lower
    width = (f"ivh.bin_width {nice_bin_width(span, IVH_MAX_POINTS):g} or larger"
             if math.isfinite(span) else "a bin width that fits the range")
    count = f"{points:,.0f}" if points < 1e15 else f"{points:.3g}"
    raise InputError(
        f"the intensity-volume histogram would have {count} intensities ({lower:g} to "
        f"{upper:g} in steps of {step:g}: 1 for ivh.method none, ivh.bin_width for fbs), more "
        f"than the {IVH_MAX_POINTS:,} it allows; check the image's intensity scaling (units, "
        f"rescale slope), or set ivh.method fbs with {width}, or ivh.method fbn with "
        "ivh.bins, or leave out the ivh family"
    )


@family("ivh")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate IVH features on the context's IVH intensities (NaN, with the reason in the
    case's notes, when the settings cannot give an IVH of them: ``IvhInput.undefined``)."""
    if ctx.ivh.undefined is not None:
        _check_grid_size(ctx.ivh.lower, ctx.ivh.upper, ctx.ivh.step)  # a mis-scaled image first
        ctx.notes["ivh"] = ctx.ivh.undefined
        log.warning("intensity-volume histogram %s", ctx.ivh.undefined)
        return {s.name: math.nan for s in specs}
    hist = ctx.cached(("ivh", "histogram"), lambda: IntensityVolumeHistogram.of(ctx.ivh))
    why = hist.undefined()
    if why is not None:
        ctx.notes["ivh"] = why
    return evaluate_each(ctx, specs, hist)


@feature(name="ivh.volume_fraction_at_10pct_intensity", ibsi="BC2M")
def volume_fraction_at_10pct_intensity(h: IntensityVolumeHistogram) -> float:
    """Volume fraction at 10% intensity, :math:`V_{10}` (IBSI BC2M).

    Notes
    -----
    .. math:: F_{ivh.V10} = \\max\\{\\nu_i : \\gamma_i \\ge 0.10\\},\\quad
        \\gamma_i = \\frac{i-\\min\\mathbf{G}}{\\max\\mathbf{G}-\\min\\mathbf{G}},\\quad
        \\nu_i = 1-\\frac{1}{N_v}\\sum_k [X_{d,gl,k} < i]

    References
    ----------
    IBSI 1 manual, §3.5.1 "Volume at intensity fraction"; El Naqa et al., Pattern
    Recognit 2009.
    """
    return h.volume_at_intensity_fraction(0.10)


@feature(name="ivh.volume_fraction_at_90pct_intensity", ibsi="BC2M")
def volume_fraction_at_90pct_intensity(h: IntensityVolumeHistogram) -> float:
    """Volume fraction at 90% intensity, :math:`V_{90}` (IBSI BC2M).

    Notes
    -----
    .. math:: F_{ivh.V90} = \\max\\{\\nu_i : \\gamma_i \\ge 0.90\\}

    References
    ----------
    IBSI 1 manual, §3.5.1 "Volume at intensity fraction".
    """
    return h.volume_at_intensity_fraction(0.90)


@feature(name="ivh.intensity_at_10pct_volume", ibsi="GBPN")
def intensity_at_10pct_volume(h: IntensityVolumeHistogram) -> float:
    """Intensity at 10% volume, :math:`I_{10}` (IBSI GBPN).

    Notes
    -----
    .. math:: F_{ivh.I10} = \\min\\{i : \\nu_i \\le 0.10\\}

    the smallest discretised intensity present in at most 10% of the volume (see
    :meth:`IntensityVolumeHistogram.intensity_at_volume_fraction`).

    References
    ----------
    IBSI 1 manual, §3.5.2 "Intensity at volume fraction".
    """
    return h.intensity_at_volume_fraction(0.10)


@feature(name="ivh.intensity_at_90pct_volume", ibsi="GBPN")
def intensity_at_90pct_volume(h: IntensityVolumeHistogram) -> float:
    """Intensity at 90% volume, :math:`I_{90}` (IBSI GBPN).

    Notes
    -----
    .. math:: F_{ivh.I90} = \\min\\{i : \\nu_i \\le 0.90\\}

    References
    ----------
    IBSI 1 manual, §3.5.2 "Intensity at volume fraction".
    """
    return h.intensity_at_volume_fraction(0.90)


@feature(name="ivh.volume_fraction_difference_10_90", ibsi="DDTU")
def volume_fraction_difference_10_90(h: IntensityVolumeHistogram) -> float:
    """Volume fraction difference between intensity fractions, :math:`V_{10}-V_{90}` (IBSI DDTU).

    Notes
    -----
    .. math:: F_{ivh.V10minusV90} = V_{10} - V_{90}

    References
    ----------
    IBSI 1 manual, §3.5.3 "Volume fraction difference between intensity fractions".
    """
    return h.volume_at_intensity_fraction(0.10) - h.volume_at_intensity_fraction(0.90)


@feature(name="ivh.intensity_difference_10_90", ibsi="CNV2")
def intensity_difference_10_90(h: IntensityVolumeHistogram) -> float:
    """Intensity fraction difference between volume fractions, :math:`I_{10}-I_{90}` (IBSI CNV2).

    Notes
    -----
    .. math:: F_{ivh.I10minusI90} = I_{10} - I_{90}

    References
    ----------
    IBSI 1 manual, §3.5.4 "Intensity fraction difference between volume fractions".
    """
    return h.intensity_at_volume_fraction(0.10) - h.intensity_at_volume_fraction(0.90)


@feature(name="ivh.area_under_curve", ibsi="9CMM")
def area_under_curve(h: IntensityVolumeHistogram) -> float:
    """Area under the IVH curve (IBSI 9CMM).

    Notes
    -----
    .. math:: F_{ivh.auc} = \\sum_{j} \\frac{(\\nu_{i_{j+1}}+\\nu_{i_j})
        (\\gamma_{i_{j+1}}-\\gamma_{i_j})}{2}

    the trapezoidal rule over the discretised intensities
    :math:`i_j = \\min\\mathbf{G} + j\\,w_d` of the total range; 0 when the range holds a
    single intensity. IBSI has no reference value in the table used by the tests (the
    manual prints 0.32 for the digital phantom).

    References
    ----------
    IBSI 1 manual, §3.5.5 "Area under the IVH curve"; van Velden et al., Eur J Nucl Med
    Mol Imaging 2011.
    """
    return h.area_under_curve()
