"""Cheaper loading and checking paths against independent computations.

- :func:`~radiomix.io.image.file_stat` against :meth:`pathlib.Path.exists`, ``is_file`` and
  ``is_dir`` (the system calls it replaces).
- :func:`~radiomix.io.image.check_geometry` (on Python floats) against the numpy
  formulation of its orthonormality test.
- :func:`~radiomix.io.nifti_geometry._clearly_invertible` (the Frobenius-norm bound that
  spares the SVD) against the singular values themselves: it never says "clear" where
  their ratio is at or below ITK's 1e-10.
- :func:`~radiomix.check.check_case` (which reads the whole ROI only when its first slice
  holds few values) against the refusals of a mask given as the image and of a label map,
  written out here on the whole ROI.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.check import LABEL_MAP_VALUES, check_case
from radiomix.errors import InputError
from radiomix.io.image import check_geometry, file_stat
from radiomix.io.nifti_geometry import _clearly_invertible
from radiomix.io.volume import Volume

# -- one status call for exists / is_file / is_dir ------------------------------------------


def test_file_stat_answers_as_pathlib(tmp_path: Path) -> None:
    regular = tmp_path / "a.nii.gz"
    regular.write_bytes(b"x")
    folder = tmp_path / "series"
    folder.mkdir()
    for path in (regular, folder, tmp_path / "missing.nii", regular / "below.nii",
                 Path("bad\0name")):
        found = file_stat(path)
        assert (found is not None) == path.exists()
        if found is not None:
            assert (found.st_mode & 0o170000 == 0o100000) == path.is_file()
            assert (found.st_mode & 0o170000 == 0o040000) == path.is_dir()
            assert found.st_size == path.stat().st_size


# -- the orthonormality test of check_geometry ----------------------------------------------


def _numpy_orthonormal(direction: list[float]) -> bool:
    d = np.asarray(direction, dtype=np.float64)
    n = round(math.sqrt(d.size))
    d = d.reshape(n, n)
    return bool(np.all(np.isfinite(d)) and np.abs(d.T @ d - np.eye(n)).max() < 1e-3)


@settings(max_examples=300, deadline=None)
@given(
    angles=st.tuples(*[st.floats(-math.pi, math.pi)] * 3),
    shear=st.sampled_from([0.0, 1e-5, 3e-4, 4.9e-4, 5.1e-4, 1e-3, 2e-3, 0.1]),
    flip=st.sampled_from([1.0, -1.0]),
)
def test_check_geometry_decides_as_numpy(angles, shear, flip) -> None:
    a, b, c = angles
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    d = rz @ ry @ rx @ np.array([[1.0, shear, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, flip]])
    direction = [float(v) for v in d.ravel()]
    expected = _numpy_orthonormal(direction)
    if expected:
        check_geometry((1.0, 1.0, 2.5), (0.0, -10.0, 5.0), direction, "image file x.nii")
    else:
        with pytest.raises(InputError, match="not orthonormal"):
            check_geometry((1.0, 1.0, 2.5), (0.0, -10.0, 5.0), direction, "image file x.nii")


def test_check_geometry_refuses_spacing_origin_and_non_finite_cosines() -> None:
    eye = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    with pytest.raises(InputError, match=r"voxel spacing of \[1\.0, 0\.0, 2\.0\] mm"):
        check_geometry((1.0, 0.0, 2.0), (0.0, 0.0, 0.0), eye, "image file x.nii")
    with pytest.raises(InputError, match="non-finite origin"):
        check_geometry((1.0, 1.0, 2.0), (0.0, math.nan, 0.0), eye, "image file x.nii")
    with pytest.raises(InputError, match="not orthonormal"):
        check_geometry((1.0, 1.0, 2.0), (0.0, 0.0, 0.0), (*eye[:8], math.inf), "x")


# -- the conditioning bound of the sform test -----------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    top=hnp.arrays(np.float64, (3, 3), elements=st.floats(-1e3, 1e3, width=32)),
    scale=st.sampled_from([1e-9, 1e-6, 1e-3, 1.0, 1e3]),
    column=st.integers(0, 2),
    shift=st.tuples(*[st.floats(-1e4, 1e4, width=32)] * 3),
)
def test_clearly_invertible_only_where_the_singular_values_say_so(top, scale, column,
                                                                    shift) -> None:
    m = np.zeros((4, 4), dtype=np.float32)
    m[:3, :3] = top
    m[:3, column] *= np.float32(scale)  # near-singular matrices too
    m[:3, 3] = shift
    m[3, 3] = 1.0
    sv = np.linalg.svd(m.astype(np.float64), compute_uv=False)
    if _clearly_invertible(m.tolist()):
        assert sv[-1] / sv[0] > 1e-10


def test_clearly_invertible_on_a_scanner_grid_and_not_on_a_singular_one() -> None:
    grid = [[-0.976562, 0.0, 0.0, 250.0], [0.0, -0.976562, 0.0, 180.0],
            [0.0, 0.0, 3.27, -600.0], [0.0, 0.0, 0.0, 1.0]]
    assert _clearly_invertible(grid)
    flat = [row[:] for row in grid]
    flat[2][2] = 0.0
    assert not _clearly_invertible(flat)
    not_affine = [row[:] for row in grid]
    not_affine[3][0] = 1.0
    assert not _clearly_invertible(not_affine)


# -- the mask-as-image and label-map refusals, on the whole ROI ------------------------------


def _reference_refusal(image: np.ndarray, mask: np.ndarray) -> str | None:
    """What check_case must refuse of a 0/1 mask and its image, from the whole ROI."""
    roi = mask == 1
    inside = image[roi]
    if inside.size == image.size:
        return None
    if inside.min() == inside.max():  # constant ROI
        if image.min() == image.max():
            return None
        if np.array_equal(image, mask):
            return "the mask's values, voxel for voxel"
        if all(np.unique(image[mask == v]).size == 1 for v in np.unique(mask)):
            return "constant on each of the mask's labels"
        if np.unique(image).size <= 2:
            return "holds only the values"
        return None
    if np.unique(image).size <= LABEL_MAP_VALUES:
        return "in all its voxels"
    return None


@settings(max_examples=300, deadline=None)
@given(data=st.data(), shape=st.tuples(st.integers(1, 4), st.integers(2, 6),
                                       st.integers(2, 6)))
def test_check_case_refuses_masks_and_label_maps_as_on_the_whole_roi(data, shape) -> None:
    mask = data.draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, 1)))
    if not mask.any():
        mask.flat[0] = 1
    values = data.draw(st.sampled_from([2, 3, 4, 6, 40]))
    image = data.draw(hnp.arrays(np.int16, shape, elements=st.integers(0, values - 1)))
    if data.draw(st.booleans()):
        image = mask.astype(np.int16) * 7  # the mask rescaled
    spacing, origin = (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)
    eye = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    expected = _reference_refusal(image, mask)
    img = Volume(image, spacing, origin, eye)
    msk = Volume(mask, spacing, origin, eye)
    if expected is None:
        checked = check_case(img, msk)
        assert checked.n_voxels == int(np.count_nonzero(mask))
    else:
        with pytest.raises(InputError, match=expected):
            check_case(img, msk)
