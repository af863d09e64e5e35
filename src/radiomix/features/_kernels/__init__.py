"""Private numba kernels of the feature families: no validation, preallocated outputs.

Every kernel is decorated with :func:`cached_njit`: compiled lazily, at its first call,
for the one signature its caller passes (callers cast to that dtype and layout), and
cached on disk so that later processes load it instead of compiling it again.
"""

from __future__ import annotations

from radiomix._numba import cached_njit

__all__ = ["cached_njit"]
