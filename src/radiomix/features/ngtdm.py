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
from radiomix.features._kernels.neighbourhood import chebyshev_offsets, ngtdm_sums
from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.glszm import average_over, check_distance, check_levels_mask, is_planar
from radiomix.features.registry import FeatureSpec, family, feature
from radiomix.roi import RoiContext
from radiomix.types import FloatArray

__all__ = ["COARSENESS_MAX", "Ngtdm", "ngtdm_matrices"]

COARSENESS_MAX = 1.0e6
"""Upper bound of coarseness, its value when ``Σ p_i s_i = 0`` (IBSI QCDE)."""


class Ngtdm:
    """One NGTDM, restricted to the grey levels with ``n_i > 0``.

    Parameters
    ----------
    levels : (N_{g,p},) ndarray
        Grey levels ``i`` with at least one voxel with a valid neighbourhood.
    s : (N_{g,p},) ndarray of float64
        Neighbourhood grey tone differences ``s_i``.
    n : (N_{g,p},) ndarray
        Voxel counts ``n_i``.

    Attributes
    ----------
    n_vc : float
        ``N_{v,c} = Σ n_i``.
    p : ndarray of float64
        ``p_i = n_i / N_{v,c}``.
    n_gp : int
        Number of grey levels with ``p_i > 0``.
    """

    __slots__ = ("i", "n", "n_gp", "n_vc", "p", "s")

    def __init__(self, levels: np.ndarray, s: np.ndarray, n: np.ndarray) -> None:
        self.i = np.asarray(levels, dtype=np.float64)
        self.s = np.asarray(s, dtype=np.float64)
        self.n = np.asarray(n, dtype=np.float64)
        self.n_vc = float(self.n.sum())
        self.p = self.n / self.n_vc
        self.n_gp = int(self.i.size)

    @classmethod
    def from_columns(cls, s: np.ndarray, n: np.ndarray) -> Ngtdm:
        """From per-grey-level columns (index = grey level), dropping levels with n_i = 0."""
        keep = np.flatnonzero(n > 0)
        return cls(keep, s[keep], n[keep])

    def __repr__(self) -> str:
        return f"Ngtdm(levels={self.i.astype(int).tolist()}, n={self.n.astype(int).tolist()})"


def ngtdm_matrices(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    aggregation: Aggregation,
    distance: int = 1,
) -> tuple[Ngtdm, ...]:
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
    tuple of Ngtdm
        In 2D one per slice that has a voxel with a valid neighbourhood; empty when no
        voxel has one (then every feature is NaN).

    Examples
    --------
    >>> lv = np.array([[[1, 2, 1]]])
    >>> (m,) = ngtdm_matrices(lv, lv > 0, aggregation=Aggregation.D3)
    >>> m.i.tolist(), m.s.tolist(), m.n.tolist()
    ([1.0, 2.0], [2.0, 1.0], [2.0, 1.0])
    """
    planar = is_planar(aggregation, what="NGTDM")
    levels, mask = check_levels_mask(levels, mask, what="NGTDM")
    d = check_distance(distance, name="ngtdm distance")
    n_levels = int(levels[mask].max())
    slice_wise = aggregation is Aggregation.D2
    s, n = ngtdm_sums(levels, mask, chebyshev_offsets(d, planar=planar), n_levels, slice_wise)
    if aggregation is Aggregation.D2:
        return tuple(Ngtdm.from_columns(s[z], n[z]) for z in range(s.shape[0]) if n[z].any())
    if not n[0].any():
        return ()
    return (Ngtdm.from_columns(s[0], n[0]),)


@family("ngtdm")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Build the NGTDMs of one aggregation once and evaluate the NGTDM features on them."""
    if aggregation is None:
        raise SettingsError("NGTDM features need an aggregation method (2d, 2p5d or 3d)")
    d = ctx.settings.ngtdm_distance
    matrices = ctx.cached(
        ("ngtdm", aggregation, d),
        lambda: ngtdm_matrices(ctx.levels, ctx.int_mask, aggregation=aggregation, distance=d),
    )
    return average_over(specs, matrices)


def _pairs(m: Ngtdm) -> tuple[FloatArray, FloatArray]:
    """``(i1 - i2)`` and ``|i1 - i2|`` over all pairs of present grey levels."""
    diff = m.i[:, None] - m.i[None, :]
    return diff, np.abs(diff)


# --------------------------------------------------------------------------------------------
# NGTDM features (IBSI 1 §3.10)
# --------------------------------------------------------------------------------------------


@feature(name="ngtdm.coarseness", ibsi="QCDE", aggregations=ZONAL, requires=("ngtdm",))
def coarseness(m: Ngtdm) -> float:
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
    denom = float(m.p @ m.s)
    return COARSENESS_MAX if denom * COARSENESS_MAX <= 1.0 else 1.0 / denom


@feature(name="ngtdm.contrast", ibsi="65HE", aggregations=ZONAL, requires=("ngtdm",))
def contrast(m: Ngtdm) -> float:
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
    if m.n_gp < 2:
        return 0.0
    diff, _ = _pairs(m)
    spread = float(m.p @ (diff**2) @ m.p) / (m.n_gp * (m.n_gp - 1))
    return spread * float(m.s.sum()) / m.n_vc


@feature(name="ngtdm.busyness", ibsi="NQ30", aggregations=ZONAL, requires=("ngtdm",))
def busyness(m: Ngtdm) -> float:
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
    if m.n_gp < 2:
        return 0.0
    ip = m.i * m.p
    denom = float(np.abs(ip[:, None] - ip[None, :]).sum())
    if denom == 0.0:
        return float("nan")
    return float(m.p @ m.s) / denom


@feature(name="ngtdm.complexity", ibsi="HDEZ", aggregations=ZONAL, requires=("ngtdm",))
def complexity(m: Ngtdm) -> float:
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
    _, absdiff = _pairs(m)
    ps = m.p * m.s
    ratio = (ps[:, None] + ps[None, :]) / (m.p[:, None] + m.p[None, :])
    return float(np.sum(absdiff * ratio)) / m.n_vc


@feature(name="ngtdm.strength", ibsi="1X9X", aggregations=ZONAL, requires=("ngtdm",))
def strength(m: Ngtdm) -> float:
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
    total = float(m.s.sum())
    if total == 0.0:
        return 0.0
    diff, _ = _pairs(m)
    return float(np.sum((m.p[:, None] + m.p[None, :]) * diff**2)) / total
