"""Intensity ranges too wide for the intensity-volume histogram are refused before any
allocation.

Oracles: the number of IVH intensities is ``floor((upper - lower) / step) + 1`` (IBSI 1
§3.5), computed here by hand; the limit constant of :mod:`radiomix.features.ivh`.
"""

from __future__ import annotations

import numpy as np
import pytest

import radiomix
from radiomix.errors import InputError
from radiomix.features.ivh import IVH_MAX_POINTS, IntensityVolumeHistogram
from radiomix.roi import IvhInput


def _ivh(lower: float, upper: float, step: float = 1.0) -> IntensityVolumeHistogram:
    values = np.array([lower, (lower + upper) / 2, upper])
    return IntensityVolumeHistogram.of(IvhInput(values=values, lower=lower, upper=upper,
                                                step=step))


def test_the_limit_itself_is_accepted_and_one_more_refused():
    hist = _ivh(0.0, IVH_MAX_POINTS - 1.0)
    assert hist.grid().size == IVH_MAX_POINTS
    with pytest.raises(InputError, match=rf"would have {IVH_MAX_POINTS + 1:,} intensities"):
        _ivh(0.0, float(IVH_MAX_POINTS))


@pytest.mark.parametrize(("upper", "count"), [(1.0e10, "10,000,000,001"), (1.0e20, "1e+20"),
                                              (1.0e308, "1e+308")])
def test_a_huge_range_is_refused_with_the_range_the_step_and_the_fix(upper, count):
    with pytest.raises(InputError) as err:
        _ivh(0.0, upper)
    message = str(err.value)
    assert f"would have {count} intensities (0 to {upper:g} in steps of 1" in message
    assert f"more than the {IVH_MAX_POINTS:,} it allows" in message
    assert "check the image's intensity scaling" in message
    assert "ivh.method fbs with ivh.bin_width" in message


def test_a_too_fine_fbs_step_names_the_width_to_use():
    with pytest.raises(InputError, match=r"in steps of 0\.001.*ivh\.bin_width 10 or larger"):
        _ivh(0.0, 5.0e7, step=0.001)
    assert _ivh(0.0, 5.0e7, step=10.0).grid().size == 5_000_001  # the width proposed fits


@pytest.mark.parametrize("scale", [1e10, 1e13])  # from 1e15 on, refused as no-data values
def test_api_on_a_mis_scaled_float_image_raises_the_input_error(scale):
    image = np.random.default_rng(2).uniform(1.0, 16.0, (8, 10, 10)) * scale
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2:6, 3:7, 3:7] = 1
    with pytest.raises(InputError, match="intensity-volume histogram would have"):
        radiomix.extract(image, mask, spacing=(3.0, 4.0, 4.0), features__families=["ivh"])
    row = radiomix.extract(image, mask, spacing=(3.0, 4.0, 4.0), features__families=["ivh"],
                           ivh={"method": "fbn", "bins": 100})
    assert np.isfinite(row["image.original.ivh.area_under_curve"].iloc[0])


def test_an_image_scaled_beyond_any_measurement_is_refused_as_no_data():
    """1e20 is no intensity a scanner gives (a no-data fill, damaged bytes): refused
    before any histogram, whatever the settings."""
    image = np.random.default_rng(2).uniform(1.0, 16.0, (8, 10, 10)) * 1e20
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2:6, 3:7, 3:7] = 1
    with pytest.raises(InputError, match=r"holds 800 voxels of magnitude 1e\+15 or more "
                                         r"\(64 inside the ROI\)"):
        radiomix.extract(image, mask, spacing=(3.0, 4.0, 4.0), features__families=["ivh"],
                         ivh={"method": "fbn", "bins": 100})
