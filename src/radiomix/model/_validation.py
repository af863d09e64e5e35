"""Private parameter checks shared by the estimators."""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np


def is_real(value: object) -> TypeGuard[float]:
    """True for a real number (Python or numpy int/float, not bool, not NaN)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and not np.isnan(value)
    )


def validate_data(estimator: Any, X: Any = "no_validation", y: Any = "no_validation", *,
                  reset: bool = True, **check_params: Any) -> Any:
    """scikit-learn's :func:`sklearn.utils.validation.validate_data`, fast on wide DataFrames.

    scikit-learn checks a DataFrame column by column before converting it (≈ 6 ms for 51 ×
    650 float columns against 0.2 ms for the same array, and the analysis engine validates
    such tables some 50 000 times in a nested cross-validation). A DataFrame whose columns all
    have numpy numeric dtypes is therefore registered with the estimator as scikit-learn does
    (``feature_names_in_``, ``n_features_in_``, the same warnings and errors on a mismatch)
    and then checked as one array; any other input (arrays, DataFrames with extension,
    categorical or object columns) goes to scikit-learn's function unchanged. Same
    parameters, same result.
    """
    from sklearn.utils.validation import check_array, check_X_y
    from sklearn.utils.validation import validate_data as sk_validate_data

    if check_params.get("skip_check_array") or not _numeric_frame(X):
        return sk_validate_data(estimator, X, y, reset=reset, **check_params)
    sk_validate_data(estimator, X, y, reset=reset, skip_check_array=True)
    arr = X.to_numpy()
    params = {"estimator": estimator, **check_params}
    if y is None or (isinstance(y, str) and y == "no_validation"):
        return check_array(arr, input_name="X", **params)
    return check_X_y(arr, y, **params)


def _numeric_frame(X: Any) -> bool:
    """A pandas DataFrame whose every column has a numpy integer or float dtype."""
    import pandas as pd

    return isinstance(X, pd.DataFrame) and all(
        isinstance(dt, np.dtype) and dt.kind in "iuf" for dt in set(X.dtypes))
