"""Intensity-volume histogram features on hand-computed cases.

Oracles: the IVH example table of the IBSI 1 manual for the digital phantom
(:math:`\\nu` at :math:`i = 1..6`: 1.000, 0.324, 0.324, 0.311, 0.095, 0.095), and small
samples worked out by hand for the three IBSI cases (discrete calibrated, fixed-bin-size
bin centres, fixed-bin-number bin numbers).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.features.ivh import IntensityVolumeHistogram
from radiomix.roi import IvhInput


def ivh(values, lower, upper, step=1.0) -> IntensityVolumeHistogram:
    return IntensityVolumeHistogram.of(
        IvhInput(values=np.asarray(values, float), lower=lower, upper=upper, step=step)
    )


def test_digital_phantom_table_of_the_manual(digital_phantom_context) -> None:
    h = IntensityVolumeHistogram.of(digital_phantom_context.ivh)
    nu = h.volume_fraction(np.arange(1, 7))
    assert np.round(nu, 3).tolist() == [1.000, 0.324, 0.324, 0.311, 0.095, 0.095]
    assert h.grid().tolist() == [1, 2, 3, 4, 5, 6]


def test_discrete_case_by_hand() -> None:
    # values 1 2 2 3 4, G = [1, 4], w = 1: nu(1..4) = 1, .8, .4, .2 ; gamma = 0, 1/3, 2/3, 1
    h = ivh([2, 1, 4, 2, 3], 1.0, 4.0)
    assert h.volume_fraction(np.array([1, 2, 3, 4, 5])).tolist() == pytest.approx(
        [1, 0.8, 0.4, 0.2, 0]
    )
    # V10: first i with gamma >= .1 is 2 -> .8 ; V90: gamma >= .9 at i = 4 -> .2
    assert h.volume_at_intensity_fraction(0.1) == pytest.approx(0.8)
    assert h.volume_at_intensity_fraction(0.9) == pytest.approx(0.2)
    # I10: nu(4) = .2 > .1 and no i of G = [1, 4] beyond it: undefined ; I90: nu(2) = .8 -> 2
    assert np.isnan(h.intensity_at_volume_fraction(0.1))
    assert h.intensity_at_volume_fraction(0.9) == 2.0
    # trapezoids: (1/3) * ((1 + .8) + (.8 + .4) + (.4 + .2)) / 2 = 0.6
    assert h.area_under_curve() == pytest.approx(0.6)


def test_range_wider_than_the_values() -> None:
    # re-segmentation range [0, 10] around values 4..6: gamma uses the range, not the data
    h = ivh([4, 5, 5, 6], 0.0, 10.0)
    assert h.volume_at_intensity_fraction(0.1) == 1.0  # i = 1
    assert h.volume_at_intensity_fraction(0.5) == pytest.approx(0.75)  # i = 5
    assert h.volume_at_intensity_fraction(0.9) == 0.0  # i = 9
    assert h.intensity_at_volume_fraction(0.9) == 5.0  # nu(5) = .75


def test_continuous_case_bin_centres() -> None:
    # fixed bin size 2.5 from 0: bin centres 1.25, 3.75, 6.25, 8.75; G = [1.25, 8.75]
    h = ivh([1.25, 3.75, 3.75, 6.25, 8.75], 1.25, 8.75, step=2.5)
    assert h.grid().tolist() == [1.25, 3.75, 6.25, 8.75]
    # gamma = 0, 1/3, 2/3, 1 ; nu = 1, .8, .4, .2
    assert h.volume_at_intensity_fraction(0.1) == pytest.approx(0.8)
    assert h.volume_at_intensity_fraction(0.9) == pytest.approx(0.2)
    assert h.intensity_at_volume_fraction(0.9) == 3.75
    assert np.isnan(h.intensity_at_volume_fraction(0.1))  # 8.75 + 2.5 lies beyond G
    assert h.area_under_curve() == pytest.approx(0.6)


def test_arbitrary_units_bin_numbers() -> None:
    # fixed bin number 10: bin numbers, G = [1, 10], w = 1
    h = ivh([1, 3, 3, 7, 10, 10], 1.0, 10.0)
    # V10: i >= 1.9 -> i = 2: 5/6 ; V90: i >= 9.1 -> i = 10: 2/6
    assert h.volume_at_intensity_fraction(0.1) == pytest.approx(5 / 6)
    assert h.volume_at_intensity_fraction(0.9) == pytest.approx(2 / 6)
    # I90: nu(i) <= .9 first at i = 2 (5/6) ; I10: nu <= .1 needs i > 10, beyond G
    assert h.intensity_at_volume_fraction(0.9) == 2.0
    assert np.isnan(h.intensity_at_volume_fraction(0.1))


def test_single_intensity() -> None:
    h = ivh([3, 3, 3], 3.0, 3.0)
    assert h.area_under_curve() == 0.0
    assert np.isnan(h.intensity_at_volume_fraction(0.5))  # 4 lies beyond G = {3}


@settings(max_examples=50, deadline=None)
@given(arrays(np.int64, st.integers(1, 60), elements=st.integers(-20, 20)))
def test_intensity_at_volume_matches_the_definition(x) -> None:
    """I_x is the smallest grid intensity with nu <= x (brute force over the grid)."""
    lo, hi = float(x.min()), float(x.max())
    h = ivh(x, lo, hi)
    grid = np.arange(lo, hi + 1)  # G
    nu = np.array([np.mean(x >= i) for i in grid])
    for frac in (0.1, 0.5, 0.9):
        got = h.intensity_at_volume_fraction(frac)
        if (nu <= frac).any():
            assert got == grid[np.argmax(nu <= frac)]
        else:  # no intensity of G qualifies
            assert np.isnan(got)
        if hi > lo:
            gamma = (grid - lo) / (hi - lo)
            ok = (gamma >= frac) & (grid <= hi)
            assert h.volume_at_intensity_fraction(frac) == pytest.approx(nu[ok].max())
