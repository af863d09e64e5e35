"""Twenty-third outside round (IBSI 2 filters): each test failed before its fix.

- A 2D filter's reach was compared with the image's largest extent, the slice axis it
  never filters: on a 72 x 74 x 29 CT of 3.27 mm slices a 2D LoG reaching 92 mm in-plane
  (72 mm wide) passed, and the refusal point depended on the number of slices.
- A LoG sigma far below one voxel ran without a word: at 0.01 mm the kernel is one voxel
  and the "response" is the image times -3e7.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

import radiomix
from radiomix.errors import InputError, SettingsError
from radiomix.settings.loader import settings_from_dict


def _ct(shape=(29, 74, 72), spacing=(3.27, 0.977, 0.977)):
    rng = np.random.default_rng(0)
    image = rng.normal(20.0, 30.0, shape)
    mask = np.zeros(shape, dtype=np.uint8)
    mask[12:17, 30:44, 30:44] = 1
    return image, mask, spacing


def _log(sigma_mm, dimensionality="2d"):
    return {"filters": [{"kind": "log", "sigma_mm": sigma_mm,
                         "dimensionality": dimensionality}]}


def test_a_2d_filter_reaching_beyond_the_slice_is_refused_in_plane():
    image, mask, spacing = _ct()
    # sigma 20 mm: radius floor(4 * 20.47 + 0.5) = 82 voxels = 80.1 mm > 70.3 mm in-plane,
    # below the 94.8 mm z extent the old rule compared with
    with pytest.raises(SettingsError, match=r"reaches 80.1\d* mm around each voxel along "
                       r"[yx], more than the whole image along [yx] \(7[0-2]\.\d+ mm\)"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_log(20.0))


def test_a_2d_filter_within_the_slice_runs():
    image, mask, spacing = _ct()
    row = radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                           response_maps=_log(5.0))
    assert np.isfinite(float(row["image.log_s5mm_2d.stat.mean"].iloc[0]))


def test_a_one_voxel_log_kernel_is_refused():
    image, mask, spacing = _ct()
    with pytest.raises(InputError, match=r"sigma_mm 0.01 is 0.0102 voxels of 0.977 mm and the "
                       r"truncation 4 sigma, so the LoG kernel is a single voxel"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_log(0.01))


def test_a_sub_voxel_log_sigma_is_warned(caplog):
    image, mask, spacing = _ct()
    with caplog.at_level(logging.WARNING):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_log(0.5))
    assert any("the sampled LoG kernel sums to" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_log(1.5))
    assert not any("sampled LoG kernel" in r.getMessage() for r in caplog.records)


# -- re-check (tester 23i): the same class in other filters ---------------------------------


def _one(**filt):
    return {"filters": [filt]}


def test_a_gabor_the_grid_cannot_sample_is_refused():
    image, mask, spacing = _ct()
    with pytest.raises(InputError, match=r"so the Gabor kernel is a single voxel"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_one(kind="gabor", sigma_mm=0.1, wavelength_mm=4.0,
                                            gamma=1.0, dimensionality="2d"))
    with pytest.raises(InputError, match=r"below the sampling limit of 2 voxels"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_one(kind="gabor", sigma_mm=3.0, wavelength_mm=1.5,
                                            gamma=1.0, dimensionality="2d"))


@pytest.mark.parametrize(("filt", "said"), [
    ({"kind": "mean", "support": 1}, r"support 1 averages each voxel with itself"),
    ({"kind": "gabor", "sigma_mm": 3.0, "wavelength_mm": 6.0, "gamma": 1.0,
      "rotation_invariant": True, "theta_step_deg": 360, "pooling": "average",
      "dimensionality": "2d"}, r"theta_step_deg 360 gives one orientation"),
    ({"kind": "laws", "laws_kernel": "L5L5L5", "rotation_invariant": True, "pooling": "max"},
     r"every rotation of this kernel .* is the kernel itself"),
])
def test_filters_that_pool_or_average_nothing_are_refused(filt, said):
    with pytest.raises(SettingsError, match=said):
        settings_from_dict({"response_maps": {"filters": [filt]}})


def test_an_antisymmetric_laws_kernel_still_pools():
    s = settings_from_dict({"response_maps": {"filters": [
        {"kind": "laws", "laws_kernel": "E5E5E5", "rotation_invariant": True,
         "pooling": "max"}]}})
    assert s.response_maps.filters[0].rotation_invariant


def test_the_symmetric_laws_kernels_are_their_own_reverse():
    from radiomix.process.filters.laws import LAWS_1D
    from radiomix.settings.filters import LAWS_KERNELS, SYMMETRIC_LAWS

    for name in LAWS_KERNELS:
        k = LAWS_1D[name]
        assert (name in SYMMETRIC_LAWS) == bool(np.allclose(k, k[::-1]))


def test_a_short_log_truncation_is_warned_and_kept_in_the_notes(caplog):
    import logging

    image, mask, spacing = _ct()
    filt = {"kind": "log", "sigma_mm": 3 * 0.977, "truncation": 0.3, "dimensionality": "2d"}
    with caplog.at_level(logging.WARNING):
        row = radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                               response_maps=_one(**filt))
    assert any("truncation 0.3 sigma: the sampled LoG kernel sums to" in r.getMessage()
               for r in caplog.records)
    notes = row.attrs["provenance"]["notes"]
    assert any("the sampled LoG kernel sums to" in v for k, v in notes.items()
               if k.startswith("response_maps."))


def test_aggregations_leaving_out_a_response_map_family_name_its_key():
    with pytest.raises(SettingsError, match=r"leave out the families glszm, .* or leave those "
                       r"families out of response_maps.families"):
        settings_from_dict({"features": {"aggregations": ["3d_merged"], "families": ["glcm"]},
                            "response_maps": {"families": ["glszm"],
                                              "filters": [{"kind": "mean", "support": 3}]}})
