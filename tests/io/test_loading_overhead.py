"""The shortcuts of one case's loading and processing against their plain formulations.

Each fast path (a value computed once and handed on, a check on Python floats, a
conversion of only the voxels read) is compared with the straightforward computation it
replaces, which it must equal exactly (decisions, messages, bits).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.check import _refuse_label_map
from radiomix.errors import InputError
from radiomix.io import nifti_geometry
from radiomix.io.image import _read_nifti
from radiomix.io.integrity import read_nifti, value_range
from radiomix.process.interpolate import aligned_grid, linear_corners, resample

# -- value_range: the extremes read_nifti hands to check_case ------------------------------


@settings(max_examples=200, deadline=None)
@given(values=st.sampled_from([np.float16, np.float32, np.float64]).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
                          elements=st.floats(width=np.dtype(dt).itemsize * 8)))
)
def test_value_range_is_the_finite_extremes(values: np.ndarray) -> None:
    finite = values.size > 0 and bool(np.all(np.isfinite(values)))
    expected = (float(values.min()), float(values.max())) if finite else None
    assert value_range(values) == expected


def test_value_range_of_other_types_is_none() -> None:
    assert value_range(np.arange(5, dtype=np.int16)) is None
    assert value_range(np.ones(3, dtype=np.complex64)) is None


def _write(arr: np.ndarray, path: Path) -> Path:
    sitk.WriteImage(sitk.GetImageFromArray(arr), str(path))
    return path


def test_read_nifti_gives_the_range_of_float_voxels_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    arr = (rng.normal(size=(4, 5, 6)) * 100).astype(np.float32)
    ranges: dict[Path, tuple[float, float]] = {}
    path = _write(arr, tmp_path / "f.nii.gz")
    read_nifti(path, ranges=ranges)
    assert ranges == {path: (float(arr.min()), float(arr.max()))}
    ranges.clear()
    read_nifti(_write(arr.astype(np.int16), tmp_path / "i.nii.gz"), ranges=ranges)
    assert ranges == {}


def test_no_range_from_a_file_simpleitk_reads(tmp_path: Path) -> None:
    """A scaled file is read by SimpleITK (its voxels are not the stored ones): the range
    of the stored values must not reach the checks."""
    arr = np.arange(120, dtype=np.float32).reshape(4, 5, 6)
    path = _write(arr, tmp_path / "s.nii")
    data = bytearray(path.read_bytes())
    data[112:116] = struct.pack("<f", 2.0)  # scl_slope
    path.write_bytes(bytes(data))
    ranges: dict[Path, tuple[float, float]] = {}
    assert _read_nifti(path, ranges=ranges) is None
    assert ranges == {}


# -- the label-map check's look at the first values ----------------------------------------


def test_label_map_sample_with_few_values_first_is_still_counted() -> None:
    inside = np.concatenate([np.zeros(100), np.arange(50.0)])  # 1 value in the first 64
    voxels = np.concatenate([inside, np.arange(10.0)])
    _refuse_label_map(voxels, inside, None)  # many values in all: an image
    labels = np.repeat([0.0, 1.0, 2.0], 50)
    with pytest.raises(InputError, match=r"holds only the values 0, 1, 2 in all its voxels"):
        _refuse_label_map(labels, labels[labels > 0], None)


# -- resampling only the voxels the corners read -------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    shape=st.tuples(*[st.integers(2, 9)] * 3),
    new=st.tuples(*[st.sampled_from([0.6, 1.0, 1.7, 2.0, 2.5])] * 3),
)
def test_support_and_shared_corners_give_the_plain_bits(data, shape, new) -> None:
    whole = data.draw(hnp.arrays(np.bool_, shape))
    image = data.draw(hnp.arrays(np.int16, shape, elements=st.integers(-1024, 3000)))
    grids = tuple(aligned_grid(n, 1.0, s) for n, s in zip(shape, new, strict=True))
    lo = [data.draw(st.integers(0, n - 1)) for n in shape]
    hi = [data.draw(st.integers(a + 1, n)) for a, n in zip(lo, shape, strict=True)]
    first = [data.draw(st.integers(0, g.size - 1)) for g in grids]
    stop = [data.draw(st.integers(f + 1, g.size)) for f, g in zip(first, grids, strict=True)]
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    rng = tuple(zip(first, stop, strict=True))
    at = tuple(lo)
    mask = whole[crop]
    plain_mask = resample(np.ascontiguousarray(mask, dtype=np.float64), grids, order=1,
                          index_range=rng, origin=at)  # type: ignore[arg-type]
    plain_image = resample(np.ascontiguousarray(image[crop], dtype=np.float64), grids, order=1,
                           index_range=rng, origin=at)  # type: ignore[arg-type]
    corners = linear_corners(mask.shape, grids, rng, at)  # type: ignore[arg-type]
    got_image = resample(image[crop], grids, order=1, index_range=rng, origin=at,
                         corners=corners)  # type: ignore[arg-type]
    assert np.array_equal(got_image.view(np.int64), plain_image.view(np.int64))
    if mask.any():
        zs, ys, xs = (np.flatnonzero(mask.any(axis=a)) for a in ((1, 2), (0, 2), (0, 1)))
        support = [(int(v[0]), int(v[-1])) for v in (zs, ys, xs)]
    else:
        support = [(0, -1)] * 3  # an empty box: every point reads zeros
    for shared in (None, corners):
        got = resample(mask, grids, order=1, index_range=rng, origin=at,  # type: ignore[arg-type]
                       support=support, corners=shared)
        assert np.array_equal(got.view(np.int64), plain_mask.view(np.int64))


# -- the sform test's conditioning shortcut ------------------------------------------------


def _old_orthonormal_affine(sto: np.ndarray) -> bool:
    """The formulation with the 3 x 3 condition number always computed."""
    m = sto.astype(np.float64)
    sv = np.linalg.svd(m, compute_uv=False)
    if not sv[-1] / sv[0] > 1e-10:
        raise nifti_geometry._Unclear
    top = m[:3, :3]
    if np.linalg.cond(top) > 1e6:
        raise nifti_geometry._Unclear
    columns = top / np.linalg.norm(top, axis=0)
    deviation = float(np.max(np.abs(columns @ columns.T - np.eye(3))))
    return nifti_geometry._clearly_below(deviation, 1e-4)


def _outcome(test, sto: np.ndarray) -> str:
    try:
        return str(test(sto))
    except nifti_geometry._Unclear:
        return "unclear"


@settings(max_examples=400, deadline=None)
@given(
    angles=st.tuples(*[st.floats(-math.pi, math.pi)] * 3),
    scales=st.tuples(*[st.sampled_from([1e-7, 1e-3, 0.5, 1.0, 3.0, 1e3, 1e5])] * 3),
    shear=st.sampled_from([0.0, 1e-9, 1e-6, 3e-5, 1e-4, 1e-3, 0.1, 1.0]),
    shift=st.tuples(*[st.floats(-500, 500)] * 3),
)
def test_orthonormal_affine_decides_as_with_the_condition_number(angles, scales, shear,
                                                                  shift) -> None:
    a, b, c = angles
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    top = rz @ ry @ rx @ np.array([[1.0, shear, 0.0], [0.0, 1.0, shear], [0.0, 0.0, 1.0]])
    sto = np.zeros((4, 4), dtype=np.float32)
    sto[:3, :3] = top * np.asarray(scales)
    sto[:3, 3] = shift
    sto[3, 3] = 1.0
    assert _outcome(nifti_geometry._orthonormal_affine, sto) == _outcome(
        _old_orthonormal_affine, sto)
