"""Faster GLCM and GLRLM evaluation against the formulations it replaces.

- The features of the sibling aggregations (3D averaged and merged; the 2D and 2.5D
  methods) evaluated in one pass over their matrices side by side
  (:func:`glcm.average_shared`) against each aggregation evaluated alone from the whole-array
  matrices (:func:`glcm.glcm_matrices`, :func:`glrlm.glrlm_matrices`): the same values to
  round-off (a matrix product over more rows may add in another order), NaN where the
  former gave NaN, and the same notes.
- A context whose settings list one aggregation only evaluates that one alone.
- GLRLM marginals over the grey levels with a run (:func:`glrlm.glrlm_marginals`) against
  the full run length matrices (every level 1..N_g).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.features import glcm, glrlm
from radiomix.features.aggregation import DIRECTIONAL, Aggregation
from radiomix.features.registry import aggregation_features
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings.steps import FeatureSettings


def _context(levels: np.ndarray, mask: np.ndarray, n_levels: int, **kw: object) -> RoiContext:
    values = levels[mask].astype(float)
    return RoiContext(levels.astype(float), mask, mask, (1.0, 1.0, 1.0), levels=levels,
                      n_levels=n_levels,
                      ivh=IvhInput(values=values, lower=1.0, upper=float(n_levels), step=1.0),
                      settings=FeatureSettings(**kw))  # type: ignore[arg-type]  # fmt: skip


@st.composite
def rois(draw):
    n_levels = draw(st.integers(1, 7))
    levels = draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1,
                                                        max_side=6),
                             elements=st.integers(1, n_levels)))  # fmt: skip
    seed = draw(st.integers(0, 2**32 - 1))
    mask = np.random.default_rng(seed).random(levels.shape) < draw(st.floats(0.2, 1.0))
    mask.flat[0] = True
    return np.where(mask, levels, 0), mask, n_levels


def _alone(family: str, levels, mask, n_levels, agg, ctx) -> dict[str, float]:
    """One aggregation from the whole-array matrices, evaluated on its own."""
    specs = aggregation_features(family, agg)
    dims = 3 if agg.is_3d else 2
    if family == "glcm":
        mats = glcm.aggregate_glcm(
            glcm.glcm_matrices(levels, mask, n_levels=n_levels, dims=dims), agg)
        if mats.shape[0] == 0:
            return {s.name: math.nan for s in specs}
        m = glcm.glcm_marginals(mats, n_levels=n_levels)
        return glcm.average_rows(ctx, specs, agg, glcm.feature_rows(specs, m))
    stack = glrlm.aggregate_glrlm(glrlm.glrlm_matrices(levels, mask, n_levels=n_levels,
                                                       dims=dims), agg)  # fmt: skip
    if stack.counts.shape[0] == 0:
        return {s.name: math.nan for s in specs}
    full = glrlm.GlrlmMarginals(r_ij=stack.counts.astype(np.float64),
                                n_v=stack.n_voxels.astype(np.float64))  # fmt: skip
    return glcm.average_rows(ctx, specs, agg, glcm.feature_rows(specs, full))


def _close(got: dict[str, float], expected: dict[str, float]) -> None:
    assert got.keys() == expected.keys()
    for name, e in expected.items():
        g = got[name]
        if math.isnan(e):
            assert math.isnan(g), name
        else:
            assert g == pytest.approx(e, rel=1e-12, abs=1e-12), name


@settings(max_examples=60, deadline=None)
@given(roi=rois())
@pytest.mark.parametrize("family", ["glcm", "glrlm"])
def test_sibling_aggregations_equal_each_alone(family, roi) -> None:
    levels, mask, n_levels = roi
    ctx = _context(levels, mask, n_levels)
    alone_ctx = _context(levels, mask, n_levels)
    compute = glcm.compute if family == "glcm" else glrlm.compute
    for agg in DIRECTIONAL:
        got = compute(ctx, agg, aggregation_features(family, agg))
        _close(got, _alone(family, levels, mask, n_levels, agg, alone_ctx))
    assert ctx.notes == alone_ctx.notes


@pytest.mark.parametrize("family", ["glcm", "glrlm"])
@pytest.mark.parametrize("agg", DIRECTIONAL)
def test_one_listed_aggregation_is_evaluated_alone(family, agg) -> None:
    rng = np.random.default_rng(7)
    levels = rng.integers(1, 6, size=(4, 5, 6))
    mask = rng.random(levels.shape) < 0.8
    levels = np.where(mask, levels, 0)
    ctx = _context(levels, mask, 5, aggregations=(agg.token,), families=("glcm", "glrlm"))
    assert glcm.sibling_aggregations(ctx, agg) == (agg,)
    compute = glcm.compute if family == "glcm" else glrlm.compute
    got = compute(ctx, agg, aggregation_features(family, agg))
    # evaluated alone: the values of the former one-aggregation evaluation, to the bit
    expected = _alone(family, levels, mask, 5, agg, _context(levels, mask, 5))
    for name, e in expected.items():
        assert got[name] == e or (math.isnan(got[name]) and math.isnan(e)), name


def test_sibling_aggregations_follow_the_settings() -> None:
    levels = np.ones((2, 2, 2), dtype=np.int64)
    ctx = _context(levels, levels > 0, 1)
    assert glcm.sibling_aggregations(ctx, Aggregation.MERGED_3D) == (
        Aggregation.AVERAGED_3D, Aggregation.MERGED_3D)
    assert glcm.sibling_aggregations(ctx, Aggregation.SLICE_MERGED_2D) == tuple(
        a for a in DIRECTIONAL if not a.is_3d)
    ctx = _context(levels, levels > 0, 1, aggregations=("3d_merged", "2d_averaged", "3d"),
                   families=("glcm", "glrlm"))
    assert glcm.sibling_aggregations(ctx, Aggregation.MERGED_3D) == (Aggregation.MERGED_3D,)
    assert glcm.sibling_aggregations(ctx, Aggregation.AVERAGED_2D) == (Aggregation.AVERAGED_2D,)
    # not listed (a direct call): alone
    assert glcm.sibling_aggregations(ctx, Aggregation.AVERAGED_3D) == (Aggregation.AVERAGED_3D,)


@pytest.mark.parametrize("seed", range(6))
def test_glrlm_marginals_over_occurring_levels_equal_full_matrices(seed) -> None:
    rng = np.random.default_rng(seed)
    n_levels = 9
    levels = rng.choice([2, 3, 7], size=(5, 6, 4))  # levels 1, 4-6, 8, 9 never occur
    mask = rng.random(levels.shape) < 0.85
    stack = glrlm.glrlm_matrices(np.where(mask, levels, 0), mask, n_levels=n_levels)
    m = glrlm.glrlm_marginals(stack)
    assert m.levels is not None
    assert set(m.levels.tolist()) <= {2, 3, 7}
    full = glrlm.GlrlmMarginals(r_ij=stack.counts.astype(np.float64),
                                n_v=stack.n_voxels.astype(np.float64))  # fmt: skip
    for spec in aggregation_features("glrlm", Aggregation.AVERAGED_3D):
        np.testing.assert_allclose(spec.func(m), spec.func(full), rtol=1e-13, atol=0)
