"""Filter-aware response-map margins (issue 20): reach of each filter, hand-computed, and the
independent check that a response computed on a crop of exactly that reach equals the
response on the whole image inside the crop's core (and differs with one voxel less)."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from radiomix.process.filters import FilterSettings, apply_filter
from radiomix.process.filters.margin import (
    response_map_margin_mm,
    support_radius_mm,
    support_radius_vox,
)
from radiomix.settings import settings_from_dict

ISO = (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("settings", "spacing", "expected"),
    [
        (FilterSettings(kind="mean", support=5), ISO, (2, 2, 2)),
        (FilterSettings(kind="mean", support=5, dimensionality="2d"), (3.0, 1.0, 1.0), (0, 2, 2)),
        # LoG sigma 1.5 mm at 1 mm: floor(4 * 1.5 + 0.5) = 6
        (FilterSettings(kind="log", sigma_mm=1.5), ISO, (6, 6, 6)),
        # at 0.5 mm in-plane, 2D: sigma 3 voxels -> floor(12.5) = 12
        (
            FilterSettings(kind="log", sigma_mm=1.5, dimensionality="2d"),
            (3.0, 0.5, 0.5),
            (0, 12, 12),
        ),
        # Gabor sigma 5 mm, gamma 1.5: max(5, 5/1.5) = 5 -> floor(20.5) = 20
        (
            FilterSettings(
                kind="gabor", sigma_mm=5.0, wavelength_mm=2.0, gamma=1.5, dimensionality="2d"
            ),
            ISO,
            (0, 20, 20),
        ),
        # gamma 1/2: sigma/gamma = 6 -> floor(4*6 + 0.5) = 24, all axes in 3D
        (
            FilterSettings(
                kind="gabor",
                sigma_mm=3.0,
                wavelength_mm=2.0,
                gamma=0.5,
                rotation_invariant=True,
                theta_step_deg=90.0,
                pooling="average",
            ),
            ISO,
            (24, 24, 24),
        ),
        # Laws L5E5E5 (radius 2) with energy delta 7 -> 9
        (
            FilterSettings(
                kind="laws",
                laws_kernel="L5E5E5",
                rotation_invariant=True,
                pooling="max",
                energy_distance=7,
            ),
            ISO,
            (9, 9, 9),
        ),
        (FilterSettings(kind="laws", laws_kernel="E3W5R5"), ISO, (2, 2, 2)),
        # db3 has 6 taps: level 1 -> 3; level 2 -> 3 * (1 + 2) = 9
        (FilterSettings(kind="wavelet", wavelet="db3", subband="LLH", level=1), ISO, (3, 3, 3)),
        (FilterSettings(kind="wavelet", wavelet="db3", subband="HHH", level=2), ISO, (9, 9, 9)),
        # coif3 has 18 taps: level 2 -> 9 * 3 = 27
        (
            FilterSettings(kind="wavelet", wavelet="coif3", subband="HHH", level=2),
            ISO,
            (27, 27, 27),
        ),
    ],
)
def test_finite_support_radius(settings, spacing, expected):
    assert support_radius_vox(settings, spacing) == tuple(float(e) for e in expected)


@pytest.mark.parametrize(
    "settings",
    [
        FilterSettings(kind="simoncelli", level=1),
        FilterSettings(kind="simoncelli", level=2, padding="mirror"),
        FilterSettings(kind="simoncelli", level=1, riesz_order_xyz=(0, 2, 0)),
        FilterSettings(kind="log", sigma_mm=3.0, riesz_order_xyz=(1, 0, 0)),
    ],
)
def test_fft_filters_reach_the_whole_image(settings):
    assert support_radius_vox(settings, ISO) == (math.inf, math.inf, math.inf)
    assert math.isinf(support_radius_mm(settings, ISO))


def test_2d_simoncelli_reaches_the_whole_slice_only():
    s = FilterSettings(kind="simoncelli", level=1, dimensionality="2d")
    assert support_radius_vox(s, ISO) == (0.0, math.inf, math.inf)


@pytest.mark.parametrize(
    "settings",
    [
        FilterSettings(kind="mean", support=5),
        FilterSettings(kind="log", sigma_mm=1.0),
        FilterSettings(
            kind="laws",
            laws_kernel="L5E5E5",
            rotation_invariant=True,
            pooling="max",
            energy_distance=2,
        ),
        FilterSettings(
            kind="wavelet",
            wavelet="db2",
            subband="HHL",
            level=2,
            rotation_invariant=True,
            pooling="average",
        ),
        FilterSettings(
            kind="gabor", sigma_mm=1.0, wavelength_mm=2.0, gamma=1.0, dimensionality="2d"
        ),
    ],
)
def test_radius_is_exactly_the_reach(settings):
    """A crop with the radius as margin reproduces the whole-image response at its centre
    voxel; a crop one voxel smaller does not (so the radius is not over-estimated)."""
    rng = np.random.default_rng(7)
    image = rng.normal(size=(41, 41, 41))
    whole = apply_filter(image, spacing=ISO, settings=settings)
    r = [int(v) for v in support_radius_vox(settings, ISO)]
    c = 20

    def centre_of_crop(shrink: int) -> float:
        sl = tuple(slice(c - max(ri - shrink, 0), c + max(ri - shrink, 0) + 1) for ri in r)
        crop = np.ascontiguousarray(image[sl])
        out = apply_filter(crop, spacing=ISO, settings=settings)
        return float(out[tuple(max(ri - shrink, 0) for ri in r)])

    assert centre_of_crop(0) == pytest.approx(whole[c, c, c], rel=1e-9, abs=1e-9)
    assert centre_of_crop(1) != pytest.approx(whole[c, c, c], rel=1e-6, abs=1e-9)


def test_derived_margin_and_whole_image():
    log = FilterSettings(kind="log", sigma_mm=1.5)
    sim = FilterSettings(kind="simoncelli", level=1)
    common = {"spacing": ISO, "original_spacing": (3.0, 1.0, 1.0), "extent_mm": 500.0}
    # 6 voxels of 1 mm plus one original voxel (3 mm)
    assert response_map_margin_mm([log], user_margin_mm=None, **common) == 9.0
    assert response_map_margin_mm([log, sim], user_margin_mm=None, **common) == 500.0


def test_a_small_user_margin_is_kept_with_a_warning(caplog):
    log = FilterSettings(kind="log", sigma_mm=1.5)
    sim = FilterSettings(kind="simoncelli", level=1)
    common = {"spacing": ISO, "original_spacing": ISO, "extent_mm": 500.0}
    with caplog.at_level(logging.WARNING, logger="radiomix.process.filters.margin"):
        assert response_map_margin_mm([log, sim], user_margin_mm=4.0, **common) == 4.0
    text = caplog.text
    assert "response_maps.margin_mm=4 mm is smaller than the reach" in text
    assert "log_s1p5mm" in text
    assert "simoncelli_l1" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="radiomix.process.filters.margin"):
        assert response_map_margin_mm([log], user_margin_mm=6.0, **common) == 6.0
        assert response_map_margin_mm([sim], user_margin_mm=600.0, **common) == 600.0
    assert caplog.text == ""


def test_margin_setting_defaults_to_derived():
    s = settings_from_dict({"response_maps": {"filters": [{"kind": "mean", "support": 3}]}})
    assert s.response_maps.margin_mm is None
    s = settings_from_dict({"response_maps": {"margin_mm": 12}})
    assert s.response_maps.margin_mm == 12.0
