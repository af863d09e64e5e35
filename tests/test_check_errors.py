"""Each bad image/mask combination raises its typed error with a message that helps."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.check import check_case
from radiomix.errors import (
    AmbiguousLabelError,
    EmptyRoiError,
    GeometryMismatchError,
    InputError,
    InvalidIntensityError,
    LabelNotFoundError,
    RoiTooSmallError,
)


def _img(arr, spacing=(1.0, 1.0, 2.0), origin=(0.0, 0.0, 0.0)):
    im = sitk.GetImageFromArray(np.asarray(arr))
    im.SetSpacing(spacing)
    im.SetOrigin(origin)
    return im


@pytest.fixture
def image():
    return _img(np.arange(6 * 7 * 8, dtype=float).reshape(6, 7, 8))


def _mask(values=None, **kw):
    m = np.zeros((6, 7, 8), dtype=np.uint8)
    m[2:4, 2:5, 3:6] = 1 if values is None else values
    return _img(m, **kw)


def test_every_geometry_difference_in_one_message(image):
    mask = _mask(spacing=(1.0, 1.2, 2.0), origin=(0.5, 0.0, -3.0))
    mask.SetDirection((0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0))
    with pytest.raises(GeometryMismatchError) as info:
        check_case(image, mask, case_id="P001")
    msg = str(info.value)
    assert msg.startswith("[P001] ")
    assert "spacing (mm): image (1, 1, 2), mask (1, 1.2, 2)" in msg
    assert "origin (mm): image (0, 0, 0), mask (0.5, 0, -3)" in msg
    assert "direction: image" in msg
    assert "--resample-mask" in msg


def test_size_mismatch(image):
    mask = _img(np.zeros((6, 7, 9), dtype=np.uint8))
    with pytest.raises(
        GeometryMismatchError, match=r"size \(x, y, z\): image \(8, 7, 6\), mask \(9, 7, 6\)"
    ):
        check_case(image, mask)


def test_resample_mask_only_on_request(image):
    mask = _mask(origin=(1e-2, 0.0, 0.0))  # a hundredth of a voxel: beyond tolerance
    with pytest.raises(GeometryMismatchError):
        check_case(image, mask)
    case = check_case(image, mask, resample_mask=True)
    assert case.mask.origin == image.GetOrigin()
    assert case.n_voxels == 18


def test_small_difference_within_tolerance_is_accepted(image):
    case = check_case(image, _mask(origin=(1e-5, 0.0, 0.0)))
    assert case.n_voxels == 18


def test_label_selection(image):
    m = np.zeros((6, 7, 8), dtype=np.uint8)
    m[1, 1, 1:4] = 2
    m[4, 4, 4:6] = 5
    mask = _img(m)
    assert check_case(image, mask, label=5).n_voxels == 2
    with pytest.raises(
        AmbiguousLabelError, match=r"several labels \[2, 5\]; choose one with --label"
    ):
        check_case(image, mask)
    with pytest.raises(
        LabelNotFoundError, match=r"label 3 not found in the mask; labels present: \[2, 5\]"
    ):
        check_case(image, mask, label=3)


def test_0_255_mask_needs_explicit_label(image):
    mask = _mask(values=255)
    with pytest.raises(AmbiguousLabelError, match="coded 0/255; pass --label 255"):
        check_case(image, mask)
    assert check_case(image, mask, label=255).n_voxels == 18


@pytest.mark.parametrize("value", [2, -1])
def test_a_mask_with_one_label_other_than_1_names_it(image, value):
    m = np.zeros((6, 7, 8), dtype=np.int16)
    m[2:4, 2:5, 3:6] = value
    mask = _img(m)
    with pytest.raises(AmbiguousLabelError,
                       match=rf"only label {value} \(no voxel of label 1\); pass --label {value}"):
        check_case(image, mask)
    assert check_case(image, mask, label=value).n_voxels == 18


def test_empty_roi(image):
    with pytest.raises(EmptyRoiError, match="the ROI is empty"):
        check_case(image, _img(np.zeros((6, 7, 8), dtype=np.uint8)))


def test_roi_below_minimum(image):
    with pytest.raises(RoiTooSmallError, match="18 voxels, fewer than the minimum 20"):
        check_case(image, _mask(), min_voxels=20)


def test_nan_and_inf_in_image():
    arr = np.ones((6, 7, 8))
    arr[0, 0, 0] = np.nan
    arr[3, 3, 4] = np.inf
    with pytest.raises(InvalidIntensityError, match=r"2 NaN/infinite values \(1 inside the ROI\)"):
        check_case(_img(arr), _mask())


def test_fractional_mask_refused(image):
    m = np.zeros((6, 7, 8), dtype=np.float32)
    m[2:4, 2:4, 2:4] = 0.7
    with pytest.raises(InputError, match="non-integer values"):
        check_case(image, _img(m))


def test_resampling_a_mask_whose_roi_leaves_the_image_is_refused(image):
    from radiomix.errors import GeometryMismatchError

    m = np.zeros((6, 7, 8), dtype=np.uint8)
    m[3:6, 2:5, 3:6] = 1  # mask slices 3..5
    mask = _img(m, origin=(0.0, 0.0, 4.0))  # 2 slices up: image slices 5..7 of 0..5
    with pytest.raises(GeometryMismatchError, match=r"18 of the mask's 27 ROI voxels lie "
                                                    r"outside the image"):
        check_case(image, mask, resample_mask=True)
    inside = _img(m, origin=(0.0, 0.0, 0.5))  # off the grid but within it: resampled
    assert check_case(image, inside, resample_mask=True).n_voxels > 0
