"""Intensity-based statistical features (IBSI family UHIW), over the intensity mask.

The features are computed over the 3D ROI (IBSI DHQ4) on the intensities
:math:`\\mathbf{X}_{gl}` of the :math:`N_v` voxels of the intensity mask. The family
compute function sorts the intensities once (:class:`SampleSummary`) and every feature
reads that summary. Percentiles are sample percentiles with linear interpolation between
order statistics (numpy's default ``linear`` method, Hyndman & Fan type 7), which gives the
IBSI digital-phantom values (e.g. :math:`P_{90}=4`).

The intensity-histogram family (ZVCW) reuses :class:`SampleSummary` on the discretised
intensities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiomix.errors import EmptyRoiError
from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.roi import RoiContext
from radiomix.types import FloatArray


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """Sorted sample and its central moments, shared by the features of one ROI.

    Attributes
    ----------
    sorted : (N,) ndarray of float64
        The values in increasing order.
    mean : float
        Sample mean :math:`\\mu`.
    m2, m3, m4 : float
        Central moments :math:`\\frac{1}{N}\\sum (x-\\mu)^k` (no bias correction).
    """

    sorted: FloatArray
    mean: float
    m2: float
    m3: float
    m4: float

    @classmethod
    def of(cls, values: np.ndarray) -> SampleSummary:
        """Summarise a non-empty 1D sample (raises :class:`EmptyRoiError` when empty)."""
        return cls.of_sorted(sort_sample(np.asarray(values, dtype=np.float64).ravel()))

    @classmethod
    def of_sorted(cls, x: FloatArray) -> SampleSummary:
        """Summarise a non-empty sample already in increasing order, ``x`` (N,) float64
        (raises :class:`EmptyRoiError` when empty)."""
        if x.size == 0:
            raise EmptyRoiError(
                "the intensity mask holds no voxel (after re-segmentation); intensity "
                "features are undefined"
            )
        n = x.size
        mu = _mean(x)
        d = x - mu
        d2 = d * d
        m3 = float(_sum(np.multiply(d2, d, out=d))) / n  # d is not read again
        m4 = float(_sum(np.multiply(d2, d2, out=d))) / n
        return cls(sorted=x, mean=mu, m2=float(_sum(d2)) / n, m3=m3, m4=m4)

    def mean_is_rounding(self) -> bool:
        """Whether the mean is 0 up to the rounding of its float64 sum: at most
        :data:`ZERO_MEAN_RELATIVE` times the standard deviation (a sample normalised to a
        zero mean computes a mean of about 1e-17 of its spread, of either sign)."""
        return self.m2 > 0 and abs(self.mean) <= ZERO_MEAN_RELATIVE * math.sqrt(self.m2)

    @property
    def n(self) -> int:
        """Number of values :math:`N_v`."""
        return int(self.sorted.size)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0–100), linear interpolation between order statistics."""
        return percentile_sorted(self.sorted, q)

    @property
    def median(self) -> float:
        """Sample median."""
        return self.percentile(50.0)

    @property
    def skewness(self) -> float:
        """:math:`m_3 / m_2^{3/2}`, 0 when the variance is 0 (IBSI convention)."""
        if not self.m2 > 0:
            return 0.0
        den = self.m2**1.5
        return self.m3 / den if den > 0 else self._standardised_moment(3)

    @property
    def kurtosis(self) -> float:
        """Excess kurtosis :math:`m_4 / m_2^2 - 3`, 0 when the variance is 0."""
        if not self.m2 > 0:
            return 0.0
        den = self.m2**2
        return (self.m4 / den if den > 0 else self._standardised_moment(4)) - 3.0

    def _standardised_moment(self, k: int) -> float:
        """:math:`m_k / m_2^{k/2}` from deviations scaled by their largest magnitude, for
        samples so narrow that the power of :math:`m_2` underflows float64 (deviations
        of 1e-103 give :math:`m_2^2 = 0`)."""
        d = self.sorted - self.mean
        z = d / float(np.abs(d).max())
        z2 = z * z
        return float(np.mean(z2 ** (k / 2) * (np.sign(z) if k % 2 else 1.0))
                     / np.mean(z2) ** (k / 2))

    def robust_mean_absolute_deviation(self) -> float:
        """Mean absolute deviation of the values within :math:`[P_{10}, P_{90}]`."""
        lo, hi = self.percentile(10.0), self.percentile(90.0)
        x = self.sorted
        inner = x[x.searchsorted(lo, "left") : x.searchsorted(hi, "right")]
        if inner.size == 0:  # only two distinct values: none lies in [P10, P90]
            return math.nan
        return _mean_absolute(inner - _mean(inner))

    def median_absolute_deviation(self) -> float:
        """Mean absolute deviation from the median, :math:`\\frac{1}{N}\\sum|x-M|`."""
        return _mean_absolute(self.sorted - self.median)

    def mean_absolute_deviation(self) -> float:
        """Mean absolute deviation from the mean."""
        return _mean_absolute(self.sorted - self.mean)


_sum = np.add.reduce
"""Pairwise sum of a 1D array: what ``ndarray.mean`` sums (then divides by the size), without
its Python-level argument handling (a few µs a call on small ROIs)."""


def _mean(x: FloatArray) -> float:
    """``float(x.mean())`` of a non-empty (N,) float64 array, bit for bit."""
    return float(_sum(x)) / x.size


def _mean_absolute(d: FloatArray) -> float:
    """``float(np.mean(np.abs(d)))`` of a non-empty (N,) float64 array (overwritten)."""
    return float(_sum(np.abs(d, out=d))) / d.size


def sort_sample(x: FloatArray, *, step: float = 1.0) -> FloatArray:
    """``x`` (N,) float64 in increasing order: the array ``np.sort(x)`` returns.

    Values on a lattice of spacing ``step`` over a span of at most
    :data:`COUNTING_SORT_SPAN` points per value (CT intensities in HU, bin numbers, bin
    centres) are sorted by counting, in linear time: each value's key is its distance from
    the minimum in steps (rounded; floored at step 1), every key is checked to hold a
    single value (bit for bit, so a -0.0 beside a 0.0 is not merged), and the sorted
    array repeats each key's value its count of times. Any other sample (a key shared by
    two values, a span too wide, non-finite values) goes to ``np.sort``. Either way the
    result is the same array: a key is a non-decreasing function of the value (floating
    point subtraction, division and rounding are monotonic), so the keys' order is the
    values' order.
    """
    n = x.size
    if n < COUNTING_SORT_MIN or not step > 0.0:
        return np.sort(x)
    lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)) or (hi - lo) / step > COUNTING_SORT_SPAN * n:
        return np.sort(x)
    head = (x[:16] - lo) / step
    if np.abs(head - np.rint(head)).max() > 1e-6:  # off the lattice: refused cheaply
        return np.sort(x)
    q = x - lo
    if step != 1.0:  # (at step 1 a value's floor is key enough: the check below decides)
        q /= step
        np.rint(q, out=q)
    keys = q.astype(np.int64)
    counts = np.bincount(keys)
    table = np.empty(counts.size, dtype=np.float64)
    table[keys] = x
    if not np.array_equal(table.view(np.int64)[keys], x.view(np.int64)):
        return np.sort(x)  # two values share a key: not on the lattice
    present = counts > 0
    return np.repeat(table[present], counts[present])


COUNTING_SORT_MIN = 256
"""Smallest sample :func:`sort_sample` sorts by counting (``np.sort`` is as fast below)."""

COUNTING_SORT_SPAN = 4
"""Largest lattice span, in points per value, that :func:`sort_sample` sorts by counting
(its count array then stays within a few times the sample's size)."""


def percentile_sorted(x: np.ndarray, q: float) -> float:
    """Percentile ``q`` (0–100) of an increasingly sorted, non-empty array.

    Linear interpolation at position :math:`(N-1)q/100` between order statistics, the same
    as ``numpy.percentile(x, q)`` (method ``linear``, with numpy's rounding: interpolation
    from the nearer order statistic) without sorting again.
    """
    pos = (q / 100.0) * (x.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, x.size - 1)
    frac = pos - lo
    a, b = float(x[lo]), float(x[hi])
    if frac == 0.0:
        return a
    return b - (b - a) * (1.0 - frac) if frac >= 0.5 else a + (b - a) * frac


def _div(num: float, den: float) -> float:
    return num / den if den != 0 else math.nan


@family("stat")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate statistical features on the intensities of the intensity mask."""
    summary = ctx.cached(("stat", "summary"), lambda: SampleSummary.of(ctx.intensities))
    values = evaluate_each(ctx, specs, summary)
    if "stat.coefficient_of_variation" in values and summary.mean_is_rounding():
        ctx.notes["stat.coefficient_of_variation"] = (
            "undefined (NaN): the ROI mean is 0 up to rounding (intensities normalised to a "
            "zero mean, e.g. z-score over the ROI), so sigma / mean would be rounding noise"
        )
    return values


@feature(name="stat.mean", ibsi="Q4LE")
def mean(s: SampleSummary) -> float:
    """Mean intensity (IBSI Q4LE).

    Notes
    -----
    .. math:: F_{stat.mean} = \\frac{1}{N_v} \\sum_{k=1}^{N_v} X_{gl,k}

    References
    ----------
    IBSI 1 manual, §3.3.1 "Mean intensity".
    """
    return s.mean


@feature(name="stat.variance", ibsi="ECT3")
def variance(s: SampleSummary) -> float:
    """Intensity variance (IBSI ECT3).

    Notes
    -----
    .. math:: F_{stat.var} = \\frac{1}{N_v}\\sum_{k=1}^{N_v} (X_{gl,k}-\\mu)^2

    without bias correction.

    References
    ----------
    IBSI 1 manual, §3.3.2 "Intensity variance".
    """
    return s.m2


@feature(name="stat.standard_deviation", ibsi=None)
def standard_deviation(s: SampleSummary) -> float:
    """Intensity standard deviation (no IBSI code; square root of IBSI ECT3).

    Notes
    -----
    .. math:: \\sigma = \\sqrt{F_{stat.var}} =
        \\sqrt{\\frac{1}{N_v}\\sum_{k=1}^{N_v} (X_{gl,k}-\\mu)^2}

    The lung reference study reports the standard deviation; IBSI defines only the
    variance, so this feature has no code. No bias correction (divisor :math:`N_v`).

    References
    ----------
    IBSI 1 manual, §3.3.2 "Intensity variance".
    """
    return math.sqrt(s.m2)


@feature(name="stat.skewness", ibsi="KE2A")
def skewness(s: SampleSummary) -> float:
    """Intensity skewness (IBSI KE2A).

    Notes
    -----
    .. math:: F_{stat.skew} = \\frac{\\frac{1}{N_v}\\sum_k (X_{gl,k}-\\mu)^3}
        {\\left(\\frac{1}{N_v}\\sum_k (X_{gl,k}-\\mu)^2\\right)^{3/2}}

    0 when the variance is 0.

    References
    ----------
    IBSI 1 manual, §3.3.3 "Intensity skewness".
    """
    return s.skewness


@feature(name="stat.kurtosis", ibsi="IPH6")
def kurtosis(s: SampleSummary) -> float:
    """(Excess) intensity kurtosis (IBSI IPH6).

    Notes
    -----
    .. math:: F_{stat.kurt} = \\frac{\\frac{1}{N_v}\\sum_k (X_{gl,k}-\\mu)^4}
        {\\left(\\frac{1}{N_v}\\sum_k (X_{gl,k}-\\mu)^2\\right)^{2}} - 3

    Fisher-corrected (0 for a normal distribution); 0 when the variance is 0.

    References
    ----------
    IBSI 1 manual, §3.3.4 "(Excess) intensity kurtosis".
    """
    return s.kurtosis


@feature(name="stat.median", ibsi="Y12H")
def median(s: SampleSummary) -> float:
    """Median intensity (IBSI Y12H).

    Notes
    -----
    The sample median of :math:`\\mathbf{X}_{gl}`.

    References
    ----------
    IBSI 1 manual, §3.3.5 "Median intensity".
    """
    return s.median


@feature(name="stat.minimum", ibsi="1GSF")
def minimum(s: SampleSummary) -> float:
    """Minimum intensity (IBSI 1GSF).

    Notes
    -----
    .. math:: F_{stat.min} = \\min(\\mathbf{X}_{gl})

    References
    ----------
    IBSI 1 manual, §3.3.6 "Minimum intensity".
    """
    return float(s.sorted[0])


@feature(name="stat.p10", ibsi="QG58")
def p10(s: SampleSummary) -> float:
    """10th intensity percentile (IBSI QG58).

    Notes
    -----
    :math:`P_{10}` of :math:`\\mathbf{X}_{gl}`, linear interpolation between order
    statistics.

    References
    ----------
    IBSI 1 manual, §3.3.7 "10th intensity percentile".
    """
    return s.percentile(10.0)


@feature(name="stat.p90", ibsi="8DWT")
def p90(s: SampleSummary) -> float:
    """90th intensity percentile (IBSI 8DWT).

    Notes
    -----
    :math:`P_{90}` of :math:`\\mathbf{X}_{gl}`, linear interpolation between order
    statistics (4 on the digital phantom; other percentile definitions give 4.2).

    References
    ----------
    IBSI 1 manual, §3.3.8 "90th intensity percentile".
    """
    return s.percentile(90.0)


@feature(name="stat.maximum", ibsi="84IY")
def maximum(s: SampleSummary) -> float:
    """Maximum intensity (IBSI 84IY).

    Notes
    -----
    .. math:: F_{stat.max} = \\max(\\mathbf{X}_{gl})

    References
    ----------
    IBSI 1 manual, §3.3.9 "Maximum intensity".
    """
    return float(s.sorted[-1])


@feature(name="stat.iqr", ibsi="SALO")
def iqr(s: SampleSummary) -> float:
    """Intensity interquartile range (IBSI SALO).

    Notes
    -----
    .. math:: F_{stat.iqr} = P_{75} - P_{25}

    References
    ----------
    IBSI 1 manual, §3.3.10 "Intensity interquartile range".
    """
    return s.percentile(75.0) - s.percentile(25.0)


@feature(name="stat.range", ibsi="2OJQ")
def intensity_range(s: SampleSummary) -> float:
    """Intensity range (IBSI 2OJQ).

    Notes
    -----
    .. math:: F_{stat.range} = \\max(\\mathbf{X}_{gl}) - \\min(\\mathbf{X}_{gl})

    References
    ----------
    IBSI 1 manual, §3.3.11 "Intensity range".
    """
    return float(s.sorted[-1] - s.sorted[0])


@feature(name="stat.mean_absolute_deviation", ibsi="4FUA")
def mean_absolute_deviation(s: SampleSummary) -> float:
    """Intensity-based mean absolute deviation (IBSI 4FUA).

    Notes
    -----
    .. math:: F_{stat.mad} = \\frac{1}{N_v}\\sum_{k=1}^{N_v} |X_{gl,k}-\\mu|

    References
    ----------
    IBSI 1 manual, §3.3.12 "Intensity-based mean absolute deviation".
    """
    return s.mean_absolute_deviation()


@feature(name="stat.robust_mean_absolute_deviation", ibsi="1128")
def robust_mean_absolute_deviation(s: SampleSummary) -> float:
    """Intensity-based robust mean absolute deviation (IBSI 1128).

    Notes
    -----
    .. math:: F_{stat.rmad} = \\frac{1}{N_{v,10-90}}\\sum_{k}
        |X_{gl,10-90,k}-\\overline{X}_{gl,10-90}|

    over the intensities with :math:`P_{10}\\le x\\le P_{90}`. NaN when that set is empty
    (two voxels of different intensity).

    References
    ----------
    IBSI 1 manual, §3.3.13 "Intensity-based robust mean absolute deviation".
    """
    return s.robust_mean_absolute_deviation()


@feature(name="stat.median_absolute_deviation", ibsi="N72L")
def median_absolute_deviation(s: SampleSummary) -> float:
    """Intensity-based median absolute deviation (IBSI N72L).

    Notes
    -----
    .. math:: F_{stat.medad} = \\frac{1}{N_v}\\sum_{k=1}^{N_v} |X_{gl,k}-M|

    with :math:`M` the median (a mean of absolute deviations, as IBSI defines it).

    References
    ----------
    IBSI 1 manual, §3.3.14 "Intensity-based median absolute deviation".
    """
    return s.median_absolute_deviation()


@feature(name="stat.coefficient_of_variation", ibsi="7TET")
def coefficient_of_variation(s: SampleSummary) -> float:
    """Intensity-based coefficient of variation (IBSI 7TET).

    Notes
    -----
    .. math:: F_{stat.cov} = \\frac{\\sigma}{\\mu}

    with :math:`\\sigma=\\sqrt{F_{stat.var}}`; NaN (with a provenance note) when the mean is
    0, or 0 up to rounding (at most :data:`ZERO_MEAN_RELATIVE` :math:`\\sigma`: intensities
    normalised to a zero mean), where the quotient is rounding noise (1e16 and more).

    References
    ----------
    IBSI 1 manual, §3.3.15 "Intensity-based coefficient of variation".
    """
    if s.mean_is_rounding():
        return math.nan
    return _div(math.sqrt(s.m2), s.mean)


ZERO_MEAN_RELATIVE = 1e-12
"""Largest ratio of |mean| to standard deviation taken for a mean of 0 up to rounding:
float64 sums of a zero-mean sample leave about 1e-16 of its spread."""


@feature(name="stat.quartile_coefficient_of_dispersion", ibsi="9S40")
def quartile_coefficient_of_dispersion(s: SampleSummary) -> float:
    """Intensity-based quartile coefficient of dispersion (IBSI 9S40).

    Notes
    -----
    .. math:: F_{stat.qcod} = \\frac{P_{75}-P_{25}}{P_{75}+P_{25}}

    NaN when :math:`P_{75}+P_{25}=0`.

    References
    ----------
    IBSI 1 manual, §3.3.16 "Intensity-based quartile coefficient of dispersion".
    """
    p25, p75 = s.percentile(25.0), s.percentile(75.0)
    return _div(p75 - p25, p75 + p25)


@feature(name="stat.energy", ibsi="N8CA")
def energy(s: SampleSummary) -> float:
    """Intensity-based energy (IBSI N8CA).

    Notes
    -----
    .. math:: F_{stat.energy} = \\sum_{k=1}^{N_v} X_{gl,k}^2

    References
    ----------
    IBSI 1 manual, §3.3.17 "Intensity-based energy".
    """
    return float(np.dot(s.sorted, s.sorted))


@feature(name="stat.root_mean_square", ibsi="5ZWQ")
def root_mean_square(s: SampleSummary) -> float:
    """Root mean square intensity (IBSI 5ZWQ).

    Notes
    -----
    .. math:: F_{stat.rms} = \\sqrt{\\frac{1}{N_v}\\sum_{k=1}^{N_v} X_{gl,k}^2}

    References
    ----------
    IBSI 1 manual, §3.3.18 "Root mean square intensity".
    """
    return math.sqrt(float(np.dot(s.sorted, s.sorted)) / s.n)
