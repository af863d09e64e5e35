"""Cold start of the numba kernels: one signature per kernel, cache fallback, exact rewrites.

The first call in a fresh environment compiles every kernel it needs, so each kernel must
compile once (one dtype and layout per argument, whatever the aggregation), and a read-only
cache location must not break the import. Timing lives in ``benchmarks/bench_cold.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from numba.core import caching
from oracles import khachiyan_oracle

from radiomix.features._kernels import cached_njit
from radiomix.features._kernels.morphology import _sort_xy
from radiomix.features._kernels.zones import zone_minimum

SIGNATURES = """
import json, sys
from numba.core.registry import CPUDispatcher
from radiomix.extraction import extract
from radiomix.settings import load_preset
d = sys.argv[1]
extract(d + "/image.nii.gz", d + "/mask.nii.gz", settings=load_preset("ibsi-digital"))
out = {}
for name, module in sorted(sys.modules.items()):
    if name.startswith("radiomix.features._kernels"):
        for key, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == name:
                out[name + "." + key] = len(value.signatures)
print(json.dumps(out))
"""


def test_one_signature_per_kernel_over_all_aggregations(shared_data):
    """A fresh process extracting every family and aggregation compiles each kernel once."""
    folder = shared_data / "ibsi1" / "digital_phantom"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", SIGNATURES, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    counts = json.loads(out.strip().splitlines()[-1])
    used = {name: n for name, n in counts.items() if n}
    assert len(used) >= 10  # every family's kernels ran
    assert all(n == 1 for n in used.values()), used


def test_cached_njit_without_writable_cache_compiles_uncached(monkeypatch):
    """No cache locator (read-only package and user cache): a warning, a working kernel."""
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])
    monkeypatch.setattr(numba.config, "CACHE_LOCATOR_CLASSES", "", raising=False)

    def twice(x):
        return 2 * x

    with pytest.raises(RuntimeError, match="no locator available"):
        numba.njit(cache=True)(twice)
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
        kernel = cached_njit()(twice)
    assert kernel(21) == 42


@pytest.mark.parametrize("seed", range(20))
def test_sort_xy_is_a_stable_lexicographic_sort(seed):
    """``_sort_xy`` equals numpy's stable ``lexsort`` by (x, then y), ties kept in order."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    px = rng.integers(-4, 5, n).astype(np.float64)  # many ties in x and in (x, y)
    py = rng.integers(-3, 4, n).astype(np.float64)
    out = np.empty(n, dtype=np.int64)
    np.testing.assert_array_equal(_sort_xy(px, py, out), np.lexsort((py, px)))


def test_zone_minimum_hand_computed():
    """Per-zone minimum of three zones, by hand."""
    voxel_zone = np.array([0, 1, 0, 2, 1, 2, 2], dtype=np.int64)
    values = np.array([3, 1, 2, 5, 4, 7, 6], dtype=np.int64)
    np.testing.assert_array_equal(zone_minimum(voxel_zone, values, 3), [2, 1, 5])




@pytest.mark.parametrize("seed", range(5))
def test_khachiyan_weights_equal_generic_numba(seed):
    """The rank-one scatter update and the inverse by blocks give numba's ``@`` /
    ``np.linalg.inv`` iterations, and their weights to rounding."""
    from radiomix.features._kernels.morphology import khachiyan_weights

    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(int(rng.integers(10, 400)), 3)) * rng.uniform(0.1, 50.0, 3)
    pts = np.ascontiguousarray(pts - pts.mean(axis=0))
    u, it = khachiyan_weights(pts, 1e-7, 1000)
    u_ref, it_ref = khachiyan_oracle(pts, 1e-7, 1000)
    assert it == it_ref
    np.testing.assert_allclose(u, u_ref, rtol=0, atol=1e-12)
