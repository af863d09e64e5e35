"""Numba kernel of the grey level co-occurrence matrix builder (private, no validation).

The caller (:func:`radiomix.features.glcm.glcm_matrices`) checks shapes, grey-level range
and offsets; this kernel assumes them.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def glcm_counts(
    levels: np.ndarray, offsets: np.ndarray, n_levels: int, per_slice: bool
) -> np.ndarray:  # pragma: no cover - compiled
    """Count ordered grey-level pairs ``(levels[k], levels[k + m])`` for each offset ``m``.

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int64
        Grey levels 1..``n_levels`` inside the ROI, 0 outside (0 voxels are skipped).
    offsets : (D, 3) ndarray of int64
        Direction vectors (dz, dy, dx), already multiplied by the distance.
    n_levels : int
        Number of grey levels N_g.
    per_slice : bool
        Count each slice (axis 0) separately (2D); otherwise one group for the volume.

    Returns
    -------
    (G, D, N_g, N_g) ndarray of int64
        Pair counts along ``+m`` only (not symmetrised); ``G`` is Z when ``per_slice``
        and 1 otherwise. Row index ``levels[k] - 1``, column index ``levels[k + m] - 1``.
    """
    nz, ny, nx = levels.shape
    n_dirs = offsets.shape[0]
    n_groups = nz if per_slice else 1
    out = np.zeros((n_groups, n_dirs, n_levels, n_levels), dtype=np.int64)
    for z in range(nz):
        g = z if per_slice else 0
        for y in range(ny):
            for x in range(nx):
                a = levels[z, y, x]
                if a == 0:
                    continue
                for d in range(n_dirs):
                    z2 = z + offsets[d, 0]
                    y2 = y + offsets[d, 1]
                    x2 = x + offsets[d, 2]
                    if z2 < 0 or z2 >= nz or y2 < 0 or y2 >= ny or x2 < 0 or x2 >= nx:
                        continue
                    b = levels[z2, y2, x2]
                    if b != 0:
                        out[g, d, a - 1, b - 1] += 1
    return out
