"""Damaged DICOM series of the third test round: refused with one line, never read silently.

Each test copies a few slices of the STS_001 PET (or CT, MR) series and damages them with
pydicom as a faulty export or an edit would: a slice with only one of RescaleSlope and
RescaleIntercept, a PET series without rescaling, a slice from another frame of
reference, an injection time of day after the series time, an injected dose in MBq. Per-
slice rescaling (PET scanners write a slope per slice) is shown to be applied slice by
slice, against values computed here with pydicom.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import BQML_PER_SUV, require_data
from radiomix.errors import DicomError, SuvConversionError
from radiomix.io import load_image

Edit = Callable[[pydicom.Dataset, int], None]


def _copy(tmp_path: Path, modality: str, edit: Edit | None = None, count: int = 3) -> Path:
    """The first ``count`` slices of the STS_001 ``modality`` series, each passed with its
    index to ``edit`` before it is written to ``tmp_path``."""
    src = require_data("sts", "dicom", "STS_001", modality, "image")
    dst = tmp_path / modality
    dst.mkdir()
    for i, f in enumerate(sorted(src.glob("*.dcm"))[:count]):
        ds = pydicom.dcmread(f)
        if edit is not None:
            edit(ds, i)
        ds.save_as(dst / f.name)
    return dst


def _victim(folder: Path, index: int = 1) -> str:
    return sorted(folder.glob("*.dcm"))[index].name


def _uids(folder: Path) -> list[str]:
    out = []
    for f in folder.glob("*.dcm"):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        out += [str(ds.SeriesInstanceUID), str(ds.StudyInstanceUID),
                str(ds.FrameOfReferenceUID)]
    return out


def _by_hand(folder: Path) -> np.ndarray:
    """Each slice's stored values times its own slope plus its own intercept, by position."""
    dss = sorted((pydicom.dcmread(f) for f in folder.glob("*.dcm")),
                 key=lambda d: float(d.ImagePositionPatient[2]))
    return np.stack([d.pixel_array * float(d.get("RescaleSlope", 1.0))
                     + float(d.get("RescaleIntercept", 0.0)) for d in dss])


# A1: rescale attributes missing -------------------------------------------------------------

@pytest.mark.parametrize("dropped", ["RescaleSlope", "RescaleIntercept"])
@pytest.mark.parametrize("modality", ["PET", "CT"])
def test_slice_with_one_rescale_attribute_is_refused(tmp_path, modality, dropped):
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 1:
            delattr(ds, dropped)

    folder = _copy(tmp_path, modality, edit)
    kept = ({"RescaleSlope", "RescaleIntercept"} - {dropped}).pop()
    with pytest.raises(DicomError, match=rf"{_victim(folder)} in .* has {kept} but no "
                                         rf"{dropped} \(DICOM requires both or neither\)"):
        load_image(folder)


def test_pet_series_without_rescaling_is_refused(tmp_path):
    def edit(ds: pydicom.Dataset, i: int) -> None:
        del ds.RescaleSlope, ds.RescaleIntercept

    folder = _copy(tmp_path, "PET", edit)
    with pytest.raises(DicomError, match=r"is a PET slice without RescaleSlope and "
                                         r"RescaleIntercept \(both required for PET\)"):
        load_image(folder)


def test_pet_slice_without_rescaling_among_rescaled_is_refused(tmp_path):
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 2:
            del ds.RescaleSlope, ds.RescaleIntercept

    folder = _copy(tmp_path, "PET", edit)
    with pytest.raises(DicomError, match=rf"differ in rescaling: .*{_victim(folder, 2)} has "
                                         "none"):
        load_image(folder)


def test_mr_without_rescaling_is_read_as_stored(tmp_path):
    folder = _copy(tmp_path, "MR_T1")
    assert "RescaleSlope" not in pydicom.dcmread(next(folder.glob("*.dcm")))
    got = sitk.GetArrayFromImage(load_image(folder))
    np.testing.assert_array_equal(got, _by_hand(folder))


# A2: a different slope or intercept on one slice is applied to that slice ------------------

def test_pet_rescale_is_applied_per_slice(tmp_path):
    """One slice encoded otherwise (stored values halved, slope doubled), its SUVs kept:
    read with its own slope (a slope edited alone, which scales the slice apart from its
    neighbours, is refused: tests/io/test_round17_inputs.py)."""
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 1:
            ds.PixelData = (ds.pixel_array.astype(np.int16) // 2).tobytes()
            ds.RescaleSlope = float(ds.RescaleSlope) * 2

    folder = _copy(tmp_path, "PET", edit)  # Units GML: values are SUV as rescaled
    slopes = {str(pydicom.dcmread(f).RescaleSlope) for f in folder.glob("*.dcm")}
    assert len(slopes) == 3  # every slice has its own slope
    got = sitk.GetArrayFromImage(load_image(folder))
    np.testing.assert_allclose(got, _by_hand(folder), rtol=1e-12, atol=1e-12)


def test_ct_rescale_is_applied_per_slice(tmp_path):
    """One slice encoded otherwise (stored HU + 1024, intercept -1024), its HU unchanged:
    read with its own rescaling (a slice rescaled apart whose HU jump is refused, see
    tests/test_round15_inputs.py)."""
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 1:
            hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(
                ds.RescaleIntercept)
            ds.PixelRepresentation = 1
            ds.PixelData = (hu + 1024).astype(np.int16).tobytes()
            ds.RescaleIntercept = -1024
            ds.RescaleSlope = 1

    folder = _copy(tmp_path, "CT", edit)
    got = sitk.GetArrayFromImage(load_image(folder))
    expected = _by_hand(folder)
    np.testing.assert_array_equal(got, expected)
    raw = pydicom.dcmread(sorted(folder.glob("*.dcm"))[1]).pixel_array
    assert not np.array_equal(raw, expected[1])  # stored apart from its HU
    assert any(np.array_equal(s, raw * 1.0 - 1024) for s in expected)


# A3: injection time of day after the series time ---------------------------------------------

def _bqml(half_life: float, injection: str, *, dated: str | None = None) -> Edit:
    def edit(ds: pydicom.Dataset, i: int) -> None:
        ds.Units = "BQML"
        ds.RescaleSlope = float(ds.RescaleSlope) * BQML_PER_SUV  # Bq/ml, not SUV
        ds.DecayCorrection = "START"
        ds.SeriesDate = "20000907"
        ds.SeriesTime = "112011.00"
        info = ds.RadiopharmaceuticalInformationSequence[0]
        info.RadionuclideHalfLife = half_life
        if half_life == 282276.0:  # Zr-89: its code too (a mismatch is refused on its own)
            info.RadionuclideCodeSequence[0].CodeMeaning = "^89^Zirconium"
        info.RadiopharmaceuticalStartTime = injection
        if dated is not None:
            info.RadiopharmaceuticalStartDateTime = dated

    return edit


@pytest.mark.parametrize("half_life", [282276.0, 6588.0])  # Zr-89, F-18
def test_injection_time_of_day_after_series_time_is_refused(tmp_path, half_life):
    folder = _copy(tmp_path, "PET", _bqml(half_life, "122000.00"))
    with pytest.raises(SuvConversionError) as err:
        load_image(folder)
    msg = str(err.value)
    assert "injection time of day (RadiopharmaceuticalStartTime) is 0.997 h after" in msg
    assert "(SeriesTime) and no dates tell the days apart" in msg
    assert "RadiopharmaceuticalStartDateTime" in msg
    assert "h before" not in msg


def test_dated_injection_the_day_before_is_used(tmp_path):
    # Zr-89 injected 23 h before the scan, said by a full date and time: accepted
    folder = _copy(tmp_path, "PET", _bqml(282276.0, "122011.00", dated="20000906122011"))
    got = sitk.GetArrayFromImage(load_image(folder))
    ds = pydicom.dcmread(next(folder.glob("*.dcm")))
    dose = float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
    factor = float(ds.PatientWeight) * 1000.0 / (dose * 2.0 ** (-23 * 3600.0 / 282276.0))
    np.testing.assert_allclose(got, _by_hand(folder) * factor, rtol=1e-12)


def test_time_of_day_injection_before_series_time_still_read(tmp_path):
    folder = _copy(tmp_path, "PET", _bqml(6588.0, "102011.00"))
    got = sitk.GetArrayFromImage(load_image(folder))
    ds = pydicom.dcmread(next(folder.glob("*.dcm")))
    dose = float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
    factor = float(ds.PatientWeight) * 1000.0 / (dose * math.exp(-math.log(2) * 3600 / 6588))
    np.testing.assert_allclose(got, _by_hand(folder) * factor, rtol=1e-12)


# A4: injected activity in the wrong unit --------------------------------------------------------

def _dose(value: float) -> Edit:
    def edit(ds: pydicom.Dataset, i: int) -> None:
        _bqml(6588.0, "103500.00")(ds, i)
        ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = value

    return edit


def test_dose_in_mbq_is_refused(tmp_path):
    folder = _copy(tmp_path, "PET", _dose(388.777))
    with pytest.raises(SuvConversionError,
                       match=r"RadionuclideTotalDose 388.777 Bq is not a plausible injected "
                             r"activity \(100000 to 1e\+11 Bq\); it looks like a value in MBq "
                             r"or mCi \(388.777 MBq = 3.888e\+08 Bq.*give the activity in Bq"):
        load_image(folder)


def test_dose_far_too_large_is_refused(tmp_path):
    folder = _copy(tmp_path, "PET", _dose(3.9e14))
    with pytest.raises(SuvConversionError, match=r"3.9e\+14 Bq is not a plausible injected "
                                                 r"activity \(100000 to 1e\+11 Bq\): give"):
        load_image(folder)


@pytest.mark.parametrize("dose", [3.7e6, 7.4e9])  # a mouse's 3.7 MBq, a 7.4 GBq dose
def test_plausible_doses_are_read(tmp_path, dose):
    folder = _copy(tmp_path, "PET", _dose(dose))
    got = sitk.GetArrayFromImage(load_image(folder))
    ds = pydicom.dcmread(next(folder.glob("*.dcm")))
    decay = 2.0 ** (-2711.0 / 6588.0)  # injection 10:35:00, series 11:20:11
    factor = float(ds.PatientWeight) * 1000.0 / (dose * decay)
    np.testing.assert_allclose(got, _by_hand(folder) * factor, rtol=1e-12)


# A8: a slice from another frame of reference -------------------------------------------------

def test_slice_of_another_frame_of_reference_is_refused(tmp_path):
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 1:
            ds.FrameOfReferenceUID = pydicom.uid.generate_uid()

    folder = _copy(tmp_path, "PET", edit)
    with pytest.raises(DicomError, match=rf"differ in FrameOfReferenceUID: {_victim(folder)} "
                                         "and .* different frames of reference") as err:
        load_image(folder)
    assert not any(uid in str(err.value) for uid in _uids(folder))


# Round 21 (outside tester b) --------------------------------------------------------------------

@pytest.mark.parametrize(("injection", "series", "elapsed"), [
    ("102011.50", "112011.00", 3599.5),  # fractional seconds of the injection
    ("102011", "112011.25", 3600.25),  # ... and of the series time
])
def test_fractional_seconds_of_pet_times_are_kept(tmp_path, injection, series, elapsed):
    # they were cut to the second: 1 799.5 s read as 1 800 s (SUV 5e-5 too high for F-18)
    def edit(ds: pydicom.Dataset, i: int) -> None:
        _bqml(6588.0, injection)(ds, i)
        ds.SeriesTime = ds.AcquisitionTime = series

    folder = _copy(tmp_path, "PET", edit)
    got = sitk.GetArrayFromImage(load_image(folder))
    ds = pydicom.dcmread(next(folder.glob("*.dcm")))
    dose = float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
    factor = float(ds.PatientWeight) * 1000.0 / (dose * math.exp(-math.log(2) * elapsed / 6588))
    np.testing.assert_allclose(got, _by_hand(folder) * factor, rtol=1e-12)


def test_a_dated_injection_with_fractional_seconds_is_exact(tmp_path):
    folder = _copy(tmp_path, "PET", _bqml(6588.0, "102011.50", dated="20000907102011.50"))
    got = sitk.GetArrayFromImage(load_image(folder))
    ds = pydicom.dcmread(next(folder.glob("*.dcm")))
    dose = float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
    factor = float(ds.PatientWeight) * 1000.0 / (dose * math.exp(-math.log(2) * 3599.5 / 6588))
    np.testing.assert_allclose(got, _by_hand(folder) * factor, rtol=1e-12)


def test_a_ct_slice_encoded_otherwise_beside_an_anatomy_jump_is_read(tmp_path):
    # the last slice of a crop stands 400 HU from its neighbour (anatomy) and is stored with
    # another intercept (stored HU + 2000, intercept -2000): its HU are right, and read with
    # the series' own rescale they would stand farther still; it was refused as edited
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 2:
            hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(
                ds.RescaleIntercept) + 400
            ds.PixelRepresentation = 1
            ds.PixelData = (hu + 2000).astype(np.int16).tobytes()
            ds.RescaleIntercept = -2000
            ds.RescaleSlope = 1

    folder = _copy(tmp_path, "CT", edit)
    got = sitk.GetArrayFromImage(load_image(folder))
    np.testing.assert_array_equal(got, _by_hand(folder))


def test_a_ct_slice_with_an_edited_intercept_is_still_refused_beside_an_anatomy_jump(tmp_path):
    # the same 400 HU step, but the header's intercept edited with the stored values kept:
    # read with the series' rescale the slice sits 400 HU off; with its own, 1 400
    def edit(ds: pydicom.Dataset, i: int) -> None:
        if i == 2:
            hu = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(
                ds.RescaleIntercept) + 400
            stored = (hu - int(ds.RescaleIntercept)) // int(ds.RescaleSlope)
            ds.PixelRepresentation = 1
            ds.PixelData = stored.astype(np.int16).tobytes()
            ds.RescaleIntercept = int(ds.RescaleIntercept) - 1000

    folder = _copy(tmp_path, "CT", edit)
    with pytest.raises(DicomError, match=r"is rescaled apart from the rest .* edited or damaged"):
        load_image(folder)


@pytest.mark.parametrize("length", [1.0001, 0.99995])
def test_orientation_vectors_a_rounding_off_unit_length_keep_the_slice_spacing(tmp_path, length):
    # a row and column direction of length 1.0001 scaled the slice spacing by 1.0002
    def edit(ds: pydicom.Dataset, i: int) -> None:
        ds.ImageOrientationPatient = [float(v) * length for v in ds.ImageOrientationPatient]

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = load_image(_copy(tmp_path / "a", "CT", count=4))
    scaled = load_image(_copy(tmp_path / "b", "CT", edit, count=4))
    np.testing.assert_allclose(scaled.GetSpacing(), plain.GetSpacing(), rtol=1e-12)
    np.testing.assert_allclose(scaled.GetDirection(), plain.GetDirection(), atol=1e-12)


@pytest.mark.parametrize("iop", [
    [1.01, 0.0, 0.0, 0.0, 1.0, 0.0],  # not unit length
    [1.0, 0.0, 0.0, 0.1, 1.0, 0.0],  # not at right angles
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # no column direction
])
def test_orientation_vectors_that_are_not_an_orthonormal_pair_are_refused(tmp_path, iop):
    def edit(ds: pydicom.Dataset, i: int) -> None:
        ds.ImageOrientationPatient = iop

    folder = _copy(tmp_path, "CT", edit)
    with pytest.raises(DicomError, match=r"ImageOrientationPatient .* not two unit vectors at "
                                         r"right angles"):
        load_image(folder)
