"""Type inference of the morphology kernels settles in its minimum of two passes.

Loop-updated integers start as int64 (:data:`radiomix.features._kernels.I64`), not as
literals that numba widens to int64 only on a further pass over the whole kernel (the
rule of :mod:`radiomix.features._kernels`; the other families are checked in
``test_kernel_compile_lean.py``).
"""

from __future__ import annotations

import numba
import pytest
from numba.core import typeinfer

from radiomix.features._kernels import morphology


def test_morphology_kernels_type_in_two_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    passes: dict[str, int] = {}
    propagate = typeinfer.ConstraintNetwork.propagate

    def counting(self, ti):  # type: ignore[no-untyped-def]
        name = ti.func_id.func_qualname
        passes[name] = passes.get(name, 0) + 1
        return propagate(self, ti)

    monkeypatch.setattr(typeinfer.ConstraintNetwork, "propagate", counting)
    i1 = numba.types.Array(numba.int64, 1, "C")
    i2 = numba.types.Array(numba.int64, 2, "C")
    i32 = numba.types.Array(numba.int32, 1, "C")
    f1 = numba.types.Array(numba.float64, 1, "C")
    f2 = numba.types.Array(numba.float64, 2, "C")
    b1 = numba.types.Array(numba.bool_, 1, "C")
    b3 = numba.types.Array(numba.bool_, 3, "C")
    u3 = numba.types.Array(numba.uint8, 3, "C")
    sigs = {
        morphology.weighted_coordinate_sums: (b3, f1, f1, f1),
        morphology.voxel_centres: (b3, f1, f2),
        morphology._monotone_chain: (f1, f1, i1, i1),
        morphology.plane_hull_candidates: (f2, f1, b1, i2, i1, i1, i1, f1, f1, i1, i1),
        morphology._min_box_into: (
            *(f2, f2, f2, f2, i2, i2, f2, f1, f1, b1),
            *(f1, f1, f1, f1, i1, i1, f1),
        ),
        morphology._khachiyan_into: (f2, f1, numba.float64, numba.int64, f2, f2, i32, f1, f2, f1),
        morphology.mesh_cubes: (u3, f1, f1, i1, i2, f2),
    }
    for dispatcher, sig in sigs.items():
        fresh = numba.njit(
            **{
                k: v
                for k, v in dispatcher.targetoptions.items()
                if k not in ("nopython", "boundscheck")
            }
        )(dispatcher.py_func)
        fresh.compile(sig)
        assert passes[dispatcher.py_func.__qualname__] == 2, dispatcher.py_func.__qualname__
