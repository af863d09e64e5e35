"""Numba kernels of the neighbourhood families: NGTDM (IBSI IPET) and NGLDM (IBSI REK0).

Private: inputs are assumed validated (``levels`` int64 (Z, Y, X) with grey levels 1..N_g
inside ``mask``, ``mask`` bool of the same shape, ``offsets`` int64 (n, 3)). Neighbours are
visited through an explicit offset list, so the same kernel serves 2D (offsets with
``dz == 0``: neighbourhoods never cross slices) and 3D.
"""

from __future__ import annotations

import numba
import numpy as np


def chebyshev_offsets(distance: int, *, planar: bool) -> np.ndarray:
    """Offsets ``m != 0`` with Chebyshev norm ``max(|m_z|, |m_y|, |m_x|) <= distance``.

    Parameters
    ----------
    distance : int
        Chebyshev distance δ (>= 1).
    planar : bool
        Keep only in-plane offsets (``m_z == 0``): the 2D neighbourhood of one slice.

    Returns
    -------
    (n, 3) ndarray of int64
        ``(dz, dy, dx)`` per offset; ``n = (2δ+1)^2 - 1`` (planar) or ``(2δ+1)^3 - 1``.
    """
    r = np.arange(-distance, distance + 1)
    rz = np.zeros(1, dtype=np.int64) if planar else r
    grid = np.stack(np.meshgrid(rz, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    keep = np.any(grid != 0, axis=1)
    return np.ascontiguousarray(grid[keep], dtype=np.int64)


@numba.njit(cache=True)
def ngtdm_sums(
    levels: np.ndarray,
    mask: np.ndarray,
    offsets: np.ndarray,
    n_levels: int,
    slice_wise: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbourhood grey tone differences ``s_i`` and counts ``n_i``.

    For each ROI voxel ``k`` with at least one ROI neighbour (``W_k > 0``), adds
    ``|X_k - mean of ROI neighbours|`` to ``s[., X_k]`` and 1 to ``n[., X_k]``.

    Returns
    -------
    s : (n_out, n_levels + 1) ndarray of float64
    n : (n_out, n_levels + 1) ndarray of int64
        Row ``z`` per slice when ``slice_wise`` (``n_out = Z``), a single row otherwise.
        Column ``i`` is grey level ``i`` (column 0 unused).
    """
    nz, ny, nx = levels.shape
    n_out = nz if slice_wise else 1
    s = np.zeros((n_out, n_levels + 1), dtype=np.float64)
    n = np.zeros((n_out, n_levels + 1), dtype=np.int64)
    n_off = offsets.shape[0]
    for z in range(nz):
        row = z if slice_wise else 0
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                total = 0
                w = 0
                for o in range(n_off):
                    zz = z + offsets[o, 0]
                    yy = y + offsets[o, 1]
                    xx = x + offsets[o, 2]
                    if zz < 0 or yy < 0 or xx < 0 or zz >= nz or yy >= ny or xx >= nx:
                        continue
                    if mask[zz, yy, xx]:
                        total += levels[zz, yy, xx]
                        w += 1
                if w > 0:
                    lev = levels[z, y, x]
                    s[row, lev] += abs(lev - total / w)
                    n[row, lev] += 1
    return s, n


@numba.njit(cache=True)
def ngldm_dependence(
    levels: np.ndarray, mask: np.ndarray, offsets: np.ndarray, coarseness: int
) -> np.ndarray:
    """Dependence ``j_k`` of every ROI voxel, in C order of ``mask``.

    ``j_k = 1 + #{m in offsets : k+m in ROI and |X_k - X_{k+m}| <= coarseness}``.

    Returns
    -------
    (N_v,) ndarray of int64
        Same order as ``levels[mask]``.
    """
    nz, ny, nx = levels.shape
    n_off = offsets.shape[0]
    out = np.empty(np.count_nonzero(mask), dtype=np.int64)
    k = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                lev = levels[z, y, x]
                j = 1
                for o in range(n_off):
                    zz = z + offsets[o, 0]
                    yy = y + offsets[o, 1]
                    xx = x + offsets[o, 2]
                    if zz < 0 or yy < 0 or xx < 0 or zz >= nz or yy >= ny or xx >= nx:
                        continue
                    if mask[zz, yy, xx] and abs(levels[zz, yy, xx] - lev) <= coarseness:
                        j += 1
                out[k] = j
                k += 1
    return out
