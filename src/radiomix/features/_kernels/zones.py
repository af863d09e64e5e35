"""Numba kernels of the zone families: GLSZM (IBSI 9SAK) and GLDZM (IBSI VMDZ).

Private: inputs are assumed validated; the zone labelling works on padded, flattened arrays
(:func:`radiomix.features._kernels.neighbourhood.padded_flat`).
"""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import I64, U, cached_njit


@cached_njit()
def label_zones(
    levels: np.ndarray,
    roi: np.ndarray,
    backward: np.ndarray,
    n_fresh: int,
    parent: np.ndarray,
    voxel_zone: np.ndarray,
    zone_level: np.ndarray,
    zone_size: np.ndarray,
    zone_first: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Label zones: connected groups of ROI voxels with the same grey level.

    Works on padded, flattened arrays (see
    :func:`radiomix.features._kernels.neighbourhood.padded_flat`). Two ROI voxels are linked
    when their flat offset is ``±backward[o]`` and their grey levels are equal; zones are
    the connected components. One raster scan over the ROI voxels joins each voxel to the
    zones of its linked neighbours already visited (at ``k - backward[o]``), with
    union-find whose roots are kept at the smallest flat index (the zone's first voxel).

    After each voxel, the zones of the visited voxels are the connected components of the
    links among them, so two visited neighbours of ``k`` that are linked to each other are
    in one zone already. Two shortcuts follow, exact for any neighbourhood:

    - When the previous voxel (offset 1, the x-neighbour: a link in every Chebyshev
      neighbourhood) is of the same level, ``k`` takes its root as found at that voxel
      (no union happened since) and tests only the ``n_fresh`` neighbours the previous
      voxel is not linked to; otherwise it tests all but the previous voxel.
    - A *hub* is a neighbour linked to all the others that are tested: when it holds the
      voxel's level, joining its zone joins every other tested neighbour of that level
      (for 26-connectivity the voxel at ``(z - 1, y, x)``, or at ``(z - 1, y, x + 1)``
      when the previous voxel is of the same level). Most voxels of a large zone need one
      join instead of up to 12.

    Parameters
    ----------
    levels : (M,) ndarray of int64
        Padded flat grey levels: >= 1 in the ROI, 0 outside, so equal grey levels imply
        that both voxels are ROI voxels (no mask lookup needed).
    roi : (N_v,) ndarray of int64
        Ascending flat indices of the ROI voxels.
    backward : (n + 2,) ndarray of int64
        Positive flat offsets, one of each pair ``±o`` of the neighbourhood, ordered:
        first the ``n_fresh`` offsets ``o`` with ``o - 1`` not an offset (the neighbours
        ``k - o`` that are not linked to the previous voxel ``k - 1``), then the others,
        offset 1 last; then the offset of a hub among the first ``n_fresh`` offsets and
        that of a hub among the first ``n - 1``, 0 where there is none.
    n_fresh : int
        Offsets to test when the previous voxel is of the same level.
    parent : (M,) ndarray of int64
        Scratch (union-find parents; read at ROI voxels only, after they are set; at the
        end ``~zone`` of each ROI voxel).
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
    n = backward.shape[0] - 2
    root_prev = I64(-1)
    for v in range(roi.shape[0]):
        k = roi[v]
        lev = levels[U(k)]
        if levels[U(k - 1)] == lev:
            r = root_prev  # root of k's zone so far (-1: none yet)
            hub, hi = n, n_fresh
        else:
            r = I64(-1)
            hub, hi = n + 1, n - 1
        lo = 0
        if backward[hub] != 0 and levels[U(k - backward[hub])] == lev:
            lo, hi = hub, hub + 1  # the hub alone
        for o in range(lo, hi):
            nb = k - backward[o]
            if levels[U(nb)] == lev:  # join the zone of nb, keeping the smaller root
                rb = nb  # nb's root, halving the path to it
                while parent[U(rb)] != rb:
                    parent[U(rb)] = parent[U(parent[U(rb)])]
                    rb = parent[U(rb)]
                if r < 0:
                    r = rb
                elif rb < r:
                    parent[U(r)] = rb
                    r = rb
                elif rb > r:
                    parent[U(rb)] = r
        if r < 0:  # no linked neighbour visited yet: k starts a zone
            r = k
        parent[U(k)] = r
        root_prev = r
    # Number the zones in raster order of their first voxel, the root. A voxel's parent is
    # itself (a root) or an earlier voxel, visited before it and by then relabelled
    # ~zone, so one read gives the zone: no find, no scratch array of roots.
    n_zones = I64(0)
    for v in range(roi.shape[0]):
        k = roi[v]
        p = parent[U(k)]
        if p == k:
            z = n_zones
            zone_level[U(z)] = levels[U(k)]
            zone_first[U(z)] = v
            n_zones += 1
        else:
            z = ~parent[U(p)]
        parent[U(k)] = ~z
        voxel_zone[v] = z
        zone_size[U(z)] += 1
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
        if mask[U(k)]:
            v = d[U(k - stride_y)]
            t = d[U(k - 1)]
            if t < v:
                v = t
            if not planar:
                t = d[U(k - stride_z)]
                if t < v:
                    v = t
            d[U(k)] = v + 1
    for k in range(n - 1, -1, -1):  # neighbours after k
        if mask[U(k)]:
            v = d[U(k)] - 1
            t = d[U(k + stride_y)]
            if t < v:
                v = t
            t = d[U(k + 1)]
            if t < v:
                v = t
            if not planar:
                t = d[U(k + stride_z)]
                if t < v:
                    v = t
            d[U(k)] = v + 1
