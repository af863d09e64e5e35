"""Grey level run length matrix features (IBSI family TP0I).

Two layers, as for the GLCM (:mod:`radiomix.features.glcm`):

1. :func:`glrlm_matrices` counts runs of equal grey level along the 13 volumetric
   directions (3D) or the 4 in-plane directions of each slice along axis 0 (2D), with a
   numba kernel, once per ROI and dimensionality. :func:`aggregate_glrlm` merges the stack
   for one of the six IBSI aggregation methods, summing the voxel counts N_v with the run
   counts, as IBSI prescribes.
2. One small function per feature over :class:`GlrlmMarginals`, in IBSI notation
   (``r_ij``, ``r_i``, ``r_j``, ``n_s``, ``n_v``), vectorised over a batch of K matrices.

References
----------
IBSI 1 manual (Zwanenburg et al., arXiv:1612.07003), chapter "Image features", section
"Grey level run length based features"; Zwanenburg A et al., Radiology 2020;295:328–338,
doi:10.1148/radiol.2020191145; Galloway MM. Texture analysis using gray level run lengths.
Comput Graph Image Process 1975;4(2):172–179.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np

from radiomix.errors import InternalError, SettingsError
from radiomix.features._kernels.glrlm import glrlm_counts
from radiomix.features._kernels.neighbourhood import Padded, padded_flat
from radiomix.features.aggregation import DIRECTIONAL, Aggregation
from radiomix.features.glcm import (
    DIRECTIONS_2D,
    DIRECTIONS_3D,
    _plogp,
    average_shared,
    check_levels,
    feature_rows,
)
from radiomix.features.glszm import context_padded
from radiomix.features.registry import FeatureSpec, family, feature
from radiomix.roi import RoiContext
from radiomix.types import BoolArray, FloatArray, IntArray

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Layer 1: matrices
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GlrlmStack:
    """Run length matrices of every direction (and slice) with their voxel counts.

    Attributes
    ----------
    counts : ndarray of int64
        (13, N_g, N_r) for 3D, (Z, 4, N_g, N_r) for 2D; element ``[..., i-1, j-1]`` counts
        runs of grey level ``i`` and length ``j``. N_r is the longest run found.
    n_voxels : ndarray of int64
        ROI voxel count N_v of each matrix: shape (13,) for 3D (every entry the ROI
        voxel count), (Z, 4) for 2D (the slice's voxel count).
    """

    counts: IntArray
    n_voxels: IntArray


def glrlm_matrices(
    levels: IntArray, mask: BoolArray, *, n_levels: int, dims: int = 3
) -> GlrlmStack:
    """Grey level run length matrices of every direction (and slice), IBSI TP0I.

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) ndarray of bool
        Intensity mask; a run stops at the first voxel outside it.
    n_levels : int
        Number of grey levels N_g (matrix rows).
    dims : {2, 3}
        3: one matrix per volumetric direction (13); 2: one matrix per slice along axis 0
        and in-plane direction (4).

    Returns
    -------
    GlrlmStack
        Run counts and the voxel count N_v of each matrix.

    Raises
    ------
    InputError, EmptyRoiError
        See :func:`radiomix.features.glcm.check_levels`.
    SettingsError
        ``dims`` not 2 or 3.

    Examples
    --------
    >>> lv = np.array([[[1, 1, 2]]])
    >>> glrlm_matrices(lv, lv > 0, n_levels=2).counts[2]  # direction (0, 0, 1): along x
    array([[0, 1],
           [1, 0]])
    """
    if dims not in (2, 3):
        raise SettingsError(f"dims must be 2 or 3, got {dims!r}")
    lv = check_levels(levels, mask, n_levels=n_levels)
    return glrlm_of_padded(padded_flat(lv, lv > 0, 1, planar=dims == 2), n_levels=n_levels,
                           dims=dims)  # fmt: skip


def glrlm_of_padded(flat: Padded, *, n_levels: int, dims: int) -> GlrlmStack:
    """:func:`glrlm_matrices` of a validated ROI already padded by 1.

    Parameters
    ----------
    flat : Padded
        The ROI padded by one voxel (not along axis 0 when ``dims == 2``) and flattened
        (:func:`~radiomix.features._kernels.neighbourhood.padded_flat`); grey levels
        1..``n_levels`` inside the ROI.
    n_levels, dims
        As for :func:`glrlm_matrices`.

    Returns
    -------
    GlrlmStack
        As :func:`glrlm_matrices`, with one matrix per slice of ``flat.shape`` for 2D.
    """
    shape = flat.shape
    directions = DIRECTIONS_2D if dims == 2 else DIRECTIONS_3D
    longest = max(shape[1:]) if dims == 2 else max(shape)
    pz = 0 if dims == 2 else 1
    padded = (shape[0] + 2 * pz, shape[1] + 2, shape[2] + 2)
    offsets = (
        directions[:, 0] * (padded[1] * padded[2]) + directions[:, 1] * padded[2] + directions[:, 2]
    ).astype(np.int64)
    n_groups = shape[0] if dims == 2 else 1
    counts = np.zeros((n_groups, offsets.shape[0], int(n_levels), longest), dtype=np.int64)
    position = np.empty(flat.levels.shape[0], dtype=np.int32)
    glrlm_counts(flat.levels, flat.roi, flat.voxel_slice, offsets, position, counts)
    used = counts.sum(axis=(0, 1, 2)).nonzero()[0]
    counts = counts[..., : used[-1] + 1]
    n_dirs = directions.shape[0]
    if dims == 2:
        per_slice = np.bincount(flat.voxel_slice, minlength=shape[0])
        n_voxels = np.repeat(per_slice[:, None], n_dirs, axis=1)
        return GlrlmStack(counts=counts, n_voxels=n_voxels)
    return GlrlmStack(counts=counts[0], n_voxels=np.full(n_dirs, int(flat.roi.shape[0])))


def aggregate_glrlm(stack: GlrlmStack, aggregation: Aggregation) -> GlrlmStack:
    """The matrices whose features are averaged for one aggregation method.

    Matrices are merged by summing run counts, and their voxel counts N_v likewise.

    Parameters
    ----------
    stack : GlrlmStack
        From ``glrlm_matrices(dims=2)`` for the 2D and 2.5D methods, ``dims=3`` for 3D.
    aggregation : Aggregation
        One of :data:`~radiomix.features.aggregation.DIRECTIONAL`.

    Returns
    -------
    GlrlmStack
        Counts (K, N_g, N_r) and N_v (K,), empty matrices (slices without ROI voxels)
        removed: every slice and direction (BTW3); per slice, directions merged (SUJT);
        per direction, slices merged (JJUI); all merged (ZW7Z, IAZD, K = 1); every
        direction (ITBB). Views of ``stack``'s arrays when none is merged or removed.
    """
    c, nv = stack.counts, stack.n_voxels
    if aggregation is Aggregation.AVERAGED_2D:
        mats, nvs = c.reshape(-1, *c.shape[-2:]), nv.reshape(-1)
    elif aggregation is Aggregation.SLICE_MERGED_2D:
        mats, nvs = c.sum(axis=1), nv.sum(axis=1)
    elif aggregation is Aggregation.DIRECTION_MERGED_2P5D:
        mats, nvs = c.sum(axis=0), nv.sum(axis=0)
    elif aggregation is Aggregation.MERGED_2P5D:
        mats, nvs = c.sum(axis=(0, 1))[None], nv.sum()[None]
    elif aggregation is Aggregation.AVERAGED_3D:
        mats, nvs = c, nv
    elif aggregation is Aggregation.MERGED_3D:
        mats, nvs = c.sum(axis=0)[None], nv.sum()[None]
    else:
        raise InternalError(f"GLRLM has no aggregation {aggregation!r}")
    keep = mats.sum(axis=(-2, -1)) > 0
    if keep.all():  # (no copy when every matrix has a run)
        return GlrlmStack(counts=mats, n_voxels=nvs)
    return GlrlmStack(counts=mats[keep], n_voxels=nvs[keep])


@dataclass(frozen=True, eq=False)
class GlrlmMarginals:
    """Run counts and marginal sums of K GLRLMs (IBSI notation).

    Attributes
    ----------
    r_ij : (K, P, N_r) ndarray of float64
        Run counts r_ij (grey level i, run length j), rows those of the grey levels
        :attr:`levels`.
    n_v : (K,) ndarray of float64
        Number of ROI voxels N_v behind each matrix (summed when matrices were merged).
    levels : (P,) ndarray of int64, optional
        The grey levels of the rows of ``r_ij``, increasing; default 1..P.
        :func:`glrlm_marginals` keeps only the levels with a run in some matrix: the rows
        of the others are zero and add nothing to any sum.
    """

    r_ij: FloatArray
    n_v: FloatArray
    levels: IntArray | None = None

    @cached_property
    def i(self) -> FloatArray:
        """Grey levels of the rows, (P,) float64."""
        if self.levels is None:
            return np.arange(1, self.r_ij.shape[1] + 1, dtype=np.float64)
        return np.asarray(self.levels, dtype=np.float64)

    @cached_property
    def j(self) -> FloatArray:
        """Run lengths 1..N_r, (N_r,)."""
        return np.arange(1, self.r_ij.shape[2] + 1, dtype=np.float64)

    @cached_property
    def i2(self) -> FloatArray:
        """Squared grey levels i², (N_g,) (computed once: six emphases read them)."""
        return self.i**2

    @cached_property
    def j2(self) -> FloatArray:
        """Squared run lengths j², (N_r,) (computed once: six emphases read them)."""
        return self.j**2

    @cached_property
    def inv_i2(self) -> FloatArray:
        """1 / i², (N_g,)."""
        return 1.0 / self.i2

    @cached_property
    def inv_j2(self) -> FloatArray:
        """1 / j², (N_r,)."""
        return 1.0 / self.j2

    @cached_property
    def r_i(self) -> FloatArray:
        """Runs per grey level, r_{i.} = Σ_j r_ij, (K, N_g)."""
        return self.r_ij.sum(axis=2)

    @cached_property
    def r_j(self) -> FloatArray:
        """Runs per run length, r_{.j} = Σ_i r_ij, (K, N_r)."""
        return self.r_ij.sum(axis=1)

    @cached_property
    def r_i_square_sum(self) -> FloatArray:
        """Σ_i r_{i.}², (K,) (the grey level non-uniformities read it)."""
        return (self.r_i**2).sum(axis=1)

    @cached_property
    def r_j_square_sum(self) -> FloatArray:
        """Σ_j r_{.j}², (K,) (the run length non-uniformities read it)."""
        return (self.r_j**2).sum(axis=1)

    @cached_property
    def n_s(self) -> FloatArray:
        """Number of runs N_s = Σ_ij r_ij, (K,)."""
        return self.r_ij.sum(axis=(1, 2))

    @cached_property
    def p_ij(self) -> FloatArray:
        """Run probabilities p_ij = r_ij / N_s, (K, N_g, N_r)."""
        return self.r_ij / self.n_s[:, None, None]

    def weighted(self, w: FloatArray) -> FloatArray:
        """Σ_ij w_ij r_ij / N_s for an (N_g, N_r) weight matrix, (K,)."""
        return (self.r_ij * w).sum(axis=(1, 2)) / self.n_s


def glrlm_marginals(stack: GlrlmStack) -> GlrlmMarginals:
    """Wrap (K, N_g, N_r) run counts and their N_v as :class:`GlrlmMarginals`.

    Only the grey levels with a run in some matrix are kept (:attr:`GlrlmMarginals.levels`):
    every feature is a sum over the run counts weighted by functions of i and j, to which
    the dropped zero rows add nothing, and each sum then runs over the occupied levels
    only (13 of 49 levels in STS_002 at 25 HU bins).

    Raises
    ------
    InternalError
        A matrix without any run (the caller removes them).
    """
    counts = np.asarray(stack.counts)
    if (counts.sum(axis=(1, 2)) <= 0).any():
        raise InternalError("glrlm_marginals received an empty run length matrix")
    kept = counts.sum(axis=0).any(axis=1).nonzero()[0]  # counts >= 0
    r = counts.take(kept, axis=1).astype(np.float64)
    return GlrlmMarginals(r_ij=r, n_v=np.asarray(stack.n_voxels, dtype=np.float64),
                          levels=kept + 1)  # fmt: skip


# --------------------------------------------------------------------------------------
# Family compute
# --------------------------------------------------------------------------------------


def _stack(ctx: RoiContext, dims: int) -> GlrlmStack:
    return ctx.cached(
        ("glrlm", f"{dims}d"),
        lambda: glrlm_of_padded(
            context_padded(ctx, 1, planar=dims == 2),
            n_levels=ctx.n_levels,
            dims=dims,
        ),
    )


@family("glrlm")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate GLRLM features for one aggregation method.

    The matrices of all 2D/2.5D methods come from one per-slice stack, those of the 3D
    methods from one volumetric stack; both are cached on the context. Feature values of
    the K matrices of an aggregation are averaged (K = 1 for the merged methods); those of
    every aggregation of the same dimensionality that the settings compute are evaluated
    together (:func:`~radiomix.features.glcm.average_shared`). An aggregation without any
    run (no matrix left) gives NaN.
    """
    if aggregation not in DIRECTIONAL:
        raise InternalError(f"GLRLM features need a directional aggregation, got {aggregation!r}")
    dims = 3 if aggregation.is_3d else 2

    def rows(aggregations: tuple[Aggregation, ...]) -> tuple[FloatArray, list[int]]:
        stack = _stack(ctx, dims)
        parts = [ctx.cached(("glrlm", a), partial(aggregate_glrlm, stack, a)) for a in aggregations]
        sizes = [part.counts.shape[0] for part in parts]
        joined = parts[0]
        if len(parts) > 1:
            joined = GlrlmStack(
                counts=np.concatenate([part.counts for part in parts]),
                n_voxels=np.concatenate([part.n_voxels for part in parts]),
            )
        if joined.counts.shape[0] == 0:
            return np.empty((len(specs), 0)), sizes
        return feature_rows(specs, glrlm_marginals(joined)), sizes

    values = average_shared(ctx, ("glrlm",), aggregation, specs, rows)
    return {spec.name: float("nan") for spec in specs} if values is None else values


# --------------------------------------------------------------------------------------
# Layer 2: features, one function each, vectorised over K matrices
# --------------------------------------------------------------------------------------

_AGG = DIRECTIONAL
_REQ = ("glrlm",)


@feature(name="glrlm.short_runs_emphasis", ibsi="22OV", aggregations=_AGG, requires=_REQ)
def short_runs_emphasis(m: GlrlmMarginals) -> FloatArray:
    """Short runs emphasis (IBSI 22OV).

    Notes
    -----
    .. math:: F_{rlm.sre} = \\frac{1}{N_s} \\sum_{j=1}^{N_r} \\frac{r_{.j}}{j^2}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Short runs emphasis".
    """
    return m.r_j @ m.inv_j2 / m.n_s


@feature(name="glrlm.long_runs_emphasis", ibsi="W4KF", aggregations=_AGG, requires=_REQ)
def long_runs_emphasis(m: GlrlmMarginals) -> FloatArray:
    """Long runs emphasis (IBSI W4KF).

    Notes
    -----
    .. math:: F_{rlm.lre} = \\frac{1}{N_s} \\sum_{j=1}^{N_r} j^2 r_{.j}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Long runs emphasis".
    """
    return m.r_j @ m.j2 / m.n_s


@feature(name="glrlm.low_grey_level_run_emphasis", ibsi="V3SW", aggregations=_AGG, requires=_REQ)
def low_grey_level_run_emphasis(m: GlrlmMarginals) -> FloatArray:
    """Low grey level run emphasis (IBSI V3SW).

    Notes
    -----
    .. math:: F_{rlm.lgre} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\frac{r_{i.}}{i^2}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Low grey level run emphasis".
    """
    return m.r_i @ m.inv_i2 / m.n_s


@feature(name="glrlm.high_grey_level_run_emphasis", ibsi="G3QZ", aggregations=_AGG, requires=_REQ)
def high_grey_level_run_emphasis(m: GlrlmMarginals) -> FloatArray:
    """High grey level run emphasis (IBSI G3QZ).

    Notes
    -----
    .. math:: F_{rlm.hgre} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} i^2 r_{i.}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "High grey level run emphasis".
    """
    return m.r_i @ m.i2 / m.n_s


@feature(
    name="glrlm.short_run_low_grey_level_emphasis", ibsi="HTZT", aggregations=_AGG, requires=_REQ
)
def short_run_low_grey_level_emphasis(m: GlrlmMarginals) -> FloatArray:
    """Short run low grey level emphasis (IBSI HTZT).

    Notes
    -----
    .. math:: F_{rlm.srlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_r}
              \\frac{r_{ij}}{i^2 j^2}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Short run low grey level
    emphasis".
    """
    return m.weighted(1.0 / np.outer(m.i2, m.j2))


@feature(
    name="glrlm.short_run_high_grey_level_emphasis", ibsi="GD3A", aggregations=_AGG, requires=_REQ
)
def short_run_high_grey_level_emphasis(m: GlrlmMarginals) -> FloatArray:
    """Short run high grey level emphasis (IBSI GD3A).

    Notes
    -----
    .. math:: F_{rlm.srhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_r}
              \\frac{i^2 r_{ij}}{j^2}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Short run high grey level
    emphasis".
    """
    return m.weighted(np.outer(m.i2, m.inv_j2))


@feature(
    name="glrlm.long_run_low_grey_level_emphasis", ibsi="IVPO", aggregations=_AGG, requires=_REQ
)
def long_run_low_grey_level_emphasis(m: GlrlmMarginals) -> FloatArray:
    """Long run low grey level emphasis (IBSI IVPO).

    Notes
    -----
    .. math:: F_{rlm.lrlge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_r}
              \\frac{j^2 r_{ij}}{i^2}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Long run low grey level
    emphasis".
    """
    return m.weighted(np.outer(m.inv_i2, m.j2))


@feature(
    name="glrlm.long_run_high_grey_level_emphasis", ibsi="3KUM", aggregations=_AGG, requires=_REQ
)
def long_run_high_grey_level_emphasis(m: GlrlmMarginals) -> FloatArray:
    """Long run high grey level emphasis (IBSI 3KUM).

    Notes
    -----
    .. math:: F_{rlm.lrhge} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_r}
              i^2 j^2 r_{ij}

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Long run high grey level
    emphasis".
    """
    return m.weighted(np.outer(m.i2, m.j2))


@feature(name="glrlm.grey_level_nonuniformity", ibsi="R5YN", aggregations=_AGG, requires=_REQ)
def grey_level_nonuniformity(m: GlrlmMarginals) -> FloatArray:
    """Grey level non-uniformity (IBSI R5YN).

    Notes
    -----
    .. math:: F_{rlm.glnu} = \\frac{1}{N_s} \\sum_{i=1}^{N_g} r_{i.}^2

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Grey level non-uniformity".
    """
    return m.r_i_square_sum / m.n_s


@feature(
    name="glrlm.normalised_grey_level_nonuniformity",
    ibsi="OVBL",
    aggregations=_AGG,
    requires=_REQ,
)
def normalised_grey_level_nonuniformity(m: GlrlmMarginals) -> FloatArray:
    """Normalised grey level non-uniformity (IBSI OVBL).

    Notes
    -----
    .. math:: F_{rlm.glnu.norm} = \\frac{1}{N_s^2} \\sum_{i=1}^{N_g} r_{i.}^2

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Normalised grey level
    non-uniformity".
    """
    return m.r_i_square_sum / m.n_s**2


@feature(name="glrlm.run_length_nonuniformity", ibsi="W92Y", aggregations=_AGG, requires=_REQ)
def run_length_nonuniformity(m: GlrlmMarginals) -> FloatArray:
    """Run length non-uniformity (IBSI W92Y).

    Notes
    -----
    .. math:: F_{rlm.rlnu} = \\frac{1}{N_s} \\sum_{j=1}^{N_r} r_{.j}^2

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Run length non-uniformity".
    """
    return m.r_j_square_sum / m.n_s


@feature(
    name="glrlm.normalised_run_length_nonuniformity",
    ibsi="IC23",
    aggregations=_AGG,
    requires=_REQ,
)
def normalised_run_length_nonuniformity(m: GlrlmMarginals) -> FloatArray:
    """Normalised run length non-uniformity (IBSI IC23).

    Notes
    -----
    .. math:: F_{rlm.rlnu.norm} = \\frac{1}{N_s^2} \\sum_{j=1}^{N_r} r_{.j}^2

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Normalised run length
    non-uniformity".
    """
    return m.r_j_square_sum / m.n_s**2


@feature(name="glrlm.run_percentage", ibsi="9ZK5", aggregations=_AGG, requires=_REQ)
def run_percentage(m: GlrlmMarginals) -> FloatArray:
    """Run percentage (IBSI 9ZK5).

    Notes
    -----
    .. math:: F_{rlm.r.perc} = \\frac{N_s}{N_v}

    When matrices are merged, N_v is the sum of the voxel counts behind them (e.g. 13
    times the ROI voxel count for 3D merged), as IBSI prescribes.

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Run percentage".
    """
    return m.n_s / m.n_v


@feature(name="glrlm.grey_level_variance", ibsi="8CE5", aggregations=_AGG, requires=_REQ)
def grey_level_variance(m: GlrlmMarginals) -> FloatArray:
    """Grey level variance (IBSI 8CE5).

    Notes
    -----
    .. math:: F_{rlm.gl.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_r} (i-\\mu)^2 p_{ij}

    with :math:`p_{ij} = r_{ij}/N_s` and :math:`\\mu = \\sum_{i,j} i\\, p_{ij}`.

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Grey level variance".
    """
    p_i = m.r_i / m.n_s[:, None]
    mu = p_i @ m.i
    return ((m.i[None, :] - mu[:, None]) ** 2 * p_i).sum(axis=1)


@feature(name="glrlm.run_length_variance", ibsi="SXLW", aggregations=_AGG, requires=_REQ)
def run_length_variance(m: GlrlmMarginals) -> FloatArray:
    """Run length variance (IBSI SXLW).

    Notes
    -----
    .. math:: F_{rlm.rl.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_r} (j-\\mu)^2 p_{ij}

    with :math:`p_{ij} = r_{ij}/N_s` and :math:`\\mu = \\sum_{i,j} j\\, p_{ij}`.

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Run length variance".
    """
    p_j = m.r_j / m.n_s[:, None]
    mu = p_j @ m.j
    return ((m.j[None, :] - mu[:, None]) ** 2 * p_j).sum(axis=1)


@feature(name="glrlm.run_entropy", ibsi="HJ9O", aggregations=_AGG, requires=_REQ)
def run_entropy(m: GlrlmMarginals) -> FloatArray:
    """Run entropy (IBSI HJ9O).

    Notes
    -----
    .. math:: F_{rlm.rl.entr} = -\\sum_{i=1}^{N_g} \\sum_{j=1}^{N_r} p_{ij} \\log_2 p_{ij}

    with :math:`p_{ij} = r_{ij}/N_s` and :math:`0 \\log_2 0 = 0`.

    References
    ----------
    IBSI 1 manual, "Grey level run length based features", "Run entropy".
    """
    return -_plogp(m.p_ij).sum(axis=(1, 2))
