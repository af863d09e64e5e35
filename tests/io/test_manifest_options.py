"""Per-tag manifest columns added by issue 9: ``<tag>_organ`` and masks of registered tags."""

from __future__ import annotations

import pytest

from radiomix.errors import SettingsError
from radiomix.io.manifest import read_manifest


def _csv(tmp_path, text):
    path = tmp_path / "manifest.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_organ_column_is_read_per_tag(tmp_path):
    path = _csv(
        tmp_path,
        "patient_id,lesion_id,ct_image,ct_mask,ct_organ\nP1,1,a.nii,m.nii,liver.nii\nP1,2,a.nii,m.nii,\n",
    )
    rows = read_manifest(path, tags=["ct"])
    assert rows[0].inputs["ct"].organ == tmp_path / "liver.nii"
    assert rows[1].inputs["ct"].organ is None
    assert rows[0].inputs["ct"].problem is None


def test_mask_optional_for_registered_tags(tmp_path):
    text = "patient_id,lesion_id,art_image,art_mask,pv_image\nP1,1,a.nii,m.nii,p.nii\n"
    path = _csv(tmp_path, text)
    with pytest.raises(SettingsError, match="lacks the column 'pv_mask'"):
        read_manifest(path, tags=["art", "pv"])
    (row,) = read_manifest(path, tags=["art", "pv"], mask_optional=["pv"])
    spec = row.inputs["pv"]
    assert spec.image == tmp_path / "p.nii"
    assert spec.mask is None
    assert spec.problem is None
    # a mask without its image is still a problem of the case
    path = _csv(tmp_path, "patient_id,lesion_id,pv_image,pv_mask\nP1,1,,m.nii\n")
    (row,) = read_manifest(path, tags=["pv"], mask_optional=["pv"])
    assert "pv_image is empty while pv_mask is set" in row.inputs["pv"].problem
