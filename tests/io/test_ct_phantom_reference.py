"""The IBSI CT phantom read from DICOM + RTSTRUCT equals its NIfTI version."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from _data import require_data
from radiomix.io import load_image, load_mask


def test_dicom_and_nifti_give_same_geometry_values_and_mask():
    folder = require_data("ibsi1", "ct_phantom")
    dcm = load_image(folder / "dicom" / "image")
    nii = load_image(folder / "nifti" / "image.nii.gz")
    assert dcm.GetSize() == nii.GetSize() == (204, 201, 60)
    np.testing.assert_allclose(dcm.GetSpacing(), nii.GetSpacing(), rtol=1e-6)
    np.testing.assert_allclose(dcm.GetOrigin(), nii.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(dcm.GetDirection(), nii.GetDirection(), atol=1e-9)
    a, b = sitk.GetArrayFromImage(dcm), sitk.GetArrayFromImage(nii)
    assert np.array_equal(a, b)
    assert a.min() == -1000  # rescale intercept -1000 applied
    assert a.max() == 3065

    rs = load_mask(folder / "dicom" / "mask" / "DCM_RS_00060.dcm", dcm, roi_name="GTV-1")
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "nifti" / "mask.nii.gz"))) > 0
    got = sitk.GetArrayFromImage(rs) > 0
    n_rs, n_ref, n_both = int(got.sum()), int(ref.sum()), int((got & ref).sum())
    dice = 2 * n_both / (n_rs + n_ref)
    # Measured: 125256 voxels in both masks, all shared (Dice 1.0).
    assert n_ref == 125256
    assert dice >= 0.99, (n_rs, n_ref, n_both)
    assert rs.GetSize() == dcm.GetSize()


def test_dicom_slices_are_sorted_by_position_not_file_name(tmp_path):
    """Renaming files in reverse order changes nothing: sorting follows geometry."""
    folder = require_data("ibsi1", "ct_phantom", "dicom", "image")
    files = sorted(folder.glob("*.dcm"))
    for i, f in enumerate(files):
        (tmp_path / f"{len(files) - i:03d}.dcm").write_bytes(f.read_bytes())
    a = sitk.GetArrayFromImage(load_image(tmp_path))
    b = sitk.GetArrayFromImage(load_image(folder))
    assert np.array_equal(a, b)
