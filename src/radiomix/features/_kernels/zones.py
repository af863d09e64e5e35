"""Numba kernels of the zone families: GLSZM (IBSI 9SAK) and GLDZM (IBSI VMDZ).

Private: inputs are assumed validated (``levels`` int64 (Z, Y, X), ``mask`` bool of the same
shape, ``offsets`` int64 (n, 3) from
:func:`radiomix.features._kernels.neighbourhood.chebyshev_offsets`).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def label_zones(
    levels: np.ndarray, mask: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Label zones: connected groups of ROI voxels with the same grey level.

    Two ROI voxels are linked when their offset is in ``offsets`` and their grey levels are
    equal; zones are the connected components of this relation (flood fill with an explicit
    stack, each voxel pushed once).

    Returns
    -------
    labels : (Z, Y, X) ndarray of int64
        Zone number 1..N_s of each ROI voxel, 0 outside the ROI.
    zone_level, zone_size, zone_slice : (N_s,) ndarray of int64
        Grey level, voxel count and slice index (of the first voxel) of each zone.
    """
    nz, ny, nx = levels.shape
    nyx = ny * nx
    n_off = offsets.shape[0]
    n_roi = np.count_nonzero(mask)
    labels = np.zeros((nz, ny, nx), dtype=np.int64)
    zone_level = np.empty(n_roi, dtype=np.int64)
    zone_size = np.empty(n_roi, dtype=np.int64)
    zone_slice = np.empty(n_roi, dtype=np.int64)
    stack = np.empty(n_roi, dtype=np.int64)
    n_zones = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x] or labels[z, y, x] != 0:
                    continue
                n_zones += 1
                lev = levels[z, y, x]
                labels[z, y, x] = n_zones
                stack[0] = z * nyx + y * nx + x
                top = 1
                size = 0
                while top > 0:
                    top -= 1
                    flat = stack[top]
                    cz = flat // nyx
                    cy = (flat - cz * nyx) // nx
                    cx = flat - cz * nyx - cy * nx
                    size += 1
                    for o in range(n_off):
                        zz = cz + offsets[o, 0]
                        yy = cy + offsets[o, 1]
                        xx = cx + offsets[o, 2]
                        if zz < 0 or yy < 0 or xx < 0 or zz >= nz or yy >= ny or xx >= nx:
                            continue
                        if (
                            mask[zz, yy, xx]
                            and labels[zz, yy, xx] == 0
                            and levels[zz, yy, xx] == lev
                        ):
                            labels[zz, yy, xx] = n_zones
                            stack[top] = zz * nyx + yy * nx + xx
                            top += 1
                zone_level[n_zones - 1] = lev
                zone_size[n_zones - 1] = size
                zone_slice[n_zones - 1] = z
    return labels, zone_level[:n_zones], zone_size[:n_zones], zone_slice[:n_zones]


@numba.njit(cache=True)
def zone_minimum(labels: np.ndarray, values: np.ndarray, n_zones: int) -> np.ndarray:
    """Minimum of ``values`` over the voxels of each zone (zones 1..n_zones of ``labels``)."""
    big = np.iinfo(np.int64).max
    out = np.full(n_zones, big, dtype=np.int64)
    flat_labels = labels.ravel()
    flat_values = values.ravel()
    for k in range(flat_labels.size):
        lab = flat_labels[k]
        if lab > 0 and flat_values[k] < out[lab - 1]:
            out[lab - 1] = flat_values[k]
    return out


@numba.njit(cache=True)
def city_block_distance(mask: np.ndarray, planar: bool) -> np.ndarray:
    """Manhattan (city-block) distance of each mask voxel to the nearest non-mask voxel.

    Voxels outside the array count as non-mask, so a mask voxel on the array border has
    distance 1. With ``planar`` only in-plane steps are taken (4-connectivity within each
    slice), otherwise 6-connectivity. Exact two-pass raster scan; non-mask voxels get 0.

    Equivalent to IBSI's iterative erosion (VMDZ): voxels removed by the first erosion with
    the 4/6-connected structure element have distance 1, by the second 2, and so on.
    """
    nz, ny, nx = mask.shape
    big = nz + ny + nx + 2
    d = np.zeros((nz, ny, nx), dtype=np.int64)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                v = big
                # Neighbours before (z, y, x) in raster order; outside the array is 0.
                up = d[z, y - 1, x] if y > 0 else 0
                left = d[z, y, x - 1] if x > 0 else 0
                v = min(v, up + 1, left + 1)
                if not planar:
                    below = d[z - 1, y, x] if z > 0 else 0
                    v = min(v, below + 1)
                d[z, y, x] = v
    for z in range(nz - 1, -1, -1):
        for y in range(ny - 1, -1, -1):
            for x in range(nx - 1, -1, -1):
                if not mask[z, y, x]:
                    continue
                v = d[z, y, x]
                down = d[z, y + 1, x] if y < ny - 1 else 0
                right = d[z, y, x + 1] if x < nx - 1 else 0
                v = min(v, down + 1, right + 1)
                if not planar:
                    above = d[z + 1, y, x] if z < nz - 1 else 0
                    v = min(v, above + 1)
                d[z, y, x] = v
    return d
