"""Numba kernel of the neighbourhood families: NGTDM (IBSI IPET) and NGLDM (IBSI REK0).

Private: inputs are assumed validated. The kernel works on *padded, flattened* arrays (see
:func:`padded_flat`, which every texture family uses): the ROI is surrounded by at least δ
non-ROI voxels, so a neighbour ``k + o`` of a ROI voxel ``k`` is always a valid index and
no bounds checks are needed. Neighbours are visited through explicit lists of flat
offsets, so the same kernel serves 2D (in-plane offsets only: neighbourhoods never cross
slices) and 3D. One pass gives both families what they read of each neighbourhood
(:func:`neighbour_sums_of`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiomix.features._kernels import I64, U, cached_njit


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
    r = range(-distance, distance + 1)
    rz = (0,) if planar else r
    # C order of the (dz, dy, dx) box: dx fastest (a Python list: a tenth of the time of
    # numpy's meshgrid on these few offsets)
    box = [(z, y, x) for z in rz for y in r for x in r if z or y or x]
    return np.array(box, dtype=np.int64).reshape(-1, 3)


class Padded(NamedTuple):
    """A ROI padded by δ non-ROI voxels and flattened, as the kernels read it.

    Attributes
    ----------
    levels : (M,) ndarray of int64
        Padded grey levels: >= 1 in the ROI, 0 outside (the ROI is where they are not 0).
    roi : (N_v,) ndarray of int64
        Ascending flat indices of the ROI voxels (C order of the original array).
    roi_levels : (N_v,) ndarray of int64
        Grey level of each ROI voxel (``levels[roi]``).
    offsets : (n,) ndarray of int64
        Flat offsets of the Chebyshev neighbourhood of distance δ.
    voxel_slice : (N_v,) ndarray of int64
        Slice index (axis 0 of the original array) of each ROI voxel.
    shape : tuple of 3 int
        Shape (Z, Y, X) of the original array (Z its number of slices).
    distance : int
        Chebyshev distance δ of the neighbourhood (and the padding).
    """

    levels: np.ndarray
    roi: np.ndarray
    roi_levels: np.ndarray
    offsets: np.ndarray
    voxel_slice: np.ndarray
    shape: tuple[int, int, int]
    distance: int


def padded_flat(
    levels: np.ndarray,
    mask: np.ndarray,
    distance: int,
    *,
    planar: bool,
    roi_levels: np.ndarray | None = None,
) -> Padded:
    """Pad by ``distance`` (not along axis 0 when ``planar``) and flatten for the kernels.

    ``levels`` (int64) and ``mask`` (bool) are (Z, Y, X) arrays of the same shape, validated
    by the caller. With ``planar`` only in-plane offsets are listed, so no padding is needed
    along the slice axis. ``roi_levels``, when the caller has gathered ``levels[mask]``
    already (int64), is taken for :attr:`Padded.roi_levels`.
    """
    d = distance
    pz = 0 if planar else d
    nz, ny, nx = mask.shape
    # no voxel pair at this distance: refused when it is a misplaced setting (over a few
    # voxels; padding by 1 000 asked for 64 GiB), computed (empty) for a small region
    if d > 8 and d >= max(mask.shape[1:] if planar else mask.shape):
        from radiomix.errors import SettingsError

        raise SettingsError(
            f"a distance of {d} voxels (features.glcm_distance, ngtdm_distance, "
            f"ngldm_distance or linkage_distance) reaches beyond the region around the ROI "
            f"({' x '.join(map(str, mask.shape))} voxels): no voxel pair lies that far apart; "
            "choose a distance of a few voxels (IBSI uses 1)"
        )
    shape = (nz + 2 * pz, ny + 2 * d, nx + 2 * d)
    inner = (slice(pz, pz + nz), slice(d, d + ny), slice(d, d + nx))
    mk = np.zeros(shape, dtype=np.bool_)
    mk[inner] = mask
    lv = np.zeros(shape, dtype=np.int64)
    np.copyto(lv[inner], levels, where=mask)
    stride = shape[1] * shape[2]
    off3 = chebyshev_offsets(d, planar=planar)
    offsets = (off3[:, 0] * stride + off3[:, 1] * shape[2] + off3[:, 2]).astype(np.int64)
    roi = mk.ravel().nonzero()[0]
    # each slice's voxels are a run of the ascending roi: its slice index repeated (a
    # tenth of the time of dividing every index by the stride)
    starts = np.searchsorted(roi, np.arange(pz, pz + nz + 1) * stride)
    voxel_slice = np.repeat(np.arange(nz, dtype=np.int64), np.diff(starts))
    inside = levels[mask] if roi_levels is None else roi_levels
    return Padded(lv.ravel(), roi, inside, offsets, voxel_slice, (nz, ny, nx), d)


class NeighbourSums(NamedTuple):
    """What NGTDM and NGLDM read of each ROI voxel's neighbourhood (one pass serves both).

    Attributes
    ----------
    neighbours : (N_v,) ndarray of int64
        ``W_k``: ROI voxels among the neighbours of voxel ``k`` (NGTDM).
    difference : (N_v,) ndarray of float64
        ``|X_k - X̄_k|``, ``X̄_k`` the mean grey level of those ROI neighbours, where
        ``W_k > 0`` (NGTDM); 0 where ``W_k = 0``.
    dependence : (N_v,) ndarray of int64
        ``j_k = 1 + #{ROI neighbours m : |X_k - X_m| <= α}`` for the coarseness α the
        sums were computed with (NGLDM).
    level_difference : (L,) ndarray of float64
        Per grey level 0..L-1 (L - 1 the highest level of the ROI): the sum of
        ``difference`` over the voxels of that level with ``W_k > 0``, added in ROI order
        (NGTDM ``s_i`` of the whole ROI, as ``np.bincount`` with weights adds them).
    level_count : (L,) ndarray of int64
        Per grey level: the voxels of that level with ``W_k > 0`` (NGTDM ``n_i``).
    """

    neighbours: np.ndarray
    difference: np.ndarray
    dependence: np.ndarray
    level_difference: np.ndarray
    level_count: np.ndarray


def neighbour_sums_of(padded: Padded, coarseness: int) -> NeighbourSums:
    """:class:`NeighbourSums` of every ROI voxel of a padded ROI (the Chebyshev
    neighbourhood of its distance, in-plane when it is planar), dependence at coarseness
    ``coarseness`` (>= 0)."""
    # the box of the neighbourhood and its centre: rows of 2δ + 1 consecutive flat offsets
    # (x = -δ..δ), in ascending order as chebyshev_offsets lists them
    width = 2 * padded.distance + 1
    box = np.insert(padded.offsets, padded.offsets.shape[0] // 2, 0).reshape(-1, width)
    n3 = width // 3
    triples = np.ascontiguousarray(box[:, 0 : 3 * n3 : 3].ravel())
    singles = np.ascontiguousarray(box[:, 3 * n3 :].ravel())
    n = padded.roi.shape[0]
    width = int(padded.roi_levels.max()) + 1 if n else 1
    out = NeighbourSums(
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.float64),
        np.empty(n, dtype=np.int64),
        np.zeros(width, dtype=np.float64),
        np.zeros(width, dtype=np.int64),
    )
    neighbour_sums(padded.levels, padded.roi, triples, singles, int(coarseness), *out)
    return out


@cached_njit(error_model="numpy")  # the divisor W_k is > 0 where it is used
def neighbour_sums(
    levels: np.ndarray,
    roi: np.ndarray,
    triples: np.ndarray,
    singles: np.ndarray,
    coarseness: int,
    neighbours: np.ndarray,
    difference: np.ndarray,
    dependence: np.ndarray,
    level_difference: np.ndarray,
    level_count: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Per ROI voxel: ROI neighbours, grey tone difference and dependence; per grey level
    the sums of the NGTDM.

    One pass over the neighbourhoods for NGTDM (IPET) and NGLDM (REK0). A neighbour is in
    the ROI when its grey level is not 0 (levels are >= 1 in the ROI, 0 outside), so no
    mask is read and the counts are branch-free sums. The neighbourhood is read as its
    whole box, centre included (then taken out of the sums: it is a ROI voxel, and
    dependent on itself), in windows of 3 consecutive voxels along x plus single voxels
    where a row's width 2δ + 1 is not a multiple of 3: the unrolled windows are 1.5x
    faster than a loop over the 26 neighbour offsets.

    Parameters
    ----------
    levels : (M,) ndarray of int64
        Padded flat grey levels: >= 1 in the ROI, 0 outside.
    roi : (N_v,) ndarray of int64
        Flat indices of the ROI voxels.
    triples : (n_3,) ndarray of int64
        Flat offset of the first voxel of each 3-voxel window of the box.
    singles : (n_1,) ndarray of int64
        Flat offsets of the box voxels outside the windows (none for δ = 1).
    coarseness : int
        Coarseness α (>= 0) of the dependence.
    neighbours, difference, dependence : (N_v,) ndarray of int64, float64, int64
        Filled, one value per entry of ``roi`` (see :class:`NeighbourSums`); the caller
        allocates them (no allocation is compiled here).
    level_difference, level_count : (L,) ndarray of float64, int64
        Zeros on entry, L above the highest grey level; on return the per-level sums of
        :class:`NeighbourSums`.
    """
    n_triples = triples.shape[0]
    n_singles = singles.shape[0]
    for v in range(roi.shape[0]):
        k = roi[v]
        lev = levels[U(k)]
        t = I64(0)  # sums over the box, centre included
        w = I64(0)
        j = I64(0)
        for r in range(n_triples):
            b = k + triples[r]
            x0 = levels[U(b)]
            x1 = levels[U(b + 1)]
            x2 = levels[U(b + 2)]
            t += x0 + x1 + x2
            w += (x0 != 0) + (x1 != 0) + (x2 != 0)
            j += (
                ((x0 != 0) & (abs(x0 - lev) <= coarseness))
                + ((x1 != 0) & (abs(x1 - lev) <= coarseness))
                + ((x2 != 0) & (abs(x2 - lev) <= coarseness))
            )
        for r in range(n_singles):
            x0 = levels[U(k + singles[r])]
            t += x0
            w += x0 != 0
            j += (x0 != 0) & (abs(x0 - lev) <= coarseness)
        w -= 1  # the centre
        t -= lev
        neighbours[v] = w
        d = 0.0
        if w > 0:
            d = abs(lev - t / w)
            level_difference[U(lev)] += d
            level_count[U(lev)] += 1
        difference[v] = d
        dependence[v] = j  # 1 (the centre) + its dependent neighbours
