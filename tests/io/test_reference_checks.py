"""RTSTRUCT and SEG drawn on another scan are refused (frame of reference, referenced series).

The damaged objects are the IBSI CT phantom's RTSTRUCT and a SEG written here with highdicom
from the phantom's mask, with one UID changed by hand (pydicom); the STS cohort gives a real
mix-up: the CT structure set applied to the MR series of the same patient, which shares its
frame of reference (so only the referenced-series check can catch it).
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import require_data
from _seg import sorted_sources, write_seg
from radiomix.errors import DicomError
from radiomix.io import load_image, load_mask
from radiomix.io.dicom import series_identity


@pytest.fixture(scope="module")
def phantom():
    folder = require_data("ibsi1", "ct_phantom")
    return load_image(folder / "dicom" / "image"), folder


def _rs(tmp_path, edit):
    src = require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm")
    ds = pydicom.dcmread(src)
    edit(ds)
    path = tmp_path / "rs.dcm"
    ds.save_as(path)
    return path


def _no_uid(message, image):
    for uid in series_identity(image):
        assert uid is not None
        assert uid not in message


def test_series_identity_from_dicom_only(phantom):
    image, folder = phantom
    ds = pydicom.dcmread(sorted((folder / "dicom" / "image").glob("*.dcm"))[0])
    assert series_identity(image) == (str(ds.FrameOfReferenceUID), str(ds.SeriesInstanceUID))
    assert series_identity(load_image(folder / "nifti" / "image.nii.gz")) == (None, None)


def test_rtstruct_in_another_frame_of_reference(tmp_path, phantom):
    image, _ = phantom
    other = pydicom.uid.generate_uid()

    def edit(ds):
        for item in ds.ReferencedFrameOfReferenceSequence:
            item.FrameOfReferenceUID = other
        for item in ds.StructureSetROISequence:
            item.ReferencedFrameOfReferenceUID = other

    with pytest.raises(DicomError, match="another frame of reference") as err:
        load_mask(_rs(tmp_path, edit), image, roi_name="GTV-1")
    _no_uid(str(err.value), image)
    assert other not in str(err.value)


def test_rtstruct_roi_level_frame_of_reference_is_used(tmp_path, phantom):
    image, _ = phantom

    def edit(ds):
        ds.StructureSetROISequence[0].ReferencedFrameOfReferenceUID = pydicom.uid.generate_uid()

    with pytest.raises(DicomError, match=r"ROI 'GTV-1' .* another frame of reference"):
        load_mask(_rs(tmp_path, edit), image, roi_name="GTV-1")


def test_rtstruct_drawn_on_another_series(tmp_path, phantom):
    image, _ = phantom

    def edit(ds):
        study = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0]
        study.RTReferencedSeriesSequence[0].SeriesInstanceUID = pydicom.uid.generate_uid()

    with pytest.raises(DicomError, match="drawn on another series") as err:
        load_mask(_rs(tmp_path, edit), image, roi_name="GTV-1")
    _no_uid(str(err.value), image)


def test_intact_rtstruct_and_nifti_image_still_load(tmp_path, phantom):
    image, folder = phantom
    rs = _rs(tmp_path, lambda ds: None)
    mask = load_mask(rs, image, roi_name="GTV-1")
    assert int(sitk.GetArrayFromImage(mask).sum()) > 100_000
    # a NIfTI image carries no UIDs: the geometry decides, as before
    nifti = load_image(folder / "nifti" / "image.nii.gz")
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(load_mask(rs, nifti, roi_name="GTV-1")),
        sitk.GetArrayFromImage(mask),
    )


def test_sts_ct_structure_set_on_the_mr_series(tmp_path):
    case = require_data("sts", "dicom", "STS_001")
    mr = load_image(case / "MR_T1" / "image")
    ct_rs = case / "CT" / "mask" / "RS.dcm"
    ds = pydicom.dcmread(ct_rs, stop_before_pixels=True)
    assert str(ds.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID) == series_identity(
        mr
    )[0]  # same frame of reference: only the series check can tell
    with pytest.raises(DicomError, match="drawn on another series"):
        load_mask(ct_rs, mr)


def _write_seg(path, mask):
    folder = require_data("ibsi1", "ct_phantom", "dicom", "image")
    write_seg(path, sorted_sources(folder), mask.astype(np.uint8), ["GTV-1"])


@pytest.fixture(scope="module")
def seg_file(tmp_path_factory, phantom):
    _, folder = phantom
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "nifti" / "mask.nii.gz"))) > 0
    path = tmp_path_factory.mktemp("seg") / "seg.dcm"
    _write_seg(path, mask)
    return path


def test_seg_checks(tmp_path, phantom, seg_file):
    image, _ = phantom
    assert int(sitk.GetArrayFromImage(load_mask(seg_file, image)).sum()) > 100_000
    ds = pydicom.dcmread(seg_file)
    ds.FrameOfReferenceUID = pydicom.uid.generate_uid()
    ds.save_as(tmp_path / "for.dcm")
    with pytest.raises(DicomError, match=r"SEG for\.dcm is defined in another frame") as err:
        load_mask(tmp_path / "for.dcm", image)
    _no_uid(str(err.value), image)
    ds = pydicom.dcmread(seg_file)
    ds.ReferencedSeriesSequence[0].SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(tmp_path / "series.dcm")
    with pytest.raises(DicomError, match="segments another series"):
        load_mask(tmp_path / "series.dcm", image)
