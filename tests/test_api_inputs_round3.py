"""Arguments of ``radiomix.extract`` that were ignored, misread or crashed.

Oracles: the same voxels in native float32 / integer arrays (a byte-order change and
float16 -> float32 are exact, so every feature must be equal), and the label as a Python
int for the numpy integer types.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import radiomix
from radiomix.errors import InputError, UsageError

SPACING = (2.0, 1.5, 1.5)
FAST = {"features__families": ["morph", "stat"]}


@pytest.fixture
def case() -> tuple[np.ndarray, np.ndarray]:
    image = np.random.default_rng(5).normal(30.0, 8.0, (10, 12, 12)).astype(np.float32)
    image = image.astype(np.float16).astype(np.float32)  # values a float16 holds exactly
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2:8, 3:9, 3:9] = 1
    return image, mask


@pytest.fixture
def files(tmp_path, case) -> tuple[str, str]:
    image, mask = case
    paths = []
    for name, arr in (("image", image), ("mask", mask)):
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing(SPACING[::-1])
        sitk.WriteImage(img, str(tmp_path / f"{name}.nii.gz"))
        paths.append(str(tmp_path / f"{name}.nii.gz"))
    return paths[0], paths[1]


# -- geometry arguments apply to arrays only -----------------------------------------------


@pytest.mark.parametrize("kw", [{"spacing": (1.0, 1.0, 1.0)}, {"origin": (5.0, 5.0, 5.0)},
                                {"direction": np.eye(3)}])
@pytest.mark.parametrize("kind", ["paths", "sitk"])
def test_geometry_arguments_without_an_array_are_refused(files, kw, kind):
    inputs = files if kind == "paths" else tuple(sitk.ReadImage(p) for p in files)
    what = "file paths" if kind == "paths" else "SimpleITK images"
    name = next(iter(kw))
    with pytest.raises(UsageError, match=rf"{name}= applies to numpy array inputs only; the "
                                         rf"image and mask here are {what}, which carry their "
                                         rf"own geometry: drop {name}="):
        radiomix.extract(*inputs, **kw, **FAST)


def test_geometry_arguments_with_an_array_still_apply(files, case):
    image, _ = case
    row = radiomix.extract(image, files[1], spacing=SPACING, **FAST)  # mask file: same grid
    assert row["image.original.morph.volume_voxels"].iloc[0] == pytest.approx(216 * 4.5)
    plain = radiomix.extract(*files, **FAST)
    assert plain["image.original.morph.volume_voxels"].iloc[0] == pytest.approx(216 * 4.5)


# -- byte order and float16 ----------------------------------------------------------------


@pytest.mark.parametrize(("image_dtype", "mask_dtype"), [(">f4", "u1"), ("<f4", ">i2"),
                                                         (">f8", ">u2"), ("f2", "u1")])
def test_big_endian_and_float16_arrays_give_the_native_result(case, image_dtype, mask_dtype):
    image, mask = case
    reference = radiomix.extract(image, mask, spacing=SPACING, **FAST)
    row = radiomix.extract(image.astype(image_dtype), mask.astype(mask_dtype), spacing=SPACING,
                           **FAST)
    cols = [c for c in reference.columns if c.startswith("image.")]
    np.testing.assert_array_equal(row[cols].to_numpy(float), reference[cols].to_numpy(float))


def test_big_endian_array_is_not_modified(case):
    image, mask = case
    big = image.astype(">f4")
    before = big.copy()
    radiomix.extract(big, mask, spacing=SPACING, **FAST)
    assert big.dtype.str == ">f4"
    np.testing.assert_array_equal(big, before)


def test_complex_array_is_still_refused(case):
    image, mask = case
    with pytest.raises(InputError, match="dtype complex64; integer, float or"):
        radiomix.extract(image.astype(np.complex64), mask, spacing=SPACING, **FAST)


# -- label ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "shown", "fix"), [
    ("1", "str '1'", "pass label=1"), (1.0, "float 1.0", "pass label=1"),
    (True, "bool True", "pass the mask value as an int"),
    ("gtv", "str 'gtv'", "pass the mask value as an int"),
])
def test_a_label_that_is_not_an_integer_is_refused(files, label, shown, fix):
    with pytest.raises(UsageError, match=rf"label must be an integer \(the mask value of the "
                                         rf"ROI\); got {shown}: {fix}"):
        radiomix.extract(*files, label=label, **FAST)


@pytest.mark.parametrize("label", [1, np.int64(1), np.uint8(1), np.int32(1)])
def test_integer_labels_of_any_integer_type_are_accepted(files, label):
    row = radiomix.extract(*files, label=label, **FAST)
    assert row["image.original.morph.volume_voxels"].iloc[0] == pytest.approx(216 * 4.5)
