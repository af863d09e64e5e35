"""Nineteenth outside round, response maps off the default path (tester P).

- F1: a response map zero by construction (Laws E5L5S5 averaged over its 24 rotations, an
  imaginary Gabor response averaged over a full turn, a Simoncelli level beyond the grid)
  was computed as +-1e-14 rounding noise, which 32 grey levels spread into texture
  (ih.entropy 3.37; another storage order moved such features by 4-18 %).
- F3: a wavelet level of 20 ran for 54 s into an out-of-memory message naming other keys.
- F4, F5: messages naming keys the user never set.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import radiomix
from radiomix.errors import InputError, SettingsError
from radiomix.settings import ExtractionSettings
from radiomix.settings.loader import settings_from_dict


def _case():
    rng = np.random.default_rng(8)
    image = rng.normal(40.0, 60.0, size=(14, 16, 16)).round()
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[4:10, 5:11, 5:11] = 1
    return image, mask


def _extract(**settings):
    image, mask = _case()
    return radiomix.extract(image, mask, spacing=(1.0, 1.0, 1.0), **settings)


def test_the_rotations_of_laws_e5l5s5_cancel_exactly():
    """The independent fact behind F1: the 24 rotations of E5 x L5 x S5 sum to zero
    (E5 is odd, so each rotation meets its mirror)."""
    e5 = np.array([-1, -2, 0, 2, 1])
    l5 = np.array([1, 4, 6, 4, 1])
    s5 = np.array([-1, 0, 2, 0, -1])
    kernel = np.einsum("i,j,k->ijk", e5, l5, s5)
    total = np.zeros_like(kernel)
    for axes in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        k = np.transpose(kernel, axes)
        for flips in ((), (0, 1), (0, 2), (1, 2)):  # proper rotations: even flips
            total += np.flip(k, flips) if flips else k
    assert not total.any()


def test_a_response_zero_by_construction_is_not_computed():
    row = _extract(features__families=["stat"], response_maps={
        "families": ["stat", "ih", "glcm"],
        "filters": [{"kind": "laws", "laws_kernel": "E5L5S5", "rotation_invariant": True,
                     "pooling": "average"},
                    {"kind": "mean", "support": 3}]})
    nil = [c for c in row.columns if ".laws_e5l5s5_riavg." in c]
    assert nil
    assert all(math.isnan(float(row[c].iloc[0])) for c in nil)
    note = row.attrs["provenance"]["notes"]["response_maps.laws_e5l5s5_riavg"]
    assert "not computed: the response is zero within rounding in the ROI" in note
    other = [c for c in row.columns if ".original." not in c and ".laws" not in c
             and c.startswith("image.")]
    assert other
    assert all(np.isfinite(float(row[c].iloc[0])) for c in other)


def test_a_wavelet_level_beyond_the_image_is_refused():
    with pytest.raises(SettingsError, match=r"response_maps filter wavelet_db4_llh_l20 reaches "
                                            r".* more than the whole image"):
        _extract(response_maps={"filters": [{"kind": "wavelet", "wavelet": "db4",
                                             "subband": "LLH", "level": 20}]})


def test_empty_response_map_families_name_their_own_key():
    with pytest.raises(SettingsError, match=r"^response_maps.families is empty"):
        settings_from_dict({"response_maps": {"families": []}})
    assert isinstance(ExtractionSettings(), ExtractionSettings)


def test_a_response_maps_bin_width_too_fine_names_its_key():
    with pytest.raises(InputError, match=r"^response_maps.discretisation fbs would give .* "
                                         r"use response_maps.discretisation.bin_width"):
        _extract(response_maps={"filters": [{"kind": "log", "sigma_mm": 1.5}],
                                "discretisation": {"method": "fbs", "bin_width": 1e-6}})
