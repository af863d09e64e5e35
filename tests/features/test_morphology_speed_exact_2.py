"""Fused morphology helpers against their plain numpy formulations (exact equality).

The voxel-centre list of the PCA was moved into a numba kernel; it must give the very
same bits as the straightforward formulation (``np.argwhere`` times the spacing). The
mesh is tested against scikit-image's marching cubes in ``test_mesh_tables.py``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from radiomix.features._kernels import morphology as _k

SPACINGS = st.tuples(*[st.sampled_from([0.5, 0.7813, 0.977, 1.0, 2.0, 3.1, 3.27])] * 3)


@settings(max_examples=60, deadline=None)
@given(mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 9)] * 3)), spacing=SPACINGS)
def test_voxel_centres_equal_argwhere_times_spacing(mask, spacing) -> None:
    """Values and memory layout of ``np.argwhere(mask).astype(float) * spacing``."""
    sp = np.asarray(spacing, dtype=np.float64)
    out = np.empty((3, np.count_nonzero(mask)))
    _k.voxel_centres(np.ascontiguousarray(mask), sp, out)
    want = np.argwhere(mask).astype(np.float64) * sp
    np.testing.assert_array_equal(out.T, want)
    assert out.T.flags.f_contiguous == want.flags.f_contiguous
    if want.shape[0] >= 2:  # the PCA reads them: the same covariance bits
        np.testing.assert_array_equal(np.cov(out, ddof=1), np.cov(want.T, ddof=1))


@settings(max_examples=60, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, st.tuples(*[st.integers(1, 9)] * 3)),
    seed=st.integers(0, 2**16),
    spacing=SPACINGS,
)
def test_weighted_coordinate_sums_equal_a_raster_loop(mask, seed, spacing) -> None:
    """The sums of ``index * spacing * value`` over the mask, added in raster order."""
    values = np.random.default_rng(seed).normal(size=int(mask.sum())) * 100.0
    sp = np.asarray(spacing, dtype=np.float64)
    want = [0.0, 0.0, 0.0]
    for k, idx in enumerate(np.argwhere(mask)):
        for a in range(3):
            want[a] += (float(idx[a]) * float(sp[a])) * float(values[k])
    got = np.zeros(3)
    _k.weighted_coordinate_sums(np.ascontiguousarray(mask), values, sp, got)
    np.testing.assert_array_equal(got, want)
