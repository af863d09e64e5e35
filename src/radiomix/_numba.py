"""numba compilation helper shared by the feature kernels and the processing chain.

:func:`cached_njit` lives here, outside :mod:`radiomix.features`, so that
:mod:`radiomix.process` can use it without importing the feature package (imports flow one
way: ``process`` never imports ``features``). :mod:`radiomix.features._kernels` re-exports it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])


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
