"""Sixth outside round, damaged inputs: what passed every check and changed the numbers."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from _data import require_data
from radiomix.errors import InputError
from radiomix.extraction import extract


def _relabelled(tmp_path, datatype: int, *, swap: bool = False):
    """STS_002's int16 CT with its header's datatype replaced (same width) or its voxel
    bytes swapped: the data length is unchanged, so no length check can tell."""
    folder = require_data("sts", "nifti", "STS_002", "ct")
    data = bytearray(gzip.decompress((folder / "image.nii.gz").read_bytes()))
    assert struct.unpack_from("<h", data, 70)[0] == 4  # int16
    struct.pack_into("<h", data, 70, datatype)
    if swap:
        offset = int(struct.unpack_from("<f", data, 108)[0])
        voxels = np.frombuffer(bytes(data[offset:]), dtype="<i2").byteswap()
        data[offset:] = voxels.tobytes()
    path = tmp_path / "image.nii"
    path.write_bytes(bytes(data))
    return path, folder / "mask.nii.gz"


@pytest.mark.parametrize(("datatype", "swap", "message"), [
    (512, False, r"holds values from 0 to 65535, beyond what a CT holds"),
    (4, True, r"has a median of -?\d+ in the ROI, outside the Hounsfield scale"),
])
def test_a_ct_whose_voxel_type_is_misread_is_refused(tmp_path, datatype, swap, message):
    """int16 relabelled uint16 (mean 6087 instead of 59) and byte-swapped int16 (mean
    10 995) passed every check with exit 0; declared CT, their values tell."""
    image, mask = _relabelled(tmp_path, datatype, swap=swap)
    if swap:  # undeclared, the swapped bytes of 128 HU read -32768, int16's no-data fill
        with pytest.raises(InputError, match=r"voxel\(s\) of -32768 \(the smallest int16"):
            extract(image, mask, settings="ibsi-C")
    else:
        extract(image, mask, settings="ibsi-C")  # undeclared: nothing tells (as any reader)
    with pytest.raises(InputError, match=rf"image, declared CT \(modality: CT\), {message}"):
        extract(image, mask, settings="ibsi-C", modality="CT")


def test_a_real_ct_passes_the_ct_check():
    folder = require_data("sts", "nifti", "STS_002", "ct")
    a = extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings="ibsi-C",
                modality="CT")
    b = extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings="ibsi-C")
    assert a.features == b.features


def test_a_sheared_nifti_sform_gets_the_orthonormal_grid_message(tmp_path):
    """ITK refuses a sheared sform in its own words, which radiomix passed on with the hint
    "check that it is a complete .nii ... file" (the file is complete); MetaImage got
    radiomix's own message for the same damage. Now one message for every format."""
    from radiomix.io import load_image

    folder = require_data("sts", "nifti", "STS_002", "ct")
    data = bytearray(gzip.decompress((folder / "image.nii.gz").read_bytes()))
    struct.pack_into("<hh", data, 252, 0, 1)  # qform_code 0, sform_code 1
    columns = np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]])  # x-y shear
    for row, offset in enumerate((280, 296, 312)):
        struct.pack_into("<4f", data, offset, *columns[row], 0.0)
    norms = np.linalg.norm(columns, axis=0)
    struct.pack_into("<3f", data, 80, *norms)  # pixdim equal to the column lengths
    path = tmp_path / "sheared.nii"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"sheared\.nii has direction cosines that are not "
                                         r"orthonormal \(a sheared or scaled grid\)") as e:
        load_image(path)
    assert "complete" not in str(e.value)


def test_a_dicom_library_error_is_cut_at_a_clause_not_mid_sentence():
    from radiomix.io.dicom import first_clause

    text = ("The number of bytes of pixel data is less than expected (62008 vs 82008 bytes) - "
            "the dataset may be corrupted, have an invalid group 0028 element value, or the "
            "transfer syntax may be incorrect")
    assert first_clause(text) == ("The number of bytes of pixel data is less than expected "
                                  "(62008 vs 82008 bytes)")
    long = "word " * 60
    assert first_clause(long).endswith("word …")
    assert len(first_clause(long)) <= 163


@pytest.mark.parametrize("magic", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0"])
def test_a_workbook_given_as_a_table_is_named_as_one(tmp_path, magic):
    """An Excel file as the cases table or the manifest got a UTF-8 codec error."""
    from radiomix.errors import InputError as Refused
    from radiomix.io.manifest import read_manifest
    from radiomix.io.text_table import check_delimiter

    path = tmp_path / "cases.xlsx"
    path.write_bytes(magic + bytes(range(256)) * 4)
    for read in (lambda: check_delimiter(path, ","), lambda: read_manifest(path, tags=["ct"])):
        with pytest.raises(Refused, match=r"cases\.xlsx is .*workbook.*, not a text table: save "
                                          r"it as comma-separated values"):
            read()


def test_extract_many_reports_a_case_listed_twice(tmp_path, caplog):
    """Two identical rows without case_id became cases '0' and '1' with one set of values
    twice, without a word."""
    import logging

    from radiomix.api import read_cases

    (tmp_path / "cases.csv").write_text("image,mask\na.nii.gz,m.nii.gz\nb.nii.gz,m2.nii.gz\n"
                                        "a.nii.gz,m.nii.gz\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="radiomix.api"):
        cases = read_cases(tmp_path / "cases.csv")
    assert len(cases) == 3
    assert ("cases.csv: line 2 and line 4 name the same image, mask, label and ROI (cases '0' "
            "and '2')") in caplog.text


def test_a_contour_lost_inside_an_roi_is_noted_in_the_case_provenance(tmp_path):
    """A slice without contour inside the ROI (a contour lost in an export: -4.4 % volume)
    was a console warning only; nothing in the outputs marked the case."""
    import pydicom

    image = require_data("ibsi1", "ct_phantom", "dicom", "image")
    rs = pydicom.dcmread(require_data("ibsi1", "ct_phantom", "dicom", "mask",
                                      "DCM_RS_00060.dcm"))
    seq = rs.ROIContourSequence[0].ContourSequence
    z = sorted({float(c.ContourData[2]) for c in seq})
    middle = z[len(z) // 2]
    kept = [c for c in seq if float(c.ContourData[2]) != middle]
    assert len(kept) < len(seq)
    rs.ROIContourSequence[0].ContourSequence = pydicom.Sequence(kept)
    path = tmp_path / "lost.dcm"
    rs.save_as(path)
    notes = extract(image, path, roi_name="GTV-1", settings="ibsi-C").provenance["notes"]
    assert notes["mask"].startswith("RTSTRUCT ROI 'GTV-1' has 1 slice(s) without contour "
                                    "between its first and last contoured slices")
    intact = extract(image, require_data("ibsi1", "ct_phantom", "dicom", "mask",
                                         "DCM_RS_00060.dcm"), roi_name="GTV-1",
                     settings="ibsi-C").provenance["notes"]
    assert "mask" not in intact


def _phantom_arrays():
    rng = np.random.default_rng(0)
    img = rng.normal(40, 10, (12, 12, 12))
    msk = np.zeros(img.shape, np.uint8)
    msk[3:8, 3:8, 3:8] = 1
    return img, msk


@pytest.mark.parametrize("value", ["no", "false", 0])
def test_a_yes_no_option_given_as_anything_but_a_bool_is_refused(value):
    """``resample_mask="no"`` is a true string: the mask was resampled (8000 -> 9600 mm³)."""
    import radiomix
    from radiomix.errors import UsageError

    img, msk = _phantom_arrays()
    with pytest.raises(UsageError, match=r"resample_mask must be True or False"):
        radiomix.extract(img, msk, spacing=(4, 4, 4), resample_mask=value)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda r, i, m: r.extract(i, m, 5, spacing=(4, 4, 4)), "SettingsError",
     r"settings must be a preset name .*got int 5"),
    (lambda r, i, m: r.load_settings(["ibsi-C"]), "SettingsError", r"got list"),
    (lambda r, i, m: r.extract_many([{"image": "a", "mask": "b"}]), "UsageError",
     r"pass pandas\.DataFrame\(cases\)"),
    (lambda r, i, m: r.extract(i, m, spacing=(4, 4, 4), features__families="stat"),
     "SettingsError", r"features\.families must be a list of family names"),
    (lambda r, i, m: r.extract(i, m, spacing=(4, 4, 4), features__families=[]),
     "SettingsError", r"features\.families is empty"),
])
def test_wrong_python_types_get_radiomix_errors(call, error, message):
    """Bare TypeErrors, a string read letter by letter, an empty family list returning a row
    without features."""
    import radiomix
    import radiomix.errors

    img, msk = _phantom_arrays()
    with pytest.raises(getattr(radiomix.errors, error), match=message):
        call(radiomix, img, msk)


def test_a_key_given_twice_in_a_settings_or_study_file_is_refused(tmp_path):
    """YAML keeps the last of two equal keys silently."""
    from radiomix.errors import SettingsError
    from radiomix.settings import load_settings_file
    from radiomix.settings.study import load_study

    (tmp_path / "s.yaml").write_text("discretisation:\n  method: fbs\n  bin_width: 25\n"
                                     "discretisation:\n  method: fbn\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"s\.yaml is not valid YAML at line 4, column 1: "
                                            r"the key 'discretisation' is given twice"):
        load_settings_file(tmp_path / "s.yaml")
    (tmp_path / "study.yaml").write_text("name: x\nmanifest: m.csv\nname: y\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"study\.yaml is not valid YAML: line 3, column 1: "
                                            r"the key 'name' is given twice"):
        load_study(tmp_path / "study.yaml")


def test_compute_features_given_a_processed_case_names_the_context():
    """The README said process_case returns the RoiContext; passing its result to
    compute_features failed with a bare AttributeError."""
    from radiomix.case import load_case
    from radiomix.errors import UsageError
    from radiomix.features.extract import compute_features
    from radiomix.process import process_case
    from radiomix.settings import load_preset

    folder = require_data("sts", "nifti", "STS_002", "ct")
    settings = load_preset("ibsi-C")
    processed = process_case(load_case(folder / "image.nii.gz", folder / "mask.nii.gz"), settings)
    with pytest.raises(UsageError, match=r"got ProcessedCase \(process_case returns a "
                                         r"ProcessedCase: pass its \.context\)"):
        compute_features(processed, settings)
    values = compute_features(processed.context, settings, tag="ct")
    whole = extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings=settings, tag="ct")
    assert values == {k: v for k, v in whole.features.items() if k in values}


def test_an_in_memory_image_is_named_as_one_and_a_vector_image_is_told_apart():
    """Eighth round: a sheared SimpleITK image was refused under the name of the temporary
    file the API writes (``/tmp/radiomix-xxxx/image.mha``), and a two-component image was
    told to "add a slice axis"."""
    import numpy as np
    import SimpleITK as sitk

    import radiomix
    from radiomix.errors import InputError

    img = sitk.GetImageFromArray(np.zeros((4, 5, 6), np.float32))
    msk = sitk.GetImageFromArray(np.ones((4, 5, 6), np.uint8))
    sheared = sitk.Image(img)
    sheared.SetDirection((1, 0.2, 0, 0, 1, 0, 0, 0, 1))
    with pytest.raises(InputError, match=r"^the image \(a SimpleITK image\) has direction "
                                         r"cosines that are not orthonormal"):
        radiomix.extract(sheared, msk)
    with pytest.raises(InputError, match=r"got 2 components per voxel \(a vector or colour "
                                         r"image\): give one component"):
        radiomix.extract(sitk.Compose(img, img), msk)
