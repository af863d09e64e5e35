"""Nineteenth outside round: inputs read with wrong numbers and exit 0, or misnamed.

- J1: a MetaImage header spelling its spacing key ``elementspacing`` passed the "no spacing"
  check (it compared keys in lower case), while ITK, which matches MetaImage keys case by
  case, read 1 mm: STS_031's PET tumour volume 4 762 instead of 465 708 mm³.
- J6: a negative MetaImage ElementSpacing was read by ITK as a flipped axis and only said as
  a direction mismatch with the mask (and, resampled, as a mask outside the image).
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from _data import run_cli
from radiomix.errors import InputError
from radiomix.extraction import extract

STAT = {"features": {"families": ["stat"]}}


def _pair(tmp_path, spacing_line: str):
    """An .mha image and mask (2 x 3 x 4 mm voxels) whose image header's spacing line is
    replaced by ``spacing_line``."""
    image = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2:4, 2:5, 2:6] = 1
    paths = []
    for name, array in (("image", image), ("mask", mask)):
        img = sitk.GetImageFromArray(array)
        img.SetSpacing((2.0, 3.0, 4.0))
        path = tmp_path / f"{name}.mha"
        sitk.WriteImage(img, str(path))
        paths.append(path)
    data = paths[0].read_bytes()
    head, sep, body = data.partition(b"ElementDataFile = LOCAL\n")
    lines = [spacing_line.encode() if line.startswith(b"ElementSpacing") else line
             for line in head.split(b"\n")]
    paths[0].write_bytes(b"\n".join(lines) + sep + body)
    return paths


@pytest.mark.parametrize("key", ["elementspacing", "ELEMENTSPACING", "elementsize"])
def test_a_spacing_key_in_another_case_is_refused(tmp_path, key):
    image, mask = _pair(tmp_path, f"{key} = 2 3 4")
    assert sitk.ReadImage(str(image)).GetSpacing() == (1.0, 1.0, 1.0)  # what ITK makes of it
    with pytest.raises(InputError, match=rf"spells its spacing key '{key}'; MetaImage keys are "
                                         "case-sensitive"):
        extract(image, mask, settings=STAT)


@pytest.mark.parametrize("value", ["-2 3 4", "2 0 4", "2 3 nan", "2 x 4"])
def test_a_spacing_that_is_not_a_positive_length_is_refused(tmp_path, value):
    image, mask = _pair(tmp_path, f"ElementSpacing = {value}")
    with pytest.raises(InputError, match=rf"gives a voxel spacing of '{value}' in its "
                                         "header; a spacing must be a positive number"):
        extract(image, mask, settings=STAT)


def test_a_negative_spacing_exits_1_naming_it(tmp_path):
    image, mask = _pair(tmp_path, "ElementSpacing = -2 3 4")
    proc = run_cli("extract", str(image), str(mask), "--out", str(tmp_path / "o.csv"))
    assert proc.returncode == 1, proc.stderr
    assert "gives a voxel spacing of '-2 3 4'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_written_spacing_is_read(tmp_path):
    image, mask = _pair(tmp_path, "ElementSpacing = 2 3 4")
    row = extract(image, mask, settings={"features": {"families": ["morph"]}})
    assert row.features["image.original.morph.volume_voxels"] == 24 * 24.0
