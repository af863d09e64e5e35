"""N4 bias-field correction recovers a multiplicative bias planted on a real STS MR image."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError, SettingsError
from radiomix.process.bias_field import correct_bias_field


@pytest.fixture(scope="module")
def mr():
    path = require_data("sts", "nifti", "STS_002", "mr_t1", "image.nii.gz")
    img = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(img).astype(np.float64), tuple(reversed(img.GetSpacing()))


def _planted_bias(shape: tuple[int, ...]) -> np.ndarray:
    z, y, x = np.meshgrid(*[np.linspace(-1.0, 1.0, n) for n in shape], indexing="ij")
    # smooth multiplicative field, about ±40 % over the image
    return np.exp(0.3 * x - 0.2 * y + 0.15 * z + 0.2 * x**2)


def test_n4_recovers_planted_bias(mr):
    image, spacing = mr
    bias = _planted_bias(image.shape)
    biased = image * bias
    mask = image > 0

    result = correct_bias_field(biased, spacing=spacing, mask=mask)

    r = np.corrcoef(np.log(result.field[mask]), np.log(bias[mask]))[0, 1]
    assert r >= 0.9, f"correlation of estimated and planted log field: {r:.3f}"
    # the corrected image is closer to the original (up to N4's free global scale)
    ratio_before = np.log(biased[mask] / image[mask])
    ratio_after = np.log(result.corrected[mask] / image[mask])
    assert ratio_after.std() < 0.5 * ratio_before.std()
    np.testing.assert_allclose(result.corrected * result.field, biased, rtol=1e-9)
    assert np.all(result.field > 0)


def test_bias_field_input_errors(mr):
    image, spacing = mr
    with pytest.raises(InputError, match="needs positive intensities inside the mask"):
        correct_bias_field(image - 10.0, spacing=spacing, mask=np.ones(image.shape, bool))
    with pytest.raises(EmptyRoiError, match="mask holds no voxel"):
        correct_bias_field(image, spacing=spacing, mask=np.zeros(image.shape, bool))
    with pytest.raises(GeometryMismatchError, match="mask shape"):
        correct_bias_field(image, spacing=spacing, mask=np.ones((2, 2, 2), bool))
    with pytest.raises(SettingsError, match="iterations must be a non-empty list"):
        correct_bias_field(image, spacing=spacing, iterations=())
    with pytest.raises(SettingsError, match="control_points"):
        correct_bias_field(image, spacing=spacing, control_points=2)
    with pytest.raises(InputError, match="spacing must be 3 positive numbers"):
        correct_bias_field(image, spacing=(1.0, 1.0))
