"""Image processing chain of IBSI 1 chapter 2: crop, interpolate, re-segment, discretise.

The chain's names load on first use (PEP 562), so that a light submodule (the standard
scale of :mod:`radiomix.process.normalise`, read when a study is planned) does not import
the interpolation and filter stack (scipy.ndimage, numba) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radiomix.process.pipeline import ProcessedCase, process_case

__all__ = ["ProcessedCase", "process_case"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from radiomix.process import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
