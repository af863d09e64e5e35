"""DICOM SEG written with highdicom from the CT phantom mask loads back equal to it."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
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
    with pytest.raises(LabelNotFoundError, match="no segment labelled 'liver' in SEG"):
        load_mask(path, image, roi_name="liver")


def _two_boxes(mask):
    other = np.zeros_like(mask)
    other[20:25, 50:60, 50:60] = True
    return np.stack([mask, other], axis=-1).astype(np.uint8), other


def test_a_label_made_of_digits_is_a_label_not_a_number(tmp_path, phantom):
    # outside tester b (round 21): segment 1 labelled "2" and segment 2 labelled "1";
    # --roi-name 1 took segment NUMBER 1 (another lesion), exit 0
    image, mask = phantom
    stack, other = _two_boxes(mask)
    path = tmp_path / "seg.dcm"
    _write_seg(path, stack, ["2", "1"], hd.seg.SegmentationTypeValues.BINARY)
    _equal_on_image_grid(load_mask(path, image, roi_name="1"), image, other)
    _equal_on_image_grid(load_mask(path, image, roi_name="2"), image, mask)
    _equal_on_image_grid(load_mask(path, image, segment=1), image, mask)


def test_a_digit_name_that_is_no_label_names_the_label_option(tmp_path, phantom):
    image, mask = phantom
    stack, _ = _two_boxes(mask)
    path = tmp_path / "seg.dcm"
    _write_seg(path, stack, ["GTV", "node"], hd.seg.SegmentationTypeValues.BINARY)
    with pytest.raises(LabelNotFoundError, match=r"no segment labelled '2' in SEG seg.dcm "
                                                  r"\(1: 'GTV', 2: 'node'\); to choose segment "
                                                  r"number 2, pass --label 2"):
        load_mask(path, image, roi_name="2")


def test_two_segments_of_one_label_are_refused(tmp_path, phantom):
    # outside tester b (round 21): the first one was used without a word (an RTSTRUCT with
    # two ROIs of one name is refused)
    image, mask = phantom
    stack, _ = _two_boxes(mask)
    path = tmp_path / "seg.dcm"
    _write_seg(path, stack, ["GTV", "GTV"], hd.seg.SegmentationTypeValues.BINARY)
    with pytest.raises(LabelNotFoundError, match=r"holds 2 segments labelled 'GTV' \(numbers "
                                                  r"1, 2\).*choose one by number with --label"):
        load_mask(path, image, roi_name="GTV")
    _equal_on_image_grid(load_mask(path, image, segment=1), image, mask)


def test_a_label_in_decomposed_unicode_is_found_by_its_composed_spelling(tmp_path, phantom):
    import unicodedata

    image, mask = phantom
    stack, other = _two_boxes(mask)
    path = tmp_path / "seg.dcm"
    _write_seg(path, stack, ["GTV", "Tumor"], hd.seg.SegmentationTypeValues.BINARY)
    ds = pydicom.dcmread(path)
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8
    ds.SegmentSequence[1].SegmentLabel = unicodedata.normalize("NFD", "Tumör")
    ds.save_as(path)
    _equal_on_image_grid(load_mask(path, image, roi_name=unicodedata.normalize("NFC", "Tumör")),
                         image, other)


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
