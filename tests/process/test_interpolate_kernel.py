"""The trilinear kernel of :func:`radiomix.process.interpolate.resample`: one signature.

A crop of the image is a strided view; the kernel must not compile a second (non-contiguous)
signature for it, and the strided and the contiguous input must give the same values.
"""

from __future__ import annotations

import numpy as np

from radiomix.process.interpolate import Grid, _trilinear, aligned_grid, resample


def grids_of(shape: tuple[int, ...], new_spacing: float) -> tuple[Grid, Grid, Grid]:
    z, y, x = (aligned_grid(n, 1.0, new_spacing) for n in shape)
    return z, y, x


def signatures() -> list:
    return list(_trilinear.signatures)  # type: ignore[attr-defined]


def test_strided_crop_uses_the_contiguous_signature_and_same_values() -> None:
    rng = np.random.default_rng(3)
    image = rng.normal(size=(9, 11, 13)) * 100.0
    crop = image[1:8, 2:10, 3:12]  # a strided view
    assert not crop.flags.c_contiguous
    grids = grids_of(crop.shape, 1.7)
    got = resample(crop, grids, order=1)
    ref = resample(np.ascontiguousarray(crop), grids, order=1)
    np.testing.assert_array_equal(got, ref)
    layouts = {sig[0].layout for sig in signatures()}
    assert layouts == {"C"}, signatures()
    assert len(signatures()) == 1


def test_boolean_mask_interpolates_like_its_float_copy() -> None:
    mask = np.zeros((6, 7, 8), dtype=bool)
    mask[2:5, 1:6, 3:7] = True
    grids = grids_of(mask.shape, 0.8)
    got = resample(mask[:, :, ::-1], grids, order=1)  # negative strides too
    ref = resample(np.ascontiguousarray(mask[:, :, ::-1], dtype=np.float64), grids, order=1)
    np.testing.assert_array_equal(got, ref)
    assert len(signatures()) == 1


def test_read_only_image_uses_the_same_signature() -> None:
    """The chain reads the image as a read-only view of SimpleITK's buffer (no copy of the
    whole volume): it must not compile a read-only signature of the kernel."""
    rng = np.random.default_rng(4)
    image = rng.normal(size=(8, 9, 10))
    view = image.view()
    view.flags.writeable = False
    grids = grids_of(view.shape, 1.3)
    np.testing.assert_array_equal(resample(view, grids, order=1),
                                  resample(image.copy(), grids, order=1))
    assert len(signatures()) == 1

