"""GLCM features on the occupied grey levels only, and the accuracy of the correlation.

:func:`radiomix.features.glcm.glcm_marginals` keeps the grey levels that occur in some
matrix (a lesion uses a fraction of its discretisation's levels). The features must equal
those of the full matrices (``GlcmMarginals`` with every level) up to the order of the
additions, and the correlation (IBSI NI2N) must equal an exact rational computation even
when the levels sit far from 0 with a small spread, where ``E[ij] - mu_i mu_j`` loses
digits.
"""

from __future__ import annotations

import math
from fractions import Fraction

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings

from radiomix.features.glcm import GlcmMarginals, glcm_marginals
from radiomix.features.registry import all_features

N_LEVELS = 40
SPECS = {s.feature: s for s in all_features() if s.family == "glcm"}


@st.composite
def sparse_counts(draw: st.DrawFn) -> np.ndarray:
    """(K, N_g, N_g) symmetric counts on a few scattered levels, no matrix empty."""
    k = draw(st.integers(1, 4))
    levels = draw(st.lists(st.integers(0, N_LEVELS - 1), min_size=1, max_size=8, unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    counts = np.zeros((k, N_LEVELS, N_LEVELS), dtype=np.int64)
    idx = np.asarray(levels)
    block = rng.integers(0, 30, size=(k, idx.size, idx.size))
    block[:, 0, 0] += 1  # no empty matrix
    counts[:, idx[:, None], idx[None, :]] = block
    return counts + np.swapaxes(counts, 1, 2)


@settings(max_examples=80, deadline=None)
@given(counts=sparse_counts())
def test_features_on_occupied_levels_equal_the_full_matrices(counts: np.ndarray) -> None:
    """Every GLCM feature of the compacted matrices equals that of the full ones."""
    compact = glcm_marginals(counts, n_levels=N_LEVELS)
    assert compact.p_ij.shape[1] == np.count_nonzero(counts.any(axis=(0, 2)))
    full_p = counts / counts.sum(axis=(1, 2))[:, None, None]
    full = GlcmMarginals(p_ij=full_p, n_g=N_LEVELS)
    for name, spec in SPECS.items():
        a = np.asarray(spec.func(compact), dtype=np.float64)
        b = np.asarray(spec.func(full), dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        ok = ~np.isnan(a)
        if name == "information_correlation_2":
            # sqrt(1 - exp(-2 (HXY2 - HXY))): near HXY2 = HXY the square root multiplies
            # the rounding of the entropy difference (1e-9 relative at a difference of
            # 1e-6); its square, 1 - exp(...), is the well-conditioned quantity
            a, b = a * a, b * b
        if name == "cluster_shade":
            # a sum of cubes of both signs that can cancel to a small fraction of its
            # terms: its rounding is relative to the terms' size, sum p |i + j - mu|^3
            np.testing.assert_array_less(
                np.abs(a[ok] - b[ok]), 1e-11 * _absolute_cluster_shade(full_p)[ok] + 1e-13,
                err_msg=name)
            continue
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-11, atol=1e-13, err_msg=name)


def _absolute_cluster_shade(p: np.ndarray) -> np.ndarray:
    """Cluster shade's terms in absolute value, summed: sum p_ij |i + j - mu_i - mu_j|^3."""
    levels = np.arange(1, p.shape[1] + 1, dtype=np.float64)
    mu = (p.sum(axis=2) @ levels) + (p.sum(axis=1) @ levels)
    dev = levels[:, None] + levels[None, :] - mu[:, None, None]
    return (p * np.abs(dev) ** 3).sum(axis=(1, 2))


def _exact_correlation(counts: np.ndarray) -> float:
    """NI2N of one matrix in rational arithmetic (rounded once at the square root)."""
    n = counts.shape[0]
    total = int(counts.sum())
    levels = range(1, n + 1)
    p_i = [Fraction(int(counts[i - 1].sum()), total) for i in levels]
    p_j = [Fraction(int(counts[:, j - 1].sum()), total) for j in levels]
    mu_i = sum(i * p for i, p in zip(levels, p_i, strict=True))
    mu_j = sum(j * p for j, p in zip(levels, p_j, strict=True))
    var_i = sum((i - mu_i) ** 2 * p for i, p in zip(levels, p_i, strict=True))
    var_j = sum((j - mu_j) ** 2 * p for j, p in zip(levels, p_j, strict=True))
    cov = sum(
        (i - mu_i) * (j - mu_j) * Fraction(int(counts[i - 1, j - 1]), total)
        for i in levels
        for j in levels
    )
    return float(cov) / math.sqrt(float(var_i) * float(var_j))


@settings(max_examples=40, deadline=None)
@given(
    low=st.integers(20, 55),
    width=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_correlation_equals_rational_value_far_from_zero(low: int, width: int, seed: int) -> None:
    """Levels low..low+width-1 of 60, counts in the thousands (a CT lesion at FBS 25 HU):
    the correlation to 1e-14 relative of the exact value. The uncentred formula
    ``sum(i j p) - mu_i mu_j`` misses by up to 1e-12 on such matrices (STS_048)."""
    n = 60
    rng = np.random.default_rng(seed)
    block = rng.integers(0, 4000, size=(width, width))
    block += np.diag(rng.integers(5000, 20000, size=width))  # correlated pairs
    counts = np.zeros((n, n), dtype=np.int64)
    counts[low - 1 : low - 1 + width, low - 1 : low - 1 + width] = block + block.T
    exact = _exact_correlation(counts)
    got = float(SPECS["correlation"].func(glcm_marginals(counts[None], n_levels=n))[0])
    assert abs(got - exact) <= 1e-14 * abs(exact)
