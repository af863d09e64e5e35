"""Intensity-based statistical features on hand-computed samples and against numpy/scipy.

Oracles: small samples worked out by hand, and independent implementations (numpy
percentiles with the ``linear`` method, ``scipy.stats`` moments with ``bias=True``) on
random samples drawn by hypothesis.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from radiomix.features.registry import all_features, family_compute
from radiomix.features.statistics import SampleSummary, percentile_sorted
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

SPECS = [s for s in all_features() if s.family == "stat"]


def stat_features(values) -> dict[str, float]:
    """Statistical features of ``values`` placed in a one-row ROI (plus an outside voxel)."""
    x = np.asarray(values, dtype=float)
    image = np.concatenate([x, [1e6]]).reshape(1, 1, -1)  # the last voxel is outside
    mask = np.ones(image.shape, bool)
    mask[0, 0, -1] = False
    ctx = RoiContext(
        image,
        mask,
        mask,
        (1.0, 1.0, 1.0),
        levels=mask.astype(np.int64),
        n_levels=1,
        ivh=IvhInput(values=x, lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )
    return family_compute("stat")(ctx, None, SPECS)


def test_hand_computed_sample() -> None:
    # x = 1, 2, 3, 4, 10: mean 4, deviations -3 -2 -1 0 6, squares 9 4 1 0 36 (sum 50).
    f = stat_features([4, 1, 10, 3, 2])
    assert f["stat.mean"] == 4.0
    assert f["stat.variance"] == pytest.approx(10.0)
    assert f["stat.standard_deviation"] == pytest.approx(math.sqrt(10.0))
    # third moment (-27 -8 -1 0 216)/5 = 36; fourth (81 16 1 0 1296)/5 = 278.8
    assert f["stat.skewness"] == pytest.approx(36 / 10**1.5)
    assert f["stat.kurtosis"] == pytest.approx(278.8 / 100 - 3)
    assert f["stat.median"] == 3.0
    assert f["stat.minimum"] == 1.0
    assert f["stat.maximum"] == 10.0
    assert f["stat.range"] == 9.0
    # linear percentiles at positions 0.4 (P10), 1 (P25), 3 (P75), 3.6 (P90) of 1 2 3 4 10
    assert f["stat.p10"] == pytest.approx(1.4)
    assert f["stat.p90"] == pytest.approx(4 + 0.6 * 6)
    assert f["stat.iqr"] == pytest.approx(2.0)
    assert f["stat.quartile_coefficient_of_dispersion"] == pytest.approx(2 / 6)
    assert f["stat.mean_absolute_deviation"] == pytest.approx(12 / 5)
    # values in [1.4, 7.6]: 2 3 4, mean 3, mean |dev| 2/3
    assert f["stat.robust_mean_absolute_deviation"] == pytest.approx(2 / 3)
    # |x - 3|: 2 1 0 1 7 -> 11/5
    assert f["stat.median_absolute_deviation"] == pytest.approx(11 / 5)
    assert f["stat.coefficient_of_variation"] == pytest.approx(math.sqrt(10) / 4)
    assert f["stat.energy"] == pytest.approx(1 + 4 + 9 + 16 + 100)
    assert f["stat.root_mean_square"] == pytest.approx(math.sqrt(130 / 5))


def test_constant_sample_has_zero_skewness_and_kurtosis() -> None:
    f = stat_features([7.0] * 6)
    assert f["stat.variance"] == 0.0
    assert f["stat.skewness"] == 0.0
    assert f["stat.kurtosis"] == 0.0
    assert f["stat.robust_mean_absolute_deviation"] == 0.0


def test_undefined_values_are_nan() -> None:
    f = stat_features([-1.0, 1.0])
    assert math.isnan(f["stat.coefficient_of_variation"])  # mean 0
    assert math.isnan(f["stat.quartile_coefficient_of_dispersion"])  # P75 + P25 = 0
    # P10 = -0.8 and P90 = 0.8: no intensity lies between them
    assert math.isnan(f["stat.robust_mean_absolute_deviation"])


def test_only_intensity_mask_voxels_count() -> None:
    f = stat_features([1.0, 2.0, 3.0])
    assert f["stat.maximum"] == 3.0  # the 1e6 outside the mask is ignored


finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=finite), st.floats(0, 100))
def test_percentiles_equal_numpy_linear(x, q) -> None:
    assert percentile_sorted(np.sort(x), q) == np.percentile(x, q)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(2, 60), elements=finite.map(round)))
def test_features_equal_numpy_and_scipy(x) -> None:
    f = stat_features(x)
    assert f["stat.mean"] == pytest.approx(np.mean(x), abs=1e-9)
    assert f["stat.variance"] == pytest.approx(np.var(x), rel=1e-9, abs=1e-9)
    if np.var(x) > 1e-6:
        assert f["stat.skewness"] == pytest.approx(stats.skew(x, bias=True), rel=1e-6, abs=1e-9)
        assert f["stat.kurtosis"] == pytest.approx(
            stats.kurtosis(x, fisher=True, bias=True), rel=1e-6, abs=1e-9
        )
    assert f["stat.median"] == pytest.approx(np.median(x))
    p10, p25, p75, p90 = np.percentile(x, [10, 25, 75, 90])
    assert f["stat.iqr"] == pytest.approx(p75 - p25, abs=1e-9)
    inner = x[(x >= p10) & (x <= p90)]
    if inner.size:
        assert f["stat.robust_mean_absolute_deviation"] == pytest.approx(
            np.mean(np.abs(inner - inner.mean())), abs=1e-9
        )
    else:  # two distinct values: nothing lies between P10 and P90
        assert math.isnan(f["stat.robust_mean_absolute_deviation"])
    assert f["stat.median_absolute_deviation"] == pytest.approx(
        np.mean(np.abs(x - np.median(x))), abs=1e-9
    )
    assert f["stat.energy"] == pytest.approx(np.sum(x**2))


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 40), elements=st.integers(-500, 500).map(float)),
    st.integers(-1000, 1000).map(float),
)
def test_dispersion_is_invariant_to_a_shift(x, c) -> None:
    # (robust MAD is left out: a shift can move a value across P10 or P90 by round-off)
    a, b = stat_features(x), stat_features(x + c)
    names = (
        "stat.variance",
        "stat.skewness",
        "stat.kurtosis",
        "stat.iqr",
        "stat.range",
        "stat.mean_absolute_deviation",
        "stat.median_absolute_deviation",
    )
    for name in names:
        assert b[name] == pytest.approx(a[name], rel=1e-6, abs=1e-6), name
    assert b["stat.mean"] == pytest.approx(a["stat.mean"] + c)


def test_summary_moments() -> None:
    s = SampleSummary.of(np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]))
    assert (s.mean, s.m2) == (5.0, 4.0)
    assert s.n == 8


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(2, 200), elements=st.floats(-1e3, 1e3)),
       st.floats(1e-9, 1e-3))
def test_coefficient_of_variation_of_a_zero_mean_sample_is_nan(values, ratio):
    """A sample normalised to a zero mean computes a mean of rounding size (either sign):
    sigma / mean was 1e16 and more. A mean well above rounding still gives the quotient."""
    centred = values - values.mean()
    if centred.std() == 0:
        return
    assert math.isnan(stat_features(centred)["stat.coefficient_of_variation"])
    shifted = centred + ratio * centred.std()
    expected = np.std(shifted) / np.mean(shifted)
    got = stat_features(shifted)["stat.coefficient_of_variation"]
    assert got == pytest.approx(expected, rel=1e-6)


def test_coefficient_of_variation_after_zscore_over_the_roi_is_nan_with_a_note():
    from _data import require_data
    from radiomix.extraction import extract

    folder = require_data("sts", "nifti", "STS_002", "pet")
    settings = {"preprocess": {"normalise": "zscore", "normalise_region": "roi"},
                "features": {"families": ["stat"]}}
    result = extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings=settings)
    assert math.isnan(result.features["image.original.stat.coefficient_of_variation"])
    assert "z-score" in result.provenance["notes"]["stat.coefficient_of_variation"]
    assert result.features["image.original.stat.variance"] == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("scale", [1e-103, 1e-150, 1e-160])
def test_skewness_and_kurtosis_of_a_very_narrow_sample(scale):
    """Deviations of 1e-103 made m2**2 underflow to 0: kurtosis raised ZeroDivisionError
    (found by hypothesis in CI). The moments are scale-free: those of the sample times 1."""
    base = np.array([1.0, 3.0, 2.0, 7.0, 4.0])
    f = stat_features(base * scale)
    assert f["stat.skewness"] == pytest.approx(stats.skew(base), rel=1e-9)
    assert f["stat.kurtosis"] == pytest.approx(stats.kurtosis(base), rel=1e-9)
