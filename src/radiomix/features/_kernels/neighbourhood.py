"""Numba kernels of the neighbourhood families: NGTDM (IBSI IPET) and NGLDM (IBSI REK0).

Private: inputs are assumed validated. The kernels work on *padded, flattened* arrays (see
:func:`padded_flat`): the ROI is surrounded by at least δ non-ROI voxels, so a neighbour
``k + o`` of a ROI voxel ``k`` is always a valid index and no bounds checks are needed.
Neighbours are visited through an explicit list of flat offsets, so the same kernel serves
2D (in-plane offsets only: neighbourhoods never cross slices) and 3D.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from radiomix.features._kernels import cached_njit


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


class Padded(NamedTuple):
    """A ROI padded by δ non-ROI voxels and flattened, as the kernels read it.

    Attributes
    ----------
    levels : (M,) ndarray of int64
        Padded grey levels: >= 1 in the ROI, 0 outside.
    mask : (M,) ndarray of bool
        Padded mask.
    roi : (N_v,) ndarray of int64
        Ascending flat indices of the ROI voxels (C order of the original array).
    offsets : (n,) ndarray of int64
        Flat offsets of the Chebyshev neighbourhood of distance δ.
    voxel_slice : (N_v,) ndarray of int64
        Slice index (axis 0 of the original array) of each ROI voxel.
    n_slices : int
        Number of slices of the original array.
    """

    levels: np.ndarray
    mask: np.ndarray
    roi: np.ndarray
    offsets: np.ndarray
    voxel_slice: np.ndarray
    n_slices: int


def padded_flat(levels: np.ndarray, mask: np.ndarray, distance: int, *, planar: bool) -> Padded:
    """Pad by ``distance`` (not along axis 0 when ``planar``) and flatten for the kernels.

    ``levels`` (int64) and ``mask`` (bool) are (Z, Y, X) arrays of the same shape, validated
    by the caller. With ``planar`` only in-plane offsets are listed, so no padding is needed
    along the slice axis.
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
    roi = np.flatnonzero(mk)
    return Padded(lv.ravel(), mk.ravel(), roi, offsets, roi // stride - pz, nz)


@cached_njit(error_model="numpy")  # the divisor W_k is > 0 where it is used
def ngtdm_sums(
    levels: np.ndarray,
    mask: np.ndarray,
    roi: np.ndarray,
    offsets: np.ndarray,
    row_of: np.ndarray,
    s: np.ndarray,
    n: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Neighbourhood grey tone differences ``s_i`` and counts ``n_i``.

    For each ROI voxel ``k`` (flat index ``roi[v]``) with at least one ROI neighbour
    (``W_k > 0``), adds ``|X_k - mean of ROI neighbours|`` to ``s[row_of[v], X_k]`` and 1 to
    ``n[row_of[v], X_k]``.

    Parameters
    ----------
    s : (n_rows, n_levels + 1) ndarray of float64
    n : (n_rows, n_levels + 1) ndarray of int64
        Zeros on entry (the caller allocates: no allocation is compiled here). Column
        ``i`` is grey level ``i`` (column 0 unused).
    """
    n_off = offsets.shape[0]
    for v in range(roi.shape[0]):
        k = roi[v]
        total = 0
        w = 0
        for o in range(n_off):
            nb = k + offsets[o]
            if mask[nb]:
                total += levels[nb]
                w += 1
        if w > 0:
            lev = levels[k]
            s[row_of[v], lev] += abs(lev - total / w)
            n[row_of[v], lev] += 1


@cached_njit()
def ngldm_dependence(
    levels: np.ndarray,
    mask: np.ndarray,
    roi: np.ndarray,
    offsets: np.ndarray,
    coarseness: int,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Dependence ``j_k = 1 + #{o : k+o in ROI and |X_k - X_{k+o}| <= coarseness}``.

    ``out`` ((N_v,) int64, allocated by the caller) receives one value per entry of ``roi``.
    """
    n_off = offsets.shape[0]
    for v in range(roi.shape[0]):
        k = roi[v]
        lev = levels[k]
        j = 1
        for o in range(n_off):
            nb = k + offsets[o]
            if mask[nb] and abs(levels[nb] - lev) <= coarseness:
                j += 1
        out[v] = j
