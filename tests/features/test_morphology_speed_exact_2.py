"""Fused morphology helpers against their plain numpy formulations (exact equality).

The mesh's post-processing (vertex scaling and shift, int64 faces, per-face volume and
area terms) and the voxel-centre list of the PCA were moved into numba kernels; each
must give the very same bits as the straightforward formulation (skimage's own vertex
scaling, numpy arithmetic, ``np.argwhere``).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.features import morphology as morph
from radiomix.features._kernels import morphology as _k
from radiomix.roi import bounding_box

SPACINGS = st.tuples(*[st.sampled_from([0.5, 0.7813, 0.977, 1.0, 2.0, 3.1, 3.27])] * 3)


def _mesh_numpy(mask: np.ndarray, spacing: tuple[float, float, float]) -> morph.Mesh:
    """The plain formulation: skimage scales the vertices, numpy shifts and sums."""
    from skimage.measure import marching_cubes

    box = bounding_box(mask)
    lo = tuple(b.start for b in box)
    padded = np.pad(mask[box], 1)
    sp = np.asarray(spacing, dtype=np.float64)
    verts, faces = marching_cubes(padded.astype(np.float32), level=0.5, spacing=tuple(sp))[:2]
    verts = verts + (np.asarray(lo, dtype=np.float64) - 1.0) * sp
    faces = faces.astype(np.int64)
    a, b, c = (verts[faces[:, i]] for i in range(3))
    six_v = (
        a[:, 0] * (b[:, 1] * c[:, 2] - b[:, 2] * c[:, 1])
        + a[:, 1] * (b[:, 2] * c[:, 0] - b[:, 0] * c[:, 2])
        + a[:, 2] * (b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0])
    )
    u, v = b - a, c - a
    x = u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1]
    y = u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2]
    z = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    twice_a = np.sqrt(x * x + y * y + z * z)
    return morph.Mesh(
        vertices=verts,
        faces=faces,
        volume=abs(float(six_v.sum())) / 6.0,
        area=float(twice_a.sum()) / 2.0,
    )


@settings(max_examples=80, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 7)] * 3)),
    fill=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**16),
    margin=st.tuples(*[st.integers(0, 2)] * 3),
    spacing=SPACINGS,
)
def test_mesh_equals_the_numpy_formulation(mask, fill, seed, margin, spacing) -> None:
    """Vertices, faces, volume and area bit for bit (random masks inside a margin)."""
    rng = np.random.default_rng(seed)
    mask = mask | (rng.random(mask.shape) < fill)
    mask.flat[0] = True
    mask = np.pad(mask, [(m, 1) for m in margin])
    got = morph.roi_mesh(mask, spacing=spacing)
    want = _mesh_numpy(mask, spacing)
    np.testing.assert_array_equal(got.vertices, want.vertices)
    np.testing.assert_array_equal(got.faces, want.faces)
    assert got.faces.dtype == np.int64
    assert got.vertices.flags.c_contiguous
    assert got.volume == want.volume
    assert got.area == want.area


def test_mesh_of_the_phantom_equals_the_numpy_formulation(shared_data) -> None:
    from radiomix.io import read_volume

    mask = read_volume(shared_data / "ibsi1" / "ct_phantom" / "nifti" / "mask.nii.gz").array > 0
    got = morph.roi_mesh(mask, spacing=(2.0, 0.977, 0.977))
    want = _mesh_numpy(mask, (2.0, 0.977, 0.977))
    np.testing.assert_array_equal(got.vertices, want.vertices)
    np.testing.assert_array_equal(got.faces, want.faces)
    assert (got.volume, got.area) == (want.volume, want.area)


@settings(max_examples=60, deadline=None)
@given(mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 9)] * 3)), spacing=SPACINGS)
def test_voxel_centres_equal_argwhere_times_spacing(mask, spacing) -> None:
    """Values and memory layout of ``np.argwhere(mask).astype(float) * spacing``."""
    sp = np.asarray(spacing, dtype=np.float64)
    out = np.empty((3, np.count_nonzero(mask)))
    _k.voxel_centres(np.ascontiguousarray(mask), sp, out)
    want = np.argwhere(mask).astype(np.float64) * sp
    np.testing.assert_array_equal(out.T, want)
    assert out.T.flags.f_contiguous == want.flags.f_contiguous
    if want.shape[0] >= 2:  # the PCA reads them: the same covariance bits
        np.testing.assert_array_equal(np.cov(out, ddof=1), np.cov(want.T, ddof=1))


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 9)] * 3)),
    seed=st.integers(0, 2**16),
    spacing=SPACINGS,
)
def test_weighted_coordinate_sums_equal_a_raster_loop(mask, seed, spacing) -> None:
    """The sums of ``index * spacing * value`` over the mask, added in raster order."""
    values = np.random.default_rng(seed).normal(size=int(mask.sum())) * 100.0
    sp = np.asarray(spacing, dtype=np.float64)
    want = [0.0, 0.0, 0.0]
    for k, idx in enumerate(np.argwhere(mask)):
        for a in range(3):
            want[a] += (float(idx[a]) * float(sp[a])) * float(values[k])
    got = np.zeros(3)
    _k.weighted_coordinate_sums(np.ascontiguousarray(mask), values, sp, got)
    np.testing.assert_array_equal(got, want)
