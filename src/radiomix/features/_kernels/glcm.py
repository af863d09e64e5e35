"""Numba kernels of the grey level co-occurrence matrices (private, no validation).

The caller (:func:`radiomix.features.glcm.glcm_matrices`) checks shapes, grey-level range
and offsets, and pads and flattens the grey levels; :func:`glcm_counts` assumes them.
:func:`diagonal_sums` gives :class:`radiomix.features.glcm.GlcmMarginals` its diagonal
and cross-diagonal marginals.
"""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import U, cached_njit


@cached_njit()
def glcm_counts(
    levels: np.ndarray,
    roi: np.ndarray,
    voxel_slice: np.ndarray,
    offsets: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Count ordered grey-level pairs ``(levels[k], levels[k + m])`` for each offset ``m``.

    Works on a padded, flattened array (see
    :func:`radiomix.features._kernels.neighbourhood.padded_flat`, padded by the distance):
    every neighbour ``k + m`` of a ROI voxel is a valid index, padding and non-ROI voxels
    hold 0, and only the ROI voxels are visited.

    Parameters
    ----------
    levels : (M,) ndarray of int64
        Padded flat grey levels: 1..``n_levels`` inside the ROI, 0 outside.
    roi : (N_v,) ndarray of int64
        Flat indices of the ROI voxels.
    voxel_slice : (N_v,) ndarray of int64
        Group (slice) of each ROI voxel; used when ``n_groups > 1``.
    offsets : (D,) ndarray of int64
        Flat offsets of the direction vectors, already multiplied by the distance.
    out : (G, D, N_g, N_g + 1) ndarray of int64
        Zeros on entry (allocated by the caller: no allocation is compiled here); G is the
        number of groups, the slice count for per-slice (2D) counting, 1 for the volume.
        On return ``out[g, d, i - 1, j]`` counts the pairs of levels ``i``, ``j`` along
        ``+m`` only (not symmetrised). Column 0 collects the pairs whose neighbour lies
        outside the ROI (level 0): the increment needs no branch (an unpredictable one on a
        ROI's boundary voxels); the caller drops it.
    """
    n_dirs = offsets.shape[0]
    n_groups = out.shape[0]
    for v in range(roi.shape[0]):
        k = roi[v]
        a = U(levels[U(k)] - 1)
        g = U(voxel_slice[v] if n_groups > 1 else 0)
        for d in range(n_dirs):
            out[g, U(d), a, U(levels[U(k + offsets[d])])] += 1


@cached_njit()
def diagonal_sums(
    p_ij: np.ndarray, levels: np.ndarray, minus: np.ndarray, plus: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Diagonal and cross-diagonal sums of K joint probability matrices.

    Adds each ``p_ij`` to ``minus[:, |i - j|]`` and to ``plus[:, i + j - 2]`` in the order
    of the elements (matrix by matrix, row by row): the additions ``np.bincount`` makes over
    the flattened matrices, in one pass for both marginals.

    Parameters
    ----------
    p_ij : (K, P, P) ndarray of float64
        Joint probabilities, C-contiguous.
    levels : (P,) ndarray of int64
        Grey level (1..N_g) of each row and column.
    minus : (K, N_g) ndarray of float64
    plus : (K, 2 N_g - 1) ndarray of float64
        Zeros on entry (allocated by the caller); on return p_{i-j,k}, k = 0..N_g-1, and
        p_{i+j,k}, k = 2..2N_g.
    """
    n_levels = levels.shape[0]
    for m in range(p_ij.shape[0]):
        for a in range(n_levels):
            i = levels[a]
            for b in range(n_levels):
                j = levels[b]
                p = p_ij[U(m), U(a), U(b)]
                minus[U(m), U(abs(i - j))] += p
                plus[U(m), U(i + j - 2)] += p
