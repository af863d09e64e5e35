"""IBSI 2 convolutional filters and Gaussian smoothing on (z, y, x) arrays.

The public entry point is :func:`apply_filter` with a
:class:`~radiomix.settings.filters.FilterSettings`; :func:`gaussian_smooth` is a shortcut for
smoothing with σ in mm. The IBSI 2 phase-1 configurations are in
:data:`~radiomix.settings.filters.IBSI2_PHASE1_PRESETS`.

The names load on first use (PEP 562): the input checks of
:mod:`radiomix.process.filters._validate` do not import the filter kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radiomix.process.filters.apply import apply_filter
    from radiomix.process.filters.gaussian import gaussian_smooth
    from radiomix.settings.filters import (
        IBSI2_PHASE1_PHANTOMS,
        IBSI2_PHASE1_PRESETS,
        FilterSettings,
        ibsi2_preset,
    )

_HOME = {
    "apply_filter": "radiomix.process.filters.apply",
    "gaussian_smooth": "radiomix.process.filters.gaussian",
    "IBSI2_PHASE1_PHANTOMS": "radiomix.settings.filters",
    "IBSI2_PHASE1_PRESETS": "radiomix.settings.filters",
    "FilterSettings": "radiomix.settings.filters",
    "ibsi2_preset": "radiomix.settings.filters",
}

__all__ = [
    "IBSI2_PHASE1_PHANTOMS",
    "IBSI2_PHASE1_PRESETS",
    "FilterSettings",
    "apply_filter",
    "gaussian_smooth",
    "ibsi2_preset",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'radiomix.process.filters' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
