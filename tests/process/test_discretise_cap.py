"""The grey-level cap: too many levels are refused, naming the bin width to use.

Oracles: level counts by hand (floor(span / w) + 1, IBSI 1 §2.7 fixed bin size), and for the
suggested width an exhaustive scan of the {1, 2, 2.5, 5} × 10^k widths.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.errors import InputError, SettingsError
from radiomix.process.discretise import discretise, nice_bin_width
from radiomix.settings import settings_from_dict
from radiomix.settings.steps import DiscretisationSettings, ResegmentationSettings

RESEG = ResegmentationSettings()


def test_int16_mr_with_bin_width_1_is_refused_with_the_width_to_use():
    values = np.random.default_rng(0).integers(0, 65536, size=5000).astype(float)
    values[:2] = (0.0, 65535.0)
    s = DiscretisationSettings(method="fbs", bin_width=1.0, bins=None)
    with pytest.raises(
        InputError,
        match=r"would give 65,536 grey levels .*\.max_levels 1000\. First check that these "
        r"are the image's units .*; if they are, use discretisation.bin_width 100 or larger",
    ):
        discretise(values, s, RESEG)
    # the suggested width works: 656 levels
    levels, n = discretise(values, DiscretisationSettings(method="fbs", bin_width=100.0), RESEG)
    assert n == math.floor(65535 / 100) + 1 == 656
    assert levels.max() == n


def test_boundary_is_max_levels_inclusive():
    s = DiscretisationSettings(method="fbs", bin_width=1.0, max_levels=1000)
    _, n = discretise(np.arange(0.0, 1000.0), s, RESEG)  # 0..999: 1000 levels
    assert n == 1000
    with pytest.raises(InputError, match="1,001 grey levels"):
        discretise(np.arange(0.0, 1001.0), s, RESEG)


def test_none_method_is_capped_too():
    s = DiscretisationSettings(method="none", bins=None, max_levels=100)
    _, n = discretise(np.arange(1.0, 101.0), s, RESEG)
    assert n == 100
    with pytest.raises(InputError, match="discretisation none would give 101 grey levels"):
        discretise(np.arange(1.0, 102.0), s, RESEG)


def test_fbn_bins_above_the_cap_is_a_settings_error():
    with pytest.raises(SettingsError, match=r"bins 2000 exceeds discretisation\.max_levels 1000"):
        settings_from_dict({"discretisation": {"method": "fbn", "bins": 2000}})
    s = settings_from_dict(
        {"discretisation": {"method": "fbn", "bins": 2000, "max_levels": 2000}}
    )
    assert s.discretisation.bins == 2000
    with pytest.raises(SettingsError, match="max_levels must be an integer >= 2"):
        DiscretisationSettings(max_levels=1)


@settings(max_examples=200, deadline=None)
@given(
    span=st.floats(min_value=1e-3, max_value=1e7, allow_nan=False),
    cap=st.integers(min_value=2, max_value=5000),
)
def test_suggested_width_is_the_smallest_nice_width_that_fits(span, cap):
    width = nice_bin_width(span, cap)
    assert math.floor(span / width) + 1 <= cap
    candidates = [m * 10.0**k for k in range(-6, 10) for m in (1.0, 2.0, 2.5, 5.0)]
    smaller = [w for w in candidates if w < width * (1 - 1e-12)]
    assert all(math.floor(span / w) + 1 > cap for w in smaller)
