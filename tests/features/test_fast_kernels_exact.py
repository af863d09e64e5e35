"""Faster kernels against independent computations: exact (integer) or last-bit equality.

- GLCM pair counting over the ROI voxels only (padded flat array) against a plain
  Python loop over every voxel pair.
- GLRLM run counting over the ROI voxels only (padded flat array) against a plain
  Python walk over every voxel and direction.
- Trilinear interpolation (numba) against ``scipy.ndimage.affine_transform`` (order 1,
  mode ``nearest``), which it must reproduce to the last bits (rtol 1e-12), on random grids
  that extrapolate beyond the array and on the IBSI CT phantom / STS CT cases.
- The 0/1 fast path of mask label selection against :func:`numpy.unique`.

(The interpolation test belongs to ``tests/process``; it sits here with the other kernel
tests of the speed-up.)
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracles import bfs_zone_partition, brute_force_sphere_means
from scipy import ndimage

from radiomix.check import select_label
from radiomix.errors import AmbiguousLabelError, LabelNotFoundError
from radiomix.features.glcm import DIRECTIONS_2D, DIRECTIONS_3D, glcm_matrices
from radiomix.features.glrlm import glrlm_matrices
from radiomix.process.interpolate import Grid, aligned_grid, resample

# --------------------------------------------------------------------------------------
# GLRLM
# --------------------------------------------------------------------------------------


def brute_force_runs(levels: np.ndarray, dims: int) -> np.ndarray:
    """Run counts (G, D, N_g, N_max) by walking every maximal run from its first voxel."""
    directions = DIRECTIONS_2D if dims == 2 else DIRECTIONS_3D
    nz, ny, nx = levels.shape
    n_g = int(levels.max())
    n_max = max(levels.shape)
    groups = nz if dims == 2 else 1
    out = np.zeros((groups, len(directions), n_g, n_max), dtype=np.int64)

    def level(z: int, y: int, x: int) -> int:
        inside = 0 <= z < nz and 0 <= y < ny and 0 <= x < nx
        return int(levels[z, y, x]) if inside else 0

    for d, (dz, dy, dx) in enumerate(directions):
        for z in range(nz):
            for y in range(ny):
                for x in range(nx):
                    a = level(z, y, x)
                    if a == 0 or level(z - dz, y - dy, x - dx) == a:
                        continue
                    n = 1
                    while level(z + n * dz, y + n * dy, x + n * dx) == a:
                        n += 1
                    out[z if dims == 2 else 0, d, a - 1, n - 1] += 1
    return out


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_glrlm_counts_equal_brute_force(dims: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(2, 9, size=3))
    levels = rng.integers(1, 4, size=shape)
    levels[rng.random(shape) < 0.3] = 0  # holes: runs stop at non-ROI voxels
    levels[0, 0, 0] = 3  # the top level occurs
    stack = glrlm_matrices(levels, levels > 0, n_levels=3, dims=dims)
    expected = brute_force_runs(levels, dims)
    n_r = stack.counts.shape[-1]
    got = stack.counts if dims == 2 else stack.counts[None]
    assert np.array_equal(got, expected[..., :n_r])
    assert not expected[..., n_r:].any()


def test_glrlm_run_along_whole_axis_and_border() -> None:
    # one level filling the array: along x every row is one run of length nx
    levels = np.ones((2, 3, 5), dtype=np.int64)
    stack = glrlm_matrices(levels, levels > 0, n_levels=1, dims=3)
    x_dir = next(i for i, d in enumerate(DIRECTIONS_3D) if tuple(d) == (0, 0, 1))
    assert stack.counts[x_dir, 0, 4] == 6  # 2 slices x 3 rows
    assert stack.counts[x_dir].sum() == 6


# --------------------------------------------------------------------------------------
# GLCM
# --------------------------------------------------------------------------------------


def brute_force_pairs(levels: np.ndarray, dims: int, distance: int) -> np.ndarray:
    """Symmetric pair counts (G, D, N_g, N_g) by a plain loop over voxels and offsets."""
    directions = (DIRECTIONS_2D if dims == 2 else DIRECTIONS_3D) * distance
    nz, ny, nx = levels.shape
    n_g = int(levels.max())
    out = np.zeros((nz if dims == 2 else 1, len(directions), n_g, n_g), dtype=np.int64)
    for d, (dz, dy, dx) in enumerate(directions):
        for z, y, x in np.argwhere(levels > 0):
            z2, y2, x2 = z + dz, y + dy, x + dx
            if 0 <= z2 < nz and 0 <= y2 < ny and 0 <= x2 < nx and levels[z2, y2, x2] > 0:
                a, b = levels[z, y, x] - 1, levels[z2, y2, x2] - 1
                out[z if dims == 2 else 0, d, a, b] += 1
                out[z if dims == 2 else 0, d, b, a] += 1
    return out


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("distance", [1, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_glcm_counts_equal_brute_force(dims: int, distance: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(2, 8, size=3))
    levels = rng.integers(1, 5, size=shape)
    levels[rng.random(shape) < 0.3] = 0
    levels[0, 0, 0] = 4
    got = glcm_matrices(levels, levels > 0, n_levels=4, distance=distance, dims=dims)
    expected = brute_force_pairs(levels, dims, distance)
    assert np.array_equal(got if dims == 2 else got[None], expected)


@st.composite
def roi_levels(draw: st.DrawFn) -> np.ndarray:
    """Small grey-level arrays, 0 outside the ROI, up to 5 levels, 1..7 voxels per axis."""
    shape = draw(st.tuples(*[st.integers(1, 7)] * 3))
    levels = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 5)))
    levels.flat[draw(st.integers(0, levels.size - 1))] = 5  # a non-empty ROI with level 5
    return levels


@settings(max_examples=60, deadline=None)
@given(levels=roi_levels(), dims=st.sampled_from([2, 3]))
def test_glrlm_counts_property_brute_force(levels: np.ndarray, dims: int) -> None:
    """The branch-free run kernel counts every run a plain walk finds."""
    stack = glrlm_matrices(levels, levels > 0, n_levels=5, dims=dims)
    expected = brute_force_runs(levels, dims)
    n_r = stack.counts.shape[-1]
    got = stack.counts if dims == 2 else stack.counts[None]
    assert np.array_equal(got, expected[..., :n_r])
    assert not expected[..., n_r:].any()


@settings(max_examples=60, deadline=None)
@given(levels=roi_levels(), dims=st.sampled_from([2, 3]), distance=st.integers(1, 3))
def test_glcm_counts_property_brute_force(levels: np.ndarray, dims: int, distance: int) -> None:
    """The branch-free pair kernel equals a plain loop over voxel pairs, for any distance."""
    got = glcm_matrices(levels, levels > 0, n_levels=5, distance=distance, dims=dims)
    expected = brute_force_pairs(levels, dims, distance)
    assert np.array_equal(got if dims == 2 else got[None], expected)


# --------------------------------------------------------------------------------------
# Trilinear interpolation
# --------------------------------------------------------------------------------------


def scipy_linear(array: np.ndarray, grids: tuple[Grid, Grid, Grid], rng) -> np.ndarray:
    offset = [g.start + g.step * lo for g, (lo, _) in zip(grids, rng, strict=True)]
    return ndimage.affine_transform(
        np.asarray(array, dtype=np.float64),
        matrix=np.array([g.step for g in grids]),
        offset=np.array(offset),
        output_shape=tuple(hi - lo for lo, hi in rng),
        order=1,
        mode="nearest",
        prefilter=False,
    )


def assert_same_as_scipy(got: np.ndarray, ref: np.ndarray) -> None:
    """Two kernels (numba, scipy's C) agree to the last bits, not bit for bit.

    Same operations in the same order, but the compilers may contract a*b+c into one fused
    multiply-add on CPUs that have it, which moves the last bit (~1e-16 relative). rtol 1e-12
    leaves 4 orders of margin and catches any wrong weight or neighbour (>= 1e-3 relative).
    """
    scale = max(1.0, float(np.abs(ref).max(initial=0.0)))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * scale)


def test_trilinear_matches_scipy_random_grids() -> None:
    rng = np.random.default_rng(11)
    for _ in range(150):
        shape = tuple(int(s) for s in rng.integers(1, 10, size=3))
        array = rng.normal(size=shape) * 1000.0
        grids = tuple(
            Grid(int(rng.integers(1, 14)), float(rng.uniform(-3, 3)), float(rng.uniform(0.1, 3)))
            for _ in range(3)
        )
        index_range = []
        for g in grids:
            lo = int(rng.integers(0, g.size))
            index_range.append((lo, int(rng.integers(lo + 1, g.size + 1))))
        ir = tuple(index_range)
        got = resample(array, grids, order=1, index_range=ir)  # type: ignore[arg-type]
        assert_same_as_scipy(got, scipy_linear(array, grids, ir))


def test_trilinear_matches_scipy_on_non_contiguous_crop() -> None:
    rng = np.random.default_rng(3)
    full = np.round(rng.normal(size=(12, 15, 14)) * 300.0)
    crop = full[2:10, 1:14, 3:12]  # a view, as the pipeline passes it
    grids = tuple(aligned_grid(n, s, 2.0) for n, s in zip(crop.shape, (3.0, 0.8, 0.8), strict=True))
    ir = tuple((0, g.size) for g in grids)
    got = resample(crop, grids, order=1, index_range=ir)  # type: ignore[arg-type]
    assert_same_as_scipy(got, scipy_linear(crop, grids, ir))


@pytest.mark.parametrize("case", ["ct_phantom", "STS_002", "STS_048"])
def test_trilinear_matches_scipy_on_reference_images(shared_data, case: str) -> None:
    import SimpleITK as sitk

    folder = (
        shared_data / "ibsi1" / "ct_phantom" / "nifti"
        if case == "ct_phantom"
        else shared_data / "sts" / "nifti" / case / "ct"
    )
    image = sitk.ReadImage(str(folder / "image.nii.gz"))
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"))
    spacing = image.GetSpacing()[::-1]
    for array in (
        sitk.GetArrayFromImage(image).astype(np.float64),
        (sitk.GetArrayFromImage(mask) > 0).astype(np.float64),
    ):
        for target in (1.0, 2.0):
            grids = tuple(
                aligned_grid(n, s, target) for n, s in zip(array.shape, spacing, strict=True)
            )
            ir = tuple((0, g.size) for g in grids)
            got = resample(array, grids, order=1, index_range=ir)  # type: ignore[arg-type]
            assert_same_as_scipy(got, scipy_linear(array, grids, ir))


# --------------------------------------------------------------------------------------
# Mask label selection
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, bool])
def test_binary_label_fast_path_matches_unique(dtype) -> None:
    rng = np.random.default_rng(5)
    values = (rng.random((4, 5, 6)) < 0.3).astype(dtype)
    roi = select_label(values, label=None)
    assert np.array_equal(roi, np.asarray(values) == 1)
    assert np.array_equal(select_label(values, label=1), roi)
    with pytest.raises(LabelNotFoundError, match=r"label 2 not found.*labels present: \[1\]"):
        select_label(values, label=2)
    empty = np.zeros((2, 2, 2), dtype=dtype)
    assert not select_label(empty, label=None).any()
    with pytest.raises(LabelNotFoundError, match=r"none \(mask is empty\)"):
        select_label(empty, label=1)


def test_multi_label_and_negative_labels_still_seen() -> None:
    values = np.zeros((3, 3, 3), dtype=np.int16)
    values[0, 0, 0] = 1
    values[1, 1, 1] = -1
    with pytest.raises(AmbiguousLabelError, match=r"several labels \[-1, 1\]"):
        select_label(values, label=None)
    values[1, 1, 1] = 2
    with pytest.raises(AmbiguousLabelError, match=r"several labels \[1, 2\]"):
        select_label(values, label=None)
    assert select_label(values, label=2).sum() == 1


# --------------------------------------------------------------------------------------
# Local intensity: sphere means at the mask voxels
# --------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 7), st.integers(1, 12)),
    spacing=st.sampled_from([(2.0, 2.0, 2.0), (3.0, 2.5, 2.5), (4.0, 4.0, 1.5)]),
    seed=st.integers(0, 2**16),
)
def test_sphere_means_at_equal_brute_force(shape, spacing, seed) -> None:
    """Runs of four voxels, single voxels and border voxels: the means of a plain loop.

    Both add each voxel's offsets in the same order, so they agree to the last bits; the
    tolerance (1e-13 relative) only leaves room for a compiler's fused multiply-adds.
    """
    from radiomix.features._kernels.local_intensity import sphere_means_at
    from radiomix.features.local_intensity import sphere_kernel

    rng = np.random.default_rng(seed)
    image = rng.normal(size=shape) * 100.0
    mask = rng.random(shape) < 0.7
    kernel = sphere_kernel(spacing, radius=4.0)
    offsets = np.ascontiguousarray(
        np.argwhere(kernel) - np.asarray(kernel.shape) // 2, dtype=np.int64
    )
    dz, dy, dx = (np.ascontiguousarray(offsets[:, a]) for a in range(3))
    flat = (dz * shape[1] + dy) * shape[2] + dx
    halo = tuple(int(np.abs(o).max()) for o in (dz, dy, dx))
    got = np.empty(int(mask.sum()))
    sphere_means_at(
        image.ravel(), mask.ravel(), shape, halo, dz, dy, dx, flat, np.empty(shape[2]), got
    )
    np.testing.assert_allclose(
        got, brute_force_sphere_means(image, mask, offsets), rtol=1e-13, atol=1e-10
    )


# --------------------------------------------------------------------------------------
# Convex hull of the mesh from the plane-filtered vertices
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 7)] * 3)),
    spacing=st.tuples(*[st.sampled_from([0.5, 0.977, 1.0, 2.0, 3.27])] * 3),
)
def test_hull_of_plane_filtered_vertices_is_the_hull_of_all(mask, spacing) -> None:
    """Qhull on the kept vertices finds the same hull vertices, in the same order."""
    from radiomix.features.morphology import convex_hull, hull_candidates, roi_mesh

    mask = mask.copy()
    mask.flat[0] = True
    vertices = roi_mesh(mask, spacing=spacing).vertices
    keep = hull_candidates(vertices, spacing)
    if np.linalg.matrix_rank(vertices - vertices.mean(axis=0)) < 3:
        return  # flat meshes do not occur (a one-voxel mesh already spans 3D)
    full = convex_hull(vertices)
    kept = convex_hull(vertices[keep])
    np.testing.assert_array_equal(kept.vertices, full.vertices)
    np.testing.assert_allclose([kept.volume, kept.area], [full.volume, full.area], rtol=1e-12)


def test_hull_candidates_keep_points_off_the_grid() -> None:
    """Points that are not mask-mesh vertices (off the half-voxel grid) are all kept."""
    from radiomix.features.morphology import hull_candidates

    pts = np.random.default_rng(5).normal(size=(50, 3))
    assert hull_candidates(pts, (1.0, 1.0, 1.0)).all()


@settings(max_examples=40, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 6)] * 3)),
    spacing=st.tuples(*[st.sampled_from([0.5, 0.977, 2.0, 3.27])] * 3),
    seed=st.integers(0, 2**16),
)
def test_weighted_coordinate_sums_equal_numpy(mask, spacing, seed) -> None:
    """The centre-of-mass sums without temporaries equal numpy's (to summation order).

    The kernel adds the voxels in raster order; numpy adds rows of an (N, 3) array in order
    or pairwise, depending on the array: agreement to rounding of the sum of |terms|.
    """
    from radiomix.features._kernels.morphology import weighted_coordinate_sums

    values = np.random.default_rng(seed).normal(size=int(mask.sum())) * 500.0
    sp = np.asarray(spacing, dtype=np.float64)
    terms = np.argwhere(mask).astype(np.float64) * sp * values[:, None]
    scale = np.abs(terms).sum() + 1.0
    sums = np.zeros(3)
    weighted_coordinate_sums(mask, values, sp, sums)
    np.testing.assert_allclose(sums, terms.sum(axis=0), rtol=0, atol=1e-14 * scale)


# --------------------------------------------------------------------------------------
# Zone labelling at linkage distances 1 and 2 against a breadth-first search
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 7)),
    n_levels=st.integers(1, 4),
    distance=st.sampled_from([1, 2]),
    planar=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_zone_labelling_equals_breadth_first_search(shape, n_levels, distance, planar, seed):
    """The union-find labelling, with the links left to the next voxel, gives the zones of
    a plain breadth-first search (the same partition, numbered alike) at δ = 1 and 2."""
    from radiomix.features.glszm import label_zone_map

    rng = np.random.default_rng(seed)
    levels = rng.integers(1, n_levels + 1, size=shape)
    mask = rng.random(shape) < 0.8
    mask.flat[0] = True
    zones = label_zone_map(levels, mask, planar=planar, linkage_distance=distance)
    expected = bfs_zone_partition(levels, mask, distance, planar)
    np.testing.assert_array_equal(zones.voxel_zone, expected)
    np.testing.assert_array_equal(zones.size, np.bincount(expected))
