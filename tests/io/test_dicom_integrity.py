"""Damaged or inconsistent DICOM series are refused slice by slice, without identifiers.

Each test copies the IBSI CT phantom series (or three STS PET slices), damages one file by
hand with pydicom or byte slicing, and checks the typed error and its message: the file
named, the attribute and both values, the fix, and no UID.
"""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import label_bqml, require_data
from radiomix.errors import DicomError, SuvConversionError
from radiomix.io import load_image


@pytest.fixture
def ct_series(tmp_path):
    src = require_data("ibsi1", "ct_phantom", "dicom", "image")
    dst = tmp_path / "series"
    shutil.copytree(src, dst)
    return dst


def _edit(path, **attrs):
    ds = pydicom.dcmread(path)
    for key, value in attrs.items():
        if value is None:
            delattr(ds, key)
        else:
            setattr(ds, key, value)
    ds.save_as(path)


def _uids(folder):
    ds = pydicom.dcmread(sorted(folder.glob("*.dcm"))[0], stop_before_pixels=True)
    return [str(ds.SeriesInstanceUID), str(ds.StudyInstanceUID), str(ds.FrameOfReferenceUID)]


def test_truncated_pixel_data_names_the_file(ct_series):
    victim = sorted(ct_series.glob("*.dcm"))[7]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 5000])
    with pytest.raises(DicomError, match=rf"{victim.name}.*(truncated|not a readable)"):
        load_image(ct_series)


def test_pixel_spacing_differs_in_one_slice(ct_series):
    victim = sorted(ct_series.glob("*.dcm"))[12]
    first = pydicom.dcmread(victim, stop_before_pixels=True).PixelSpacing
    _edit(victim, PixelSpacing=[float(first[0]) * 1.2, float(first[1]) * 1.2])
    with pytest.raises(DicomError, match=rf"differ in PixelSpacing: {victim.name} has") as err:
        load_image(ct_series)
    assert not any(uid in str(err.value) for uid in _uids(ct_series))


def test_orientation_differs_in_one_slice(ct_series):
    victim = sorted(ct_series.glob("*.dcm"))[3]
    _edit(victim, ImageOrientationPatient=[0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    with pytest.raises(DicomError, match=rf"differ in ImageOrientationPatient: {victim.name}"):
        load_image(ct_series)


def test_rescale_missing_in_one_slice(ct_series):
    victim = sorted(ct_series.glob("*.dcm"))[20]
    _edit(victim, RescaleSlope=None, RescaleIntercept=None)
    with pytest.raises(DicomError, match=rf"differ in rescaling: .*{victim.name} has none"):
        load_image(ct_series)


def test_missing_pixel_spacing(ct_series):
    victim = sorted(ct_series.glob("*.dcm"))[0]
    _edit(victim, PixelSpacing=None)
    with pytest.raises(DicomError, match=rf"{victim.name} in .* has no PixelSpacing"):
        load_image(ct_series)


def test_two_series_message_has_no_uid_and_says_how_to_fix(ct_series):
    victim = sorted(ct_series.glob("*.dcm"))[5]
    shutil.copy(victim, ct_series / "other.dcm")
    _edit(ct_series / "other.dcm", SeriesInstanceUID=pydicom.uid.generate_uid(), SeriesNumber=7)
    with pytest.raises(DicomError, match="holds 2 image series") as err:
        load_image(ct_series)
    msg = str(err.value)
    assert "series number 7: CT, 1 slices" in msg
    assert "folder of its own" in msg
    assert not any(uid in msg for uid in _uids(ct_series))
    assert "1.2." not in msg
    assert "\n" not in msg


@pytest.fixture
def pet(tmp_path):
    src = require_data("sts", "dicom", "STS_001", "PET", "image")
    dst = tmp_path / "pet"
    dst.mkdir()
    for f in sorted(src.glob("*.dcm"))[:3]:
        ds = pydicom.dcmread(f)
        label_bqml(ds)  # Bq/ml, not SUV
        ds.save_as(dst / f.name)
    return dst


def _pet_edit(folder, fn):
    for f in folder.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        fn(ds)
        ds.save_as(f)


def test_pet_empty_radiopharmaceutical_sequence(pet):
    _pet_edit(pet, lambda ds: setattr(ds, "RadiopharmaceuticalInformationSequence", []))
    with pytest.raises(SuvConversionError, match="RadiopharmaceuticalInformationSequence is"):
        load_image(pet)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("RadionuclideTotalDose", 0.0), ("RadionuclideHalfLife", 0.0), ("RadionuclideTotalDose", -5)],
)
def test_pet_zero_or_negative_dose_and_half_life(pet, keyword, value):
    _pet_edit(pet, lambda ds: setattr(ds.RadiopharmaceuticalInformationSequence[0], keyword, value))
    with pytest.raises(SuvConversionError, match=rf"{keyword} is .*a positive number is needed"):
        load_image(pet)


def test_pet_zero_weight_and_bad_time(pet):
    _pet_edit(pet, lambda ds: setattr(ds, "PatientWeight", 0))
    with pytest.raises(SuvConversionError, match="PatientWeight is"):
        load_image(pet)
    _pet_edit(pet, lambda ds: setattr(ds, "PatientWeight", 80.0))
    def bad_time(ds):
        ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = "996199"

    _pet_edit(pet, bad_time)
    with pytest.raises(SuvConversionError, match=r"injection time .* not a valid"):
        load_image(pet)


# --- damage that used to give wrong numbers without a word -----------------------------


def test_ct_without_rescale_attributes_is_refused(ct_series):
    for f in ct_series.glob("*.dcm"):
        _edit(f, RescaleSlope=None, RescaleIntercept=None)
    with pytest.raises(DicomError, match="CT slice without RescaleSlope and RescaleIntercept"):
        load_image(ct_series)


@pytest.mark.parametrize("slope", ["0", "NaN"])
def test_a_zero_or_nan_rescale_slope_is_refused(ct_series, slope):
    for f in ct_series.glob("*.dcm"):
        _edit(f, RescaleSlope=slope)
    with pytest.raises(DicomError, match="a finite non-zero slope"):
        load_image(ct_series)


@pytest.mark.parametrize(("attrs", "what"), [
    ({"RescaleSlope": "1000"}, "outside what a CT can hold"),
    ({"RescaleIntercept": "-1000000"}, "outside what a CT can hold"),
    ({"PixelRepresentation": 0}, "differ in PixelRepresentation"),
])
def test_one_slice_with_damaged_rescaling_is_refused(ct_series, attrs, what):
    victim = sorted(ct_series.glob("*.dcm"))[30]
    first = pydicom.dcmread(sorted(ct_series.glob("*.dcm"))[0], stop_before_pixels=True)
    if "PixelRepresentation" in attrs and first.PixelRepresentation == 0:
        attrs = {"PixelRepresentation": 1}
    _edit(victim, **attrs)
    with pytest.raises(DicomError, match=rf"{victim.name}.*{what}|{what}.*{victim.name}"):
        load_image(ct_series)


@pytest.mark.parametrize("shift", [(20.0, 0.0), (0.0, 0.5)])
def test_a_slice_shifted_within_its_plane_is_refused(ct_series, shift):
    victim = sorted(ct_series.glob("*.dcm"))[9]
    ds = pydicom.dcmread(victim, stop_before_pixels=True)
    row = [float(v) for v in ds.ImageOrientationPatient[:3]]
    col = [float(v) for v in ds.ImageOrientationPatient[3:]]
    ipp = [float(v) + shift[0] * r + shift[1] * c
           for v, r, c in zip(ds.ImagePositionPatient, row, col, strict=True)]
    _edit(victim, ImagePositionPatient=ipp)
    with pytest.raises(DicomError, match=rf"{victim.name} in .* is offset by .* not stacked"):
        load_image(ct_series)


@pytest.mark.parametrize("damage", ["truncated", "no_position"])
def test_a_damaged_end_slice_is_not_dropped(ct_series, damage):
    files = sorted(ct_series.glob("*.dcm"))
    positions = {f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2])
                 for f in files}
    victim = max(files, key=positions.get)  # the last slice along z: no gap betrays it
    if damage == "truncated":
        victim.write_bytes(victim.read_bytes()[:700])
    else:
        _edit(victim, ImagePositionPatient=None)
    with pytest.raises(DicomError, match=rf"{victim.name} in .* is an image of this series"):
        load_image(ct_series)


def test_non_image_objects_in_the_folder_are_still_ignored(ct_series, tmp_path):
    image = load_image(ct_series)
    rt = require_data("sts", "dicom", "STS_001", "CT", "mask")
    for f in rt.glob("*.dcm"):
        shutil.copy(f, ct_series / f"zz_{f.name}")
    assert load_image(ct_series).GetSize() == image.GetSize()


@pytest.mark.parametrize(("keyword", "value"), [
    ("PatientWeight", 8.0),
    ("RadionuclideTotalDose", 3.7e9),
])
def test_pet_slices_with_different_suv_inputs_are_refused(pet, keyword, value):
    victim = sorted(pet.glob("*.dcm"))[1]
    ds = pydicom.dcmread(victim)
    target = ds if keyword == "PatientWeight" else ds.RadiopharmaceuticalInformationSequence[0]
    setattr(target, keyword, value)
    ds.save_as(victim)
    with pytest.raises(SuvConversionError, match=rf"PET slices differ in {keyword}") as err:
        load_image(pet)
    assert "8.0" not in str(err.value)  # no patient attribute in a message


@pytest.mark.parametrize(("keyword", "spellings"), [
    ("PatientWeight", ("71", "71.0")),
    ("RadionuclideHalfLife", ("6.588E3", "6588")),
    ("RadiopharmaceuticalStartTime", ("083000", "083000.000")),
])
def test_pet_slices_that_spell_one_value_differently_agree(pet, keyword, spellings):
    """71 and 71.0 (DS), or 083000 and 083000.000 (TM), on two slices of one series were
    refused as "damaged or mixed": the text was compared, not the value (tester 22g)."""
    files = sorted(pet.glob("*.dcm"))
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        target = ds if keyword == "PatientWeight" else ds.RadiopharmaceuticalInformationSequence[0]
        setattr(target, keyword, spellings[k % 2])
        ds.save_as(f)
    plain = sitk.GetArrayFromImage(load_image(pet))
    for f in files:  # the same value in one spelling on every slice
        ds = pydicom.dcmread(f)
        target = ds if keyword == "PatientWeight" else ds.RadiopharmaceuticalInformationSequence[0]
        setattr(target, keyword, spellings[0])
        ds.save_as(f)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(load_image(pet)), plain)


def test_pet_implausible_body_weight_is_refused(pet):
    _pet_edit(pet, lambda ds: setattr(ds, "PatientWeight", 7100.0))
    with pytest.raises(SuvConversionError, match="not a plausible body weight"):
        load_image(pet)


def _inject(ds, **attrs):
    info = ds.RadiopharmaceuticalInformationSequence[0]
    for key, value in attrs.items():
        if value is None:
            delattr(info, key)
        else:
            setattr(info, key, value)


@pytest.mark.parametrize(("attrs", "match"), [
    ({"RadiopharmaceuticalStartDateTime": "20000101120000",  # both at noon: they agree
      "RadiopharmaceuticalStartTime": "120000"}, "injection .* is after the"),
    ({"RadiopharmaceuticalStartTime": "120000"},
     r"h after the decay-correction reference \(SeriesTime\) and no dates tell the days apart"),
    ({"RadionuclideHalfLife": 109.77},
     r"RadionuclideHalfLife 109\.77 s does not match the coded radionuclide F-18 \(6586\.2 "
     r"s\) \(it looks like minutes"),
    ({"RadionuclideHalfLife": 109.77, "RadionuclideCodeSequence": None,  # nothing names
      "Radiopharmaceutical": None, "RadiopharmaceuticalCodeSequence": None},  # the nuclide
     r"more than 10 half-lives \(RadionuclideHalfLife 109\.77 s"),
    ({"RadiopharmaceuticalStartDateTime": "19991230100000"}, "49 h before"),
])
def test_pet_injection_times_that_cannot_be_true_are_refused(pet, attrs, match):
    _pet_edit(pet, lambda ds: _inject(ds, **attrs))
    with pytest.raises(SuvConversionError, match=match):
        load_image(pet)


def test_pet_missing_series_time_is_named(pet):
    _pet_edit(pet, lambda ds: delattr(ds, "SeriesTime"))
    with pytest.raises(SuvConversionError, match="attribute SeriesTime is missing"):
        load_image(pet)


def test_pet_without_series_date_compares_times_of_day(pet):
    import SimpleITK as sitk

    reference = sitk.GetArrayFromImage(load_image(pet))
    _pet_edit(pet, lambda ds: _inject(ds, RadiopharmaceuticalStartDateTime="20000101100000"))
    _pet_edit(pet, lambda ds: delattr(ds, "SeriesDate"))
    assert np.allclose(sitk.GetArrayFromImage(load_image(pet)), reference, rtol=1e-12, atol=0)
