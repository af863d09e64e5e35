"""Numba kernel of the grey level run length matrix builder (private, no validation).

The caller (:func:`radiomix.features.glrlm.glrlm_matrices`) checks shapes, grey-level
range and directions; this kernel assumes them.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def glrlm_counts(
    levels: np.ndarray, directions: np.ndarray, n_levels: int, max_run: int, per_slice: bool
) -> np.ndarray:  # pragma: no cover - compiled
    """Count runs of equal grey level along each direction.

    A run is a maximal sequence of voxels ``k, k + m, k + 2m, ...`` inside the ROI
    (level > 0) with one grey level. Each run is found once, from its first voxel (the
    voxel whose predecessor ``k - m`` is outside the array, outside the ROI or of another
    level), and followed forward.

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int64
        Grey levels 1..``n_levels`` inside the ROI, 0 outside.
    directions : (D, 3) ndarray of int64
        Unit direction vectors (dz, dy, dx).
    n_levels : int
        Number of grey levels N_g.
    max_run : int
        Longest possible run (the largest array dimension).
    per_slice : bool
        Count each slice (axis 0) separately (2D, in-plane directions only); otherwise one
        group for the volume.

    Returns
    -------
    (G, D, N_g, max_run) ndarray of int64
        Run counts; element ``[g, d, i - 1, j - 1]`` counts runs of level ``i`` and length
        ``j``. ``G`` is Z when ``per_slice`` and 1 otherwise.
    """
    nz, ny, nx = levels.shape
    n_dirs = directions.shape[0]
    n_groups = nz if per_slice else 1
    out = np.zeros((n_groups, n_dirs, n_levels, max_run), dtype=np.int64)
    for d in range(n_dirs):
        dz = directions[d, 0]
        dy = directions[d, 1]
        dx = directions[d, 2]
        for z in range(nz):
            g = z if per_slice else 0
            for y in range(ny):
                for x in range(nx):
                    a = levels[z, y, x]
                    if a == 0:
                        continue
                    zp = z - dz
                    yp = y - dy
                    xp = x - dx
                    inside = 0 <= zp < nz and 0 <= yp < ny and 0 <= xp < nx
                    if inside and levels[zp, yp, xp] == a:
                        continue  # not the first voxel of its run
                    length = 1
                    zn = z + dz
                    yn = y + dy
                    xn = x + dx
                    while 0 <= zn < nz and 0 <= yn < ny and 0 <= xn < nx:
                        if levels[zn, yn, xn] != a:
                            break
                        length += 1
                        zn += dz
                        yn += dy
                        xn += dx
                    out[g, d, a - 1, length - 1] += 1
    return out
