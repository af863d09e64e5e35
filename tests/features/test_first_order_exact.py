"""First-order shortcuts and registry look-ups against their plain definitions, to the bit.

- :class:`~radiomix.features.statistics.SampleSummary` moments and absolute deviations
  (sums by ``np.add.reduce`` divided by the size) against ``numpy.mean`` of the deviations.
- The intensity histogram's probabilities, gradient (``numpy.gradient``), mode (a
  brute-force search over the grey levels) and entropy (``numpy.sum``).
- The IVH's volume fraction of one intensity against :meth:`volume_fraction` of arrays
  and a count of the voxels, and its area under the curve against ``numpy.trapezoid``-style
  sums written out with ``numpy.sum`` and ``numpy.diff``.
- The sphere's runs along x (:func:`_sphere_runs`) against a loop over the kernel's rows.
- Cached column names and default aggregations against the registry's definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.features.aggregation import Aggregation, default_aggregations
from radiomix.features.intensity_histogram import DiscretisedHistogram, entropy, mode
from radiomix.features.ivh import IntensityVolumeHistogram
from radiomix.features.local_intensity import _sphere_runs, sphere_kernel
from radiomix.features.registry import (
    FAMILY_CODES,
    aggregation_columns,
    aggregation_features,
    columns,
)
from radiomix.features.statistics import SampleSummary
from radiomix.roi import IvhInput


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), scale=st.sampled_from([1e-3, 1.0, 300.0, 1e6]),
       whole=st.booleans(), seed=st.integers(0, 2**16))
def test_summary_moments_and_deviations_equal_numpy_means(n, scale, whole, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * scale + scale / 3
    if whole:
        x = np.round(x)
    s = SampleSummary.of(x)
    xs = np.sort(x)
    mu = float(xs.mean())
    d = xs - mu
    assert s.mean == mu
    assert s.m2 == float(np.mean(d**2))
    assert s.m3 == float(np.mean(d**2 * d))
    assert s.m4 == float(np.mean(d**2 * d**2))
    assert s.mean_absolute_deviation() == float(np.mean(np.abs(xs - mu)))
    median = float(np.percentile(xs, 50))
    assert s.median_absolute_deviation() == float(np.mean(np.abs(xs - median)))
    lo, hi = np.percentile(xs, [10, 90])
    inner = xs[(xs >= lo) & (xs <= hi)]
    want = float(np.mean(np.abs(inner - inner.mean()))) if inner.size else math.nan
    assert s.robust_mean_absolute_deviation() == pytest.approx(want, rel=0, abs=0,
                                                               nan_ok=True)
    np.testing.assert_array_equal(s.sorted, xs)  # the deviations did not overwrite it


@settings(max_examples=60, deadline=None)
@given(levels=st.lists(st.integers(1, 12), min_size=1, max_size=200),
       n_levels=st.integers(1, 15))
def test_histogram_probabilities_gradient_and_mode(levels, n_levels) -> None:
    x = np.asarray(levels)
    h = DiscretisedHistogram.of(x, n_levels=n_levels)
    n_g = max(n_levels, int(x.max()))
    counts = np.bincount(x - 1, minlength=n_g).astype(np.float64)
    np.testing.assert_array_equal(h.counts, counts)
    np.testing.assert_array_equal(h.probabilities, counts / x.size)
    gradient = np.gradient(counts) if n_g > 1 else np.zeros(1)
    np.testing.assert_array_equal(h.gradient, gradient)
    mean = float(np.mean(x.astype(np.float64)))
    best = max(range(1, n_g + 1), key=lambda i: (counts[i - 1], -abs(i - mean), -i))
    assert mode(h) == float(best)
    p = counts[counts > 0] / x.size
    assert entropy(h) == float(0.0 - np.sum(p * np.log2(p)))


def test_histogram_built_directly_derives_its_arrays() -> None:
    h0 = DiscretisedHistogram.of(np.array([1, 1, 3]), n_levels=3)
    h = DiscretisedHistogram(counts=h0.counts, summary=h0.summary)
    assert h.probabilities.tolist() == pytest.approx([2 / 3, 0, 1 / 3])
    assert h.gradient.tolist() == [-2.0, -0.5, 1.0]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), width=st.sampled_from([1.0, 2.5, 0.1]),
       span=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_ivh_fraction_and_area_equal_their_definitions(n, width, span, seed) -> None:
    rng = np.random.default_rng(seed)
    lower = -20.0 * width
    values = lower + width * rng.integers(0, span + 1, n)
    h = IntensityVolumeHistogram.of(IvhInput(values=values, lower=lower,
                                             upper=lower + span * width, step=width))
    for i in (lower, lower + width * span / 3, float(values.max()), h.upper):
        below = int(np.count_nonzero(values < i - 1e-9 * width))
        assert h._fraction_at(i) == 1.0 - below / n == float(h.volume_fraction(i))
    g = h.grid()
    if g.size < 2:
        assert h.area_under_curve() == 0.0
        return
    nu = h.volume_fraction(g)
    gamma = (g - h.lower) / (h.upper - h.lower)
    assert h.area_under_curve() == float(np.sum((nu[1:] + nu[:-1]) * np.diff(gamma)) / 2.0)


@pytest.mark.parametrize("spacing", [(2.0, 2.0, 2.0), (1.0, 0.7, 0.7), (3.0, 0.98, 0.98),
                                     (5.0, 1.2, 1.3)])
@pytest.mark.parametrize(("ny", "nx"), [(30, 40), (7, 5)])
def test_sphere_runs_equal_a_loop_over_rows(spacing, ny, nx) -> None:
    kernel = sphere_kernel(spacing)
    cz, cy, _ = (k // 2 for k in kernel.shape)
    want = []
    for z in range(kernel.shape[0]):
        for y in range(kernel.shape[1]):
            row = np.flatnonzero(kernel[z, y])
            if row.size:
                w = row.size // 2
                start = ((z - cz) * ny + (y - cy)) * (nx + 1)
                want.append([z - cz, y - cy, w, start - w, start + w + 1])
    got = _sphere_runs(kernel, ny, nx)
    assert got.dtype == np.int64
    assert got.flags.c_contiguous
    assert got.tolist() == want


def test_cached_columns_equal_columns_of_the_specs() -> None:
    for family in FAMILY_CODES:
        for agg in (None, *Aggregation):
            for tag, filt in (("image", "original"), ("ct", "log_s1")):
                want = columns(aggregation_features(family, agg), tag=tag, filter_name=filt,
                               aggregation=agg)
                got = aggregation_columns(family, agg, tag=tag, filter_name=filt)
                assert list(got) == want
                assert aggregation_columns(family, agg, tag=tag, filter_name=filt) is got


def test_default_aggregations() -> None:
    assert default_aggregations("3d") == tuple(a for a in Aggregation if a.is_3d)
    assert default_aggregations("2d") == tuple(a for a in Aggregation
                                               if a.is_2d or a.is_2p5d)
