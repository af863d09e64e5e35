"""Neighbourhood grey tone difference matrix features (IBSI family IPET).

For each intensity-mask voxel ``k`` with grey level ``i``, the neighbourhood average
``X̄_k`` is the mean grey level of the ROI voxels within Chebyshev distance δ (excluding
``k``; 2D: within the slice). Following IBSI, only neighbours inside the ROI count, and a
voxel has a valid neighbourhood when it has at least one (``W_k > 0``). Then
``s_i = Σ_k |i − X̄_k|`` and ``n_i`` = number of voxels with grey level ``i`` and a valid
neighbourhood, ``p_i = n_i / N_{v,c}``, ``N_{v,c} = Σ n_i``.

References
----------
IBSI 1 manual (Zwanenburg et al., arXiv:1612.07003), §3.10 "Neighbourhood grey tone
difference based features"; Amadasun M, King R, "Textural features corresponding to textural
properties", IEEE Trans Syst Man Cybern 1989;19(5):1264–1274.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiomix.errors import SettingsError
from radiomix.features._kernels.neighbourhood import (
    NeighbourSums,
    Padded,
    neighbour_sums_of,
    padded_flat,
)
from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.glszm import (
    average_over,
    check_distance,
    check_levels_mask,
    context_neighbour_sums,
    context_padded,
    is_planar,
)
from radiomix.features.registry import FeatureSpec, family, feature
from radiomix.roi import RoiContext
from radiomix.types import FloatArray

__all__ = ["COARSENESS_MAX", "Ngtdm", "ngtdm_matrices"]

COARSENESS_MAX = 1.0e6
"""Upper bound of coarseness, its value when ``Σ p_i s_i = 0`` (IBSI QCDE)."""


class Ngtdm:
    """A stack of NGTDMs (one per slice in 2D, else one) over the grey levels present.

    Parameters
    ----------
    levels : (L,) ndarray
        Grey levels ``i`` with ``n_i > 0`` in at least one matrix of the stack.
    s : (B, L) or (L,) ndarray of float64
        Neighbourhood grey tone differences ``s_i``.
    n : (B, L) or (L,) ndarray
        Counts ``n_i`` of voxels with grey level ``i`` and a valid neighbourhood; every
        matrix must have ``N_{v,c} = Σ n_i > 0``.

    Attributes
    ----------
    n_vc : (B,) ndarray of float64
        ``N_{v,c} = Σ n_i``.
    p : (B, L) ndarray of float64
        ``p_i = n_i / N_{v,c}``.
    present : (B, L) ndarray of bool
        ``p_i > 0``.
    n_gp : (B,) ndarray of int64
        Number of grey levels with ``p_i > 0``.
    """

    __slots__ = ("_pair_sums", "_pairs", "_ps", "_totals", "i", "n", "n_gp", "n_vc", "p",
                 "present", "s")

    def __init__(self, levels: np.ndarray, s: np.ndarray, n: np.ndarray) -> None:
        self.i = np.asarray(levels, dtype=np.float64)
        self.s = np.atleast_2d(np.asarray(s, dtype=np.float64))
        self.n = np.atleast_2d(np.asarray(n, dtype=np.float64))
        self.n_vc = self.n.sum(axis=1)
        self.p = self.n / self.n_vc[:, None]
        self.present = self.n > 0
        self.n_gp = self.present.sum(axis=1)
        self._ps: FloatArray | None = None
        self._pairs: tuple[FloatArray, np.ndarray] | None = None
        self._pair_sums: tuple[FloatArray, FloatArray] | None = None
        self._totals: tuple[FloatArray, FloatArray] | None = None

    @property
    def ps(self) -> FloatArray:
        """``p_i s_i``, (B, L) (computed once: coarseness, busyness and complexity read it)."""
        if self._ps is None:
            self._ps = self.p * self.s
        return self._ps

    def pairs(self) -> tuple[FloatArray, np.ndarray]:
        """``(i1 - i2)`` over all pairs of levels, (L, L), and which pairs have both
        ``p > 0``, (B, L, L) (computed once: four features read them)."""
        if self._pairs is None:
            self._pairs = (self.i[:, None] - self.i[None, :],
                           self.present[:, :, None] & self.present[:, None, :])
        return self._pairs

    def pair_sums(self) -> tuple[FloatArray, FloatArray]:
        """``(i1 - i2)²``, (L, L), and ``p_{i1} + p_{i2}``, (B, L, L), over all pairs of
        levels (computed once: contrast and strength, complexity and strength read them)."""
        if self._pair_sums is None:
            diff, _ = self.pairs()
            self._pair_sums = (diff**2, self.p[:, :, None] + self.p[:, None, :])
        return self._pair_sums

    def totals(self) -> tuple[FloatArray, FloatArray]:
        """``Σ_i p_i s_i`` and ``Σ_i s_i`` of each matrix, (B,) each (computed once:
        coarseness and busyness, contrast and strength read them)."""
        if self._totals is None:
            self._totals = (self.ps.sum(axis=1), self.s.sum(axis=1))
        return self._totals

    @classmethod
    def from_columns(cls, s: np.ndarray, n: np.ndarray) -> Ngtdm:
        """From (B, N_g + 1) arrays indexed by grey level, dropping absent levels and
        matrices without any valid neighbourhood."""
        s, n = np.atleast_2d(s), np.atleast_2d(n)
        rows = np.nonzero(n.any(axis=1))[0]
        cols = np.nonzero(n.any(axis=0))[0]
        return cls(cols, s.take(rows, axis=0).take(cols, axis=1),
                   n.take(rows, axis=0).take(cols, axis=1))

    def __len__(self) -> int:
        return int(self.n.shape[0])

    def slices(self) -> tuple[Ngtdm, ...]:
        """The matrices of the stack one by one, each over its own grey levels."""
        out = []
        for b in range(len(self)):
            keep = self.present[b]
            out.append(Ngtdm(self.i[keep], self.s[b, keep], self.n[b, keep]))
        return tuple(out)

    def __repr__(self) -> str:
        return f"Ngtdm(matrices={len(self)}, levels={self.i.astype(int).tolist()})"


def ngtdm_matrices(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    aggregation: Aggregation,
    distance: int = 1,
) -> Ngtdm:
    """Neighbourhood grey tone difference matrices of one ROI (IBSI IPET).

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels, >= 1 inside ``mask``.
    mask : (Z, Y, X) ndarray of bool
        Intensity mask; only its voxels are centres and neighbours.
    aggregation : Aggregation
        ``D2`` (one matrix per slice), ``D2P5`` (slice matrices merged by summing ``s_i``
        and ``n_i``) or ``D3`` (volumetric neighbourhoods).
    distance : int
        Chebyshev neighbourhood distance δ.

    Returns
    -------
    Ngtdm
        In 2D one matrix per slice that has a voxel with a valid neighbourhood, else a
        single matrix; an empty stack when no voxel has one (every feature is then NaN).

    Examples
    --------
    >>> lv = np.array([[[1, 2, 1]]])
    >>> m = ngtdm_matrices(lv, lv > 0, aggregation=Aggregation.D3)
    >>> m.i.tolist(), m.s.tolist(), m.n.tolist()
    ([1.0, 2.0], [[2.0, 1.0]], [[2.0, 1.0]])
    """
    planar = is_planar(aggregation, what="NGTDM")
    levels, mask = check_levels_mask(levels, mask, what="NGTDM")
    d = check_distance(distance, name="ngtdm distance")
    padded = padded_flat(levels, mask, d, planar=planar)
    return ngtdm_of(padded, neighbour_sums_of(padded, 0), aggregation)


def ngtdm_of(padded: Padded, sums: NeighbourSums, aggregation: Aggregation) -> Ngtdm:
    """NGTDMs of a padded ROI from its voxels' neighbour counts and differences.

    ``s_i`` adds ``|i - X̄_k|`` over the voxels with ``W_k > 0`` in the order of the ROI
    voxels: the neighbourhood kernel's per-level sums for one matrix (2.5D, 3D), and
    ``np.bincount`` (which adds its weights in input order) per slice for 2D.
    """
    if aggregation is not Aggregation.D2:  # one matrix: column i is grey level i
        return Ngtdm.from_columns(sums.level_difference, sums.level_count)
    level = padded.roi_levels
    width = sums.level_count.shape[0]  # column i is grey level i, one row per slice
    code, n_rows = padded.voxel_slice * width + level, padded.shape[0]
    diff = sums.difference
    valid = sums.neighbours > 0
    if not valid.all():
        code, diff = code[valid], diff[valid]
    s = np.bincount(code, weights=diff, minlength=n_rows * width).reshape(n_rows, width)
    n = np.bincount(code, minlength=n_rows * width).reshape(n_rows, width)
    return Ngtdm.from_columns(s, n)


@family("ngtdm")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Build the NGTDMs of one aggregation once and evaluate the NGTDM features on them."""
    if aggregation is None:
        raise SettingsError("NGTDM features need an aggregation method (2d, 2p5d or 3d)")
    d = ctx.settings.ngtdm_distance
    planar = is_planar(aggregation, what="NGTDM")
    matrices = ctx.cached(
        ("ngtdm", aggregation, d),
        lambda: ngtdm_of(
            context_padded(ctx, d, planar=planar),
            context_neighbour_sums(ctx, d, planar=planar),
            aggregation,
        ),
    )
    return average_over(specs, matrices)


# --------------------------------------------------------------------------------------------
# NGTDM features (IBSI 1 §3.10)
# --------------------------------------------------------------------------------------------


@feature(name="ngtdm.coarseness", ibsi="QCDE", aggregations=ZONAL, requires=("ngtdm",))
def coarseness(m: Ngtdm) -> FloatArray:
    """NGTDM coarseness (IBSI QCDE).

    Notes
    -----
    .. math:: F_{ngt.coarseness} = \\frac{1}{\\sum_{i=1}^{N_g} p_i s_i}

    The sum can be 0 (a ROI of one grey level); as IBSI prescribes, coarseness is then
    :data:`COARSENESS_MAX` (10⁶), which is also its upper bound.

    References
    ----------
    IBSI 1 manual, §3.10.1 "Coarseness".
    """
    denom = m.totals()[0]
    capped = denom * COARSENESS_MAX <= 1.0
    return np.where(capped, COARSENESS_MAX, 1.0 / np.where(capped, 1.0, denom))


@feature(name="ngtdm.contrast", ibsi="65HE", aggregations=ZONAL, requires=("ngtdm",))
def contrast(m: Ngtdm) -> FloatArray:
    """NGTDM contrast (IBSI 65HE).

    Notes
    -----
    .. math:: F_{ngt.contrast} = \\left(\\frac{1}{N_{g,p}(N_{g,p}-1)} \\sum_{i_1}
              \\sum_{i_2} p_{i_1} p_{i_2} (i_1-i_2)^2\\right)
              \\left(\\frac{1}{N_{v,c}} \\sum_i s_i\\right)

    0 when only one grey level is present (``N_{g,p} = 1``).

    References
    ----------
    IBSI 1 manual, §3.10.2 "Contrast".
    """
    spread = np.einsum("ba,ac,bc->b", m.p, m.pair_sums()[0], m.p)
    pairs = m.n_gp * (m.n_gp - 1)
    value = spread / np.maximum(pairs, 1) * m.totals()[1] / m.n_vc
    return np.where(m.n_gp < 2, 0.0, value)


@feature(name="ngtdm.busyness", ibsi="NQ30", aggregations=ZONAL, requires=("ngtdm",))
def busyness(m: Ngtdm) -> FloatArray:
    """NGTDM busyness (IBSI NQ30).

    Notes
    -----
    .. math:: F_{ngt.busyness} = \\frac{\\sum_i p_i s_i}{\\sum_{i_1} \\sum_{i_2}
              |i_1 p_{i_1} - i_2 p_{i_2}|}, \\quad p_{i_1} \\neq 0,\\ p_{i_2} \\neq 0

    (the denominator as corrected by Hatt et al. 2016). 0 when ``N_{g,p} = 1``. NaN in the
    degenerate case where every ``i p_i`` is equal (denominator 0 with ``N_{g,p} > 1``),
    for which the feature is undefined.

    References
    ----------
    IBSI 1 manual, §3.10.3 "Busyness".
    """
    _, both = m.pairs()
    ip = m.i[None, :] * m.p
    denom = (np.abs(ip[:, :, None] - ip[:, None, :]) * both).sum(axis=(1, 2))
    numer = m.totals()[0]
    value = np.where(denom > 0, numer / np.where(denom > 0, denom, 1.0), np.nan)
    return np.where(m.n_gp < 2, 0.0, value)


@feature(name="ngtdm.complexity", ibsi="HDEZ", aggregations=ZONAL, requires=("ngtdm",))
def complexity(m: Ngtdm) -> FloatArray:
    """NGTDM complexity (IBSI HDEZ).

    Notes
    -----
    .. math:: F_{ngt.complexity} = \\frac{1}{N_{v,c}} \\sum_{i_1} \\sum_{i_2}
              |i_1 - i_2| \\frac{p_{i_1} s_{i_1} + p_{i_2} s_{i_2}}{p_{i_1} + p_{i_2}},
              \\quad p_{i_1} \\neq 0,\\ p_{i_2} \\neq 0

    References
    ----------
    IBSI 1 manual, §3.10.4 "Complexity".
    """
    diff, both = m.pairs()
    ps = m.ps
    num = ps[:, :, None] + ps[:, None, :]
    den = m.pair_sums()[1]
    ratio = np.where(both, num / np.where(both, den, 1.0), 0.0)
    return (np.abs(diff) * ratio).sum(axis=(1, 2)) / m.n_vc


@feature(name="ngtdm.strength", ibsi="1X9X", aggregations=ZONAL, requires=("ngtdm",))
def strength(m: Ngtdm) -> FloatArray:
    """NGTDM strength (IBSI 1X9X).

    Notes
    -----
    .. math:: F_{ngt.strength} = \\frac{\\sum_{i_1} \\sum_{i_2} (p_{i_1} + p_{i_2})
              (i_1 - i_2)^2}{\\sum_i s_i}, \\quad p_{i_1} \\neq 0,\\ p_{i_2} \\neq 0

    0 when ``Σ s_i = 0``.

    References
    ----------
    IBSI 1 manual, §3.10.5 "Strength".
    """
    _, both = m.pairs()
    diff2, p_sum = m.pair_sums()
    num = (p_sum * diff2 * both).sum(axis=(1, 2))
    total = m.totals()[1]
    return np.where(total > 0, num / np.where(total > 0, total, 1.0), 0.0)
