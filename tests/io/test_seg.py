"""DICOM SEG written with highdicom from the CT phantom mask loads back equal to it."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from _seg import sorted_sources, write_seg
from radiomix.errors import LabelNotFoundError
from radiomix.io import load_image, load_mask


def _write_seg(path, masks: np.ndarray, labels, seg_type):
    folder = require_data("ibsi1", "ct_phantom", "dicom", "image")
    write_seg(path, sorted_sources(folder), masks, labels, seg_type, max_fractional_value=255)


@pytest.fixture(scope="module")
def phantom():
    folder = require_data("ibsi1", "ct_phantom")
    image = load_image(folder / "dicom" / "image")
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "nifti" / "mask.nii.gz"))) > 0
    return image, mask


def _equal_on_image_grid(seg_img, image, expected):
    # Compare on the image grid: geometry must match the image exactly
    np.testing.assert_allclose(seg_img.GetOrigin(), image.GetOrigin(), atol=1e-3)
    np.testing.assert_allclose(seg_img.GetSpacing(), image.GetSpacing(), rtol=1e-5)
    np.testing.assert_allclose(seg_img.GetDirection(), image.GetDirection(), atol=1e-6)
    assert np.array_equal(sitk.GetArrayFromImage(seg_img) > 0, expected)


def test_binary_seg_round_trip(tmp_path, phantom):
    image, mask = phantom
    path = tmp_path / "seg.dcm"
    _write_seg(path, mask.astype(np.uint8), ["GTV-1"], hd.seg.SegmentationTypeValues.BINARY)
    _equal_on_image_grid(load_mask(path, image), image, mask)


def test_multi_segment_choice_by_label_and_number(tmp_path, phantom):
    image, mask = phantom
    other = np.zeros_like(mask)
    other[20:25, 50:60, 50:60] = True
    stack = np.stack([mask, other], axis=-1).astype(np.uint8)
    path = tmp_path / "seg2.dcm"
    _write_seg(path, stack, ["GTV-1", "box"], hd.seg.SegmentationTypeValues.BINARY)
    _equal_on_image_grid(load_mask(path, image, roi_name="box"), image, other)
    _equal_on_image_grid(load_mask(path, image, segment=1), image, mask)
    with pytest.raises(LabelNotFoundError, match="holds 2 segments"):
        load_mask(path, image)
    with pytest.raises(LabelNotFoundError, match="segment 'liver' not in SEG"):
        load_mask(path, image, roi_name="liver")


def test_fractional_seg_thresholded_at_half(tmp_path, phantom):
    image, mask = phantom
    frac = np.where(mask, 0.8, 0.0).astype(np.float32)
    region = np.zeros_like(mask)
    region[0:3, 0:10, 0:10] = True
    frac[region] = 0.3  # below threshold: must not join the ROI
    path = tmp_path / "frac.dcm"
    _write_seg(path, frac, ["GTV-1"], hd.seg.SegmentationTypeValues.FRACTIONAL)
    expected = frac >= 0.5
    _equal_on_image_grid(load_mask(path, image), image, expected)
