"""Type aliases shared across radiomix.

Arrays are indexed (z, y, x) throughout the processing chain and the features; spacing and
other per-axis tuples follow the same (z, y, x) order and are in millimetres.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Spacing: TypeAlias = tuple[float, float, float]
"""Voxel spacing in mm, (z, y, x) order."""

CaseId: TypeAlias = str
InterpolationMethod: TypeAlias = Literal["nearest", "linear", "cubic"]
DiscretisationMethod: TypeAlias = Literal["fbn", "fbs", "none"]
Dimensionality: TypeAlias = Literal["2d", "3d"]
