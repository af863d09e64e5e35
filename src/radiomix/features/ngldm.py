"""Neighbouring grey level dependence matrix features (IBSI family REK0).

For each intensity-mask voxel ``k`` with grey level ``i``, the dependence ``j_k`` is 1 plus
the number of ROI voxels within Chebyshev distance δ (2D: within the slice) whose grey level
differs from ``i`` by at most the coarseness α. Neighbours outside the ROI do not count and
every ROI voxel contributes, so ``N_s = N_v``. Element ``s_ij`` counts the voxels with grey
level ``i`` and dependence ``j``.

References
----------
IBSI 1 manual (Zwanenburg et al., arXiv:1612.07003), §3.11 "Neighbouring grey level
dependence based features"; Sun C, Wee WG, "Neighboring gray level dependence matrix for
texture classification", Comput Vis Graph Image Process 1983;23(3):341–352.
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
    CountMatrix,
    assemble,
    average_over,
    check_distance,
    check_levels_mask,
    context_neighbour_sums,
    context_padded,
    emphasis,
    energy,
    entropy,
    is_planar,
    nonuniformity_i,
    nonuniformity_j,
    variance_i,
    variance_j,
)
from radiomix.features.registry import FeatureSpec, family, feature
from radiomix.roi import RoiContext
from radiomix.types import FloatArray

__all__ = ["ngldm_matrices"]


def ngldm_matrices(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    aggregation: Aggregation,
    distance: int = 1,
    coarseness: int = 0,
) -> CountMatrix:
    """Neighbouring grey level dependence matrices of one ROI (IBSI REK0).

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels, >= 1 inside ``mask``.
    mask : (Z, Y, X) ndarray of bool
        Intensity mask; only its voxels are centres and neighbours.
    aggregation : Aggregation
        ``D2`` (one matrix per slice), ``D2P5`` (slice matrices merged) or ``D3``.
    distance : int
        Chebyshev neighbourhood distance δ (>= 1).
    coarseness : int
        Coarseness α (>= 0): neighbours with ``|X_k - X_m| <= α`` are dependent.

    Returns
    -------
    CountMatrix
        One matrix per slice with ROI voxels (``D2``) or a single matrix; ``j`` is the
        dependence count (>= 1).

    Examples
    --------
    >>> lv = np.array([[[1, 1, 2]]])
    >>> m = ngldm_matrices(lv, lv > 0, aggregation=Aggregation.D3)
    >>> m.dense()
    array([[0., 2.],
           [1., 0.]])
    """
    planar = is_planar(aggregation, what="NGLDM")
    levels, mask = check_levels_mask(levels, mask, what="NGLDM")
    d = check_distance(distance, name="ngldm distance")
    if isinstance(coarseness, bool) or not isinstance(coarseness, (int, np.integer)):
        raise SettingsError(f"ngldm coarseness must be an integer >= 0, got {coarseness!r}")
    if coarseness < 0:
        raise SettingsError(f"ngldm coarseness must be an integer >= 0, got {coarseness!r}")
    padded = padded_flat(levels, mask, d, planar=planar)
    return ngldm_of(padded, neighbour_sums_of(padded, int(coarseness)), aggregation)


def ngldm_of(padded: Padded, sums: NeighbourSums, aggregation: Aggregation) -> CountMatrix:
    """NGLDMs of a padded ROI from its voxels' dependences, per aggregation."""
    return assemble(padded.roi_levels, sums.dependence, padded.voxel_slice, padded, aggregation)


@family("ngldm")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Build the NGLDMs of one aggregation once and evaluate the NGLDM features on them."""
    if aggregation is None:
        raise SettingsError("NGLDM features need an aggregation method (2d, 2p5d or 3d)")
    d = ctx.settings.ngldm_distance
    a = ctx.settings.ngldm_coarseness
    planar = is_planar(aggregation, what="NGLDM")
    matrices = ctx.cached(
        ("ngldm", aggregation, d, a),
        lambda: ngldm_of(
            context_padded(ctx, d, planar=planar),
            context_neighbour_sums(ctx, d, planar=planar),
            aggregation,
        ),
    )
    return average_over(specs, matrices)


# --------------------------------------------------------------------------------------------
# NGLDM features (IBSI 1 §3.11)
# --------------------------------------------------------------------------------------------


@feature(name="ngldm.low_dependence_emphasis", ibsi="SODN", aggregations=ZONAL, requires=("ngldm",))
def low_dependence_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM low dependence emphasis (IBSI SODN).

    Notes
    -----
    .. math:: F_{ngl.lde} = \\frac{1}{N_s} \\sum_{j=1}^{N_n} \\frac{s_{.j}}{j^2}

    References
    ----------
    IBSI 1 manual, §3.11.1 "Low dependence emphasis".
    """
    return emphasis(m, 0, -2)


@feature(
    name="ngldm.high_dependence_emphasis", ibsi="IMOQ", aggregations=ZONAL, requires=("ngldm",)
)
def high_dependence_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM high dependence emphasis (IBSI IMOQ).

    Notes
    -----
    .. math:: F_{ngl.hde} = \\frac{1}{N_s} \\sum_{j=1}^{N_n} j^2 s_{.j}

    References
    ----------
    IBSI 1 manual, §3.11.2 "High dependence emphasis".
    """
    return emphasis(m, 0, 2)


@feature(
    name="ngldm.low_grey_level_count_emphasis",
    ibsi="TL9H",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def low_grey_level_count_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM low grey level count emphasis (IBSI TL9H).

    Notes
    -----
    .. math:: F_{ngl.lgce} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\frac{s_{i.}}{i^2}

    References
    ----------
    IBSI 1 manual, §3.11.3 "Low grey level count emphasis".
    """
    return emphasis(m, -2, 0)


@feature(
    name="ngldm.high_grey_level_count_emphasis",
    ibsi="OAE7",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def high_grey_level_count_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM high grey level count emphasis (IBSI OAE7).

    Notes
    -----
    .. math:: F_{ngl.hgce} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} i^2 s_{i.}

    References
    ----------
    IBSI 1 manual, §3.11.4 "High grey level count emphasis".
    """
    return emphasis(m, 2, 0)


@feature(
    name="ngldm.low_dependence_low_grey_level_emphasis",
    ibsi="EQ3F",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def low_dependence_low_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM low dependence low grey level emphasis (IBSI EQ3F).

    Notes
    -----
    .. math:: F_{ngl.ldlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n}
              \\frac{s_{ij}}{i^2 j^2}

    References
    ----------
    IBSI 1 manual, §3.11.5 "Low dependence low grey level emphasis".
    """
    return emphasis(m, -2, -2)


@feature(
    name="ngldm.low_dependence_high_grey_level_emphasis",
    ibsi="JA6D",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def low_dependence_high_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM low dependence high grey level emphasis (IBSI JA6D).

    Notes
    -----
    .. math:: F_{ngl.ldhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n}
              \\frac{i^2 s_{ij}}{j^2}

    References
    ----------
    IBSI 1 manual, §3.11.6 "Low dependence high grey level emphasis".
    """
    return emphasis(m, 2, -2)


@feature(
    name="ngldm.high_dependence_low_grey_level_emphasis",
    ibsi="NBZI",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def high_dependence_low_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM high dependence low grey level emphasis (IBSI NBZI).

    Notes
    -----
    .. math:: F_{ngl.hdlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n}
              \\frac{j^2 s_{ij}}{i^2}

    References
    ----------
    IBSI 1 manual, §3.11.7 "High dependence low grey level emphasis".
    """
    return emphasis(m, -2, 2)


@feature(
    name="ngldm.high_dependence_high_grey_level_emphasis",
    ibsi="9QMG",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def high_dependence_high_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """NGLDM high dependence high grey level emphasis (IBSI 9QMG).

    Notes
    -----
    .. math:: F_{ngl.hdhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n}
              i^2 j^2 s_{ij}

    References
    ----------
    IBSI 1 manual, §3.11.8 "High dependence high grey level emphasis".
    """
    return emphasis(m, 2, 2)


@feature(
    name="ngldm.grey_level_nonuniformity",
    ibsi="FP8K",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def grey_level_nonuniformity(m: CountMatrix) -> FloatArray:
    """NGLDM grey level non-uniformity (IBSI FP8K).

    Notes
    -----
    .. math:: F_{ngl.glnu} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} s_{i.}^2

    References
    ----------
    IBSI 1 manual, §3.11.9 "Grey level non-uniformity".
    """
    return nonuniformity_i(m, normalised=False)


@feature(
    name="ngldm.normalised_grey_level_nonuniformity",
    ibsi="5SPA",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def normalised_grey_level_nonuniformity(m: CountMatrix) -> FloatArray:
    """NGLDM normalised grey level non-uniformity (IBSI 5SPA).

    Notes
    -----
    .. math:: F_{ngl.glnu.norm} = \\frac{1}{N_s^2} \\sum_{i=1}^{N_g} s_{i.}^2

    References
    ----------
    IBSI 1 manual, §3.11.10 "Normalised grey level non-uniformity".
    """
    return nonuniformity_i(m, normalised=True)


@feature(
    name="ngldm.dependence_count_nonuniformity",
    ibsi="Z87G",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def dependence_count_nonuniformity(m: CountMatrix) -> FloatArray:
    """NGLDM dependence count non-uniformity (IBSI Z87G).

    Notes
    -----
    .. math:: F_{ngl.dcnu} = \\frac{1}{N_s} \\sum_{j=1}^{N_n} s_{.j}^2

    References
    ----------
    IBSI 1 manual, §3.11.11 "Dependence count non-uniformity".
    """
    return nonuniformity_j(m, normalised=False)


@feature(
    name="ngldm.normalised_dependence_count_nonuniformity",
    ibsi="OKJI",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def normalised_dependence_count_nonuniformity(m: CountMatrix) -> FloatArray:
    """NGLDM normalised dependence count non-uniformity (IBSI OKJI).

    Notes
    -----
    .. math:: F_{ngl.dcnu.norm} = \\frac{1}{N_s^2} \\sum_{j=1}^{N_n} s_{.j}^2

    References
    ----------
    IBSI 1 manual, §3.11.12 "Normalised dependence count non-uniformity".
    """
    return nonuniformity_j(m, normalised=True)


@feature(
    name="ngldm.dependence_count_percentage",
    ibsi="6XV8",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def dependence_count_percentage(m: CountMatrix) -> FloatArray:
    """NGLDM dependence count percentage (IBSI 6XV8).

    Notes
    -----
    .. math:: F_{ngl.dc.perc} = \\frac{N_s}{N_v}

    Always 1 under the IBSI definition, since every ROI voxel has a neighbourhood.

    References
    ----------
    IBSI 1 manual, §3.11.13 "Dependence count percentage".
    """
    return m.n_s / m.n_voxels


@feature(name="ngldm.grey_level_variance", ibsi="1PFV", aggregations=ZONAL, requires=("ngldm",))
def grey_level_variance(m: CountMatrix) -> FloatArray:
    """NGLDM grey level variance (IBSI 1PFV).

    Notes
    -----
    .. math:: F_{ngl.gl.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n} (i-\\mu)^2 p_{ij},
              \\quad \\mu = \\sum_{i,j} i\\,p_{ij}, \\quad p_{ij} = s_{ij}/N_s

    References
    ----------
    IBSI 1 manual, §3.11.14 "Grey level variance".
    """
    return variance_i(m)


@feature(
    name="ngldm.dependence_count_variance",
    ibsi="DNX2",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def dependence_count_variance(m: CountMatrix) -> FloatArray:
    """NGLDM dependence count variance (IBSI DNX2).

    Notes
    -----
    .. math:: F_{ngl.dc.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n} (j-\\mu)^2 p_{ij},
              \\quad \\mu = \\sum_{i,j} j\\,p_{ij}

    References
    ----------
    IBSI 1 manual, §3.11.15 "Dependence count variance".
    """
    return variance_j(m)


@feature(
    name="ngldm.dependence_count_entropy",
    ibsi="FCBV",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def dependence_count_entropy(m: CountMatrix) -> FloatArray:
    """NGLDM dependence count entropy (IBSI FCBV).

    Notes
    -----
    .. math:: F_{ngl.dc.entr} = -\\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n} p_{ij} \\log_2 p_{ij}

    References
    ----------
    IBSI 1 manual, §3.11.16 "Dependence count entropy".
    """
    return entropy(m)


@feature(
    name="ngldm.dependence_count_energy",
    ibsi="CAS9",
    aggregations=ZONAL,
    requires=("ngldm",),
)
def dependence_count_energy(m: CountMatrix) -> FloatArray:
    """NGLDM dependence count energy (IBSI CAS9).

    Notes
    -----
    .. math:: F_{ngl.dc.energy} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_n} p_{ij}^2

    References
    ----------
    IBSI 1 manual, §3.11.17 "Dependence count energy".
    """
    return energy(m)
