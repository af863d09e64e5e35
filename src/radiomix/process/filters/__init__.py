"""IBSI 2 convolutional filters and Gaussian smoothing on (z, y, x) arrays.

The public entry point is :func:`apply_filter` with a
:class:`~radiomix.settings.filters.FilterSettings`; :func:`gaussian_smooth` is a shortcut for
smoothing with σ in mm. The IBSI 2 phase-1 configurations are in
:data:`~radiomix.settings.filters.IBSI2_PHASE1_PRESETS`.
"""

from radiomix.process.filters.apply import apply_filter
from radiomix.process.filters.gaussian import gaussian_smooth
from radiomix.settings.filters import (
    IBSI2_PHASE1_PHANTOMS,
    IBSI2_PHASE1_PRESETS,
    FilterSettings,
    ibsi2_preset,
)

__all__ = [
    "IBSI2_PHASE1_PHANTOMS",
    "IBSI2_PHASE1_PRESETS",
    "FilterSettings",
    "apply_filter",
    "gaussian_smooth",
    "ibsi2_preset",
]
