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
    with pytest.raises(InputError, match=r"sigma_mm 0.01 is 0.0102 voxels of 0.977 mm, so the "
                       r"LoG kernel is a single voxel"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_log(0.01))


def test_a_sub_voxel_log_sigma_is_warned(caplog):
    image, mask, spacing = _ct()
    with caplog.at_level(logging.WARNING):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_log(0.5))
    assert any("sampled LoG kernel does not sum to about 0" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         response_maps=_log(1.5))
    assert not any("sampled LoG kernel" in r.getMessage() for r in caplog.records)
