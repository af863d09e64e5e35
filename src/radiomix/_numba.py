"""numba compilation helper shared by the feature kernels and the processing chain.

:func:`cached_njit` lives here, outside :mod:`radiomix.features`, so that
:mod:`radiomix.process` can use it without importing the feature package (imports flow one
way: ``process`` never imports ``features``). :mod:`radiomix.features._kernels` re-exports it.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numba
from numba.core import event

F = TypeVar("F", bound=Callable[..., Any])


class _CollectorPaused(event.Listener):
    """Python's cyclic garbage collector paused while numba compiles a radiomix kernel.

    A compilation allocates millions of small objects (numba's IR and types, llvmlite's
    instructions), and every so many allocations the collector walks the whole heap of
    the process (numpy, scipy, numba and their modules): about a tenth of the CPU of a
    first extraction in a fresh environment (``benchmarks/bench_cold.py``). The collector
    is paused from the start to the end of the outermost compilation of a radiomix kernel
    (the numba overloads and kernels it compiles on the way included), where it was
    enabled, and enabled again after it, whether the compilation succeeds or fails; its
    garbage is collected then. numba compiles under one lock, so compilations do not
    overlap.
    """

    def __init__(self) -> None:
        self.depth = 0  # compilations under way (nested ones included)
        self.paused = False

    def on_start(self, ev: event.Event) -> None:
        if self.depth == 0 and gc.isenabled():
            module = getattr(ev.data["dispatcher"].py_func, "__module__", None) or ""
            if module.startswith("radiomix."):
                gc.disable()
                self.paused = True
        self.depth += 1

    def on_end(self, ev: event.Event) -> None:
        self.depth -= 1
        if self.depth == 0 and self.paused:
            self.paused = False
            gc.enable()


event.register("numba:compile", _CollectorPaused())


def cached_njit(**options: Any) -> Callable[[F], F]:
    """``numba.njit(cache=True, **options)``, uncached where no cache folder is writable.

    numba writes the cache of a kernel next to its source (``__pycache__``); where the
    package folder is read-only (a wheel installed system-wide or in a read-only image) it
    falls back to the user's cache folder (``~/.cache/numba``, or ``$NUMBA_CACHE_DIR`` when
    set), so a second process loads the kernels instead of compiling them. Where neither is
    writable numba refuses ``cache=True`` with a ``RuntimeError`` at decoration, that is
    at ``import radiomix.features``; the kernel is then compiled once per process instead,
    with a ``RuntimeWarning`` saying how to enable the cache.

    Parameters
    ----------
    **options
        Further ``numba.njit`` options (``fastmath``, ``error_model``).

    Returns
    -------
    callable
        A decorator that turns a Python function into a numba dispatcher.
    """

    def decorate(fn: F) -> F:
        try:
            return numba.njit(cache=True, **options)(fn)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise
            warnings.warn(
                "no writable numba cache folder (package folder and user cache folder are "
                "read-only): radiomix kernels are compiled in every process; set "
                "NUMBA_CACHE_DIR to a writable folder to cache them",
                RuntimeWarning,
                stacklevel=1,
            )
            return numba.njit(**options)(fn)

    return decorate
