"""``radiomix extract --organ-mask`` clips the peritumoral ring (in-process CLI run)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import yaml
from scipy import ndimage
from typer.testing import CliRunner

from _data import require_data
from radiomix.cli import app
from radiomix.table import read_table

CASE = "STS_002"


def test_extract_organ_mask_option(tmp_path):
    img_path = require_data("sts", "nifti", CASE, "ct", "image.nii.gz")
    msk_path = require_data("sts", "nifti", CASE, "ct", "mask.nii.gz")
    image = sitk.ReadImage(str(img_path))
    img = sitk.GetArrayFromImage(image).astype(np.float64)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(msk_path))) > 0
    organ = np.zeros(mask.shape, dtype=bool)
    organ[:, :, : mask.shape[2] // 2] = True
    organ_img = sitk.GetImageFromArray(organ.astype(np.uint8))
    organ_img.CopyInformation(image)
    sitk.WriteImage(organ_img, str(tmp_path / "organ.nii.gz"))
    config = tmp_path / "ring.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "preprocess": {"roi": "ring", "ring_outer_mm": 5.0, "ring_clip": "organ"},
                "features": {"families": ["stat"]},
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "f.csv"
    args = ["extract", str(img_path), str(msk_path), "--config", str(config), "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--organ-mask", str(tmp_path / "organ.nii.gz")])
    assert res.exit_code == 0, res.output
    sp = image.GetSpacing()
    d = ndimage.distance_transform_edt(~mask, sampling=(sp[2], sp[1], sp[0]))
    ring = (d > 0) & (d <= 5.0 + 1e-6) & organ
    value = read_table(out)["image.original.stat.mean"].iloc[0]
    assert value == pytest.approx(img[ring].mean(), rel=1e-9)

    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 2  # round 18: a missing option is a usage problem
    assert "no organ mask was given" in missing.output
