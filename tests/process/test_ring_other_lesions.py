"""A peritumoral ring holds no voxel of another lesion of the same mask (round 18).

In a one-lesion-per-label mask, the 5 mm ring of a satellite nodule held 10 % main tumour,
which moved its mean from -22.3 to -14.0 HU, exit 0; the promise was "a ring never contains
a tumour voxel".
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import radiomix


@pytest.fixture(scope="module")
def two_lesions(shared_data, tmp_path_factory):
    """STS_002's CT tumour as label 1 and a small nodule 1 to 3 voxels beside it as 2."""
    import SimpleITK as sitk

    folder = shared_data / "sts" / "nifti" / "STS_002" / "ct"
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"))
    tumour = sitk.GetArrayFromImage(mask) > 0
    sp = mask.GetSpacing()[::-1]
    d = ndi.distance_transform_edt(~tumour, sampling=sp)
    z = int(np.flatnonzero(tumour.any(axis=(1, 2))).mean())
    shell = (d > 1.5) & (d <= 4.0)
    nodule = np.zeros_like(tumour)
    ys, xs = np.nonzero(shell[z])
    y, x = ys[0], xs[0]
    nodule[z - 1:z + 2, y - 2:y + 3, x - 2:x + 3] = True
    nodule &= ~tumour & (d > 1.0)
    labels = tumour.astype(np.uint8) + 2 * nodule.astype(np.uint8)
    out = sitk.GetImageFromArray(labels)
    out.CopyInformation(mask)
    path = tmp_path_factory.mktemp("two") / "labels.nii.gz"
    sitk.WriteImage(out, str(path))
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "image.nii.gz"))).astype(float)
    return folder / "image.nii.gz", path, labels, image, sp


@pytest.mark.parametrize(("label", "other"), [(1, 2), (2, 1)])
def test_the_ring_of_one_label_leaves_out_the_other(two_lesions, label, other):
    image_path, mask_path, labels, image, sp = two_lesions
    m = labels == label
    d = ndi.distance_transform_edt(~m, sampling=sp)
    ring = ~m & (d <= 5.0 + 1e-6)
    assert (ring & (labels == other)).any()  # the premise: the rings overlap the other
    expected = ring & (labels != other)
    s = {"preprocess": {"roi": "ring", "ring_outer_mm": 5.0},
         "features": {"families": ["morph", "stat"]}}
    row = radiomix.extract(image_path, mask_path, s, label=label).iloc[0]
    assert row["image.original.morph.volume_voxels"] == pytest.approx(
        expected.sum() * float(np.prod(sp)), rel=1e-12)
    assert row["image.original.stat.mean"] == pytest.approx(image[expected].mean(), rel=1e-12)
