"""Grey level distance zone matrix features (IBSI family VMDZ).

Zones are those of the GLSZM (linked intensity-mask voxels of equal grey level, Chebyshev
linkage distance δ). The distance of a zone is the smallest distance to the ROI edge of its
voxels, where the distance map is computed on the *morphological* mask with the Manhattan
norm (4-connectivity within a slice in 2D, 6-connectivity in 3D); voxels on the edge have
distance 1 and voxels outside the image count as outside the ROI. Element ``d_ij`` counts the
zones with grey level ``i`` and distance ``j``.

References
----------
IBSI 1 manual (Zwanenburg et al., arXiv:1612.07003), §3.9 "Grey level distance zone based
features"; Thibault G et al., IEEE Trans Biomed Eng 2014;61(3):630–637 (original
definition on rectangular 2D images, with Chamfer distances starting at 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiomix.errors import InputError, SettingsError
from radiomix.features._kernels.neighbourhood import padded_flat
from radiomix.features._kernels.zones import city_block_distance, zone_minimum
from radiomix.features.aggregation import ZONAL, Aggregation
from radiomix.features.glszm import (
    CountMatrix,
    Zones,
    assemble,
    average_over,
    check_distance,
    check_levels_mask,
    context_padded,
    context_zones,
    emphasis,
    entropy,
    is_planar,
    nonuniformity_i,
    nonuniformity_j,
    variance_i,
    variance_j,
    zones_of,
)
from radiomix.features.registry import FeatureSpec, family, feature
from radiomix.roi import RoiContext, bounding_box
from radiomix.types import FloatArray, IntArray

__all__ = ["edge_distance_map", "gldzm_matrices"]


def edge_distance_map(morph_mask: np.ndarray, *, planar: bool) -> IntArray:
    """Distance of each voxel of the morphological mask to the ROI edge (IBSI VMDZ).

    Parameters
    ----------
    morph_mask : (Z, Y, X) ndarray of bool
        Morphological mask.
    planar : bool
        Measure within each slice (4-connectivity, 2D and 2.5D methods) instead of in 3D
        (6-connectivity).

    Returns
    -------
    (Z, Y, X) ndarray of int64
        1 for mask voxels on the edge, 2 one step further in, ...; 0 outside the mask (a
        view into the padded array the scan works on).

    Notes
    -----
    The manual defines the map by iterative erosion with the 4- or 6-connected structure
    element; that equals the Manhattan distance to the nearest voxel outside the mask, which
    is computed here in one two-pass raster scan. Outside the array counts as outside.

    Examples
    --------
    >>> m = np.ones((1, 3, 5), dtype=bool)
    >>> edge_distance_map(m, planar=True)[0]
    array([[1, 1, 1, 1, 1],
           [1, 2, 2, 2, 1],
           [1, 1, 1, 1, 1]])
    """
    mask = np.asarray(morph_mask)
    if mask.ndim != 3 or mask.dtype != np.bool_:
        raise InputError(
            f"morphological mask must be a (Z, Y, X) boolean array, got ndim {mask.ndim}, "
            f"dtype {mask.dtype}"
        )
    # pad by one non-mask voxel along the axes walked (outside the array counts as outside)
    nz, ny, nx = mask.shape
    pz = 0 if planar else 1
    shape = (nz + 2 * pz, ny + 2, nx + 2)
    inner = (slice(pz, pz + nz), slice(1, ny + 1), slice(1, nx + 1))
    padded = np.zeros(shape, dtype=np.bool_)
    padded[inner] = mask
    distance = np.zeros(shape, dtype=np.int64)
    city_block_distance(padded.ravel(), shape[1] * shape[2], shape[2], planar, distance.ravel())
    return distance[inner]


def _zone_distances(zones: Zones, roi_distance: np.ndarray) -> IntArray:
    """Smallest edge distance over the voxels of each zone (one distance per ROI voxel)."""
    return zone_minimum(zones.voxel_zone, roi_distance, zones.level.size)


def _check_subset(int_mask: np.ndarray, morph_mask: np.ndarray) -> None:
    outside = int(np.count_nonzero(int_mask & ~morph_mask))
    if outside:
        raise InputError(
            f"GLDZM: {outside} intensity-mask voxels lie outside the morphological mask; "
            "the intensity mask must be a subset of the morphological mask"
        )


def gldzm_matrices(
    levels: np.ndarray,
    int_mask: np.ndarray,
    morph_mask: np.ndarray,
    *,
    aggregation: Aggregation,
    linkage_distance: int = 1,
) -> CountMatrix:
    """Grey level distance zone matrices of one ROI (IBSI VMDZ).

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels, >= 1 inside ``int_mask``.
    int_mask : (Z, Y, X) ndarray of bool
        Intensity mask: defines the zones.
    morph_mask : (Z, Y, X) ndarray of bool
        Morphological mask (a superset of ``int_mask``): defines the distance map.
    aggregation : Aggregation
        ``D2`` (one matrix per slice), ``D2P5`` (slice matrices merged) or ``D3``.
    linkage_distance : int
        Chebyshev linkage distance δ of zones.

    Returns
    -------
    CountMatrix
        One matrix per slice with ROI voxels (``D2``) or a single matrix; ``j`` is the
        zone distance (>= 1).

    Raises
    ------
    InputError, EmptyRoiError, SettingsError
        Bad arrays, intensity mask not inside the morphological mask, empty mask, or an
        aggregation other than 2D / 2.5D / 3D.

    Examples
    --------
    >>> lv = np.array([[[1, 1, 1], [1, 2, 1], [1, 1, 1]]])
    >>> m = gldzm_matrices(lv, lv > 0, lv > 0, aggregation=Aggregation.D2)
    >>> m.dense()
    array([[1., 0.],
           [0., 1.]])
    """
    planar = is_planar(aggregation, what="GLDZM")
    levels, int_mask = check_levels_mask(levels, int_mask, what="GLDZM")
    morph = np.asarray(morph_mask)
    if morph.shape != int_mask.shape or morph.dtype != np.bool_:
        raise InputError(
            f"GLDZM: morphological mask must be boolean with shape {int_mask.shape}, got "
            f"{morph.shape} {morph.dtype}"
        )
    _check_subset(int_mask, morph)
    d = check_distance(linkage_distance, name="linkage_distance")
    padded = padded_flat(levels, int_mask, d, planar=planar)
    zones = zones_of(padded)
    dist = _zone_distances(zones, edge_distance_map(morph, planar=planar)[int_mask])
    return assemble(zones.level, dist, zones.slice, padded, aggregation)


def _roi_distance(ctx: RoiContext, planar: bool) -> IntArray:
    """Edge distance of each intensity-mask voxel (C order), the map computed over the
    bounding box of the morphological mask only: the voxels cut off are outside the mask,
    as the padding that stands for them, so no distance changes."""
    box = bounding_box(ctx.morph_mask)
    return edge_distance_map(ctx.morph_mask[box], planar=planar)[ctx.int_mask[box]]


def _context_gldzm(ctx: RoiContext, aggregation: Aggregation) -> CountMatrix:
    planar = is_planar(aggregation, what="GLDZM")
    _check_subset(ctx.int_mask, ctx.morph_mask)
    zones = context_zones(ctx, planar=planar)
    roi_distance = ctx.cached(("edge_distance_roi", planar), lambda: _roi_distance(ctx, planar))
    dist = _zone_distances(zones, roi_distance)
    padded = context_padded(ctx, ctx.settings.linkage_distance, planar=planar)
    return assemble(zones.level, dist, zones.slice, padded, aggregation)


@family("gldzm")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Build the GLDZMs of one aggregation once and evaluate the GLDZM features on them."""
    if aggregation is None:
        raise SettingsError("GLDZM features need an aggregation method (2d, 2p5d or 3d)")
    matrices = ctx.cached(
        ("gldzm", aggregation, ctx.settings.linkage_distance),
        lambda: _context_gldzm(ctx, aggregation),
    )
    return average_over(specs, matrices)


# --------------------------------------------------------------------------------------------
# GLDZM features (IBSI 1 §3.9)
# --------------------------------------------------------------------------------------------


@feature(name="gldzm.small_distance_emphasis", ibsi="0GBI", aggregations=ZONAL, requires=("gldzm",))
def small_distance_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM small distance emphasis (IBSI 0GBI).

    Notes
    -----
    .. math:: F_{dzm.sde} = \\frac{1}{N_s} \\sum_{j=1}^{N_d} \\frac{d_{.j}}{j^2}

    References
    ----------
    IBSI 1 manual, §3.9.1 "Small distance emphasis".
    """
    return emphasis(m, 0, -2)


@feature(name="gldzm.large_distance_emphasis", ibsi="MB4I", aggregations=ZONAL, requires=("gldzm",))
def large_distance_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM large distance emphasis (IBSI MB4I).

    Notes
    -----
    .. math:: F_{dzm.lde} = \\frac{1}{N_s} \\sum_{j=1}^{N_d} j^2 d_{.j}

    References
    ----------
    IBSI 1 manual, §3.9.2 "Large distance emphasis".
    """
    return emphasis(m, 0, 2)


@feature(
    name="gldzm.low_grey_level_zone_emphasis",
    ibsi="S1RA",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def low_grey_level_zone_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM low grey level zone emphasis (IBSI S1RA).

    Notes
    -----
    .. math:: F_{dzm.lgze} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\frac{d_{i.}}{i^2}

    References
    ----------
    IBSI 1 manual, §3.9.3 "Low grey level zone emphasis".
    """
    return emphasis(m, -2, 0)


@feature(
    name="gldzm.high_grey_level_zone_emphasis",
    ibsi="K26C",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def high_grey_level_zone_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM high grey level zone emphasis (IBSI K26C).

    Notes
    -----
    .. math:: F_{dzm.hgze} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} i^2 d_{i.}

    References
    ----------
    IBSI 1 manual, §3.9.4 "High grey level zone emphasis".
    """
    return emphasis(m, 2, 0)


@feature(
    name="gldzm.small_distance_low_grey_level_emphasis",
    ibsi="RUVG",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def small_distance_low_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM small distance low grey level emphasis (IBSI RUVG).

    Notes
    -----
    .. math:: F_{dzm.sdlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_d}
              \\frac{d_{ij}}{i^2 j^2}

    References
    ----------
    IBSI 1 manual, §3.9.5 "Small distance low grey level emphasis".
    """
    return emphasis(m, -2, -2)


@feature(
    name="gldzm.small_distance_high_grey_level_emphasis",
    ibsi="DKNJ",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def small_distance_high_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM small distance high grey level emphasis (IBSI DKNJ).

    Notes
    -----
    .. math:: F_{dzm.sdhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_d}
              \\frac{i^2 d_{ij}}{j^2}

    References
    ----------
    IBSI 1 manual, §3.9.6 "Small distance high grey level emphasis".
    """
    return emphasis(m, 2, -2)


@feature(
    name="gldzm.large_distance_low_grey_level_emphasis",
    ibsi="A7WM",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def large_distance_low_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM large distance low grey level emphasis (IBSI A7WM).

    Notes
    -----
    .. math:: F_{dzm.ldlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_d}
              \\frac{j^2 d_{ij}}{i^2}

    References
    ----------
    IBSI 1 manual, §3.9.7 "Large distance low grey level emphasis".
    """
    return emphasis(m, -2, 2)


@feature(
    name="gldzm.large_distance_high_grey_level_emphasis",
    ibsi="KLTH",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def large_distance_high_grey_level_emphasis(m: CountMatrix) -> FloatArray:
    """GLDZM large distance high grey level emphasis (IBSI KLTH).

    Notes
    -----
    .. math:: F_{dzm.ldhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_d}
              i^2 j^2 d_{ij}

    References
    ----------
    IBSI 1 manual, §3.9.8 "Large distance high grey level emphasis".
    """
    return emphasis(m, 2, 2)


@feature(
    name="gldzm.grey_level_nonuniformity",
    ibsi="VFT7",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def grey_level_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLDZM grey level non-uniformity (IBSI VFT7).

    Notes
    -----
    .. math:: F_{dzm.glnu} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} d_{i.}^2

    References
    ----------
    IBSI 1 manual, §3.9.9 "Grey level non-uniformity".
    """
    return nonuniformity_i(m, normalised=False)


@feature(
    name="gldzm.normalised_grey_level_nonuniformity",
    ibsi="7HP3",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def normalised_grey_level_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLDZM normalised grey level non-uniformity (IBSI 7HP3).

    Notes
    -----
    .. math:: F_{dzm.glnu.norm} = \\frac{1}{N_s^2} \\sum_{i=1}^{N_g} d_{i.}^2

    References
    ----------
    IBSI 1 manual, §3.9.10 "Normalised grey level non-uniformity".
    """
    return nonuniformity_i(m, normalised=True)


@feature(
    name="gldzm.zone_distance_nonuniformity",
    ibsi="V294",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def zone_distance_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLDZM zone distance non-uniformity (IBSI V294).

    Notes
    -----
    .. math:: F_{dzm.zdnu} = \\frac{1}{N_s} \\sum_{j=1}^{N_d} d_{.j}^2

    References
    ----------
    IBSI 1 manual, §3.9.11 "Zone distance non-uniformity".
    """
    return nonuniformity_j(m, normalised=False)


@feature(
    name="gldzm.normalised_zone_distance_nonuniformity",
    ibsi="IATH",
    aggregations=ZONAL,
    requires=("gldzm",),
)
def normalised_zone_distance_nonuniformity(m: CountMatrix) -> FloatArray:
    """GLDZM normalised zone distance non-uniformity (IBSI IATH).

    Notes
    -----
    .. math:: F_{dzm.zdnu.norm} = \\frac{1}{N_s^2} \\sum_{j=1}^{N_d} d_{.j}^2

    References
    ----------
    IBSI 1 manual, §3.9.12 "Normalised zone distance non-uniformity".
    """
    return nonuniformity_j(m, normalised=True)


@feature(name="gldzm.zone_percentage", ibsi="VIWW", aggregations=ZONAL, requires=("gldzm",))
def zone_percentage(m: CountMatrix) -> FloatArray:
    """GLDZM zone percentage (IBSI VIWW).

    Notes
    -----
    .. math:: F_{dzm.z.perc} = \\frac{N_s}{N_v}

    ``N_v`` is the number of intensity-mask voxels (of the slice in 2D; summed over slices
    for the merged 2.5D matrix).

    References
    ----------
    IBSI 1 manual, §3.9.13 "Zone percentage".
    """
    return m.n_s / m.n_voxels


@feature(name="gldzm.grey_level_variance", ibsi="QK93", aggregations=ZONAL, requires=("gldzm",))
def grey_level_variance(m: CountMatrix) -> FloatArray:
    """GLDZM grey level variance (IBSI QK93).

    Notes
    -----
    .. math:: F_{dzm.gl.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_d} (i-\\mu)^2 p_{ij},
              \\quad \\mu = \\sum_{i,j} i\\,p_{ij}, \\quad p_{ij} = d_{ij}/N_s

    References
    ----------
    IBSI 1 manual, §3.9.14 "Grey level variance".
    """
    return variance_i(m)


@feature(name="gldzm.zone_distance_variance", ibsi="7WT1", aggregations=ZONAL, requires=("gldzm",))
def zone_distance_variance(m: CountMatrix) -> FloatArray:
    """GLDZM zone distance variance (IBSI 7WT1).

    Notes
    -----
    .. math:: F_{dzm.zd.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_d} (j-\\mu)^2 p_{ij},
              \\quad \\mu = \\sum_{i,j} j\\,p_{ij}

    References
    ----------
    IBSI 1 manual, §3.9.15 "Zone distance variance".
    """
    return variance_j(m)


@feature(name="gldzm.zone_distance_entropy", ibsi="GBDU", aggregations=ZONAL, requires=("gldzm",))
def zone_distance_entropy(m: CountMatrix) -> FloatArray:
    """GLDZM zone distance entropy (IBSI GBDU).

    Notes
    -----
    .. math:: F_{dzm.zd.entr} = -\\sum_{i=1}^{N_g} \\sum_{j=1}^{N_d} p_{ij} \\log_2 p_{ij}

    References
    ----------
    IBSI 1 manual, §3.9.16 "Zone distance entropy".
    """
    return entropy(m)
