"""The trilinear kernel of :func:`radiomix.process.interpolate.resample`: one signature.

A crop of the image is a strided view; the kernel must not compile a second (non-contiguous)
signature for it, and the strided and the contiguous input must give the same values. The
input is converted to float64 a slab of planes at a time: the same bits as the whole block.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.process import interpolate
from radiomix.process.interpolate import Grid, _trilinear, aligned_grid, linear_corners, resample


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


def _whole_block(array: np.ndarray, grids: tuple[Grid, Grid, Grid],
                 index_range: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The kernel run once on a float64 copy of the whole block the corners read."""
    axes = linear_corners(array.shape, grids, index_range, (0, 0, 0))
    read = tuple(slice(int(i0[0]), int(i1[-1]) + 1) for i0, i1, _, _ in axes)
    values = np.array(array[read], dtype=np.float64, order="C")
    z, y, x = ((i0 - r.start, i1 - r.start, w0, w1)
               for (i0, i1, w0, w1), r in zip(axes, read, strict=True))
    out = np.empty([hi - lo for lo, hi in index_range])
    _trilinear(values, *z, *y, *x, out)
    return out


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 12), st.integers(1, 9), st.integers(1, 9)),
    kind=st.sampled_from(["int16-strided", "bool", "float64", "float32-read-only"]),
    slab_bytes=st.sampled_from([1, 100, 700, 5_000, 1 << 19]),
)
def test_slabs_give_the_bits_of_the_whole_block(data, shape, kind, slab_bytes) -> None:
    """Converting the input a slab of planes at a time (any slab size, two planes at
    least) gives every output voxel the bits of one pass over a float64 copy of the whole
    block: upsampling and downsampling along z, sub-ranges of the new grid, every input
    type the chain passes."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    if kind == "int16-strided":
        full = rng.integers(-1000, 1500, size=(shape[0] + 2, shape[1] + 3, 2 * shape[2]),
                            dtype=np.int16)
        array = full[1:-1, 2:-1, ::2]
    elif kind == "bool":
        array = rng.random(shape) < 0.4
    else:
        array = rng.normal(size=shape) * 300.0
        if kind == "float32-read-only":
            array = array.astype(np.float32)
            array.flags.writeable = False
    grids = tuple(
        Grid(data.draw(st.integers(1, 30)), data.draw(st.floats(-2.0, 2.0)),
             data.draw(st.sampled_from([0.3, 0.61, 1.0, 1.53, 2.9])))
        for _ in range(3)
    )
    index_range = []
    for g in grids:
        lo = data.draw(st.integers(0, g.size - 1))
        index_range.append((lo, data.draw(st.integers(lo + 1, g.size))))
    ir = tuple(index_range)
    ref = _whole_block(array, grids, ir)
    before = interpolate.SLAB_BYTES
    interpolate.SLAB_BYTES = slab_bytes
    try:
        got = resample(array, grids, order=1, index_range=ir)  # type: ignore[arg-type]
    finally:
        interpolate.SLAB_BYTES = before
    np.testing.assert_array_equal(got, ref)
    assert len(signatures()) == 1


def test_nearest_neighbour_of_a_stored_crop_equals_its_float64_copy() -> None:
    """Nearest-neighbour interpolation converts only the voxels it picks: the same values
    as picking them from a float64 copy of the whole crop (a strided int16 view, a mask)."""
    rng = np.random.default_rng(5)
    full = rng.integers(-1024, 3000, size=(11, 13, 17), dtype=np.int16)
    for array in (full[1:10, 2:12, ::2], full[::-1, 3:9, 1:16] > 200):
        grids = grids_of(array.shape, 0.7)
        got = resample(array, grids, order=0)
        ref = resample(np.array(array, dtype=np.float64), grids, order=0)
        assert got.dtype == np.float64
        assert got.flags.c_contiguous
        np.testing.assert_array_equal(got, ref)
