"""Grey level size zone matrix features (IBSI family 9SAK).

A zone is a group of linked intensity-mask voxels with the same discretised grey level
(Chebyshev linkage distance δ, default 1: 8-connectivity within a slice in 2D,
26-connectivity in 3D). Element ``s_ij`` of the GLSZM counts the zones with grey level ``i``
and size ``j`` voxels.

This module also holds what the zone-like families share: :class:`CountMatrix` (a grey
level × size / distance / dependence count matrix with its marginals, used by GLSZM, GLDZM
and NGLDM), the generic formulas over it, the input checks and the per-aggregation
evaluation (2D: one matrix per slice, features averaged over slices; 2.5D: slice matrices
merged; 3D: one volumetric matrix).

References
----------
IBSI 1 manual (Zwanenburg et al., arXiv:1612.07003), §3.8 "Grey level size zone based
features"; Zwanenburg A et al., Radiology 2020;295:328–338 (doi:10.1148/radiol.2020191145);
Thibault G et al., "Advanced statistical matrices for texture characterization: application
to cell classification", IEEE Trans Biomed Eng 2014;61(3):630–637.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from radiomix.errors import EmptyRoiError, InputError, SettingsError
from radiomix.features._kernels.neighbourhood import (
    NeighbourSums,
    Padded,
    neighbour_sums_of,
    padded_flat,
)
from radiomix.features._kernels.zones import label_zones
from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.registry import FeatureSpec, family, feature
from radiomix.roi import RoiContext, bounding_box
from radiomix.types import BoolArray, FloatArray, IntArray

__all__ = ["CountMatrix", "Zones", "glszm_matrices", "label_zone_map"]

# --------------------------------------------------------------------------------------------
# The shared count matrix and its generic formulas
# --------------------------------------------------------------------------------------------


def _compact(x: np.ndarray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values of a non-negative integer array and each element's index."""
    present = np.zeros(int(x.max()) + 1, dtype=np.bool_)
    present[x] = True
    lookup = np.cumsum(present) - 1
    return present.nonzero()[0], lookup[x]


class CountMatrix:
    """A stack of grey level × ``j`` count matrices in compressed form, with marginals.

    ``j`` is the zone size (GLSZM), the zone distance (GLDZM) or the dependence count
    (NGLDM). The leading axis holds one matrix per slice for the 2D method (IBSI 8QNN) and
    a single matrix for the 2.5D and 3D methods. Only grey levels and ``j`` values that
    occur in some matrix of the stack are stored: every feature of these families is a sum
    over matrix elements weighted by functions of ``i`` and ``j``, so empty rows and columns
    change nothing. Feature functions return one value per matrix of the stack.

    The 2D stack stores every slice over the union of the slices' grey levels and ``j``
    values (memory ``B × n_i × n_j``: 26 × 36 × 189 for the GLSZM of the CT phantom in
    configuration A).

    Parameters
    ----------
    counts : (B, n_i, n_j) or (n_i, n_j) ndarray
        ``counts[b, a, c]`` is element (``i_values[a]``, ``j_values[c]``) of matrix ``b``.
    i_values : (n_i,) ndarray
        Grey levels of the rows (>= 1).
    j_values : (n_j,) ndarray
        ``j`` of the columns (>= 1).
    n_voxels : float or (B,) array_like
        Number of intensity-mask voxels N_v each matrix was built from (of its slice in
        2D; summed over slices for a merged 2.5D matrix).

    Attributes
    ----------
    n_s : (B,) ndarray of float64
        Total count N_s of each matrix.
    s_i, s_j : (B, n_i), (B, n_j) ndarray of float64
        Marginal sums over ``j`` and over ``i``.
    p : (B, n_i, n_j) ndarray of float64
        Joint probabilities ``counts / N_s``.
    """

    __slots__ = ("_by_power", "_i_power", "_square_sums", "counts", "i", "j", "n_s", "n_voxels",
                 "p", "s_i", "s_j")

    def __init__(
        self,
        counts: np.ndarray,
        i_values: np.ndarray,
        j_values: np.ndarray,
        *,
        n_voxels: float | np.ndarray,
    ) -> None:
        c = np.asarray(counts, dtype=np.float64)
        self.counts = c[None] if c.ndim == 2 else c
        self.i = np.asarray(i_values, dtype=np.float64)
        self.j = np.asarray(j_values, dtype=np.float64)
        self.n_voxels = np.broadcast_to(
            np.asarray(n_voxels, dtype=np.float64), (self.counts.shape[0],)
        )
        self.s_i = self.counts.sum(axis=2)
        self.s_j = self.counts.sum(axis=1)
        self.n_s = self.s_i.sum(axis=1)
        self.p = self.counts / self.n_s[:, None, None]
        self._by_power: dict[float, FloatArray] = {}
        self._i_power: dict[float, FloatArray] = {}
        self._square_sums: tuple[FloatArray, FloatArray] | None = None

    def counts_by_j_power(self, b: float) -> FloatArray:
        """``Σ_j s_ij j^b`` of each matrix, (B, n_i); computed once per power ``b`` (the
        emphasis features share a few)."""
        found = self._by_power.get(b)
        if found is None:
            found = self._by_power[b] = self.counts @ self.j**b
        return found

    def i_power(self, a: float) -> FloatArray:
        """``i^a``, (n_i,); computed once per power ``a``."""
        found = self._i_power.get(a)
        if found is None:
            found = self._i_power[a] = self.i**a
        return found

    def square_sums(self) -> tuple[FloatArray, FloatArray]:
        """``Σ_i s_i.²`` and ``Σ_j s_.j²`` of each matrix, (B,) each; computed once (the
        plain and normalised non-uniformities read them)."""
        if self._square_sums is None:
            self._square_sums = ((self.s_i**2).sum(axis=1), (self.s_j**2).sum(axis=1))
        return self._square_sums

    @classmethod
    def from_pairs(
        cls,
        i: np.ndarray,
        j: np.ndarray,
        *,
        n_voxels: float | np.ndarray,
        batch: np.ndarray | None = None,
    ) -> CountMatrix:
        """Count ``(i, j)`` pairs (one per zone or voxel; integers >= 1) into matrices.

        ``batch`` (integers >= 0, one per pair) puts each pair into the matrix of its
        batch; the matrices are the distinct batch values in increasing order, and
        ``n_voxels`` gives their voxel counts in that order.
        """
        i = np.asarray(i, dtype=np.int64)
        j = np.asarray(j, dtype=np.int64)
        if batch is None:
            n_i, n_j = int(i.max()) + 1, int(j.max()) + 1
            if n_i * n_j <= 4 * i.size + 4096:  # small enough to count densely
                dense = np.bincount(i * n_j + j, minlength=n_i * n_j).reshape(n_i, n_j)
                rows = np.nonzero(dense.any(axis=1))[0]
                cols = np.nonzero(dense.any(axis=0))[0]
                kept = dense.take(rows, axis=0).take(cols, axis=1)
                return cls(kept, rows, cols, n_voxels=n_voxels)
        iu, ii = _compact(i)
        ju, jj = _compact(j)
        if batch is None:
            n_b, bb = 1, np.zeros(ii.size, dtype=np.int64)
        else:
            bu, bb = _compact(np.asarray(batch, dtype=np.int64))
            n_b = bu.size
        flat = np.bincount((bb * iu.size + ii) * ju.size + jj, minlength=n_b * iu.size * ju.size)
        return cls(flat.reshape(n_b, iu.size, ju.size), iu, ju, n_voxels=n_voxels)

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    def slices(self) -> tuple[CountMatrix, ...]:
        """The matrices of the stack one by one, each compressed to its own rows/columns."""
        out = []
        for b in range(len(self)):
            c = self.counts[b]
            rows = c.any(axis=1).nonzero()[0]
            cols = c.any(axis=0).nonzero()[0]
            out.append(
                CountMatrix(
                    c[np.ix_(rows, cols)], self.i[rows], self.j[cols], n_voxels=self.n_voxels[b]
                )
            )
        return tuple(out)

    def dense(self) -> FloatArray:
        """The full matrix indexed ``[i - 1, j - 1]`` of a single-matrix stack (for
        inspection and tests); use :meth:`slices` first for a stack of several."""
        if len(self) != 1:
            raise InputError(f"dense() needs a single matrix, this stack holds {len(self)}")
        out = np.zeros((int(self.i.max()), int(self.j.max())), dtype=np.float64)
        out[np.ix_(self.i.astype(np.int64) - 1, self.j.astype(np.int64) - 1)] = self.counts[0]
        return out

    def __repr__(self) -> str:
        return (
            f"CountMatrix(matrices={len(self)}, n_s={self.n_s.tolist()}, "
            f"levels={self.i.astype(int).tolist()}, j_max={int(self.j.max())})"
        )


def emphasis(m: CountMatrix, a: float, b: float) -> FloatArray:
    """``(1/N_s) Σ_ij i^a j^b s_ij``: the common form of the emphasis features."""
    return m.counts_by_j_power(b) @ m.i_power(a) / m.n_s


def nonuniformity_i(m: CountMatrix, *, normalised: bool) -> FloatArray:
    """Grey level non-uniformity ``Σ_i s_i.² / N_s`` (``/ N_s²`` when normalised)."""
    value = m.square_sums()[0] / m.n_s
    return value / m.n_s if normalised else value


def nonuniformity_j(m: CountMatrix, *, normalised: bool) -> FloatArray:
    """Non-uniformity over ``j``: ``Σ_j s_.j² / N_s`` (``/ N_s²`` when normalised)."""
    value = m.square_sums()[1] / m.n_s
    return value / m.n_s if normalised else value


def variance_i(m: CountMatrix) -> FloatArray:
    """Grey level variance ``Σ_ij (i - μ)² p_ij`` with ``μ = Σ_ij i p_ij``."""
    p_i = m.s_i / m.n_s[:, None]
    mu = p_i @ m.i
    return ((m.i[None, :] - mu[:, None]) ** 2 * p_i).sum(axis=1)


def variance_j(m: CountMatrix) -> FloatArray:
    """Variance over ``j``: ``Σ_ij (j - μ)² p_ij`` with ``μ = Σ_ij j p_ij``."""
    p_j = m.s_j / m.n_s[:, None]
    mu = p_j @ m.j
    return ((m.j[None, :] - mu[:, None]) ** 2 * p_j).sum(axis=1)


def entropy(m: CountMatrix) -> FloatArray:
    """Entropy ``-Σ_ij p_ij log2 p_ij`` (terms with ``p_ij = 0`` are 0)."""
    p = m.p
    logs = np.log2(np.where(p > 0, p, 1.0))
    return -(p * logs).sum(axis=(1, 2))


def energy(m: CountMatrix) -> FloatArray:
    """Energy ``Σ_ij p_ij²``."""
    return (m.p**2).sum(axis=(1, 2))


# --------------------------------------------------------------------------------------------
# Input checks, zone labelling, per-aggregation evaluation (shared with GLDZM / NGTDM / NGLDM)
# --------------------------------------------------------------------------------------------


def check_levels_mask(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    what: str,
    n_levels: int | None = None,
    inside: np.ndarray | None = None,
) -> tuple[IntArray, BoolArray]:
    """Validate grey levels and a mask; return them as C-contiguous int64 / bool arrays.

    ``n_levels``, when given, is also an upper bound of the grey levels inside the mask.
    ``inside``, when the caller has gathered ``levels[mask]`` already, is checked instead
    of gathering them again.

    Raises
    ------
    InputError
        Arrays not 3D, of different shapes, of the wrong dtype, or grey levels < 1 (or
        above ``n_levels``) inside the mask.
    EmptyRoiError
        The mask holds no voxel.
    """
    levels = np.asarray(levels)
    mask = np.asarray(mask)
    if levels.ndim != 3 or mask.ndim != 3:
        raise InputError(
            f"{what}: levels and mask must be (Z, Y, X) arrays, got ndim {levels.ndim} and "
            f"{mask.ndim}; add a leading slice axis for a single 2D image"
        )
    if levels.shape != mask.shape:
        raise InputError(
            f"{what}: levels shape {levels.shape} differs from mask shape {mask.shape}"
        )
    if not np.issubdtype(levels.dtype, np.integer):
        raise InputError(
            f"{what}: levels must hold discretised integer grey levels, got dtype "
            f"{levels.dtype}; discretise the image first"
        )
    if mask.dtype != np.bool_:
        raise InputError(f"{what}: mask must be a boolean array, got dtype {mask.dtype}")
    if not mask.any():
        raise EmptyRoiError(f"{what}: the mask holds no voxel")
    if inside is None:
        inside = levels[mask]
    lowest = int(inside.min())
    if lowest < 1:
        raise InputError(
            f"{what}: grey levels inside the mask must be >= 1 (IBSI discretisation starts "
            f"at 1), found {lowest}"
        )
    if n_levels is not None and int(inside.max()) > n_levels:
        raise InputError(
            f"{what}: grey levels inside the mask must lie in 1..{n_levels}, found "
            f"{lowest}..{int(inside.max())}"
        )
    return (
        np.ascontiguousarray(levels, dtype=np.int64),
        np.ascontiguousarray(mask, dtype=np.bool_),
    )


def check_distance(value: int, *, name: str) -> int:
    """Validate a positive integer distance parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SettingsError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def is_planar(aggregation: Aggregation, *, what: str) -> bool:
    """True for 2D and 2.5D (matrices per slice), False for 3D; reject other methods."""
    if aggregation not in ZONAL:
        valid = ", ".join(a.token for a in ZONAL)
        found = getattr(aggregation, "token", aggregation)
        raise SettingsError(f"{what} aggregation must be one of {valid}, got {found!r}")
    return aggregation is not Aggregation.D3


class Zones(NamedTuple):
    """Zones of one ROI (2D: within slices; 3D: volumetric).

    Attributes
    ----------
    voxel_zone : (N_v,) ndarray of int64
        Zone index 0..N_s-1 of each ROI voxel, in C order of ``levels[mask]``.
    level, size, slice : (N_s,) ndarray of int64
        Grey level, voxel count and slice index (axis 0) of each zone.
    """

    voxel_zone: IntArray
    level: IntArray
    size: IntArray
    slice: IntArray


def _is_offset(values: IntArray, offsets: IntArray) -> BoolArray:
    """Which ``values`` are in the ascending ``offsets`` (``np.isin``, a tenth of its time
    on these small arrays)."""
    at = np.minimum(np.searchsorted(offsets, values), offsets.shape[0] - 1)
    return offsets[at] == values


def _hub(backward: IntArray, offsets: IntArray) -> int:
    """An offset of ``backward`` whose neighbour is linked to the neighbour at every other
    one (their difference is 0 or in ``offsets``), 0 if none (see
    :func:`~radiomix.features._kernels.zones.label_zones`)."""
    diff = backward[None, :] - backward[:, None]
    linked = (diff == 0) | _is_offset(diff, offsets)
    hubs = linked.all(axis=1).nonzero()[0]
    return int(backward[hubs[0]]) if hubs.size else 0


def zones_of(padded: Padded) -> Zones:
    """Label the zones of a padded ROI (its offsets give the linkage neighbourhood)."""
    offsets = padded.offsets  # ascending (chebyshev_offsets order); ±1 among them
    positive = offsets[offsets > 1]
    # the neighbours k - o that the previous voxel k - 1 links too (o - 1 an offset)
    shared = _is_offset(positive - 1, offsets)
    fresh, others = positive[~shared], np.concatenate([positive[~shared], positive[shared]])
    hubs = [_hub(fresh, offsets), _hub(others, offsets)]
    backward = np.concatenate([others, [1], hubs])
    n_roi = padded.roi.shape[0]
    voxel_zone = np.empty(n_roi, dtype=np.int64)
    level = np.empty(n_roi, dtype=np.int64)
    size = np.zeros(n_roi, dtype=np.int64)
    first = np.empty(n_roi, dtype=np.int64)
    n_zones = label_zones(
        padded.levels,
        padded.roi,
        backward,
        fresh.shape[0],
        np.empty(padded.levels.shape[0], dtype=np.int64),
        voxel_zone,
        level,
        size,
        first,
    )
    return Zones(voxel_zone, level[:n_zones], size[:n_zones], padded.voxel_slice[first[:n_zones]])


def label_zone_map(
    levels: np.ndarray, mask: np.ndarray, *, planar: bool, linkage_distance: int = 1
) -> Zones:
    """Label the zones of equal grey level within ``mask``.

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels (>= 1 inside the mask).
    mask : (Z, Y, X) ndarray of bool
        Intensity mask.
    planar : bool
        Link voxels only within slices (axis 0), as in the 2D and 2.5D methods.
    linkage_distance : int
        Chebyshev distance δ within which equal-level voxels are linked (1: 8-connectivity
        in 2D, 26-connectivity in 3D).

    Returns
    -------
    Zones
    """
    levels, mask = check_levels_mask(levels, mask, what="zone labelling")
    d = check_distance(linkage_distance, name="linkage_distance")
    return zones_of(padded_flat(levels, mask, d, planar=planar))


def context_padded(ctx: RoiContext, distance: int, *, planar: bool) -> Padded:
    """The context's intensity-mask ROI padded for neighbourhood distance ``distance``.

    Validated once (grey levels 1..``ctx.n_levels`` inside the mask) and cached on the
    context, shared by every texture family (GLCM, GLRLM, zones, neighbourhoods) that uses
    the same distance and planarity. The arrays are cut to the bounding box of the
    intensity mask first (:attr:`Padded.shape`; the context keeps a margin around the ROI
    for local intensity): voxels outside it belong to no zone, run or neighbourhood, so
    every matrix is the same, over less padded memory; slices are numbered from the box's
    first slice, and per-slice matrices of the slices without ROI voxels are dropped
    anyway.
    """
    grey = ctx.grey_levels  # levels[int_mask], gathered once for every user
    levels, mask = ctx.cached(
        ("zonal_levels_checked",),
        lambda: _cut_to_box(*check_levels_mask(
            ctx.levels, ctx.int_mask, what="texture matrices", n_levels=ctx.n_levels,
            inside=grey,
        )),
    )
    d = check_distance(distance, name="texture distance")
    return ctx.cached(
        ("padded_roi", d, planar),
        lambda: padded_flat(levels, mask, d, planar=planar, roi_levels=grey),
    )


def _cut_to_box(levels: IntArray, mask: BoolArray) -> tuple[IntArray, BoolArray]:
    """``levels`` and a non-empty ``mask`` cut to the mask's bounding box (views)."""
    box = bounding_box(mask)
    return levels[box], mask[box]


def context_neighbour_sums(ctx: RoiContext, distance: int, *, planar: bool) -> NeighbourSums:
    """Neighbour counts, sums and dependences of the context's ROI, cached per distance.

    One kernel pass serves NGTDM and NGLDM when their distances agree: the dependence is
    computed at the NGLDM coarseness of the settings whichever family asks first.
    """
    a = ctx.settings.ngldm_coarseness
    return ctx.cached(
        ("neighbour_sums", distance, planar, a),
        lambda: neighbour_sums_of(context_padded(ctx, distance, planar=planar), a),
    )


def context_zones(ctx: RoiContext, *, planar: bool) -> Zones:
    """Zones of the context's intensity mask, cached per (planar, linkage distance)."""
    d = ctx.settings.linkage_distance
    return ctx.cached(("zones", planar, d), lambda: zones_of(context_padded(ctx, d, planar=planar)))


def assemble(
    i: np.ndarray,
    j: np.ndarray,
    pair_slice: np.ndarray,
    padded: Padded,
    aggregation: Aggregation,
) -> CountMatrix:
    """Count ``(i, j)`` pairs of the ROI ``padded`` into the matrices of one aggregation.

    ``D2``: one matrix per slice that has pairs (``pair_slice`` gives each pair's slice),
    with that slice's voxel count, stacked; ``D2P5`` and ``D3``: one matrix of all pairs,
    with the ROI's voxel count.
    """
    if aggregation is not Aggregation.D2:
        return CountMatrix.from_pairs(i, j, n_voxels=float(padded.roi.shape[0]))
    slice_voxels = np.bincount(padded.voxel_slice, minlength=padded.shape[0]).astype(np.int64)
    occupied = np.bincount(pair_slice, minlength=slice_voxels.size).nonzero()[0]
    return CountMatrix.from_pairs(i, j, n_voxels=slice_voxels[occupied], batch=pair_slice)


def average_over(specs: Sequence[FeatureSpec], matrices: Any) -> dict[str, float]:
    """Evaluate each feature on a stack of matrices and average over the stack.

    2D aggregation (IBSI 8QNN) passes one matrix per slice, the 2.5D and 3D methods a
    single matrix (the average is then its value). With an empty stack (no slice with a
    valid matrix) every feature is NaN.
    """
    if len(matrices) == 0:
        return {spec.name: float("nan") for spec in specs}
    # gathered row by row into one (features, B) array (cheaper than stacking them)
    n = len(matrices)
    values = np.empty((len(specs), n))
    for row, spec in enumerate(specs):
        values[row] = spec.func(matrices)
    # numpy's mean, less its Python overhead: the sum divided by the count, every feature's
    # sum in one reduction (each row's the one a reduction of that row alone makes)
    return {spec.name: total / n
            for spec, total in zip(specs, np.add.reduce(values, axis=1).tolist(), strict=True)}


# --------------------------------------------------------------------------------------------
# GLSZM matrices and family compute
# --------------------------------------------------------------------------------------------


def glszm_matrices(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    aggregation: Aggregation,
    linkage_distance: int = 1,
) -> CountMatrix:
    """Grey level size zone matrices of one ROI (IBSI 9SAK).

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels, >= 1 inside ``mask``.
    mask : (Z, Y, X) ndarray of bool
        Intensity mask.
    aggregation : Aggregation
        ``D2`` (one matrix per slice along axis 0), ``D2P5`` (the slice matrices merged)
        or ``D3`` (one volumetric matrix).
    linkage_distance : int
        Chebyshev linkage distance δ of zones.

    Returns
    -------
    CountMatrix
        One matrix per slice with ROI voxels (``D2``) or a single matrix; ``j`` is the
        zone size in voxels.

    Raises
    ------
    InputError, EmptyRoiError, SettingsError
        Bad arrays, empty mask, or an aggregation that is not 2D / 2.5D / 3D.

    Examples
    --------
    >>> import numpy as np
    >>> lv = np.array([[[1, 1, 2], [2, 2, 2]]])
    >>> m = glszm_matrices(lv, lv > 0, aggregation=Aggregation.D3)
    >>> m.dense()
    array([[0., 1., 0., 0.],
           [0., 0., 0., 1.]])
    """
    planar = is_planar(aggregation, what="GLSZM")
    levels, mask = check_levels_mask(levels, mask, what="GLSZM")
    d = check_distance(linkage_distance, name="linkage_distance")
    padded = padded_flat(levels, mask, d, planar=planar)
    zones = zones_of(padded)
    return assemble(zones.level, zones.size, zones.slice, padded, aggregation)


def _context_glszm(ctx: RoiContext, aggregation: Aggregation) -> CountMatrix:
    planar = is_planar(aggregation, what="GLSZM")
    zones = context_zones(ctx, planar=planar)
    padded = context_padded(ctx, ctx.settings.linkage_distance, planar=planar)
    return assemble(zones.level, zones.size, zones.slice, padded, aggregation)


@family("glszm")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Build the GLSZMs of one aggregation once and evaluate the GLSZM features on them."""
    if aggregation is None:
        raise SettingsError("GLSZM features need an aggregation method (2d, 2p5d or 3d)")
    matrices = ctx.cached(
        ("glszm", aggregation, ctx.settings.linkage_distance),
        lambda: _context_glszm(ctx, aggregation),
    )
    return average_over(specs, matrices)


# --------------------------------------------------------------------------------------------
# GLSZM features (IBSI 1 §3.8)
# --------------------------------------------------------------------------------------------


@feature(name="glszm.small_zone_emphasis", ibsi="5QRC", aggregations=ZONAL, requires=("glszm",))
def small_zone_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM small zone emphasis (IBSI 5QRC).

    Notes
    -----
    .. math:: F_{szm.sze} = \\frac{1}{N_s} \\sum_{j=1}^{N_z} \\frac{s_{.j}}{j^2}

    References
    ----------
    IBSI 1 manual, §3.8.1 "Small zone emphasis".
    """
    return emphasis(m, 0, -2)


@feature(name="glszm.large_zone_emphasis", ibsi="48P8", aggregations=ZONAL, requires=("glszm",))
def large_zone_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM large zone emphasis (IBSI 48P8).

    Notes
    -----
    .. math:: F_{szm.lze} = \\frac{1}{N_s} \\sum_{j=1}^{N_z} j^2 s_{.j}

    References
    ----------
    IBSI 1 manual, §3.8.2 "Large zone emphasis".
    """
    return emphasis(m, 0, 2)


@feature(
    name="glszm.low_grey_level_zone_emphasis",
    ibsi="XMSY",
    aggregations=ZONAL,
    requires=("glszm",),
)
def low_grey_level_zone_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM low grey level zone emphasis (IBSI XMSY).

    Notes
    -----
    .. math:: F_{szm.lgze} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\frac{s_{i.}}{i^2}

    References
    ----------
    IBSI 1 manual, §3.8.3 "Low grey level zone emphasis".
    """
    return emphasis(m, -2, 0)


@feature(
    name="glszm.high_grey_level_zone_emphasis",
    ibsi="5GN9",
    aggregations=ZONAL,
    requires=("glszm",),
)
def high_grey_level_zone_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM high grey level zone emphasis (IBSI 5GN9).

    Notes
    -----
    .. math:: F_{szm.hgze} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} i^2 s_{i.}

    References
    ----------
    IBSI 1 manual, §3.8.4 "High grey level zone emphasis".
    """
    return emphasis(m, 2, 0)


@feature(
    name="glszm.small_zone_low_grey_level_emphasis",
    ibsi="5RAI",
    aggregations=ZONAL,
    requires=("glszm",),
)
def small_zone_low_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM small zone low grey level emphasis (IBSI 5RAI).

    Notes
    -----
    .. math:: F_{szm.szlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_z}
              \\frac{s_{ij}}{i^2 j^2}

    References
    ----------
    IBSI 1 manual, §3.8.5 "Small zone low grey level emphasis".
    """
    return emphasis(m, -2, -2)


@feature(
    name="glszm.small_zone_high_grey_level_emphasis",
    ibsi="HW1V",
    aggregations=ZONAL,
    requires=("glszm",),
)
def small_zone_high_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM small zone high grey level emphasis (IBSI HW1V).

    Notes
    -----
    .. math:: F_{szm.szhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_z}
              \\frac{i^2 s_{ij}}{j^2}

    References
    ----------
    IBSI 1 manual, §3.8.6 "Small zone high grey level emphasis".
    """
    return emphasis(m, 2, -2)


@feature(
    name="glszm.large_zone_low_grey_level_emphasis",
    ibsi="YH51",
    aggregations=ZONAL,
    requires=("glszm",),
)
def large_zone_low_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM large zone low grey level emphasis (IBSI YH51).

    Notes
    -----
    .. math:: F_{szm.lzlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_z}
              \\frac{j^2 s_{ij}}{i^2}

    References
    ----------
    IBSI 1 manual, §3.8.7 "Large zone low grey level emphasis".
    """
    return emphasis(m, -2, 2)


@feature(
    name="glszm.large_zone_high_grey_level_emphasis",
    ibsi="J17V",
    aggregations=ZONAL,
    requires=("glszm",),
)
def large_zone_high_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLSZM large zone high grey level emphasis (IBSI J17V).

    Notes
    -----
    .. math:: F_{szm.lzhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_z}
              i^2 j^2 s_{ij}

    References
    ----------
    IBSI 1 manual, §3.8.8 "Large zone high grey level emphasis".
    """
    return emphasis(m, 2, 2)


@feature(
    name="glszm.grey_level_nonuniformity",
    ibsi="JNSA",
    aggregations=ZONAL,
    requires=("glszm",),
)
def grey_level_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLSZM grey level non-uniformity (IBSI JNSA).

    Notes
    -----
    .. math:: F_{szm.glnu} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} s_{i.}^2

    References
    ----------
    IBSI 1 manual, §3.8.9 "Grey level non-uniformity".
    """
    return nonuniformity_i(m, normalised=False)


@feature(
    name="glszm.normalised_grey_level_nonuniformity",
    ibsi="Y1RO",
    aggregations=ZONAL,
    requires=("glszm",),
)
def normalised_grey_level_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLSZM normalised grey level non-uniformity (IBSI Y1RO).

    Notes
    -----
    .. math:: F_{szm.glnu.norm} = \\frac{1}{N_s^2} \\sum_{i=1}^{N_g} s_{i.}^2

    References
    ----------
    IBSI 1 manual, §3.8.10 "Normalised grey level non-uniformity".
    """
    return nonuniformity_i(m, normalised=True)


@feature(
    name="glszm.zone_size_nonuniformity",
    ibsi="4JP3",
    aggregations=ZONAL,
    requires=("glszm",),
)
def zone_size_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLSZM zone size non-uniformity (IBSI 4JP3).

    Notes
    -----
    .. math:: F_{szm.zsnu} = \\frac{1}{N_s} \\sum_{j=1}^{N_z} s_{.j}^2

    References
    ----------
    IBSI 1 manual, §3.8.11 "Zone size non-uniformity".
    """
    return nonuniformity_j(m, normalised=False)


@feature(
    name="glszm.normalised_zone_size_nonuniformity",
    ibsi="VB3A",
    aggregations=ZONAL,
    requires=("glszm",),
)
def normalised_zone_size_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLSZM normalised zone size non-uniformity (IBSI VB3A).

    Notes
    -----
    .. math:: F_{szm.zsnu.norm} = \\frac{1}{N_s^2} \\sum_{j=1}^{N_z} s_{.j}^2

    References
    ----------
    IBSI 1 manual, §3.8.12 "Normalised zone size non-uniformity".
    """
    return nonuniformity_j(m, normalised=True)


@feature(name="glszm.zone_percentage", ibsi="P30P", aggregations=ZONAL, requires=("glszm",))
def zone_percentage(m: CountMatrix) -> FloatArray:
    """GLSZM zone percentage (IBSI P30P).

    Notes
    -----
    .. math:: F_{szm.z.perc} = \\frac{N_s}{N_v}

    ``N_v`` is the number of intensity-mask voxels (of the slice in 2D; summed over slices
    for the merged 2.5D matrix).

    References
    ----------
    IBSI 1 manual, §3.8.13 "Zone percentage".
    """
    return m.n_s / m.n_voxels


@feature(name="glszm.grey_level_variance", ibsi="BYLV", aggregations=ZONAL, requires=("glszm",))
def grey_level_variance(m: CountMatrix) -> FloatArray:
    """GLSZM grey level variance (IBSI BYLV).

    Notes
    -----
    .. math:: F_{szm.gl.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_z} (i-\\mu)^2 p_{ij},
              \\quad \\mu = \\sum_{i,j} i\\,p_{ij}, \\quad p_{ij} = s_{ij}/N_s

    References
    ----------
    IBSI 1 manual, §3.8.14 "Grey level variance".
    """
    return variance_i(m)


@feature(name="glszm.zone_size_variance", ibsi="3NSA", aggregations=ZONAL, requires=("glszm",))
def zone_size_variance(m: CountMatrix) -> FloatArray:
    """GLSZM zone size variance (IBSI 3NSA).

    Notes
    -----
    .. math:: F_{szm.zs.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_z} (j-\\mu)^2 p_{ij},
              \\quad \\mu = \\sum_{i,j} j\\,p_{ij}

    References
    ----------
    IBSI 1 manual, §3.8.15 "Zone size variance".
    """
    return variance_j(m)


@feature(name="glszm.zone_size_entropy", ibsi="GU8N", aggregations=ZONAL, requires=("glszm",))
def zone_size_entropy(m: CountMatrix) -> FloatArray:
    """GLSZM zone size entropy (IBSI GU8N).

    Notes
    -----
    .. math:: F_{szm.zs.entr} = -\\sum_{i=1}^{N_g} \\sum_{j=1}^{N_z} p_{ij} \\log_2 p_{ij}

    References
    ----------
    IBSI 1 manual, §3.8.16 "Zone size entropy".
    """
    return entropy(m)
