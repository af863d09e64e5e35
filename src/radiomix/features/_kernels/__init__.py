"""Private numba kernels of the feature families: no validation, preallocated outputs.

Every kernel is decorated with :func:`cached_njit`: compiled lazily, at its first call,
for the one signature its caller passes (callers cast to that dtype and layout), and
cached on disk so that later processes load it instead of compiling it again.

The first call in a fresh environment compiles them all (``benchmarks/bench_cold.py``), and
numba's compile time grows with the code it types and lowers, so the kernels keep to:

- no allocation: callers pass outputs and scratch arrays allocated in numpy (each
  ``np.empty`` / ``np.zeros`` signature is a numba overload compiled on first use, 0.1 to
  0.4 s each), and kernels return scalars or nothing;
- ``error_model="numpy"`` where every divisor is provably non-zero (said at the
  decorator): the ``ZeroDivisionError`` branches are about a fifth of such a kernel's
  compile time;
- no generic numba helpers that compile large implementations (``np.argsort``,
  ``np.unique``, ``@`` / ``np.linalg``, array-slice assignment): written-out loops instead;
- an integer that a loop updates starts as an int64 (``n = I64(0)``, :data:`I64`), not a
  literal: numba types ``0`` as the literal 0 and widens it to int64 only on a further
  pass of its type inference over the whole kernel (two passes instead of three to five),
  and a variable assigned only in a loop is given a start value before it for the same
  reason; a helper called once is written out (each compiled function has wrappers and
  a pipeline of its own).

Speed: an index that is non-negative by construction is cast to unsigned
(``a[U(k + o)]``, :data:`U` = ``np.uint64``) in the inner loops: numba then drops its
wrap-around of negative indices (a compare and an add per index and dimension), which
halves the GLRLM and GLCM counting loops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from radiomix._numba import cached_njit

U = np.uint64
"""Cast of a non-negative index (see the module docstring)."""
I64 = cast("Callable[[float], int]", np.int64)
"""int64 of an integer that a loop updates, where it starts (see the module docstring)."""

__all__ = ["I64", "U", "cached_njit"]
