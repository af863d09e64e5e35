"""Image processing chain of IBSI 1 chapter 2: crop, interpolate, re-segment, discretise.

The chain's names load on first use (PEP 562), so that a light submodule (the standard
scale of :mod:`radiomix.process.normalise`, read when a study is planned) does not import
the interpolation and filter stack (scipy.ndimage, numba) with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radiomix.process.pipeline import ProcessedCase, process_case

_HOME = {"ProcessedCase": "radiomix.process.pipeline", "process_case": "radiomix.process.pipeline"}

__all__ = ["ProcessedCase", "process_case"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'radiomix.process' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
