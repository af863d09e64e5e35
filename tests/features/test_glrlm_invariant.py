"""Property tests of the GLRLM builder (hypothesis).

Oracles: run-length conservation (every ROI voxel lies in exactly one run per direction, so
Σ_j j·r_ij is the number of ROI voxels of grey level i, per direction and per slice), a
plain-Python run count along each axis (itertools.groupby), and invariance of the merged
matrices under flips and axis swaps.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.features.glcm import DIRECTIONS_3D
from radiomix.features.glrlm import glrlm_matrices

N_LEVELS = 4

volumes = st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda shape: arrays(np.int64, shape, elements=st.integers(0, N_LEVELS))
)


def voxels_per_level(levels: np.ndarray) -> np.ndarray:
    return np.array([(levels == i).sum() for i in range(1, N_LEVELS + 1)])


def python_axis_runs(levels: np.ndarray, axis: int, n_runs: int) -> np.ndarray:
    """Runs along one array axis, by grouping equal neighbours of each 1D line."""
    out = np.zeros((N_LEVELS, n_runs), dtype=np.int64)
    moved = np.moveaxis(levels, axis, -1)
    for line in moved.reshape(-1, moved.shape[-1]):
        for level, group in itertools.groupby(line.tolist()):
            if level > 0:
                out[level - 1, len(list(group)) - 1] += 1
    return out


@settings(max_examples=60, deadline=None)
@given(levels=volumes)
def test_run_lengths_conserve_voxels_3d(levels) -> None:
    assume((levels > 0).any())
    stack = glrlm_matrices(levels, levels > 0, n_levels=N_LEVELS, dims=3)
    j = np.arange(1, stack.counts.shape[-1] + 1)
    per_level = voxels_per_level(levels)
    for k in range(13):
        np.testing.assert_array_equal(stack.counts[k] @ j, per_level)
        assert stack.n_voxels[k] == per_level.sum()


@settings(max_examples=60, deadline=None)
@given(levels=volumes)
def test_run_lengths_conserve_voxels_per_slice(levels) -> None:
    assume((levels > 0).any())
    stack = glrlm_matrices(levels, levels > 0, n_levels=N_LEVELS, dims=2)
    j = np.arange(1, stack.counts.shape[-1] + 1)
    for z in range(levels.shape[0]):
        per_level = voxels_per_level(levels[z])
        for k in range(4):
            np.testing.assert_array_equal(stack.counts[z, k] @ j, per_level)
            assert stack.n_voxels[z, k] == per_level.sum()


@settings(max_examples=60, deadline=None)
@given(levels=volumes)
def test_axis_runs_match_a_plain_loop(levels) -> None:
    assume((levels > 0).any())
    stack = glrlm_matrices(levels, levels > 0, n_levels=N_LEVELS, dims=3)
    n_runs = max(levels.shape)
    padded = np.zeros((13, N_LEVELS, n_runs), dtype=np.int64)
    padded[..., : stack.counts.shape[-1]] = stack.counts
    for axis in range(3):
        vectors = DIRECTIONS_3D
        k = int(np.flatnonzero((vectors[:, axis] == 1) & (np.abs(vectors).sum(axis=1) == 1))[0])
        np.testing.assert_array_equal(padded[k], python_axis_runs(levels, axis, n_runs))


@settings(max_examples=40, deadline=None)
@given(levels=volumes, axis=st.integers(0, 2), swap=st.booleans())
def test_merged_matrix_invariant_under_flips_and_in_plane_swap(levels, axis, swap) -> None:
    assume((levels > 0).any())
    moved = np.flip(levels, axis=axis)
    if swap:
        moved = np.swapaxes(moved, 1, 2)

    def merged(lv: np.ndarray, dims: int) -> np.ndarray:
        c = glrlm_matrices(lv, lv > 0, n_levels=N_LEVELS, dims=dims).counts
        out = np.zeros((*c.shape[:-1], max(levels.shape)), dtype=np.int64)
        out[..., : c.shape[-1]] = c
        return out.sum(axis=1 if dims == 2 else 0)

    np.testing.assert_array_equal(merged(levels, 3), merged(moved, 3))
    per_slice = merged(moved, 2)
    if axis == 0:
        per_slice = per_slice[::-1]
    np.testing.assert_array_equal(merged(levels, 2), per_slice)
