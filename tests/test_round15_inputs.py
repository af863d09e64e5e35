"""Fifteenth round, damaged inputs: a mask rescaled or relabelled given as the image, and
the notes on a ROI whose features are defined but describe little (one grey level, one
voxel thick)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import InputError
from radiomix.extraction import extract

FAST = {"features": {"families": ["stat"]}}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from radiomix.cli import main; main()",
                           *args], capture_output=True, text=True, check=False)


def _sts(case: str, tag: str) -> tuple[Path, Path]:
    folder = require_data("sts", "nifti", case, tag)
    return folder / "image.nii.gz", folder / "mask.nii.gz"


def _write_like(array: np.ndarray, like: sitk.Image, path: Path) -> Path:
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(like)
    sitk.WriteImage(out, str(path))
    return path


@pytest.mark.parametrize(("scale", "dtype"), [(1000, np.int16), (2, np.uint8), (255, np.uint8),
                                              (0.5, np.float32)])
def test_a_rescaled_mask_given_as_the_image_is_refused(tmp_path, scale, dtype):
    """``extract mask*1000 mask`` wrote stat.mean = 1000 with exit 0: only an exact copy
    of the mask's values was refused."""
    image, mask = _sts("STS_002", "ct")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask)))
    scaled = (labels.astype(np.float64) * scale).astype(dtype)
    path = _write_like(scaled, sitk.ReadImage(str(image)),
                       tmp_path / "scaled.nii.gz")
    with pytest.raises(InputError, match=r"the image is constant on each of the mask's labels "
                                         r".*it is the mask rescaled or relabelled"):
        extract(path, mask, settings=FAST)
    proc = _cli("extract", str(path), str(mask), "-o", str(tmp_path / "t.csv"))
    assert proc.returncode == 1
    assert "rescaled or relabelled" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "t.csv").exists()


def test_a_relabelled_multi_label_map_and_another_binary_mask_are_refused(tmp_path):
    """A label map given as the image (each label a value, here the mask's ROI and a second
    structure) and another structure's binary mask (two values in all, one over the ROI)."""
    image, mask = _sts("STS_002", "ct")
    ref = sitk.ReadImage(str(image))
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask))).astype(np.int16)
    two = labels.copy()
    two[:, :5, :5] = 2  # a second structure, outside the ROI
    multi = _write_like(two, ref, tmp_path / "multi.nii.gz")
    multi_mask = _write_like(two.astype(np.uint8), ref, tmp_path / "multi_mask.nii.gz")
    with pytest.raises(InputError, match="rescaled or relabelled"):
        extract(_write_like(two * 7, ref, tmp_path / "x7.nii.gz"), multi_mask, label=1,
                settings=FAST)
    with pytest.raises(InputError, match="voxel for voxel"):
        extract(multi, multi_mask, label=1, settings=FAST)
    organ = np.zeros_like(labels)
    zs, ys, xs = np.nonzero(labels)
    organ[zs.min():zs.max() + 1, ys.min():ys.max() + 1, xs.min():xs.max() + 1] = 1
    with pytest.raises(InputError, match=r"the image holds only the values 0 and 1, one of "
                                         r"them over the whole ROI: it is a mask or label map"):
        extract(_write_like(organ, ref, tmp_path / "organ.nii.gz"), mask, settings=FAST)


def test_a_real_image_constant_on_a_small_roi_is_still_extracted(tmp_path):
    """A ROI of one voxel is constant in any image: a real image varies outside it."""
    image, mask = _sts("STS_002", "ct")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask)))
    one = np.zeros_like(labels)
    one[tuple(np.argwhere(labels > 0)[0])] = 1
    path = _write_like(one, sitk.ReadImage(str(mask)), tmp_path / "one.nii.gz")
    row = extract(image, path, settings=FAST).features
    value = sitk.GetArrayFromImage(sitk.ReadImage(str(image)))[one > 0][0]
    assert row["image.original.stat.mean"] == pytest.approx(float(value), abs=0)


def _notes(image, mask, **settings):
    return extract(image, mask, settings={"features": {"families": ["morph", "glcm"]},
                                          **settings}).provenance["notes"]


def test_a_one_slice_roi_and_a_one_grey_level_roi_get_a_note(tmp_path):
    image, mask = _sts("STS_002", "ct")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(mask)))
    z = int(np.median(np.nonzero(labels)[0]))
    thin = np.zeros_like(labels)
    thin[z] = labels[z]
    thin_path = _write_like(thin, sitk.ReadImage(str(mask)), tmp_path / "thin.nii.gz")
    notes = _notes(image, thin_path)
    assert notes["morph"].startswith("the ROI is one voxel thick along z: its surface mesh")
    assert "texture" not in notes
    wide = _notes(image, mask, discretisation={"method": "fbs", "bin_width": 1e5})
    assert wide["texture"].startswith("the ROI holds one grey level after discretisation")
    assert "morph" not in wide
    plain = _notes(image, mask)
    assert "morph" not in plain and "texture" not in plain
    only_stat = extract(image, thin_path, settings=FAST).provenance["notes"]
    assert "morph" not in only_stat


def test_pet_in_activity_units_declared_pt_gets_a_note_and_a_warning(tmp_path, caplog):
    """A NIfTI PET in Bq/ml declared PT was extracted without a word: its features depend
    on the injected activity, weight and scan time, and do not compare as SUV."""
    image, mask = _sts("STS_003", "pet")
    ref = sitk.ReadImage(str(image))
    suv = sitk.GetArrayFromImage(ref)
    bq = _write_like((suv * 5300.0).astype(np.float32), ref, tmp_path / "bq.nii.gz")
    with caplog.at_level("WARNING"):
        notes = extract(bq, mask, settings=FAST, modality="PT").provenance["notes"]
    median = float(np.median(suv[sitk.GetArrayFromImage(sitk.ReadImage(str(mask))) > 0]))
    assert notes["units"].startswith(f"the PT image's ROI median is {median * 5300:.4g}, above "
                                     "any SUV (100): its values are activity concentration")
    assert "activity concentration (Bq/ml)" in caplog.text
    assert "units" not in extract(image, mask, settings=FAST, modality="PT").provenance["notes"]
    assert "units" not in extract(bq, mask, settings=FAST).provenance["notes"]
