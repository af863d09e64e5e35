"""FilterSettings validation, tags, loader round trip, and apply_filter input errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from radiomix.errors import InputError, InvalidIntensityError, SettingsError
from radiomix.process.filters import FilterSettings, apply_filter, ibsi2_preset
from radiomix.settings import settings_from_dict
from radiomix.settings.filters import IBSI2_PHASE1_PRESETS


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "median"}, "unknown filter kind 'median'; did you mean 'mean'"),
        ({"kind": "mean"}, "support must be an odd integer"),
        ({"kind": "mean", "support": 4}, "support must be an odd integer >= 1, got 4"),
        ({"kind": "mean", "support": 3, "padding": "reflect"}, "padding must be one of"),
        ({"kind": "mean", "support": 3, "dimensionality": "4d"}, "dimensionality must be 2d or 3d"),
        ({"kind": "mean", "support": 3, "sigma_mm": 1.0}, "sigma_mm does not apply to the mean"),
        ({"kind": "log"}, "sigma_mm .* is required"),
        ({"kind": "log", "sigma_mm": -1.0}, "sigma_mm must be a finite number > 0"),
        ({"kind": "log", "sigma_mm": 1.0, "truncation": 0.0}, "truncation must be a finite number"),
        (
            {"kind": "log", "sigma_mm": 1.0, "rotation_invariant": True, "pooling": "max"},
            "rotation_invariant applies to laws, gabor and wavelet",
        ),
        ({"kind": "laws"}, "laws_kernel is required"),
        ({"kind": "laws", "laws_kernel": "E5L5"}, "must name 3 1D kernels"),
        ({"kind": "laws", "laws_kernel": "E5L5X5"}, "unknown Laws kernel 'X5'"),
        (
            {"kind": "laws", "laws_kernel": "E5L5S5", "rotation_invariant": True},
            "pooling must be one of average, max, min with rotation_invariant",
        ),
        (
            {"kind": "laws", "laws_kernel": "E5L5S5", "pooling": "max"},
            "pooling applies only when responses are pooled",
        ),
        (
            {"kind": "laws", "laws_kernel": "E5L5S5", "energy_distance": -1},
            "energy_distance must be an integer >= 0",
        ),
        (
            {"kind": "gabor", "sigma_mm": 1.0, "gamma": 1.0, "dimensionality": "2d"},
            "wavelength_mm .* is required",
        ),
        (
            {"kind": "gabor", "sigma_mm": 1.0, "wavelength_mm": 2.0, "dimensionality": "2d"},
            "gamma .* is required",
        ),
        (
            {"kind": "gabor", "sigma_mm": 1.0, "wavelength_mm": 2.0, "gamma": 1.0},
            "pooling must be one of .* with 3d gabor",
        ),
        (
            {
                "kind": "gabor",
                "sigma_mm": 1.0,
                "wavelength_mm": 2.0,
                "gamma": 1.0,
                "dimensionality": "2d",
                "rotation_invariant": True,
                "pooling": "max",
                "theta_step_deg": 50.0,
            },
            "theta_step_deg must divide 360",
        ),
        (
            {
                "kind": "gabor",
                "sigma_mm": 1.0,
                "wavelength_mm": 2.0,
                "gamma": 1.0,
                "dimensionality": "2d",
                "theta_step_deg": 45.0,
            },
            "theta_step_deg applies only with rotation_invariant",
        ),
        (
            {"kind": "wavelet", "wavelet": "db99", "subband": "LLL", "level": 1},
            "wavelet 'db99' is not available",
        ),
        ({"kind": "wavelet", "wavelet": "coif", "subband": "LLL", "level": 1}, "did you mean"),
        (
            {"kind": "wavelet", "wavelet": "db2", "subband": "LL", "level": 1},
            "subband must be 3 letters",
        ),
        (
            {"kind": "wavelet", "wavelet": "db2", "subband": "LLL", "level": 0},
            "level must be an integer",
        ),
        ({"kind": "simoncelli"}, "level must be an integer >= 1 for the simoncelli"),
        (
            {"kind": "simoncelli", "level": 1, "riesz_order_xyz": (0, 0, 0)},
            "riesz_order_xyz needs 3 non-negative integers",
        ),
        ({"kind": "simoncelli", "level": 1, "riesz_order_xyz": (1, 0)}, "riesz_order_xyz needs 3"),
        (
            {
                "kind": "wavelet",
                "wavelet": "db2",
                "subband": "LLL",
                "level": 1,
                "riesz_order_xyz": (1, 0, 0),
            },
            "riesz_order_xyz does not apply to the wavelet",
        ),
    ],
)
def test_invalid_settings_raise(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        FilterSettings(**kwargs)


def test_settings_are_frozen_and_normalised():
    s = FilterSettings(kind="laws", laws_kernel="e5l5s5")
    assert s.laws_kernel == "E5L5S5"
    w = FilterSettings(kind="wavelet", wavelet="db2", subband="lhl", level=1)
    assert w.subband == "LHL"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.kind = "mean"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("settings", "tag"),
    [
        (FilterSettings(kind="log", sigma_mm=1.5), "log_s1p5mm"),
        (FilterSettings(kind="mean", support=5), "mean_d5"),
        (
            FilterSettings(kind="laws", laws_kernel="L5E5E5", energy_distance=7),
            "laws_l5e5e5_energy_d7",
        ),
        (
            FilterSettings(kind="wavelet", wavelet="db3", subband="LLL", level=1),
            "wavelet_db3_lll_l1",
        ),
        (FilterSettings(kind="gaussian", sigma_mm=2.0, dimensionality="2d"), "gauss_s2mm_2d"),
        (
            FilterSettings(
                kind="simoncelli", level=1, padding="nearest", riesz_order_xyz=(0, 2, 0)
            ),
            "simoncelli_l1_riesz020_padnearest",
        ),
        (
            FilterSettings(
                kind="gabor",
                sigma_mm=20,
                wavelength_mm=8,
                gamma=2.5,
                theta_deg=0,
                theta_step_deg=22.5,
                rotation_invariant=True,
                pooling="average",
            ),
            "gabor_s20mm_w8mm_g2p5_t0deg_step22p5deg_riavg",
        ),
        (FilterSettings(kind="log", sigma_mm=1.0, truncation=3.0), "log_s1mm_t3"),
    ],
)
def test_tags(settings, tag):
    assert settings.tag == tag
    assert "." not in settings.tag


def test_ibsi2_tags_are_unique():
    tags = [s.tag for s in IBSI2_PHASE1_PRESETS.values()]
    assert len(set(tags)) == len(tags) == 33


def test_loader_builds_and_rejects_unknown_keys():
    s = settings_from_dict(
        {"kind": "log", "sigma_mm": 3, "riesz_order_xyz": [1, 0, 0], "padding": "constant"},
        cls=FilterSettings,
    )
    assert s == ibsi2_preset("9.a")
    with pytest.raises(SettingsError, match="did you mean 'sigma_mm'"):
        settings_from_dict({"kind": "log", "sigma": 3}, cls=FilterSettings)


def test_unknown_ibsi2_test_id():
    with pytest.raises(SettingsError, match=r"unknown IBSI 2 phase-1 test '2\.d'; did you mean"):
        ibsi2_preset("2.d")


MEAN = FilterSettings(kind="mean", support=3)


def test_apply_rejects_2d_array():
    with pytest.raises(InputError, match=r"3D array indexed \(z, y, x\), got 2D"):
        apply_filter(np.zeros((4, 4)), spacing=(1, 1, 1), settings=MEAN)


def test_apply_rejects_nan():
    img = np.zeros((3, 3, 3))
    img[1, 1, 1] = np.nan
    with pytest.raises(InvalidIntensityError, match="1 NaN or infinite"):
        apply_filter(img, spacing=(1, 1, 1), settings=MEAN)


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (1.0, 0.0, 1.0), (1.0, float("nan"), 1.0), None])
def test_apply_rejects_bad_spacing(spacing):
    with pytest.raises(InputError, match="spacing must be 3"):
        apply_filter(np.zeros((3, 3, 3)), spacing=spacing, settings=MEAN)  # type: ignore[arg-type]


def test_apply_rejects_non_settings():
    with pytest.raises(InputError, match="settings must be a FilterSettings"):
        apply_filter(np.zeros((3, 3, 3)), spacing=(1, 1, 1), settings={"kind": "mean"})  # type: ignore[arg-type]


def test_log_and_gabor_need_isotropic_voxels():
    img = np.zeros((5, 5, 5))
    with pytest.raises(InputError, match=r"LoG filter needs isotropic voxels .* \(zyx\)"):
        apply_filter(img, spacing=(3.0, 1.0, 1.0), settings=FilterSettings(kind="log", sigma_mm=1))
    with pytest.raises(InputError, match=r"Gabor filter needs isotropic voxels .* \(yx\)"):
        apply_filter(
            img,
            spacing=(3.0, 1.0, 2.0),
            settings=FilterSettings(
                kind="gabor", sigma_mm=1, wavelength_mm=2, gamma=1, dimensionality="2d"
            ),
        )
    # 2D filtering only needs in-plane isotropy
    out = apply_filter(
        img,
        spacing=(3.0, 1.0, 1.0),
        settings=FilterSettings(kind="log", sigma_mm=1, dimensionality="2d"),
    )
    assert out.shape == img.shape
