"""Round 21 (outside tester g): small, thin and odd ROIs.

A re-segmentation range that drops most of a lesion left intensity and texture features
describing 3 of its 252 voxels, with no word: now noted and warned. A one-voxel-thick ROI
that vanishes after interpolation named no fix.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

import radiomix
from _data import require_data
from radiomix.errors import EmptyRoiError


def _lesion(inside):
    rng = np.random.default_rng(3)
    image = rng.integers(-100, 100, (12, 14, 16)).astype(np.int16)
    mask = np.zeros(image.shape, np.uint8)
    mask[3:9, 4:10, 5:12] = 1
    image[mask > 0] = inside(rng, int(mask.sum()))
    return image, mask


def test_a_range_that_drops_most_of_the_roi_is_noted_and_warned(caplog):
    def inside(rng, n):  # 600-649 HU, three voxels within the ibsi-C range [-1000, 400]
        values = 600 + rng.integers(0, 50, n)
        values[:3] = (30, -60, 110)
        return values

    image, mask = _lesion(inside)
    with caplog.at_level(logging.WARNING, logger="radiomix.extraction"):
        table = radiomix.extract(image, mask, settings="ibsi-C", spacing=(2, 2, 2), tag="t",
                                 modality="CT")
    row = table.iloc[0]
    assert row["t.original.stat.mean"] == pytest.approx((30 - 60 + 110) / 3)
    note = table.attrs["provenance"]["notes"]["intensity"]
    assert note.startswith("re-segmentation kept 3 of the ROI's 252 voxels (1.2 %)")
    assert note in caplog.text


def test_a_range_that_keeps_most_of_the_roi_says_nothing():
    image, mask = _lesion(lambda rng, n: rng.integers(20, 80, n))
    table = radiomix.extract(image, mask, settings="ibsi-C", spacing=(2, 2, 2), tag="t",
                             modality="CT")
    assert "intensity" not in table.attrs["provenance"].get("notes", {})


def test_the_ibsi_ct_phantom_keeps_its_roi():
    folder = require_data("ibsi1", "ct_phantom", "nifti")
    table = radiomix.extract(folder / "image.nii.gz", folder / "mask.nii.gz",
                             settings="ibsi-C")
    assert "intensity" not in table.attrs["provenance"].get("notes", {})


def test_a_thin_roi_that_vanishes_after_interpolation_names_the_fix():
    image = np.random.default_rng(1).integers(-900, 400, (14, 10, 10)).astype(np.int16)
    mask = np.zeros(image.shape, np.uint8)
    mask[1:13, 5, 5] = 1  # a one-voxel line of 12 mm³, on 1 mm voxels
    with pytest.raises(EmptyRoiError, match=r"the ROI \(12 voxels, 12 x 1 x 1 mm along z, y, "
                                            r"x\) vanished after interpolation to 2 x 2 x 2 mm"
                                            r".*choose a finer interpolation.spacing, or a "
                                            r"lower mask_interpolation.partial_volume_threshold"):
        radiomix.extract(image, mask, settings="ibsi-C", spacing=(1, 1, 1), modality="CT")
