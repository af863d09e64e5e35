"""Intensity histogram features on hand-computed grey-level samples.

The histogram of grey levels 1..N_g (empty bins included), its gradient, mode, entropy and
uniformity are worked out by hand; hypothesis checks bin-count conservation and that the
shared moment features agree with the statistics family on the same values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.features.intensity_histogram import DiscretisedHistogram
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

SPECS = [s for s in all_features() if s.family == "ih"]
STAT_SPECS = [s for s in all_features() if s.family == "stat"]


def context(levels, n_levels: int) -> RoiContext:
    lv = np.asarray(levels, dtype=np.int64).reshape(1, 1, -1)
    mask = np.ones(lv.shape, bool)
    return RoiContext(
        lv.astype(float),
        mask,
        mask,
        (1.0, 1.0, 1.0),
        levels=lv,
        n_levels=n_levels,
        ivh=IvhInput(values=lv.ravel().astype(float), lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )


def ih_features(levels, n_levels: int) -> dict[str, float]:
    return family_compute("ih")(context(levels, n_levels), None, SPECS)


def test_hand_computed_histogram() -> None:
    # levels 1 1 2 4 with N_g = 5: counts n = 2 1 0 1 0, p = .5 .25 0 .25 0
    f = ih_features([1, 4, 1, 2], n_levels=5)
    hist = DiscretisedHistogram.of(np.array([1, 4, 1, 2]), n_levels=5)
    assert hist.counts.tolist() == [2, 1, 0, 1, 0]
    # H' = n2-n1, (n3-n1)/2, (n4-n2)/2, (n5-n3)/2, n5-n4 = -1, -1, 0, 0, -1
    assert hist.gradient.tolist() == [-1, -1, 0, 0, -1]
    assert f["ih.max_gradient"] == 0.0
    assert f["ih.max_gradient_intensity"] == 3.0  # first of the tied maxima
    assert f["ih.min_gradient"] == -1.0
    assert f["ih.min_gradient_intensity"] == 1.0
    assert f["ih.mean"] == 2.0
    assert f["ih.variance"] == pytest.approx((1 + 1 + 0 + 4) / 4)
    assert f["ih.mode"] == 1.0
    assert f["ih.entropy"] == pytest.approx(1.5)  # -(.5 log .5 + 2 * .25 log .25)
    assert f["ih.uniformity"] == pytest.approx(0.25 + 2 * 0.0625)
    assert f["ih.minimum"] == 1.0
    assert f["ih.maximum"] == 4.0
    assert f["ih.range"] == 3.0
    assert f["ih.median"] == 1.5
    # percentiles of 1 1 2 4 at positions .3 (P10), .75 (P25), 2.25 (P75), 2.7 (P90)
    assert f["ih.p10"] == pytest.approx(1.0)
    assert f["ih.p90"] == pytest.approx(2 + 0.7 * 2)
    assert f["ih.iqr"] == pytest.approx(2.5 - 1.0)
    assert f["ih.quartile_coefficient_of_dispersion"] == pytest.approx(1.5 / 3.5)
    assert f["ih.mean_absolute_deviation"] == pytest.approx(1.0)
    # |x - 1.5|: .5 .5 .5 2.5
    assert f["ih.median_absolute_deviation"] == pytest.approx(1.0)
    assert f["ih.coefficient_of_variation"] == pytest.approx(math.sqrt(1.5) / 2)
    # values in [1, 3.4]: 1 1 2, mean 4/3, |dev| 1/3 1/3 2/3 -> 4/9
    assert f["ih.robust_mean_absolute_deviation"] == pytest.approx(4 / 9)


def test_mode_ties_go_to_the_level_nearest_the_mean() -> None:
    # 1 1 3 3 4: mean 2.4, levels 1 and 3 both twice; 3 is nearer
    assert ih_features([1, 1, 3, 3, 4], n_levels=4)["ih.mode"] == 3.0
    # 1 1 3 3: mean 2, equidistant: the lower level
    assert ih_features([1, 1, 3, 3], n_levels=4)["ih.mode"] == 1.0


def test_histogram_spans_one_to_n_levels() -> None:
    # Only level 3 present, N_g = 4: n = 0 0 5 0; H' = 0, 2.5, 0, -5
    f = ih_features([3] * 5, n_levels=4)
    assert f["ih.max_gradient"] == 2.5
    assert f["ih.max_gradient_intensity"] == 2.0
    assert f["ih.min_gradient"] == -5.0
    assert f["ih.min_gradient_intensity"] == 4.0
    assert f["ih.entropy"] == 0.0
    assert math.copysign(1.0, f["ih.entropy"]) == 1.0  # 0, not -0 (written "-0" in a CSV)
    assert f["ih.uniformity"] == 1.0
    assert f["ih.skewness"] == 0.0  # zero variance
    assert f["ih.kurtosis"] == 0.0


def test_single_level_histogram_has_zero_gradient() -> None:
    f = ih_features([1, 1, 1], n_levels=1)
    assert f["ih.max_gradient"] == 0.0
    assert f["ih.min_gradient"] == 0.0


levels = arrays(np.int64, st.integers(1, 80), elements=st.integers(1, 12))


@settings(max_examples=50, deadline=None)
@given(levels, st.integers(1, 16))
def test_bin_counts_are_conserved(x, n_levels) -> None:
    hist = DiscretisedHistogram.of(x, n_levels=n_levels)
    assert hist.counts.sum() == x.size
    assert hist.counts.size == max(n_levels, int(x.max()))
    assert hist.probabilities.sum() == pytest.approx(1.0)
    for i in np.unique(x):
        assert hist.counts[i - 1] == np.count_nonzero(x == i)


@settings(max_examples=30, deadline=None)
@given(levels)
def test_moments_equal_the_statistics_family_on_the_same_values(x) -> None:
    ctx = context(x, n_levels=int(x.max()))
    ih = family_compute("ih")(ctx, None, SPECS)
    st_ = family_compute("stat")(ctx, None, STAT_SPECS)
    for name in ("mean", "variance", "skewness", "kurtosis", "median", "p10", "p90", "iqr"):
        assert ih[f"ih.{name}"] == pytest.approx(st_[f"stat.{name}"], nan_ok=True), name
