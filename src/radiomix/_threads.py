"""One BLAS/OpenMP thread for radiomix's numeric work.

Extraction and evaluation call BLAS on small operands (vector dot products, 4 x 4 and
50 x 10 matrices). A multi-threaded BLAS gains nothing there: OpenBLAS wakes its worker
threads for a large ``ddot`` and lets them spin between calls, so a single extraction on a
2-core machine burns two cores for the wall time of one (measured: STS_048, 0.27 s of CPU
for 0.13 s of wall; 0.13 / 0.13 with one thread), and on a many-core node as many cores
as it has. A threaded reduction also sums in an order that depends on the thread count,
so a value could differ between machines with different core counts. Both problems go
away with one thread inside radiomix's calls; the caller's own setting is restored on
return.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_controller: Any = None
_modules_seen = -1


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS and OpenMP thread pools to one thread inside the ``with`` block.

    The thread pools are those of the native libraries loaded when the block is entered
    (threadpoolctl's controller; looked up again only when new modules were imported since
    the last lookup, which costs about 1 ms, so that a hot loop of extractions pays about
    0.03 ms a call). The previous limits are restored on exit.
    """
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        import scipy.linalg  # noqa: F401  (loads SciPy's BLAS, which the numba kernels call)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
        _modules_seen = len(sys.modules)
    with _controller.limit(limits=1):
        yield


def single_blas_thread(func: F) -> F:
    """Decorator: run ``func`` inside :func:`one_blas_thread`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
