"""Image processing chain of IBSI 1 chapter 2: crop, interpolate, re-segment, discretise."""

from radiomix.process.pipeline import ProcessedCase, process_case

__all__ = ["ProcessedCase", "process_case"]
