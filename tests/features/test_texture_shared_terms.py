"""Terms shared between features (computed once per matrix stack) equal the formulas
written out per feature, bit for bit (hand-written numpy oracles on random matrices)."""

from __future__ import annotations

import numpy as np
import pytest

from radiomix.features import glcm, glrlm, glszm, ngtdm
from radiomix.features.glcm import glcm_marginals
from radiomix.features.glrlm import GlrlmMarginals
from radiomix.features.glszm import CountMatrix
from radiomix.features.ngtdm import Ngtdm


def _plogp_sum(p: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    logs = np.zeros_like(p)
    np.log2(p, out=logs, where=p > 0)
    return -(p * logs).sum(axis=axis)


@pytest.mark.parametrize("seed", range(6))
def test_glcm_entropies_correlation_and_marginals(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k, ng = int(rng.integers(1, 14)), int(rng.integers(2, 30))
    counts = rng.integers(0, 5, size=(k, ng, ng)) * (rng.random((1, ng, 1)) < 0.5)
    counts = counts + np.swapaxes(counts, 1, 2)
    counts[:, -1, -1] += 1  # no empty matrix
    m = glcm_marginals(counts, n_levels=ng)
    kept = np.flatnonzero(counts.sum(axis=0).any(axis=0))
    p = counts[:, kept][:, :, kept].astype(np.float64) / counts.sum(axis=(1, 2))[:, None, None]
    assert p.tobytes() == m.p_ij.tobytes()
    assert _plogp_sum(m.p_i_minus_j, 1).tobytes() == glcm.difference_entropy(m).tobytes()
    assert _plogp_sum(m.p_i_plus_j, 1).tobytes() == glcm.sum_entropy(m).tobytes()
    i = kept + 1.0
    di = i[None, :, None] - m.mu_i[:, None, None]
    dj = i[None, None, :] - m.mu_j[:, None, None]
    cov = (di * dj * m.p_ij).sum(axis=(1, 2))
    sj = np.sqrt(((i[None, :] - m.mu_j[:, None]) ** 2 * m.p_j).sum(axis=1))
    si = np.sqrt(((i[None, :] - m.mu_i[:, None]) ** 2 * m.p_i).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(si * sj > 0, cov / (si * sj), np.nan)
        hx = _plogp_sum(m.p_i, 1)
        hxy1 = -(m.p_ij * m.log_p_i_p_j).sum(axis=(1, 2))
        ic1 = np.where(hx > 0, (m.hxy - hxy1) / hx, np.nan)
    assert corr.tobytes() == glcm.correlation(m).tobytes()
    assert ic1.tobytes() == glcm.information_correlation_1(m).tobytes()


def test_glrlm_and_zone_emphases_and_nonuniformities() -> None:
    rng = np.random.default_rng(3)
    r = rng.integers(0, 4, size=(5, 9, 7)).astype(np.float64)
    r[:, 0, 0] += 1
    m = GlrlmMarginals(r_ij=r, n_v=np.full(5, 100.0))
    i, j, ns = np.arange(1.0, 10.0), np.arange(1.0, 8.0), r.sum(axis=(1, 2))
    assert (r.sum(axis=1) @ (1.0 / j**2) / ns).tobytes() == glrlm.short_runs_emphasis(m).tobytes()
    w = np.outer(i**2, 1.0 / j**2)
    assert ((r * w).sum(axis=(1, 2)) / ns).tobytes() == (
        glrlm.short_run_high_grey_level_emphasis(m).tobytes())
    gln = (r.sum(axis=2) ** 2).sum(axis=1)
    assert (gln / ns**2).tobytes() == glrlm.normalised_grey_level_nonuniformity(m).tobytes()
    c = CountMatrix(r, i, j, n_voxels=100.0)
    assert (c.counts @ j**-2 @ i**2 / ns).tobytes() == (
        glszm.small_zone_high_grey_level_emphasis(c).tobytes())
    assert ((r.sum(axis=1) ** 2).sum(axis=1) / ns).tobytes() == (
        glszm.zone_size_nonuniformity(c).tobytes())


def test_ngtdm_shared_pair_terms() -> None:
    rng = np.random.default_rng(5)
    n = rng.integers(0, 6, size=(3, 8)).astype(np.float64)
    n[:, 0] += 1
    s = rng.random((3, 8)) * (n > 0)
    m = Ngtdm(np.arange(1, 9), s, n)
    p = n / n.sum(axis=1)[:, None]
    both = (p > 0)[:, :, None] & (p > 0)[:, None, :]
    diff = np.arange(1.0, 9.0)[:, None] - np.arange(1.0, 9.0)[None, :]
    num = ((p[:, :, None] + p[:, None, :]) * diff**2 * both).sum(axis=(1, 2))
    assert (num / s.sum(axis=1)).tobytes() == ngtdm.strength(m).tobytes()
    assert (1.0 / (p * s).sum(axis=1)).tobytes() == ngtdm.coarseness(m).tobytes()
