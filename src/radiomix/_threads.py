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

The worker processes radiomix starts (a cohort's fork server and the workers it forks, the
spawned bridge workers) get one thread from their start (:func:`worker_thread_environment`):
OpenBLAS starts its worker threads when it is loaded, and again in every forked child, and
they spin for about 0.1 s of CPU before they sleep, whether a call ever uses them or not.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_controller: Any = None
_modules_seen = -1

WORKER_THREAD_ENV: dict[str, str] = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""Thread counts of the BLAS and OpenMP libraries in the worker processes radiomix starts."""


def worker_thread_environment() -> AbstractContextManager[None]:
    """Context in which processes started get :data:`WORKER_THREAD_ENV` (each variable
    the caller has not set itself): for the worker processes radiomix starts and owns.

    A library reads its variable once, as it is loaded: OpenBLAS (numpy's and SciPy's)
    then starts no thread of its own. Otherwise it starts one per core as it is loaded and
    again in each child forked from a process that loaded it, and each spins for its
    time-out (about 0.1 s of CPU) before sleeping: on the sarcoma study with two workers,
    nine such threads (one per library in the fork server, the bridge worker and each
    forked worker) spun for about 0.5 of the run's 16 core-seconds (``perf record``), CPU
    taken from the other worker. Nothing is lost: radiomix runs BLAS and OpenMP with one
    thread inside its calls anyway (:func:`one_blas_thread`), and a deep-feature setting
    of more threads is applied at run time (``torch.set_num_threads``), which these
    variables do not bound. This process's own libraries, loaded already, are not
    affected.
    """
    from radiomix._environ import environment_defaults

    return environment_defaults(WORKER_THREAD_ENV)


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
