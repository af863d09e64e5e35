"""Compile-time measures of the numba kernels that must not change what they compute.

- The cyclic garbage collector is paused while a radiomix kernel compiles
  (:class:`radiomix._numba._CollectorPaused`), enabled again after it (also after a failed
  compilation), and left alone where the caller had disabled it.
- Loop counters start as int64 (:data:`radiomix.features._kernels.I`), so that numba's type
  inference settles in its minimum of two passes over a kernel.
"""

from __future__ import annotations

import gc

import numba
import numpy as np
import pytest
from numba.core import event, typeinfer

import radiomix._numba  # noqa: F401 - registers the collector's pause


def _kernel(name: str, body: str):
    """A fresh numba dispatcher of a function defined in a radiomix module's name."""
    scope: dict[str, object] = {"np": np}
    exec(body, scope)
    fn = scope[name]
    fn.__module__ = "radiomix.features._kernels.test_only"  # type: ignore[attr-defined]
    return numba.njit(fn)


class _Recorder(event.Listener):
    def __init__(self) -> None:
        self.states: list[bool] = []

    def on_start(self, ev: event.Event) -> None:
        self.states.append(gc.isenabled())

    def on_end(self, ev: event.Event) -> None:
        pass


def test_collector_paused_during_compile_and_enabled_after() -> None:
    kernel = _kernel("f", "def f(a):\n    return max(a[0], a[1])\n")
    rec = _Recorder()
    assert gc.isenabled()
    with event.install_listener("numba:compile", rec):
        assert kernel(np.array([3, 5])) == 5
    assert rec.states  # the kernel and the max overload it compiles
    assert not any(rec.states)
    assert gc.isenabled()


def test_collector_enabled_after_a_failed_compile() -> None:
    kernel = _kernel("g", "def g(a):\n    return a.no_such_attribute\n")
    with pytest.raises(numba.core.errors.TypingError):
        kernel(np.zeros(2))
    assert gc.isenabled()


def test_collector_left_disabled_by_the_caller() -> None:
    kernel = _kernel("h", "def h(a):\n    return a[0] + 1\n")
    gc.disable()
    try:
        assert kernel(np.array([1])) == 2
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_other_modules_compile_with_the_collector_as_it_is() -> None:
    rec = _Recorder()

    @numba.njit
    def k(a):
        return a[0] * 2

    with event.install_listener("numba:compile", rec):
        assert k(np.array([2])) == 4
    assert rec.states == [True]


def _signatures() -> dict[object, tuple[object, ...]]:
    """Each kernel of the lean typing rule, with the signature an extraction compiles."""
    from radiomix.features._kernels import hull, local_intensity, morphology, neighbourhood, zones

    i1 = numba.types.Array(numba.int64, 1, "C")
    i2 = numba.types.Array(numba.int64, 2, "C")
    f1 = numba.types.Array(numba.float64, 1, "C")
    f2 = numba.types.Array(numba.float64, 2, "C")
    b1 = numba.types.Array(numba.bool_, 1, "C")
    b3 = numba.types.Array(numba.bool_, 3, "C")
    u3 = numba.types.Array(numba.uint8, 3, "C")
    t3 = numba.types.UniTuple(numba.int64, 3)
    return {
        hull._quickhull: (f2, f1, i2, i2, i2, i2, i2, i2, i2, i1, i2, i2, f2, f1),
        local_intensity.sphere_means_whole: (f1, b1, t3, i2, numba.float64, f1, f1, f1),
        local_intensity.sphere_means_at: (f1, b1, t3, t3, i1, i1, i1, i1, f1, f1),
        neighbourhood.neighbour_sums: (i1, i1, i1, i1, numba.int64, i1, f1, i1, f1, i1),
        zones.label_zones: (i1, i1, i1, numba.int64, i1, i1, i1, i1, i1),
        morphology.weighted_coordinate_sums: (b3, f1, f1, f1),
        morphology.voxel_centres: (b3, f1, f2),
        morphology._monotone_chain: (f1, f1, i1, i1),
        morphology.plane_hull_candidates: (f2, f1, b1, i2, i1, i1, i1, f1, f1, i1, i1),
        morphology._min_box_into: (
            *(f2, f2, f2, f2, i2, i2, f2, f1, f1, b1),
            *(f1, f1, f1, f1, i1, i1, i1, i1, i1, f1),
        ),
        morphology._shadow_cycle: (i2, i2, b1, f1, i1, i1, i1),
        morphology._cyclic_hull: (f1, f1, numba.int64, i1),
        morphology._khachiyan_into: (f2, f1, numba.float64, numba.int64, f1),
        morphology.mesh_cubes: (u3, f1, f1, i1, i2, f2),
    }


@pytest.mark.parametrize("name", [d.py_func.__qualname__ for d in _signatures()])
def test_kernels_type_in_two_passes(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loop-updated integers start as int64 (:data:`radiomix.features._kernels.I64`), not
    as literals that numba widens to int64 only on a further pass over the whole kernel."""
    dispatcher, sig = next((d, s) for d, s in _signatures().items()
                           if d.py_func.__qualname__ == name)  # fmt: skip
    passes: dict[str, int] = {}
    propagate = typeinfer.ConstraintNetwork.propagate

    def counting(self, ti):  # type: ignore[no-untyped-def]
        passes[ti.func_id.func_qualname] = passes.get(ti.func_id.func_qualname, 0) + 1
        return propagate(self, ti)

    monkeypatch.setattr(typeinfer.ConstraintNetwork, "propagate", counting)
    options = {k: v for k, v in dispatcher.targetoptions.items()
               if k not in ("nopython", "boundscheck")}  # fmt: skip
    numba.njit(**options)(dispatcher.py_func).compile(sig)
    assert passes[name] == 2
