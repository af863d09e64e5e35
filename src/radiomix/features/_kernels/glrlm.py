"""Numba kernel of the grey level run length matrix builder (private, no validation).

The caller (:func:`radiomix.features.glrlm.glrlm_matrices`) checks shapes, grey-level
range and directions, and pads and flattens the grey levels; this kernel assumes them.
"""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import U, cached_njit


@cached_njit()
def glrlm_counts(
    levels: np.ndarray,
    roi: np.ndarray,
    voxel_slice: np.ndarray,
    offsets: np.ndarray,
    position: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Count runs of equal grey level along each direction, visiting ROI voxels only.

    Works on a padded, flattened array (see
    :func:`radiomix.features._kernels.neighbourhood.padded_flat`, padding 1): a run is a
    maximal sequence of ROI voxels ``k, k + o, k + 2o, ...`` with one grey level (padding
    and non-ROI voxels hold 0, so runs stop there). Runs along ``-o`` are those along
    ``o``, so the kernel walks every direction with the positive offset ``|o|``. ROI voxels
    are visited in ascending flat order, so the predecessor ``k - |o|`` comes first: the
    position of ``k`` in its run is one more than the predecessor's when both hold the
    same level, else 1, and a run is counted at its last voxel (the successor
    ``k + |o|`` holds another level) with its length, that position. Each direction costs
    O(N_v); voxels outside the ROI are never scanned.

    Parameters
    ----------
    levels : (M,) ndarray of int64
        Padded flat grey levels: 1..``n_levels`` inside the ROI, 0 outside.
    roi : (N_v,) ndarray of int64
        Ascending flat indices of the ROI voxels.
    voxel_slice : (N_v,) ndarray of int64
        Group (slice) of each ROI voxel; used when ``n_groups > 1``.
    offsets : (D,) ndarray of int64
        Flat offset of each direction.
    position : (M,) ndarray of int32
        Scratch: each voxel's position in its run. No initial values needed: the
        predecessor's position counts only when it holds the voxel's level, so it is a ROI
        voxel visited before (otherwise its value is multiplied by 0).
    out : (G, D, N_g, max_run) ndarray of int64
        Zeros on entry (the caller allocates: no allocation is compiled here); G groups
        (the slice count for per-slice (2D) counting, 1 for the volume), ``max_run`` the
        longest possible run (the largest array dimension along the directions). On return
        element ``[g, d, i - 1, j - 1]`` counts runs of level ``i`` and length ``j``.
    """
    n_dirs = offsets.shape[0]
    n_groups = out.shape[0]
    for d in range(n_dirs):
        o = abs(offsets[d])
        for v in range(roi.shape[0]):
            k = roi[v]
            a = levels[U(k)]
            # Branch-free: the level comparisons are unpredictable inside a textured ROI.
            p = np.int32(levels[U(k - o)] == a) * position[U(k - o)] + 1
            position[U(k)] = p
            g = voxel_slice[v] if n_groups > 1 else 0
            out[U(g), U(d), U(a - 1), U(p - 1)] += np.int64(levels[U(k + o)] != a)
