"""The corners of linear interpolation, computed for the three axes together
(:func:`radiomix.process.interpolate.linear_corners`), against scipy's arithmetic written
out axis by axis with numpy: the same bits, and the support's reach (found by bisection in
:func:`~radiomix.process.interpolate.resample`) against the points read, counted one by one.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.process.interpolate import aligned_grid, linear_corners, resample


def axis_reference(n: int, start: float, step: float, lo: int, hi: int, origin: int):
    """``scipy.ndimage``'s order-1 corners along one axis (its zoom_shift positions)."""
    cc = (np.arange(lo, hi, dtype=np.float64) + np.float64(start) / np.float64(step)) \
        * np.float64(step)
    cc = cc - np.float64(origin)
    floor = np.floor(cc)
    w0 = 1.0 - (cc - floor)
    i = floor.astype(np.int64)
    return np.clip(i, 0, n - 1), np.clip(i + 1, 0, n - 1), w0, 1.0 - w0


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    shape=st.tuples(*[st.integers(1, 40)] * 3),
    spacing=st.tuples(*[st.sampled_from([0.488281, 0.976562, 1.0, 2.5, 3.27, 5.0])] * 3),
    new=st.tuples(*[st.sampled_from([0.5, 1.0, 1.7, 2.0, 3.0])] * 3),
)
def test_joined_corners_equal_each_axis_alone(data, shape, spacing, new) -> None:
    spacing = tuple(float(np.float32(s)) for s in spacing)
    grids = tuple(aligned_grid(n, s, t) for n, s, t in zip(shape, spacing, new, strict=True))
    rng = []
    origin = []
    for g, n in zip(grids, shape, strict=True):
        lo = data.draw(st.integers(0, g.size - 1))
        rng.append((lo, data.draw(st.integers(lo + 1, g.size))))
        origin.append(data.draw(st.integers(0, n - 1)))
    crop = [n - o for n, o in zip(shape, origin, strict=True)]
    got = linear_corners(crop, grids, rng, origin)  # type: ignore[arg-type]
    for axis, (g, (lo, hi)) in enumerate(zip(grids, rng, strict=True)):
        ref = axis_reference(crop[axis], g.start, g.step, lo, hi, origin[axis])
        for a, b in zip(got[axis], ref, strict=True):
            assert a.dtype == b.dtype
            assert a.flags.c_contiguous
            assert np.array_equal(a.view(np.int64), b.view(np.int64))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), shape=st.tuples(*[st.integers(2, 12)] * 3))
def test_support_reach_is_the_points_that_read_it(data, shape) -> None:
    grids = tuple(aligned_grid(n, 1.0, 1.7) for n in shape)
    support = []
    for n in shape:
        first = data.draw(st.integers(0, n - 1))
        support.append((first, data.draw(st.integers(first, n - 1))))
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(a, b + 1) for a, b in support)] = data.draw(st.booleans())
    got = resample(mask, grids, order=1, support=support)  # type: ignore[arg-type]
    plain = resample(mask.astype(np.float64), grids, order=1)
    assert np.array_equal(got.view(np.int64), plain.view(np.int64))
    corners = linear_corners(shape, grids, [(0, g.size) for g in grids], (0, 0, 0))  # type: ignore[arg-type]
    for (i0, i1, _, _), (first, last) in zip(corners, support, strict=True):
        reads = [k for k in range(i0.size) if i1[k] >= first and i0[k] <= last]
        assert reads  # every stored voxel is read by some point of the whole grid
        assert reads == list(range(reads[0], reads[-1] + 1))  # one run: bisection finds it
