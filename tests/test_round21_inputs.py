"""Round 21 (outside tester g): small, thin and odd ROIs.

A re-segmentation range that drops most of a lesion left intensity and texture features
describing 3 of its 252 voxels, with no word: now noted and warned. A one-voxel-thick ROI
that vanishes after interpolation named no fix.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

import radiomix
from _data import require_data
from radiomix.errors import EmptyRoiError, InputError


def _lesion(inside):
    rng = np.random.default_rng(3)
    image = rng.integers(-100, 100, (12, 14, 16)).astype(np.int16)
    mask = np.zeros(image.shape, np.uint8)
    mask[3:9, 4:10, 5:12] = 1
    image[mask > 0] = inside(rng, int(mask.sum()))
    return image, mask


def test_a_range_that_drops_most_of_the_roi_is_noted_and_warned(caplog):
    def inside(rng, n):  # 600-649 HU, three voxels within the ibsi-C range [-1000, 400]
        values = 600 + rng.integers(0, 50, n)
        values[:3] = (30, -60, 110)
        return values

    image, mask = _lesion(inside)
    with caplog.at_level(logging.WARNING, logger="radiomix.extraction"):
        table = radiomix.extract(image, mask, settings="ibsi-C", spacing=(2, 2, 2), tag="t",
                                 modality="CT")
    row = table.iloc[0]
    assert row["t.original.stat.mean"] == pytest.approx((30 - 60 + 110) / 3)
    note = table.attrs["provenance"]["notes"]["intensity"]
    assert note.startswith("re-segmentation kept 3 of the ROI's 252 voxels (1.2 %)")
    assert note in caplog.text


def test_a_range_that_keeps_most_of_the_roi_says_nothing():
    image, mask = _lesion(lambda rng, n: rng.integers(20, 80, n))
    table = radiomix.extract(image, mask, settings="ibsi-C", spacing=(2, 2, 2), tag="t",
                             modality="CT")
    assert "intensity" not in table.attrs["provenance"].get("notes", {})


def test_the_ibsi_ct_phantom_keeps_its_roi():
    folder = require_data("ibsi1", "ct_phantom", "nifti")
    table = radiomix.extract(folder / "image.nii.gz", folder / "mask.nii.gz",
                             settings="ibsi-C")
    assert "intensity" not in table.attrs["provenance"].get("notes", {})


def test_a_thin_roi_that_vanishes_after_interpolation_names_the_fix():
    image = np.random.default_rng(1).integers(-900, 400, (14, 10, 10)).astype(np.int16)
    mask = np.zeros(image.shape, np.uint8)
    mask[1:13, 5, 5] = 1  # a one-voxel line of 12 mm³, on 1 mm voxels
    with pytest.raises(EmptyRoiError, match=r"the ROI \(12 voxels, 12 x 1 x 1 mm along z, y, "
                                            r"x\) vanished after interpolation to 2 x 2 x 2 mm"
                                            r".*choose a finer interpolation.spacing, or a "
                                            r"lower mask_interpolation.partial_volume_threshold"):
        radiomix.extract(image, mask, settings="ibsi-C", spacing=(1, 1, 1), modality="CT")


# outside tester f (round 21): the Python API's in-memory inputs ---------------------------------

@pytest.fixture(scope="module")
def phantom():
    import SimpleITK as sitk

    folder = require_data("ibsi1", "ct_phantom", "nifti")
    return (sitk.ReadImage(str(folder / "image.nii.gz")),
            sitk.ReadImage(str(folder / "mask.nii.gz")), folder)


STAT = {"features__families": ["stat"]}


def test_a_label_map_mask_is_read_as_the_label_image_it_encodes(phantom):
    import SimpleITK as sitk

    image, mask, _ = phantom
    plain = radiomix.extract(image, mask, "ibsi-C", **STAT)
    mapped = radiomix.extract(image, sitk.LabelImageToLabelMap(mask), "ibsi-C", **STAT)
    cols = [c for c in plain.columns if ".stat." in c]
    np.testing.assert_array_equal(mapped[cols].to_numpy(float), plain[cols].to_numpy(float))


def test_an_organ_mask_in_memory_is_the_organ_mask_file(phantom, tmp_path):
    import SimpleITK as sitk

    image, mask, _ = phantom
    organ = sitk.BinaryDilate(mask > 0, [4, 4, 4])
    sitk.WriteImage(organ, str(tmp_path / "organ.nii.gz"))
    ring = {"preprocess": {"roi": "ring", "ring_outer_mm": 5, "ring_clip": "organ"}, **STAT}
    by_file = radiomix.extract(image, mask, "ibsi-C", organ_mask=tmp_path / "organ.nii.gz",
                               **ring)
    by_image = radiomix.extract(image, mask, "ibsi-C", organ_mask=organ, **ring)
    by_array = radiomix.extract(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(mask),
                                "ibsi-C", spacing=image.GetSpacing()[::-1],
                                origin=image.GetOrigin()[::-1],
                                organ_mask=sitk.GetArrayFromImage(organ), **ring)
    cols = [c for c in by_file.columns if ".stat." in c]
    for other in (by_image, by_array):
        np.testing.assert_allclose(other[cols].to_numpy(float), by_file[cols].to_numpy(float),
                                   rtol=1e-12)


def test_a_complex_image_is_refused_without_a_temporary_path(phantom):
    import SimpleITK as sitk

    image, mask, _ = phantom
    real = sitk.Cast(image, sitk.sitkFloat32)
    with pytest.raises(InputError, match=r"complex-valued SimpleITK image.*ComplexToModulus") \
            as err:
        radiomix.extract(sitk.RealAndImaginaryToComplex(real, real), mask, "ibsi-C", **STAT)
    assert "radiomix-" not in str(err.value)


def test_load_case_refuses_a_label_given_as_text(phantom):
    # "label 1 not found ... labels present: [1]" for label="1"
    from radiomix.case import load_case
    from radiomix.errors import UsageError

    folder = phantom[2]
    with pytest.raises(UsageError, match=r"label must be an integer .* got str '1': pass "
                                         r"label=1"):
        load_case(folder / "image.nii.gz", folder / "mask.nii.gz", label="1")


def test_extract_writes_a_numeric_case_id_as_text_and_refuses_an_invisible_one(phantom):
    from radiomix.errors import UsageError

    image, mask, _ = phantom
    table = radiomix.extract(image, mask, "ibsi-C", case_id=5, **STAT)
    assert table.loc[0, "case_id"] == "5"
    with pytest.raises(UsageError, match=r"case id 'P\\u200b1' is blank, has surrounding "
                                         r"spaces or an invisible character"):
        radiomix.extract(image, mask, "ibsi-C", case_id="P\u200b1", **STAT)


@pytest.mark.parametrize(("doc", "message"), [
    ({"outcomes": [{"name": "y", "column": "c"}]},
     r"analysis.outcomes\[y\] lacks the required key 'kind'; valid keys here: name, kind"),
    ({"outcomes": [{"name": "y", "kind": "binary", "column": "c"}],
      "arms": [{"blocks": ["radiomic"]}]},
     r"analysis.arms\[0\] lacks the required key 'name'"),
])
def test_a_missing_required_key_of_the_analysis_is_named(doc, message):
    # it was "Outcome.__init__() missing 1 required keyword-only argument: 'kind'"
    from radiomix.analysis import analysis_from_dict
    from radiomix.errors import SettingsError

    with pytest.raises(SettingsError, match=message):
        analysis_from_dict(doc)


@pytest.mark.parametrize(("given", "written"), [(5, "5"), (np.int64(7), "7"), (3.0, "3"),
                                                ("P1", "P1")])
def test_a_case_id_is_written_as_text(given, written):
    from radiomix.case import check_case_id

    assert check_case_id(given) == written


@pytest.mark.parametrize("given", [b"P1", True, ("a",), float("nan"), 1.5, "", "P\u200b1"])
def test_a_case_id_of_another_type_is_refused(given):
    # outside tester h (round 21): b"P1" was written "b'P1'", NaN "nan", True "True"
    from radiomix.case import check_case_id
    from radiomix.errors import UsageError

    with pytest.raises(UsageError, match=r"case id .* (is a |is blank)"):
        check_case_id(given)
