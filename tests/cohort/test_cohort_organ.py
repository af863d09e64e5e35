"""The manifest's ``<tag>_organ`` column clips the peritumoral ring in a cohort run."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from cohort_helpers import nifti, sts_root, write_study
from scipy import ndimage

from radiomix.cohort import run_study
from radiomix.table import read_provenance, read_table

SETTINGS = {
    "ct": {
        "preprocess": {"roi": "ring", "ring_outer_mm": 6.0, "ring_clip": "organ"},
        "features": {"families": ["stat"]},
    }
}


def test_organ_column_clips_ring_and_missing_organ_is_an_error_row(tmp_path):
    root = sts_root()
    patient = "STS_002"
    image = sitk.ReadImage(str(root / nifti(patient, "ct", "image")))
    img = sitk.GetArrayFromImage(image).astype(np.float64)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(root / nifti(patient, "ct", "mask")))) > 0
    organ = np.zeros(mask.shape, dtype=bool)
    organ[:, : mask.shape[1] // 2, :] = True  # anterior half of the field of view
    organ_img = sitk.GetImageFromArray(organ.astype(np.uint8))
    organ_img.CopyInformation(image)
    sitk.WriteImage(organ_img, str(tmp_path / "organ.nii.gz"))
    rows = [
        {
            "patient_id": patient,
            "lesion_id": "1",
            "ct_image": nifti(patient, "ct", "image"),
            "ct_mask": nifti(patient, "ct", "mask"),
            "ct_organ": str(tmp_path / "organ.nii.gz"),
        },
        {
            "patient_id": patient,
            "lesion_id": "2",
            "ct_image": nifti(patient, "ct", "image"),
            "ct_mask": nifti(patient, "ct", "mask"),
            "ct_organ": "",
        },
    ]
    study = write_study(tmp_path / "study", rows, tags=("ct",), settings=SETTINGS)
    result = run_study(study, tmp_path / "out")
    assert result.n_rows == 1
    assert result.n_failed == 1
    (err,) = result.errors
    assert err["lesion_id"] == "2"
    assert err["stage"] == "manifest"
    assert "ring_clip is organ but ct_organ is empty" in err["message"]

    sp = image.GetSpacing()
    d = ndimage.distance_transform_edt(~mask, sampling=(sp[2], sp[1], sp[0]))
    ring = (d > 0) & (d <= 6.0 + 1e-6) & organ
    table = read_table(result.features_path)
    assert table["ct.original.stat.mean"].iloc[0] == pytest.approx(img[ring].mean(), rel=1e-12)
    prov = read_provenance(result.features_path)
    (case,) = [c for c in prov["cases"] if c["status"] == "ok"]
    assert case["organ_sha256"]


def _organ_study(tmp_path, settings, organ):
    rows = [{"patient_id": "STS_002", "lesion_id": "1",
             "ct_image": nifti("STS_002", "ct", "image"),
             "ct_mask": nifti("STS_002", "ct", "mask"), "ct_organ": organ}]
    return write_study(tmp_path / "study", rows, tags=("ct",), settings=settings)


def test_organ_column_of_a_tag_that_does_not_clip_is_refused(tmp_path):
    """An organ mask the settings would never read is a settings error before any case
    runs (it used to be read by nobody, the ring left unclipped without a word)."""
    from radiomix.errors import SettingsError

    sts_root()
    settings = {"ct": {"preprocess": {"roi": "ring", "ring_outer_mm": 6.0},
                       "features": {"families": ["stat"]}}}
    study = _organ_study(tmp_path, settings, nifti("STS_002", "ct", "mask"))
    with pytest.raises(SettingsError, match=r"ct_organ .*line 2.*ring_clip none"):
        run_study(study, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_organ_roi_name_with_a_label_image_organ_is_a_manifest_error(tmp_path):
    """``organ_roi_name`` names an RTSTRUCT ROI: with a NIfTI organ mask it cannot choose
    anything, so the case is an error record naming the column, not a silent default."""
    sts_root()
    settings = {"ct": {"preprocess": {"roi": "ring", "ring_outer_mm": 6.0,
                                      "ring_clip": "organ", "organ_roi_name": "Liver"},
                       "features": {"families": ["stat"]}}}
    study = _organ_study(tmp_path, settings, nifti("STS_002", "ct", "mask"))
    result = run_study(study, tmp_path / "out")
    assert result.n_rows == 0
    assert result.n_failed == 1
    (err,) = result.errors
    assert err["stage"] == "manifest"
    assert "column ct_organ" in err["message"]
    assert "organ_label" in err["message"]
