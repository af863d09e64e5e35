"""A Gabor wavelength below the sampling limit, computed only when asked (``allow_aliasing``).

The IBSI 2 phase-3 PET configuration asks for a Gabor filter of wavelength 3 mm on 3 mm
voxels: one voxel, below the sampling limit of 2 voxels, which radiomix refuses (round 23).
The shipped preset ``ibsi2-phase3-PET`` therefore failed on every PET case. The filter now
runs when its settings say ``allow_aliasing: true`` (the preset does): the kernel sampled as
the study defined it, the columns tagged ``_aliased`` and the provenance note saying what
the grid made of the wavelength; without the flag the refusal stands.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from scipy.signal import convolve2d
from tests._data import require_data

import radiomix
from radiomix.errors import InputError, SettingsError
from radiomix.process.filters import apply_filter
from radiomix.settings import load_preset
from radiomix.settings.filters import FilterSettings
from radiomix.settings.loader import settings_hash


def _gabor(**extra) -> FilterSettings:
    return FilterSettings(kind="gabor", sigma_mm=3.0, wavelength_mm=3.0, gamma=1.0,
                          theta_deg=-112.5, dimensionality="2d", **extra)


def _sampled_gabor(sigma: float, wavelength: float, gamma: float, theta_deg: float,
                   truncation: float = 4.0) -> np.ndarray:
    """The IBSI 2 Gabor kernel written from its definition (voxel units; rows y, columns
    x), independently of the package's own kernel."""
    t = math.radians(theta_deg)
    radius = math.floor(truncation * max(sigma, sigma / gamma) + 0.5)
    kernel = np.empty((2 * radius + 1, 2 * radius + 1), dtype=complex)
    for row in range(2 * radius + 1):
        for col in range(2 * radius + 1):
            x, y = col - radius, row - radius
            xr = x * math.cos(t) + y * math.sin(t)
            yr = -x * math.sin(t) + y * math.cos(t)
            envelope = math.exp(-(xr * xr + gamma * gamma * yr * yr) / (2.0 * sigma * sigma))
            kernel[row, col] = envelope * complex(math.cos(2 * math.pi * xr / wavelength),
                                                  math.sin(2 * math.pi * xr / wavelength))
    return kernel


def test_without_the_flag_the_wavelength_below_the_limit_is_refused():
    image = np.random.default_rng(0).normal(size=(3, 20, 20))
    with pytest.raises(InputError, match=r"below the sampling limit of 2 voxels.*allow_aliasing"):
        apply_filter(image, spacing=(3.0, 3.0, 3.0), settings=_gabor())


def test_with_the_flag_the_kernel_is_sampled_as_defined():
    """The response equals a direct 2D convolution of each mirrored slice with the kernel of
    the definition (scipy's ``convolve2d``), modulus taken."""
    rng = np.random.default_rng(1)
    image = rng.normal(5.0, 2.0, size=(3, 23, 26))
    got = apply_filter(image, spacing=(3.0, 3.0, 3.0), settings=_gabor(allow_aliasing=True))
    kernel = _sampled_gabor(1.0, 1.0, 1.0, -112.5)
    r = kernel.shape[0] // 2
    want = np.empty_like(image)
    for z in range(image.shape[0]):
        padded = np.pad(image[z], r, mode="symmetric")  # IBSI 2 mirror: edge voxel repeated
        want[z] = np.abs(convolve2d(padded, kernel, mode="valid"))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * np.abs(want).max())


def test_the_flag_changes_nothing_above_the_limit():
    image = np.random.default_rng(2).normal(size=(2, 30, 30))
    plain = FilterSettings(kind="gabor", sigma_mm=4.0, wavelength_mm=6.0, gamma=0.5,
                           theta_deg=30.0, dimensionality="2d")
    flagged = FilterSettings(kind="gabor", sigma_mm=4.0, wavelength_mm=6.0, gamma=0.5,
                             theta_deg=30.0, dimensionality="2d", allow_aliasing=True)
    spacing = (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(apply_filter(image, spacing=spacing, settings=plain),
                                  apply_filter(image, spacing=spacing, settings=flagged))


def test_tag_hash_and_validation():
    assert _gabor(allow_aliasing=True).tag == "gabor_s3mm_w3mm_g1_tm112p5deg_2d_aliased"
    assert _gabor().tag == "gabor_s3mm_w3mm_g1_tm112p5deg_2d"
    assert _gabor(allow_aliasing=False).allow_aliasing is None  # the default written out
    assert _gabor(allow_aliasing=False) == _gabor()
    assert settings_hash(_gabor(allow_aliasing=False)) == settings_hash(_gabor())
    assert settings_hash(_gabor(allow_aliasing=True)) != settings_hash(_gabor())
    with pytest.raises(SettingsError, match=r"allow_aliasing must be true or false"):
        _gabor(allow_aliasing="yes")
    with pytest.raises(SettingsError, match=r"allow_aliasing does not apply to the log filter"):
        FilterSettings(kind="log", sigma_mm=2.0, allow_aliasing=True)


def test_the_note_and_warning_say_what_the_grid_made_of_it(caplog):
    rng = np.random.default_rng(3)
    image = rng.normal(20.0, 5.0, size=(12, 30, 30))
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[4:8, 10:20, 10:20] = 1
    filt = {"kind": "gabor", "sigma_mm": 3.0, "wavelength_mm": 3.0, "gamma": 1.0,
            "dimensionality": "2d", "allow_aliasing": True}
    with caplog.at_level(logging.WARNING):
        row = radiomix.extract(image, mask, spacing=(3.0, 3.0, 3.0),
                               features__families=["stat"], response_maps={"filters": [filt]})
    column = "image.gabor_s3mm_w3mm_g1_t0deg_2d_aliased.stat.mean"
    assert np.isfinite(float(row[column].iloc[0]))
    said = [r.getMessage() for r in caplog.records]
    assert any("is 1 voxel of 3 mm, below the sampling limit" in m for m in said), said


def test_the_phase3_pet_preset_runs_on_a_pet_case():
    """Before: every PET case failed with the sampling-limit error."""
    folder = require_data("sts", "nifti", "STS_002", "pet")
    settings = load_preset("ibsi2-phase3-PET")
    result = radiomix.extraction.extract(folder / "image.nii.gz", folder / "mask.nii.gz",
                                         settings=settings)
    gabor = {k: v for k, v in result.features.items() if ".gabor_" in k}
    assert gabor
    assert all(k.split(".")[1].endswith("_aliased") for k in gabor)
    assert all(np.isfinite(v) for v in gabor.values())
    note = result.provenance["notes"][f"response_maps.{next(iter(gabor)).split('.')[1]}"]
    assert "below the sampling limit of 2 voxels, computed as asked (allow_aliasing)" in note
    # the image itself and the preset's eight response maps, every one computed
    tags = {k.split(".")[1] for k in result.features if k.count(".") >= 3}
    assert "original" in tags
    assert len(tags - {"original"}) == 8, tags
