"""Grey level co-occurrence matrix features (IBSI family LFYI).

Two layers, as the IBSI manual separates them (§3.6 "Grey level co-occurrence based
features"):

1. :func:`glcm_matrices` counts co-occurring grey levels of the discretised intensity mask
   along the 13 volumetric directions (3D) or the 4 in-plane directions of each slice
   along axis 0 (2D), at Chebyshev distance δ. A numba kernel does the counting once per
   ROI and dimensionality; :func:`aggregate_glcm` merges the stack for one of the six
   IBSI aggregation methods, and :func:`glcm_marginals` derives the probabilities.
2. One small function per feature over :class:`GlcmMarginals`, written in IBSI notation
   (``p_ij``, ``p_i``, ``p_j``, ``p_i_minus_j``, ``p_i_plus_j``). The functions work on a
   batch of K matrices at once and return K values; the family compute function averages
   them for the "averaged" aggregation methods.

The lung study's GLCM features are :func:`joint_entropy` (TU9B), :func:`contrast` (ACUI),
:func:`inverse_difference` (IB1Z, the study's "homogeneity" Σ p/(1+|i−j|)) and
:func:`correlation` (NI2N).

References
----------
IBSI 1 manual (Zwanenburg et al., arXiv:1612.07003), chapter "Image features", section
"Grey level co-occurrence based features"; Zwanenburg A et al., Radiology 2020;295:328–338,
doi:10.1148/radiol.2020191145; Haralick RM, Shanmugam K, Dinstein I. Textural features for
image classification. IEEE Trans Syst Man Cybern 1973;SMC-3(6):610–621.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np

from radiomix.errors import EmptyRoiError, InputError, InternalError, SettingsError
from radiomix.features._kernels.glcm import diagonal_sums, glcm_counts
from radiomix.features._kernels.neighbourhood import Padded, padded_flat
from radiomix.features.aggregation import DIRECTIONAL, Aggregation
from radiomix.features.glszm import context_padded
from radiomix.features.registry import FeatureSpec, family, feature
from radiomix.roi import RoiContext
from radiomix.types import BoolArray, FloatArray, IntArray

log = logging.getLogger(__name__)

DIRECTIONS_3D: IntArray = np.array(
    [
        (1, 0, 0),
        (0, 1, 0),
        (0, 0, 1),
        (1, 1, 0),
        (1, -1, 0),
        (1, 0, 1),
        (1, 0, -1),
        (0, 1, 1),
        (0, 1, -1),
        (1, 1, 1),
        (1, -1, -1),
        (1, -1, 1),
        (1, 1, -1),
    ],
    dtype=np.int64,
)
"""The 13 unique volumetric direction vectors, (dz, dy, dx): IBSI's 13 (its (x,y,z) order
reversed), each signed so that its first non-zero component in storage order (z, y, x) is
positive, as :data:`DIRECTIONS_2D` and pyradiomics' angles are. The sign matters only for
asymmetric GLCMs (``glcm_symmetric: false``, which IBSI does not define): a pair is counted
from the voxel to its neighbour along the vector."""

DIRECTIONS_2D: IntArray = np.array(
    [(0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1)],
    dtype=np.int64,
)
"""The 4 unique in-plane direction vectors, (dz, dy, dx), with dz = 0."""


# --------------------------------------------------------------------------------------
# Layer 1: matrices
# --------------------------------------------------------------------------------------


def check_levels(levels: IntArray, mask: BoolArray, *, n_levels: int) -> IntArray:
    """Validate discretised grey levels and return them with 0 outside the mask.

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) ndarray of bool
        Intensity mask of the ROI.
    n_levels : int
        Number of grey levels N_g.

    Returns
    -------
    (Z, Y, X) ndarray of int64
        C-contiguous copy of ``levels`` with 0 outside ``mask``.

    Raises
    ------
    InputError
        Shapes differ, arrays are not 3D, or grey levels inside the mask lie outside
        1..``n_levels``.
    SettingsError
        ``n_levels`` < 1.
    EmptyRoiError
        The mask holds no voxel.
    """
    levels = np.asarray(levels)
    mask = np.asarray(mask, dtype=bool)
    if levels.ndim != 3 or levels.shape != mask.shape:
        raise InputError(
            f"levels and mask must be (Z, Y, X) arrays of one shape, got {levels.shape} "
            f"and {mask.shape}"
        )
    if not np.issubdtype(levels.dtype, np.integer):
        raise InputError(f"levels must hold integer grey levels, got dtype {levels.dtype}")
    if n_levels < 1:
        raise SettingsError(f"n_levels must be >= 1, got {n_levels}")
    inside = levels[mask]
    if inside.size == 0:
        raise EmptyRoiError("the intensity mask holds no voxel; texture matrices are undefined")
    lo, hi = int(inside.min()), int(inside.max())
    if lo < 1 or hi > n_levels:
        raise InputError(f"grey levels inside the mask must lie in 1..{n_levels}, found {lo}..{hi}")
    return np.ascontiguousarray(np.where(mask, levels, 0).astype(np.int64))


def glcm_matrices(
    levels: IntArray,
    mask: BoolArray,
    *,
    n_levels: int,
    distance: int = 1,
    symmetric: bool = True,
    dims: int = 3,
) -> IntArray:
    """Grey level co-occurrence matrices of every direction (and slice), IBSI LFYI.

    Parameters
    ----------
    levels : (Z, Y, X) ndarray of int
        Discretised grey levels, 1..``n_levels`` inside ``mask``.
    mask : (Z, Y, X) ndarray of bool
        Intensity mask; voxels outside it take part in no pair.
    n_levels : int
        Number of grey levels N_g (matrix size).
    distance : int
        Chebyshev distance δ: each direction vector is multiplied by it.
    symmetric : bool
        Add the transposed counts (pairs along ``-m``), as IBSI prescribes.
    dims : {2, 3}
        3: one matrix per volumetric direction (13); 2: one matrix per slice along axis 0
        and in-plane direction (4).

    Returns
    -------
    ndarray of int64
        ``dims=3``: (13, N_g, N_g); ``dims=2``: (Z, 4, N_g, N_g). Element ``[..., i-1, j-1]``
        counts voxel pairs with grey levels ``i`` and ``j``.

    Raises
    ------
    InputError, EmptyRoiError
        See :func:`check_levels`.
    SettingsError
        ``distance`` < 1 or ``dims`` not 2 or 3.

    Examples
    --------
    >>> lv = np.array([[[1, 1, 2]]])
    >>> glcm_matrices(lv, lv > 0, n_levels=2)[2]  # direction (0, 0, 1): along x
    array([[2, 1],
           [1, 0]])
    """
    if distance < 1:
        raise SettingsError(f"GLCM distance must be >= 1, got {distance}")
    if dims not in (2, 3):
        raise SettingsError(f"dims must be 2 or 3, got {dims!r}")
    lv = check_levels(levels, mask, n_levels=n_levels)
    flat = padded_flat(lv, lv > 0, int(distance), planar=dims == 2)
    return glcm_of_padded(flat, n_levels=n_levels, distance=distance, symmetric=symmetric,
                          dims=dims)  # fmt: skip


def glcm_of_padded(
    flat: Padded,
    *,
    n_levels: int,
    distance: int,
    symmetric: bool,
    dims: int,
) -> IntArray:
    """:func:`glcm_matrices` of a validated ROI already padded by ``distance``.

    Parameters
    ----------
    flat : Padded
        The ROI padded by ``distance`` (not along axis 0 when ``dims == 2``) and flattened
        (:func:`~radiomix.features._kernels.neighbourhood.padded_flat`); grey levels
        1..``n_levels`` inside the ROI.
    n_levels, distance, symmetric, dims
        As for :func:`glcm_matrices`.

    Returns
    -------
    ndarray of int64
        As :func:`glcm_matrices`, with one matrix per slice of ``flat.shape`` for 2D.
    """
    shape = flat.shape
    d = int(distance)
    offsets = (DIRECTIONS_2D if dims == 2 else DIRECTIONS_3D) * d
    ny = shape[1] + 2 * d
    nx = shape[2] + 2 * d
    flat_offsets = (offsets[:, 0] * (ny * nx) + offsets[:, 1] * nx + offsets[:, 2]).astype(np.int64)
    n_groups = shape[0] if dims == 2 else 1
    out = np.zeros((n_groups, offsets.shape[0], int(n_levels), int(n_levels) + 1), dtype=np.int64)
    glcm_counts(flat.levels, flat.roi, flat.voxel_slice, flat_offsets, out)
    counts = out[:, :, :, 1:]
    counts = counts + np.swapaxes(counts, -1, -2) if symmetric else np.ascontiguousarray(counts)
    return counts if dims == 2 else counts[0]


def aggregate_glcm(stack: IntArray, aggregation: Aggregation) -> IntArray:
    """The matrices whose features are averaged for one aggregation method.

    Parameters
    ----------
    stack : ndarray of int64
        (Z, 4, N_g, N_g) from ``glcm_matrices(dims=2)`` for the 2D and 2.5D methods,
        (13, N_g, N_g) from ``glcm_matrices(dims=3)`` for the 3D methods.
    aggregation : Aggregation
        One of :data:`~radiomix.features.aggregation.DIRECTIONAL`.

    Returns
    -------
    (K, N_g, N_g) ndarray of int64
        The matrices to compute features from, empty ones (no pair) removed:
        every slice and direction (BTW3); per slice, directions merged (SUJT); per
        direction, slices merged (JJUI); all merged (ZW7Z, IAZD, K = 1); every direction
        (ITBB). A view of ``stack`` when none is merged or removed.
    """
    ng = stack.shape[-1]
    if aggregation is Aggregation.AVERAGED_2D:
        mats = stack.reshape(-1, ng, ng)
    elif aggregation is Aggregation.SLICE_MERGED_2D:
        mats = stack.sum(axis=1)
    elif aggregation is Aggregation.DIRECTION_MERGED_2P5D:
        mats = stack.sum(axis=0)
    elif aggregation is Aggregation.MERGED_2P5D:
        mats = stack.sum(axis=(0, 1))[None]
    elif aggregation is Aggregation.AVERAGED_3D:
        mats = stack
    elif aggregation is Aggregation.MERGED_3D:
        mats = stack.sum(axis=0)[None]
    else:
        raise InternalError(f"GLCM has no aggregation {aggregation!r}")
    keep = mats.sum(axis=(-2, -1)) > 0
    return mats if keep.all() else mats[keep]  # (no copy when every matrix has a pair)


def _plogp(p: FloatArray) -> FloatArray:
    """Elementwise p·log2(p), with 0·log2(0) = 0 (log2 of 1 taken there: no masked copies)."""
    return p * np.log2(np.where(p > 0, p, 1.0))


@dataclass(frozen=True, eq=False)
class GlcmMarginals:
    """Joint, marginal, diagonal and cross-diagonal probabilities of K GLCMs (IBSI notation).

    Attributes
    ----------
    p_ij : (K, P, P) ndarray of float64
        Joint probabilities (each matrix normalised by its sum), rows and columns those of
        the grey levels :attr:`levels`.
    n_g : int
        Number of grey levels N_g of the discretisation (the normaliser of the inverse
        difference and moment normalised features, and the length of
        :attr:`p_i_minus_j`).
    levels : (P,) ndarray of int64, optional
        The grey levels of the rows and columns of ``p_ij``, increasing, within 1..N_g;
        default all of them (P = N_g). :func:`glcm_marginals` keeps only the levels that
        occur in some matrix: the rows and columns of the others are zero and add nothing
        to any sum.
    """

    p_ij: FloatArray
    n_g: int
    levels: IntArray | None = None

    @cached_property
    def i(self) -> FloatArray:
        """Grey levels of the rows, (P,) float64 (also the column levels j)."""
        if self.levels is None:
            return np.arange(1, self.n_g + 1, dtype=np.float64)
        return np.asarray(self.levels, dtype=np.float64)

    @property
    def j(self) -> FloatArray:
        """Column grey levels 1..N_g."""
        return self.i

    @cached_property
    def p_i(self) -> FloatArray:
        """Row marginal p_{i.}, (K, N_g)."""
        return self.p_ij.sum(axis=2)

    @cached_property
    def p_j(self) -> FloatArray:
        """Column marginal p_{.j}, (K, N_g)."""
        return self.p_ij.sum(axis=1)

    @cached_property
    def k_minus(self) -> FloatArray:
        """Diagonal index k = 0..N_g-1 of :attr:`p_i_minus_j`."""
        return np.arange(self.n_g, dtype=np.float64)

    @cached_property
    def k_plus(self) -> FloatArray:
        """Cross-diagonal index k = 2..2N_g of :attr:`p_i_plus_j`."""
        return np.arange(2, 2 * self.n_g + 1, dtype=np.float64)

    @cached_property
    def _diagonal_sums(self) -> tuple[FloatArray, FloatArray]:
        """:attr:`p_i_minus_j` and :attr:`p_i_plus_j`, in one pass over ``p_ij``."""
        k = self.p_ij.shape[0]
        levels = np.arange(1, self.n_g + 1) if self.levels is None else self.levels
        minus = np.zeros((k, self.n_g))
        plus = np.zeros((k, 2 * self.n_g - 1))
        diagonal_sums(
            np.ascontiguousarray(self.p_ij, dtype=np.float64),
            np.ascontiguousarray(levels, dtype=np.int64),
            minus,
            plus,
        )
        return minus, plus

    @property
    def p_i_minus_j(self) -> FloatArray:
        """Diagonal probabilities p_{i-j,k} = Σ p_ij [k = |i-j|], k = 0..N_g-1, (K, N_g)."""
        return self._diagonal_sums[0]

    @property
    def p_i_plus_j(self) -> FloatArray:
        """Cross-diagonal probabilities p_{i+j,k} = Σ p_ij [k = i+j], k = 2..2N_g, (K, 2N_g-1)."""
        return self._diagonal_sums[1]

    @cached_property
    def mu_minus(self) -> FloatArray:
        """Mean of the diagonal marginal, Σ k p_{i-j,k} (the difference average), (K,)."""
        return self.p_i_minus_j @ self.k_minus

    @cached_property
    def mu_plus(self) -> FloatArray:
        """Mean of the cross-diagonal marginal, Σ k p_{i+j,k} (the sum average), (K,)."""
        return self.p_i_plus_j @ self.k_plus

    @cached_property
    def cluster_deviation(self) -> tuple[FloatArray, FloatArray]:
        """``d = k - μ_{i.} - μ_{.j}`` over the cross-diagonal index k = 2..2N_g, and d²,
        each (K, 2N_g-1): the cluster features' i + j - μ_{i.} - μ_{.j}."""
        d = self.k_plus[None, :] - (self.mu_i + self.mu_j)[:, None]
        return d, d * d

    @cached_property
    def mu_i(self) -> FloatArray:
        """Mean of the row marginal, μ_{i.} = Σ i p_{i.}, (K,)."""
        return self.p_i @ self.i

    @cached_property
    def mu_j(self) -> FloatArray:
        """Mean of the column marginal, μ_{.j} = Σ j p_{.j}, (K,)."""
        return self.p_j @ self.j

    @cached_property
    def dev_i(self) -> FloatArray:
        """Centred row levels i - μ_{i.}, (K, P) (the variance and the correlation)."""
        return self.i[None, :] - self.mu_i[:, None]

    @cached_property
    def dev_j(self) -> FloatArray:
        """Centred column levels j - μ_{.j}, (K, P)."""
        return self.j[None, :] - self.mu_j[:, None]

    @cached_property
    def var_i(self) -> FloatArray:
        """Variance of the row marginal, σ_{i.}² = Σ (i - μ_{i.})² p_{i.}, (K,)."""
        return (self.dev_i**2 * self.p_i).sum(axis=1)

    @cached_property
    def sigma_i(self) -> FloatArray:
        """Standard deviation of the row marginal, σ_{i.}, (K,)."""
        return np.sqrt(self.var_i)

    @cached_property
    def sigma_j(self) -> FloatArray:
        """Standard deviation of the column marginal, σ_{.j}, (K,)."""
        return np.sqrt((self.dev_j**2 * self.p_j).sum(axis=1))

    @cached_property
    def p_i_p_j(self) -> FloatArray:
        """Product of the marginals p_{i.} p_{.j}, (K, P, P)."""
        return self.p_i[:, :, None] * self.p_j[:, None, :]

    @cached_property
    def log_p_i_p_j(self) -> FloatArray:
        """log2(p_{i.} p_{.j}) where the product is > 0, else 0 (log2 of 1), (K, P, P)."""
        q = self.p_i_p_j
        return np.log2(np.where(q > 0, q, 1.0))

    @cached_property
    def hxy(self) -> FloatArray:
        """Joint entropy HXY = -Σ p_ij log2 p_ij, (K,)."""
        return -_plogp(self.p_ij).sum(axis=(1, 2))

    @cached_property
    def marginal_entropies(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """-Σ p log2 p of :attr:`p_i_minus_j`, :attr:`p_i_plus_j` and :attr:`p_i` (HX), (K,)
        each: p·log2 p taken once over the three side by side, each summed over its part."""
        minus, plus = self._diagonal_sums
        a, b = minus.shape[1], minus.shape[1] + plus.shape[1]
        terms = _plogp(np.concatenate((minus, plus, self.p_i), axis=1))
        return -terms[:, :a].sum(axis=1), -terms[:, a:b].sum(axis=1), -terms[:, b:].sum(axis=1)

    def weighted(self, w: FloatArray) -> FloatArray:
        """Σ_ij w_ij p_ij for an (N_g, N_g) weight matrix (or broadcastable), (K,)."""
        return (self.p_ij * w).sum(axis=(1, 2))


def glcm_marginals(counts: IntArray, *, n_levels: int) -> GlcmMarginals:
    """Normalise (K, N_g, N_g) co-occurrence counts into :class:`GlcmMarginals`.

    Only the grey levels with a count in some row or column of some matrix are kept
    (:attr:`GlcmMarginals.levels`): a lesion discretised into 50 levels often occupies
    10, and every feature then sums over 10² instead of 50² joint probabilities. Every
    feature is a sum over the joint probabilities weighted by functions of the level
    values i, j (and of N_g), to which the dropped zero rows and columns add nothing: the
    values equal those of the full matrices up to the order of the additions.

    Raises
    ------
    InternalError
        A matrix without any count (the caller removes them).
    """
    counts = np.asarray(counts)
    totals = counts.sum(axis=(1, 2))
    if totals.size and totals.min() <= 0:
        raise InternalError("glcm_marginals received an empty co-occurrence matrix")
    summed = counts.sum(axis=0)  # counts >= 0: a level occurs where a sum is > 0
    kept = (summed.any(axis=1) | summed.any(axis=0)).nonzero()[0]
    if kept.size < counts.shape[1]:
        # in C order (an advanced index [:, kept[:, None], kept] would leave the matrix
        # axis innermost, and every reduction over a matrix would stride through memory)
        counts = counts.take(kept, axis=1).take(kept, axis=2)
    # int64 / int64 divides the float64 conversions (those of astype(np.float64))
    p_ij = np.true_divide(counts, totals[:, None, None])
    return GlcmMarginals(p_ij=p_ij, n_g=int(n_levels), levels=kept + 1)


# --------------------------------------------------------------------------------------
# Family compute: one stack per ROI and dimensionality, shared by the aggregations
# --------------------------------------------------------------------------------------


def _stack(ctx: RoiContext, dims: int) -> IntArray:
    s = ctx.settings
    key = ("glcm", f"{dims}d", s.glcm_distance, s.glcm_symmetric)
    if s.glcm_distance < 1:
        raise SettingsError(f"GLCM distance must be >= 1, got {s.glcm_distance}")
    return ctx.cached(
        key,
        lambda: glcm_of_padded(
            context_padded(ctx, s.glcm_distance, planar=dims == 2),
            n_levels=ctx.n_levels,
            distance=s.glcm_distance,
            symmetric=s.glcm_symmetric,
            dims=dims,
        ),
    )


@family("glcm")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate GLCM features for one aggregation method.

    The matrices of all 2D/2.5D methods come from one per-slice stack, those of the 3D
    methods from one volumetric stack; both are cached on the context. Feature values of
    the K matrices of an aggregation are averaged (K = 1 for the merged methods). The
    features of every aggregation of the same dimensionality that the settings compute are
    evaluated together, over their matrices side by side (:func:`average_shared`).

    Notes
    -----
    Matrices without any pair are left out; when none remains (e.g. a one-voxel ROI) every
    feature is NaN. A feature that is undefined on some of the K matrices (correlation and
    information correlation 1 of a matrix with a single grey level, e.g. a flat slice) is
    averaged over the matrices where it is defined, and ``ctx.notes`` records how many
    (key ``<feature name>.<aggregation token>``); it is NaN only when undefined on all.
    """
    if aggregation not in DIRECTIONAL:
        raise InternalError(f"GLCM features need a directional aggregation, got {aggregation!r}")
    dims = 3 if aggregation.is_3d else 2
    s = ctx.settings
    family_key = ("glcm", s.glcm_distance, s.glcm_symmetric)

    def key(a: Aggregation) -> tuple[object, ...]:
        return ("glcm", a, s.glcm_distance, s.glcm_symmetric)

    def rows(aggregations: tuple[Aggregation, ...]) -> tuple[FloatArray, list[int]]:
        stack = _stack(ctx, dims)
        mats = [ctx.cached(key(a), partial(aggregate_glcm, stack, a)) for a in aggregations]
        sizes = [m.shape[0] for m in mats]
        joined = np.concatenate(mats) if len(mats) > 1 else mats[0]
        if joined.shape[0] == 0:
            return np.empty((len(specs), 0)), sizes
        return feature_rows(specs, glcm_marginals(joined, n_levels=ctx.n_levels)), sizes

    values = average_shared(ctx, family_key, aggregation, specs, rows)
    if values is None:
        log.debug("GLCM %s: no neighbour pair in the ROI; features are NaN", aggregation.token)
        return {spec.name: float("nan") for spec in specs}
    return values


def sibling_aggregations(ctx: RoiContext, aggregation: Aggregation) -> tuple[Aggregation, ...]:
    """The directional aggregations of ``aggregation``'s dimensionality (3D, or 2D and 2.5D)
    that ``ctx.settings`` computes, in :data:`DIRECTIONAL` order; ``aggregation`` alone when
    the settings do not list it (a direct call)."""
    same = _DIRECTIONAL_3D if aggregation in _DIRECTIONAL_3D else _DIRECTIONAL_2D
    tokens = ctx.settings.aggregations
    if tokens is not None:
        chosen = {Aggregation.from_token(t) for t in tokens}
        same = tuple(a for a in same if a in chosen)
    return same if aggregation in same else (aggregation,)


_DIRECTIONAL_3D = tuple(a for a in DIRECTIONAL if a.is_3d)
_DIRECTIONAL_2D = tuple(a for a in DIRECTIONAL if not a.is_3d)


def average_shared(
    ctx: RoiContext,
    family_key: tuple[object, ...],
    aggregation: Aggregation,
    specs: Sequence[FeatureSpec],
    rows: Callable[[tuple[Aggregation, ...]], tuple[FloatArray, list[int]]],
) -> dict[str, float] | None:
    """Average each feature over the matrices of ``aggregation``, evaluating the features of
    all its :func:`sibling_aggregations` at once.

    ``rows(aggregations)`` evaluates the features on the matrices of those aggregations put
    side by side, (features, ΣK) (:func:`feature_rows`), and returns them with each
    aggregation's K; the result is cached on the context, so the sibling aggregations read
    their columns from it. One pass over 13 + 1 matrices (3D averaged and merged) costs
    little more than one over 13: most of a feature's cost is per call, not per matrix. Each
    matrix's values are those of an evaluation of its aggregation alone (every feature
    works matrix by matrix).

    Returns
    -------
    dict or None
        ``{name: value}`` as :func:`average_rows`; None when the aggregation has no matrix.
    """
    aggregations = sibling_aggregations(ctx, aggregation)
    key = (*family_key, "rows", aggregations, tuple([spec.name for spec in specs]))
    values, sizes = ctx.cached(key, lambda: rows(aggregations))
    at = aggregations.index(aggregation)
    start = sum(sizes[:at])
    if sizes[at] == 0:
        return None
    if sizes[at] != values.shape[1]:
        values = np.ascontiguousarray(values[:, start : start + sizes[at]])
    return average_rows(ctx, specs, aggregation, values)


def feature_rows(specs: Sequence[FeatureSpec], m: object) -> FloatArray:
    """The values of each feature on the K matrices ``m``, (features, K).

    Gathered row by row into one array (cheaper than stacking them).
    """
    first = np.asarray(specs[0].func(m), dtype=np.float64)
    values = np.empty((len(specs), first.shape[0]))
    values[0] = first
    for row, spec in enumerate(specs[1:], 1):
        values[row] = spec.func(m)
    return values


def average_rows(
    ctx: RoiContext, specs: Sequence[FeatureSpec], aggregation: Aggregation, values: FloatArray
) -> dict[str, float]:
    """Average each feature's row of (features, K) ``values`` (:func:`average_defined`).

    Every row is summed in one reduction (each row's sum is the one a reduction of that
    row alone makes); a feature whose sum is NaN (undefined on some matrix), or an empty
    stack, goes to :func:`average_defined`.
    """
    k = values.shape[1]
    totals = np.add.reduce(values, axis=1).tolist()
    return {
        spec.name: total / k if k and not math.isnan(total)
        else average_defined(ctx, spec, aggregation, row)
        for spec, total, row in zip(specs, totals, values, strict=True)
    }


def average_defined(
    ctx: RoiContext, spec: FeatureSpec, aggregation: Aggregation, values: FloatArray
) -> float:
    """Mean of one feature over the K matrices of an aggregation, where it is defined.

    NaN values (feature undefined on that matrix) are left out and the number used is
    recorded in ``ctx.notes``; the result is NaN when no value is defined.
    """
    values = np.asarray(values, dtype=np.float64)
    # the common case, every value defined: numpy's mean is this reduction divided by the
    # count, less its Python overhead (a NaN total sends the values to the count below)
    total = float(np.add.reduce(values, axis=None))
    if values.size and not math.isnan(total):
        return total / values.size
    defined = ~np.isnan(values)
    n_defined = int(defined.sum())
    if n_defined == 0:
        return float("nan")
    ctx.notes[f"{spec.name}.{aggregation.token}"] = (
        f"mean over the {n_defined} of {values.size} matrices where the feature is defined"
    )
    return float(values[defined].mean())


# --------------------------------------------------------------------------------------
# Layer 2: features, one function each, vectorised over K matrices
# --------------------------------------------------------------------------------------

_AGG = DIRECTIONAL
_REQ = ("glcm",)


@feature(name="glcm.joint_max", ibsi="GYBY", aggregations=_AGG, requires=_REQ)
def joint_max(m: GlcmMarginals) -> FloatArray:
    """Joint maximum (IBSI GYBY).

    Notes
    -----
    .. math:: F_{cm.joint.max} = \\max(p_{ij})

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Joint maximum".
    """
    return m.p_ij.max(axis=(1, 2))


@feature(name="glcm.joint_average", ibsi="60VM", aggregations=_AGG, requires=_REQ)
def joint_average(m: GlcmMarginals) -> FloatArray:
    """Joint average (IBSI 60VM).

    Notes
    -----
    .. math:: F_{cm.joint.avg} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} i\\, p_{ij}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Joint average".
    """
    return m.mu_i


@feature(name="glcm.joint_variance", ibsi="UR99", aggregations=_AGG, requires=_REQ)
def joint_variance(m: GlcmMarginals) -> FloatArray:
    """Joint variance, also "sum of squares" (IBSI UR99).

    Notes
    -----
    .. math:: F_{cm.joint.var} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} (i-\\mu)^2 p_{ij}

    with :math:`\\mu` the joint average.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Joint variance".
    """
    return m.var_i


@feature(name="glcm.joint_entropy", ibsi="TU9B", aggregations=_AGG, requires=_REQ)
def joint_entropy(m: GlcmMarginals) -> FloatArray:
    """Joint entropy (IBSI TU9B).

    Notes
    -----
    .. math:: F_{cm.joint.entr} = -\\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} p_{ij} \\log_2 p_{ij}

    with :math:`0 \\log_2 0 = 0`.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Joint entropy".
    """
    return m.hxy


@feature(name="glcm.difference_average", ibsi="TF7R", aggregations=_AGG, requires=_REQ)
def difference_average(m: GlcmMarginals) -> FloatArray:
    """Difference average (IBSI TF7R).

    Notes
    -----
    .. math:: F_{cm.diff.avg} = \\sum_{k=0}^{N_g-1} k\\, p_{i-j,k}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Difference average".
    """
    return m.mu_minus


@feature(name="glcm.difference_variance", ibsi="D3YU", aggregations=_AGG, requires=_REQ)
def difference_variance(m: GlcmMarginals) -> FloatArray:
    """Difference variance (IBSI D3YU).

    Notes
    -----
    .. math:: F_{cm.diff.var} = \\sum_{k=0}^{N_g-1} (k-\\mu)^2 p_{i-j,k}

    with :math:`\\mu` the difference average.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Difference variance".
    """
    return ((m.k_minus[None, :] - m.mu_minus[:, None]) ** 2 * m.p_i_minus_j).sum(axis=1)


@feature(name="glcm.difference_entropy", ibsi="NTRS", aggregations=_AGG, requires=_REQ)
def difference_entropy(m: GlcmMarginals) -> FloatArray:
    """Difference entropy (IBSI NTRS).

    Notes
    -----
    .. math:: F_{cm.diff.entr} = -\\sum_{k=0}^{N_g-1} p_{i-j,k} \\log_2 p_{i-j,k}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Difference entropy".
    """
    return m.marginal_entropies[0]


@feature(name="glcm.sum_average", ibsi="ZGXS", aggregations=_AGG, requires=_REQ)
def sum_average(m: GlcmMarginals) -> FloatArray:
    """Sum average (IBSI ZGXS).

    Notes
    -----
    .. math:: F_{cm.sum.avg} = \\sum_{k=2}^{2N_g} k\\, p_{i+j,k}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Sum average".
    """
    return m.mu_plus


@feature(name="glcm.sum_variance", ibsi="OEEB", aggregations=_AGG, requires=_REQ)
def sum_variance(m: GlcmMarginals) -> FloatArray:
    """Sum variance (IBSI OEEB).

    Notes
    -----
    .. math:: F_{cm.sum.var} = \\sum_{k=2}^{2N_g} (k-\\mu)^2 p_{i+j,k}

    with :math:`\\mu` the sum average. Equal to cluster tendency.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Sum variance".
    """
    return ((m.k_plus[None, :] - m.mu_plus[:, None]) ** 2 * m.p_i_plus_j).sum(axis=1)


@feature(name="glcm.sum_entropy", ibsi="P6QZ", aggregations=_AGG, requires=_REQ)
def sum_entropy(m: GlcmMarginals) -> FloatArray:
    """Sum entropy (IBSI P6QZ).

    Notes
    -----
    .. math:: F_{cm.sum.entr} = -\\sum_{k=2}^{2N_g} p_{i+j,k} \\log_2 p_{i+j,k}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Sum entropy".
    """
    return m.marginal_entropies[1]


@feature(name="glcm.angular_second_moment", ibsi="8ZQL", aggregations=_AGG, requires=_REQ)
def angular_second_moment(m: GlcmMarginals) -> FloatArray:
    """Angular second moment, also "energy" (IBSI 8ZQL).

    Notes
    -----
    .. math:: F_{cm.energy} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} p_{ij}^2

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Angular second moment".
    """
    return (m.p_ij**2).sum(axis=(1, 2))


@feature(name="glcm.contrast", ibsi="ACUI", aggregations=_AGG, requires=_REQ)
def contrast(m: GlcmMarginals) -> FloatArray:
    """Contrast (IBSI ACUI).

    Notes
    -----
    .. math:: F_{cm.contrast} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} (i-j)^2 p_{ij}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Contrast".
    """
    return m.p_i_minus_j @ m.k_minus**2


@feature(name="glcm.dissimilarity", ibsi="8S9J", aggregations=_AGG, requires=_REQ)
def dissimilarity(m: GlcmMarginals) -> FloatArray:
    """Dissimilarity (IBSI 8S9J).

    Notes
    -----
    .. math:: F_{cm.dissimilarity} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} |i-j|\\, p_{ij}

    Equal to the difference average.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Dissimilarity".
    """
    return m.weighted(np.abs(np.subtract.outer(m.i, m.j)))


@feature(name="glcm.inverse_difference", ibsi="IB1Z", aggregations=_AGG, requires=_REQ)
def inverse_difference(m: GlcmMarginals) -> FloatArray:
    """Inverse difference (IBSI IB1Z); the lung study's "homogeneity".

    Notes
    -----
    .. math:: F_{cm.inv.diff} = \\sum_{k=0}^{N_g-1} \\frac{p_{i-j,k}}{1+k}
              = \\sum_{i,j} \\frac{p_{ij}}{1+|i-j|}

    IBSI also calls the *inverse difference moment* (WF0Z) "homogeneity" (after Unser);
    the study's homogeneity Σ p/(1+|i−j|) is this feature.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Inverse difference".
    """
    return m.p_i_minus_j @ (1.0 / (1.0 + m.k_minus))


@feature(name="glcm.normalised_inverse_difference", ibsi="NDRX", aggregations=_AGG, requires=_REQ)
def normalised_inverse_difference(m: GlcmMarginals) -> FloatArray:
    """Normalised inverse difference (IBSI NDRX).

    Notes
    -----
    .. math:: F_{cm.inv.diff.norm} = \\sum_{k=0}^{N_g-1} \\frac{p_{i-j,k}}{1+k/N_g}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Normalised inverse
    difference".
    """
    return m.p_i_minus_j @ (1.0 / (1.0 + m.k_minus / m.n_g))


@feature(name="glcm.inverse_difference_moment", ibsi="WF0Z", aggregations=_AGG, requires=_REQ)
def inverse_difference_moment(m: GlcmMarginals) -> FloatArray:
    """Inverse difference moment (IBSI WF0Z).

    Notes
    -----
    .. math:: F_{cm.inv.diff.mom} = \\sum_{k=0}^{N_g-1} \\frac{p_{i-j,k}}{1+k^2}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Inverse difference moment".
    """
    return m.p_i_minus_j @ (1.0 / (1.0 + m.k_minus**2))


@feature(
    name="glcm.normalised_inverse_difference_moment", ibsi="1QCO", aggregations=_AGG, requires=_REQ
)
def normalised_inverse_difference_moment(m: GlcmMarginals) -> FloatArray:
    """Normalised inverse difference moment (IBSI 1QCO).

    Notes
    -----
    .. math:: F_{cm.inv.diff.mom.norm} = \\sum_{k=0}^{N_g-1} \\frac{p_{i-j,k}}{1+(k/N_g)^2}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Normalised inverse
    difference moment".
    """
    return m.p_i_minus_j @ (1.0 / (1.0 + (m.k_minus / m.n_g) ** 2))


@feature(name="glcm.inverse_variance", ibsi="E8JP", aggregations=_AGG, requires=_REQ)
def inverse_variance(m: GlcmMarginals) -> FloatArray:
    """Inverse variance (IBSI E8JP).

    Notes
    -----
    .. math:: F_{cm.inv.var} = \\sum_{k=1}^{N_g-1} \\frac{p_{i-j,k}}{k^2}

    The sum starts at k = 1 (the diagonal is left out); a matrix with only diagonal
    entries gives 0.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Inverse variance".
    """
    k = m.k_minus[1:]
    return m.p_i_minus_j[:, 1:] @ (1.0 / k**2)


@feature(name="glcm.correlation", ibsi="NI2N", aggregations=_AGG, requires=_REQ)
def correlation(m: GlcmMarginals) -> FloatArray:
    """Correlation (IBSI NI2N).

    Notes
    -----
    .. math:: F_{cm.corr} = \\frac{1}{\\sigma_{i.}\\sigma_{.j}}
              \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} (i-\\mu_{i.})(j-\\mu_{.j})\\, p_{ij}

    Undefined (NaN) when :math:`\\sigma_{i.}\\sigma_{.j} = 0`: for a symmetric matrix, when
    it holds a single grey level (a flat ROI, slice or direction); the grey levels of a pair
    then do not vary, so they have no correlation. The averaged aggregation methods take
    the mean over the matrices where it is defined (see :func:`compute`).

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Correlation".
    """
    # the centred sum, not sum(i j p_ij) - mu_i mu_j: that difference cancels most of its
    # digits when the levels are far from 0 and their spread small (1e-12 relative error)
    cov = (m.dev_i[:, :, None] * m.dev_j[:, None, :] * m.p_ij).sum(axis=(1, 2))
    den = m.sigma_i * m.sigma_j
    return np.divide(cov, den, out=np.full(den.shape, np.nan), where=den > 0)


@feature(name="glcm.autocorrelation", ibsi="QWB0", aggregations=_AGG, requires=_REQ)
def autocorrelation(m: GlcmMarginals) -> FloatArray:
    """Autocorrelation (IBSI QWB0).

    Notes
    -----
    .. math:: F_{cm.auto.corr} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g} i\\, j\\, p_{ij}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Autocorrelation".
    """
    return m.weighted(np.outer(m.i, m.j))


def _cluster_moment(m: GlcmMarginals, power: int) -> FloatArray:
    """Σ (i + j - μ_i - μ_j)^power p_ij, over the cross-diagonal marginal p_{i+j} (O(N_g))."""
    d, d2 = m.cluster_deviation
    dp = d2 if power == 2 else d2 * d if power == 3 else d2 * d2
    return (dp * m.p_i_plus_j).sum(axis=1)


@feature(name="glcm.cluster_tendency", ibsi="DG8W", aggregations=_AGG, requires=_REQ)
def cluster_tendency(m: GlcmMarginals) -> FloatArray:
    """Cluster tendency (IBSI DG8W).

    Notes
    -----
    .. math:: F_{cm.clust.tend} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g}
              (i+j-\\mu_{i.}-\\mu_{.j})^2 p_{ij}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Cluster tendency".
    """
    return _cluster_moment(m, 2)


@feature(name="glcm.cluster_shade", ibsi="7NFM", aggregations=_AGG, requires=_REQ)
def cluster_shade(m: GlcmMarginals) -> FloatArray:
    """Cluster shade (IBSI 7NFM).

    Notes
    -----
    .. math:: F_{cm.clust.shade} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g}
              (i+j-\\mu_{i.}-\\mu_{.j})^3 p_{ij}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Cluster shade".
    """
    return _cluster_moment(m, 3)


@feature(name="glcm.cluster_prominence", ibsi="AE86", aggregations=_AGG, requires=_REQ)
def cluster_prominence(m: GlcmMarginals) -> FloatArray:
    """Cluster prominence (IBSI AE86).

    Notes
    -----
    .. math:: F_{cm.clust.prom} = \\sum_{i=1}^{N_g} \\sum_{j=1}^{N_g}
              (i+j-\\mu_{i.}-\\mu_{.j})^4 p_{ij}

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Cluster prominence".
    """
    return _cluster_moment(m, 4)


@feature(name="glcm.information_correlation_1", ibsi="R8DG", aggregations=_AGG, requires=_REQ)
def information_correlation_1(m: GlcmMarginals) -> FloatArray:
    """Information correlation 1 (IBSI R8DG).

    Notes
    -----
    .. math:: F_{cm.info.corr.1} = \\frac{HXY - HXY_1}{HX}

    with :math:`HXY` the joint entropy, :math:`HX = -\\sum_i p_{i.} \\log_2 p_{i.}` and
    :math:`HXY_1 = -\\sum_{i,j} p_{ij} \\log_2 (p_{i.} p_{.j})`.

    Undefined (NaN) when :math:`HX = 0`, i.e. when the rows hold a single grey level (for a
    symmetric matrix: a flat ROI, slice or direction): the formula is then 0/0. The averaged
    aggregation methods take the mean over the matrices where it is defined (see
    :func:`compute`).

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Information correlation 1".
    """
    hx = m.marginal_entropies[2]
    # p_ij > 0 implies p_i. p_.j > 0: every term with p_ij > 0 reads a log of the product
    hxy1 = -(m.p_ij * m.log_p_i_p_j).sum(axis=(1, 2))
    return np.divide(m.hxy - hxy1, hx, out=np.full(hx.shape, np.nan), where=hx > 0)


@feature(name="glcm.information_correlation_2", ibsi="JN9H", aggregations=_AGG, requires=_REQ)
def information_correlation_2(m: GlcmMarginals) -> FloatArray:
    """Information correlation 2 (IBSI JN9H).

    Notes
    -----
    .. math:: F_{cm.info.corr.2} = \\sqrt{1 - \\exp(-2 (HXY_2 - HXY))}

    with :math:`HXY` the joint entropy and
    :math:`HXY_2 = -\\sum_{i,j} p_{i.} p_{.j} \\log_2 (p_{i.} p_{.j})`. Since
    :math:`HXY_2 \\ge HXY`, a negative difference can only be rounding error and is set
    to 0. A flat matrix (one grey level) gives 0.

    References
    ----------
    IBSI 1 manual, "Grey level co-occurrence based features", "Information correlation 2".
    """
    hxy2 = -(m.p_i_p_j * m.log_p_i_p_j).sum(axis=(1, 2))  # p log2 p, 0 log2 0 = 0
    return np.sqrt(1.0 - np.exp(-2.0 * np.maximum(hxy2 - m.hxy, 0.0)))
