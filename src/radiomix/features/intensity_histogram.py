"""Intensity histogram features (IBSI family ZVCW), over the discretised intensities.

The features are computed over the 3D ROI (IBSI DHQ4) on the discretised intensities
:math:`\\mathbf{X}_d` (grey levels :math:`1..N_g`) of the intensity mask. The family
compute function builds the histogram once (:class:`DiscretisedHistogram`): counts
:math:`n_i` and probabilities :math:`p_i = n_i/N_v` for every grey level
:math:`i = 1..N_g` (empty bins included, as the histogram gradient requires) and the
:class:`~radiomix.features.statistics.SampleSummary` of :math:`\\mathbf{X}_d`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from radiomix.errors import InputError
from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.features.statistics import SampleSummary
from radiomix.roi import RoiContext
from radiomix.types import FloatArray


@dataclass(frozen=True, slots=True)
class DiscretisedHistogram:
    """Histogram of the discretised intensities of one ROI.

    Attributes
    ----------
    counts : (N_g,) ndarray of float64
        :math:`n_i` for grey levels :math:`i = 1..N_g` (index ``i - 1``).
    summary : SampleSummary
        Sorted :math:`\\mathbf{X}_d` and its moments.
    probabilities : (N_g,) ndarray of float64
        :math:`p_i = n_i / N_v` (derived from ``counts``).
    gradient : (N_g,) ndarray of float64
        Histogram gradient :math:`H'_i`: one-sided at the ends, central inside, 0 when
        :math:`N_g = 1` (derived from ``counts``).
    """

    counts: FloatArray
    summary: SampleSummary
    probabilities: FloatArray = field(init=False)
    gradient: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        n = self.counts
        g = np.zeros_like(n)  # a single bin has no slope
        if n.size > 1:
            g[0] = n[1] - n[0]
            g[-1] = n[-1] - n[-2]
            np.subtract(n[2:], n[:-2], out=g[1:-1])
            g[1:-1] /= 2.0
        object.__setattr__(self, "probabilities", n / n.sum())
        object.__setattr__(self, "gradient", g)

    @classmethod
    def of(cls, levels: np.ndarray, *, n_levels: int) -> DiscretisedHistogram:
        """Histogram of grey levels ``levels`` (integers >= 1) over ``1..max(n_levels, max)``.

        Raises
        ------
        InputError
            If a grey level is below 1.
        EmptyRoiError
            If ``levels`` is empty.
        """
        x = np.asarray(levels).ravel()
        if x.size == 0:
            SampleSummary.of_sorted(np.empty(0))  # raises EmptyRoiError
        lowest = x.min()
        if lowest < 1 or (x.dtype.kind not in "iu" and not np.all(np.mod(x, 1) == 0)):
            raise InputError(
                "intensity histogram features need integer grey levels >= 1, got minimum "
                f"{float(lowest)!r}; discretise the intensities first"
            )
        # N_g = max(n_levels, max(x)): the length of the counts of levels 1..max(x)
        counts = np.bincount(x.astype(np.int64, copy=False),
                             minlength=max(int(n_levels), 1) + 1)[1:]
        # the levels sorted by counting: the array np.sort(x.astype(float)) returns
        ordered = np.repeat(np.arange(1.0, counts.size + 1.0), counts)
        return cls(counts=counts.astype(np.float64), summary=SampleSummary.of_sorted(ordered))


@family("ih")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate intensity-histogram features on the discretised grey levels."""
    hist = ctx.cached(
        ("ih", "histogram"),
        lambda: DiscretisedHistogram.of(ctx.grey_levels, n_levels=ctx.n_levels),
    )
    return evaluate_each(ctx, specs, hist)


def _div(num: float, den: float) -> float:
    return num / den if den != 0 else math.nan


@feature(name="ih.mean", ibsi="X6K6")
def mean(h: DiscretisedHistogram) -> float:
    """Mean discretised intensity (IBSI X6K6).

    Notes
    -----
    .. math:: F_{ih.mean} = \\frac{1}{N_v}\\sum_{k=1}^{N_v} X_{d,k} = \\sum_i i\\,p_i

    References
    ----------
    IBSI 1 manual, §3.4.1 "Mean discretised intensity".
    """
    return h.summary.mean


@feature(name="ih.variance", ibsi="CH89")
def variance(h: DiscretisedHistogram) -> float:
    """Discretised intensity variance (IBSI CH89).

    Notes
    -----
    .. math:: F_{ih.var} = \\sum_{i=1}^{N_g} (i-\\mu)^2 p_i

    without bias correction.

    References
    ----------
    IBSI 1 manual, §3.4.2 "Discretised intensity variance".
    """
    return h.summary.m2


@feature(name="ih.skewness", ibsi="88K1")
def skewness(h: DiscretisedHistogram) -> float:
    """Discretised intensity skewness (IBSI 88K1).

    Notes
    -----
    .. math:: F_{ih.skew} = \\frac{\\sum_i (i-\\mu)^3 p_i}{\\left(\\sum_i (i-\\mu)^2
        p_i\\right)^{3/2}}

    0 when the variance is 0.

    References
    ----------
    IBSI 1 manual, §3.4.3 "Discretised intensity skewness".
    """
    return h.summary.skewness


@feature(name="ih.kurtosis", ibsi="C3I7")
def kurtosis(h: DiscretisedHistogram) -> float:
    """(Excess) discretised intensity kurtosis (IBSI C3I7).

    Notes
    -----
    .. math:: F_{ih.kurt} = \\frac{\\sum_i (i-\\mu)^4 p_i}{\\left(\\sum_i (i-\\mu)^2
        p_i\\right)^{2}} - 3

    0 when the variance is 0.

    References
    ----------
    IBSI 1 manual, §3.4.4 "(Excess) discretised intensity kurtosis".
    """
    return h.summary.kurtosis


@feature(name="ih.median", ibsi="WIFQ")
def median(h: DiscretisedHistogram) -> float:
    """Median discretised intensity (IBSI WIFQ).

    Notes
    -----
    The sample median of :math:`\\mathbf{X}_d`.

    References
    ----------
    IBSI 1 manual, §3.4.5 "Median discretised intensity".
    """
    return h.summary.median


@feature(name="ih.minimum", ibsi="1PR8")
def minimum(h: DiscretisedHistogram) -> float:
    """Minimum discretised intensity (IBSI 1PR8).

    Notes
    -----
    .. math:: F_{ih.min} = \\min(\\mathbf{X}_d)

    References
    ----------
    IBSI 1 manual, §3.4.6 "Minimum discretised intensity".
    """
    return float(h.summary.sorted[0])


@feature(name="ih.p10", ibsi="GPMT")
def p10(h: DiscretisedHistogram) -> float:
    """10th discretised intensity percentile (IBSI GPMT).

    Notes
    -----
    :math:`P_{10}` of :math:`\\mathbf{X}_d`, linear interpolation between order statistics.

    References
    ----------
    IBSI 1 manual, §3.4.7 "10th discretised intensity percentile".
    """
    return h.summary.percentile(10.0)


@feature(name="ih.p90", ibsi="OZ0C")
def p90(h: DiscretisedHistogram) -> float:
    """90th discretised intensity percentile (IBSI OZ0C).

    Notes
    -----
    :math:`P_{90}` of :math:`\\mathbf{X}_d`, linear interpolation between order statistics.

    References
    ----------
    IBSI 1 manual, §3.4.8 "90th discretised intensity percentile".
    """
    return h.summary.percentile(90.0)


@feature(name="ih.maximum", ibsi="3NCY")
def maximum(h: DiscretisedHistogram) -> float:
    """Maximum discretised intensity (IBSI 3NCY).

    Notes
    -----
    .. math:: F_{ih.max} = \\max(\\mathbf{X}_{d})

    References
    ----------
    IBSI 1 manual, §3.4.9 "Maximum discretised intensity".
    """
    return float(h.summary.sorted[-1])


@feature(name="ih.mode", ibsi="AMMC")
def mode(h: DiscretisedHistogram) -> float:
    """Intensity histogram mode (IBSI AMMC).

    Notes
    -----
    The grey level :math:`i` with the largest count :math:`n_i`. Ties go to the level
    closest to the mean discretised intensity, and of two levels equally close to the
    lower one.

    References
    ----------
    IBSI 1 manual, §3.4.10 "Intensity histogram mode".
    """
    n = h.counts
    modes = (n == n.max()).nonzero()[0] + 1.0
    if modes.size == 1:
        return float(modes[0])
    dist = np.abs(modes - h.summary.mean)
    return float(modes[np.flatnonzero(dist == dist.min())[0]])


@feature(name="ih.iqr", ibsi="WR0O")
def iqr(h: DiscretisedHistogram) -> float:
    """Discretised intensity interquartile range (IBSI WR0O).

    Notes
    -----
    .. math:: F_{ih.iqr} = P_{75} - P_{25}

    References
    ----------
    IBSI 1 manual, §3.4.11 "Discretised intensity interquartile range".
    """
    return h.summary.percentile(75.0) - h.summary.percentile(25.0)


@feature(name="ih.range", ibsi="5Z3W")
def intensity_range(h: DiscretisedHistogram) -> float:
    """Discretised intensity range (IBSI 5Z3W).

    Notes
    -----
    .. math:: F_{ih.range} = \\max(\\mathbf{X}_d) - \\min(\\mathbf{X}_d)

    References
    ----------
    IBSI 1 manual, §3.4.12 "Discretised intensity range".
    """
    return float(h.summary.sorted[-1] - h.summary.sorted[0])


@feature(name="ih.mean_absolute_deviation", ibsi="D2ZX")
def mean_absolute_deviation(h: DiscretisedHistogram) -> float:
    """Intensity histogram mean absolute deviation (IBSI D2ZX).

    Notes
    -----
    .. math:: F_{ih.mad} = \\frac{1}{N_v}\\sum_{k=1}^{N_v} |X_{d,k}-\\mu|

    References
    ----------
    IBSI 1 manual, §3.4.13 "Intensity histogram mean absolute deviation".
    """
    return h.summary.mean_absolute_deviation()


@feature(name="ih.robust_mean_absolute_deviation", ibsi="WRZB")
def robust_mean_absolute_deviation(h: DiscretisedHistogram) -> float:
    """Intensity histogram robust mean absolute deviation (IBSI WRZB).

    Notes
    -----
    .. math:: F_{ih.rmad} = \\frac{1}{N_{v,10-90}}\\sum_k |X_{d,10-90,k} -
        \\overline{X}_{d,10-90}|

    over the discretised intensities with :math:`P_{10}\\le x\\le P_{90}`; NaN when that set
    is empty (two voxels of different grey level).

    References
    ----------
    IBSI 1 manual, §3.4.14 "Intensity histogram robust mean absolute deviation".
    """
    return h.summary.robust_mean_absolute_deviation()


@feature(name="ih.median_absolute_deviation", ibsi="4RNL")
def median_absolute_deviation(h: DiscretisedHistogram) -> float:
    """Intensity histogram median absolute deviation (IBSI 4RNL).

    Notes
    -----
    .. math:: F_{ih.medad} = \\frac{1}{N_v}\\sum_{k=1}^{N_v} |X_{d,k}-M|

    with :math:`M` the median discretised intensity.

    References
    ----------
    IBSI 1 manual, §3.4.15 "Intensity histogram median absolute deviation".
    """
    return h.summary.median_absolute_deviation()


@feature(name="ih.coefficient_of_variation", ibsi="CWYJ")
def coefficient_of_variation(h: DiscretisedHistogram) -> float:
    """Intensity histogram coefficient of variation (IBSI CWYJ).

    Notes
    -----
    .. math:: F_{ih.cov} = \\frac{\\sigma}{\\mu}

    References
    ----------
    IBSI 1 manual, §3.4.16 "Intensity histogram coefficient of variation".
    """
    return _div(math.sqrt(h.summary.m2), h.summary.mean)


@feature(name="ih.quartile_coefficient_of_dispersion", ibsi="SLWD")
def quartile_coefficient_of_dispersion(h: DiscretisedHistogram) -> float:
    """Intensity histogram quartile coefficient of dispersion (IBSI SLWD).

    Notes
    -----
    .. math:: F_{ih.qcod} = \\frac{P_{75}-P_{25}}{P_{75}+P_{25}}

    References
    ----------
    IBSI 1 manual, §3.4.17 "Intensity histogram quartile coefficient of dispersion".
    """
    p25, p75 = h.summary.percentile(25.0), h.summary.percentile(75.0)
    return _div(p75 - p25, p75 + p25)


@feature(name="ih.entropy", ibsi="TLU2")
def entropy(h: DiscretisedHistogram) -> float:
    """Discretised intensity entropy (IBSI TLU2), bits.

    Notes
    -----
    .. math:: F_{ih.entropy} = -\\sum_{i=1}^{N_g} p_i \\log_2 p_i

    with :math:`0 \\log_2 0 = 0`.

    References
    ----------
    IBSI 1 manual, §3.4.18 "Discretised intensity entropy".
    """
    p = h.probabilities
    p = p[p > 0]
    plogp = np.log2(p)
    plogp *= p
    return 0.0 - float(np.add.reduce(plogp))  # 0.0 - 0.0: a single bin gives 0, not -0


@feature(name="ih.uniformity", ibsi="BJ5W")
def uniformity(h: DiscretisedHistogram) -> float:
    """Discretised intensity uniformity (IBSI BJ5W).

    Notes
    -----
    .. math:: F_{ih.uniformity} = \\sum_{i=1}^{N_g} p_i^2

    References
    ----------
    IBSI 1 manual, §3.4.19 "Discretised intensity uniformity".
    """
    p = h.probabilities
    return float(np.dot(p, p))


@feature(name="ih.max_gradient", ibsi="12CE")
def max_gradient(h: DiscretisedHistogram) -> float:
    """Maximum histogram gradient (IBSI 12CE).

    Notes
    -----
    .. math::
        H'_i = \\begin{cases} n_2-n_1 & i=1\\\\ (n_{i+1}-n_{i-1})/2 & 1<i<N_g\\\\
        n_{N_g}-n_{N_g-1} & i=N_g\\end{cases},\\qquad F_{ih.max.grad} = \\max(H')

    over the non-sparse histogram of grey levels :math:`1..N_g` (0 when :math:`N_g=1`).

    References
    ----------
    IBSI 1 manual, §3.4.20 "Maximum histogram gradient".
    """
    return float(h.gradient.max())


@feature(name="ih.max_gradient_intensity", ibsi="8E6O")
def max_gradient_intensity(h: DiscretisedHistogram) -> float:
    """Maximum histogram gradient intensity (IBSI 8E6O).

    Notes
    -----
    The grey level :math:`i` at which :math:`H'_i` is largest (the lowest such level
    when the maximum is reached more than once).

    References
    ----------
    IBSI 1 manual, §3.4.21 "Maximum histogram gradient intensity".
    """
    return float(np.argmax(h.gradient) + 1)


@feature(name="ih.min_gradient", ibsi="VQB3")
def min_gradient(h: DiscretisedHistogram) -> float:
    """Minimum histogram gradient (IBSI VQB3).

    Notes
    -----
    .. math:: F_{ih.min.grad} = \\min(H')

    with :math:`H'` as in :func:`max_gradient`.

    References
    ----------
    IBSI 1 manual, §3.4.22 "Minimum histogram gradient".
    """
    return float(h.gradient.min())


@feature(name="ih.min_gradient_intensity", ibsi="RHQZ")
def min_gradient_intensity(h: DiscretisedHistogram) -> float:
    """Minimum histogram gradient intensity (IBSI RHQZ).

    Notes
    -----
    The grey level :math:`i` at which :math:`H'_i` is smallest (the lowest such level when
    the minimum is reached more than once).

    References
    ----------
    IBSI 1 manual, §3.4.23 "Minimum histogram gradient intensity".
    """
    return float(np.argmin(h.gradient) + 1)
