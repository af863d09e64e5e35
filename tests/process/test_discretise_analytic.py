"""Re-segmentation and discretisation (IBSI 1 §2.5, §2.7) by hand and by invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.process.discretise import discretise, fixed_bin_number, fixed_bin_size
from radiomix.process.resegment import resegment
from radiomix.settings import DiscretisationSettings, ResegmentationSettings


def test_fbn_by_hand():
    x = np.array([-10.0, -5.0, 0.0, 5.0, 10.0])
    # N_g = 4 over [-10, 10]: floor(4 (x + 10) / 20) + 1 = 1, 2, 3, 4, (5 -> capped) 4
    np.testing.assert_array_equal(fixed_bin_number(x, 4), [1, 2, 3, 4, 4])


def test_fbs_lower_edge_at_range_minimum():
    x = np.array([-1000.0, -975.1, -975.0, -1.0, 400.0])
    levels, n = discretise(
        x,
        DiscretisationSettings(method="fbs", bin_width=25.0),
        ResegmentationSettings(range=(-1000.0, 400.0)),
    )
    np.testing.assert_array_equal(levels, [1, 1, 2, 40, 57])
    assert n == 57
    # without a range the ROI minimum is the lower edge
    levels, _ = discretise(
        x + 3, DiscretisationSettings(method="fbs", bin_width=25.0), ResegmentationSettings()
    )
    np.testing.assert_array_equal(levels, [1, 1, 2, 40, 57])


def test_resegmentation_range_and_outliers_by_hand():
    img = np.array([[[-600.0, -400.0, 0.0, 100.0, 450.0, 5.0]]])
    morph = np.ones_like(img, dtype=bool)
    keep = resegment(img, morph, ResegmentationSettings(range=(-500.0, 400.0)))
    np.testing.assert_array_equal(keep[0, 0], [False, True, True, True, False, True])
    # mean -74.17, population SD 341.45: one sigma keeps [-415.6, 267.3]
    values = img.ravel()
    mu, sd = values.mean(), values.std()
    keep = resegment(img, morph, ResegmentationSettings(outlier_sigma=1.0))
    np.testing.assert_array_equal(keep[0, 0], (values >= mu - sd) & (values <= mu + sd))
    np.testing.assert_array_equal(keep[0, 0], [False, True, True, True, False, True])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 200), elements=st.floats(-2000, 3000, allow_nan=False)),
    st.integers(1, 64),
)
def test_fbn_conserves_voxels_and_spans_levels(values, bins):
    levels = fixed_bin_number(values, bins)
    counts = np.bincount(levels, minlength=bins + 1)
    assert counts.sum() == values.size  # every voxel in exactly one bin
    assert counts[0] == 0
    assert levels.max() <= bins
    if values.max() > values.min():
        assert levels[np.argmin(values)] == 1
        assert levels[np.argmax(values)] == bins
    # monotone: a larger intensity never gets a smaller level
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(levels[order]) >= 0)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 200), elements=st.floats(-1000, 400, allow_nan=False)),
    st.floats(0.5, 100),
)
def test_fbs_bins_have_the_requested_width(values, width):
    levels = fixed_bin_size(values, width, -1000.0)
    lower_edges = -1000.0 + (levels - 1) * width
    assert np.all(values >= lower_edges - 1e-9 * width)
    assert np.all(values < lower_edges + width + 1e-9 * abs(lower_edges).max())
