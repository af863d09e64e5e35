"""Faster loading paths against independent computations.

- :func:`~radiomix.io.nifti_geometry.form_disagreement` (its early exits on Python floats
  and on a qform equal to the sform) against the full comparison of the two forms, written
  out here with numpy: the same verdict and the same reported values.
- :func:`~radiomix.case.load_case`'s SHA-256 of the bytes it read against
  :func:`~radiomix.table.file_hash` (which reads the file again).
- :func:`~radiomix.check.check_case` (the ROI counted and read over the slices that hold
  it) against ``numpy.count_nonzero`` and the intensities of the whole volume.
"""

from __future__ import annotations

import math
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.check import check_case
from radiomix.io.nifti_geometry import (
    FORMS_DIRECTION_TOLERANCE,
    FORMS_SHIFT_VOXELS,
    _qform_matrix,
    form_disagreement,
)
from radiomix.io.volume import Volume


def header(pixdim, quatern, qoffset, srow, *, qfac=1.0, codes=(1, 1), order="<") -> bytes:
    head = bytearray(348)
    struct.pack_into(order + "i", head, 0, 348)
    struct.pack_into(order + "8h", head, 40, 3, 7, 8, 9, 1, 1, 1, 1)
    struct.pack_into(order + "8f", head, 76, qfac, *pixdim, 0, 0, 0, 0)
    struct.pack_into(order + "hh", head, 252, *codes)
    struct.pack_into(order + "6f", head, 256, *quatern, *qoffset)
    struct.pack_into(order + "12f", head, 280, *np.asarray(srow, dtype=np.float64).ravel())
    head[344:348] = b"n+1\0"
    return bytes(head)


def reference_disagreement(head: bytes) -> tuple[float, float] | None:
    """Shift (mm) and turn of the two forms, or None below the thresholds (every corner of
    the 7 x 8 x 9 grid, numpy throughout)."""
    pixdim = np.frombuffer(head, "<f4", 8, 76)
    quat = np.frombuffer(head, "<f4", 6, 256)
    srow = np.frombuffer(head, "<f4", 12, 280).reshape(3, 4).astype(np.float64)
    q = _qform_matrix(quat, pixdim, 1).astype(np.float64)[:3]
    corners = np.array([[i, j, k, 1.0] for i in (0, 6) for j in (0, 7) for k in (0, 8)]).T
    shift = float(np.max(np.linalg.norm(q @ corners - srow @ corners, axis=0)))
    norms = [np.linalg.norm(m[:, :3], axis=0) for m in (q, srow)]
    if not all(np.all(n > 0) for n in norms):
        return None
    turn = float(np.max(np.abs(q[:, :3] / norms[0] - srow[:, :3] / norms[1])))
    smallest = float(pixdim[1:4].astype(np.float64).min())
    if shift <= FORMS_SHIFT_VOXELS * smallest and turn <= FORMS_DIRECTION_TOLERANCE:
        return None
    return shift, turn


@settings(max_examples=80, deadline=None)
@given(
    pixdim=st.tuples(*[st.sampled_from([0.5, 0.976562, 1.0, 2.5, 3.27])] * 3),
    quatern=st.sampled_from([(0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.1, -0.2, 0.3)]),
    qoffset=st.tuples(*[st.floats(-600.0, 600.0, width=32)] * 3),
    kind=st.sampled_from(["same", "shifted", "nudged", "rotated", "empty"]),
    qfac=st.sampled_from([1.0, -1.0]),
)
def test_form_disagreement_equals_the_full_comparison(pixdim, quatern, qoffset, kind,
                                                      qfac) -> None:
    pix = np.array([qfac, *pixdim, 0, 0, 0, 0], dtype=np.float32)
    quat = np.array([*quatern, *qoffset], dtype=np.float32)
    srow = _qform_matrix(quat, pix, 1).astype(np.float64)[:3].copy()
    if kind == "shifted":
        srow[:, 3] += 10.0
    elif kind == "nudged":  # far below the thresholds, yet not equal: the full comparison
        srow[0, 3] += 1e-3
    elif kind == "rotated":
        srow[:, :3] = srow[:, [1, 0, 2]]
    elif kind == "empty":
        srow[:] = 0.0
    head = header(pixdim, quatern, qoffset, srow, qfac=qfac)
    got = form_disagreement(head)
    ref = reference_disagreement(head)
    if ref is None:
        assert got is None
    else:
        assert got is not None
        assert (got.shift_mm, got.direction) == ref


def test_form_disagreement_refuses_non_finite_and_non_positive_fields() -> None:
    srow = np.array([[1.0, 0, 0, 5.0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    assert form_disagreement(header((1.0, 1.0, 1.0), (0, 0, 0), (0, 0, 0), srow)) is not None
    for pixdim, qoffset in (((1.0, math.nan, 1.0), (0, 0, 0)), ((1.0, 0.0, 1.0), (0, 0, 0)),
                            ((1.0, -1.0, 1.0), (0, 0, 0)), ((1.0, 1.0, 1.0), (0, math.inf, 0))):
        assert form_disagreement(header(pixdim, (0, 0, 0), qoffset, srow)) is None


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(2, 6), st.integers(2, 7), st.integers(1, 8)),
       fill=st.floats(0.01, 0.9), seed=st.integers(0, 2**16))
def test_check_case_counts_and_reads_the_whole_roi(shape, fill, seed) -> None:
    """Random ROIs of four voxels or more (fewer, on a random image, can look like a mask
    given as the image, which is refused) in any slices."""
    rng = np.random.default_rng(seed)
    image = rng.normal(size=shape) * 100.0
    labels = (rng.random(shape) < fill).astype(np.uint8)
    labels.flat[rng.choice(labels.size, 4, replace=False)] = 1
    geometry = ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0))
    case = check_case(Volume(image, *geometry), Volume(labels, *geometry))
    assert case.n_voxels == int(np.count_nonzero(labels))
    np.testing.assert_array_equal(case.mask.array, labels)
    if case.n_voxels <= labels.size - 2:  # a ROI constant on the image: its value noted
        flat = image.copy()
        flat[labels == 1] = 7.0
        notes = dict(check_case(Volume(flat, *geometry), Volume(labels, *geometry)).notes)
        assert "all hold 7 " in notes["roi"]


def test_load_case_hashes_the_bytes_it_reads_as_file_hash(tmp_path) -> None:
    """The SHA-256 of each NIfTI file, taken from the bytes read for decompression, is its
    :func:`radiomix.table.file_hash` (what provenance records), for .nii.gz and .nii."""
    import SimpleITK as sitk

    from radiomix.case import load_case
    from radiomix.table import file_hash

    rng = np.random.default_rng(3)
    voxels = rng.integers(-100, 200, size=(6, 9, 10)).astype(np.int16)
    labels = np.zeros(voxels.shape, dtype=np.uint8)
    labels[2:5, 3:7, 2:8] = 1
    for suffix in (".nii.gz", ".nii"):
        image, mask = tmp_path / f"image{suffix}", tmp_path / f"mask{suffix}"
        sitk.WriteImage(sitk.GetImageFromArray(voxels), str(image))
        sitk.WriteImage(sitk.GetImageFromArray(labels), str(mask))
        case = load_case(str(image), str(mask))
        assert dict(case.sha256) == {image: file_hash(image), mask: file_hash(mask)}
