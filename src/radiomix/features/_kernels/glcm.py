"""Numba kernel of the grey level co-occurrence matrix builder (private, no validation).

The caller (:func:`radiomix.features.glcm.glcm_matrices`) checks shapes, grey-level range
and offsets, and pads and flattens the grey levels; this kernel assumes them.
"""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import cached_njit


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
        a = levels[k] - 1
        g = voxel_slice[v] if n_groups > 1 else 0
        for d in range(n_dirs):
            out[g, d, a, levels[k + offsets[d]]] += 1
