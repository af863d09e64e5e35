"""Numba kernels of the zone families: GLSZM (IBSI 9SAK) and GLDZM (IBSI VMDZ).

Private: inputs are assumed validated; the zone labelling works on padded, flattened arrays
(:func:`radiomix.features._kernels.neighbourhood.padded_flat`).
"""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import cached_njit


@cached_njit()
def _find(parent: np.ndarray, k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]  # path halving
        k = parent[k]
    return k


@cached_njit()
def label_zones(
    levels: np.ndarray,
    roi: np.ndarray,
    forward: np.ndarray,
    after_next: np.ndarray,
    parent: np.ndarray,
    zone_of_root: np.ndarray,
    voxel_zone: np.ndarray,
    zone_level: np.ndarray,
    zone_size: np.ndarray,
    zone_first: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Label zones: connected groups of ROI voxels with the same grey level.

    Works on padded, flattened arrays (see
    :func:`radiomix.features._kernels.neighbourhood.padded_flat`). Two ROI voxels are linked
    when their flat offset is ``±forward[o]`` and their grey levels are equal; zones are the
    connected components (union-find over the forward half of the neighbourhood, roots
    kept at the smallest flat index).

    Parameters
    ----------
    levels : (M,) ndarray of int64
        Padded flat grey levels: >= 1 in the ROI, 0 outside, so equal grey levels imply
        that both voxels are ROI voxels (no mask lookup needed).
    roi : (N_v,) ndarray of int64
        Ascending flat indices of the ROI voxels.
    forward : (n,) ndarray of int64
        Positive flat offsets: one of each pair ``±o`` of the neighbourhood.
    after_next : (n,) ndarray of bool
        All False unless offset 1 is in ``forward``; then True for the offsets ``o != 1``
        with ``o - 1`` in ``forward``: the neighbours of a voxel that are also forward
        neighbours of the next voxel (offset 1). When the next voxel has the same grey
        level, these links are left to it (it links them when its turn comes, and it is
        linked to this voxel), so they are not tested twice; the zones are the same (each
        skipped link joins voxels that end up connected through links tested later, by
        induction from the last voxel).
    parent : (M,) ndarray of int64
        Scratch (union-find parents; read at ROI voxels only, after they are set).
    zone_of_root : (M,) ndarray of int64
        Scratch, -1 on entry.
    voxel_zone : (N_v,) ndarray of int64
        Filled with the zone index 0..N_s-1 of each ROI voxel (zones numbered in raster
        order of their first voxel).
    zone_level, zone_size, zone_first : (N_v,) ndarray of int64
        ``zone_size`` zeros on entry. The first N_s entries are filled with the grey level,
        voxel count and position in ``roi`` of the first voxel of each zone.

    Returns
    -------
    int
        The number of zones N_s. The caller allocates every array: no allocation is
        compiled here.
    """
    for v in range(roi.shape[0]):
        parent[roi[v]] = roi[v]
    n_fwd = forward.shape[0]
    for v in range(roi.shape[0]):
        k = roi[v]
        lev = levels[k]
        ra = -1  # root of k, looked up on the first link
        same_next = levels[k + 1] == lev  # padding: k + 1 is in the array
        for o in range(n_fwd):
            if same_next and after_next[o]:
                continue
            nb = k + forward[o]
            if levels[nb] == lev:
                rb = _find(parent, nb)
                if ra < 0:
                    ra = _find(parent, k)
                if ra != rb:
                    if ra < rb:
                        parent[rb] = ra
                    else:
                        parent[ra] = rb
                        ra = rb
    n_roi = roi.shape[0]
    n_zones = 0
    for v in range(n_roi):
        k = roi[v]
        r = _find(parent, k)
        z = zone_of_root[r]
        if z < 0:  # the root is the zone's first voxel in raster order
            z = n_zones
            zone_of_root[r] = z
            zone_level[z] = levels[k]
            zone_first[z] = v
            n_zones += 1
        voxel_zone[v] = z
        zone_size[z] += 1
    return n_zones


def zone_minimum(voxel_zone: np.ndarray, values: np.ndarray, n_zones: int) -> np.ndarray:
    """Minimum of ``values`` (one per ROI voxel) over the voxels of each zone.

    Plain numpy (``np.minimum.at``, integers: exact), not numba: as fast here, and no
    kernel to compile on a first call.

    Parameters
    ----------
    voxel_zone : (N_v,) ndarray of int64
        Zone index of each ROI voxel.
    values : (N_v,) ndarray of int64
        One value per ROI voxel.
    n_zones : int
        Number of zones N_s.

    Returns
    -------
    (N_s,) ndarray of int64
        The minimum per zone (the int64 maximum for a zone without voxels).
    """
    out = np.full(n_zones, np.iinfo(np.int64).max, dtype=np.int64)
    # Arrays returned by numba kernels carry an int64 dtype that is not numpy's canonical
    # instance, which sends ``ufunc.at`` down its slow generic loop (25x slower on a
    # 290 000-voxel ROI); ``np.asarray(..., dtype=...)`` hands it canonical copies.
    np.minimum.at(out, np.asarray(voxel_zone, dtype=np.intp), np.asarray(values, dtype=np.int64))
    return out


@cached_njit()
def city_block_distance(
    mask: np.ndarray, stride_z: int, stride_y: int, planar: bool, d: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Manhattan (city-block) distance of each mask voxel to the nearest non-mask voxel.

    Works on a padded, flattened mask (one non-mask voxel of padding along each axis that
    is walked: y and x, and z unless ``planar``), so that every neighbour of a mask voxel
    is a valid index and the padding stands for "outside the array", which counts as
    non-mask: a mask voxel on the array border has distance 1. With ``planar`` only
    in-plane steps are taken (4-connectivity within each slice: ``stride_z`` is unused),
    otherwise 6-connectivity. Exact two-pass raster scan over the flat indices; ``d``
    (int64, the padded flat shape, zeros on entry, allocated by the caller) receives the
    distances, 0 at non-mask voxels.

    Equivalent to IBSI's iterative erosion (VMDZ): voxels removed by the first erosion with
    the 4/6-connected structure element have distance 1, by the second 2, and so on.
    """
    n = mask.shape[0]
    for k in range(n):  # neighbours before k in raster order (already final for this pass)
        if mask[k]:
            v = d[k - stride_y]
            t = d[k - 1]
            if t < v:
                v = t
            if not planar:
                t = d[k - stride_z]
                if t < v:
                    v = t
            d[k] = v + 1
    for k in range(n - 1, -1, -1):  # neighbours after k
        if mask[k]:
            v = d[k] - 1
            t = d[k + stride_y]
            if t < v:
                v = t
            t = d[k + 1]
            if t < v:
                v = t
            if not planar:
                t = d[k + stride_z]
                if t < v:
                    v = t
            d[k] = v + 1
