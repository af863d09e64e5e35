"""Twelfth round, damaged inputs: a NIfTI mask whose header has no orientation (qform and
sform codes 0) was matched by resampling to an arbitrary place; an RTSTRUCT folder given as
the image; label and settings messages that did not name the file or the whole key."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data, run_cli
from radiomix.errors import DicomError, GeometryMismatchError, LabelNotFoundError, SettingsError
from radiomix.extraction import extract
from radiomix.io.image import nifti_without_orientation

FAST = {"features": {"families": ["stat"]}}




def _nifti(path: Path, data: np.ndarray, origin: tuple[float, float, float], *,
           placed: bool) -> Path:
    """Write ``data`` (z, y, x) at ``origin`` with SimpleITK's scanner qform and sform
    (``placed``) or with both codes set to 0 afterwards (a header without orientation)."""
    img = sitk.GetImageFromArray(data)
    img.SetOrigin(origin)
    sitk.WriteImage(img, str(path))
    if not placed:
        raw = bytearray(gzip.decompress(path.read_bytes()))
        raw[252:256] = struct.pack("<hh", 0, 0)
        path.write_bytes(gzip.compress(bytes(raw)))
    return path


def _phantom(tmp_path: Path, *, mask_placed: bool) -> tuple[Path, Path]:
    """A 20^3 image placed 3 mm off the scanner origin and a cube mask written on the same
    voxel grid, with or without its orientation."""
    rng = np.random.default_rng(0)
    data = rng.normal(50.0, 10.0, (20, 20, 20)).astype(np.float32)
    data[:, :, :10] += 100.0  # the ROI's position decides its mean
    mask = np.zeros((20, 20, 20), dtype=np.uint8)
    mask[6:12, 6:12, 2:8] = 1
    image = _nifti(tmp_path / "image.nii.gz", data, (3.0, 0.0, 0.0), placed=True)
    msk = _nifti(tmp_path / "mask.nii.gz", mask, (3.0, 0.0, 0.0), placed=mask_placed)
    return image, msk


def test_a_mask_without_orientation_is_refused_even_when_resampling(tmp_path):
    """Resampling moved the ROI 3 voxels (the image's offset) and wrote its features, exit
    0: the mask's voxels have no position, so no grid match can be trusted."""
    image, mask = _phantom(tmp_path, mask_placed=False)
    assert nifti_without_orientation(mask)
    assert not nifti_without_orientation(image)
    for resample in (False, True):
        with pytest.raises(GeometryMismatchError, match=r"the mask file mask\.nii\.gz has no "
                           r"orientation in its NIfTI header \(qform_code and sform_code 0\)"):
            extract(image, mask, settings=FAST, resample_mask=resample)
    proc = run_cli("extract", str(image), str(mask), "--resample-mask",
                "-o", str(tmp_path / "t.csv"))
    assert proc.returncode == 1
    assert "resampling cannot place them" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(tmp_path) not in proc.stderr
    assert not (tmp_path / "t.csv").exists()


def test_the_same_mask_with_its_orientation_is_read(tmp_path):
    image, mask = _phantom(tmp_path, mask_placed=True)
    result = extract(image, mask, settings=FAST)
    assert result.provenance["roi_voxels"] == 6 * 6 * 6


def test_image_and_mask_both_without_orientation_share_their_grid(tmp_path):
    """Without orientation on both sides the two grids are the same voxel grid: read."""
    image, mask = _phantom(tmp_path, mask_placed=False)
    data = sitk.GetArrayFromImage(sitk.ReadImage(str(image)))
    _nifti(image, data, (3.0, 0.0, 0.0), placed=False)
    assert nifti_without_orientation(image)
    result = extract(image, mask, settings=FAST)
    assert result.provenance["roi_voxels"] == 6 * 6 * 6


def test_an_organ_mask_without_orientation_is_refused(tmp_path):
    image, mask = _phantom(tmp_path, mask_placed=True)
    organ = np.ones((22, 20, 20), dtype=np.uint8)  # another grid, placed nowhere
    path = _nifti(tmp_path / "organ.nii.gz", organ, (0.0, 0.0, 0.0), placed=False)
    settings = {**FAST, "preprocess": {"roi": "ring", "ring_outer_mm": 2.0,
                                       "ring_clip": "organ"}}
    with pytest.raises(GeometryMismatchError, match=r"the organ mask organ\.nii\.gz has no "
                                                    r"orientation"):
        extract(image, mask, settings=settings, organ_mask=path, resample_mask=True)


def test_a_missing_label_names_the_mask_file(tmp_path):
    image, mask = _phantom(tmp_path, mask_placed=True)
    with pytest.raises(LabelNotFoundError, match=r"label 2 not found in the mask mask\.nii\.gz;"
                                                 r" labels present: \[1\]"):
        extract(image, mask, settings=FAST, label=2)


def test_an_rtstruct_folder_given_as_the_image_is_named():
    folder = require_data("sts", "dicom", "STS_001", "CT", "mask")
    with pytest.raises(DicomError, match=r"the folder mask holds no image slices, only "
                                         r"RTSTRUCT RS\.dcm: a segmentation or structure set "
                                         r"is a mask, not an image"):
        extract(folder, folder / "RS.dcm", settings=FAST)


@pytest.mark.parametrize(
    ("discretisation", "message"),
    [
        ({"method": "fbn", "bin_width": 25}, r"^response_maps\.discretisation\.bin_width "
         r"\(25\.0\) applies to method fbs only.*set response_maps\.discretisation\.method: "
         r"fbs$"),
        ({"method": "fbn", "bins": -3}, r"^response_maps\.discretisation\.bins must be an "
         r"integer >= 1"),
    ],
)
def test_response_map_discretisation_errors_name_the_whole_key(discretisation, message):
    from radiomix.settings.loader import settings_from_dict

    with pytest.raises(SettingsError, match=message):
        settings_from_dict({"response_maps": {"filters": [{"kind": "log", "sigma_mm": 1.5}],
                                              "discretisation": discretisation}})
    # the top-level section keeps its own name
    with pytest.raises(SettingsError, match=r"^discretisation\.bins must be"):
        settings_from_dict({"discretisation": {"method": "fbn", "bins": -3}})
