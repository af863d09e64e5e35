"""Thirteenth outside round, damaged images: a CT whose rescale intercept was applied twice,
integer no-data fills next to the ROI, PET already in SUV (or not corrected) labelled as
Bq/ml, a series whose every slice lacks its position, and messages naming staged files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from scipy import ndimage

from _data import dicom_copy, label_bqml, require_data, write_like
from radiomix.errors import DicomError, InputError, SuvConversionError
from radiomix.extraction import extract

FAST = {"features": {"families": ["stat"]}}


def _sts(tag: str = "ct") -> tuple[Path, Path]:
    folder = require_data("sts", "nifti", "STS_001", tag)
    return folder / "image.nii.gz", folder / "mask.nii.gz"






# -- CT with its rescale intercept applied twice ----------------------------------------


def test_a_ct_shifted_down_by_a_second_intercept_is_refused(tmp_path):
    """HU stored with RescaleIntercept -1024 kept: ROI mean -995 HU, air at -2024, exit 0."""
    image, mask = _sts()
    shifted = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.int16) - 1024
    path = write_like(shifted, image, tmp_path / "shifted.nii.gz")
    with pytest.raises(InputError, match=r"declared CT \(modality: CT\), has a median of -99\d "
                                         r"in the ROI and a spread peak of voxels between -2150 "
                                         r"and -1900 HU.*rescale intercept applied twice"):
        extract(path, mask, settings=FAST, modality="CT")
    # a DICOM series states its modality: the check runs without a declaration
    folder, rs = dicom_copy(tmp_path, "CT", lambda ds: setattr(ds, "RescaleIntercept", -1024))
    with pytest.raises(InputError, match=r"rescale intercept applied twice"):
        extract(folder, rs, roi_name="GTV_Mass_CT", settings=FAST)


def test_a_single_fill_value_below_air_is_not_taken_for_shifted_air(tmp_path):
    """Scanners fill outside their field of view with one exact value (-2048): not air."""
    image, mask = _sts()
    arr = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.int16)
    roi = sitk.GetArrayFromImage(sitk.ReadImage(str(mask))) > 0
    arr[:2] = -2048  # two slices of fill (5 % of the voxels), away from the ROI
    assert not roi[:2].any()
    path = write_like(arr, image, tmp_path / "filled.nii.gz")
    result = extract(path, mask, settings=FAST, modality="CT")
    assert result.features["image.original.stat.mean"] == pytest.approx(28.47, abs=0.01)


def test_a_ct_with_doubled_values_is_refused_when_declared_ct(tmp_path):
    """HU multiplied by 2 keep a soft-tissue ROI median (56 HU) but put air near -2000."""
    image, mask = _sts()
    doubled = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.int16) * 2
    path = write_like(doubled, image, tmp_path / "doubled.nii.gz")
    with pytest.raises(InputError, match=r"declared CT \(modality: CT\), has a spread peak of "
                                         r"voxels between -2150 and -1850 HU and fewer from "
                                         r"-1100 to -900 HU: air \(-1000 HU\) lies near -2000"):
        extract(path, mask, settings=FAST, modality="CT")
    extract(path, mask, settings=FAST)  # undeclared, nothing tells (as any reader)


@pytest.mark.parametrize("case", ["STS_002", "STS_018", "STS_020", "STS_029", "STS_049"])
def test_the_scaled_air_rule_on_real_and_doubled_cohort_cts(case):
    """Real CTs (0.1 to 40 % air, clipped at -1000 HU or not) are never flagged, nor with a
    fill of -2000 outside the field of view; doubled copies are whenever 1 % of their
    voxels lie in the band once its top value is left out (STS_002: 0.4 %)."""
    from radiomix.check import SCALED_AIR_HU, _scaled_air

    image, _ = _sts_case(case)
    hu = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.float64)
    assert not _scaled_air(hu)
    filled = hu.copy()
    filled[:3] = -2000.0
    assert not _scaled_air(filled)
    doubled = 2 * hu
    band = doubled[(doubled >= SCALED_AIR_HU[0]) & (doubled <= SCALED_AIR_HU[1])]
    spread = band.size - (np.unique(band, return_counts=True)[1].max() if band.size else 0)
    assert _scaled_air(doubled) == (spread >= 0.01 * hu.size)


def _sts_case(case: str) -> tuple[Path, Path]:
    folder = require_data("sts", "nifti", case, "ct")
    return folder / "image.nii.gz", folder / "mask.nii.gz"


# -- integer no-data fills ----------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "message"), [
    (np.int32, r"voxel\(s\) of -2147483648 \(the smallest int32 value, a no-data fill\) "
               r"within the region around the ROI"),
    (np.int16, r"voxel\(s\) of -32768 \(the smallest int16 value"),
    (np.int64, r"voxels of magnitude 1e\+15 or more"),  # refused anywhere, as in floats
])
def test_an_integer_no_data_fill_next_to_the_roi_is_refused(tmp_path, dtype, message):
    """INT32_MIN around the ROI was averaged in by interpolation: stat.mean -4.5e7, exit 0."""
    image, mask = _sts()
    arr = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(dtype)
    roi = sitk.GetArrayFromImage(sitk.ReadImage(str(mask))) > 0
    ring = ndimage.binary_dilation(roi) & ~roi
    arr[ring] = np.iinfo(dtype).min
    path = write_like(arr, image, tmp_path / "ring.nii.gz")
    settings = {**FAST, "interpolation": {"spacing": [2.0, 2.0, 2.0]}}
    with pytest.raises(InputError, match=message):
        extract(path, mask, settings=settings)


def test_an_integer_fill_far_from_the_roi_is_read(tmp_path):
    image, mask = _sts()
    arr = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.int32)
    arr[0] = np.iinfo(np.int32).min  # a slice the ROI's crop (slices 4 to 40) never reads
    path = write_like(arr, image, tmp_path / "corner.nii.gz")
    result = extract(path, mask, settings=FAST)
    assert result.features["image.original.stat.mean"] == pytest.approx(28.47, abs=0.01)


def test_no_data_magnitudes_in_64_bit_integers_are_refused(tmp_path):
    image, mask = _sts()
    arr = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.int64) * 10**13
    path = write_like(arr, image, tmp_path / "huge.nii.gz")
    with pytest.raises(InputError, match=r"voxels of magnitude 1e\+15 or more"):
        extract(path, mask, settings=FAST)


# -- PET whose units are not what they say ------------------------------------------------


def _bqml(ds: pydicom.Dataset) -> None:
    label_bqml(ds, slope_factor=1.0)  # the cohort's SUVs (Units GML) relabelled, not converted


def test_pet_already_in_suv_labelled_bqml_is_refused(tmp_path):
    """SUVs of 0.0005 were written with exit 0."""
    folder, rs = dicom_copy(tmp_path, "PET", _bqml)
    with pytest.raises(SuvConversionError, match=r"converts to SUVs no higher than 0\.00\d+ "
                                                 r"anywhere.*not in Bq/ml as its Units BQML "
                                                 r"says"):
        extract(folder, rs, roi_name="GTV_Mass_PET", settings=FAST)


@pytest.mark.parametrize(("corrected", "lacking"), [
    (["DECY", "NORM"], "ATTN"), (["ATTN", "SCAT"], "DECY")])
def test_pet_not_attenuation_or_decay_corrected_is_refused(tmp_path, corrected, lacking):
    """A non-attenuation-corrected reconstruction was converted to SUV without a word."""
    folder, rs = dicom_copy(tmp_path, "PET",
                             lambda ds: setattr(ds, "CorrectedImage", corrected))
    with pytest.raises(SuvConversionError, match=rf"PET CorrectedImage lacks {lacking} "):
        extract(folder, rs, roi_name="GTV_Mass_PET", settings=FAST)


# -- messages -------------------------------------------------------------------------------


def test_a_series_whose_every_slice_lacks_its_position_says_so(tmp_path):
    folder, rs = dicom_copy(tmp_path, "CT", lambda ds: delattr(ds, "ImagePositionPatient"))
    with pytest.raises(DicomError, match=r"DICOM image file\(s\) in .* all lack "
                                         r"ImagePositionPatient \(e\.g\. "):
        extract(folder, rs, roi_name="GTV_Mass_CT", settings=FAST)


def test_messages_about_in_memory_inputs_name_them_as_given():
    import radiomix

    a = np.random.default_rng(0).normal(size=(10, 10, 10))
    m = np.zeros((10, 10, 10), np.uint8)
    m[3:6, 3:6, 3:6] = 1
    with pytest.raises(InputError, match=r"label 2 not found in the mask \(a numpy array\)"):
        radiomix.extract(a, m, spacing=(1, 1, 1), label=2, features__families=["stat"])
    two = m.copy()
    two[7, 7, 7] = 2
    with pytest.raises(InputError, match=r"several labels \[1, 2\]; choose one with --label "
                                         r"\(label= in Python; the label column of a "
                                         r"manifest\)"):
        radiomix.extract(a, two, spacing=(1, 1, 1), features__families=["stat"])


@pytest.mark.parametrize(("damage", "message"), [
    (lambda hu: hu - 1024, "rescale intercept applied twice"),
    (lambda hu: hu * 2, "so its values are scaled"),
])
def test_the_command_line_refuses_shifted_or_scaled_ct_in_one_line(tmp_path, damage, message):
    image, mask = _sts()
    hu = sitk.GetArrayFromImage(sitk.ReadImage(str(image))).astype(np.int16)
    path = write_like(damage(hu), image, tmp_path / "damaged.nii.gz")
    proc = subprocess.run([sys.executable, "-c", "from radiomix.cli import main; main()",
                           "extract", str(path), str(mask), "--modality", "CT", "-o",
                           str(tmp_path / "t.csv")], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "t.csv").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
