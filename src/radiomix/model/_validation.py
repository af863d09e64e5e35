"""Private parameter checks shared by the estimators."""

from __future__ import annotations

from typing import TypeGuard

import numpy as np


def is_real(value: object) -> TypeGuard[float]:
    """True for a real number (Python or numpy int/float, not bool, not NaN)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and not np.isnan(value)
    )
