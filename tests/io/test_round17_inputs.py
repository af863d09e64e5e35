"""Seventeenth outside round, damaged inputs read with wrong numbers and exit 0.

- F1: one PET or MR slice with an edited RescaleSlope (x2 raised a PET's SUVmax by 46 %);
  PET slices carry a slope each, so only the values tell (a slice scaled apart from both
  neighbours), and real series must still be read.
- F2: a PET RadiopharmaceuticalStartDateTime whose time of day contradicts its
  RadiopharmaceuticalStartTime (one hour: SUV +46 %).
- F4: a NIfTI whose qform and sform disagree is read by the sform (SimpleITK's rule)
  without a word.
- F5: the image given as both arguments was told "the mask was given as the image".

Real DICOM series of the sarcoma data (copied and edited with pydicom) and real NIfTI
headers edited byte by byte; SimpleITK is the reference reader.
"""

from __future__ import annotations

import gzip
import logging
import struct

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import label_bqml, require_data, sts_files
from radiomix.case import load_case
from radiomix.errors import DicomError, GeometryMismatchError, InputError, SuvConversionError
from radiomix.io import load_image
from radiomix.io.dicom import read_series

# -- helpers ------------------------------------------------------------------------------


def _series(modality: str) -> list[pydicom.Dataset]:
    """The STS_001 series of ``modality`` (CT, PET, MR_T1), sorted along z."""
    folder = require_data("sts", "dicom", "STS_001", modality, "image")
    slices = [pydicom.dcmread(f) for f in sorted(folder.glob("*.dcm"))]
    return sorted(slices, key=lambda d: float(d.ImagePositionPatient[2]))


def _save(slices: list[pydicom.Dataset], folder) -> object:
    folder.mkdir()
    for k, ds in enumerate(slices):
        ds.save_as(folder / f"{k:03d}.dcm")
    return folder


def _values(folder) -> np.ndarray:
    return sitk.GetArrayFromImage(read_series(folder))


# -- F1: one slice scaled apart from its neighbours -----------------------------------------


@pytest.mark.parametrize("factor", [2.0, 1.3, 0.5])
def test_pet_slice_with_an_edited_slope_is_refused(tmp_path, factor):
    """The tester's PET: slice 31's RescaleSlope times 2 (or 1.3) gave SUVmax 11.5 for 7.9."""
    slices = _series("PET")[25:36]  # 11 slices around the tumour; slice 31 is the 6th
    slices[5].RescaleSlope = f"{float(slices[5].RescaleSlope) * factor:.10g}"
    folder = _save(slices, tmp_path / "pet")
    with pytest.raises(DicomError, match=r"slice 6 of 11 \(005\.dcm\) of the PET series .* is "
                                         r"scaled apart from its neighbours: with RescaleSlope "
                                         r".* its values are [0-9.]+ times those of slices 5 "
                                         r"and 7 .*export the series again"):
        read_series(folder)


def test_mr_slice_with_an_edited_slope_is_refused(tmp_path):
    """The tester's MR: every slice slope 1 and intercept 0, slice 30 slope 2."""
    slices = _series("MR_T1")[24:35]
    for ds in slices:
        ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    slices[5].RescaleSlope = 2
    folder = _save(slices, tmp_path / "mr")
    with pytest.raises(DicomError, match=r"slice 6 of 11 .* of the MR series .* scaled apart "
                                         r"from its neighbours: with RescaleSlope 2 and "
                                         r"RescaleIntercept 0 its values are 1\.9\d times"):
        read_series(folder)


@pytest.mark.parametrize(("modality", "edited", "factor"), [
    ("PET", (5, 6), 2.0), ("PET", (5, 6, 7), 2.0), ("MR_T1", (5, 6), 2.0),
    ("MR_T1", (5, 6, 7), 1.3)])
def test_adjacent_slices_with_edited_slopes_are_refused(tmp_path, modality, edited, factor):
    """Re-check of round 17: two or three adjacent slices edited alike passed (each had an
    edited neighbour, so no slice stood apart from both of its own): SUVmax 7.91 -> 11.88."""
    slices = _series(modality)[25:36] if modality == "PET" else _series(modality)[24:35]
    if modality == "MR_T1":
        for ds in slices:
            ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    for k in edited:
        slices[k].RescaleSlope = f"{float(slices[k].RescaleSlope) * factor:.10g}"
    folder = _save(slices, tmp_path / "s")
    first, last = edited[0] + 1, edited[-1] + 1
    with pytest.raises(DicomError, match=rf"slices {first} to {last} of 11 .* are scaled apart "
                                         rf"from their neighbours: their values are [0-9.]+ "
                                         rf"times those of slices {first - 1} and {last + 1}"):
        read_series(folder)


def test_slices_encoded_otherwise_with_equal_values_are_read(tmp_path):
    """Per-slice encodings that give the same values are no damage: MR slices stored x2
    with slope 0.5 beside slices of slope 1, and the PET's own slope per slice."""
    mr = _series("MR_T1")[24:35]
    reference = _values(_save(mr, tmp_path / "mr_plain"))
    for k, ds in enumerate(mr):
        if k % 2:
            ds.PixelData = (ds.pixel_array.astype(np.int16) * 2).tobytes()
            ds.RescaleSlope, ds.RescaleIntercept = 0.5, 0
        else:
            ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    np.testing.assert_array_equal(_values(_save(mr, tmp_path / "mr_alt")), reference)


@pytest.mark.parametrize("modality", ["CT", "PET", "MR_T1"])
def test_every_real_series_is_read(modality):
    """No real series is refused by the per-slice checks (the whole STS_001 series; the
    PET's 59 slices each have their own RescaleSlope)."""
    folder = require_data("sts", "dicom", "STS_001", modality, "image")
    assert read_series(folder).GetSize()[2] == 59


# -- F2: injection date-time against injection time -----------------------------------------


@pytest.fixture
def bqml_slices():
    """Three PET slices relabelled Units BQML (injection 10:00:00, series 11:00:00)."""
    slices = _series("PET")[28:31]
    for ds in slices:
        label_bqml(ds)
    return slices


def _with_start_datetime(slices, value):
    for ds in slices:
        ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime = value
    return slices


def test_contradicting_injection_times_are_refused(tmp_path, bqml_slices):
    """The tester's case: StartDateTime at 09:00 where StartTime says 10:00 (SUV +46 %
    before)."""
    folder = _save(_with_start_datetime(bqml_slices, "20000101090000.00"), tmp_path / "pet")
    with pytest.raises(SuvConversionError) as err:
        read_series(folder)
    message = str(err.value)
    assert message == (
        "cannot convert PET to SUV: RadiopharmaceuticalStartDateTime gives the injection at "
        "09:00:00 and RadiopharmaceuticalStartTime at 10:00:00 (1 h apart), and the decay "
        "correction of every SUV depends on which is right: correct the wrong attribute (or "
        "delete RadiopharmaceuticalStartDateTime if the start time is right)"
    )
    assert "2000" not in message  # no date


@pytest.mark.parametrize("value", [
    "20000101100000",  # the same time, with its date
    "20000101100000.9",  # within the tolerance (fractions of a second)
    "20000101100000.000000+0100",  # with a time-zone offset
    "20000101",  # a date alone: the time of day is the start time's
    "200001011000",  # hours and minutes: the seconds are the start time's
])
def test_agreeing_injection_times_give_the_suv_of_the_start_time(tmp_path, bqml_slices, value):
    plain = _values(_save(bqml_slices, tmp_path / "plain"))
    dated = _values(_save(_with_start_datetime(bqml_slices, value), tmp_path / "dated"))
    np.testing.assert_allclose(dated, plain, rtol=1e-12)


def test_a_coarse_date_time_outside_the_start_time_is_refused(tmp_path, bqml_slices):
    folder = _save(_with_start_datetime(bqml_slices, "200001010930"), tmp_path / "pet")
    with pytest.raises(SuvConversionError, match=r"gives the injection at 09:30 and "
                                                 r"RadiopharmaceuticalStartTime at 10:00:00"):
        read_series(folder)


# -- F4: qform and sform that disagree ------------------------------------------------------


def _edit_sform(src, dst, edit) -> object:
    """Copy a NIfTI-1 file with its srow rows (RAS, float32) changed by ``edit``."""
    data = bytearray(gzip.decompress(src.read_bytes()))
    rows = np.array(struct.unpack("<12f", data[280:328]), dtype=np.float64).reshape(3, 4)
    data[280:328] = struct.pack("<12f", *edit(rows).ravel())
    dst.write_bytes(gzip.compress(bytes(data), compresslevel=1))
    return dst


def _shift_x(mm):
    def edit(rows):
        rows[0, 3] += mm
        return rows
    return edit


def test_an_image_whose_sform_is_shifted_is_read_by_the_sform_with_a_warning(tmp_path, caplog):
    image, _ = sts_files("STS_002", "ct")
    shifted = _edit_sform(image, tmp_path / "ct_sform_shift10.nii.gz", _shift_x(10.0))
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        got = load_image(shifted)
    reference = sitk.ReadImage(str(shifted))  # SimpleITK's choice is kept
    assert got.GetOrigin() == reference.GetOrigin()
    assert got.GetOrigin()[0] == pytest.approx(sitk.ReadImage(str(image)).GetOrigin()[0] - 10,
                                               abs=1e-3)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert warned[0].startswith(
        "the image file ct_sform_shift10.nii.gz has a qform and an sform that disagree "
        "(voxels up to 10 mm apart); radiomix reads it as SimpleITK does, by the sform")
    assert str(tmp_path) not in warned[0]  # the base name only


def test_a_rotated_sform_names_the_direction(tmp_path, caplog):
    image, _ = sts_files("STS_002", "ct")

    def rotate(rows):
        rows[:, :3] = rows[:, [1, 0, 2]]  # x and y swapped: 90 degrees and a flip
        return rows

    turned = _edit_sform(image, tmp_path / "rot.nii.gz", rotate)
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        got = load_image(turned)
    assert got.GetDirection() == sitk.ReadImage(str(turned)).GetDirection()
    assert "direction cosines 1 apart" in caplog.text


def test_a_mask_whose_sform_is_shifted_says_so_in_the_grid_mismatch(tmp_path, caplog):
    image, mask = sts_files("STS_002", "ct")
    shifted = _edit_sform(mask, tmp_path / "mask_shift.nii.gz", _shift_x(10.0))
    with pytest.raises(GeometryMismatchError, match=(
            r"^the mask file mask_shift\.nii\.gz has a qform and an sform that disagree "
            r"\(voxels up to 10 mm apart; radiomix, as SimpleITK, uses the sform\); image and "
            r"mask grids differ: origin")):
        load_case(image, shifted)
    with caplog.at_level(logging.WARNING, logger="radiomix"):  # resampled: said, not refused
        checked = load_case(image, shifted, resample_mask=True)
    assert "the mask file mask_shift.nii.gz has a qform and an sform" in caplog.text
    assert any("qform and an sform" in text for _, text in checked.notes)


def test_agreeing_forms_and_tiny_differences_say_nothing(tmp_path, caplog):
    image, _ = sts_files("STS_002", "ct")
    nudged = _edit_sform(image, tmp_path / "nudged.nii.gz", _shift_x(0.01))  # 0.01 voxel
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        load_image(image)
        load_image(nudged)
    assert "qform" not in caplog.text


# -- F5: the same file given twice ----------------------------------------------------------


def test_the_image_given_as_both_arguments_is_told_the_right_way(tmp_path):
    image, _ = sts_files("STS_003", "ct")
    with pytest.raises(InputError) as err:
        load_case(image, image)
    assert str(err.value) == (
        "the image and the mask are the same file (image.nii.gz): one was given in place of "
        "the other; give the image and its mask as two different files")
    copy = tmp_path / "copy.nii.gz"
    copy.write_bytes(image.read_bytes())
    with pytest.raises(InputError, match=r"the image and the mask are copies of one file, byte "
                                         r"for byte \(image\.nii\.gz and copy\.nii\.gz\): one "
                                         r"was given in place of the other"):
        load_case(image, copy)
def test_an_image_whose_sform_is_shifted_says_so_in_the_grid_mismatch(tmp_path):
    image, mask = sts_files("STS_002", "ct")
    shifted = _edit_sform(image, tmp_path / "ct_shift.nii.gz", _shift_x(10.0))
    with pytest.raises(GeometryMismatchError, match=(
            r"^the image file ct_shift\.nii\.gz has a qform and an sform that disagree "
            r"\(voxels up to 10 mm apart; radiomix, as SimpleITK, uses the sform\); image and "
            r"mask grids differ: origin")):
        load_case(shifted, mask)
