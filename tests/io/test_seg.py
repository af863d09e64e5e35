"""DICOM SEG written with highdicom from the CT phantom mask loads back equal to it."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from highdicom.sr.coding import CodedConcept
from pydicom.sr.codedict import codes

from _data import require_data
from radiomix.errors import LabelNotFoundError
from radiomix.io import load_image, load_mask


def _description(number: int, label: str) -> hd.seg.SegmentDescription:
    return hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=label,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=CodedConcept("108369006", "SCT", "Neoplasm"),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )


def _write_seg(path, masks: np.ndarray, labels, seg_type):
    folder = require_data("ibsi1", "ct_phantom", "dicom", "image")
    sources = [pydicom.dcmread(f) for f in sorted(folder.glob("*.dcm"))]
    sources.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=masks,
        segmentation_type=seg_type,
        segment_descriptions=[_description(i + 1, lab) for i, lab in enumerate(labels)],
        series_instance_uid=hd.UID(),
        series_number=100,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="radiomix-tests",
        manufacturer_model_name="test",
        software_versions="0",
        device_serial_number="0",
        max_fractional_value=255,
    )
    seg.save_as(path)


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
